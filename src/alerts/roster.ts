// The on-call roster (config `alerts.roster`): crews, what each covers, their weekly shifts, and the
// pure routing that picks the crew an alert is paged to at a given tier and instant.
import { z } from 'zod';
import type { AlertRecord } from './types.js';
import { globMatch, Rule, type RuleKind } from './rules.js';

export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Day = (typeof DAYS)[number];

export const RULE_KINDS = Rule.options.map((option) => option.shape.kind.value) as RuleKind[];

const ClockTime = z.string().regex(/^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'a local time like 07:00 (00:00–24:00)');
const Glob = z.string().min(1).max(128);

/**
 * A weekly window in the roster's timezone. `days` are the days the shift starts on; a window whose
 * `to` is not after `from` runs past midnight into the next day (`19:00`–`07:00`), and `from` equal
 * to `to` is a 24-hour duty starting at `from` (`08:00`–`08:00`, the usual 24-hour standby).
 */
export const Shift = z.strictObject({
  days: z.array(z.enum(DAYS)).min(1),
  from: ClockTime.refine((time) => time !== '24:00', 'a shift starts by 23:59'),
  to: ClockTime,
});
export type Shift = z.infer<typeof Shift>;

export const Crew = z.strictObject({
  name: z.string().min(1).max(64),
  /** 0 = first call, 1 = first escalation, … */
  tier: z.number().int().min(0).max(9).default(0),
  covers: z
    .strictObject({
      /** Site globs (`*`, `?`, `{a,b}` as in rule scopes). */
      sites: z.array(Glob).min(1).default(['*']),
      /** Rule kinds this crew handles; with `rules` too, matching either is enough. Neither = every rule. */
      ruleKinds: z.array(z.enum(RULE_KINDS as [RuleKind, ...RuleKind[]])).min(1).optional(),
      /** Rule id globs. */
      rules: z.array(Glob).min(1).optional(),
    })
    .default({ sites: ['*'] }),
  contacts: z
    .strictObject({
      email: z.array(z.email()).default([]),
      /** The crew's own endpoint (e.g. its paging app), signed like the main webhook. */
      webhook: z.url({ protocol: /^https?$/ }).optional(),
    })
    .default({ email: [] }),
  /** Omitted = always on call (a 24-hour standby crew). */
  shifts: z.array(Shift).min(1).optional(),
});
export type CrewInput = z.input<typeof Crew>;
export type Crew = z.infer<typeof Crew>;

const TimeZone = z.string().refine((zone) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}, 'an IANA timezone like Asia/Shanghai');

export const Roster = z.strictObject({
  /** Shift times are local times here. */
  timezone: TimeZone.default('Asia/Shanghai'),
  crews: z.array(Crew).default([]),
});
export type RosterInput = z.input<typeof Roster>;
export type Roster = z.infer<typeof Roster>;

/** Routes on a few alert fields only, so callers can route before a full record exists. */
export type RoutableAlert = Pick<AlertRecord, 'site' | 'rule' | 'ruleKind'>;

/**
 * The crew paged for `alert` at `tier` at instant `at`: among crews that cover the alert's site and
 * rule and are on shift, the one of the lowest tier ≥ `tier` (roster order breaks ties). Falling
 * through to a higher tier means an alert raised while no first-call crew is on shift (nights,
 * weekends) goes straight to the standby instead of nowhere. Undefined when nobody matches.
 */
export function routeAlert(alert: RoutableAlert, tier: number, roster: Roster, at: number): Crew | undefined {
  let best: Crew | undefined;
  for (const crew of roster.crews) {
    if (crew.tier < tier || (best !== undefined && crew.tier >= best.tier)) continue;
    if (covers(crew, alert) && onShift(crew, roster.timezone, at)) best = crew;
  }
  return best;
}

/** The highest tier in the roster: escalation stops there. */
export function highestTier(roster: Roster): number {
  return roster.crews.reduce((max, crew) => Math.max(max, crew.tier), 0);
}

export function covers(crew: Crew, alert: RoutableAlert): boolean {
  if (!crew.covers.sites.some((pattern) => globMatch(pattern, alert.site))) return false;
  const { ruleKinds, rules } = crew.covers;
  if (ruleKinds === undefined && rules === undefined) return true;
  return (ruleKinds?.includes(alert.ruleKind as RuleKind) ?? false) || (rules?.some((pattern) => globMatch(pattern, alert.rule)) ?? false);
}

export function onShift(crew: Crew, timezone: string, at: number): boolean {
  if (crew.shifts === undefined) return true;
  const { day, minute } = localTime(at, timezone);
  const yesterday = DAYS[(DAYS.indexOf(day) + 6) % 7]!;
  return crew.shifts.some((shift) => {
    const from = minutesOf(shift.from);
    const to = minutesOf(shift.to);
    if (from < to) return shift.days.includes(day) && minute >= from && minute < to;
    // Past midnight (or 24 h): the evening part belongs to today's shift, the morning part to yesterday's.
    return (shift.days.includes(day) && minute >= from) || (shift.days.includes(yesterday) && minute < to);
  });
}

const minutesOf = (time: string): number => Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAY: Record<string, Day> = { Mon: 'mon', Tue: 'tue', Wed: 'wed', Thu: 'thu', Fri: 'fri', Sat: 'sat', Sun: 'sun' };

/** Local weekday and minute of the day of `at` in `timezone`. */
export function localTime(at: number, timezone: string): { day: Day; minute: number } {
  let format = formatters.get(timezone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: timezone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timezone, format);
  }
  let day: Day = 'mon';
  let hour = 0;
  let minute = 0;
  for (const part of format.formatToParts(at)) {
    if (part.type === 'weekday') day = WEEKDAY[part.value] ?? day;
    else if (part.type === 'hour') hour = Number(part.value) % 24;
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return { day, minute: hour * 60 + minute };
}
