// CPU per reading of each pipeline stage, in this process: no broker, no InfluxDB, no generator,
// so the figures hold still on a busy machine (they are CPU time, not wall time). This is where
// the profile of `npm run bench -- --profile` is turned into numbers to compare before and after.
// It also reports the bytes each stage allocates per reading (garbage included), from one more
// round under V8's sampling heap profiler: what the young-generation collector has to keep up with.
//   npx tsx bench/stages.ts [--readings 100000] [--devices 1000] [--rounds 3]
import { mkdtemp, rm } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AlertEngine } from '../src/alerts/engine.js';
import { AssetConfig } from '../src/config.js';
import { Rule } from '../src/alerts/rules.js';
import { readingLine } from '../src/influx/points.js';
import { LiveState } from '../src/live.js';
import { silentLogger } from '../src/log.js';
import { Metrics } from '../src/metrics.js';
import { decode } from '../src/pipeline/decode.js';
import { DiskSpool } from '../src/pipeline/disk-spool.js';
import { AssetRegistry, enrich } from '../src/pipeline/enrich.js';
import { createPipeline } from '../src/pipeline/pipeline.js';
import type { Decoded, InboundMessage } from '../src/pipeline/types.js';
import { validate } from '../src/pipeline/validate.js';
import type { Reading } from '../src/schema.js';
import { benchRules } from './contenders/hydrowatch.js';
import { median } from './lib/proc.js';
import { assetName, BENCH_SITE, readingPayload, telemetryTopicOf } from './load.js';

const { values } = parseArgs({ options: { readings: { type: 'string', default: '100000' }, devices: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '3' } } });
const READINGS = Number(values.readings);
const DEVICES = Number(values.devices);
const ROUNDS = Number(values.rounds);
const clock = { now: () => Date.now() };

function messages(): InboundMessage[] {
  const now = Date.now();
  return Array.from({ length: READINGS }, (_, i) => {
    const device = i % DEVICES;
    const seq = Math.floor(i / DEVICES);
    return { topic: telemetryTopicOf(device), payload: Buffer.from(readingPayload(device, seq, now - READINGS + i)), receivedAt: now };
  });
}

const cpuMicros = (): number => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/** When set, timed() reports the bytes allocated per reading instead (V8's sampling heap profiler, garbage included). */
let allocation: Session | undefined;

async function timed(run: () => Promise<void> | void): Promise<number> {
  if (allocation) return allocatedPerReading(allocation, run);
  const before = cpuMicros();
  await run();
  return (cpuMicros() - before) / READINGS;
}

async function allocatedPerReading(session: Session, run: () => Promise<void> | void): Promise<number> {
  await session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  await run();
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: { head: HeapNode } };
  const total = (node: HeapNode): number => node.selfSize + node.children.reduce((sum, child) => sum + total(child), 0);
  return total(profile.head) / READINGS;
}
interface HeapNode {
  selfSize: number;
  children: HeapNode[];
}

function engine(assets: AssetConfig[] = []): AlertEngine {
  return new AlertEngine({ rules: benchRules().map((r) => Rule.parse(r)), assets, clock, log: silentLogger, write: () => undefined, heatwave: { hotDay_c: 35, consecutiveDays: 3, orange_c: 37, red_c: 40, timezone: 'Asia/Shanghai' } });
}

/** The devices registered, four pumps to a station, with a weather station that saw three hot days. */
function registeredEngineInAHeatWave(): AlertEngine {
  const pumps = Array.from({ length: DEVICES }, (_, i) => AssetConfig.parse({ site: BENCH_SITE, id: assetName(i), kind: 'pump', station: `S${Math.floor(i / 4)}`, ratedFlow_m3h: 400 }));
  const alerts = engine([...pumps, AssetConfig.parse({ site: BENCH_SITE, id: 'W', kind: 'weather' })]);
  for (let day = 3; day >= 1; day--) alerts.onReading({ site: BENCH_SITE, kind: 'weather', asset: 'W', ts: Date.now() - day * 86_400_000, values: { air_temp_c: 38 } }, Date.now());
  if (!alerts.heatwaveStates().some((state) => state.active)) throw new Error('the bench heat wave did not start');
  return alerts;
}

async function withSpool(use: (spool: DiskSpool) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hydrowatch-stages-'));
  const spool = await DiskSpool.open({ dir, maxBytes: 8 * 1024 ** 3, maxLines: 100_000_000 });
  try {
    await use(spool);
  } finally {
    await spool.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** As the broker hands them over: up to `concurrency` messages in flight (one per connection). */
async function inWaves<T>(items: T[], concurrency: number, each: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += concurrency) await Promise.all(items.slice(i, i + concurrency).map(each));
}

const stages: Record<string, (input: InboundMessage[]) => Promise<number>> = {
  decode: (input) => timed(() => void input.forEach((m) => decode(m))),
  validate: (input) => {
    const decoded = input.map((m) => (decode(m) as { value: Decoded }).value);
    return timed(() => void decoded.forEach((d) => validate(d, clock)));
  },
  enrich: (input) => {
    const registry = new AssetRegistry([]);
    const readings = input.map((m) => readingOf(m));
    return timed(() => void readings.forEach((r) => enrich(r, registry, false)));
  },
  'line protocol': (input) => {
    const readings = input.map((m) => readingOf(m));
    return timed(() => void readings.forEach((r) => readingLine(r)));
  },
  'spool append (disk, 1000 in flight)': async (input) => {
    const lines = input.map((m) => readingLine(readingOf(m)));
    let result = 0;
    await withSpool(async (spool) => {
      result = await timed(() => inWaves(lines, 1000, (line) => spool.append([line])));
    });
    return result;
  },
  'live state + metrics': (input) => {
    const live = new LiveState(new AssetRegistry([]));
    const metrics = new Metrics();
    const readings = input.map((m) => readingOf(m));
    return timed(() =>
      readings.forEach((r) => {
        metrics.received.inc();
        metrics.accepted.labels(r.kind).inc();
        live.observeReading(r, r.ts);
      }),
    );
  },
  'alert rules (engine)': (input) => {
    const alerts = engine();
    const readings = input.map((m) => readingOf(m));
    return timed(() => void readings.forEach((r) => alerts.onReading(r, r.ts))).finally(() => alerts.close());
  },
  'alert rules (engine), registered pumps in stations, heat wave': (input) => {
    const alerts = registeredEngineInAHeatWave();
    const readings = input.map((m) => readingOf(m));
    return timed(() => void readings.forEach((r) => alerts.onReading(r, r.ts))).finally(() => alerts.close());
  },
  'whole pipeline (disk spool, rules, 1000 in flight)': async (input) => {
    let result = 0;
    await withSpool(async (spool) => {
      const alerts = engine();
      const pipeline = createPipeline({
        spool,
        registry: new AssetRegistry([]),
        live: new LiveState(new AssetRegistry([])),
        metrics: new Metrics(),
        clock,
        log: silentLogger,
        strictAssets: false,
        rejectSamplesPerMinute: 60,
        evaluate: (reading, receivedAt) => alerts.onReading(reading, receivedAt),
      });
      result = await timed(() => inWaves(input, 1000, (m) => pipeline.ingest(m)));
      alerts.close();
    });
    return result;
  },
};

function readingOf(message: InboundMessage): Reading {
  const validated = validate((decode(message) as { value: Decoded }).value, clock) as { value: { reading: Reading } };
  return validated.value.reading;
}

const input = messages();
const results = new Map<string, number[]>();
for (let round = 0; round < ROUNDS; round++) {
  // Interleaved: every stage once per round, so drift on a shared machine touches all alike.
  for (const [name, stage] of Object.entries(stages)) {
    const micros = await stage(input);
    results.set(name, [...(results.get(name) ?? []), micros]);
  }
}
// One more round for the bytes each stage allocates (garbage included): what the young-generation GC has to keep up with.
allocation = new Session();
allocation.connect();
await allocation.post('HeapProfiler.enable');
const bytes = new Map<string, number>();
for (const [name, stage] of Object.entries(stages)) bytes.set(name, await stage(input));
allocation.disconnect();

console.log(`CPU µs per reading, median of ${ROUNDS} rounds of ${READINGS.toLocaleString('en')} readings from ${DEVICES} devices (Node ${process.version}); bytes allocated per reading, sampled in one more round`);
for (const [name, runs] of results) console.log(`${median(runs).toFixed(2).padStart(8)} µs ${Math.round(bytes.get(name) ?? 0).toString().padStart(6)} B  ${name}   (${runs.map((r) => r.toFixed(2)).join(', ')})`);
