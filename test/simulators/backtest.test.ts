// Scenarios through the real pipeline and the shipped rules (the back-test): the heat wave raises
// the reservoir, demand and standby alerts dispatch needs, a normal day raises nothing at all,
// and each single fault is found by the rule meant for it.
import { describe, expect, it } from 'vitest';
import { defaultRules } from '../../src/alerts/rules.js';
import { loadConfig } from '../../src/config.js';
import { backtest } from '../../simulators/backtest.js';
import { loadScenario } from '../../simulators/scenarios.js';

const assets = loadConfig({}, 'config/demo-network.yaml').assets;
const run = (scenario: string, days?: number) => backtest({ scenario: loadScenario(scenario), rules: defaultRules(), assets, seed: 7, days });

describe('back-test with the shipped rules', () => {
  it('a normal summer day raises no alert at all', async () => {
    const report = await run('normal-day');
    expect(report.alerts).toBe(0);
    expect(report.verdict).toEqual({ allDetected: true, noFalseAlerts: true, withinEemua: true });
  }, 120_000);

  it('a heat wave raises the heat-wave, reservoir, demand and no-standby alerts, and nothing false', async () => {
    const report = await run('heatwave', 3);
    expect(Object.keys(report.byRule)).toEqual(expect.arrayContaining(['heatwave', 'reservoir-low', 'time-to-empty', 'demand-peak', 'no-standby']));
    expect(report.faults.find((f) => f.fault === 'heatwave')).toMatchObject({ detected: true });
    expect(report.falseAlerts).toEqual([]);
    expect(report.alarmRate.floods).toBe(0);
  }, 180_000);

  it.each([
    ['pump-trip', 'pump-trip', 1],
    ['main-burst', 'pressure-drop', 5],
    ['canal-blockage', 'canal-blockage', 90],
  ])('%s is found by %s within %i minutes, with no false alert', async (scenario, rule, minutes) => {
    const report = await run(scenario);
    const fault = report.faults.find((f) => f.fault !== 'garbage')!;
    expect(fault).toMatchObject({ detected: true, firstAlert: { rule } });
    expect(fault.latencyMinutes!).toBeLessThanOrEqual(minutes);
    expect(report.falseAlerts).toEqual([]);
  }, 120_000);
});
