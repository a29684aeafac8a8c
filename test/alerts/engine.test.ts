// The ISA-18.2 lifecycle as the engine runs it: one alert per (rule, asset), acknowledgement,
// return to normal, shelving, replayed data that never pages, and state that survives a restart.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { AssetConfig } from '../../src/config.js';
import { AlertEngine } from '../../src/alerts/engine.js';
import { DEFAULT_HEATWAVE } from '../../src/alerts/heatwave.js';
import { Rule, type RuleInput } from '../../src/alerts/rules.js';
import type { AlertRecord, Notification } from '../../src/alerts/types.js';
import { silentLogger } from '../../src/log.js';

const T0 = Date.parse('2026-07-14T02:00:00Z');
const MIN = 60_000;
const ASSETS: AssetConfig[] = [
  { site: 'n', kind: 'reservoir', id: 'R-N', region: 'east', capacity_m3: 10_000, area_m2: 2000, minLevel_m: 0.5, maxLevel_m: 5.5 },
  { site: 'n', kind: 'weather', id: 'W', region: 'east' },
];
const RULES: RuleInput[] = [
  { id: 'low', kind: 'threshold', severity: 'high', scope: { kind: 'reservoir' }, field: 'level_pct', below: 25, deadband: 3, for: '2m', heatwave: { below: 40 } },
];

function engine(options: { statePath?: string; now?: { t: number } } = {}) {
  const now = options.now ?? { t: T0 };
  const lines: string[] = [];
  const notified: Array<`${Notification['kind']} ${string}`> = [];
  const e = new AlertEngine({
    rules: RULES.map((r) => Rule.parse(r)),
    assets: ASSETS,
    clock: { now: () => now.t },
    log: silentLogger,
    write: (l) => lines.push(...l),
    notify: (kind, alert: AlertRecord) => notified.push(`${kind} ${alert.id}`),
    statePath: options.statePath,
    heatwave: DEFAULT_HEATWAVE,
  });
  const level = (pct: number, at = now.t) => {
    now.t = Math.max(now.t, at);
    e.onReading({ site: 'n', kind: 'reservoir', asset: 'R-N', ts: at, values: { level_pct: pct } }, at);
  };
  const states = () => lines.filter((l) => l.startsWith('alert,')).map((l) => /state="(\w+)"/.exec(l)![1]);
  return { e, now, lines, notified, level, states };
}

describe('alert lifecycle', () => {
  it('active → acknowledged → cleared, each a point in `alert`, paged once', () => {
    const { e, level, notified, states } = engine();
    level(20, T0);
    level(20, T0 + 2 * MIN);
    level(20, T0 + 3 * MIN);
    const [alert] = e.list({ state: 'active' });
    expect(alert).toMatchObject({ rule: 'low', site: 'n', asset: 'R-N', state: 'active_unack', severity: 'high', threshold: 25, value: 20 });
    expect(e.acknowledge(alert!.id, 'dispatcher Li', 'crew on the way')).toMatchObject({ ok: true, alert: { state: 'active_ack' } });
    expect(e.acknowledge(alert!.id, 'someone else', undefined)).toMatchObject({ ok: false, error: 'ALERT.ALREADY_ACKNOWLEDGED' });
    level(50, T0 + 10 * MIN);
    expect(e.get(alert!.id)).toMatchObject({ state: 'cleared' });
    expect(e.list({ state: 'active' })).toEqual([]);
    expect(states()).toEqual(['active', 'acknowledged', 'cleared']);
    expect(notified).toEqual([`raised ${alert!.id}`, `acknowledged ${alert!.id}`, `cleared ${alert!.id}`]);
  });

  it('active → cleared-unacknowledged stays listed until someone acknowledges it; a recurrence is a new alert', () => {
    const { e, level } = engine();
    level(20, T0);
    level(20, T0 + 2 * MIN);
    level(60, T0 + 5 * MIN);
    const [first] = e.list({ state: 'active' });
    expect(first).toMatchObject({ state: 'cleared_unack' });
    level(20, T0 + 6 * MIN);
    level(20, T0 + 8 * MIN);
    const open = e.list({ state: 'active' });
    expect(open).toHaveLength(2);
    expect(open[0]!.id).not.toBe(first!.id);
    expect(e.acknowledge(first!.id, 'Li', undefined)).toMatchObject({ ok: true, alert: { state: 'cleared' } });
    expect(e.list({ state: 'active' }).map((a) => a.id)).toEqual([open[0]!.id]);
    expect(e.list({ state: 'all' })).toHaveLength(2);
  });

  it('shelving is bounded: no pages while shelved, lifted by hand or when the time is up', () => {
    const { e, level, now, notified, states } = engine();
    level(20, T0);
    level(20, T0 + 2 * MIN);
    const id = e.list({ state: 'active' })[0]!.id;
    expect(e.shelve(id, 'Li', 30, 'sensor being replaced')).toMatchObject({ ok: true });
    expect(e.shelve(id, 'Li', 30, 'again')).toMatchObject({ ok: false, error: 'ALERT.ALREADY_SHELVED' });
    now.t = T0 + 40 * MIN;
    e.tick();
    expect(e.get(id)!.shelved).toBeUndefined();
    expect(states()).toEqual(['active', 'shelved', 'unshelved']);
    expect(notified.filter((n) => n.startsWith('unshelved'))).toHaveLength(1);
    expect(e.unshelve(id, 'Li')).toMatchObject({ ok: false, error: 'ALERT.NOT_SHELVED' });
  });

  it('replayed or late data is evaluated and recorded in its own time, but never pages anyone', () => {
    const { e, level, now, notified, lines } = engine({ now: { t: T0 + 6 * 3_600_000 } });
    level(20, T0);
    level(20, T0 + 2 * MIN);
    expect(now.t).toBe(T0 + 6 * 3_600_000);
    const [alert] = e.list({ state: 'active' });
    expect(alert).toMatchObject({ replayed: true, raisedAt: T0 + 2 * MIN });
    expect(lines.find((l) => l.startsWith('alert,'))).toMatch(new RegExp(` ${T0 + 2 * MIN}$`));
    expect(notified).toEqual([]);
  });

  it('keeps active alerts and running on-delays across a restart', () => {
    const statePath = join(stateDir(), 'alerts-state.json');
    const now = { t: T0 };
    const first = engine({ statePath, now });
    first.level(20, T0);
    first.level(20, T0 + 2 * MIN); // raised
    first.e.onReading({ site: 'n', kind: 'reservoir', asset: 'R-N', ts: T0 + 3 * MIN, values: { level_pct: 20 } }, T0 + 3 * MIN);
    const id = first.e.list({ state: 'active' })[0]!.id;
    first.e.close();

    const second = engine({ statePath, now });
    expect(second.e.get(id)).toMatchObject({ state: 'active_unack', rule: 'low' });
    second.level(20, T0 + 4 * MIN);
    expect(second.e.list({ state: 'active' })).toHaveLength(1); // still one alert per (rule, asset)
    second.level(60, T0 + 5 * MIN);
    expect(second.e.get(id)).toMatchObject({ state: 'cleared_unack' });
    second.e.close();

    // An on-delay that was running when the service stopped still completes after the restart.
    const third = engine({ statePath, now });
    third.level(10, T0 + 6 * MIN);
    third.e.close();
    const fourth = engine({ statePath, now });
    now.t = T0 + 9 * MIN;
    fourth.e.tick();
    expect(fourth.e.list({ state: 'active' }).filter((a) => a.state === 'active_unack')).toHaveLength(1);
  });

  it('saves each alert as it is now, however often the state was saved before it changed', () => {
    const statePath = join(stateDir(), 'alerts-state.json');
    const now = { t: T0 };
    const first = engine({ statePath, now });
    first.level(20, T0);
    first.level(20, T0 + 2 * MIN); // raised
    const id = first.e.list({ state: 'active' })[0]!.id;
    first.e.exportState(); // a save while it was unacknowledged
    now.t = T0 + 3 * MIN;
    first.e.acknowledge(id, 'crew-north', 'on our way');
    first.e.close();

    const second = engine({ statePath, now });
    expect(second.e.get(id)).toMatchObject({ state: 'active_ack', acknowledged: { by: 'crew-north', note: 'on our way' } });
    // The alarm-load figures come from the saved history too.
    expect(second.e.kpis()).toMatchObject({ alerts: 1 });
    expect(JSON.parse(second.e.exportState())).toEqual(JSON.parse(readFileSync(statePath, 'utf8')));
  });

  it('a heat wave is announced as an alert event and switches the rules to their heat-wave settings', () => {
    const { e, now, level, lines } = engine();
    const weather = (day: number, temp: number) => {
      const ts = T0 + day * 86_400_000 + 5 * 3_600_000;
      now.t = ts;
      e.onReading({ site: 'n', kind: 'weather', asset: 'W', ts, values: { air_temp_c: temp } }, ts);
    };
    weather(0, 36);
    weather(1, 37.5);
    expect(e.heatwaveStates()[0]).toMatchObject({ region: 'east', active: false, hot_days: 2, level: 'orange' });
    level(35, now.t);
    level(35, now.t + 3 * MIN);
    expect(e.list({ state: 'active' }).filter((a) => a.rule === 'low')).toHaveLength(0);
    weather(2, 36.5);
    expect(e.heatwaveStates()[0]).toMatchObject({ active: true, hot_days: 3 });
    expect(e.list({ state: 'active' }).map((a) => a.rule)).toContain('heatwave');
    level(35, now.t + 1 * MIN);
    level(35, now.t + 3 * MIN);
    expect(e.list({ state: 'active' }).map((a) => a.rule)).toContain('low');
    expect(lines.some((l) => l.startsWith('heatwave,region=east active=T'))).toBe(true);
    // Dispatch ends it by hand.
    expect(e.setHeatwave('east', false, 'duty manager', 'cool front arrived')).toMatchObject({ active: false, source: 'manual' });
    expect(e.list({ state: 'active' }).find((a) => a.rule === 'heatwave')).toMatchObject({ state: 'cleared_unack' });
  });
});

/** A directory for one test's saved alert state, removed when the test ends. */
function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hw-alerts-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
