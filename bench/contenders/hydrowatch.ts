// Contender A: hydrowatch as shipped — startService() from src/, in its own process, with its
// embedded aedes broker (A-embedded) or subscribed to Mosquitto (A-mosquitto). Durable disk spool,
// validation, the shipped alert rules plus one that the generator's 1 % hot readings trip
// (`bench-hot`: motor_temp_c above 110, for 0, deadband 0), and the MQTT alert notifier, which
// publishes retained `hydrowatch/alerts/{site}/{asset}/{rule}` messages the runner subscribes to.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';
import path from 'node:path';
import { createHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { DEFAULT_RULES } from '../../src/alerts/rules.js';
import { parseConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { startService } from '../../src/service.js';
import { dropDatabase } from '../lib/influx.js';
import { Child, serveChild } from '../lib/proc.js';
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

function hydrowatch(external: boolean): Contender {
  const id = external ? 'A-mosquitto' : 'A-embedded';
  return {
    id,
    group: 'A',
    expectedRate: 30_000,
    label: external ? 'hydrowatch, Mosquitto as external broker' : 'hydrowatch, embedded aedes broker',
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
      return append(lines).finally(() => appendMs.record(Math.max(1, Math.round((performance.now() - started) * 1000))));
    };
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
        await post('HeapProfiler.enable');
        await post('HeapProfiler.startSampling', { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: false });
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
        notifications: notificationFigures(await service.metrics.registry.metrics()),
        alertKinds: { ...alertKinds },
        alertsKept: service.alerts.list({ state: 'all' }).length,
        lastSaveMs: (service.alerts as unknown as { lastSaveMs: number }).lastSaveMs,
      };
      for (const key of Object.keys(alertKinds)) delete alertKinds[key];
      loopDelay.reset();
      appendMs.reset();
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
