// `hydrowatch simulate | record | replay`: the simulated network (EPANET-driven by default, with an
// optional scenario) as MQTT devices or straight into a feed file, and recording and replaying
// feeds against any broker. Progress goes to stderr as a bar (only on a terminal).
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig, type AssetConfig } from '../src/config.js';
import { loadEpanetNetwork, resolveMap, type EpanetNetwork } from './epanet.js';
import { createFeedWriter } from './feed.js';
import { createProgress } from './progress.js';
import { startRecording } from './record.js';
import { replayFeed } from './replay.js';
import { runScenario, scenarioStartMs, startSimulation, type ScenarioRun } from './run.js';
import { loadScenario, type GroundTruthEntry, type Scenario } from './scenarios.js';

type Log = (line: string) => void;

export interface SimulateCommandOptions {
  /** MQTT broker URL; default: the config's mqtt.url, else the embedded broker's port on localhost. */
  broker?: string;
  /** Config file holding the asset registry; default: the map's registry, else the bundled demo network. */
  config?: string;
  speed?: number;
  seed?: number;
  backfillHours?: number;
  /** Scenario name(s) under simulators/scenarios/ or file path(s); `a,b` composes. */
  scenario?: string;
  /** Days to run the scenario (default: the scenario's own). */
  days?: number;
  /** EPANET `.inp` model (default: the one the map names; bundled: simulators/networks/demo.inp). */
  network?: string;
  /** Map of registry assets to EPANET elements (default: simulators/networks/demo-map.yaml). */
  map?: string;
  /** `epanet` (default) or `mass-balance`. */
  hydraulics?: 'epanet' | 'mass-balance';
  /** Write the feed to this file (no broker) instead of publishing; its ground truth goes next to it. */
  out?: string;
  /** Environment for the config overlay (MQTT credentials); default: process.env. */
  env?: Record<string, string | undefined>;
  log?: Log;
  statusIntervalMs?: number;
  /** Stops the run when aborted; without it SIGINT/SIGTERM do. */
  signal?: AbortSignal;
}

/** Resolves once the simulation has stopped (or, for a scenario, finished). */
export async function runSimulateCommand(opts: SimulateCommandOptions): Promise<void> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const env = opts.env ?? process.env;
  const { assets, hydraulics, configFile } = await resolveNetwork(opts, log);
  const config = loadConfig(env, configFile);
  const scenario = opts.scenario || opts.days !== undefined || opts.out ? loadScenario(opts.scenario || 'normal-day') : undefined;
  const seed = opts.seed ?? 1;

  if (opts.out) {
    const run = writeScenarioFeed(opts.out, { assets, scenario: scenario!, seed, days: opts.days, hydraulics });
    log(`simulate: ${run.messages} messages, ${run.scenario.name}, ${run.days} day(s) from ${new Date(run.startMs).toISOString()}, seed ${seed}, ${run.hydraulics}`);
    log(`simulate: feed ${opts.out}, ground truth ${run.truthFile}`);
    for (const line of describeGroundTruth(run.groundTruth)) log(`  ${line}`);
    for (const note of run.notes) log(`simulate: note: ${note}`);
    return;
  }

  const simulation = await startSimulation({
    brokerUrl: opts.broker ?? config.mqtt.url ?? `mqtt://127.0.0.1:${config.mqtt.port}`,
    assets,
    seed,
    speed: opts.speed,
    backfillMs: opts.backfillHours === undefined ? undefined : opts.backfillHours * 3_600_000,
    hydraulics,
    scenario,
    days: opts.days,
    username: config.mqtt.username,
    password: config.mqtt.password,
    log,
  });

  const progress = createProgress('simulate');
  const status = setInterval(() => {
    const { published, simTimeMs, caughtUp, startMs, endMs } = simulation.stats();
    if (endMs !== undefined) {
      progress.update((simTimeMs - startMs) / (endMs - startMs), `${new Date(simTimeMs).toISOString().slice(0, 16)}Z, ${published} published`);
      return;
    }
    log(`simulate: ${new Date(simTimeMs).toISOString()} simulated, ${published} published, ${caughtUp ? 'real time' : 'catching up'}`);
  }, scenario ? 200 : (opts.statusIntervalMs ?? 10_000));

  await new Promise<void>((resolve) => {
    simulation.finished.then(resolve, resolve);
    if (opts.signal) {
      if (opts.signal.aborted) resolve();
      else opts.signal.addEventListener('abort', () => resolve(), { once: true });
      return;
    }
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  clearInterval(status);
  progress.done();
  await simulation.stop();
  log(`simulate: stopped after ${simulation.stats().published} messages`);
  if (scenario) for (const line of describeGroundTruth(simulation.groundTruth())) log(`  ${line}`);
}

/** Which registry, and which hydraulics: EPANET with the given (or bundled) model, else the mass balance. */
async function resolveNetwork(
  opts: Pick<SimulateCommandOptions, 'config' | 'network' | 'map' | 'hydraulics'>,
  log: Log,
): Promise<{ assets: AssetConfig[]; hydraulics: EpanetNetwork | undefined; configFile: string }> {
  const explicitModel = opts.network !== undefined || opts.map !== undefined;
  if (opts.network && !opts.map) throw new Error('simulate: --network needs --map (which registry asset is which EPANET element)');
  if (explicitModel && opts.hydraulics === 'mass-balance') throw new Error('simulate: --network/--map and --hydraulics mass-balance exclude each other');
  let network: EpanetNetwork | undefined;
  if (opts.hydraulics !== 'mass-balance') network = await loadEpanetNetwork({ map: opts.map ?? bundledFile('simulators/networks/demo-map.yaml'), network: opts.network });
  const configFile = opts.config ?? network?.registryPath ?? bundledFile('config/demo-network.yaml');
  const registry = loadConfig({}, configFile).assets;
  const assets = registry.length > 0 ? registry : loadConfig({}, bundledFile('config/demo-network.yaml')).assets;
  if (!network) return { assets, hydraulics: undefined, configFile };
  const { problems } = resolveMap(network.map, assets);
  if (problems.length === 0) return { assets, hydraulics: network, configFile };
  if (explicitModel) throw new Error(`simulate: ${network.mapPath} does not fit the registry in ${configFile}: ${problems.join('; ')}`);
  log(`simulate: the registry in ${configFile} is not the demo EPANET model's (${problems[0]}); using the mass balance`);
  return { assets, hydraulics: undefined, configFile };
}

export interface FeedRunSummary {
  messages: number;
  scenario: Scenario;
  days: number;
  startMs: number;
  groundTruth: GroundTruthEntry[];
  notes: string[];
  hydraulics: string;
  truthFile: string;
}

/** Run a scenario with no broker into a feed file, and its ground truth (JSON) next to it. Same inputs, same bytes. */
export function writeScenarioFeed(
  out: string,
  options: { assets: readonly AssetConfig[]; scenario: Scenario; seed: number; days?: number; hydraulics?: EpanetNetwork; startMs?: number },
): FeedRunSummary {
  const startMs = scenarioStartMs(options.scenario, options.startMs);
  const progress = createProgress('simulate');
  const writer = createFeedWriter(out, { startMs, source: `simulate ${options.scenario.name} seed ${options.seed}${options.days ? ` days ${options.days}` : ''}` });
  let run: ScenarioRun;
  try {
    run = runScenario({
      ...options,
      startMs,
      onMessage: (message) => writer.write({ t: message.tsMs - startMs, topic: message.topic, qos: message.qos ?? 1, retain: message.retain ?? false, payload: message.payload }),
      onProgress: (fraction) => progress.update(fraction),
    });
  } finally {
    progress.done();
    writer.close();
  }
  const truthFile = truthFileFor(out);
  writeFileSync(
    truthFile,
    `${JSON.stringify({ scenario: run.scenario.name, seed: run.seed, startMs: run.startMs, endMs: run.endMs, hydraulics: run.hydraulics, fallbacks: run.fallbacks, groundTruth: run.groundTruth, notes: run.notes }, null, 2)}\n`,
  );
  return {
    messages: writer.messages,
    scenario: run.scenario,
    days: (run.endMs - run.startMs) / 86_400_000,
    startMs: run.startMs,
    groundTruth: run.groundTruth,
    notes: run.notes,
    hydraulics: run.hydraulics,
    truthFile,
  };
}

/** `feed.jsonl.gz` → `feed.truth.json`. */
export function truthFileFor(feedFile: string): string {
  return `${feedFile.replace(/\.gz$/, '').replace(/\.jsonl?$/, '')}.truth.json`;
}

function describeGroundTruth(entries: readonly GroundTruthEntry[]): string[] {
  const counts = new Map<string, { count: number; first: GroundTruthEntry }>();
  for (const entry of entries) {
    const key = `${entry.fault} ${entry.asset}`;
    const seen = counts.get(key);
    if (seen) seen.count++;
    else counts.set(key, { count: 1, first: entry });
  }
  return [...counts.values()].map(({ count, first }) =>
    `${first.fault} ${first.asset}: ${new Date(first.startMs).toISOString()} → ${new Date(first.endMs).toISOString()}${count > 1 ? ` (${count} times)` : ''}${first.detail ? `, ${first.detail}` : ''}`,
  );
}

export interface RecordCommandOptions {
  out: string;
  broker?: string;
  topics?: string[];
  config?: string;
  env?: Record<string, string | undefined>;
  /** Stop after this many seconds (default: until SIGINT/SIGTERM). */
  durationS?: number;
  log?: Log;
  signal?: AbortSignal;
}

export async function runRecordCommand(opts: RecordCommandOptions): Promise<void> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const config = loadConfig(opts.env ?? process.env, opts.config);
  const recording = await startRecording({
    brokerUrl: opts.broker ?? config.mqtt.url ?? `mqtt://127.0.0.1:${config.mqtt.port}`,
    out: opts.out,
    topics: opts.topics && opts.topics.length > 0 ? opts.topics : undefined,
    username: config.mqtt.username,
    password: config.mqtt.password,
    log,
  });
  const progress = createProgress('record');
  const ticker = setInterval(() => {
    const { messages, startMs } = recording.stats();
    progress.update(undefined, `${messages} messages in ${Math.round((Date.now() - startMs) / 1000)} s`);
  }, 200);
  await new Promise<void>((resolve) => {
    if (opts.durationS !== undefined) setTimeout(resolve, opts.durationS * 1000).unref();
    if (opts.signal) {
      if (opts.signal.aborted) resolve();
      else opts.signal.addEventListener('abort', () => resolve(), { once: true });
    } else {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    }
  });
  clearInterval(ticker);
  progress.done();
  await recording.stop();
  log(`record: ${recording.stats().messages} messages written to ${opts.out}`);
}

export interface ReplayCommandOptions {
  file: string;
  broker?: string;
  speed: number | 'max';
  loop?: boolean;
  shiftToNow?: boolean;
  config?: string;
  env?: Record<string, string | undefined>;
  log?: Log;
  signal?: AbortSignal;
}

export async function runReplayCommand(opts: ReplayCommandOptions): Promise<void> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const config = loadConfig(opts.env ?? process.env, opts.config);
  const controller = new AbortController();
  const stop = () => controller.abort();
  if (opts.signal) opts.signal.addEventListener('abort', stop, { once: true });
  else {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
  const progress = createProgress('replay');
  try {
    const result = await replayFeed({
      file: opts.file,
      brokerUrl: opts.broker ?? config.mqtt.url ?? `mqtt://127.0.0.1:${config.mqtt.port}`,
      speed: opts.speed,
      loop: opts.loop,
      shiftToNow: opts.shiftToNow,
      username: config.mqtt.username,
      password: config.mqtt.password,
      log,
      onProgress: (fraction, published) => progress.update(fraction, `${published} published`),
      signal: controller.signal,
    });
    progress.done();
    log(
      `replay: ${result.published} messages in ${(result.elapsedMs / 1000).toFixed(1)} s (${Math.round(result.published / Math.max(0.001, result.elapsedMs / 1000))}/s)` +
        `${result.loops > 1 ? `, ${result.loops} loops` : ''}${result.failed > 0 ? `, ${result.failed} failed` : ''}`,
    );
  } finally {
    progress.done();
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}

/** A file shipped with hydrowatch, found from this file whether it runs from source or from dist/. */
export function bundledFile(relative: string): string {
  const candidates = [`../${relative}`, `../../${relative}`].map((path) => fileURLToPath(new URL(path, import.meta.url)));
  return candidates.find((path) => existsSync(path)) ?? relative;
}
