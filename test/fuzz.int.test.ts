// The fuzz cases once more, end to end: a device publishes them at QoS 1 to the real embedded
// broker, and the valid ones must all be in the real InfluxDB, exactly as sent, with nothing
// refused by InfluxDB and every reject counted.
import { afterEach, describe, expect, inject, it } from 'vitest';
import { Metrics } from '../src/metrics.js';
import { type FuzzCase, FuzzGenerator, reference } from './helpers/fuzz-cases.js';
import { eventually, startTestService, type TestService } from './helpers/service.js';

const SEED = 4242;
const CASES = 400;

/** What MQTT itself can carry as a PUBLISH topic (no wildcards, no NUL, not $-reserved, not empty). */
const mqttCanCarry = (topic: string) => topic.length > 0 && !/[+#\0]/.test(topic) && !topic.startsWith('$') && Buffer.byteLength(topic) < 65_535;
/** What the embedded broker hands to the pipeline; anything else is ordinary broker traffic. */
const isIngestTopic = (topic: string) =>
  topic.startsWith('hydrowatch/') && /\/(telemetry|status|command)$/.test(topic) && !topic.startsWith('hydrowatch/alerts/');

const same = (a: unknown, b: unknown) => a === b || (typeof a === 'number' && typeof b === 'number' && a === 0 && b === 0);

describe('fuzz over the real broker and InfluxDB', () => {
  let t: TestService | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it(`stores every valid reading of ${CASES} fuzz cases and counts every reject`, async () => {
    t = await startTestService(inject('influxUrl'), { influx: { flushIntervalMs: 100 } });
    const device = await t.publisher({ clientId: 'fuzz-device' });
    // The service's clock is the real one: readings are made around an hour ago, so none sits at
    // the five-minutes-ahead edge that a few milliseconds of travel could move (the unit fuzz has those).
    const generator = new FuzzGenerator(SEED, Date.now() - 3_600_000);
    const sent: FuzzCase[] = [];
    while (sent.length < CASES) {
      const c = generator.next();
      // What arrives is the topic as UTF-8: a lone surrogate becomes U+FFFD.
      const topic = Buffer.from(c.topic).toString();
      if (!mqttCanCarry(topic)) continue;
      await device.publishAsync(topic, c.payload, { qos: 1 });
      sent.push({ ...c, topic, expected: reference(topic, c.payload, Date.now()) });
    }

    const ingested = sent.filter((c) => isIngestTopic(c.topic));
    const validReadings = ingested.filter((c) => c.expected.valid && c.expected.channel === 'telemetry');
    const validStatus = ingested.filter((c) => c.expected.valid && c.expected.channel === 'status');
    const rejects = ingested.filter((c) => !c.expected.valid);
    expect(validReadings.length).toBeGreaterThan(50);
    expect(rejects.length).toBeGreaterThan(100);

    const metrics = t.service.metrics;
    expect(await Metrics.total(metrics.received)).toBe(ingested.length);
    expect(await Metrics.total(metrics.rejected)).toBe(rejects.length);
    expect(await Metrics.total(metrics.accepted)).toBe(validReadings.length);

    const rowsByAsset = new Map<string, Record<string, unknown>>();
    await eventually(async () => {
      rowsByAsset.clear();
      for (const series of await t!.series('SELECT * FROM "pump", "reservoir", "canal", "meter", "weather"')) {
        for (const row of series.values ?? []) {
          const record = Object.fromEntries(series.columns.map((column, i) => [column, row[i]]));
          rowsByAsset.set(String(record.asset), { ...record, measurement: series.name });
        }
      }
      expect(rowsByAsset.size).toBe(validReadings.length);
    }, 20_000, 200);
    for (const c of validReadings) {
      if (!c.expected.valid || c.expected.channel !== 'telemetry') continue;
      const row = rowsByAsset.get(c.expected.asset);
      expect(row, `case #${c.index} (${c.recipe}) is not in InfluxDB`).toBeDefined();
      expect(row).toMatchObject({ measurement: c.expected.kind, site: c.expected.site, time: c.expected.ts });
      const sentFields: Record<string, unknown> = { ...c.expected.values, ...(c.expected.seq === undefined ? {} : { seq: c.expected.seq }) };
      for (const [name, value] of Object.entries(sentFields)) expect(same(row![name], value), `case #${c.index} ${name}: ${String(row![name])} ≠ ${String(value)}`).toBe(true);
    }
    const statusRows = (await t.series('SELECT "online" FROM "status"')).reduce((sum, s) => sum + (s.values?.length ?? 0), 0);
    expect(statusRows).toBeGreaterThan(0);
    expect(statusRows).toBeLessThanOrEqual(validStatus.length);
    // InfluxDB took every line we spooled, dead letters with their nasty payloads included.
    await eventually(async () => expect(t!.service.spool.depth).toBe(0), 10_000);
    expect(await Metrics.total(metrics.refused)).toBe(0);
    expect((await t.rows('SELECT count("bytes") FROM "rejected"'))[0]?.count).toBeGreaterThan(0);
  });
});
