// Stage 3: the registry lookup. Asset keys are made once and handed out again, up to a bound:
// past it (a flood of made-up asset ids) every key must still be right and every registered
// asset still found.
import { describe, expect, it } from 'vitest';
import type { AssetConfig } from '../../src/config.js';
import { AssetRegistry, assetKey, enrich } from '../../src/pipeline/enrich.js';
import { RejectReason } from '../../src/schema.js';

const pump: AssetConfig = { site: 'north', id: 'P-1', kind: 'pump', station: 'N', ratedFlow_m3h: 400, role: 'duty', region: 'default' };

describe('enrich', () => {
  it('attaches the registered asset, refuses an unregistered one only in strict mode, and ignores a kind mismatch', () => {
    const registry = new AssetRegistry([pump]);
    const reading = { site: 'north', kind: 'pump' as const, asset: 'P-1', ts: 1, values: { flow_m3h: 1 } };
    expect(enrich(reading, registry, true)).toEqual({ ok: true, value: { reading, asset: pump } });
    expect(enrich({ ...reading, asset: 'P-9' }, registry, true)).toMatchObject({ ok: false, reason: RejectReason.ASSET_UNREGISTERED });
    expect(enrich({ ...reading, asset: 'P-9' }, registry, false)).toMatchObject({ ok: true, value: { asset: undefined } });
    expect(enrich({ ...reading, kind: 'meter' }, registry, true)).toMatchObject({ ok: true, value: { asset: undefined } });
  });

  it('keys and finds assets right past the bound of remembered keys', () => {
    const registry = new AssetRegistry([pump]);
    for (let i = 0; i < 120_000; i++) expect(assetKey(`s${i % 7}`, `made-up-${i}`)).toBe(`s${i % 7}/made-up-${i}`);
    expect(assetKey('north', 'P-1')).toBe('north/P-1');
    expect(registry.get('north', 'P-1')).toBe(pump);
    expect(assetKey('s3', 'made-up-3')).toBe('s3/made-up-3');
  });
});
