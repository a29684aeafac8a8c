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

/**
 * `site/asset`, the key of everything kept per asset. Made once per asset and handed out again:
 * the live view, the registry and the rules each look an asset up on every reading, and a new
 * string each time had to be flattened and hashed again. Bounded; past the bound it starts over.
 */
export function assetKey(site: string, asset: string): string {
  const known = assetKeys.get(site)?.get(asset);
  if (known !== undefined) return known;
  if (assetKeyCount >= ASSET_KEYS_MAX) {
    assetKeys.clear();
    assetKeyCount = 0;
  }
  let bySite = assetKeys.get(site);
  if (bySite === undefined) assetKeys.set(site, (bySite = new Map()));
  const key = `${site}/${asset}`;
  bySite.set(asset, key);
  assetKeyCount += 1;
  return key;
}
const assetKeys = new Map<string, Map<string, string>>();
const ASSET_KEYS_MAX = 100_000;
let assetKeyCount = 0;

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
