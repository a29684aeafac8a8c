import { describe, expect, it } from 'vitest';
import { decode } from '../../src/pipeline/decode.js';
import { validate } from '../../src/pipeline/validate.js';
import { RejectReason } from '../../src/schema.js';

const NOW = Date.parse('2026-07-14T06:00:00.000Z');
const clock = { now: () => NOW };

function run(kind: string, body: unknown, channel = 'telemetry') {
  const decoded = decode({ topic: `hydrowatch/s1/${kind}/A-1/${channel}`, payload: Buffer.from(JSON.stringify(body)), receivedAt: NOW });
  if (!decoded.ok) throw new Error(`decode failed: ${decoded.reason}`);
  return validate(decoded.value, clock);
}
const reasonOf = (kind: string, body: unknown) => {
  const result = run(kind, body);
  return result.ok ? 'ok' : result.reason;
};

describe('validate', () => {
  it('accepts both ts forms and normalises them to epoch milliseconds', () => {
    const iso = run('pump', { ts: '2026-07-14T06:00:00.000Z', values: { running: true } });
    const epoch = run('pump', { ts: NOW, values: { running: true } });
    const offset = run('pump', { ts: '2026-07-14T14:00:00+08:00', values: { running: true } });
    for (const result of [iso, epoch, offset]) {
      expect(result.ok && result.value.channel === 'telemetry' && result.value.reading.ts).toBe(NOW);
    }
  });

  it('keeps seq and every field of each kind', () => {
    const result = run('pump', {
      ts: NOW,
      seq: 1234,
      values: { running: true, flow_m3h: 412.5, suction_bar: 0.4, discharge_bar: 5.1, power_kw: 180, speed_rpm: 1480, motor_temp_c: 61, vibration_mms: 2.2, fault_code: 0 },
    });
    expect(result.ok).toBe(true);
    if (result.ok && result.value.channel === 'telemetry') {
      expect(result.value.reading).toMatchObject({ site: 's1', kind: 'pump', asset: 'A-1', seq: 1234 });
      expect(Object.keys(result.value.reading.values)).toHaveLength(9);
    }
    expect(reasonOf('reservoir', { ts: NOW, values: { level_m: 4.2, level_pct: 70, inflow_m3h: 1, outflow_m3h: 2, chlorine_mgl: 0.5, turbidity_ntu: 0.3 } })).toBe('ok');
    expect(reasonOf('canal', { ts: NOW, values: { level_m: 2, flow_m3h: 3000, velocity_ms: 0.8, gate_pct: 50 } })).toBe('ok');
    expect(reasonOf('meter', { ts: NOW, values: { pressure_bar: 3.2, flow_m3h: 120 } })).toBe('ok');
    expect(reasonOf('weather', { ts: NOW, values: { air_temp_c: 38.5, humidity_pct: 30 } })).toBe('ok');
  });

  it.each([
    ['missing ts', { values: { running: true } }, RejectReason.PAYLOAD_MISSING_TS],
    ['ts without a zone', { ts: '2026-07-14T06:00:00', values: { running: true } }, RejectReason.PAYLOAD_BAD_TS],
    ['ts that is no date', { ts: '2026-13-45T06:00:00Z', values: { running: true } }, RejectReason.PAYLOAD_BAD_TS],
    ['ts on a day the month does not have', { ts: '2026-02-30T06:00:00Z', values: { running: true } }, RejectReason.PAYLOAD_BAD_TS],
    ['ts in seconds, not milliseconds', { ts: 1_752_472_800, values: { running: true } }, RejectReason.PAYLOAD_BAD_TS],
    ['ts as boolean', { ts: true, values: { running: true } }, RejectReason.PAYLOAD_BAD_TS],
    ['ts 10 minutes ahead', { ts: NOW + 10 * 60_000, values: { running: true } }, RejectReason.PAYLOAD_FUTURE_TS],
    ['negative seq', { ts: NOW, seq: -1, values: { running: true } }, RejectReason.PAYLOAD_BAD_SEQ],
    ['fractional seq', { ts: NOW, seq: 1.5, values: { running: true } }, RejectReason.PAYLOAD_BAD_SEQ],
    ['no values', { ts: NOW }, RejectReason.PAYLOAD_NO_VALUES],
    ['empty values', { ts: NOW, values: {} }, RejectReason.PAYLOAD_NO_VALUES],
    ['values not an object', { ts: NOW, values: 5 }, RejectReason.PAYLOAD_WRONG_TYPE],
    ['unknown field', { ts: NOW, values: { running: true, colour: 3 } }, RejectReason.PAYLOAD_UNKNOWN_FIELD],
    ['field of another kind', { ts: NOW, values: { level_m: 3 } }, RejectReason.PAYLOAD_UNKNOWN_FIELD],
    ['string where a number belongs', { ts: NOW, values: { flow_m3h: '410' } }, RejectReason.PAYLOAD_WRONG_TYPE],
    ['number where a boolean belongs', { ts: NOW, values: { running: 1 } }, RejectReason.PAYLOAD_WRONG_TYPE],
    ['fractional fault code', { ts: NOW, values: { fault_code: 1.5 } }, RejectReason.PAYLOAD_WRONG_TYPE],
    ['pressure above 25 bar', { ts: NOW, values: { discharge_bar: 30 } }, RejectReason.PAYLOAD_OUT_OF_RANGE],
    ['negative flow', { ts: NOW, values: { flow_m3h: -5 } }, RejectReason.PAYLOAD_OUT_OF_RANGE],
    ['motor at 151 °C', { ts: NOW, values: { motor_temp_c: 151 } }, RejectReason.PAYLOAD_OUT_OF_RANGE],
  ])('rejects %s', (_name, body, reason) => {
    expect(reasonOf('pump', body)).toBe(reason);
  });

  it('rejects a level percentage over 100 on a reservoir', () => {
    expect(reasonOf('reservoir', { ts: NOW, values: { level_pct: 101 } })).toBe(RejectReason.PAYLOAD_OUT_OF_RANGE);
  });

  it('rejects an overflowing number (1e999 parses to Infinity) as not finite', () => {
    const decoded = decode({ topic: 'hydrowatch/s1/pump/A-1/telemetry', payload: Buffer.from('{"ts":1752472800000,"values":{"flow_m3h":1e999}}'), receivedAt: NOW });
    expect(decoded.ok && validate(decoded.value, clock)).toMatchObject({ ok: false, reason: RejectReason.PAYLOAD_NOT_FINITE });
  });

  it('reads status messages and refuses malformed ones', () => {
    expect(run('pump', { online: false }, 'status')).toMatchObject({ ok: true, value: { channel: 'status', status: { online: false, ts: NOW } } });
    expect(run('pump', { online: 'yes' }, 'status')).toMatchObject({ ok: false, reason: RejectReason.PAYLOAD_BAD_STATUS });
  });
});
