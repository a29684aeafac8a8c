// Pieces more than one dashboard shows: units, the site variable, alert annotations and the
// active-alert list, and time to empty.
import { COLORS, type InfluxAnnotation, influxql, type PanelSpec, queryVariable, seriesStyle, thresholds, DATASOURCE, type QueryVariable } from './grafana.js';
import { activeAlerts, ASSET, SITE, quote } from './influxql.js';
import type { Network } from './network.js';

/** Grafana unit ids; `suffix:` units where Grafana has none of its own (m³/h, mm/s, kWh/m³). */
export const UNITS = {
  flow: 'suffix: m³/h',
  volumePerDay: 'suffix: m³/day',
  metres: 'lengthm',
  percent: 'percent',
  celsius: 'celsius',
  bar: 'pressurebar',
  kilowatt: 'kwatt',
  specificEnergy: 'suffix: kWh/m³',
  vibration: 'suffix: mm/s',
  hours: 'h',
  days: 'suffix: days',
  startsPerHour: 'suffix: starts/h',
  perSecond: 'suffix: /s',
  per10min: 'suffix: per 10 min',
  factor: 'suffix: ×',
  count: 'suffix: regions',
  alerts: 'suffix: alerts',
  devices: 'suffix: devices',
  pumps: 'suffix: pumps',
  points: 'suffix: points',
  text: 'string',
} as const;

export const SEVERITY_COLORS = { critical: COLORS.red, high: COLORS.orange, medium: COLORS.yellow, low: COLORS.blue } as const;

/** Sites that have any of these measurements (the alert measurement adds heat-wave regions). */
export function siteVariable(measurements: readonly string[]): QueryVariable {
  const from = measurements.length === 1 ? `"${measurements[0]}"` : `/^(${measurements.join('|')})$/`;
  return queryVariable('site', 'Site', `SHOW TAG VALUES FROM ${from} WITH KEY = "site"`);
}

export const ALERT_ANNOTATION: InfluxAnnotation = {
  name: 'Alerts raised',
  datasource: DATASOURCE,
  enable: true,
  iconColor: 'red',
  query: `SELECT "message", "rule", "severity", "asset" FROM "alert" WHERE "state" = 'active' AND ${SITE} AND $timeFilter`,
  textColumn: 'message',
  tagsColumn: 'rule,severity,asset',
};

const severityMappings = Object.fromEntries(Object.entries(SEVERITY_COLORS).map(([severity, color], index) => [severity, { color, index, text: severity.toUpperCase() }]));

export function ACTIVE_ALERT_LIST(size: { w: number; h: number }): PanelSpec {
  return {
    type: 'table',
    title: 'Active alerts',
    description: 'Every alert whose condition holds now, with where it is and why (value against threshold). Acknowledge or shelve it in the hydrowatch console or API.',
    ...size,
    targets: [influxql(activeAlerts('"severity", "site", "asset", "rule", "message", "value", "threshold"'), { format: 'table' })],
    defaults: { unit: UNITS.text, noValue: 'No active alerts', custom: { align: 'auto', cellOptions: { type: 'auto' }, inspect: false } },
    overrides: [
      { matcher: { id: 'byName', options: 'severity' }, properties: [{ id: 'mappings', value: [{ type: 'value', options: severityMappings }] }, { id: 'custom.cellOptions', value: { type: 'color-background' } }, { id: 'custom.width', value: 110 }] },
      { matcher: { id: 'byName', options: 'Time' }, properties: [{ id: 'custom.hidden', value: true }] },
      { matcher: { id: 'byName', options: 'message' }, properties: [{ id: 'custom.width', value: 520 }] },
      { matcher: { id: 'byRegexp', options: '^(value|threshold)$' }, properties: [{ id: 'unit', value: 'none' }, { id: 'decimals', value: 1 }] },
    ],
    options: { sortBy: [{ displayName: 'severity', desc: false }] },
  };
}

/**
 * Hours until each reservoir reaches its minimum operating level at the current net outflow,
 * as the time-to-empty rule computes it: (level − minimum level) × area ÷ (outflow − inflow),
 * with the flows averaged over 15 minutes. Area and minimum level come from the asset registry.
 * Negative means filling.
 */
export function timeToEmptyTargets(network: Network, window: string) {
  return network.reservoirs.map((reservoir) =>
    influxql(
      `SELECT (last("level_m") - ${reservoir.minLevel_m}) * ${reservoir.area_m2} / (mean("outflow_m3h") - mean("inflow_m3h")) FROM "reservoir" WHERE "site" = ${quote(reservoir.site)} AND "asset" = ${quote(reservoir.id)} AND ${SITE} AND ${ASSET} AND $timeFilter GROUP BY time(${window}) fill(none)`,
      { alias: reservoir.id },
    ),
  );
}

export function timeToEmptyPanel(network: Network, options: { w: number; h: number; stat: boolean }): PanelSpec {
  const { limits } = network;
  const description = `Hours until the reservoir reaches its minimum operating level at the net outflow of the last 15 minutes (level above minimum × area ÷ (outflow − inflow)). Red under ${limits.timeToEmptyHours} h (the alarm), orange under ${limits.timeToEmptyHeatwaveHours} h (the alarm during a heat wave).`;
  const defaults = {
    unit: UNITS.hours,
    decimals: 1,
    color: { mode: 'thresholds' as const },
    thresholds: thresholds(COLORS.red, [limits.timeToEmptyHours, COLORS.orange], [limits.timeToEmptyHeatwaveHours, COLORS.yellow], [24, COLORS.green]),
    mappings: [
      { type: 'range' as const, options: { from: null, to: 0, result: { text: 'filling', color: COLORS.green } } },
      { type: 'range' as const, options: { from: 48, to: null, result: { text: '> 48 h', color: COLORS.green } } },
    ],
  };
  if (options.stat) {
    return {
      type: 'bargauge',
      title: 'Time to empty',
      description,
      w: options.w,
      h: options.h,
      targets: timeToEmptyTargets(network, '15m'),
      defaults: { ...defaults, min: 0, max: 48 },
      options: { displayMode: 'basic', orientation: 'horizontal', showUnfilled: true },
    };
  }
  return {
    type: 'timeseries',
    title: 'Time to empty',
    description,
    w: options.w,
    h: options.h,
    targets: timeToEmptyTargets(network, '15m'),
    defaults: { unit: UNITS.hours, decimals: 1, min: 0, max: 48, color: { mode: 'palette-classic' }, thresholds: defaults.thresholds, custom: seriesStyle({ thresholdsStyle: { mode: 'area' } }) },
  };
}
