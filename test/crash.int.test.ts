// kill -9 of hydrowatch at seeded moments mid-stream, and InfluxDB stopped meanwhile: every
// reading a device got a PUBACK for ends up in InfluxDB exactly once (proved with seq).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createRng } from '../simulators/rng.js';
import { influxQuery, type LocalInfluxd, startInfluxd } from '../src/dev/influxd.js';
import { freePort } from '../src/dev/ports.js';
import { type HydrowatchProcess, startHydrowatch, StreamingDevice } from './helpers/hydrowatch-process.js';
import { eventually } from './helpers/service.js';

const TS = Date.parse('2026-07-14T06:00:00.000Z');
const TOPIC = 'hydrowatch/crash/pump/P-CRASH/telemetry';
const reading = (seq: number) => JSON.stringify({ ts: TS + seq, seq, values: { flow_m3h: seq % 1000, running: true } });
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** The seqs InfluxDB holds for the test asset, sorted (a point written twice is one point). */
async function storedSeqs(influxUrl: string, bucket: string): Promise<number[]> {
  const results = await influxQuery(influxUrl, bucket, `SELECT "seq" FROM "pump" WHERE "asset" = 'P-CRASH'`);
  const series = results[0]?.series?.[0];
  if (!series?.values) return [];
  const column = series.columns.indexOf('seq');
  return series.values.map((row) => row[column] as number).sort((a, b) => a - b);
}

const replayed = (output: string): number => Number(/spool: replaying (\d+) points/.exec(output)?.[1] ?? 0);

describe('no acknowledged reading is lost', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  async function setup(influxUrl: string) {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hydrowatch-crash-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const env = {
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: String(await freePort()),
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(await freePort()),
      INFLUX_URL: influxUrl,
      INFLUX_BUCKET: `crash_${Date.now()}_${process.pid}`,
      HYDROWATCH_DATA: path.join(dataDir, 'data'),
    };
    let current: HydrowatchProcess | undefined;
    cleanups.push(async () => current?.kill9());
    const start = async (extra: Record<string, string> = {}) => (current = await startHydrowatch({ ...env, ...extra }));
    const device = new StreamingDevice(`mqtt://127.0.0.1:${env.MQTT_PORT}`, `crash-device-${process.pid}`, TOPIC, reading);
    cleanups.push(() => device.close());
    const health = async () => {
      const response = await fetch(`http://127.0.0.1:${env.HTTP_PORT}/health`);
      return { status: response.status, body: (await response.json()) as { influx: { reachable: boolean }; spool: { depth: number; bytes: number } } };
    };
    return { env, dataDir, start, device, health };
  }

  it('survives kill -9 at seeded moments mid-stream: every seq lands exactly once', async () => {
    const influxUrl = inject('influxUrl');
    const { env, dataDir, start, device } = await setup(influxUrl);
    const rng = createRng(20260714);
    const total = 3000;
    const firstKill = 300 + Math.floor(rng.next() * 700);
    const secondKill = 1500 + Math.floor(rng.next() * 900);

    // First run writes nothing to InfluxDB (long flush interval, huge batches): what the device was
    // acknowledged exists only in the spool when the process dies.
    const holdEverything = path.join(dataDir, 'hold.yaml');
    await writeFile(holdEverything, 'influx:\n  flushIntervalMs: 60000\n  batchSize: 50000\n');
    let hydrowatch = await start({ HYDROWATCH_CONFIG: holdEverything });
    const streaming = device.stream(1, total);

    await device.ackedAtLeast(firstKill);
    await hydrowatch.kill9();
    const ackedAtFirstKill = device.acked.size;
    expect(ackedAtFirstKill).toBeLessThan(total);
    expect(await storedSeqs(influxUrl, env.INFLUX_BUCKET).catch(() => [])).toEqual([]);

    hydrowatch = await start();
    // Every acknowledged reading was on disk (plus any that were written but not yet acknowledged).
    expect(replayed(hydrowatch.output())).toBeGreaterThanOrEqual(ackedAtFirstKill);

    // Second kill with the writer running: it may die between sending a batch and committing it.
    await device.ackedAtLeast(secondKill);
    await hydrowatch.kill9();
    expect(device.acked.size).toBeLessThan(total);

    hydrowatch = await start();
    await streaming;
    await device.ackedAtLeast(total);
    expect(device.errors).toEqual([]);
    await eventually(async () => expect(await storedSeqs(influxUrl, env.INFLUX_BUCKET)).toHaveLength(total), 20_000, 200);
    expect(await storedSeqs(influxUrl, env.INFLUX_BUCKET)).toEqual(range(1, total));
    expect(await hydrowatch.stop()).toBe(0);
  });

  it('keeps ingesting while InfluxDB is down, through a kill -9, and writes everything once InfluxDB is back', async () => {
    const influxd: LocalInfluxd = await startInfluxd();
    cleanups.push(() => influxd.dispose());
    const { env, start, device, health } = await setup(influxd.url);
    let hydrowatch = await start();

    await device.stream(1, 400);
    await device.ackedAtLeast(400);
    await eventually(async () => expect(await storedSeqs(influxd.url, env.INFLUX_BUCKET)).toHaveLength(400), 10_000, 100);

    await influxd.stop();
    await device.stream(401, 1200);
    await device.ackedAtLeast(1200);
    await eventually(async () => {
      const { status, body } = await health();
      expect(status).toBe(503);
      expect(body.influx.reachable).toBe(false);
      expect(body.spool.depth).toBeGreaterThanOrEqual(800); // plus any alert events the rules wrote
      expect(body.spool.bytes).toBeGreaterThan(0);
    }, 10_000);

    await hydrowatch.kill9();
    hydrowatch = await start(); // InfluxDB is still down
    expect(replayed(hydrowatch.output())).toBeGreaterThanOrEqual(800);
    await device.stream(1201, 1500);
    await device.ackedAtLeast(1500);
    expect((await health()).body.spool.depth).toBeGreaterThanOrEqual(1100);

    await influxd.restart();
    await eventually(async () => expect(await storedSeqs(influxd.url, env.INFLUX_BUCKET)).toHaveLength(1500), 30_000, 200);
    expect(await storedSeqs(influxd.url, env.INFLUX_BUCKET)).toEqual(range(1, 1500));
    await eventually(async () => expect((await health()).body.spool.depth).toBe(0), 10_000);
    expect(device.errors).toEqual([]);
    expect(await hydrowatch.stop()).toBe(0);
  });
});
