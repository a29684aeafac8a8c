// The simulation core shared by the online (MQTT) and offline paths: the network model plus
// the devices' reporting schedule, advanced in fixed hydraulic steps of simulated time.
import type { AssetConfig } from '../src/config.js';
import type { EpanetNetwork } from './epanet.js';
import { commandTopic } from '../src/schema.js';
import { createDevices, isDue, takeReading, type SimulatedDevice, type TelemetryMessage, type WireMessage } from './devices.js';
import { assetKey, createNetwork, HYDRAULIC_STEP_MS, step, type NetworkOptions, type NetworkState } from './network.js';

export interface SimulationOptions extends NetworkOptions {
  seed: number;
  /** Simulated start time (epoch ms); rounded down to the hydraulic step grid. */
  startMs: number;
  /** An EPANET model to solve the hydraulics; without it the mass balance does. */
  hydraulics?: EpanetNetwork;
  /** Called before every hydraulic step (a scenario sets its conditions here). */
  beforeStep?: (network: NetworkState, simTimeMs: number) => void;
}

export interface Simulation {
  readonly network: NetworkState;
  readonly devices: readonly SimulatedDevice[];
  /** The simulated time the network state describes. */
  simTimeMs(): number;
  /**
   * Step the network until the next step would pass `targetMs`, handing every reading that falls
   * due to `emit` in time order. Returns how many readings were emitted. With `command`, the
   * station control's start/stop commands go there too (before the readings that show them).
   */
  advanceTo(
    targetMs: number,
    emit: (device: SimulatedDevice, message: TelemetryMessage) => void,
    command?: (device: SimulatedDevice, message: WireMessage) => void,
  ): number;
  /** Release the hydraulic engine; safe to call twice. */
  close(): void;
}

export function createSimulation(assets: readonly AssetConfig[], options: SimulationOptions): Simulation {
  let simTimeMs = Math.floor(options.startMs / HYDRAULIC_STEP_MS) * HYDRAULIC_STEP_MS;
  const network = createNetwork([...assets], options.seed, { ...options, startMs: simTimeMs, externalHydraulics: options.hydraulics !== undefined });
  network.solver = options.hydraulics?.createSolver(assets, network, simTimeMs);
  const devices = createDevices(assets, options.seed, simTimeMs);
  const deviceByKey = new Map(devices.map((device) => [assetKey(device.asset), device]));
  return {
    network,
    devices,
    simTimeMs: () => simTimeMs,
    advanceTo(targetMs, emit, command) {
      let emitted = 0;
      while (simTimeMs + HYDRAULIC_STEP_MS <= targetMs) {
        options.beforeStep?.(network, simTimeMs);
        step(network, HYDRAULIC_STEP_MS / 1000, simTimeMs);
        if (command) {
          for (const { pump, command: verb } of network.pumpCommands) {
            const device = deviceByKey.get(pump.key);
            if (!device) continue;
            const { site, id } = pump.asset;
            const payload = JSON.stringify({ command: verb, by: `${pump.asset.station} level control`, ts: simTimeMs });
            command(device, { topic: commandTopic(site, 'pump', id), payload, tsMs: simTimeMs, qos: 1, retain: false });
          }
        }
        simTimeMs += HYDRAULIC_STEP_MS;
        for (const device of devices) {
          if (!isDue(device, simTimeMs)) continue;
          emit(device, takeReading(device, network, simTimeMs));
          emitted++;
        }
      }
      return emitted;
    },
    close: () => network.solver?.close(),
  };
}
