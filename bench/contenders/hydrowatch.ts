// Contender A: hydrowatch as shipped — startService() from dist/, the tsc build `npm start` runs,
// in its own process, with its embedded aedes broker (A-embedded) or subscribed to Mosquitto
// (A-mosquitto). Not src/ under tsx: that is not what ships, and its esbuild transform adds a call
// naming every closure the code creates (`__name`). Durable disk spool,
// validation, the shipped alert rules plus one that the generator's 1 % hot readings trip
// (`bench-hot`: motor_temp_c above 110, for 0, deadband 0), and the MQTT alert notifier, which
// publishes retained `hydrowatch/alerts/{site}/{asset}/{rule}` messages the runner subscribes to.
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';
import path from 'node:path';
import { constants, createHistogram, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { DEFAULT_RULES } from '../../src/alerts/rules.js';
import { dropDatabase } from '../lib/influx.js';
import { Child, ROOT_DIR, serveChild } from '../lib/proc.js';
import { ALERT_ABOVE, ALERT_FIELD } from '../load.js';
import type { BenchContext, Contender, RunningContender } from './types.js';

export const ALERT_RULE_ID = 'bench-hot';

/** The shipped default rules, plus the one the bench's hot readings trip at once. */
export function benchRules(): unknown[] {
  return [
    ...DEFAULT_RULES,
    { id: ALERT_RULE_ID, kind: 'threshold', severity: 'high', scope: { kind: 'pump' }, field: ALERT_FIELD, above: ALERT_ABOVE, deadband: 0, for: 0, message: 'bench: motor temperature over the threshold' },
  ];
}

/** The build `npm start` runs (bin/hydrowatch.js imports dist/src/cli.js). */
const SHIPPED = path.join(ROOT_DIR, 'dist', 'src');
let built: Promise<void> | undefined;

/**
 * Builds dist/ (npm run build) if any file under src/ is newer than it, so A runs the code in the
 * checkout as it ships. `npm ci` builds it too; a fresh one is left alone (other processes may be
 * running it).
 */
function buildShipped(log: (line: string) => void): Promise<void> {
  built ??= (async () => {
    const builtAt = mtimeOr(path.join(SHIPPED, 'service.js'), 0);
    if (builtAt >= newestMtime(path.join(ROOT_DIR, 'src'))) return;
    log('  dist/ is older than src/: building it (npm run build)');
    const tsc = fileURLToPath(import.meta.resolve('typescript/bin/tsc'));
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT_DIR });
  })();
  return built;
}

function mtimeOr(file: string, fallback: number): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return fallback;
  }
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** The shipped modules the child needs, typed as their sources. */
async function loadShipped(): Promise<{
  parseConfig: typeof import('../../src/config.js').parseConfig;
  createLogger: typeof import('../../src/log.js').createLogger;
  startService: typeof import('../../src/service.js').startService;
}> {
  const load = <T>(file: string): Promise<T> => import(pathToFileURL(path.join(SHIPPED, file)).href) as Promise<T>;
  const [config, log, service] = await Promise.all([
    load<typeof import('../../src/config.js')>('config.js'),
    load<typeof import('../../src/log.js')>('log.js'),
    load<typeof import('../../src/service.js')>('service.js'),
  ]);
  return { parseConfig: config.parseConfig, createLogger: log.createLogger, startService: service.startService };
}

function hydrowatch(external: boolean): Contender {
  const id = external ? 'A-mosquitto' : 'A-embedded';
  return {
    id,
    group: 'A',
    expectedRate: 30_000,
    label: external ? 'hydrowatch, Mosquitto as external broker' : 'hydrowatch, embedded aedes broker',
    prepare: (ctx) => buildShipped(ctx.log),
    async start(ctx: BenchContext, name: string): Promise<RunningContender> {
      const dataDir = await mkdtemp(path.join(ctx.workDir, `${name}-data-`));
      const clientId = `hydrowatch-${name}`;
      const settings = {
        dataDir,
        mqtt: external ? { url: ctx.mosquitto.url, clientId } : { port: 0, host: '127.0.0.1' },
        http: { port: 0, host: '127.0.0.1' },
        alerts: { rules: benchRules() },
      };
      const env = { HYDROWATCH_INSECURE: '1', INFLUX_URL: ctx.influxUrl, INFLUX_BUCKET: name };
      const logFile = path.join(ctx.workDir, `${name}.log`);
      const { child, ready } = await Child.start(name, fileURLToPath(import.meta.url), ['--hydrowatch'], {
        env: { BENCH_SETTINGS: JSON.stringify(settings), BENCH_ENV: JSON.stringify(env) },
        logFile,
      });
      const mqttUrl = String(ready.mqttUrl);
      return {
        stats: () => child.request({ type: 'stats' }),
        profile: ctx.profileDir
          ? {
              start: async () => void (await child.request({ type: 'profile-start' })),
              stop: async (label: string) => void (await child.request({ type: 'profile-stop', file: path.join(ctx.profileDir!, `${name}-${label}.cpuprofile`) })),
            }
          : undefined,
        brokerUrl: mqttUrl,
        db: name,
        pids: () => [child.pid],
        brokerPid: () => (external ? ctx.mosquitto.pid : undefined),
        alertsUrl: mqttUrl,
        async stop() {
          await child.stop(60_000);
          if (external) await forgetSession(ctx.mosquitto.url, clientId);
          await rm(dataDir, { recursive: true, force: true });
          await dropDatabase(ctx.influxUrl, name);
        },
      };
    },
  };
}

/**
 * hydrowatch keeps a persistent session on an external broker (so nothing is lost across its
 * restarts). Once a run is over, that session would make Mosquitto queue every later contender's
 * readings for a client that never returns: end it with a clean connect.
 */
async function forgetSession(url: string, clientId: string): Promise<void> {
  const client = await mqtt.connectAsync(url, { clientId, clean: true, reconnectPeriod: 0 });
  await client.endAsync();
}

export const hydrowatchEmbedded = hydrowatch(false);
export const hydrowatchMosquitto = hydrowatch(true);

async function main(): Promise<void> {
  const { parseConfig, createLogger, startService } = await loadShipped();
  const settings = JSON.parse(process.env.BENCH_SETTINGS ?? '{}') as Record<string, unknown>;
  const env = JSON.parse(process.env.BENCH_ENV ?? '{}') as Record<string, string>;
  const config = parseConfig(settings, env);
  const service = await startService(config, { log: createLogger(config.logLevel), drainTimeoutMs: 30_000 });
  // For diagnosis only (BENCH_DEBUG): how long the event loop was blocked, and spool appends took, since the last ask.
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const appendMs = createHistogram();
  if (process.env.BENCH_DEBUG) {
    const append = service.spool.append.bind(service.spool);
    service.spool.append = (lines) => {
      const started = performance.now();
      const done = append(lines);
      // The spool's own promise goes back, so readings of one write group still share it (the
      // subscriber holds their PUBACKs as one entry); a promise of our own per reading would not.
      done.then(
        () => appendMs.record(Math.max(1, Math.round((performance.now() - started) * 1000))),
        () => undefined,
      );
      return done;
    };
  }
  // Publish → hydrowatch has the reading (its receivedAt); the rules see it in the same call.
  const arrivalMs = createHistogram();
  if (process.env.BENCH_DEBUG) {
    const onReading = service.alerts.onReading.bind(service.alerts);
    service.alerts.onReading = (reading, receivedAt) => {
      onReading(reading, receivedAt);
      arrivalMs.record(Math.max(1, receivedAt - reading.ts));
    };
  }
  // Garbage collections since the last ask: count and time of the young-generation ones (scavenges), time of the rest.
  const gc = { scavenges: 0, scavengeMs: 0, scavengeMaxMs: 0, otherMs: 0 };
  if (process.env.BENCH_DEBUG) {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        if ((entry as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) {
          gc.scavenges += 1;
          gc.scavengeMs += entry.duration;
          gc.scavengeMaxMs = Math.max(gc.scavengeMaxMs, entry.duration);
        } else gc.otherMs += entry.duration;
      }
    }).observe({ entryTypes: ['gc'] });
  }
  const alertKinds: Record<string, number> = {};
  if (process.env.BENCH_DEBUG) {
    const watcher = await mqtt.connectAsync(service.mqttUrl, { clientId: `bench-debug-${process.pid}`, clean: true });
    watcher.on('message', (topic, payload) => {
      const rule = topic.split('/')[4] ?? '?';
      const kind = payload.length === 0 ? 'empty' : String((JSON.parse(payload.toString()) as { kind?: string }).kind);
      alertKinds[`${rule}:${kind}`] = (alertKinds[`${rule}:${kind}`] ?? 0) + 1;
    });
    await watcher.subscribeAsync('hydrowatch/alerts/#', { qos: 0 });
  }
  // --profile: a CPU profile of a step only (start-up and idle time would drown it).
  const inspector = new Session();
  inspector.connect();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) => inspector.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
  serveChild(
    async (message) => {
      if (message.type === 'profile-start') {
        await post('Profiler.enable');
        await post('Profiler.setSamplingInterval', { interval: 500 });
        await post('Profiler.start');
        // What outlives a young-generation GC (promoted, then collected or kept): what makes GC dear.
        // BENCH_HEAP=all samples every allocation instead, garbage included: what makes GC frequent.
        await post('HeapProfiler.enable');
        await post('HeapProfiler.startSampling', { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: process.env.BENCH_HEAP === 'all' });
        return {};
      }
      if (message.type === 'profile-stop') {
        const { profile } = (await post('Profiler.stop')) as { profile: unknown };
        await writeFile(String(message.file), JSON.stringify(profile));
        const { profile: promoted } = (await post('HeapProfiler.stopSampling')) as { profile: unknown };
        await writeFile(String(message.file).replace(/\.cpuprofile$/, '.heapprofile'), JSON.stringify(promoted));
        return {};
      }
      const memory = process.memoryUsage();
      const stats = {
        rssMb: Math.round(memory.rss / 1e6),
        heapUsedMb: Math.round(memory.heapUsed / 1e6),
        externalMb: Math.round(memory.external / 1e6),
        arrayBuffersMb: Math.round(memory.arrayBuffers / 1e6),
        spoolDepth: service.spool.depth,
        loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
        loopDelayMaxMs: loopDelay.max / 1e6,
        appendP50Ms: appendMs.count > 0 ? appendMs.percentile(50) / 1000 : undefined,
        appendP99Ms: appendMs.count > 0 ? appendMs.percentile(99) / 1000 : undefined,
        arrivalP50Ms: arrivalMs.count > 0 ? arrivalMs.percentile(50) : undefined,
        arrivalP99Ms: arrivalMs.count > 0 ? arrivalMs.percentile(99) : undefined,
        notifications: notificationFigures(await service.metrics.registry.metrics()),
        alertKinds: { ...alertKinds },
        alertsKept: service.alerts.list({ state: 'all' }).length,
        lastSaveMs: (service.alerts as unknown as { lastSaveMs: number }).lastSaveMs,
        gc: { scavenges: gc.scavenges, scavengeMs: Math.round(gc.scavengeMs), scavengeMaxMs: Math.round(gc.scavengeMaxMs), otherMs: Math.round(gc.otherMs) },
      };
      Object.assign(gc, { scavenges: 0, scavengeMs: 0, scavengeMaxMs: 0, otherMs: 0 });
      for (const key of Object.keys(alertKinds)) delete alertKinds[key];
      loopDelay.reset();
      appendMs.reset();
      arrivalMs.reset();
      return stats;
    },
    () => service.close(),
  );
  process.send?.({ type: 'ready', mqttUrl: service.mqttUrl, httpUrl: service.httpUrl });
}

/** The notification counters and queue depths from /metrics, as `name{labels}` → value. */
function notificationFigures(exposition: string): Record<string, number> {
  const figures: Record<string, number> = {};
  for (const line of exposition.split('\n')) {
    const match = /^hydrowatch_(notification\w*|alerts?\w*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match && Number(match[3]) !== 0) figures[`${match[1]}${match[2] ?? ''}`] = Number(match[3]);
  }
  return figures;
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--hydrowatch') {
  main().catch((error: unknown) => {
    process.stderr.write(`bench hydrowatch: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
