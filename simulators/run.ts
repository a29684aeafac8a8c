// Entry points of the simulator: `startSimulation` publishes over MQTT against a clock that runs
// `speed`× real time but never ahead of it; `simulateOffline` runs the same model and schedule
// with no broker and returns what would have been published.
import type { AssetConfig } from '../src/config.js';
import { connectDevices, type TelemetryMessage } from './devices.js';
import type { NetworkOptions } from './network.js';
import { createSimulation } from './simulation.js';

const HOUR_MS = 3_600_000;
/** Real time between clock ticks: small enough to keep pace, large enough to batch steps. */
const TICK_MS = 100;
/** Unacknowledged publishes beyond which the simulated clock waits for the broker. */
const MAX_IN_FLIGHT = 2_000;

export interface StartSimulationOptions extends NetworkOptions {
  brokerUrl: string;
  assets: AssetConfig[];
  seed?: number;
  /** Simulated seconds per real second (default 1). */
  speed?: number;
  /** How far in the past simulated time starts (default 0 at speed 1, else 2 hours). */
  backfillMs?: number;
  now?: () => number;
  log?: (line: string) => void;
  username?: string;
  password?: string;
}

export interface SimulationStats {
  /** Telemetry messages acknowledged by the broker. */
  published: number;
  simTimeMs: number;
  /** Simulated time has reached real time and now follows it at speed 1. */
  caughtUp: boolean;
}

export interface RunningSimulation {
  /** Stop the clock and disconnect every device; `kill` drops them so their wills fire. Safe to call twice. */
  stop(options?: { kill?: boolean }): Promise<void>;
  stats(): SimulationStats;
}

export async function startSimulation(opts: StartSimulationOptions): Promise<RunningSimulation> {
  const now = opts.now ?? Date.now;
  const log = opts.log ?? (() => {});
  const speed = opts.speed ?? 1;
  if (!Number.isFinite(speed) || speed <= 0) throw new RangeError(`simulator: speed must be a positive number, not ${speed}`);
  const backfillMs = opts.backfillMs ?? (speed === 1 ? 0 : 2 * HOUR_MS);
  if (!Number.isFinite(backfillMs) || backfillMs < 0) throw new RangeError(`simulator: backfill must be 0 or more, not ${backfillMs}`);

  const startedAtMs = now();
  const simulation = createSimulation(opts.assets, {
    seed: opts.seed ?? 1,
    startMs: startedAtMs - backfillMs,
    dailyMaxAirTemp_c: opts.dailyMaxAirTemp_c,
    measurementNoise: opts.measurementNoise,
  });
  log(
    `simulator: ${opts.assets.length} devices, speed ${speed}×, simulated time starts ${new Date(startedAtMs - backfillMs).toISOString()}`,
  );
  const clients = await connectDevices(simulation.devices, {
    brokerUrl: opts.brokerUrl,
    username: opts.username,
    password: opts.password,
    log,
  });

  let published = 0;
  let failed = 0;
  let inFlight = 0;
  let caughtUp = false;
  // The clock the simulation runs to; it never passes real time, so no reading is stamped ahead.
  let clockMs = startedAtMs - backfillMs;
  let lastTickMs = startedAtMs;
  let timer: NodeJS.Timeout | undefined;

  const tick = (): void => {
    const realNowMs = now();
    const elapsedMs = Math.max(0, realNowMs - lastTickMs);
    lastTickMs = realNowMs;
    // While the broker lags, simulated time waits rather than piling up messages.
    if (inFlight < MAX_IN_FLIGHT) {
      clockMs = caughtUp ? realNowMs : Math.min(realNowMs, clockMs + elapsedMs * speed);
      if (!caughtUp && clockMs >= realNowMs) {
        caughtUp = true;
        if (backfillMs > 0) log(`simulator: caught up with real time at ${new Date(realNowMs).toISOString()}; continuing at speed 1`);
      }
      simulation.advanceTo(clockMs, (device, message) => {
        inFlight++;
        clients.publish(device, message, (error) => {
          inFlight--;
          if (!error) published++;
          else if (failed++ === 0) log(`simulator: publish failed (${error.message}); further failures are counted silently`);
        });
      });
    }
    timer = setTimeout(tick, TICK_MS);
  };
  tick();

  let stopping: Promise<void> | undefined;
  return {
    stop(options = {}) {
      clearTimeout(timer);
      timer = undefined;
      stopping ??= clients.close(options);
      return stopping;
    },
    stats: () => ({ published, simTimeMs: simulation.simTimeMs(), caughtUp }),
  };
}

export interface OfflineOptions extends NetworkOptions {
  seed: number;
  startMs: number;
  durationMs: number;
}

/** Everything the devices would publish from `startMs` for `durationMs`, in time order, with no broker. */
export function simulateOffline(assets: readonly AssetConfig[], options: OfflineOptions): TelemetryMessage[] {
  const simulation = createSimulation(assets, options);
  const messages: TelemetryMessage[] = [];
  simulation.advanceTo(options.startMs + options.durationMs, (_device, message) => messages.push(message));
  return messages;
}
