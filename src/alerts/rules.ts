// Alert rules as operators write them in the config YAML (validated), and the defaults shipped
// for the demo network. A rule may carry heat-wave settings that replace its normal ones.
import { z } from 'zod';
import { Duration, toMs } from './duration.js';

export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export const Severity = z.enum(SEVERITIES);
export type Severity = z.infer<typeof Severity>;

const RuleId = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'rule ids are 1–64 characters of A–Z a–z 0–9 _ . -');
const Glob = z.string().min(1).max(128);

const Scope = z
  .strictObject({ site: Glob.default('*'), kind: Glob.default('*'), asset: Glob.default('*') })
  .default({ site: '*', kind: '*', asset: '*' });

const common = {
  id: RuleId,
  severity: Severity,
  scope: Scope,
  /** On-delay: the condition must hold this long before the alert is raised. */
  for: Duration.default(0),
  /** Off-delay: the condition must be gone this long before the alert clears. */
  offDelay: Duration.default(0),
  /** Unacknowledged this long → the next on-call tier is paged. */
  escalateAfter: Duration.default(toMs('15m')),
  /** Armed only while a heat wave holds in the asset's region (the demand-peak rules). */
  heatwaveOnly: z.boolean().default(false),
  enabled: z.boolean().default(true),
  message: z.string().max(300).optional(),
};

// Each kind: its parameters, and the same parameters again (all optional) as heat-wave settings.
const thresholdParams = { field: z.string().min(1), above: z.number().optional(), below: z.number().optional(), deadband: z.number().nonnegative().default(0) };
const rateParams = { field: z.string().min(1), window: Duration.default(toMs('10m')), maxRise: z.number().positive().optional(), maxFall: z.number().positive().optional() };
const staleParams = { after: Duration };
const stuckParams = { field: z.string().min(1), over: Duration.default(toMs('30m')), tolerance: z.number().nonnegative().default(0) };
const tripParams = { commandWindow: Duration.default(toMs('2m')) };
const cyclingParams = { maxStartsPerHour: z.number().positive().default(6) };
const ttlParams = { belowHours: z.number().positive(), smoothing: Duration.default(toMs('15m')) };
const demandParams = {
  field: z.string().min(1).default('flow_m3h'),
  factor: z.number().positive().default(1.3),
  /** Only between these local hours (e.g. the minimum night flow, 1–5), `to` exclusive; unset = all day. */
  localHours: z.strictObject({ from: z.number().int().min(0).max(23), to: z.number().int().min(1).max(24) }).optional(),
};
const blockageParams = { window: Duration.default(toMs('30m')), minLevelRise_m: z.number().positive().default(0.1), minFlowFallPct: z.number().positive().default(15) };
const crossParams = { minFlow_m3h: z.number().nonnegative().default(5) };

const heatwave = <T extends z.ZodRawShape>(shape: T) => z.strictObject(shape).partial().optional();

export const Rule = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('threshold'), ...common, ...thresholdParams, heatwave: heatwave(thresholdParams) }),
  z.strictObject({ kind: z.literal('rate_of_change'), ...common, ...rateParams, heatwave: heatwave(rateParams) }),
  z.strictObject({ kind: z.literal('stale'), ...common, ...staleParams, heatwave: heatwave(staleParams) }),
  z.strictObject({ kind: z.literal('stuck'), ...common, ...stuckParams, heatwave: heatwave(stuckParams) }),
  z.strictObject({ kind: z.literal('pump_trip'), ...common, ...tripParams, heatwave: heatwave(tripParams) }),
  z.strictObject({ kind: z.literal('pump_cycling'), ...common, ...cyclingParams, heatwave: heatwave(cyclingParams) }),
  z.strictObject({ kind: z.literal('time_to_empty'), ...common, ...ttlParams, heatwave: heatwave(ttlParams) }),
  z.strictObject({ kind: z.literal('demand_over_baseline'), ...common, ...demandParams, heatwave: heatwave(demandParams) }),
  z.strictObject({ kind: z.literal('canal_blockage'), ...common, ...blockageParams, heatwave: heatwave(blockageParams) }),
  z.strictObject({ kind: z.literal('no_standby'), ...common, heatwave: heatwave({}) }),
  z.strictObject({ kind: z.literal('pump_no_flow'), ...common, ...crossParams, heatwave: heatwave(crossParams) }),
]).superRefine((rule, ctx) => {
  if (rule.kind === 'threshold' && rule.above === undefined && rule.below === undefined) {
    ctx.addIssue({ code: 'custom', message: 'a threshold rule needs above or below', path: ['above'] });
  }
  if (rule.kind === 'rate_of_change' && rule.maxRise === undefined && rule.maxFall === undefined) {
    ctx.addIssue({ code: 'custom', message: 'a rate_of_change rule needs maxRise or maxFall', path: ['maxRise'] });
  }
});
export type RuleInput = z.input<typeof Rule>;
export type Rule = z.infer<typeof Rule>;
export type RuleKind = Rule['kind'];

/** The rule with its heat-wave settings applied when a heat wave holds. */
export function effectiveRule<R extends Rule>(rule: R, heatwaveActive: boolean): R {
  if (!heatwaveActive || !rule.heatwave) return rule;
  // Made once per rule: during a heat wave this runs for every reading the rule covers.
  let merged = heatwaveRules.get(rule);
  if (merged === undefined) heatwaveRules.set(rule, (merged = { ...rule, ...rule.heatwave } as R));
  return merged as R;
}
const heatwaveRules = new WeakMap<Rule, Rule>();

/**
 * Defaults for a network like the demo's: each value is ordinary utility practice, tuned so that
 * a normal summer day raises nothing and a heat wave raises what dispatch needs to see.
 */
export const DEFAULT_RULES: RuleInput[] = [
  { id: 'reservoir-low', kind: 'threshold', severity: 'high', scope: { kind: 'reservoir' }, field: 'level_pct', below: 25, deadband: 3, for: '2m', heatwave: { below: 40 }, message: 'reservoir level low' },
  { id: 'reservoir-critical', kind: 'threshold', severity: 'critical', scope: { kind: 'reservoir' }, field: 'level_pct', below: 10, deadband: 2, for: '1m', message: 'reservoir nearly empty' },
  { id: 'reservoir-overflow', kind: 'threshold', severity: 'medium', scope: { kind: 'reservoir' }, field: 'level_pct', above: 99, deadband: 2, for: '2m', message: 'reservoir at overflow level' },
  { id: 'time-to-empty', kind: 'time_to_empty', severity: 'high', scope: { kind: 'reservoir' }, belowHours: 4, for: '10m', offDelay: '10m', heatwave: { belowHours: 8 }, message: 'reservoir will reach its minimum level soon' },
  { id: 'pump-trip', kind: 'pump_trip', severity: 'critical', scope: { kind: 'pump' }, escalateAfter: '10m', message: 'pump tripped' },
  { id: 'pump-cycling', kind: 'pump_cycling', severity: 'medium', scope: { kind: 'pump' }, maxStartsPerHour: 6, message: 'pump starting too often' },
  { id: 'pump-no-flow', kind: 'pump_no_flow', severity: 'high', scope: { kind: 'pump' }, minFlow_m3h: 5, for: '1m', message: 'pump running with no flow' },
  { id: 'motor-hot', kind: 'threshold', severity: 'high', scope: { kind: 'pump' }, field: 'motor_temp_c', above: 110, deadband: 5, for: '2m', message: 'motor temperature high' },
  { id: 'vibration-high', kind: 'threshold', severity: 'medium', scope: { kind: 'pump' }, field: 'vibration_mms', above: 7.1, deadband: 0.5, for: '5m', message: 'pump vibration above ISO 10816 zone C' },
  { id: 'no-standby', kind: 'no_standby', severity: 'high', scope: { kind: 'pump' }, for: '5m', offDelay: '5m', message: 'every pump at the station is running: no standby left' },
  { id: 'pressure-low', kind: 'threshold', severity: 'high', scope: { kind: 'meter' }, field: 'pressure_bar', below: 1.5, deadband: 0.2, for: '3m', message: 'district pressure low (burst?)' },
  { id: 'pressure-drop', kind: 'rate_of_change', severity: 'high', scope: { kind: 'meter' }, field: 'pressure_bar', window: '5m', maxFall: 0.5, message: 'sudden pressure drop (burst?)' },
  { id: 'night-flow', kind: 'demand_over_baseline', severity: 'high', scope: { kind: 'meter' }, factor: 1.6, localHours: { from: 1, to: 5 }, for: '30m', offDelay: '30m', message: 'minimum night flow over its baseline (burst or leak?)' },
  { id: 'demand-peak', kind: 'demand_over_baseline', severity: 'medium', scope: { kind: 'meter' }, factor: 1.3, for: '30m', offDelay: '30m', heatwaveOnly: true, message: 'demand over the same hour’s baseline' },
  { id: 'canal-blockage', kind: 'canal_blockage', severity: 'high', scope: { kind: 'canal' }, window: '1h', minLevelRise_m: 0.15, minFlowFallPct: 15, for: '5m', offDelay: '10m', message: 'canal level up while flow falls (weeds?)' },
  { id: 'sensor-stuck', kind: 'stuck', severity: 'low', scope: { kind: 'reservoir' }, field: 'level_m', over: '45m', tolerance: 0, message: 'level sensor reads the same value (stuck?)' },
  { id: 'stale-pump', kind: 'stale', severity: 'medium', scope: { kind: 'pump' }, after: '5m', message: 'no reading from the pump' },
  { id: 'stale-reservoir', kind: 'stale', severity: 'medium', scope: { kind: 'reservoir' }, after: '10m', message: 'no reading from the reservoir' },
  { id: 'stale-other', kind: 'stale', severity: 'low', scope: { kind: '{canal,meter}' }, after: '10m', message: 'no reading from the device' },
  { id: 'stale-weather', kind: 'stale', severity: 'low', scope: { kind: 'weather' }, after: '30m', message: 'no reading from the weather station' },
];

/** Glob match for scopes: `*` any run, `?` one character, `{a,b}` alternatives. */
export function globMatch(pattern: string, value: string): boolean {
  if (pattern === '*') return true;
  let regex = compiledGlobs.get(pattern);
  if (regex === undefined) compiledGlobs.set(pattern, (regex = compileGlob(pattern)));
  return regex !== null && regex.test(value);
}

// Scopes are matched for every rule on every reading; compiling each glob anew was most of ingest's
// CPU (bench/). Patterns come from the config, so the cache stays small.
const compiledGlobs = new Map<string, RegExp | null>();

/** null for a pattern that can never match (an unclosed `{`). */
function compileGlob(pattern: string): RegExp | null {
  let regex = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') regex += '.*';
    else if (c === '?') regex += '.';
    else if (c === '{') {
      const end = pattern.indexOf('}', i);
      if (end < 0) return null;
      regex += `(?:${pattern.slice(i + 1, end).split(',').map(escapeRegex).join('|')})`;
      i = end;
    } else regex += escapeRegex(c);
  }
  return new RegExp(`^${regex}$`);
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function inScope(rule: Rule, site: string, kind: string, asset: string): boolean {
  return globMatch(rule.scope.site, site) && globMatch(rule.scope.kind, kind) && globMatch(rule.scope.asset, asset);
}

/** The shipped defaults, validated like a config file's rules. */
export function defaultRules(): Rule[] {
  return DEFAULT_RULES.map((input) => Rule.parse(input));
}
