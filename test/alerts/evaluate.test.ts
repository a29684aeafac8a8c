// Rule logic, pure: readings in, raise/clear out, time from the readings and an injected now.
import { describe, expect, it } from 'vitest';
import type { AssetConfig } from '../../src/config.js';
import { createEvalState, evaluate, evaluateTimers, observeCommand, type EvalContext } from '../../src/alerts/evaluate.js';
import { Rule, type RuleInput } from '../../src/alerts/rules.js';
import type { Kind, Reading } from '../../src/schema.js';

const T0 = Date.parse('2026-07-14T00:00:00Z');
const MIN = 60_000;

const ASSETS: AssetConfig[] = [
  { site: 'p', kind: 'pump', id: 'P1', region: 'east', station: 'S', ratedFlow_m3h: 400, role: 'duty' },
  { site: 'p', kind: 'pump', id: 'P2', region: 'east', station: 'S', ratedFlow_m3h: 400, role: 'duty' },
  { site: 'p', kind: 'pump', id: 'P3', region: 'east', station: 'S', ratedFlow_m3h: 400, role: 'standby' },
  { site: 'p', kind: 'reservoir', id: 'R1', region: 'east', capacity_m3: 10_000, area_m2: 2000, minLevel_m: 0.5, maxLevel_m: 5.5 },
];

function harness(inputs: RuleInput[], options: { heatwave?: boolean; baseline?: number } = {}) {
  const rules = inputs.map((r) => Rule.parse(r));
  const state = createEvalState(rules);
  const context: EvalContext = {
    asset: (site, asset) => ASSETS.find((a) => a.site === site && a.id === asset),
    stationPumps: (site, station) => ASSETS.filter((a) => a.kind === 'pump' && a.site === site && a.station === station),
    heatwaveActive: () => options.heatwave ?? false,
    baseline: () => options.baseline,
    localHour: (ts) => new Date(ts).getUTCHours(),
  };
  const feed = (asset: string, kind: Kind, atMs: number, values: Reading['values']) =>
    evaluate({ site: 'p', kind, asset, ts: T0 + atMs, values }, state, rules, context).map((e) => `${e.type} ${e.rule.id} ${e.asset} @${(e.ts - T0) / MIN}m`);
  const timers = (atMs: number) => evaluateTimers(T0 + atMs, state, rules, context, ASSETS).map((e) => `${e.type} ${e.rule.id} ${e.asset} @${(e.ts - T0) / MIN}m`);
  return { feed, timers, state };
}

describe('threshold', () => {
  const low: RuleInput = { id: 'low', kind: 'threshold', severity: 'high', field: 'level_pct', below: 25, deadband: 3, for: '2m', offDelay: '1m', heatwave: { below: 40 } };

  it('raises only after the on-delay, and a wobble at the threshold does not clear it (deadband)', () => {
    const { feed } = harness([low]);
    expect(feed('R1', 'reservoir', 0, { level_pct: 24 })).toEqual([]);
    expect(feed('R1', 'reservoir', 1 * MIN, { level_pct: 24.5 })).toEqual([]);
    expect(feed('R1', 'reservoir', 2 * MIN, { level_pct: 24 })).toEqual(['raise low R1 @2m']);
    expect(feed('R1', 'reservoir', 3 * MIN, { level_pct: 26 })).toEqual([]); // inside the deadband
    expect(feed('R1', 'reservoir', 4 * MIN, { level_pct: 24 })).toEqual([]);
    expect(feed('R1', 'reservoir', 5 * MIN, { level_pct: 29 })).toEqual([]); // off-delay starts
    expect(feed('R1', 'reservoir', 6 * MIN, { level_pct: 30 })).toEqual(['clear low R1 @6m']);
  });

  it('forgets a violation that ends before the on-delay', () => {
    const { feed } = harness([low]);
    feed('R1', 'reservoir', 0, { level_pct: 20 });
    feed('R1', 'reservoir', 1 * MIN, { level_pct: 30 });
    expect(feed('R1', 'reservoir', 2 * MIN, { level_pct: 20 })).toEqual([]);
    expect(feed('R1', 'reservoir', 3 * MIN, { level_pct: 20 })).toEqual([]);
    expect(feed('R1', 'reservoir', 4 * MIN, { level_pct: 20 })).toEqual(['raise low R1 @4m']);
  });

  it('raises from the timer when the on-delay runs out between readings', () => {
    const { feed, timers } = harness([low]);
    feed('R1', 'reservoir', 0, { level_pct: 20 });
    expect(timers(1 * MIN)).toEqual([]);
    expect(timers(2.5 * MIN)).toEqual(['raise low R1 @2m']);
  });

  it('switches to the heat-wave threshold while a heat wave holds', () => {
    expect(harness([low]).feed('R1', 'reservoir', 0, { level_pct: 35 })).toEqual([]);
    const hot = harness([low], { heatwave: true });
    hot.feed('R1', 'reservoir', 0, { level_pct: 35 });
    expect(hot.feed('R1', 'reservoir', 2 * MIN, { level_pct: 35 })).toEqual(['raise low R1 @2m']);
  });
});

describe('pump rules', () => {
  const trip: RuleInput = { id: 'trip', kind: 'pump_trip', severity: 'critical' };

  it('a pump that stops without a stop command tripped; a commanded stop is normal; running again clears', () => {
    const { feed, state } = harness([trip]);
    feed('P1', 'pump', 0, { running: true, flow_m3h: 400 });
    expect(feed('P1', 'pump', 1 * MIN, { running: false, flow_m3h: 0 })).toEqual(['raise trip P1 @1m']);
    expect(feed('P1', 'pump', 2 * MIN, { running: true, flow_m3h: 390 })).toEqual(['clear trip P1 @2m']);
    observeCommand(state, 'p', 'P1', 'stop', T0 + 3 * MIN);
    expect(feed('P1', 'pump', 3.5 * MIN, { running: false, flow_m3h: 0 })).toEqual([]);
  });

  it('a fault code is a trip until it returns to 0', () => {
    const { feed } = harness([trip]);
    expect(feed('P2', 'pump', 0, { running: true, fault_code: 12 })).toEqual(['raise trip P2 @0m']);
    expect(feed('P2', 'pump', 1 * MIN, { running: true, fault_code: 0 })).toEqual(['clear trip P2 @1m']);
  });

  it('counts starts per hour', () => {
    const { feed } = harness([{ id: 'cycling', kind: 'pump_cycling', severity: 'medium', maxStartsPerHour: 3 }]);
    const events: string[] = [];
    for (let i = 0; i < 5; i++) {
      events.push(...feed('P1', 'pump', i * 10 * MIN, { running: false }));
      events.push(...feed('P1', 'pump', (i * 10 + 5) * MIN, { running: true }));
    }
    expect(events).toEqual(['raise cycling P1 @35m']);
  });

  it('no standby left when every pump of the station runs, raised on the station', () => {
    const { feed } = harness([{ id: 'standby', kind: 'no_standby', severity: 'high' }]);
    feed('P1', 'pump', 0, { running: true });
    expect(feed('P2', 'pump', 0, { running: true })).toEqual([]);
    expect(feed('P3', 'pump', 1 * MIN, { running: true })).toEqual(['raise standby S @1m']);
    expect(feed('P3', 'pump', 2 * MIN, { running: false })).toEqual(['clear standby S @2m']);
  });

  it('running with no flow', () => {
    const { feed } = harness([{ id: 'noflow', kind: 'pump_no_flow', severity: 'high', minFlow_m3h: 5 }]);
    expect(feed('P1', 'pump', 0, { running: true, flow_m3h: 1 })).toEqual(['raise noflow P1 @0m']);
    expect(feed('P1', 'pump', 1 * MIN, { flow_m3h: 300 })).toEqual(['clear noflow P1 @1m']);
  });
});

describe('reservoir time to empty', () => {
  it('hours until the minimum level at the smoothed net outflow', () => {
    const { feed, state } = harness([{ id: 'tte', kind: 'time_to_empty', severity: 'high', belowHours: 4, smoothing: '1m' }]);
    // Usable (2.5 − 0.5) m × 2000 m² = 4000 m³; net outflow 500 m³/h → 8 h: fine.
    expect(feed('R1', 'reservoir', 0, { level_m: 2.5, inflow_m3h: 100, outflow_m3h: 600 })).toEqual([]);
    // Net outflow rises to 1500 m³/h: 4000/1500 ≈ 2.7 h once the smoothing has caught up.
    const events = [5, 10, 15].flatMap((m) => feed('R1', 'reservoir', m * MIN, { level_m: 2.5, inflow_m3h: 0, outflow_m3h: 1500 }));
    expect(events).toEqual(['raise tte R1 @5m']);
    expect(state.netOutflow.get('p/R1')!.net_m3h).toBeCloseTo(1500, 0);
    expect(feed('R1', 'reservoir', 20 * MIN, { level_m: 2.5, inflow_m3h: 2000, outflow_m3h: 1000 })).toEqual(['clear tte R1 @20m']);
  });
});

describe('window rules', () => {
  it('rate of change: a sudden pressure drop', () => {
    const { feed } = harness([{ id: 'drop', kind: 'rate_of_change', severity: 'high', field: 'pressure_bar', window: '5m', maxFall: 1 }]);
    for (let m = 0; m <= 5; m++) expect(feed('M1', 'meter', m * MIN, { pressure_bar: 4 })).toEqual([]);
    expect(feed('M1', 'meter', 6 * MIN, { pressure_bar: 2.5 })).toEqual(['raise drop M1 @6m']);
  });

  it('stuck sensor: the same value for the whole window', () => {
    const { feed } = harness([{ id: 'stuck', kind: 'stuck', severity: 'low', field: 'level_m', over: '30m' }]);
    const events = Array.from({ length: 40 }, (_, m) => feed('R1', 'reservoir', m * MIN, { level_m: 3.21 })).flat();
    expect(events).toEqual(['raise stuck R1 @27m']);
    expect(feed('R1', 'reservoir', 41 * MIN, { level_m: 3.25 })).toEqual(['clear stuck R1 @41m']);
  });

  it('canal blockage: level up while flow falls', () => {
    const { feed } = harness([{ id: 'weeds', kind: 'canal_blockage', severity: 'high', window: '30m', minLevelRise_m: 0.1, minFlowFallPct: 15 }]);
    const events: string[] = [];
    for (let m = 0; m <= 60; m += 5) {
      const blocked = Math.max(0, m - 20) / 40; // from minute 20 on
      events.push(...feed('C1', 'canal', m * MIN, { level_m: 2 + 0.3 * blocked, flow_m3h: 5000 * (1 - 0.3 * blocked) }));
    }
    expect(events).toEqual(['raise weeds C1 @40m']); // +0.15 m and −15 % against minute 10
  });

  it('demand over the same hour’s baseline, armed only in a heat wave', () => {
    const rule: RuleInput = { id: 'peak', kind: 'demand_over_baseline', severity: 'medium', factor: 1.3, heatwaveOnly: true };
    expect(harness([rule], { baseline: 100 }).feed('M1', 'meter', 0, { flow_m3h: 140 })).toEqual([]);
    const hot = harness([rule], { baseline: 100, heatwave: true });
    expect(hot.feed('M1', 'meter', 0, { flow_m3h: 140 })).toEqual(['raise peak M1 @0m']);
    expect(hot.feed('M1', 'meter', 1 * MIN, { flow_m3h: 120 })).toEqual(['clear peak M1 @1m']);
  });

  it('minimum night flow: only inside its local hours', () => {
    const { feed } = harness([{ id: 'night', kind: 'demand_over_baseline', severity: 'high', factor: 1.6, localHours: { from: 1, to: 5 } }], { baseline: 100 });
    expect(feed('M1', 'meter', 0, { flow_m3h: 200 })).toEqual([]); // 00:00: outside the hours
    expect(feed('M1', 'meter', 120 * MIN, { flow_m3h: 200 })).toEqual(['raise night M1 @120m']);
    expect(feed('M1', 'meter', 300 * MIN, { flow_m3h: 200 })).toEqual(['clear night M1 @300m']); // 05:00
  });

  it('stale: no reading for longer than allowed; registered assets that never spoke count from the start', () => {
    const { feed, timers } = harness([{ id: 'stale', kind: 'stale', severity: 'medium', scope: { kind: 'reservoir' }, after: '10m' }]);
    feed('R1', 'reservoir', 0, { level_m: 3 });
    expect(timers(5 * MIN)).toEqual([]);
    expect(timers(11 * MIN)).toEqual(['raise stale R1 @11m']);
    expect(feed('R1', 'reservoir', 12 * MIN, { level_m: 3 })).toEqual(['clear stale R1 @12m']);
  });
});
