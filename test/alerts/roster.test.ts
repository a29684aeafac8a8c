import { describe, expect, it } from 'vitest';
import { highestTier, localTime, Roster, type RosterInput, routeAlert } from '../../src/alerts/roster.js';
import { makeAlert } from '../helpers/alert-fixtures.js';

/** An instant given as Asia/Shanghai wall-clock time (UTC+8, no DST). */
const shanghai = (local: string): number => Date.parse(`${local}+08:00`);

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri'] as const;

const rosterInput: RosterInput = {
  crews: [
    {
      name: 'pump-mechanics',
      tier: 0,
      covers: { sites: ['plant*'], ruleKinds: ['pump_trip', 'pump_cycling', 'pump_no_flow'] },
      contacts: { email: ['mechanics@water.example'] },
      shifts: [{ days: [...WEEKDAYS], from: '07:00', to: '19:00' }],
    },
    {
      name: 'pump-nights',
      tier: 0,
      covers: { sites: ['plant*'], ruleKinds: ['pump_trip', 'pump_cycling', 'pump_no_flow'] },
      shifts: [{ days: [...WEEKDAYS], from: '19:00', to: '07:00' }],
    },
    {
      name: 'electrical',
      tier: 0,
      covers: { sites: ['*'], rules: ['motor-*'] },
      shifts: [{ days: ['sat'], from: '08:00', to: '08:00' }],
    },
    { name: 'emergency-repair', tier: 1, contacts: { email: ['repair@water.example'], webhook: 'https://pager.water.example/hook' } },
    { name: 'duty-manager', tier: 2 },
  ],
};
const roster = Roster.parse(rosterInput);
const pumpTrip = makeAlert();
const route = (at: number, tier = 0, alert = pumpTrip) => routeAlert(alert, tier, roster, at)?.name;

describe('roster schema', () => {
  it('defaults the timezone to Asia/Shanghai, covers to everything, a crew without shifts to always on call', () => {
    expect(roster.timezone).toBe('Asia/Shanghai');
    const standby = roster.crews.find((crew) => crew.name === 'duty-manager')!;
    expect(standby.covers).toEqual({ sites: ['*'] });
    expect(standby.contacts).toEqual({ email: [] });
    expect(standby.shifts).toBeUndefined();
  });

  it.each([
    [{ timezone: 'Mars/Olympus' }, 'timezone'],
    [{ crews: [{ name: 'x', shifts: [{ days: ['mon'], from: '25:00', to: '07:00' }] }] }, 'crews.0.shifts.0.from'],
    [{ crews: [{ name: 'x', shifts: [{ days: ['mon'], from: '24:00', to: '07:00' }] }] }, 'crews.0.shifts.0.from'],
    [{ crews: [{ name: 'x', shifts: [{ days: ['monday'], from: '07:00', to: '19:00' }] }] }, 'crews.0.shifts.0.days.0'],
    [{ crews: [{ name: 'x', covers: { ruleKinds: ['pump_exploded'] } }] }, 'crews.0.covers.ruleKinds.0'],
    [{ crews: [{ name: 'x', contacts: { email: ['not-an-address'] } }] }, 'crews.0.contacts.email.0'],
    [{ crews: [{ name: 'x', tier: -1 }] }, 'crews.0.tier'],
    [{ crews: [{ name: 'x', oncall: true }] }, 'crews.0'],
  ])('refuses %j at %s', (input, path) => {
    const result = Roster.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path.join('.')).toBe(path);
  });
});

describe('routeAlert: shifts', () => {
  it('pages the day crew during its shift; the start is inclusive, the end exclusive', () => {
    expect(route(shanghai('2026-07-14T14:00:00'))).toBe('pump-mechanics'); // Tuesday afternoon
    expect(route(shanghai('2026-07-14T07:00:00'))).toBe('pump-mechanics');
    expect(route(shanghai('2026-07-14T18:59:59'))).toBe('pump-mechanics');
    expect(route(shanghai('2026-07-14T19:00:00'))).toBe('pump-nights');
    expect(route(shanghai('2026-07-14T06:59:00'))).toBe('pump-nights'); // Monday's night shift, Tuesday morning
  });

  it('a shift that crosses midnight belongs to the day it starts on', () => {
    // Friday 19:00 → Saturday 07:00 is Friday's night shift.
    expect(route(shanghai('2026-07-17T23:30:00'))).toBe('pump-nights');
    expect(route(shanghai('2026-07-18T03:00:00'))).toBe('pump-nights');
    // Saturday 07:00: no first-call pump crew on weekends, so the standby tier takes it.
    expect(route(shanghai('2026-07-18T07:00:00'))).toBe('emergency-repair');
    // Sunday night → Monday morning: nobody starts a night shift on Sunday.
    expect(route(shanghai('2026-07-20T03:00:00'))).toBe('emergency-repair');
  });

  it('weekdays are Asia/Shanghai days, not UTC days', () => {
    // Sunday 23:30 UTC is Monday 07:30 in Shanghai: Monday's day shift.
    const sundayUtc = Date.parse('2026-07-19T23:30:00Z');
    expect(localTime(sundayUtc, 'Asia/Shanghai')).toEqual({ day: 'mon', minute: 7 * 60 + 30 });
    expect(route(sundayUtc)).toBe('pump-mechanics');
    // Friday 19:00 UTC is Saturday 03:00 in Shanghai: still Friday's night shift.
    expect(route(Date.parse('2026-07-17T19:00:00Z'))).toBe('pump-nights');
    // Friday 23:30 UTC is Saturday 07:30 in Shanghai: the weekend, standby.
    expect(route(Date.parse('2026-07-17T23:30:00Z'))).toBe('emergency-repair');
  });

  it('the same roster in another timezone reads the shifts there', () => {
    const utcRoster = Roster.parse({ ...rosterInput, timezone: 'UTC' });
    const at = Date.parse('2026-07-14T06:00:00Z'); // Tuesday 06:00 UTC, 14:00 Shanghai
    expect(routeAlert(pumpTrip, 0, utcRoster, at)?.name).toBe('pump-nights');
    expect(routeAlert(pumpTrip, 0, roster, at)?.name).toBe('pump-mechanics');
  });

  it('from equal to to is a 24-hour duty starting at from', () => {
    const motorHot = makeAlert({ rule: 'motor-hot', ruleKind: 'threshold' });
    expect(route(shanghai('2026-07-18T08:00:00'), 0, motorHot)).toBe('electrical'); // Saturday 08:00
    expect(route(shanghai('2026-07-19T07:59:00'), 0, motorHot)).toBe('electrical'); // Sunday 07:59
    expect(route(shanghai('2026-07-19T08:00:00'), 0, motorHot)).toBe('emergency-repair');
    expect(route(shanghai('2026-07-18T07:59:00'), 0, motorHot)).toBe('emergency-repair');
  });
});

describe('routeAlert: coverage and tiers', () => {
  const tuesday = shanghai('2026-07-14T14:00:00');

  it('matches site globs and rule kinds', () => {
    expect(route(tuesday, 0, makeAlert({ site: 'plant2' }))).toBe('pump-mechanics');
    // Another site: the pump crews do not cover it.
    expect(route(tuesday, 0, makeAlert({ site: 'reservoirs-east' }))).toBe('emergency-repair');
    // A threshold rule at the plant: not a pump crew's rule kind.
    expect(route(tuesday, 0, makeAlert({ rule: 'reservoir-low', ruleKind: 'threshold' }))).toBe('emergency-repair');
  });

  it('matches rule id globs; with both lists, either one is enough', () => {
    const both = Roster.parse({
      crews: [{ name: 'electrical', covers: { ruleKinds: ['no_standby'], rules: ['motor-hot', 'vibration-*'] } }],
    });
    const at = tuesday;
    expect(routeAlert(makeAlert({ rule: 'motor-hot', ruleKind: 'threshold' }), 0, both, at)?.name).toBe('electrical');
    expect(routeAlert(makeAlert({ rule: 'vibration-high', ruleKind: 'threshold' }), 0, both, at)?.name).toBe('electrical');
    expect(routeAlert(makeAlert({ rule: 'no-standby', ruleKind: 'no_standby' }), 0, both, at)?.name).toBe('electrical');
    expect(routeAlert(makeAlert({ rule: 'pump-trip', ruleKind: 'pump_trip' }), 0, both, at)).toBeUndefined();
  });

  it('pages the requested tier, or the lowest tier above it that has someone on shift', () => {
    expect(route(tuesday, 0)).toBe('pump-mechanics');
    expect(route(tuesday, 1)).toBe('emergency-repair');
    expect(route(tuesday, 2)).toBe('duty-manager');
    expect(route(tuesday, 3)).toBeUndefined();
    expect(highestTier(roster)).toBe(2);
  });

  it('crews of one tier are tried in roster order', () => {
    const twoStandbys = Roster.parse({ crews: [{ name: 'first', tier: 1 }, { name: 'second', tier: 1 }, { name: 'zero-but-elsewhere', tier: 0, covers: { sites: ['x'] } }] });
    expect(routeAlert(pumpTrip, 0, twoStandbys, tuesday)?.name).toBe('first');
  });

  it('no crew: an empty roster, or nobody covering the alert', () => {
    expect(routeAlert(pumpTrip, 0, Roster.parse({}), tuesday)).toBeUndefined();
    expect(highestTier(Roster.parse({}))).toBe(0);
    const elsewhere = Roster.parse({ crews: [{ name: 'east', covers: { sites: ['east-*'] } }] });
    expect(routeAlert(pumpTrip, 0, elsewhere, tuesday)).toBeUndefined();
  });
});
