// Scenarios: YAML files under simulators/scenarios/ that say what the weather does, how demand
// behaves and which faults start and end when. A scenario drives a simulation through two hooks
// (conditions before every hydraulic step, and what each device reading becomes on the wire) and
// records its ground truth: every fault with its asset and its start and end, as it happened.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { AssetConfig } from '../src/config.js';
import { commandTopic, FIELDS, RejectReason, statusTopic, telemetryTopic, type FieldSpec, type Kind } from '../src/schema.js';
import { type SimulatedDevice, type TelemetryMessage, type WireMessage, formatTimestamp } from './devices.js';
import { DIURNAL_TEMPERATURE_RANGE_C, HOTTEST_LOCAL_HOUR, LOCAL_UTC_OFFSET_MS, COLDEST_LOCAL_HOUR, warmthOfDay } from './diurnal.js';
import { assetKey, HYDRAULIC_STEP_MS, PUMP_FAULT_CODE, type NetworkState } from './network.js';
import { createRng, deriveSeed } from './rng.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** A day is hot at or above this maximum temperature; three hot days in a row are a heat wave (CMA). */
export const HOT_DAY_C = 35;
export const HEATWAVE_MIN_DAYS = 3;
/** Where a scenario starts when neither it nor the caller says: local midnight of a summer day. */
export const DEFAULT_SCENARIO_START = '2026-07-14T00:00:00+08:00';

export const FAULT_KINDS = [
  'heatwave',
  'pump_trip',
  'power_cut',
  'canal_blockage',
  'main_burst',
  'sensor_stuck',
  'sensor_spikes',
  'sensor_dropout',
  'clock_drift',
  'garbage',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** What a scenario made happen: the answer key a back-test scores alerts against. */
export interface GroundTruthEntry {
  fault: FaultKind;
  /** The asset it affects (for a heat wave: the region). */
  asset: string;
  site: string | undefined;
  startMs: number;
  endMs: number;
  /** For garbage: the reject reason the pipeline must give it. */
  reason?: RejectReason;
  detail?: string;
}

/** `45m`, `2h`, `1h30m`, `90s`, `1d`: a duration in milliseconds. */
export function parseDuration(text: string): number {
  const pattern = /(\d+(?:\.\d+)?)\s*(d|h|m|s|ms)/g;
  const units: Record<string, number> = { d: DAY_MS, h: HOUR_MS, m: MINUTE_MS, s: 1000, ms: 1 };
  let total = 0;
  let consumed = '';
  for (const match of text.matchAll(pattern)) {
    total += Number(match[1]) * units[match[2]!]!;
    consumed += match[0];
  }
  if (consumed.replace(/\s/g, '') !== text.replace(/\s/g, '') || consumed === '') throw new Error(`not a duration: "${text}" (e.g. 45m, 2h, 1h30m, 1d)`);
  return total;
}

const Duration = z.string().transform((text, ctx) => {
  try {
    return parseDuration(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});
/** `HH:MM` local time on `day`, or an ISO 8601 time with a zone. */
const At = z.string().regex(/^(\d{1,2}:\d{2}|\d{4}-\d{2}-\d{2}T.+)$/, 'HH:MM (local time on the event’s day) or an ISO 8601 time with a zone');
const AssetRef = z.string().min(1).max(130);
const when = { day: z.number().int().min(1).default(1), at: At, for: Duration };

export const ScenarioEvent = z.discriminatedUnion('fault', [
  z.strictObject({ fault: z.literal('pump_trip'), asset: AssetRef, ...when }),
  z.strictObject({ fault: z.literal('power_cut'), station: z.string().min(1), ...when }),
  z.strictObject({
    fault: z.literal('canal_blockage'),
    asset: AssetRef,
    ...when,
    /** Share of full blockage reached (0–1). */
    severity: z.number().min(0).max(1).default(0.7),
    /** Weeds build up over this long; crews clear them at the end at once. */
    rampUp: Duration.default(2 * HOUR_MS),
  }),
  z.strictObject({ fault: z.literal('main_burst'), asset: AssetRef, ...when, leak_m3h: z.number().positive().max(10_000).default(250) }),
  z.strictObject({ fault: z.literal('sensor_stuck'), asset: AssetRef, ...when }),
  z.strictObject({
    fault: z.literal('sensor_spikes'),
    asset: AssetRef,
    field: z.string().min(1),
    ...when,
    count: z.number().int().min(1).max(10_000).default(6),
    factor: z.number().positive().default(3),
  }),
  z.strictObject({ fault: z.literal('sensor_dropout'), asset: AssetRef, ...when }),
  z.strictObject({ fault: z.literal('clock_drift'), asset: AssetRef, ...when, rate_s_per_h: z.number().min(-3600).max(3600).default(180) }),
  z.strictObject({
    fault: z.literal('garbage'),
    asset: AssetRef,
    ...when,
    reasons: z.union([z.literal('all'), z.array(z.string().refine((reason) => (GARBAGE_REASONS as string[]).includes(reason), 'a reject reason other than ASSET.UNREGISTERED')).min(1)]).default('all'),
    /** Rounds through the reasons (each round sends one message of each). */
    rounds: z.number().int().min(1).max(1000).default(1),
  }),
]);
export type ScenarioEvent = z.infer<typeof ScenarioEvent>;

export const ScenarioFile = z.strictObject({
  name: z.string().min(1).optional(),
  description: z.string().optional(),
  /** Scenarios whose weather, demand and events come first (this file's own win). */
  include: z.array(z.string().min(1)).default([]),
  /** Local midnight of day 1 (ISO 8601 with a zone); offline runs default to DEFAULT_SCENARIO_START. */
  start: z.string().optional(),
  days: z.number().int().min(1).max(366).optional(),
  weather: z.strictObject({ dailyMaxAirTemp_c: z.array(z.number().min(-30).max(55)).min(1) }).optional(),
  demand: z.strictObject({ dailyFactor: z.array(z.number().positive().max(5)).min(1) }).optional(),
  events: z.array(ScenarioEvent).default([]),
});
export type ScenarioFile = z.infer<typeof ScenarioFile>;

export interface Scenario {
  name: string;
  description: string;
  start: string | undefined;
  days: number;
  /** Maximum air temperature of each local day (the last repeats); undefined: the network's own. */
  dailyMaxAirTemp_c: number[] | undefined;
  /** Demand multiplier of each local day beyond the temperature effect (the last repeats). */
  demandDailyFactor: number[];
  events: ScenarioEvent[];
}

/** The bundled scenarios, from the source tree or from dist/. */
export function scenariosDirectory(): string {
  const candidates = ['./scenarios/', '../../simulators/scenarios/'].map((relative) => fileURLToPath(new URL(relative, import.meta.url)));
  return candidates.find((path) => existsSync(path)) ?? candidates[0]!;
}

/** A scenario by bundled name (`heatwave`) or path; `a,b` composes several. */
export function loadScenario(reference: string, directory = scenariosDirectory()): Scenario {
  const parts = reference.split(',').map((part) => part.trim()).filter(Boolean);
  if (parts.length === 0) throw new Error('scenario: no name given');
  return composeScenarios(parts.map((part) => loadScenarioFile(part, directory, [])));
}

/** A path as given; a bare name in `directory` (the including file's), else among the bundled ones. */
function scenarioPath(reference: string, directory: string): string {
  if (reference.endsWith('.yaml') || reference.endsWith('.yml') || reference.includes('/')) return isAbsolute(reference) ? reference : resolve(reference);
  const local = resolve(directory, `${reference}.yaml`);
  return existsSync(local) ? local : resolve(scenariosDirectory(), `${reference}.yaml`);
}

function loadScenarioFile(reference: string, directory: string, chain: string[]): Scenario {
  const path = scenarioPath(reference, directory);
  if (chain.includes(path)) throw new Error(`scenario ${reference}: includes itself (${[...chain, path].join(' → ')})`);
  if (!existsSync(path)) throw new Error(`scenario ${reference}: no such scenario (${path})`);
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`scenario ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const result = ScenarioFile.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(`scenario ${path}: ${issue.path.join('.') || 'file'}: ${issue.message}`);
  }
  const file = result.data;
  const included = file.include.map((name) => loadScenarioFile(name, dirname(path), [...chain, path]));
  const own = fromFile(file, reference);
  return included.length === 0 ? own : composeScenarios([...included, own], own.name);
}

function fromFile(file: ScenarioFile, reference: string): Scenario {
  return {
    name: file.name ?? reference,
    description: file.description ?? '',
    start: file.start,
    days: file.days ?? 0,
    dailyMaxAirTemp_c: file.weather?.dailyMaxAirTemp_c,
    demandDailyFactor: file.demand?.dailyFactor ?? [],
    events: file.events,
  };
}

/**
 * Several scenarios as one: events add up; weather, demand and start come from the last one
 * that sets them; the run is as long as the longest.
 */
export function composeScenarios(scenarios: Scenario[], name?: string): Scenario {
  const last = <T>(pick: (scenario: Scenario) => T | undefined): T | undefined =>
    scenarios.map(pick).filter((value): value is T => value !== undefined && (!Array.isArray(value) || value.length > 0)).at(-1);
  return {
    name: name ?? scenarios.map((scenario) => scenario.name).join('+'),
    description: scenarios.map((scenario) => scenario.description).filter(Boolean).join(' + '),
    start: last((scenario) => scenario.start),
    days: Math.max(1, ...scenarios.map((scenario) => scenario.days)),
    dailyMaxAirTemp_c: last((scenario) => scenario.dailyMaxAirTemp_c),
    demandDailyFactor: last((scenario) => scenario.demandDailyFactor) ?? [],
    events: scenarios.flatMap((scenario) => scenario.events),
  };
}

/** Local midnight (Asia/Shanghai) at or before `epochMs`. */
export function localMidnight(epochMs: number): number {
  return Math.floor((epochMs + LOCAL_UTC_OFFSET_MS) / DAY_MS) * DAY_MS - LOCAL_UTC_OFFSET_MS;
}

const dayValue = (values: readonly number[], day: number): number => values[Math.min(Math.max(day, 0), values.length - 1)]!;

/**
 * Air temperature of a scenario: minimum (max − 9 °C) at 05:00, its day's maximum at 15:00,
 * falling towards the next day's minimum, so the curve is continuous from one day to the next.
 */
export function scenarioAirTemperature(dailyMax_c: readonly number[], startMs: number, simTimeMs: number): number {
  const day = Math.floor((simTimeMs - startMs) / DAY_MS);
  const hour = ((simTimeMs - startMs) % DAY_MS + DAY_MS) % DAY_MS / HOUR_MS;
  const max = (d: number) => dayValue(dailyMax_c, d);
  const min = (d: number) => max(d) - DIURNAL_TEMPERATURE_RANGE_C;
  const warmth = warmthOfDay(hour);
  if (hour < COLDEST_LOCAL_HOUR) return min(day) + (max(day - 1) - min(day)) * warmth;
  if (hour <= HOTTEST_LOCAL_HOUR) return min(day) + (max(day) - min(day)) * warmth;
  return min(day + 1) + (max(day) - min(day + 1)) * warmth;
}

interface ResolvedEvent {
  event: ScenarioEvent;
  index: number;
  startMs: number;
  endMs: number;
  /** The assets it acts on (a power cut: every pump of the station). */
  assets: AssetConfig[];
}

/** What a scenario does to one simulation, plus what it recorded. */
export interface ScenarioDriver {
  readonly scenario: Scenario;
  readonly startMs: number;
  readonly endMs: number;
  /** Impose the conditions for the hydraulic step starting at `simTimeMs`. */
  beforeStep(network: NetworkState, simTimeMs: number): void;
  /** A device's reading becomes what goes on the wire: nothing, itself, or an altered copy; garbage due by then goes first. */
  transform(device: SimulatedDevice, message: TelemetryMessage, send: (device: SimulatedDevice, message: WireMessage) => void): void;
  /** Garbage due up to `untilMs` that no reading has carried out yet. */
  flush(untilMs: number, send: (device: SimulatedDevice, message: WireMessage) => void): void;
  /** Ground truth so far, in start order. */
  groundTruth(): GroundTruthEntry[];
  /** Things the scenario asked for that did not happen (a trip of a pump that never ran). */
  notes(): string[];
}

export interface DriverOptions {
  assets: readonly AssetConfig[];
  devices: readonly SimulatedDevice[];
  seed: number;
  startMs: number;
  /** Run length; default the scenario's days. */
  days?: number;
}

export function createScenarioDriver(scenario: Scenario, options: DriverOptions): ScenarioDriver {
  const { assets, startMs } = options;
  const days = options.days ?? scenario.days;
  const endMs = startMs + days * DAY_MS;
  const truth: GroundTruthEntry[] = [];
  const notes: string[] = [];
  const deviceByKey = new Map(options.devices.map((device) => [assetKey(device.asset), device]));

  const findAsset = (reference: string, kinds: readonly Kind[] | undefined, what: string): AssetConfig => {
    const [site, id] = reference.includes('/') ? (reference.split('/', 2) as [string, string]) : [undefined, reference];
    const matches = assets.filter((asset) => asset.id === id && (site === undefined || asset.site === site));
    if (matches.length !== 1) throw new Error(`scenario ${scenario.name}: ${what}: ${matches.length === 0 ? `no asset ${reference}` : `${reference} is ambiguous, write site/id`}`);
    const asset = matches[0]!;
    if (kinds && !kinds.includes(asset.kind)) throw new Error(`scenario ${scenario.name}: ${what}: ${reference} is a ${asset.kind}, not a ${kinds.join(' or ')}`);
    return asset;
  };

  const events: ResolvedEvent[] = scenario.events.map((event, index) => {
    const eventStartMs = /^\d{1,2}:\d{2}$/.test(event.at)
      ? startMs + (event.day - 1) * DAY_MS + parseDuration(`${event.at.split(':')[0]}h${event.at.split(':')[1]}m`)
      : Date.parse(event.at);
    if (Number.isNaN(eventStartMs)) throw new Error(`scenario ${scenario.name}: event ${index + 1}: bad time ${event.at}`);
    const what = `event ${index + 1} (${event.fault})`;
    let eventAssets: AssetConfig[];
    switch (event.fault) {
      case 'power_cut':
        eventAssets = assets.filter((asset) => asset.kind === 'pump' && asset.station === event.station);
        if (eventAssets.length === 0) throw new Error(`scenario ${scenario.name}: ${what}: no pumps at station ${event.station}`);
        break;
      case 'pump_trip':
        eventAssets = [findAsset(event.asset, ['pump'], what)];
        break;
      case 'canal_blockage':
        eventAssets = [findAsset(event.asset, ['canal'], what)];
        break;
      case 'main_burst':
        eventAssets = [findAsset(event.asset, ['meter'], what)];
        break;
      case 'sensor_spikes': {
        const asset = findAsset(event.asset, undefined, what);
        const spec = (FIELDS[asset.kind] as Record<string, FieldSpec>)[event.field];
        if (!spec || spec.type === 'boolean') throw new Error(`scenario ${scenario.name}: ${what}: ${asset.kind} has no numeric field ${event.field}`);
        eventAssets = [asset];
        break;
      }
      default:
        eventAssets = [findAsset(event.asset, undefined, what)];
    }
    return { event, index, startMs: eventStartMs, endMs: eventStartMs + event.for, assets: eventAssets };
  });
  const inRun = (event: ResolvedEvent) => event.startMs < endMs && event.endMs > startMs;
  for (const event of events) if (!inRun(event)) notes.push(`event ${event.index + 1} (${event.event.fault}) falls outside the ${days}-day run`);

  const record = (entry: GroundTruthEntry) => truth.push(entry);
  const recordEvent = (event: ResolvedEvent, asset: AssetConfig, startAt = event.startMs, detail?: string) =>
    record({ fault: event.event.fault, asset: asset.id, site: asset.site, startMs: startAt, endMs: Math.min(event.endMs, endMs), ...(detail ? { detail } : {}) });

  // The heat wave, from the weather itself: three or more hot days in a row.
  if (scenario.dailyMaxAirTemp_c) {
    const regions = [...new Set(assets.map((asset) => asset.region))];
    let run = 0;
    for (let day = 0; day <= days; day++) {
      const hot = day < days && dayValue(scenario.dailyMaxAirTemp_c, day) >= HOT_DAY_C;
      if (hot) run++;
      else {
        if (run >= HEATWAVE_MIN_DAYS) {
          const maxima = Array.from({ length: run }, (_, offset) => dayValue(scenario.dailyMaxAirTemp_c!, day - run + offset));
          for (const region of regions) {
            record({
              fault: 'heatwave',
              asset: region,
              site: undefined,
              startMs: startMs + (day - run) * DAY_MS,
              endMs: startMs + day * DAY_MS,
              detail: `${run} hot days, Tmax ${maxima.map((t) => t.toFixed(1)).join(', ')} °C`,
            });
          }
        }
        run = 0;
      }
    }
  }

  // Events whose ground truth is known up front: the rest (trips) are recorded when they happen.
  for (const event of events.filter(inRun)) {
    const [asset] = event.assets;
    switch (event.event.fault) {
      case 'power_cut':
        for (const pump of event.assets) recordEvent(event, pump, event.startMs, `station ${event.event.station} loses mains supply`);
        break;
      case 'canal_blockage':
        recordEvent(event, asset!, event.startMs, `weeds build up to ${Math.round(event.event.severity * 100)} % over ${event.event.rampUp / MINUTE_MS} min`);
        break;
      case 'main_burst':
        recordEvent(event, asset!, event.startMs, `burst downstream of the meter, ${event.event.leak_m3h} m³/h`);
        break;
      case 'sensor_stuck':
      case 'sensor_dropout':
        recordEvent(event, asset!);
        break;
      case 'clock_drift': {
        const rate = event.event.rate_s_per_h;
        const future = rate > 0 ? event.startMs + (300 / rate) * HOUR_MS : undefined;
        recordEvent(event, asset!, event.startMs, `clock gains ${rate} s/h${future !== undefined && future < event.endMs ? `; readings are over 5 min ahead from ${new Date(future).toISOString()}` : ''}`);
        break;
      }
      default:
        break;
    }
  }

  const byDevice = new Map<string, ResolvedEvent[]>();
  for (const event of events.filter(inRun)) {
    if (!['sensor_stuck', 'sensor_spikes', 'sensor_dropout', 'clock_drift'].includes(event.event.fault)) continue;
    const key = assetKey(event.assets[0]!);
    byDevice.set(key, [...(byDevice.get(key) ?? []), event]);
  }
  const stuckValues = new Map<ResolvedEvent, unknown>();
  // Spike times: drawn once from the scenario's own stream, so a run is reproducible from its seed.
  const spikeTimes = new Map<ResolvedEvent, number[]>();
  for (const event of events) {
    if (event.event.fault !== 'sensor_spikes') continue;
    const rng = createRng(deriveSeed(options.seed, `scenario:${event.index}:spikes`));
    const span = event.endMs - event.startMs;
    spikeTimes.set(event, Array.from({ length: event.event.count }, () => event.startMs + rng.next() * span).sort((a, b) => a - b));
  }

  // Garbage: spread evenly over its window, one message per reason per round.
  const garbage: { tsMs: number; device: SimulatedDevice; asset: AssetConfig; reason: GarbageReason; serial: number }[] = [];
  for (const event of events.filter(inRun)) {
    if (event.event.fault !== 'garbage') continue;
    const asset = event.assets[0]!;
    const device = deviceByKey.get(assetKey(asset));
    if (!device) throw new Error(`scenario ${scenario.name}: event ${event.index + 1}: ${asset.id} has no simulated device`);
    const reasons = event.event.reasons === 'all' ? GARBAGE_REASONS : (event.event.reasons as GarbageReason[]);
    const total = reasons.length * event.event.rounds;
    for (let serial = 0; serial < total; serial++) {
      // Half-way between two hydraulic steps: never at the same moment as a reading of the same device.
      const tsMs = Math.floor((event.startMs + ((serial + 0.5) * (event.endMs - event.startMs)) / total) / HYDRAULIC_STEP_MS) * HYDRAULIC_STEP_MS + HYDRAULIC_STEP_MS / 2;
      if (tsMs <= startMs || tsMs > endMs) continue;
      garbage.push({ tsMs, device, asset, reason: reasons[serial % reasons.length]!, serial });
    }
  }
  garbage.sort((a, b) => a.tsMs - b.tsMs);
  let nextGarbage = 0;
  const flush = (untilMs: number, send: (device: SimulatedDevice, message: WireMessage) => void) => {
    while (nextGarbage < garbage.length && garbage[nextGarbage]!.tsMs <= untilMs) {
      const item = garbage[nextGarbage++]!;
      const message = garbageMessage(item.reason, item.asset, item.tsMs, item.serial);
      record({ fault: 'garbage', asset: item.asset.id, site: item.asset.site, startMs: item.tsMs, endMs: item.tsMs, reason: item.reason, detail: message.topic });
      send(item.device, message);
    }
  };

  const trips = new Map<ResolvedEvent, number | undefined>();
  return {
    scenario,
    startMs,
    endMs,
    beforeStep(network, simTimeMs) {
      const conditions = network.conditions;
      if (scenario.dailyMaxAirTemp_c) {
        const maxima = scenario.dailyMaxAirTemp_c;
        conditions.airTemperature ??= (ms) => scenarioAirTemperature(maxima, startMs, ms);
      }
      conditions.demandFactor =
        scenario.demandDailyFactor.length > 0 ? dayValue(scenario.demandDailyFactor, Math.floor((simTimeMs - startMs) / DAY_MS)) : 1;
      conditions.pumpFaults.clear();
      conditions.leaks_m3h.clear();
      conditions.canalBlockage = 0;
      for (const event of events) {
        const active = simTimeMs >= event.startMs && simTimeMs < event.endMs;
        const { event: spec } = event;
        if (spec.fault === 'pump_trip') {
          if (!active) {
            if (simTimeMs >= event.endMs && !trips.has(event) && inRun(event)) {
              trips.set(event, undefined);
              notes.push(`pump_trip ${spec.asset}: the pump did not run between ${new Date(event.startMs).toISOString()} and ${new Date(event.endMs).toISOString()}, so it could not trip`);
            }
            continue;
          }
          const key = assetKey(event.assets[0]!);
          // The motor protection trips a running pump (or one starting): armed until then.
          if (!trips.has(event)) {
            if (!network.pumps.find((candidate) => candidate.key === key)?.running) continue;
            trips.set(event, simTimeMs);
            recordEvent(event, event.assets[0]!, simTimeMs, 'motor protection trip; reset by the crew at the end');
          }
          conditions.pumpFaults.set(key, PUMP_FAULT_CODE.motorProtectionTrip);
        }
        if (!active) continue;
        if (spec.fault === 'power_cut') for (const pump of event.assets) conditions.pumpFaults.set(assetKey(pump), PUMP_FAULT_CODE.mainsFailure);
        if (spec.fault === 'canal_blockage') {
          const grown = spec.rampUp > 0 ? Math.min(1, (simTimeMs - event.startMs) / spec.rampUp) : 1;
          conditions.canalBlockage = Math.max(conditions.canalBlockage, spec.severity * grown);
        }
        if (spec.fault === 'main_burst') {
          const key = assetKey(event.assets[0]!);
          conditions.leaks_m3h.set(key, (conditions.leaks_m3h.get(key) ?? 0) + spec.leak_m3h);
        }
      }
    },
    transform(device, message, send) {
      flush(message.tsMs, send);
      const deviceEvents = byDevice.get(assetKey(device.asset));
      if (!deviceEvents) return send(device, message);
      const active = deviceEvents.filter((event) => message.tsMs >= event.startMs && message.tsMs < event.endMs);
      if (active.length === 0) return send(device, message);
      if (active.some((event) => event.event.fault === 'sensor_dropout')) return;
      const body = JSON.parse(message.payload) as { ts: number | string; seq: number; values: Record<string, number | boolean> };
      for (const event of active) {
        const spec = event.event;
        if (spec.fault === 'sensor_stuck') {
          if (!stuckValues.has(event)) stuckValues.set(event, body.values);
          body.values = stuckValues.get(event) as typeof body.values;
        } else if (spec.fault === 'sensor_spikes') {
          const times = spikeTimes.get(event)!;
          const previousMs = message.tsMs - device.reportInterval_ms;
          const due = times.filter((time) => time > previousMs && time <= message.tsMs).length;
          const value = body.values[spec.field];
          if (due > 0 && typeof value === 'number') {
            body.values = { ...body.values, [spec.field]: spike(device.asset.kind, spec.field, value, spec.factor) };
            record({ fault: 'sensor_spikes', asset: device.asset.id, site: device.asset.site, startMs: message.tsMs, endMs: message.tsMs, detail: `${spec.field} ${value} → ${body.values[spec.field]}` });
          }
        } else if (spec.fault === 'clock_drift') {
          const driftMs = Math.round((spec.rate_s_per_h * 1000 * (message.tsMs - event.startMs)) / HOUR_MS);
          body.ts = formatTimestamp(message.tsMs + driftMs, device.timestampFormat);
        }
      }
      send(device, { ...message, payload: JSON.stringify(body) });
    },
    flush,
    groundTruth: () => [...truth].sort((a, b) => a.startMs - b.startMs || a.asset.localeCompare(b.asset)),
    notes: () => [...notes],
  };
}

function spike(kind: Kind, field: string, value: number, factor: number): number {
  const spec = (FIELDS[kind] as Record<string, FieldSpec>)[field];
  if (!spec || spec.type === 'boolean') return value;
  const spiked = value === 0 ? spec.max * 0.01 * factor : value * factor;
  return Math.round(Math.min(spec.max, Math.max(spec.min, spiked)) * 1000) / 1000;
}

const firstNumericField = (kind: Kind): [string, FieldSpec] =>
  Object.entries(FIELDS[kind] as Record<string, FieldSpec>).find(([, spec]) => spec.type === 'float')!;

type GarbageReason = Exclude<RejectReason, typeof RejectReason.ASSET_UNREGISTERED>;
type GarbageBuilder = (asset: Pick<AssetConfig, 'site' | 'kind' | 'id'>, tsMs: number, serial: number) => { topic?: string; payload: string | Buffer };

/**
 * One builder per class of bad input the pipeline refuses (every reject reason but
 * ASSET.UNREGISTERED, which depends on the ingestor's strict mode): each is the smallest change
 * from a good reading that makes it bad for exactly that reason. Typed exhaustively, so a new
 * reject reason in the schema needs its garbage here.
 */
const GARBAGE: Record<GarbageReason, GarbageBuilder> = {
  [RejectReason.TOPIC_BAD_FORMAT]: ({ site, kind, id }, ts) => ({ topic: `hydrowatch/${site}/${kind}/${id}`, payload: reading(kind, ts) }),
  [RejectReason.TOPIC_UNKNOWN_KIND]: ({ site, id, kind }, ts) => ({ topic: `hydrowatch/${site}/valve/${id}/telemetry`, payload: reading(kind, ts) }),
  [RejectReason.TOPIC_BAD_ID]: ({ site, kind, id }, ts) => ({ topic: `hydrowatch/${site}/${kind}/${id} (spare)/telemetry`, payload: reading(kind, ts) }),
  [RejectReason.PAYLOAD_TOO_LARGE]: ({ kind }, ts) => ({ payload: reading(kind, ts, { firmware_dump: 'A'.repeat(66_000) }) }),
  [RejectReason.PAYLOAD_NOT_UTF8]: ({ kind }, ts) => ({
    payload: Buffer.concat([Buffer.from(`{"ts":${ts},"values":{"${firstNumericField(kind)[0]}":`), Buffer.from([0xff, 0xfe, 0x9c]), Buffer.from('}}')]),
  }),
  [RejectReason.PAYLOAD_BAD_JSON]: ({ kind }, ts) => ({ payload: reading(kind, ts).slice(0, -4) }),
  [RejectReason.PAYLOAD_NOT_OBJECT]: ({ kind }, ts) => ({ payload: JSON.stringify([ts, goodValue(kind)]) }),
  [RejectReason.PAYLOAD_MISSING_TS]: ({ kind }) => ({ payload: JSON.stringify({ values: { [firstNumericField(kind)[0]]: goodValue(kind) } }) }),
  // Seconds where milliseconds belong: the classic firmware mistake.
  [RejectReason.PAYLOAD_BAD_TS]: ({ kind }, ts) => ({ payload: JSON.stringify({ ts: Math.floor(ts / 1000), values: { [firstNumericField(kind)[0]]: goodValue(kind) } }) }),
  [RejectReason.PAYLOAD_FUTURE_TS]: ({ kind }) => ({ payload: JSON.stringify({ ts: '2099-01-01T00:00:00.000Z', values: { [firstNumericField(kind)[0]]: goodValue(kind) } }) }),
  [RejectReason.PAYLOAD_BAD_SEQ]: ({ kind }, ts, serial) => ({ payload: reading(kind, ts, { seq: -1 - serial }) }),
  [RejectReason.PAYLOAD_NO_VALUES]: (_asset, ts) => ({ payload: JSON.stringify({ ts, values: {} }) }),
  [RejectReason.PAYLOAD_UNKNOWN_FIELD]: ({ kind }, ts) => ({ payload: JSON.stringify({ ts, values: { [firstNumericField(kind)[0]]: goodValue(kind), colour_code: 7 } }) }),
  [RejectReason.PAYLOAD_WRONG_TYPE]: ({ kind }, ts) => ({ payload: JSON.stringify({ ts, values: { [firstNumericField(kind)[0]]: String(goodValue(kind)) } }) }),
  // JSON has no NaN; broken firmware prints it anyway.
  [RejectReason.PAYLOAD_NOT_FINITE]: ({ kind }, ts) => ({ payload: `{"ts":${ts},"values":{"${firstNumericField(kind)[0]}":NaN}}` }),
  [RejectReason.PAYLOAD_OUT_OF_RANGE]: ({ kind }, ts) => {
    const [field, spec] = firstNumericField(kind);
    return { payload: JSON.stringify({ ts, values: { [field]: spec.type === 'boolean' ? 1 : spec.max * 10 + 1 } }) };
  },
  [RejectReason.PAYLOAD_BAD_STATUS]: ({ site, kind, id }) => ({ topic: statusTopic(site, kind, id), payload: JSON.stringify({ online: 'yes' }) }),
  [RejectReason.PAYLOAD_BAD_COMMAND]: ({ site, kind, id }) => ({ topic: commandTopic(site, kind, id), payload: JSON.stringify({ command: 'explode' }) }),
};

export const GARBAGE_REASONS = Object.keys(GARBAGE) as GarbageReason[];

const goodValue = (kind: Kind): number => {
  const [, spec] = firstNumericField(kind);
  return spec.type === 'boolean' ? 0 : Math.round((spec.min + spec.max) / 100);
};
const reading = (kind: Kind, ts: number, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ ts, ...extra, values: { [firstNumericField(kind)[0]]: goodValue(kind) } });

/** A message of the given class of bad input, aimed at `asset`'s topics. */
export function garbageMessage(reason: GarbageReason, asset: Pick<AssetConfig, 'site' | 'kind' | 'id'>, tsMs: number, serial = 0): WireMessage {
  const built = GARBAGE[reason](asset, tsMs, serial);
  return { topic: built.topic ?? telemetryTopic(asset.site, asset.kind, asset.id), payload: built.payload, tsMs, qos: 1, retain: false };
}
