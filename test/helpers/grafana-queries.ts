// What Grafana does to a dashboard's InfluxQL before it reaches InfluxDB: substitutes the time
// range, the interval and the template variables. Used to run every panel's query for real.
import type { Dashboard, Panel } from '../../dashboards/grafana.js';

export interface QueryToRun {
  where: string;
  query: string;
}

/** Grafana's interval steps (its rangeutil), enough for the ranges the tests use. */
const STEPS_MS = [1, 10, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map((s) => s * 1000);

const parseInterval = (text: string): number => {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!match) throw new Error(`cannot read interval ${text}`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
};

const formatInterval = (ms: number): string =>
  ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;

/** $__interval as Grafana computes it: range ÷ max data points (the panel's width), at least the panel's min interval and the datasource's 10 s. */
export function grafanaInterval(fromMs: number, toMs: number, panel: Pick<Panel, 'gridPos' | 'interval'>, datasourceMin = '10s'): string {
  const maxDataPoints = Math.round((panel.gridPos.w / 24) * 1600);
  const raw = (toMs - fromMs) / maxDataPoints;
  const min = Math.max(parseInterval(datasourceMin), panel.interval ? parseInterval(panel.interval) : 0);
  const step = STEPS_MS.find((s) => s >= raw) ?? STEPS_MS[STEPS_MS.length - 1]!;
  return formatInterval(Math.max(step, min));
}

/** Grafana's regex formatting of a multi-value variable: each value escaped, joined as (a|b). */
export function regexValue(values: readonly string[]): string {
  const escaped = values.map((v) => v.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&'));
  return escaped.length === 1 ? escaped[0]! : `(${escaped.join('|')})`;
}

export function substitute(query: string, context: { fromMs: number; toMs: number; interval: string; variables: Record<string, string> }): string {
  let out = query
    .replaceAll('$timeFilter', `time >= ${context.fromMs}ms and time <= ${context.toMs}ms`)
    .replaceAll('${__from}', String(context.fromMs))
    .replaceAll('${__to}', String(context.toMs))
    .replaceAll('$__interval_ms', String(parseInterval(context.interval)))
    .replaceAll('$__interval', context.interval)
    .replaceAll('$interval', context.interval);
  for (const [name, value] of Object.entries(context.variables)) out = out.replace(new RegExp(`\\$\\{${name}\\}|\\$${name}\\b`, 'g'), value);
  const left = /\$\{?[A-Za-z_]\w*/.exec(out);
  if (left) throw new Error(`unsubstituted Grafana variable ${left[0]} in: ${out}`);
  return out;
}

/** Every panel target and annotation of a dashboard, substituted for this range and these variables. */
export function dashboardQueries(dashboard: Dashboard, range: { fromMs: number; toMs: number }, variables: Record<string, string>): QueryToRun[] {
  const queries: QueryToRun[] = [];
  for (const panel of dashboard.panels) {
    if (panel.type === 'row') continue;
    const interval = grafanaInterval(range.fromMs, range.toMs, panel);
    for (const target of panel.targets) {
      queries.push({ where: `${dashboard.uid} › ${panel.title} › ${target.refId}`, query: substitute(target.query, { ...range, interval, variables }) });
    }
  }
  for (const annotation of dashboard.annotations.list) {
    if (!('query' in annotation)) continue;
    queries.push({ where: `${dashboard.uid} › annotation ${annotation.name}`, query: substitute(annotation.query, { ...range, interval: '1m', variables }) });
  }
  return queries;
}
