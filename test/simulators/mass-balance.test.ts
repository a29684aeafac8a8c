// Runs on both hydraulic engines (the mass balance and EPANET): what devices publish must balance
// whichever engine computed it.
import { beforeAll, describe, expect, it } from 'vitest';
import type { EpanetNetwork } from '../../simulators/epanet.js';
import { simulateOffline } from '../../simulators/run.js';
import { assetById, byAsset, DAY_MS, DAY_START_MS, demoAssets, HOUR_MS, HYDRAULICS, hydraulicsFor, latestAt, num, readings, type PublishedReading } from './helpers.js';

const assets = demoAssets();
const reservoirIds = ['CW-1', 'R-N', 'R-S'];

/**
 * Check volume change against ∫(inflow − outflow)dt from published readings, interval by interval
 * (trapezoid rule) and over the whole day. Reported flows are instantaneous, so an interval in
 * which a flow jumps (a pump starting) can be off by up to half the jump times the interval.
 */
function checkMassBalance(byAssetReadings: Map<string, PublishedReading[]>, levelTolerance_m: number) {
  for (const id of reservoirIds) {
    const { area_m2 } = assetById(assets, id, 'reservoir');
    const list = byAssetReadings.get(id)!;
    expect(list.length).toBeGreaterThan(2800);
    let integral_m3 = 0;
    let throughput_m3 = 0;
    for (let index = 1; index < list.length; index++) {
      const before = list[index - 1]!;
      const after = list[index]!;
      const interval_h = (after.ts - before.ts) / HOUR_MS;
      const netBefore_m3h = num(before, 'inflow_m3h') - num(before, 'outflow_m3h');
      const netAfter_m3h = num(after, 'inflow_m3h') - num(after, 'outflow_m3h');
      const stepIntegral_m3 = ((netBefore_m3h + netAfter_m3h) / 2) * interval_h;
      const volumeChange_m3 = (num(after, 'level_m') - num(before, 'level_m')) * area_m2;
      const tolerance_m3 = levelTolerance_m * area_m2 + 0.5 * Math.abs(netAfter_m3h - netBefore_m3h) * interval_h + 0.05;
      expect(Math.abs(volumeChange_m3 - stepIntegral_m3), `${id} at ${new Date(after.ts).toISOString()}`).toBeLessThan(tolerance_m3);
      integral_m3 += stepIntegral_m3;
      throughput_m3 += num(after, 'inflow_m3h') * interval_h;
    }
    const dayVolumeChange_m3 = (num(list.at(-1)!, 'level_m') - num(list[0]!, 'level_m')) * area_m2;
    // Over the day the errors of single intervals cancel: well under 0.5 % of what flowed through.
    expect(throughput_m3).toBeGreaterThan(5_000);
    expect(Math.abs(dayVolumeChange_m3 - integral_m3), id).toBeLessThan(0.005 * throughput_m3);
  }
}

describe.each(HYDRAULICS)('reservoir mass balance from published readings (%s)', (engine) => {
  let hydraulics: EpanetNetwork | undefined;
  beforeAll(async () => {
    hydraulics = await hydraulicsFor(engine);
  });
  const runDay = (measurementNoise: boolean) =>
    byAsset(readings(simulateOffline(assets, { seed: 11, startMs: DAY_START_MS, durationMs: DAY_MS, measurementNoise, hydraulics })));

  it('holds exactly (to instrument resolution) without measurement noise', () => {
    // Level resolution is 1 mm per reading: two readings, 1 mm of slack (plus flows to 0.1 m³/h).
    checkMassBalance(runDay(false), 0.0011);
  });

  it('holds within the level noise with measurement noise on', () => {
    // 1 mm level noise (σ) on each of two readings, plus resolution: 8 mm is over 5σ.
    checkMassBalance(runDay(true), 0.008);
  });

  it('is coherent across the network: pumps → CW-1, canal supply = gauge flow + withdrawal', () => {
    const grouped = runDay(false);
    const pumps = ['P-01', 'P-02', 'P-03'].map((id) => grouped.get(id)!);
    for (const reservoirReading of grouped.get('CW-1')!) {
      const pumped_m3h = pumps.reduce((sum, list) => sum + num(latestAt(list, reservoirReading.ts)!, 'flow_m3h'), 0);
      expect(Math.abs(pumped_m3h - num(reservoirReading, 'inflow_m3h'))).toBeLessThan(0.5);
    }
    const supplies_m3h = grouped.get('C-01')!.map((canalReading) => {
      const withdrawal_m3h = pumps.reduce((sum, list) => sum + num(latestAt(list, canalReading.ts)!, 'flow_m3h'), 0);
      return num(canalReading, 'flow_m3h') + withdrawal_m3h;
    });
    expect(Math.max(...supplies_m3h) - Math.min(...supplies_m3h)).toBeLessThan(2);
    // Each district: what the meter passes is what leaves the service reservoir (the meter's
    // latest reading is at most 15 s older; demand moves well under 1 % in that time).
    for (const [meter, reservoir] of [['M-N', 'R-N'], ['M-S', 'R-S']] as const) {
      const meterReadings = grouped.get(meter)!;
      for (const reservoirReading of grouped.get(reservoir)!.slice(1)) {
        const outflow_m3h = num(reservoirReading, 'outflow_m3h');
        const meterFlow_m3h = num(latestAt(meterReadings, reservoirReading.ts)!, 'flow_m3h');
        expect(Math.abs(meterFlow_m3h - outflow_m3h)).toBeLessThan(0.01 * outflow_m3h + 0.2);
      }
    }
  });
});
