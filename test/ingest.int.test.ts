// End to end against the real InfluxDB: publish over MQTT, query InfluxDB.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Metrics } from '../src/metrics.js';
import { RejectReason } from '../src/schema.js';
import { eventually, startTestService, type TestService } from './helpers/service.js';

const run = promisify(execFile);
const TS = Date.parse('2026-07-14T06:00:00.000Z');

describe('ingest end to end (embedded broker → InfluxDB)', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService(inject('influxUrl'));
  });
  afterAll(() => t.close());

  it('stores a reading of every kind under its measurement, tags, fields and timestamp, with the right field types', async () => {
    const client = await t.publisher();
    const readings = {
      pump: { running: true, flow_m3h: 412.5, suction_bar: 0.3, discharge_bar: 5.2, power_kw: 181, speed_rpm: 1480, motor_temp_c: 61.5, vibration_mms: 2.1, fault_code: 0 },
      reservoir: { level_m: 4.25, level_pct: 71, inflow_m3h: 800, outflow_m3h: 650, chlorine_mgl: 0.45, turbidity_ntu: 0.2 },
      canal: { level_m: 2.1, flow_m3h: 5400, velocity_ms: 0.7, gate_pct: 60 },
      meter: { pressure_bar: 3.4, flow_m3h: 220 },
      weather: { air_temp_c: 37.5, humidity_pct: 28 },
    };
    for (const [kind, values] of Object.entries(readings)) {
      await client.publishAsync(`hydrowatch/e2e/${kind}/${kind.toUpperCase()}-1/telemetry`, JSON.stringify({ ts: TS, seq: 1, values }), { qos: 1 });
    }
    for (const [kind, values] of Object.entries(readings)) {
      const rows = await eventually(async () => {
        const found = await t.rows(`SELECT * FROM "${kind}" WHERE "site" = 'e2e'`);
        expect(found).toHaveLength(1);
        return found;
      });
      expect(rows[0]).toMatchObject({ time: TS, site: 'e2e', asset: `${kind.toUpperCase()}-1`, seq: 1, ...values });
    }
    const types = Object.fromEntries(
      (await t.rows('SHOW FIELD KEYS FROM "pump"')).map((row) => [row.fieldKey, row.fieldType]),
    );
    expect(types).toMatchObject({ running: 'boolean', fault_code: 'integer', flow_m3h: 'float', speed_rpm: 'float', seq: 'integer' });
  });

  it('takes whole-number values of float fields as floats, so no field type conflict can arise', async () => {
    const client = await t.publisher();
    await client.publishAsync('hydrowatch/types/pump/P-9/telemetry', JSON.stringify({ ts: TS, values: { flow_m3h: 410.5 } }), { qos: 1 });
    await client.publishAsync('hydrowatch/types/pump/P-9/telemetry', JSON.stringify({ ts: TS + 1000, values: { flow_m3h: 410 } }), { qos: 1 });
    await eventually(async () => expect(await t.rows(`SELECT "flow_m3h" FROM "pump" WHERE "site" = 'types'`)).toHaveLength(2));
    expect(await Metrics.total(t.service.metrics.refused)).toBe(0);
  });

  it('lands the README’s mosquitto_pub example as a pump point, epoch-millisecond ts', async () => {
    await run('mosquitto_pub', [
      '-p', String(t.mqttPort), '-q', '1', '-t', 'hydrowatch/s1/pump/P-01/telemetry',
      '-m', '{"ts":1752472800000,"values":{"running":true,"flow_m3h":410.5}}',
    ]);
    const rows = await eventually(async () => {
      const found = await t.rows(`SELECT * FROM "pump" WHERE "site" = 's1' AND "asset" = 'P-01'`);
      expect(found).toHaveLength(1);
      return found;
    }, 2000);
    expect(rows[0]).toMatchObject({ time: 1_752_472_800_000, running: true, flow_m3h: 410.5 });
  });

  it('dead-letters every kind of bad input with its reason, and the valid messages around it still land', async () => {
    const client = await t.publisher();
    const good = (n: number) => JSON.stringify({ ts: TS + n * 1000, seq: n, values: { pressure_bar: 3 + n / 100 } });
    const topic = 'hydrowatch/bad/meter/M-1/telemetry';
    const bad: Array<[string, string | Buffer, RejectReason]> = [
      [topic, 'this is not json', RejectReason.PAYLOAD_BAD_JSON],
      [topic, Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), RejectReason.PAYLOAD_NOT_UTF8],
      [topic, JSON.stringify({ ts: TS, values: { pressure_bar: 3 }, pad: 'x'.repeat(70_000) }), RejectReason.PAYLOAD_TOO_LARGE],
      ['hydrowatch/bad/valve/V-1/telemetry', good(0), RejectReason.TOPIC_UNKNOWN_KIND],
      [topic, JSON.stringify({ ts: TS, values: { colour: 1 } }), RejectReason.PAYLOAD_UNKNOWN_FIELD],
      [topic, JSON.stringify({ ts: TS, values: { pressure_bar: '3.1' } }), RejectReason.PAYLOAD_WRONG_TYPE],
      [topic, '{"ts":1752472800000,"values":{"pressure_bar":NaN}}', RejectReason.PAYLOAD_NOT_FINITE],
      [topic, '{"ts":1752472800000,"values":{"pressure_bar":Infinity}}', RejectReason.PAYLOAD_NOT_FINITE],
      [topic, JSON.stringify({ ts: TS, values: { pressure_bar: 99 } }), RejectReason.PAYLOAD_OUT_OF_RANGE],
      [topic, JSON.stringify({ values: { pressure_bar: 3 } }), RejectReason.PAYLOAD_MISSING_TS],
      [topic, JSON.stringify({ ts: Date.now() + 3_600_000, values: { pressure_bar: 3 } }), RejectReason.PAYLOAD_FUTURE_TS],
      ['hydrowatch/bad/meter/too/many/telemetry', good(0), RejectReason.TOPIC_BAD_FORMAT],
      ['hydrowatch/bad site/meter/M-1/telemetry', good(0), RejectReason.TOPIC_BAD_ID],
      ['hydrowatch/bad/meter/M,1/telemetry', good(0), RejectReason.TOPIC_BAD_ID],
      ['hydrowatch/bad/meter/M"1/telemetry', good(0), RejectReason.TOPIC_BAD_ID],
      ['hydrowatch/bad/meter/M\n1/telemetry', good(0), RejectReason.TOPIC_BAD_ID],
      ['hydrowatch/bad/meter/M=1/telemetry', good(0), RejectReason.TOPIC_BAD_ID],
      ['hydrowatch/bad/meter/M\\ 1/telemetry', good(0), RejectReason.TOPIC_BAD_ID],
    ];
    const before = new Map<string, number>();
    for (const [, , reason] of bad) before.set(reason, (await t.service.metrics.rejected.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0);
    let n = 0;
    for (const [badTopic, payload] of bad) {
      await client.publishAsync(topic, good(++n), { qos: 1 });
      await client.publishAsync(badTopic, payload, { qos: 1 });
    }
    await client.publishAsync(topic, good(++n), { qos: 1 });

    const stored = await eventually(async () => {
      const rows = await t.rows(`SELECT "pressure_bar", "seq" FROM "meter" WHERE "site" = 'bad' AND "asset" = 'M-1'`);
      expect(rows).toHaveLength(n);
      return rows;
    });
    expect(stored.map((r) => r.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));

    const rejected = await eventually(async () => {
      const rows = await t.rows(`SELECT "reason", "topic", "payload" FROM "rejected"`);
      expect(rows.length).toBeGreaterThanOrEqual(bad.length);
      return rows;
    });
    const reasons = new Set(rejected.map((r) => r.reason));
    for (const [, , reason] of bad) expect(reasons).toContain(reason);
    const oversize = rejected.find((r) => r.reason === RejectReason.PAYLOAD_TOO_LARGE)!;
    expect(String(oversize.payload).length).toBeLessThanOrEqual(1025);
    // No injected tag or measurement appeared: only the schema's measurements and tag keys exist.
    const measurements = (await t.rows('SHOW MEASUREMENTS')).map((row) => row.name);
    expect(measurements.every((m) => ['pump', 'reservoir', 'canal', 'meter', 'weather', 'rejected', 'status', 'alert', 'heatwave', 'audit'].includes(String(m)))).toBe(true);
    const tagKeys = (await t.series('SHOW TAG KEYS')).flatMap((s) => (s.values ?? []).map((row) => row[0]));
    expect(tagKeys.filter((key) => !['site', 'asset', 'reason', 'kind', 'rule', 'severity', 'region', 'action', 'role'].includes(String(key)))).toEqual([]);
    expect((await t.rows(`SHOW TAG VALUES FROM "meter" WITH KEY = "asset" WHERE "site" = 'bad'`)).map((r) => r.value)).toEqual(['M-1']);

    const metrics = await (await fetch(`${t.service.httpUrl}/metrics`)).text();
    const counted = new Map<string, number>();
    for (const [, , reason] of bad) counted.set(reason, (counted.get(reason) ?? 0) + 1);
    for (const [reason, count] of counted) {
      const line = metrics.split('\n').find((l) => l.startsWith(`hydrowatch_rejected_total{reason="${reason}"}`));
      expect(Number(line?.split(' ')[1]) - (before.get(reason) ?? 0), reason).toBe(count);
    }
  });

  it('marks a device offline from its last will and online from its status message', async () => {
    const device = await t.publisher({
      clientId: 'dev-W-1',
      will: { topic: 'hydrowatch/wx/weather/W-1/status', payload: Buffer.from('{"online":false}'), qos: 1, retain: true },
    });
    await device.publishAsync('hydrowatch/wx/weather/W-1/status', '{"online":true}', { qos: 1, retain: true });
    await device.publishAsync('hydrowatch/wx/weather/W-1/telemetry', JSON.stringify({ ts: new Date(TS).toISOString(), values: { air_temp_c: 36.2 } }), { qos: 1 });
    const asset = async () => ((await (await fetch(`${t.service.httpUrl}/api/assets?site=wx`)).json()) as { assets: Array<Record<string, unknown>> }).assets[0];
    await eventually(async () => expect(await asset()).toMatchObject({ site: 'wx', kind: 'weather', asset: 'W-1', online: true }));
    device.stream.destroy(); // the connection dies without DISCONNECT: the broker publishes the will
    await eventually(async () => expect(await asset()).toMatchObject({ online: false }));
    await eventually(async () => expect(await t.rows(`SELECT "online" FROM "status" WHERE "asset" = 'W-1'`)).toHaveLength(2));
  });
});
