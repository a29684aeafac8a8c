// Shared by the simulator tests: the demo registry, a fixed start day, and published messages
// turned back into readings.
import { fileURLToPath } from 'node:url';
import { loadConfig, type AssetConfig } from '../../src/config.js';
import { TelemetryPayload, type Kind } from '../../src/schema.js';
import type { TelemetryMessage } from '../../simulators/devices.js';
import { loadEpanetNetwork, type EpanetNetwork } from '../../simulators/epanet.js';

export const DEMO_NETWORK_FILE = fileURLToPath(new URL('../../config/demo-network.yaml', import.meta.url));
export const DEMO_MAP_FILE = fileURLToPath(new URL('../../simulators/networks/demo-map.yaml', import.meta.url));
export const DEMO_INP_FILE = fileURLToPath(new URL('../../simulators/networks/demo.inp', import.meta.url));

export const demoAssets = (): AssetConfig[] => loadConfig({}, DEMO_NETWORK_FILE).assets;

/** The bundled EPANET model of the demo network (demo.inp + demo-map.yaml). */
export const demoHydraulics = (): Promise<EpanetNetwork> => loadEpanetNetwork({ map: DEMO_MAP_FILE });

/** The hydraulic engines the simulator offers: tests of physical behaviour run on both. */
export const HYDRAULICS = ['mass-balance', 'epanet'] as const;
export type HydraulicsName = (typeof HYDRAULICS)[number];
export async function hydraulicsFor(name: HydraulicsName): Promise<EpanetNetwork | undefined> {
  return name === 'epanet' ? demoHydraulics() : undefined;
}

/** Local midnight (Asia/Shanghai) of a summer day. */
export const DAY_START_MS = Date.parse('2026-07-14T00:00:00+08:00');
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

export interface PublishedReading {
  topic: string;
  site: string;
  kind: Kind;
  asset: string;
  ts: number;
  seq: number | undefined;
  values: Record<string, number | boolean>;
}

/** Parse with the project's own payload schema, so the tests read what the ingestor would. */
export function readings(messages: readonly TelemetryMessage[]): PublishedReading[] {
  return messages.map((message) => {
    const [, site, kind, asset] = message.topic.split('/') as [string, string, Kind, string];
    const payload = TelemetryPayload[kind].parse(JSON.parse(message.payload));
    return { topic: message.topic, site, kind, asset, ts: payload.ts, seq: payload.seq, values: payload.values };
  });
}

export function byAsset(all: readonly PublishedReading[]): Map<string, PublishedReading[]> {
  const grouped = new Map<string, PublishedReading[]>();
  for (const reading of all) {
    const list = grouped.get(reading.asset) ?? [];
    list.push(reading);
    grouped.set(reading.asset, list);
  }
  return grouped;
}

export function num(reading: PublishedReading, field: string): number {
  const value = reading.values[field];
  if (typeof value !== 'number') throw new Error(`${reading.asset} ${field} is not a number`);
  return value;
}

export function assetById<K extends Kind>(assets: AssetConfig[], id: string, kind: K): Extract<AssetConfig, { kind: K }> {
  const asset = assets.find((candidate) => candidate.id === id);
  if (!asset || asset.kind !== kind) throw new Error(`no ${kind} ${id} in the demo network`);
  return asset as Extract<AssetConfig, { kind: K }>;
}

/** The latest reading at or before `ts` in a time-ordered list. */
export function latestAt(list: readonly PublishedReading[], ts: number): PublishedReading | undefined {
  let low = 0;
  let high = list.length - 1;
  let found: PublishedReading | undefined;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const candidate = list[middle]!;
    if (candidate.ts <= ts) {
      found = candidate;
      low = middle + 1;
    } else high = middle - 1;
  }
  return found;
}
