// Entry points of the simulator: `startSimulation` publishes over MQTT against a clock that runs
// `speed`× real time but never ahead of it; `simulateOffline` runs the same model and schedule
// with no broker and returns what would have been published; `runScenario` does the same for a
// scenario and also returns its ground truth. All take an optional EPANET model (`hydraulics`).
import type { AssetConfig } from '../src/config.js';
import { connectDevices, ONLINE_PAYLOAD, type SimulatedDevice, type TelemetryMessage, type WireMessage } from './devices.js';
import type { EpanetNetwork } from './epanet.js';
import { HYDRAULIC_STEP_MS, type NetworkOptions } from './network.js';
import { createScenarioDriver, DEFAULT_SCENARIO_START, localMidnight, type GroundTruthEntry, type Scenario, type ScenarioDriver } from './scenarios.js';
import { createSimulation, type Simulation } from './simulation.js';

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
  /** EPANET model for the hydraulics (default: the mass balance). */
  hydraulics?: EpanetNetwork;
  /**
   * Play a scenario: simulated time starts at local midnight `days` days ago (so the whole
   * scenario is history by the time it ends), and the run finishes at its end.
   */
  scenario?: Scenario;
  /** Length of the scenario run (default: the scenario's own). */
  days?: number;
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
  /** A scenario run: where it starts and ends in simulated time. */
  startMs: number;
  endMs: number | undefined;
}

export interface RunningSimulation {
  /** Stop the clock and disconnect every device; `kill` drops them so their wills fire. Safe to call twice. */
  stop(options?: { kill?: boolean }): Promise<void>;
  stats(): SimulationStats;
  /** A scenario run: resolves once its end is reached and every message acknowledged (never otherwise). */
  readonly finished: Promise<void>;
  /** The scenario's ground truth so far (empty without a scenario). */
  groundTruth(): GroundTruthEntry[];
}

export async function startSimulation(opts: StartSimulationOptions): Promise<RunningSimulation> {
  const now = opts.now ?? Date.now;
  const log = opts.log ?? (() => {});
  const speed = opts.speed ?? 1;
  if (!Number.isFinite(speed) || speed <= 0) throw new RangeError(`simulator: speed must be a positive number, not ${speed}`);
  const backfillMs = opts.backfillMs ?? (speed === 1 ? 0 : 2 * HOUR_MS);
  if (!Number.isFinite(backfillMs) || backfillMs < 0) throw new RangeError(`simulator: backfill must be 0 or more, not ${backfillMs}`);

  const startedAtMs = now();
  const days = opts.scenario ? (opts.days ?? opts.scenario.days) : undefined;
  const simStartMs = days !== undefined ? localMidnight(startedAtMs) - days * DAY_MS : startedAtMs - backfillMs;
  const endMs = days !== undefined ? simStartMs + days * DAY_MS : undefined;
  let driver: ScenarioDriver | undefined;
  const simulation = createSimulation(opts.assets, {
    seed: opts.seed ?? 1,
    startMs: simStartMs,
    dailyMaxAirTemp_c: opts.dailyMaxAirTemp_c,
    measurementNoise: opts.measurementNoise,
    hydraulics: opts.hydraulics,
    beforeStep: (network, simTimeMs) => driver?.beforeStep(network, simTimeMs),
  });
  if (opts.scenario) {
    driver = createScenarioDriver(opts.scenario, { assets: opts.assets, devices: simulation.devices, seed: opts.seed ?? 1, startMs: simulation.simTimeMs(), days });
  }
  log(
    `simulator: ${opts.assets.length} devices, speed ${speed}×, ${opts.hydraulics ? 'EPANET' : 'mass-balance'} hydraulics, ${
      opts.scenario ? `scenario ${opts.scenario.name} (${days} days), ` : ''
    }simulated time starts ${new Date(simStartMs).toISOString()}`,
  );
  let clients: Awaited<ReturnType<typeof connectDevices>>;
  try {
    clients = await connectDevices(simulation.devices, {
      brokerUrl: opts.brokerUrl,
      username: opts.username,
      password: opts.password,
      log,
    });
  } catch (error) {
    simulation.close();
    throw error;
  }

  let published = 0;
  let failed = 0;
  let inFlight = 0;
  let caughtUp = false;
  // The clock the simulation runs to; it never passes real time, so no reading is stamped ahead.
  let clockMs = simStartMs;
  let lastTickMs = startedAtMs;
  let timer: NodeJS.Timeout | undefined;
  let reachedEnd = false;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));

  const send = (device: SimulatedDevice, message: WireMessage): void => {
    inFlight++;
    clients.publish(device, message, (error) => {
      inFlight--;
      if (!error) published++;
      else if (failed++ === 0) log(`simulator: publish failed (${error.message}); further failures are counted silently`);
      if (reachedEnd && inFlight === 0) finish();
    });
  };

  const tick = (): void => {
    const realNowMs = now();
    const elapsedMs = Math.max(0, realNowMs - lastTickMs);
    lastTickMs = realNowMs;
    // While the broker lags, simulated time waits rather than piling up messages.
    if (inFlight < MAX_IN_FLIGHT) {
      clockMs = caughtUp ? realNowMs : Math.min(realNowMs, clockMs + elapsedMs * speed);
      if (endMs !== undefined) clockMs = Math.min(clockMs, endMs);
      if (!caughtUp && clockMs >= realNowMs) {
        caughtUp = true;
        if (backfillMs > 0) log(`simulator: caught up with real time at ${new Date(realNowMs).toISOString()}; continuing at speed 1`);
      }
      simulation.advanceTo(
        clockMs,
        (device, message) => (driver ? driver.transform(device, message, send) : send(device, message)),
        (device, message) => {
          driver?.flush(message.tsMs, send);
          send(device, message);
        },
      );
      if (endMs !== undefined && simulation.simTimeMs() >= endMs) {
        driver?.flush(endMs, send);
        reachedEnd = true;
        log(`simulator: scenario ${opts.scenario?.name} reached its end (${new Date(endMs).toISOString()})`);
        if (inFlight === 0) finish();
        return;
      }
    }
    timer = setTimeout(tick, TICK_MS);
  };
  tick();

  let stopping: Promise<void> | undefined;
  return {
    stop(options = {}) {
      clearTimeout(timer);
      timer = undefined;
      stopping ??= clients.close(options).finally(() => simulation.close());
      return stopping;
    },
    stats: () => ({ published, simTimeMs: simulation.simTimeMs(), caughtUp, startMs: simStartMs, endMs }),
    finished,
    groundTruth: () => driver?.groundTruth() ?? [],
  };
}

export interface OfflineOptions extends NetworkOptions {
  seed: number;
  startMs: number;
  durationMs: number;
  /** EPANET model for the hydraulics (default: the mass balance). */
  hydraulics?: EpanetNetwork;
}

/**
 * The telemetry the devices would publish from `startMs` for `durationMs`, in time order, with no
 * broker (telemetry only: `runScenario` gives the whole feed, status and commands included).
 */
export function simulateOffline(assets: readonly AssetConfig[], options: OfflineOptions): TelemetryMessage[] {
  const simulation = createSimulation(assets, options);
  const messages: TelemetryMessage[] = [];
  try {
    simulation.advanceTo(options.startMs + options.durationMs, (_device, message) => messages.push(message));
  } finally {
    simulation.close();
  }
  return messages;
}

const DAY_MS = 24 * HOUR_MS;

export interface ScenarioRunOptions extends NetworkOptions {
  assets: readonly AssetConfig[];
  scenario: Scenario;
  seed: number;
  /** Local midnight of day 1 (default: the scenario's `start`, else DEFAULT_SCENARIO_START). */
  startMs?: number;
  /** Run length (default: the scenario's). */
  days?: number;
  hydraulics?: EpanetNetwork;
  /** Each message as it is produced; then `messages` stays empty (long runs straight to a file). */
  onMessage?: (message: WireMessage) => void;
  /** Share of the run done, 0…1, about every simulated hour. */
  onProgress?: (fraction: number) => void;
  /** Look at the simulation after every simulated hour (tests read the true state this way). */
  onHour?: (simulation: Simulation, simTimeMs: number) => void;
}

export interface ScenarioRun {
  scenario: Scenario;
  seed: number;
  startMs: number;
  endMs: number;
  /** What the devices sent, in time order: retained online status first, then telemetry and garbage. */
  messages: WireMessage[];
  groundTruth: GroundTruthEntry[];
  notes: string[];
  /** `EPANET 2.2 (…)` or `mass balance`, and what EPANET left to the mass balance. */
  hydraulics: string;
  fallbacks: string[];
}

/** Where an offline scenario run starts: the given time, else the scenario's `start`, else DEFAULT_SCENARIO_START; on the step grid. */
export function scenarioStartMs(scenario: Scenario, startMs?: number): number {
  const chosen = startMs ?? Date.parse(scenario.start ?? DEFAULT_SCENARIO_START);
  if (Number.isNaN(chosen)) throw new Error(`scenario ${scenario.name}: start ${scenario.start} is not a time`);
  return Math.floor(chosen / HYDRAULIC_STEP_MS) * HYDRAULIC_STEP_MS;
}

/** A scenario with no broker: the messages, in time order, and the ground truth. Deterministic in (scenario, seed, start, days). */
export function runScenario(options: ScenarioRunOptions): ScenarioRun {
  const { scenario } = options;
  const days = options.days ?? scenario.days;
  const startMs = scenarioStartMs(scenario, options.startMs);
  let driver: ScenarioDriver | undefined;
  const simulation = createSimulation(options.assets, {
    seed: options.seed,
    startMs,
    dailyMaxAirTemp_c: options.dailyMaxAirTemp_c,
    measurementNoise: options.measurementNoise,
    hydraulics: options.hydraulics,
    beforeStep: (network, simTimeMs) => driver?.beforeStep(network, simTimeMs),
  });
  try {
    driver = createScenarioDriver(scenario, { assets: options.assets, devices: simulation.devices, seed: options.seed, startMs: simulation.simTimeMs(), days });
    const messages: WireMessage[] = [];
    const out = options.onMessage ?? ((message: WireMessage) => messages.push(message));
    for (const device of simulation.devices) out({ topic: device.statusTopic, payload: ONLINE_PAYLOAD, tsMs: driver.startMs, qos: 1, retain: true });
    const send = (_device: SimulatedDevice, message: WireMessage) => out(message);
    for (let hourEndMs = driver.startMs + HOUR_MS; ; hourEndMs += HOUR_MS) {
      const targetMs = Math.min(hourEndMs, driver.endMs);
      simulation.advanceTo(
        targetMs,
        (device, message) => driver!.transform(device, message, send),
        (device, message) => {
          driver!.flush(message.tsMs, send);
          send(device, message);
        },
      );
      options.onHour?.(simulation, targetMs);
      options.onProgress?.((targetMs - driver.startMs) / (driver.endMs - driver.startMs));
      if (targetMs >= driver.endMs) break;
    }
    driver.flush(driver.endMs, send);
    return {
      scenario,
      seed: options.seed,
      startMs: driver.startMs,
      endMs: driver.endMs,
      messages,
      groundTruth: driver.groundTruth(),
      notes: driver.notes(),
      hydraulics: simulation.network.solver?.name ?? 'mass balance',
      fallbacks: [...(simulation.network.solver?.fallbacks ?? [])],
    };
  } finally {
    simulation.close();
  }
}
