// The Sparkplug decode stage without a broker: what it makes of births, data, deaths and garbage.
import * as sparkplugPayload from 'sparkplug-payload';
import type { UPayload } from 'sparkplug-payload/lib/sparkplugbpayload.js';
import { describe, expect, it } from 'vitest';
import type { AssetConfig } from '../../src/config.js';
import { SparkplugDecoder } from '../../src/ingest/sparkplug.js';

const codec = sparkplugPayload.get('spBv1.0')!;
const ASSETS: AssetConfig[] = [{ site: 'g', kind: 'meter', id: 'M-1', region: 'default' }];
const T = 1_752_472_800_000;

function setup() {
  const sent: string[] = [];
  const decoder = new SparkplugDecoder({
    asset: (site, asset) => ASSETS.find((a) => a.site === site && a.id === asset),
    metricNames: {},
    publish: (topic) => sent.push(topic),
    now: () => T,
  });
  const feed = (topic: string, payload: UPayload | Buffer) =>
    decoder.decode({ topic, payload: Buffer.isBuffer(payload) ? payload : Buffer.from(codec.encodePayload(payload)), receivedAt: T });
  return { decoder, sent, feed };
}

const birth = (seq: number, bdSeq = 0): UPayload => ({ timestamp: T, seq, metrics: [{ name: 'bdSeq', type: 'UInt64', value: bdSeq }] });

describe('Sparkplug decode stage', () => {
  it('splits metrics with their own timestamps into one reading each', () => {
    const { feed } = setup();
    feed('spBv1.0/g/NBIRTH/e', birth(0));
    feed('spBv1.0/g/DBIRTH/e/M-1', { timestamp: T, seq: 1, metrics: [{ name: 'Meter/pressure_bar', alias: 5, type: 'Double', value: 3 }, { name: 'flow_m3h', alias: 6, type: 'Double', value: 10 }] });
    const out = feed('spBv1.0/g/DDATA/e/M-1', { timestamp: T + 10, seq: 2, metrics: [{ alias: 5, type: 'Double', value: 3.5, timestamp: T + 5 } as never, { alias: 6, type: 'Int64', value: 12 } as never] });
    expect(out.rejects).toEqual([]);
    expect(out.messages.map((m) => [m.topic, JSON.parse(m.payload.toString())])).toEqual([
      ['hydrowatch/g/meter/M-1/telemetry', { ts: T + 5, values: { pressure_bar: 3.5 } }],
      ['hydrowatch/g/meter/M-1/telemetry', { ts: T + 10, values: { flow_m3h: 12 } }],
    ]);
  });

  it('ignores a death from an older session, and takes the current one offline', () => {
    const { feed } = setup();
    feed('spBv1.0/g/NBIRTH/e', birth(0, 4));
    feed('spBv1.0/g/DBIRTH/e/M-1', { timestamp: T, seq: 1, metrics: [{ name: 'pressure_bar', type: 'Double', value: 3 }] });
    expect(feed('spBv1.0/g/NDEATH/e', { timestamp: T, metrics: [{ name: 'bdSeq', type: 'UInt64', value: 3 }] }).messages).toEqual([]);
    const dead = feed('spBv1.0/g/NDEATH/e', { timestamp: T, metrics: [{ name: 'bdSeq', type: 'UInt64', value: 4 }] });
    expect(dead.messages.map((m) => [m.topic, m.payload.toString()])).toEqual([['hydrowatch/g/meter/M-1/status', '{"online":false}']]);
  });

  it('refuses what it cannot read, with a reason, and asks for a rebirth where one helps', () => {
    const { feed, sent } = setup();
    expect(feed('spBv1.0/g/NDATA/e', Buffer.from([0xff, 0xff, 0xff])).rejects).toMatchObject([{ reason: 'SPARKPLUG.BAD_PAYLOAD' }]);
    expect(feed('spBv1.0/g/DDATA/e', birth(0)).rejects).toMatchObject([{ reason: 'SPARKPLUG.BAD_PAYLOAD' }]);
    expect(feed('spBv1.0/g/NDATA/e', { timestamp: T, seq: 4, metrics: [] }).rejects).toMatchObject([{ reason: 'SPARKPLUG.UNKNOWN_ALIAS' }]);
    expect(sent).toEqual(['spBv1.0/g/NCMD/e']);
    feed('spBv1.0/g/NBIRTH/e', birth(0));
    expect(feed('spBv1.0/g/DBIRTH/e/X-9', { timestamp: T, seq: 1, metrics: [] }).rejects).toMatchObject([{ reason: 'SPARKPLUG.UNKNOWN_DEVICE' }]);
    expect(feed('spBv1.0/g/DBIRTH/e/M-1', { timestamp: T, seq: 2, metrics: [{ name: 'colour', type: 'String', value: 'red' }] }).rejects).toMatchObject([{ reason: 'SPARKPLUG.UNKNOWN_METRIC' }]);
    // In order: no rebirth; a gap in seq: one rebirth request, not one per message.
    feed('spBv1.0/g/DDATA/e/M-1', { timestamp: T, seq: 3, metrics: [] });
    expect(sent).toHaveLength(1);
    feed('spBv1.0/g/DDATA/e/M-1', { timestamp: T, seq: 9, metrics: [] });
    feed('spBv1.0/g/DDATA/e/M-1', { timestamp: T, seq: 12, metrics: [] });
    expect(sent).toEqual(['spBv1.0/g/NCMD/e', 'spBv1.0/g/NCMD/e']);
  });
});
