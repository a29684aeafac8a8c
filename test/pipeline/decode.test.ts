import { describe, expect, it } from 'vitest';
import { decode } from '../../src/pipeline/decode.js';
import { RejectReason } from '../../src/schema.js';

const message = (topic: string, payload: string | Buffer) => ({
  topic,
  payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
  receivedAt: 1_752_472_800_000,
});
const reasonOf = (topic: string, payload: string | Buffer) => {
  const result = decode(message(topic, payload));
  return result.ok ? 'ok' : result.reason;
};

describe('decode', () => {
  it('splits a telemetry topic into site, kind and asset and parses the JSON', () => {
    const result = decode(message('hydrowatch/s1/pump/P-01/telemetry', '{"ts":1,"values":{"running":true}}'));
    expect(result).toEqual({
      ok: true,
      value: { channel: 'telemetry', site: 's1', kind: 'pump', asset: 'P-01', body: { ts: 1, values: { running: true } }, receivedAt: 1_752_472_800_000 },
    });
  });

  it.each([
    ['other/s1/pump/P-01/telemetry', RejectReason.TOPIC_BAD_FORMAT],
    ['hydrowatch/s1/pump/P-01', RejectReason.TOPIC_BAD_FORMAT],
    ['hydrowatch/s1/pump/P-01/telemetry/extra', RejectReason.TOPIC_BAD_FORMAT],
    ['hydrowatch/s1/pump/P-01/config', RejectReason.TOPIC_BAD_FORMAT],
    ['hydrowatch/s1/boiler/B-01/telemetry', RejectReason.TOPIC_UNKNOWN_KIND],
    ['hydrowatch/s 1/pump/P-01/telemetry', RejectReason.TOPIC_BAD_ID],
    ['hydrowatch/s1/pump/P,01/telemetry', RejectReason.TOPIC_BAD_ID],
    ['hydrowatch/s1/pump/P=01/telemetry', RejectReason.TOPIC_BAD_ID],
    ['hydrowatch/s1/pump/P"01/telemetry', RejectReason.TOPIC_BAD_ID],
    ["hydrowatch/s1/pump/P'01/telemetry", RejectReason.TOPIC_BAD_ID],
    ['hydrowatch/s1/pump/P\n01/telemetry', RejectReason.TOPIC_BAD_ID],
    ['hydrowatch//pump/P-01/telemetry', RejectReason.TOPIC_BAD_ID],
    [`hydrowatch/${'s'.repeat(65)}/pump/P-01/telemetry`, RejectReason.TOPIC_BAD_ID],
  ])('rejects topic %j as %s', (topic, reason) => {
    expect(reasonOf(topic, '{"ts":1,"values":{"running":true}}')).toBe(reason);
  });

  it.each([
    ['not json', RejectReason.PAYLOAD_BAD_JSON],
    ['', RejectReason.PAYLOAD_BAD_JSON],
    ['{"ts":1,"values":{"flow_m3h":NaN}}', RejectReason.PAYLOAD_NOT_FINITE],
    ['{"ts":1,"values":{"flow_m3h":-Infinity}}', RejectReason.PAYLOAD_NOT_FINITE],
    ['[1,2]', RejectReason.PAYLOAD_NOT_OBJECT],
    ['42', RejectReason.PAYLOAD_NOT_OBJECT],
    ['null', RejectReason.PAYLOAD_NOT_OBJECT],
  ])('rejects payload %j as %s', (payload, reason) => {
    expect(reasonOf('hydrowatch/s1/pump/P-01/telemetry', payload)).toBe(reason);
  });

  it('rejects bytes that are not UTF-8', () => {
    expect(reasonOf('hydrowatch/s1/pump/P-01/telemetry', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))).toBe(RejectReason.PAYLOAD_NOT_UTF8);
  });

  it('rejects payloads over 64 KiB before parsing them', () => {
    const big = JSON.stringify({ ts: 1, values: { flow_m3h: 1 }, pad: 'x'.repeat(64 * 1024) });
    expect(reasonOf('hydrowatch/s1/pump/P-01/telemetry', big)).toBe(RejectReason.PAYLOAD_TOO_LARGE);
  });

  it('survives pathologically deep JSON', () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    expect(['PAYLOAD.NOT_OBJECT', 'PAYLOAD.BAD_JSON']).toContain(reasonOf('hydrowatch/s1/pump/P-01/telemetry', deep));
  });
});
