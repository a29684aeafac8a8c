// npm run bench [-- --quick] — the only place performance claims come from.
//
// Starts a private InfluxDB and Mosquitto on loopback (installing the Debian packages if missing),
// installs Node-RED 4 outside the project (once), then measures, round after round, interleaved:
// the InfluxDB write and raw broker baselines, hydrowatch (A), the floor (B) and Node-RED (C).
// Writes bench/results/<date>.json and prints a Markdown table. Every process it starts is stopped
// when it ends, on Ctrl-C too; every step is bounded in time, and so is the whole run.
//
// Options: --quick            a small run (~1 minute) for reviewers
//          --rounds N         interleaved rounds (full: 3)
//          --devices N        simulated devices, each its own connection (full: 2,000, and 10,000 for
//                             the idle-memory figure; quick: 500)
//          --only a,b         contenders by id or group (A, B, C, cal), e.g. --only A,B
//          --skip a,b         leave out contenders by id or group, e.g. --skip C (no Node-RED download)
//          --no-burst         skip the burst step
//          --profile          write hydrowatch CPU profiles (node --cpu-prof) next to the results
//          --out FILE         results JSON (default bench/results/<date>.json)
//          --max-minutes M    stop after the contender that crosses M minutes (full: 60, quick: 3)
//          --latency-at R     diagnosis: only the latency step (and burst), at R readings/s, for
//                             before/after comparisons at one rate; no max, no idle figure
// Environment: BENCH_DEBUG=1  hydrowatch's counters after each step: event-loop delay, spool append
//                             and arrival times, notification figures, garbage collections
//              BENCH_HEAP=all with --profile: the heap profile samples every allocation (garbage
//                             included), not only what outlived a young-generation collection
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startInfluxd } from '../src/dev/influxd.js';
import { startMosquitto } from '../src/dev/mosquitto.js';
import { calibrateInfluxWrite, rawAedes, rawMosquitto } from './calibrate.js';
import { floor } from './contenders/floor.js';
import { hydrowatchEmbedded, hydrowatchMosquitto } from './contenders/hydrowatch.js';
import { nodeRedBatch, nodeRedPerMessage } from './contenders/node-red.js';
import type { BenchContext, Contender } from './contenders/types.js';
import { BENCH_DIR } from './lib/proc.js';
import { LoadGenerator } from './load.js';
import { type ContenderRun, fmt, Measurer, type Plan } from './measure.js';
import { type BenchResults, markdown, summarize } from './report.js';

/** One round, in this order; the next round repeats it. */
export const ALL_CONTENDERS: Contender[] = [rawAedes, hydrowatchEmbedded, floor, nodeRedBatch, rawMosquitto, hydrowatchMosquitto, nodeRedPerMessage];
const QUICK_LEAVES_OUT = ['raw-mosquitto', 'A-mosquitto'];

/** About a minute: one round, 500 devices, three 1-second steps (×2 apart: coarse), one instance per contender. */
export const QUICK_PLAN: Plan = {
  devices: 500,
  idleDevices: 500,
  stepMs: 1000,
  graceMs: 1500,
  ladder: [0.5, 1, 2],
  startRate: 10_000,
  freshInstances: false,
  coarseFactor: 2,
  refineSteps: 0,
  refineFactor: 1.15,
  maxRate: 150_000,
  latencyMs: 1000,
  burstMs: 1000,
  burstRate: 60_000,
  burstDrainMs: 5000,
  burstStallMs: 1000,
  window: 16,
  idleSettleMs: 200,
};

/** The full run: 2,000 devices (10,000 for idle memory), 10-second steps, a ×1.5 ladder refined by ×1.1 steps. */
export const FULL_PLAN: Plan = {
  devices: 2000,
  idleDevices: 10_000,
  stepMs: 10_000,
  graceMs: 1500,
  startRate: 10_000,
  freshInstances: true,
  coarseFactor: 1.5,
  refineSteps: 3,
  refineFactor: 1.1,
  maxRate: 200_000,
  latencyMs: 15_000,
  burstMs: 3000,
  burstRate: 120_000,
  burstDrainMs: 60_000,
  burstStallMs: 5000,
  window: 16,
  idleSettleMs: 2000,
  idleSettledMs: 45_000,
};

export interface RunOptions {
  quick: boolean;
  rounds: number;
  plan: Plan;
  contenders: Contender[];
  burst: boolean;
  profile: boolean;
  out: string | undefined;
  maxMinutes: number;
  log: (line: string) => void;
}

function select(spec: string | undefined, all: Contender[]): Contender[] {
  if (!spec) return all;
  const wanted = spec.split(',').map((s) => s.trim()).filter(Boolean);
  return all.filter((c) => wanted.some((w) => w === c.id || w === c.group));
}

export function parseOptions(argv: string[]): RunOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      devices: { type: 'string' },
      only: { type: 'string' },
      skip: { type: 'string' },
      'no-burst': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      out: { type: 'string' },
      'max-minutes': { type: 'string' },
      'latency-at': { type: 'string' },
    },
    strict: true,
  });
  const quick = values.quick === true;
  const plan = { ...(quick ? QUICK_PLAN : FULL_PLAN) };
  if (values.devices) plan.devices = plan.idleDevices = Number(values.devices);
  if (values['latency-at']) plan.latencyAt = Number(values['latency-at']);
  // Quick leaves out the Mosquitto variants of A and of the broker baseline (ask for them with --only).
  let contenders = select(values.only, quick && !values.only ? ALL_CONTENDERS.filter((c) => !QUICK_LEAVES_OUT.includes(c.id)) : ALL_CONTENDERS);
  if (values.skip) {
    const skipped = new Set(select(values.skip, ALL_CONTENDERS));
    contenders = contenders.filter((c) => !skipped.has(c));
  }
  return {
    quick,
    rounds: values.rounds ? Number(values.rounds) : quick ? 1 : 3,
    plan,
    contenders,
    burst: values['no-burst'] !== true,
    profile: values.profile === true,
    out: values.out,
    maxMinutes: values['max-minutes'] ? Number(values['max-minutes']) : quick ? 3 : 60,
    log: (line) => process.stderr.write(`${line}\n`),
  };
}

export async function runBench(options: RunOptions): Promise<BenchResults> {
  const { log, plan } = options;
  const started = Date.now();
  const base = path.join(os.tmpdir(), 'hydrowatch-bench');
  await mkdir(base, { recursive: true });
  const workDir = await mkdtemp(path.join(base, 'run-'));
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  const resultsDir = path.join(BENCH_DIR, 'results');
  const profileDir = options.profile ? path.join(resultsDir, `${date}-profiles`) : undefined;
  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async (): Promise<void> => {
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
    cleanups.length = 0;
  };
  const onSignal = (): void => {
    log('interrupted: stopping everything the bench started');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    log(`hydrowatch bench (${options.quick ? 'quick' : 'full'}): ${options.contenders.map((c) => c.id).join(', ')}; ${options.rounds} round(s); work dir ${workDir}`);
    const influxd = await startInfluxd({ dataDir: path.join(workDir, 'influxd') });
    cleanups.push(() => influxd.stop());
    const mosquitto = await startMosquitto({ dataDir: path.join(workDir, 'mosquitto') });
    cleanups.push(() => mosquitto.stop());
    const ctx: BenchContext = { workDir, influxUrl: influxd.url, mosquitto, profileDir, log };
    if (profileDir) await mkdir(profileDir, { recursive: true });
    for (const contender of options.contenders) await contender.prepare?.(ctx);
    const generator = await LoadGenerator.start();
    cleanups.push(() => generator.stop());
    const measurer = new Measurer(ctx, generator, plan);

    const rounds: BenchResults['rounds'] = [];
    const hints = new Map<string, number>();
    const deadline = started + options.maxMinutes * 60_000;
    outer: for (let round = 1; round <= options.rounds; round++) {
      log(`round ${round}/${options.rounds}`);
      const influxWrite = await calibrateInfluxWrite(ctx, `bench_influx_r${round}`, options.quick ? 1 : 5, influxd.pid);
      log(`  InfluxDB raw write: ${fmt(influxWrite.pointsPerS)} points/s (${influxWrite.batches} gzip batches of 5000, ${influxWrite.concurrency} at a time)`);
      const runs: ContenderRun[] = [];
      rounds.push({ round, influxWrite, runs });
      for (const contender of options.contenders) {
        if (Date.now() > deadline) {
          log(`time limit of ${options.maxMinutes} min reached: reporting what was measured`);
          break outer;
        }
        log(`${contender.id} (${contender.label})`);
        const run = await measurer.measure(contender, round, hints.get(contender.id), { latency: true, burst: options.burst && contender.group !== 'cal' });
        if (run.maxRate > 0) hints.set(contender.id, run.maxRate);
        log(`  → max ${fmt(run.maxRate)} readings/s${run.failedRate ? ` (failed at ${fmt(run.failedRate)})` : ''} in ${Math.round(run.wallMs / 1000)} s`);
        runs.push(run);
      }
    }
    await cleanup();

    const results: BenchResults = {
      date: new Date(started).toISOString(),
      mode: options.quick ? 'quick' : 'full',
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? '?', node: process.version, loadAverageAtStart: os.loadavg() },
      plan: { ...plan, rounds: options.rounds, contenders: options.contenders.map((c) => c.id) },
      rounds,
      summary: summarize(rounds),
      wallSeconds: Math.round((Date.now() - started) / 1000),
    };
    await mkdir(resultsDir, { recursive: true });
    const out = options.out ?? path.join(resultsDir, `${date}${options.quick ? '-quick' : ''}.json`);
    await writeFile(out, `${JSON.stringify(results, null, 1)}\n`);
    log(`results: ${out} (${results.wallSeconds} s)`);
    return results;
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!process.env.BENCH_KEEP) await rm(workDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runBench(parseOptions(process.argv.slice(2))).then(
    (results) => {
      process.stdout.write(`${markdown(results)}\n`);
      // Anything left open (a socket) must not keep the bench alive.
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
