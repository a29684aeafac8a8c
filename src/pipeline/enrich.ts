// Stage 3: attach the asset registry entry; in strict mode an unregistered asset is refused.
import type { AssetConfig } from '../config.js';
import { type Reading, RejectReason } from '../schema.js';
import { type EnrichedReading, ok, rejected, type StageResult } from './types.js';

export class AssetRegistry {
  private readonly byKey = new Map<string, AssetConfig>();

  constructor(assets: readonly AssetConfig[]) {
    for (const asset of assets) this.byKey.set(assetKey(asset.site, asset.id), asset);
  }

  get(site: string, asset: string): AssetConfig | undefined {
    return this.byKey.get(assetKey(site, asset));
  }

  all(): AssetConfig[] {
    return [...this.byKey.values()];
  }
}

export const assetKey = (site: string, asset: string): string => `${site}/${asset}`;

export function enrich(reading: Reading, registry: AssetRegistry, strict: boolean): StageResult<EnrichedReading> {
  const asset = registry.get(reading.site, reading.asset);
  if (asset === undefined && strict) {
    return rejected(RejectReason.ASSET_UNREGISTERED, `${reading.site}/${reading.asset} is not in the asset registry`);
  }
  if (asset !== undefined && asset.kind !== reading.kind) {
    // A registered id publishing under another kind is a wiring mistake; store it, but not as that asset.
    return ok({ reading, asset: undefined });
  }
  return ok({ reading, asset });
}
