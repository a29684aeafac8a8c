// `hydrowatch simulate`: the demo network (or the registry in --config) as MQTT devices,
// with one status line every few seconds, until SIGINT/SIGTERM.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.js';
import { startSimulation } from './run.js';

export interface SimulateCommandOptions {
  /** MQTT broker URL; default: the config's mqtt.url, else the embedded broker's port on localhost. */
  broker?: string;
  /** Config file holding the asset registry; default: the bundled demo network. */
  config?: string;
  speed?: number;
  seed?: number;
  backfillHours?: number;
  /** Environment for the config overlay (MQTT credentials); default: process.env. */
  env?: Record<string, string | undefined>;
  log?: (line: string) => void;
  statusIntervalMs?: number;
  /** Stops the run when aborted; without it SIGINT/SIGTERM do. */
  signal?: AbortSignal;
}

/** Resolves once the simulation has stopped. */
export async function runSimulateCommand(opts: SimulateCommandOptions): Promise<void> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const config = loadConfig(opts.env ?? process.env, opts.config ?? demoNetworkFile());
  const assets = config.assets.length > 0 ? config.assets : loadConfig({}, demoNetworkFile()).assets;
  const simulation = await startSimulation({
    brokerUrl: opts.broker ?? config.mqtt.url ?? `mqtt://127.0.0.1:${config.mqtt.port}`,
    assets,
    seed: opts.seed,
    speed: opts.speed,
    backfillMs: opts.backfillHours === undefined ? undefined : opts.backfillHours * 3_600_000,
    username: config.mqtt.username,
    password: config.mqtt.password,
    log,
  });

  const status = setInterval(() => {
    const { published, simTimeMs, caughtUp } = simulation.stats();
    log(`simulate: ${new Date(simTimeMs).toISOString()} simulated, ${published} published, ${caughtUp ? 'real time' : 'catching up'}`);
  }, opts.statusIntervalMs ?? 10_000);

  await new Promise<void>((resolve) => {
    if (opts.signal) {
      if (opts.signal.aborted) resolve();
      else opts.signal.addEventListener('abort', () => resolve(), { once: true });
      return;
    }
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  clearInterval(status);
  await simulation.stop();
  log(`simulate: stopped after ${simulation.stats().published} messages`);
}

/** The bundled demo registry, found from this file whether it runs from source or from dist/. */
function demoNetworkFile(): string {
  const candidates = ['../config/demo-network.yaml', '../../config/demo-network.yaml'].map((relative) =>
    fileURLToPath(new URL(relative, import.meta.url)),
  );
  return candidates.find((path) => existsSync(path)) ?? 'config/demo-network.yaml';
}
