// AlertEngine.onChange: every lifecycle change reaches its listeners (replayed ones too, which are
// never paged), heat-wave changes too; a failing listener cannot break the lifecycle.
import { describe, expect, it } from 'vitest';
import { type AlertChange, AlertEngine } from '../../src/alerts/engine.js';
import { DEFAULT_HEATWAVE } from '../../src/alerts/heatwave.js';
import { Rule } from '../../src/alerts/rules.js';
import { silentLogger } from '../../src/log.js';

const T0 = Date.parse('2026-07-14T06:00:00Z');

function engine() {
  const now = { t: T0 };
  const notified: string[] = [];
  const e = new AlertEngine({
    rules: [Rule.parse({ id: 'pump-trip', kind: 'pump_trip', severity: 'critical', scope: { kind: 'pump' } })],
    assets: [{ site: 'plant1', kind: 'pump', id: 'P-01', region: 'north', station: 'S1', ratedFlow_m3h: 400, role: 'duty' }],
    clock: { now: () => now.t },
    log: silentLogger,
    write: () => undefined,
    notify: (kind, alert) => notified.push(`${kind} ${alert.id}`),
    heatwave: DEFAULT_HEATWAVE,
  });
  const trip = (at: number) => {
    e.onReading({ site: 'plant1', kind: 'pump', asset: 'P-01', ts: at - 1000, values: { running: true, fault_code: 0 } }, now.t);
    e.onReading({ site: 'plant1', kind: 'pump', asset: 'P-01', ts: at, values: { running: false, fault_code: 7 } }, now.t);
  };
  return { e, now, notified, trip };
}
const describeChange = (c: AlertChange) => (c.kind === 'heatwave' ? `heatwave ${c.region}` : `${c.kind} ${c.alert.id} ${c.alert.state}`);

describe('AlertEngine.onChange', () => {
  it('hears raise, acknowledge, shelve, unshelve and heat-wave changes, until unsubscribed', () => {
    const { e, trip } = engine();
    const heard: string[] = [];
    const off = e.onChange((c) => heard.push(describeChange(c)));
    trip(T0);
    e.acknowledge('A1', 'Li', undefined);
    e.shelve('A1', 'Li', 30, 'pump isolated');
    e.unshelve('A1', 'Li');
    e.setHeatwave('north', true, 'duty manager', 'forecast 38 °C');
    expect(heard).toEqual([
      'raised A1 active_unack',
      'acknowledged A1 active_ack',
      'shelved A1 active_ack',
      'unshelved A1 active_ack',
      'heatwave north',
      'raised A2 active_unack',
    ]);
    off();
    e.setHeatwave('north', null, 'duty manager', 'handing back');
    expect(heard).toHaveLength(6);
  });

  it('hears replayed alerts, which are never paged', () => {
    const { e, trip, notified } = engine();
    const heard: string[] = [];
    e.onChange((c) => heard.push(describeChange(c)));
    trip(T0 - 3_600_000);
    expect(heard).toEqual(['raised A1 active_unack']);
    expect(e.get('A1')?.replayed).toBe(true);
    expect(notified).toEqual([]);
  });

  it('a listener that throws does not stop the lifecycle or the other listeners', () => {
    const { e, trip, notified } = engine();
    const heard: string[] = [];
    e.onChange(() => {
      throw new Error('stream closed');
    });
    e.onChange((c) => heard.push(describeChange(c)));
    trip(T0);
    expect(e.acknowledge('A1', 'Li', undefined)).toMatchObject({ ok: true });
    expect(heard).toEqual(['raised A1 active_unack', 'acknowledged A1 active_ack']);
    expect(notified).toEqual(['raised A1', 'acknowledged A1']);
  });
});
