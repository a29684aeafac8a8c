// A small typed model of Grafana's dashboard JSON (schema v1, the `Dashboard` of @grafana/schema,
// with its string enums written as their literal values) and the builders the dashboards use.
// The JSON Grafana loads is exactly what these objects serialise to.

export const SCHEMA_VERSION = 39;

/** The provisioned InfluxDB datasource (provisioning/grafana/datasources/influxdb.yaml). */
export const DATASOURCE = { type: 'influxdb', uid: 'hydrowatch-influxdb' } as const;
export type DataSourceRef = { type?: string; uid?: string };

export interface Threshold {
  color: string;
  value: number | null;
}
export interface ThresholdsConfig {
  mode: 'absolute' | 'percentage';
  steps: Threshold[];
}

export interface ValueMappingResult {
  color?: string;
  text?: string;
  index?: number;
}
export type ValueMapping =
  | { type: 'value'; options: Record<string, ValueMappingResult> }
  | { type: 'range'; options: { from: number | null; to: number | null; result: ValueMappingResult } }
  | { type: 'special'; options: { match: 'null' | 'nan' | 'null+nan' | 'true' | 'false' | 'empty'; result: ValueMappingResult } };

export interface FieldConfig {
  unit: string;
  decimals?: number;
  min?: number;
  max?: number;
  noValue?: string;
  displayName?: string;
  color?: { mode: 'fixed' | 'thresholds' | 'palette-classic' | 'continuous-GrYlRd'; fixedColor?: string };
  thresholds?: ThresholdsConfig;
  mappings?: ValueMapping[];
  custom?: Record<string, unknown>;
}

export interface FieldOverride {
  matcher: { id: 'byName' | 'byRegexp' | 'byFrameRefID'; options: string };
  properties: Array<{ id: string; value: unknown }>;
}

export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * An InfluxQL target in raw mode, as Grafana's InfluxDB datasource stores it. A type alias, not an
 * interface: Grafana types targets as Record<string, unknown>, which only aliases satisfy.
 */
export type InfluxQLTarget = {
  refId: string;
  datasource: DataSourceRef;
  query: string;
  rawQuery: true;
  resultFormat: 'time_series' | 'table';
  alias?: string;
};

export type PanelType = 'stat' | 'gauge' | 'timeseries' | 'bargauge' | 'table' | 'state-timeline' | 'barchart';

export interface Panel {
  id: number;
  type: PanelType;
  title: string;
  description?: string;
  gridPos: GridPos;
  datasource: DataSourceRef;
  targets: InfluxQLTarget[];
  fieldConfig: { defaults: FieldConfig; overrides: FieldOverride[] };
  options: Record<string, unknown>;
  transformations?: Array<{ id: string; options: unknown }>;
  interval?: string;
  maxDataPoints?: number;
}

export interface RowPanel {
  id: number;
  type: 'row';
  title: string;
  collapsed: false;
  gridPos: GridPos;
  panels: [];
}

export interface VariableOption {
  text: string | string[];
  value: string | string[];
  selected?: boolean;
}

export interface QueryVariable {
  type: 'query';
  name: string;
  label: string;
  datasource: DataSourceRef;
  query: string;
  definition: string;
  refresh: 1 | 2;
  multi: boolean;
  includeAll: boolean;
  current: VariableOption;
  options: VariableOption[];
  sort: 1;
  hide: 0;
  regex: string;
}

/** An InfluxQL annotation in the form Grafana's InfluxDB datasource has always read. */
export interface InfluxAnnotation {
  name: string;
  datasource: DataSourceRef;
  enable: boolean;
  hide?: boolean;
  iconColor: string;
  query: string;
  textColumn: string;
  tagsColumn: string;
  titleColumn?: string;
}
export interface BuiltInAnnotation {
  builtIn: 1;
  name: string;
  type: 'dashboard';
  datasource: { type: 'grafana'; uid: '-- Grafana --' };
  enable: true;
  hide: true;
  iconColor: string;
}

export interface DashboardLink {
  title: string;
  type: 'dashboards';
  tags: string[];
  asDropdown: boolean;
  includeVars: boolean;
  keepTime: boolean;
  icon: string;
  targetBlank: boolean;
  tooltip: string;
  url: string;
}

export interface Dashboard {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  timezone: string;
  editable: boolean;
  graphTooltip: 0 | 1 | 2;
  refresh: string;
  schemaVersion: number;
  version: number;
  time: { from: string; to: string };
  timepicker: { refresh_intervals: string[] };
  fiscalYearStartMonth: 0;
  liveNow: false;
  weekStart: '';
  links: DashboardLink[];
  annotations: { list: Array<BuiltInAnnotation | InfluxAnnotation> };
  templating: { list: QueryVariable[] };
  panels: Array<Panel | RowPanel>;
}

// ---------------------------------------------------------------------------------------------
// Builders

export const COLORS = {
  green: 'green',
  yellow: 'yellow',
  orange: 'orange',
  red: 'red',
  blue: 'blue',
  purple: 'purple',
  text: 'text',
  transparent: 'transparent',
} as const;

/** Threshold steps: the base colour, then [value, colour] pairs in ascending order. */
export function thresholds(base: string, ...steps: Array<[number, string]>): ThresholdsConfig {
  const sorted = [...steps].sort((a, b) => a[0] - b[0]);
  return { mode: 'absolute', steps: [{ color: base, value: null }, ...sorted.map(([value, color]) => ({ color, value }))] };
}

export function influxql(query: string, options: { alias?: string; format?: 'time_series' | 'table' } = {}): Omit<InfluxQLTarget, 'refId'> {
  return {
    datasource: DATASOURCE,
    query: query.replace(/\s+/g, ' ').trim(),
    rawQuery: true,
    resultFormat: options.format ?? 'time_series',
    ...(options.alias === undefined ? {} : { alias: options.alias }),
  };
}

export interface PanelSpec {
  type: PanelType;
  title: string;
  description?: string;
  /** Width (of 24 columns) and height (grid rows of 30 px). */
  w: number;
  h: number;
  targets: Array<Omit<InfluxQLTarget, 'refId'>>;
  defaults: FieldConfig;
  overrides?: FieldOverride[];
  options?: Record<string, unknown>;
  transformations?: Array<{ id: string; options: unknown }>;
  interval?: string;
}

const REDUCE_LAST = { calcs: ['lastNotNull'], fields: '', values: false };

/** Panel options per type, with the defaults the dashboards want; `spec.options` wins. */
function optionsFor(type: PanelType, extra: Record<string, unknown> | undefined): Record<string, unknown> {
  const base: Record<PanelType, Record<string, unknown>> = {
    stat: { reduceOptions: REDUCE_LAST, colorMode: 'background', graphMode: 'none', justifyMode: 'center', orientation: 'auto', textMode: 'value_and_name', wideLayout: true, showPercentChange: false },
    gauge: { reduceOptions: REDUCE_LAST, orientation: 'auto', showThresholdLabels: false, showThresholdMarkers: true, minVizWidth: 75, minVizHeight: 75 },
    bargauge: { reduceOptions: REDUCE_LAST, orientation: 'horizontal', displayMode: 'gradient', showUnfilled: true, valueMode: 'color', namePlacement: 'auto', minVizWidth: 8, minVizHeight: 16, sizing: 'auto', maxVizHeight: 300 },
    timeseries: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true, calcs: [] }, tooltip: { mode: 'multi', sort: 'none' } },
    table: { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], countRows: false, fields: '' } },
    'state-timeline': { mergeValues: true, showValue: 'auto', alignValue: 'left', rowHeight: 0.9, legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'single', sort: 'none' } },
    barchart: { orientation: 'auto', xTickLabelRotation: 0, xTickLabelSpacing: 100, showValue: 'auto', stacking: 'none', groupWidth: 0.7, barWidth: 0.9, barRadius: 0, fullHighlight: false, legend: { displayMode: 'list', placement: 'bottom', showLegend: true, calcs: [] }, tooltip: { mode: 'multi', sort: 'none' } },
  };
  return { ...base[type], ...extra };
}

/** Custom field config of time series: lines, gaps bridged up to 10 min, thresholds drawn when asked. */
export function seriesStyle(custom: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    drawStyle: 'line',
    lineInterpolation: 'linear',
    lineWidth: 1,
    fillOpacity: 10,
    gradientMode: 'none',
    showPoints: 'never',
    pointSize: 4,
    spanNulls: 600_000,
    axisPlacement: 'auto',
    axisLabel: '',
    stacking: { mode: 'none', group: 'A' },
    thresholdsStyle: { mode: 'off' },
    ...custom,
  };
}

/**
 * Lays panels out left to right on Grafana's 24-column grid, wrapping to a new line when a panel
 * does not fit; `row()` starts a titled row. Ids and refIds are assigned in order.
 */
export class Layout {
  private readonly panels: Array<Panel | RowPanel> = [];
  private nextId = 1;
  private x = 0;
  private y = 0;
  private lineHeight = 0;

  row(title: string): this {
    this.newLine();
    this.panels.push({ id: this.nextId++, type: 'row', title, collapsed: false, gridPos: { x: 0, y: this.y, w: 24, h: 1 }, panels: [] });
    this.y += 1;
    return this;
  }

  add(spec: PanelSpec): this {
    if (spec.w < 1 || spec.w > 24) throw new RangeError(`panel "${spec.title}": width ${spec.w} is not 1–24`);
    if (this.x + spec.w > 24) this.newLine();
    const panel: Panel = {
      id: this.nextId++,
      type: spec.type,
      title: spec.title,
      ...(spec.description === undefined ? {} : { description: spec.description }),
      gridPos: { x: this.x, y: this.y, w: spec.w, h: spec.h },
      datasource: DATASOURCE,
      targets: spec.targets.map((target, i) => ({ refId: String.fromCharCode(65 + i), ...target })),
      fieldConfig: { defaults: spec.defaults, overrides: spec.overrides ?? [] },
      options: optionsFor(spec.type, spec.options),
      ...(spec.transformations ? { transformations: spec.transformations } : {}),
      ...(spec.interval === undefined ? {} : { interval: spec.interval }),
    };
    this.panels.push(panel);
    this.x += spec.w;
    this.lineHeight = Math.max(this.lineHeight, spec.h);
    return this;
  }

  build(): Array<Panel | RowPanel> {
    return this.panels;
  }

  private newLine(): void {
    this.y += this.lineHeight;
    this.x = 0;
    this.lineHeight = 0;
  }
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  timezone: string;
  refresh: string;
  from: string;
  variables: QueryVariable[];
  annotations: InfluxAnnotation[];
  panels: Array<Panel | RowPanel>;
}

/** Every hydrowatch dashboard carries this tag: the links bar lists the others by it. */
export const DASHBOARD_TAG = 'hydrowatch';

export function dashboard(spec: DashboardSpec): Dashboard {
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: [DASHBOARD_TAG],
    timezone: spec.timezone,
    editable: false,
    graphTooltip: 1,
    refresh: spec.refresh,
    schemaVersion: SCHEMA_VERSION,
    version: 1,
    time: { from: spec.from, to: 'now' },
    timepicker: { refresh_intervals: ['10s', '30s', '1m', '5m', '15m'] },
    fiscalYearStartMonth: 0,
    liveNow: false,
    weekStart: '',
    links: [
      {
        title: 'hydrowatch',
        type: 'dashboards',
        tags: [DASHBOARD_TAG],
        asDropdown: false,
        includeVars: true,
        keepTime: true,
        icon: 'external link',
        targetBlank: false,
        tooltip: '',
        url: '',
      },
    ],
    annotations: {
      list: [
        { builtIn: 1, name: 'Annotations & Alerts', type: 'dashboard', datasource: { type: 'grafana', uid: '-- Grafana --' }, enable: true, hide: true, iconColor: 'rgba(0, 211, 255, 1)' },
        ...spec.annotations,
      ],
    },
    templating: { list: spec.variables },
    panels: spec.panels,
  };
}

/** A multi-value query variable with All selected (Grafana expands All to every value, regex-escaped). */
export function queryVariable(name: string, label: string, query: string): QueryVariable {
  return {
    type: 'query',
    name,
    label,
    datasource: DATASOURCE,
    query,
    definition: query,
    refresh: 2,
    multi: true,
    includeAll: true,
    current: { selected: true, text: ['All'], value: ['$__all'] },
    options: [],
    sort: 1,
    hide: 0,
    regex: '',
  };
}
