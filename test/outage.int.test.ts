// InfluxDB goes away and comes back: nothing is lost, and a full spool holds devices back.
import { afterEach, describe, expect, it } from 'vitest';
import { type LocalInfluxd, startInfluxd } from '../src/dev/influxd.js';
import { eventually, startTestService, type TestService } from './helpers/service.js';

const TS = Date.parse('2026-07-14T06:00:00.000Z');
const reading = (seq: number) => JSON.stringify({ ts: TS + seq * 1000, seq, values: { level_m: 3 + (seq % 100) / 100 } });

describe('InfluxDB outage', () => {
  let influxd: LocalInfluxd | undefined;
  let t: TestService | undefined;
  afterEach(async () => {
    await t?.close();
    await influxd?.dispose();
    t = undefined;
    influxd = undefined;
  });

  const health = async () => {
    const response = await fetch(`${t!.service.httpUrl}/health`);
    return { status: response.status, body: (await response.json()) as { influx: { reachable: boolean }; spool: { depth: number; acknowledging: boolean } } };
  };
  const count = async () => Number((await t!.rows('SELECT count("level_m") FROM "reservoir"'))[0]?.count ?? 0);

  it('keeps ingesting while InfluxDB is stopped, says so in /health, and writes everything once it is back', async () => {
    influxd = await startInfluxd();
    t = await startTestService(influxd.url, { influx: { flushIntervalMs: 100 } });
    const device = await t.publisher();
    for (let seq = 1; seq <= 50; seq++) await device.publishAsync('hydrowatch/out/reservoir/R-1/telemetry', reading(seq), { qos: 1 });
    await eventually(async () => expect(await count()).toBe(50));

    await influxd.stop();
    for (let seq = 51; seq <= 150; seq++) await device.publishAsync('hydrowatch/out/reservoir/R-1/telemetry', reading(seq), { qos: 1 });
    await eventually(async () => {
      const { status, body } = await health();
      expect(status).toBe(503);
      expect(body.influx.reachable).toBe(false);
      expect(body.spool.depth).toBe(100);
    });

    await influxd.restart();
    await eventually(async () => expect(await count()).toBe(150), 15_000);
    const seqs = (await t.rows('SELECT "seq" FROM "reservoir"')).map((row) => row.seq);
    expect(seqs).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    await eventually(async () => expect((await health()).status).toBe(200), 10_000);
  });

  it('stops acknowledging at the spool bound, so the broker holds readings instead of anyone dropping them', async () => {
    influxd = await startInfluxd();
    t = await startTestService(influxd.url, { spoolMaxReadings: 100, influx: { flushIntervalMs: 100 } });
    await influxd.stop();
    const device = await t.publisher();
    let acknowledged = 0;
    const publishes = Array.from({ length: 300 }, (_, i) =>
      device.publishAsync('hydrowatch/bp/reservoir/R-2/telemetry', reading(i + 1), { qos: 1 }).then(() => {
        acknowledged += 1;
      }),
    );
    await eventually(async () => {
      const { status, body } = await health();
      expect(status).toBe(503);
      expect(body.spool.acknowledging).toBe(false);
      expect(body.spool.depth).toBeGreaterThanOrEqual(100);
    });
    // Give the broker time to (wrongly) acknowledge more; it must not.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(acknowledged).toBeGreaterThanOrEqual(100);
    expect(acknowledged).toBeLessThanOrEqual(101);

    await influxd.restart();
    await Promise.all(publishes);
    expect(acknowledged).toBe(300);
    await eventually(async () => expect(await count()).toBe(300), 15_000);
  });
});
