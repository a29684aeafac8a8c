// The claim the spool relies on: InfluxClient.write() resolves only once InfluxDB answered that
// very batch, and the WriteApi keeps nothing of it afterwards (no auto-sent batch that flush()
// would not wait for, no retry buffer that close() would discard, no lines left for later).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { InfluxClient, InfluxError } from '../../src/influx/client.js';
import { silentLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics.js';
import { DiskSpool } from '../../src/pipeline/disk-spool.js';
import { SpoolWriter } from '../../src/pipeline/store.js';
import { eventually } from '../helpers/service.js';

const line = (i: number) => `meter,site=s,asset=M-1 flow_m3h=${i} ${1_752_472_800_000 + i}`;
const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => line(from + k));
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** An InfluxDB 1.x that holds each /write answer until the test releases it. */
class HeldInflux {
  readonly writes: string[][] = [];
  private held: Array<(status: number) => void> = [];
  private server: http.Server | undefined;

  async start(): Promise<string> {
    this.server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const url = request.url ?? '';
        if (url.startsWith('/ping')) return response.writeHead(204, { 'X-Influxdb-Version': '1.6.7~rc0' }).end();
        if (url.startsWith('/query')) return response.writeHead(200, { 'Content-Type': 'application/json' }).end('{"results":[{"statement_id":0}]}');
        const raw = Buffer.concat(chunks);
        const body = request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        this.writes.push(body.toString('utf8').split('\n'));
        this.held.push((status) => response.writeHead(status).end(status === 204 ? undefined : '{"error":"unavailable"}'));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get waiting(): number {
    return this.held.length;
  }

  /** Answers the oldest held write. */
  answer(status = 204): void {
    const next = this.held.shift();
    if (next === undefined) throw new Error('no write is waiting');
    next(status);
  }

  async stop(): Promise<void> {
    while (this.held.length > 0) this.answer(503);
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

describe('InfluxClient.write confirms exactly its batch', () => {
  let influxd: HeldInflux;
  let client: InfluxClient | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await client?.close();
    await influxd.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    client = undefined;
    dir = undefined;
  });
  const connect = async (batchSize: number) => {
    influxd = new HeldInflux();
    const url = await influxd.start();
    client = new InfluxClient(parseConfig({ influx: { batchSize } }, { INFLUX_URL: url }).influx, silentLogger);
    return client;
  };

  it('resolves only after InfluxDB answered, with the whole batch in one request', async () => {
    const influx = await connect(100);
    let resolved = false;
    const write = influx.write(lines(1, 100)).then(() => (resolved = true));
    await eventually(() => expect(influxd.waiting).toBe(1));
    for (let i = 0; i < 20; i++) await settle();
    expect(resolved).toBe(false);
    influxd.answer(204);
    await write;
    expect(influxd.writes).toEqual([lines(1, 100)]);
  });

  it('keeps nothing of a failed batch: no retry behind our back, nothing sent with the next batch or at close', async () => {
    const influx = await connect(100);
    const failed = influx.write(lines(1, 100));
    await eventually(() => expect(influxd.waiting).toBe(1));
    influxd.answer(503);
    await expect(failed).rejects.toSatisfy((error: unknown) => error instanceof InfluxError && error.retryable);

    const next = influx.write(lines(101, 150));
    await eventually(() => expect(influxd.waiting).toBe(1));
    influxd.answer(204);
    await next;
    await influx.close(); // close() flushes whatever the WriteApi still holds: it must hold nothing
    client = undefined;
    expect(influxd.writes).toEqual([lines(1, 100), lines(101, 150)]);
  });

  it('with the writer, the disk spool keeps each batch until its answer, and deletes a segment only after that', async () => {
    const influx = await connect(100);
    dir = await mkdtemp(path.join(os.tmpdir(), 'hydrowatch-confirm-'));
    const spool = await DiskSpool.open({ dir, maxBytes: 1024 ** 3, maxLines: 10_000, segmentBytes: 4096 });
    for (let i = 1; i <= 250; i += 10) await spool.append(lines(i, i + 9)); // segments of 70 lines
    const segments = () => readdirSync(dir!).filter((name) => name.endsWith('.lp'));
    const atStart = segments();
    expect(atStart).toHaveLength(4);
    const writer = new SpoolWriter(spool, influx, { batchSize: 100, flushIntervalMs: 10 }, new Metrics(), silentLogger);
    writer.start();
    try {
      await eventually(() => expect(influxd.waiting).toBe(1));
      for (let i = 0; i < 20; i++) await settle();
      expect(spool.depth).toBe(250);
      influxd.answer(503); // not taken: the batch stays and is sent again
      await eventually(() => expect(influxd.waiting).toBe(1), 5000);
      expect(spool.depth).toBe(250);
      expect(segments()).toEqual(atStart);
      influxd.answer(204); // points 1–100: the first segment (1–70) goes, the second (71–140) stays
      await eventually(() => expect(spool.depth).toBe(150));
      expect(segments()).toEqual(atStart.slice(1));
      await eventually(() => expect(influxd.waiting).toBe(1));
      influxd.answer(204);
      await eventually(() => expect(spool.depth).toBe(50));
      expect(segments()).toEqual(atStart.slice(2));
      await eventually(() => expect(influxd.waiting).toBe(1));
      influxd.answer(204);
      await eventually(() => expect(spool.depth).toBe(0));
      expect(segments()).toEqual(atStart.slice(3)); // the one being appended to
      expect(influxd.writes.flat().filter((l) => l !== '')).toEqual([...lines(1, 100), ...lines(1, 250)]);
    } finally {
      await writer.stop();
      await spool.close();
    }
  });
});
