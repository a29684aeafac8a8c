// What the dashboards need to know about a network, taken from hydrowatch's own config: the asset
// registry (stations and their duty/standby pumps, reservoirs with area and minimum level, canals),
// the alert rules (thresholds drawn on the panels are the ones that alarm) and the timezone
// (a "day" is a local day, as in the heat-wave rule).
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { defaultRules, type Rule } from '../src/alerts/rules.js';
import { type AssetConfig, type Config, parseConfig } from '../src/config.js';

type Of<K extends AssetConfig['kind']> = Extract<AssetConfig, { kind: K }>;

export interface Station {
  site: string;
  name: string;
  pumps: Array<{ id: string; role: 'duty' | 'standby' }>;
}

export interface Network {
  timezone: string;
  stations: Station[];
  reservoirs: Array<Of<'reservoir'>>;
  canals: Array<Of<'canal'>>;
  meters: Array<Of<'meter'>>;
  regions: string[];
  limits: Limits;
}

/** Alarm limits drawn on the panels, read from the rules so the picture and the pager agree. */
export interface Limits {
  reservoirLowPct: number;
  reservoirLowHeatwavePct: number;
  reservoirCriticalPct: number;
  reservoirOverflowPct: number;
  timeToEmptyHours: number;
  timeToEmptyHeatwaveHours: number;
  maxStartsPerHour: number;
  motorHot_c: number;
  vibrationHigh_mms: number;
  pressureLow_bar: number;
  demandFactor: number;
  /** Heat-wave rule: a hot day, and the CMA orange and red warning temperatures. */
  hotDay_c: number;
  orange_c: number;
  red_c: number;
}

export function networkFromConfig(config: Config): Network {
  const rules = config.alerts.rules ?? defaultRules();
  const stations = new Map<string, Station>();
  for (const asset of config.assets) {
    if (asset.kind !== 'pump') continue;
    const key = `${asset.site}/${asset.station}`;
    const station = stations.get(key) ?? { site: asset.site, name: asset.station, pumps: [] };
    station.pumps.push({ id: asset.id, role: asset.role });
    stations.set(key, station);
  }
  const of = <K extends AssetConfig['kind']>(kind: K) => config.assets.filter((a): a is Of<K> => a.kind === kind);
  return {
    timezone: config.timezone,
    stations: [...stations.values()],
    reservoirs: of('reservoir'),
    canals: of('canal'),
    meters: of('meter'),
    regions: [...new Set(config.assets.map((a) => a.region))].sort(),
    limits: limitsFrom(rules, config.alerts.heatwave),
  };
}

/** Reads a hydrowatch config file (only its registry, rules and timezone matter here). */
export function loadNetwork(file: string): Network {
  const content = (parse(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
  return networkFromConfig(parseConfig(content, {}));
}

function limitsFrom(rules: Rule[], heatwave: Config['alerts']['heatwave']): Limits {
  const find = <K extends Rule['kind']>(kind: K, test: (rule: Extract<Rule, { kind: K }>) => boolean = () => true) =>
    rules.find((r): r is Extract<Rule, { kind: K }> => r.kind === kind && r.enabled && test(r as Extract<Rule, { kind: K }>));
  const levelBelow = rules
    .filter((r): r is Extract<Rule, { kind: 'threshold' }> => r.kind === 'threshold' && r.enabled && r.field === 'level_pct' && r.below !== undefined)
    .sort((a, b) => b.below! - a.below!);
  const low = levelBelow[0];
  const critical = levelBelow[levelBelow.length - 1];
  const overflow = find('threshold', (r) => r.field === 'level_pct' && r.above !== undefined);
  const tte = find('time_to_empty');
  const cycling = find('pump_cycling');
  const motor = find('threshold', (r) => r.field === 'motor_temp_c' && r.above !== undefined);
  const vibration = find('threshold', (r) => r.field === 'vibration_mms' && r.above !== undefined);
  const pressure = find('threshold', (r) => r.field === 'pressure_bar' && r.below !== undefined);
  const demand = find('demand_over_baseline');
  return {
    reservoirLowPct: low?.below ?? 25,
    reservoirLowHeatwavePct: low?.heatwave?.below ?? low?.below ?? 40,
    reservoirCriticalPct: critical && critical !== low ? critical.below! : 10,
    reservoirOverflowPct: overflow?.above ?? 99,
    timeToEmptyHours: tte?.belowHours ?? 4,
    timeToEmptyHeatwaveHours: tte?.heatwave?.belowHours ?? tte?.belowHours ?? 8,
    maxStartsPerHour: cycling?.maxStartsPerHour ?? 6,
    motorHot_c: motor?.above ?? 110,
    vibrationHigh_mms: vibration?.above ?? 7.1,
    pressureLow_bar: pressure?.below ?? 1.5,
    demandFactor: demand?.factor ?? 1.3,
    hotDay_c: heatwave.hotDay_c,
    orange_c: heatwave.orange_c,
    red_c: heatwave.red_c,
  };
}
