// The simulation core shared by the online (MQTT) and offline paths: the network model plus
// the devices' reporting schedule, advanced in fixed hydraulic steps of simulated time.
import type { AssetConfig } from '../src/config.js';
import { createDevices, isDue, takeReading, type SimulatedDevice, type TelemetryMessage } from './devices.js';
import { createNetwork, HYDRAULIC_STEP_MS, step, type NetworkOptions, type NetworkState } from './network.js';

export interface SimulationOptions extends NetworkOptions {
  seed: number;
  /** Simulated start time (epoch ms); rounded down to the hydraulic step grid. */
  startMs: number;
}

export interface Simulation {
  readonly network: NetworkState;
  readonly devices: readonly SimulatedDevice[];
  /** The simulated time the network state describes. */
  simTimeMs(): number;
  /**
   * Step the network until the next step would pass `targetMs`, handing every reading that falls
   * due to `emit` in time order. Returns how many readings were emitted.
   */
  advanceTo(targetMs: number, emit: (device: SimulatedDevice, message: TelemetryMessage) => void): number;
}

export function createSimulation(assets: readonly AssetConfig[], options: SimulationOptions): Simulation {
  let simTimeMs = Math.floor(options.startMs / HYDRAULIC_STEP_MS) * HYDRAULIC_STEP_MS;
  const network = createNetwork([...assets], options.seed, { ...options, startMs: simTimeMs });
  const devices = createDevices(assets, options.seed, simTimeMs);
  return {
    network,
    devices,
    simTimeMs: () => simTimeMs,
    advanceTo(targetMs, emit) {
      let emitted = 0;
      while (simTimeMs + HYDRAULIC_STEP_MS <= targetMs) {
        step(network, HYDRAULIC_STEP_MS / 1000, simTimeMs);
        simTimeMs += HYDRAULIC_STEP_MS;
        for (const device of devices) {
          if (!isDue(device, simTimeMs)) continue;
          emit(device, takeReading(device, network, simTimeMs));
          emitted++;
        }
      }
      return emitted;
    },
  };
}
