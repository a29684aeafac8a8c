// The EPANET-driven hydraulics: the state the simulator reads from EPANET is consistent with
// itself (tank level change = net inflow·dt/area, step by step), the map is checked against the
// model and the registry, and the per-element fallbacks behave as the README says.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadEpanetNetwork, type EpanetNetwork } from '../../simulators/epanet.js';
import { HYDRAULIC_STEP_MS, levelOf, type NetworkState } from '../../simulators/network.js';
import { createSimulation } from '../../simulators/simulation.js';
import { DAY_START_MS, DEMO_INP_FILE, DEMO_MAP_FILE, demoAssets, demoHydraulics, HOUR_MS } from './helpers.js';

const assets = demoAssets();
const scratch = mkdtempSync(join(tmpdir(), 'hydrowatch-epanet-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const demoInp = readFileSync(DEMO_INP_FILE, 'utf8');
const demoMap = readFileSync(DEMO_MAP_FILE, 'utf8');

function variant(name: string, inp: string, map = demoMap): Promise<EpanetNetwork> {
  writeFileSync(join(scratch, `${name}.inp`), inp);
  writeFileSync(join(scratch, `${name}.yaml`), map.replace('network: demo.inp', `network: ${name}.inp`));
  return loadEpanetNetwork({ map: join(scratch, `${name}.yaml`) });
}

const reservoirsOf = (network: NetworkState) => [network.clearWater, ...network.districts.map((district) => district.reservoir)];

/** Step a simulation hour by hour, calling `check` after every 5 s step with the state before and after. */
function stepThrough(hydraulics: EpanetNetwork, hours: number, check: (before: Map<string, number>, network: NetworkState) => void) {
  const simulation = createSimulation(assets, { seed: 4, startMs: DAY_START_MS, hydraulics, measurementNoise: false });
  try {
    for (let stepIndex = 1; stepIndex <= (hours * HOUR_MS) / HYDRAULIC_STEP_MS; stepIndex++) {
      const before = new Map(reservoirsOf(simulation.network).map((reservoir) => [reservoir.asset.id, reservoir.volume_m3]));
      simulation.advanceTo(DAY_START_MS + stepIndex * HYDRAULIC_STEP_MS, () => {});
      check(before, simulation.network);
    }
  } finally {
    simulation.close();
  }
}

describe('EPANET hydraulics', () => {
  it('moves every tank by exactly its net inflow over each step (level change = net inflow·dt / area)', async () => {
    const hydraulics = await demoHydraulics();
    let steps = 0;
    let maxError_m3 = 0;
    let moved_m3 = 0;
    stepThrough(hydraulics, 24, (before, network) => {
      steps++;
      for (const reservoir of reservoirsOf(network)) {
        const change_m3 = reservoir.volume_m3 - before.get(reservoir.asset.id)!;
        const net_m3 = ((reservoir.inflow_m3h - reservoir.outflow_m3h) * HYDRAULIC_STEP_MS) / HOUR_MS;
        maxError_m3 = Math.max(maxError_m3, Math.abs(change_m3 - net_m3));
        moved_m3 += Math.abs(change_m3);
      }
      // And the flows meet where the network joins (to EPANET's accuracy): the pumps fill CW-1,
      // each meter empties its reservoir.
      const pumped_m3h = network.pumps.reduce((sum, pump) => sum + pump.flow_m3h, 0);
      if (Math.abs(pumped_m3h - network.clearWater.inflow_m3h) > 0.01) throw new Error(`pumps ${pumped_m3h} ≠ CW-1 inflow ${network.clearWater.inflow_m3h}`);
      for (const district of network.districts) {
        const meter = network.meterSolutions.get(`${district.meters[0]!.site}/meter/${district.meters[0]!.id}`)!;
        if (Math.abs(meter.flow_m3h - district.reservoir.outflow_m3h) > 0.01) throw new Error(`meter ${meter.flow_m3h} ≠ outflow ${district.reservoir.outflow_m3h}`);
        if (Math.abs(district.valveFlow_m3h - district.reservoir.inflow_m3h) > 0.01) throw new Error('valve flow ≠ inflow');
      }
    });
    expect(steps).toBe(17_280);
    expect(moved_m3).toBeGreaterThan(5_000);
    // EPANET's tank areas come from diameters rounded to the millimetre: 1e-5 of the volume moved.
    expect(maxError_m3).toBeLessThan(0.01);
  });

  it('gives the same answer whatever flow units the model is written in', async () => {
    const litresPerSecond = demoInp
      .replace(/Units\s+CMH/, 'Units              LPS')
      .replace(/DN\s+-12\s+513\.7/, `DN    -12      ${(513.7 / 3.6).toFixed(4)}`)
      .replace(/DS\s+-12\s+375\.2/, `DS    -12      ${(375.2 / 3.6).toFixed(4)}`)
      .replace(/PC-600\s+600\s+/, `PC-600  ${(600 / 3.6).toFixed(4)}   `)
      .replace(/PC-600\s+900\s+/, `PC-600  ${(900 / 3.6).toFixed(4)}   `);
    expect(litresPerSecond).toContain('Units              LPS');
    const levels = async (hydraulics: EpanetNetwork) => {
      const hourly: number[] = [];
      stepThrough(hydraulics, 6, (_before, network) => {
        if (network.simTimeMs % HOUR_MS === 0) hourly.push(...reservoirsOf(network).map(levelOf), ...network.pumps.map((pump) => pump.flow_m3h));
      });
      return hourly;
    };
    const inCmh = await levels(await demoHydraulics());
    const inLps = await levels(await variant('lps', litresPerSecond));
    expect(inLps.length).toBe(inCmh.length);
    inLps.forEach((value, index) => expect(value).toBeCloseTo(inCmh[index]!, 2));
  });

  it('falls back to the mass balance for a reservoir the model has as a fixed head, and says so', async () => {
    // CW1 as an EPANET reservoir: EPANET cannot tell its level; hydrowatch integrates it.
    const fixedHead = demoInp
      .replace(/\n CW1 +42 +2\.9 +0 +4\.5 +43\.702 +0/, '')
      .replace(' CANAL  1.8\n', ' CANAL  1.8\n CW1    44.5\n');
    const hydraulics = await variant('fixed-head', fixedHead);
    let maxError_m3 = 0;
    let lowest = Infinity;
    let highest = -Infinity;
    stepThrough(hydraulics, 12, (before, network) => {
      const cw = network.clearWater;
      const net_m3 = ((cw.inflow_m3h - cw.outflow_m3h) * HYDRAULIC_STEP_MS) / HOUR_MS;
      maxError_m3 = Math.max(maxError_m3, Math.abs(cw.volume_m3 - before.get('CW-1')! - net_m3));
      lowest = Math.min(lowest, levelOf(cw));
      highest = Math.max(highest, levelOf(cw));
    });
    expect(maxError_m3).toBeLessThan(1e-6);
    expect(highest - lowest).toBeGreaterThan(0.5);
    const simulation = createSimulation(assets, { seed: 4, startMs: DAY_START_MS, hydraulics });
    expect(simulation.network.solver!.fallbacks.join('\n')).toMatch(/reservoir CW-1: EPANET CW1 is a fixed-head reservoir: hydrowatch integrates its level/);
    expect(simulation.network.solver!.fallbacks.join('\n')).toMatch(/canal C-01: open channel/);
    simulation.close();
  });

  it('refuses a map that does not fit the model or the registry, naming what is wrong', async () => {
    const create = (hydraulics: EpanetNetwork) => createSimulation(assets, { seed: 1, startMs: DAY_START_MS, hydraulics }).close();
    await expect(variant('typo', demoInp, demoMap.replace('P-02: { pump: PU-02 }', 'P-02: { pump: PU-2 }')).then(create)).rejects.toThrow(/pump P-02: no link PU-2/);
    await expect(variant('wrong-type', demoInp, demoMap.replace('P-02: { pump: PU-02 }', 'P-02: { pump: RM }')).then(create)).rejects.toThrow(/pump P-02: RM is not a pump/);
    await expect(variant('missing', demoInp, demoMap.replace(/ {2}M-S: .*\n/, '')).then(create)).rejects.toThrow(/south\/M-S \(meter\) has no EPANET element/);
    await expect(variant('wrong-kind', demoInp, demoMap.replace('CW-1: { tank: CW1 }', 'CW-1: { pump: PU-03 }')).then(create)).rejects.toThrow(/CW-1 is a reservoir: map it with "tank:"/);
    await expect(variant('bad-yaml', demoInp, demoMap.replace('assets:', 'asets:'))).rejects.toThrow(/network map .*bad-yaml\.yaml: assets: /);
  });
});
