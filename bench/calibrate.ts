// Calibration, measured in the same run as the contenders, so that every claim is a ratio:
//  - raw broker pub→sub rate: the same generator → a broker (aedes 1 alone in a process, or
//    Mosquitto) → a no-op subscriber (QoS 1, acknowledges and counts), stepped like a contender;
//  - raw InfluxDB write rate: pre-built, pre-gzipped batches of 5000 lines posted to /write.
import { gzipSync } from 'node:zlib';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import { influxQuery } from '../src/dev/influxd.js';
import { assetName, BENCH_SITE, SAMPLE_PAYLOAD } from './load.js';
import { createDatabase, dropDatabase } from './lib/influx.js';
import { Child, cpuSeconds, serveChild } from './lib/proc.js';
import { mqttConnect, Packet, PacketReader, pubackPacket, subscribePacket } from './mqtt-wire.js';
import type { BenchContext, Contender, RunningContender } from './contenders/types.js';

// ---------------------------------------------------------------------------------------------
// Children: a bare aedes broker, and a no-op subscriber.

async function aedesMain(): Promise<void> {
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serveChild(
    () => ({}),
    async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      server.close();
    },
  );
  process.send?.({ type: 'ready', port: (server.address() as net.AddressInfo).port });
}

async function sinkMain(): Promise<void> {
  let received = 0;
  const { socket, rest } = await mqttConnect(process.env.BENCH_HOST!, Number(process.env.BENCH_PORT), `sink-${process.pid}`, 60);
  let subscribed: () => void = () => undefined;
  const subscription = new Promise<void>((resolve) => (subscribed = resolve));
  const acks: Buffer[] = [];
  const reader = new PacketReader((type, flags, body, start) => {
    if (type === Packet.SUBACK) subscribed();
    if (type !== Packet.PUBLISH) return;
    received += 1;
    if (((flags >> 1) & 3) > 0) {
      const topicLength = body.readUInt16BE(start);
      const idAt = start + 2 + topicLength;
      acks.push(pubackPacket((body[idAt]! << 8) | body[idAt + 1]!));
    }
  });
  const onData = (chunk: Buffer): void => {
    reader.push(chunk);
    if (acks.length > 0) socket.write(Buffer.concat(acks.splice(0)));
  };
  if (rest.length > 0) onData(rest);
  socket.on('data', onData);
  socket.write(subscribePacket(1, 'hydrowatch/+/+/+/telemetry', 1));
  await subscription;
  serveChild(
    (message) => {
      if (message.type === 'reset') received = 0;
      return { received };
    },
    async () => {
      socket.destroy();
    },
  );
  process.send?.({ type: 'ready' });
}

// ---------------------------------------------------------------------------------------------
// Broker baselines, as contenders whose readings are counted by the sink.

async function startSink(url: string, name: string): Promise<Child> {
  const { hostname, port } = new URL(url);
  const { child } = await Child.start(`${name}-sink`, fileURLToPath(import.meta.url), ['--sink'], { env: { BENCH_HOST: hostname, BENCH_PORT: port } });
  return child;
}

function withSink(brokerUrl: string, sink: Child, brokerPid: () => number | undefined, stopBroker: () => Promise<void>): RunningContender {
  return {
    brokerUrl,
    db: undefined,
    pids: () => [],
    brokerPid,
    delivered: {
      reset: async () => void (await sink.request({ type: 'reset' })),
      count: async () => (await sink.request<{ received: number }>({ type: 'count' })).received,
    },
    async stop() {
      await sink.stop();
      await stopBroker();
    },
  };
}

export const rawAedes: Contender = {
  id: 'raw-aedes',
  group: 'cal',
  expectedRate: 30_000,
  label: 'aedes 1 alone: generator → broker → no-op subscriber',
  async start(_ctx: BenchContext, name: string): Promise<RunningContender> {
    const { child, ready } = await Child.start(name, fileURLToPath(import.meta.url), ['--aedes']);
    const url = `mqtt://127.0.0.1:${String(ready.port)}`;
    const sink = await startSink(url, name);
    return withSink(url, sink, () => child.pid, () => child.stop());
  },
};

export const rawMosquitto: Contender = {
  id: 'raw-mosquitto',
  group: 'cal',
  expectedRate: 60_000,
  label: 'Mosquitto 2 alone: generator → broker → no-op subscriber',
  async start(ctx: BenchContext, name: string): Promise<RunningContender> {
    const sink = await startSink(ctx.mosquitto.url, name);
    return withSink(ctx.mosquitto.url, sink, () => ctx.mosquitto.pid, async () => undefined);
  },
};

// ---------------------------------------------------------------------------------------------
// InfluxDB write baseline.

export interface InfluxWriteCalibration {
  pointsPerS: number;
  points: number;
  batches: number;
  seconds: number;
  concurrency: number;
  gzipBytesPerBatch: number;
  influxdCpuS: number;
}

/** Lines like the ones the contenders write (pump, site and asset tags, 9 fields and seq), each batch its own millisecond. */
function buildBatches(count: number, batchLines: number, baseTs: number): Buffer[] {
  const values = JSON.parse(SAMPLE_PAYLOAD) as { values: Record<string, number | boolean> };
  const fields = Object.entries(values.values)
    .map(([k, v]) => `${k}=${typeof v === 'boolean' ? (v ? 'T' : 'F') : k === 'fault_code' ? `${v}i` : v}`)
    .join(',');
  return Array.from({ length: count }, (_, b) => {
    const lines: string[] = [];
    for (let i = 0; i < batchLines; i++) lines.push(`pump,asset=${assetName(i)},site=${BENCH_SITE} ${fields},seq=${b}i ${baseTs + b}`);
    return gzipSync(`${lines.join('\n')}\n`);
  });
}

/** Posts pre-built gzip batches of 5000 lines for `seconds`, `concurrency` at a time; points/s confirmed (204). */
export async function calibrateInfluxWrite(ctx: BenchContext, name: string, seconds: number, influxdPid: number | undefined, concurrency = 2): Promise<InfluxWriteCalibration> {
  const batchLines = 5000;
  // Enough distinct batches for ~250k points/s, so no point is written twice.
  const batches = buildBatches(Math.ceil((seconds * 250_000) / batchLines) + concurrency, batchLines, Date.now() - 3_600_000);
  await createDatabase(ctx.influxUrl, name);
  const url = `${ctx.influxUrl}/write?db=${name}&precision=ms`;
  // Warm-up: the first write to a database creates its shard.
  await post(url, batches[batches.length - 1]!);
  let next = 0;
  let points = 0;
  const cpuBefore = cpuSeconds(influxdPid);
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline && next < batches.length - 1) {
        await post(url, batches[next++]!);
        points += batchLines;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const influxdCpuS = cpuSeconds(influxdPid) - cpuBefore;
  const stored = await influxQuery(ctx.influxUrl, name, 'SELECT count("seq") FROM "pump"');
  const count = Number(stored[0]?.series?.[0]?.values?.[0]?.[1] ?? 0);
  await dropDatabase(ctx.influxUrl, name);
  if (count < points) throw new Error(`InfluxDB calibration: ${points} points confirmed but ${count} stored`);
  return { pointsPerS: Math.round(points / elapsed), points, batches: points / batchLines, seconds: elapsed, concurrency, gzipBytesPerBatch: batches[0]!.length, influxdCpuS };
}

async function post(url: string, body: Buffer): Promise<void> {
  const response = await fetch(url, { method: 'POST', body, headers: { 'Content-Encoding': 'gzip', 'Content-Type': 'text/plain' } });
  if (response.status !== 204) throw new Error(`InfluxDB /write answered ${response.status}: ${await response.text()}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const run = process.argv[2] === '--aedes' ? aedesMain : process.argv[2] === '--sink' ? sinkMain : undefined;
  run?.().catch((error: unknown) => {
    process.stderr.write(`bench calibrate: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
