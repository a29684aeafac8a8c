import { describe, expect, it } from 'vitest';
import { dueEscalations } from '../../src/alerts/notify/escalation.js';
import type { AlertRecord } from '../../src/alerts/types.js';
import { makeAlert, T0 } from '../helpers/alert-fixtures.js';

const MIN = 60_000;
const rules = new Map([
  ['pump-trip', { escalateAfter: 10 * MIN }],
  ['no-escalation', { escalateAfter: 0 }],
]);
const MAX_TIER = 2;

/** A tiny engine stand-in: applies what dueEscalations returns, as the engine does. */
function tick(alerts: AlertRecord[], now: number, rulesById: Parameters<typeof dueEscalations>[1] = rules): number[] {
  const due = dueEscalations(alerts, rulesById, now, MAX_TIER);
  for (const { alert, tier } of due) alert.tier = tier;
  return due.map((d) => d.tier);
}

describe('dueEscalations', () => {
  it('escalates once the rule’s escalation time has passed, not before', () => {
    const alert = makeAlert();
    expect(tick([alert], T0 + 10 * MIN - 1)).toEqual([]);
    expect(tick([alert], T0 + 10 * MIN)).toEqual([1]);
    expect(alert.tier).toBe(1);
  });

  it('one tier at a time, each after another escalation time, up to the roster’s highest tier', () => {
    const alert = makeAlert();
    const clock = { now: T0 };
    const seen: Array<[number, number[]]> = [];
    for (let minute = 0; minute <= 60; minute++) {
      clock.now = T0 + minute * MIN;
      const tiers = tick([alert], clock.now);
      if (tiers.length > 0) seen.push([minute, tiers]);
    }
    expect(seen).toEqual([
      [10, [1]],
      [20, [2]],
    ]);
  });

  it('after a long pause (engine restart) it still goes up only one tier per call', () => {
    const alert = makeAlert();
    expect(tick([alert], T0 + 5 * 60 * MIN)).toEqual([1]);
    expect(tick([alert], T0 + 5 * 60 * MIN)).toEqual([2]);
    expect(tick([alert], T0 + 5 * 60 * MIN)).toEqual([]);
  });

  it('stops when acknowledged, cleared or shelved', () => {
    const later = T0 + 30 * MIN;
    const acknowledged = makeAlert({ state: 'active_ack', acknowledged: { by: 'li.wei', note: undefined, at: T0 + MIN } });
    const cleared = makeAlert({ state: 'cleared_unack', clearedAt: T0 + MIN });
    const closed = makeAlert({ state: 'cleared', clearedAt: T0 + MIN });
    const shelved = makeAlert({ shelved: { by: 'li.wei', reason: 'pump under repair', at: T0 + MIN, until: T0 + 120 * MIN } });
    expect(dueEscalations([acknowledged, cleared, closed, shelved], rules, later, MAX_TIER)).toEqual([]);

    // Acknowledging part-way through stops a running escalation.
    const alert = makeAlert();
    expect(tick([alert], T0 + 10 * MIN)).toEqual([1]);
    alert.state = 'active_ack';
    expect(tick([alert], T0 + 25 * MIN)).toEqual([]);
  });

  it('a shelf that has run out no longer holds escalation back', () => {
    const alert = makeAlert({ shelved: { by: 'li.wei', reason: 'test', at: T0, until: T0 + 15 * MIN } });
    expect(tick([alert], T0 + 14 * MIN)).toEqual([]);
    expect(tick([alert], T0 + 15 * MIN)).toEqual([1]);
  });

  it('never for replayed alerts', () => {
    const replayed = makeAlert({ replayed: true });
    expect(tick([replayed], T0 + 60 * MIN)).toEqual([]);
  });

  it('never for a rule with escalateAfter 0 or a rule no longer configured; rules may be a plain object', () => {
    const off = makeAlert({ rule: 'no-escalation' });
    const gone = makeAlert({ rule: 'deleted-rule' });
    expect(tick([off, gone], T0 + 60 * MIN)).toEqual([]);
    const asRecord = makeAlert();
    expect(tick([asRecord], T0 + 10 * MIN, { 'pump-trip': { escalateAfter: 10 * MIN } })).toEqual([1]);
    expect(tick([makeAlert({ rule: 'constructor' })], T0 + 60 * MIN, {})).toEqual([]);
  });

  it('with a single-tier roster nothing escalates', () => {
    expect(dueEscalations([makeAlert()], rules, T0 + 60 * MIN, 0)).toEqual([]);
  });
});
