// Rule evaluation: pure code, no I/O, time only from the reading or the injected `now`.
// `evaluate(reading, state, rules, context)` turns one reading into condition events (raise/clear);
// `evaluateTimers(now, state, rules, context)` does what time alone decides (stale sensors, on- and
// off-delays that run out between readings). The state object belongs to the caller (the engine)
// and is updated in place: copying the history on every reading would cost more than the rules.
import type { AssetConfig } from '../config.js';
import { assetKey } from '../pipeline/enrich.js';
import type { Reading } from '../schema.js';
import { effectiveRule, inScope, type Rule } from './rules.js';

type Values = Reading['values'];

export interface Sample {
  ts: number;
  values: Values;
}

interface PumpState {
  running: boolean | undefined;
  /** Start times (false → true), for starts per hour. */
  starts: number[];
  lastStopCommandAt: number | undefined;
  /** Set when `running` went true → false without a stop command. */
  trippedAt: number | undefined;
}

interface ConditionState {
  kind: string;
  active: boolean;
  /** Violating since (while not active: the on-delay runs). */
  pendingSince: number | undefined;
  /** Not violating since (while active: the off-delay runs). */
  clearingSince: number | undefined;
  lastViolating: boolean;
  value: number | undefined;
  threshold: number | undefined;
  detail: string | undefined;
}

interface SeenAsset {
  site: string;
  kind: string;
  asset: string;
  receivedAt: number;
}

export interface EvalState {
  /** From the rules: net-outflow smoothing for time-to-empty, and how long a stop command makes a stop normal. */
  settings: { smoothingMs: number; commandWindowMs: number };
  history: Map<string, Sample[]>;
  latest: Map<string, Values>;
  pumps: Map<string, PumpState>;
  netOutflow: Map<string, { net_m3h: number; ts: number }>;
  conditions: Map<string, ConditionState>;
  seen: Map<string, SeenAsset>;
}

export function createEvalState(rules: readonly Rule[] = []): EvalState {
  const smoothing = rules.flatMap((r) => (r.kind === 'time_to_empty' ? [r.smoothing] : []));
  const commandWindow = rules.flatMap((r) => (r.kind === 'pump_trip' ? [r.commandWindow] : []));
  return {
    settings: { smoothingMs: Math.max(60_000, ...smoothing), commandWindowMs: Math.max(0, ...commandWindow, 120_000) },
    history: new Map(),
    latest: new Map(),
    pumps: new Map(),
    netOutflow: new Map(),
    conditions: new Map(),
    seen: new Map(),
  };
}

export interface EvalContext {
  asset(site: string, asset: string): AssetConfig | undefined;
  /** Registered pumps of a station. */
  stationPumps(site: string, station: string): AssetConfig[];
  heatwaveActive(region: string): boolean;
  /** The same hour's baseline of a field, or undefined when not known yet. */
  baseline(site: string, asset: string, field: string, ts: number): number | undefined;
  /** Local hour of the day (0–23) in the configured timezone. */
  localHour(ts: number): number;
}

export interface ConditionEvent {
  type: 'raise' | 'clear';
  rule: Rule;
  site: string;
  asset: string;
  kind: string;
  value: number | undefined;
  threshold: number | undefined;
  detail: string | undefined;
  ts: number;
}

interface Observation {
  violating: boolean;
  value?: number | undefined;
  threshold?: number | undefined;
  detail?: string | undefined;
  /** The alert's asset when it is not the reading's (no_standby: the station). */
  asset?: string;
}

/** History kept per asset: enough for the longest window a rule can ask for. */
const HISTORY_MS = 3 * 3_600_000;
const HISTORY_MAX_SAMPLES = 4000;

const key = assetKey;

/** The rules that read an asset's history; for other assets none is kept (at 1 reading/s it is ~4000 samples each). */
const HISTORY_RULES: ReadonlySet<Rule['kind']> = new Set(['rate_of_change', 'stuck', 'canal_blockage']);

// Scopes are globs over site, kind and asset: match them once per asset and rule list, not on every
// reading; the rules' condition keys for the asset are built then too (a reading used to build them
// twice per rule, and the strings were most of what the rules cost).
interface Scoped {
  kind: string;
  rules: Rule[];
  /** conditionKey(rules[i].id, site, asset), for each rule in `rules`. */
  keys: string[];
  needsHistory: boolean;
}
const scopeCache = new WeakMap<readonly Rule[], Map<string, Scoped>>();

function rulesInScope(rules: readonly Rule[], assetKey: string, site: string, kind: string, asset: string): Scoped {
  let byAsset = scopeCache.get(rules);
  if (!byAsset) scopeCache.set(rules, (byAsset = new Map()));
  let scoped = byAsset.get(assetKey);
  if (scoped?.kind !== kind) {
    const matching = rules.filter((rule) => inScope(rule, site, kind, asset));
    const keys = matching.map((rule) => conditionKey(rule.id, site, asset));
    byAsset.set(assetKey, (scoped = { kind, rules: matching, keys, needsHistory: matching.some((rule) => HISTORY_RULES.has(rule.kind)) }));
  }
  return scoped;
}
const conditionKey = (rule: string, site: string, asset: string) => `${rule}|${site}|${asset}`;

/** What nearly every reading raises and clears: one shared empty list, not a new one each time. */
const NO_EVENTS: readonly ConditionEvent[] = Object.freeze([]);

export function evaluate(reading: Reading, state: EvalState, rules: readonly Rule[], context: EvalContext, receivedAt = reading.ts): readonly ConditionEvent[] {
  const assetKey = key(reading.site, reading.asset);
  const scoped = rulesInScope(rules, assetKey, reading.site, reading.kind, reading.asset);
  const latest = observeReading(reading, assetKey, state, receivedAt, scoped.needsHistory);
  const registered = context.asset(reading.site, reading.asset);
  const region = registered?.region ?? 'default';
  const heatwave = context.heatwaveActive(region);
  let events: ConditionEvent[] | undefined;
  for (let i = 0; i < scoped.rules.length; i++) {
    const baseRule = scoped.rules[i]!;
    if (!baseRule.enabled) continue;
    const rule = effectiveRule(baseRule, heatwave);
    const ck = scoped.keys[i]!;
    const observation = rule.heatwaveOnly && !heatwave ? NOT_VIOLATING : observe(rule, reading, assetKey, ck, latest, registered, state, context);
    // QUIET means no condition is open and none starts: track() would find nothing to do.
    if (observation === undefined || observation === QUIET) continue;
    const asset = observation.asset ?? reading.asset;
    const event = track(state, asset === reading.asset ? ck : conditionKey(rule.id, reading.site, asset), rule, reading.site, asset, reading.kind, observation, reading.ts);
    if (event) (events ??= []).push(event);
  }
  return events ?? NO_EVENTS;
}

/** Time-driven rules: stale sensors, and on/off-delays that ran out with no new reading. */
export function evaluateTimers(now: number, state: EvalState, rules: readonly Rule[], context: EvalContext, registered: readonly AssetConfig[]): ConditionEvent[] {
  const events: ConditionEvent[] = [];
  // Registered assets that never reported are stale too, counted from when we started watching.
  for (const asset of registered) {
    const k = key(asset.site, asset.id);
    if (!state.seen.has(k)) state.seen.set(k, { site: asset.site, kind: asset.kind, asset: asset.id, receivedAt: now });
  }
  for (const baseRule of rules) {
    if (!baseRule.enabled || baseRule.kind !== 'stale') continue;
    for (const seen of state.seen.values()) {
      if (!inScope(baseRule, seen.site, seen.kind, seen.asset)) continue;
      const region = context.asset(seen.site, seen.asset)?.region ?? 'default';
      const rule = effectiveRule(baseRule, context.heatwaveActive(region));
      if (rule.kind !== 'stale') continue;
      const silentMs = now - seen.receivedAt;
      const observation = { violating: silentMs > rule.after, value: Math.round(silentMs / 1000), threshold: Math.round(rule.after / 1000), detail: `no reading for ${Math.round(silentMs / 60_000)} min` };
      const event = track(state, conditionKey(rule.id, seen.site, seen.asset), rule, seen.site, seen.asset, seen.kind, observation, now);
      if (event) events.push(event);
    }
  }
  // Delays that expire between readings: the last observation still holds.
  const byId = new Map(rules.map((rule) => [rule.id, rule]));
  for (const [ck, condition] of state.conditions) {
    const [ruleId = '', site = '', asset = ''] = ck.split('|');
    const rule = byId.get(ruleId);
    if (!rule || rule.kind === 'stale') continue;
    if (!condition.active && condition.lastViolating && condition.pendingSince !== undefined && now - condition.pendingSince >= rule.for) {
      events.push(transition(condition, 'raise', rule, site, asset, condition.kind, condition.pendingSince + rule.for));
    } else if (condition.active && !condition.lastViolating && condition.clearingSince !== undefined && now - condition.clearingSince >= rule.offDelay) {
      events.push(transition(condition, 'clear', rule, site, asset, condition.kind, condition.clearingSince + rule.offDelay));
      state.conditions.delete(ck);
    }
  }
  return events;
}

/** A stop command (from SCADA or the station's level control) makes the next stop a normal one. */
export function observeCommand(state: EvalState, site: string, asset: string, command: 'start' | 'stop', ts: number): void {
  const pump = pumpState(state, key(site, asset));
  if (command === 'stop') {
    pump.lastStopCommandAt = ts;
    pump.trippedAt = undefined;
  }
}

/** Rule ids with a live condition on an asset (for tests and the API). */
export function activeConditions(state: EvalState): string[] {
  return [...state.conditions.entries()].filter(([, c]) => c.active).map(([k]) => k);
}

/** Updates what is known of the asset; returns its latest values (this reading merged in). */
function observeReading(reading: Reading, assetKey: string, state: EvalState, receivedAt: number, keepHistory: boolean): Values {
  const seen = state.seen.get(assetKey);
  if (seen !== undefined && seen.kind === reading.kind) seen.receivedAt = receivedAt;
  else state.seen.set(assetKey, { site: reading.site, kind: reading.kind, asset: reading.asset, receivedAt });
  // Merged in place: a copy per reading was most of this function's cost.
  const previous = state.latest.get(assetKey);
  const latest = previous ? Object.assign(previous, reading.values) : { ...reading.values };
  if (!previous) state.latest.set(assetKey, latest);

  if (keepHistory) {
    let history = state.history.get(assetKey);
    if (!history) state.history.set(assetKey, (history = []));
    history.push({ ts: reading.ts, values: reading.values });
    if (history.length > 1 && history[history.length - 2]!.ts > reading.ts) history.sort((a, b) => a.ts - b.ts);
    while (history.length > HISTORY_MAX_SAMPLES || (history.length > 0 && history[0]!.ts < reading.ts - HISTORY_MS)) history.shift();
  }

  if (reading.kind === 'pump' && typeof reading.values.running === 'boolean') {
    const pump = pumpState(state, assetKey);
    const running = reading.values.running;
    if (pump.running === false && running) pump.starts.push(reading.ts);
    if (pump.running === true && !running) {
      const commanded = pump.lastStopCommandAt !== undefined && reading.ts - pump.lastStopCommandAt <= state.settings.commandWindowMs;
      if (!commanded) pump.trippedAt = reading.ts;
    }
    if (running) pump.trippedAt = undefined;
    pump.running = running;
    if (pump.starts.length > 0 && pump.starts[0]! <= reading.ts - 3_600_000) pump.starts = pump.starts.filter((t) => t > reading.ts - 3_600_000);
  }

  if (reading.kind === 'reservoir') {
    const inflow = latest.inflow_m3h;
    const outflow = latest.outflow_m3h;
    if (typeof inflow === 'number' && typeof outflow === 'number') {
      // Exponential smoothing: one pump start must not swing time-to-empty by hours.
      const net = outflow - inflow;
      const previous = state.netOutflow.get(assetKey);
      if (!previous) state.netOutflow.set(assetKey, { net_m3h: net, ts: reading.ts });
      else if (reading.ts > previous.ts) {
        const alpha = 1 - Math.exp(-(reading.ts - previous.ts) / state.settings.smoothingMs);
        state.netOutflow.set(assetKey, { net_m3h: previous.net_m3h + alpha * (net - previous.net_m3h), ts: reading.ts });
      }
    }
  }
  return latest;
}

function pumpState(state: EvalState, assetKey: string): PumpState {
  let pump = state.pumps.get(assetKey);
  if (!pump) state.pumps.set(assetKey, (pump = { running: undefined, starts: [], lastStopCommandAt: undefined, trippedAt: undefined }));
  return pump;
}

/** Not violating and no condition open: track() keeps nothing of it, so its value and detail need not be built. */
const QUIET: Observation = Object.freeze({ violating: false });
/** Not violating, whether or not a condition is open (one that is starts its off-delay). */
const NOT_VIOLATING: Observation = Object.freeze({ violating: false });

/** What one rule makes of a reading: the condition open for it (if any) and what is known of the asset. */
type Observer<K extends Rule['kind']> = (
  rule: Extract<Rule, { kind: K }>,
  reading: Reading,
  assetKey: string,
  condition: ConditionState | undefined,
  latest: Values,
  registered: AssetConfig | undefined,
  state: EvalState,
  context: EvalContext,
) => Observation | undefined;

const observeThreshold: Observer<'threshold'> = (rule, reading, _assetKey, condition) => {
  const value = reading.values[rule.field];
  if (typeof value !== 'number') return undefined;
  const active = condition?.active ?? false;
  if (rule.above !== undefined) {
    const violating = active ? value > rule.above - rule.deadband : value > rule.above;
    if (!violating && !condition && rule.below === undefined) return QUIET;
    if (violating || rule.below === undefined) return { violating, value, threshold: rule.above, detail: `${rule.field} ${value} above ${rule.above}` };
  }
  const below = rule.below!;
  const violating = active ? value < below + rule.deadband : value < below;
  if (!violating && !condition) return QUIET;
  return { violating, value, threshold: below, detail: `${rule.field} ${value} below ${below}` };
};

const observeRateOfChange: Observer<'rate_of_change'> = (rule, reading, assetKey, _condition, _latest, _registered, state) => {
  const value = reading.values[rule.field];
  if (typeof value !== 'number') return undefined;
  const then = sampleAtOrBefore(state.history.get(assetKey) ?? [], rule.field, reading.ts - rule.window);
  if (then === undefined) return undefined;
  const change = value - then;
  const rose = rule.maxRise !== undefined && change > rule.maxRise;
  const fell = rule.maxFall !== undefined && -change > rule.maxFall;
  return { violating: rose || fell, value: round(change, 3), threshold: rose ? rule.maxRise : rule.maxFall, detail: `${rule.field} changed ${round(change, 3)} in ${Math.round(rule.window / 60_000)} min` };
};

const observeStuck: Observer<'stuck'> = (rule, reading, assetKey, _condition, _latest, _registered, state) => {
  if (typeof reading.values[rule.field] !== 'number') return undefined;
  const window = (state.history.get(assetKey) ?? []).filter((s) => s.ts >= reading.ts - rule.over && typeof s.values[rule.field] === 'number');
  const first = window[0];
  if (!first || window.length < 3 || reading.ts - first.ts < rule.over * 0.9) return undefined;
  const values = window.map((s) => s.values[rule.field] as number);
  const spread = Math.max(...values) - Math.min(...values);
  return { violating: spread <= rule.tolerance, value: round(spread, 4), threshold: rule.tolerance, detail: `${rule.field} varied ${round(spread, 4)} over ${Math.round(rule.over / 60_000)} min` };
};

const observeStale: Observer<'stale'> = () => {
  // A reading ends staleness; the timer raises it.
  return NOT_VIOLATING;
};

const observePumpTrip: Observer<'pump_trip'> = (_rule, reading, assetKey, condition, latest, _registered, state) => {
  if (reading.kind !== 'pump') return undefined;
  const fault = latest.fault_code;
  const pump = state.pumps.get(assetKey);
  const faulted = typeof fault === 'number' && fault !== 0;
  const tripped = pump?.trippedAt !== undefined;
  if (!faulted && !tripped && reading.values.running === undefined && reading.values.fault_code === undefined) return undefined;
  if (!faulted && !tripped && !condition) return QUIET;
  return { violating: faulted || tripped, value: typeof fault === 'number' ? fault : undefined, threshold: 0, detail: faulted ? `fault code ${fault}` : tripped ? 'stopped without a stop command' : undefined };
};

const observePumpCycling: Observer<'pump_cycling'> = (rule, reading, assetKey, condition, _latest, _registered, state) => {
  const pump = state.pumps.get(assetKey);
  if (!pump) return undefined;
  let starts = 0;
  for (const t of pump.starts) if (t > reading.ts - 3_600_000) starts += 1;
  if (starts <= rule.maxStartsPerHour && !condition) return QUIET;
  return { violating: starts > rule.maxStartsPerHour, value: starts, threshold: rule.maxStartsPerHour, detail: `${starts} starts in the last hour` };
};

const observePumpNoFlow: Observer<'pump_no_flow'> = (rule, _reading, _assetKey, condition, latest) => {
  const running = latest.running;
  const flow = latest.flow_m3h;
  if (typeof running !== 'boolean' || typeof flow !== 'number') return undefined;
  if (!(running && flow < rule.minFlow_m3h) && !condition) return QUIET;
  return { violating: running && flow < rule.minFlow_m3h, value: flow, threshold: rule.minFlow_m3h, detail: `running with ${flow} m³/h` };
};

const observeTimeToEmpty: Observer<'time_to_empty'> = (rule, _reading, assetKey, _condition, latest, registered, state) => {
  if (registered?.kind !== 'reservoir') return undefined;
  const level = latest.level_m;
  const smoothed = state.netOutflow.get(assetKey);
  if (typeof level !== 'number' || !smoothed) return undefined;
  const usable_m3 = Math.max(0, level - registered.minLevel_m) * registered.area_m2;
  const hours = smoothed.net_m3h > 0 ? usable_m3 / smoothed.net_m3h : Number.POSITIVE_INFINITY;
  return {
    violating: hours < rule.belowHours,
    value: Number.isFinite(hours) ? round(hours, 1) : undefined,
    threshold: rule.belowHours,
    detail: Number.isFinite(hours) ? `${round(hours, 1)} h to minimum level at ${Math.round(smoothed.net_m3h)} m³/h net outflow` : 'filling',
  };
};

const observeDemandOverBaseline: Observer<'demand_over_baseline'> = (rule, reading, _assetKey, _condition, _latest, _registered, _state, context) => {
  const value = reading.values[rule.field];
  if (typeof value !== 'number') return undefined;
  if (rule.localHours) {
    const hour = context.localHour(reading.ts);
    if (hour < rule.localHours.from || hour >= rule.localHours.to) return NOT_VIOLATING;
  }
  const baseline = context.baseline(reading.site, reading.asset, rule.field, reading.ts);
  if (baseline === undefined || baseline <= 0) return undefined;
  const ratio = value / baseline;
  return { violating: ratio > rule.factor, value, threshold: round(baseline * rule.factor, 1), detail: `${round(ratio * 100, 0)} % of the same hour's baseline (${round(baseline, 1)})` };
};

const observeCanalBlockage: Observer<'canal_blockage'> = (rule, reading, assetKey, _condition, latest, registered, state) => {
  if (typeof reading.values.level_m !== 'number' && typeof reading.values.flow_m3h !== 'number') return undefined;
  const level = latest.level_m;
  const flow = latest.flow_m3h;
  if (typeof level !== 'number' || typeof flow !== 'number') return undefined;
  // While weeds build up: the level rose while the flow fell within the window.
  const history = state.history.get(assetKey) ?? [];
  const levelThen = sampleAtOrBefore(history, 'level_m', reading.ts - rule.window);
  const flowThen = sampleAtOrBefore(history, 'flow_m3h', reading.ts - rule.window);
  const rise = levelThen === undefined ? 0 : level - levelThen;
  const fallPct = flowThen === undefined || flowThen <= 0 ? 0 : ((flowThen - flow) / flowThen) * 100;
  const building = rise >= rule.minLevelRise_m && fallPct >= rule.minFlowFallPct;
  // Once they have settled: the level stays above normal with the flow below normal (registry values).
  const normal = registered?.kind === 'canal' ? registered : undefined;
  const abovePct = normal ? ((normal.normalFlow_m3h - flow) / normal.normalFlow_m3h) * 100 : 0;
  const settled = normal !== undefined && level - normal.normalLevel_m >= rule.minLevelRise_m && abovePct >= rule.minFlowFallPct;
  if (levelThen === undefined && !normal) return undefined;
  return {
    violating: building || settled,
    value: round(Math.max(fallPct, abovePct), 1),
    threshold: rule.minFlowFallPct,
    detail: settled
      ? `level ${round(level, 2)} m (normal ${normal!.normalLevel_m}) with flow ${Math.round(flow)} m³/h (normal ${normal!.normalFlow_m3h})`
      : `level +${round(rise, 2)} m while flow fell ${round(fallPct, 1)} % in ${Math.round(rule.window / 60_000)} min`,
  };
};

const observeNoStandby: Observer<'no_standby'> = (rule, reading, _assetKey, _condition, _latest, registered, state, context) => {
  if (registered?.kind !== 'pump' || typeof reading.values.running !== 'boolean') return undefined;
  const pumps = context.stationPumps(reading.site, registered.station);
  if (pumps.length < 2) return undefined;
  const running = pumps.filter((p) => state.latest.get(key(p.site, p.id))?.running === true).length;
  const stationKey = conditionKey(rule.id, reading.site, registered.station);
  if (running < pumps.length && !state.conditions.has(stationKey)) return QUIET;
  return { violating: running === pumps.length, value: running, threshold: pumps.length - 1, detail: `${running} of ${pumps.length} pumps running at ${registered.station}`, asset: registered.station };
};

/**
 * One function per rule kind, not one switch: a single function that read every kind's rules and
 * fields saw too many shapes, and its generic loads boxed each number they read: 457 bytes
 * allocated per pump reading with the bench's rules, 9 now (bench/stages.ts).
 */
const OBSERVERS: { [K in Rule['kind']]: Observer<K> } = {
  threshold: observeThreshold,
  rate_of_change: observeRateOfChange,
  stuck: observeStuck,
  stale: observeStale,
  pump_trip: observePumpTrip,
  pump_cycling: observePumpCycling,
  pump_no_flow: observePumpNoFlow,
  time_to_empty: observeTimeToEmpty,
  demand_over_baseline: observeDemandOverBaseline,
  canal_blockage: observeCanalBlockage,
  no_standby: observeNoStandby,
};

function observe(rule: Rule, reading: Reading, assetKey: string, ck: string, latest: Values, registered: AssetConfig | undefined, state: EvalState, context: EvalContext): Observation | undefined {
  const observer = OBSERVERS[rule.kind] as Observer<Rule['kind']>;
  return observer(rule, reading, assetKey, state.conditions.get(ck), latest, registered, state, context);
}

function track(state: EvalState, ck: string, rule: Rule, site: string, asset: string, kind: string, observation: Observation, ts: number): ConditionEvent | undefined {
  let condition = state.conditions.get(ck);
  if (!condition) {
    if (!observation.violating) return undefined;
    state.conditions.set(ck, (condition = { kind, active: false, pendingSince: undefined, clearingSince: undefined, lastViolating: false, value: undefined, threshold: undefined, detail: undefined }));
  }
  condition.lastViolating = observation.violating;
  if (observation.value !== undefined || observation.violating) {
    condition.value = observation.value;
    condition.threshold = observation.threshold;
    condition.detail = observation.detail;
  }
  if (!condition.active) {
    if (!observation.violating) {
      condition.pendingSince = undefined;
      state.conditions.delete(ck);
      return undefined;
    }
    condition.pendingSince ??= ts;
    if (ts - condition.pendingSince >= rule.for) return transition(condition, 'raise', rule, site, asset, kind, ts);
    return undefined;
  }
  if (observation.violating) {
    condition.clearingSince = undefined;
    return undefined;
  }
  condition.clearingSince ??= ts;
  if (ts - condition.clearingSince >= rule.offDelay) {
    const event = transition(condition, 'clear', rule, site, asset, kind, ts);
    state.conditions.delete(ck);
    return event;
  }
  return undefined;
}

function transition(condition: ConditionState, type: 'raise' | 'clear', rule: Rule, site: string, asset: string, kind: string, ts: number): ConditionEvent {
  condition.active = type === 'raise';
  condition.pendingSince = undefined;
  condition.clearingSince = undefined;
  return { type, rule, site, asset, kind, value: condition.value, threshold: condition.threshold, detail: condition.detail, ts };
}

function sampleAtOrBefore(history: readonly Sample[], field: string, ts: number): number | undefined {
  for (let i = history.length - 1; i >= 0; i--) {
    const sample = history[i]!;
    const value = sample.values[field];
    if (sample.ts <= ts && typeof value === 'number') return value;
  }
  return undefined;
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
