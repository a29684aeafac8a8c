// InfluxQL shared by the dashboards. Every query runs on InfluxDB 1.6 (Debian's, used by the
// tests), on 2.x through its v1 API and on 3.x. Grafana substitutes $timeFilter, $__interval,
// ${__from}/${__to} (epoch ms) and the $site / $asset variables (multi-value: `(a|b)`).
//
// Two quirks of 1.6 shape these: a boolean cannot be summed or cast, so "running" becomes a number
// as ceil(count(running = true) / 1000) per minute (1 if the pump ran in that minute, else 0);
// an outer query over a subquery returns nothing if it has a time condition but no GROUP BY
// time(), so such outer queries leave the time range to the inner one; and an outer GROUP BY
// time() over an inner fill(0) or fill(previous) returns each row hundreds of times, so inner
// queries under one use fill(none) and the outer one fills.
import type { Station } from './network.js';

export const SITE = `"site" =~ /^$site$/`;
export const ASSET = `"asset" =~ /^$asset$/`;
export const SITE_ASSET = `${SITE} AND ${ASSET}`;
/** A state that started before the dashboard's range still counts: look back 30 days from its end. */
export const LOOKBACK = 'time > ${__to}ms - 30d AND time <= ${__to}ms';
/** Panels that need a day of history before the range starts (rolling averages). */
export const WITH_DAY_BEFORE = 'time > ${__from}ms - 24h AND time <= ${__to}ms';

/** A regex literal matching exactly these ids. */
export function exactly(ids: readonly string[]): string {
  return `/^(${ids.map((id) => id.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$/`;
}

export const quote = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export function stationFilter(station: Station): string {
  return `"site" = ${quote(station.site)} AND "asset" =~ ${exactly(station.pumps.map((p) => p.id))}`;
}

/**
 * 1 for each minute a pump was running (any `running = true` reading in it), per asset; with
 * `zeros`, 0 for the other minutes. 1.6 repeats every row of an outer GROUP BY time() over an inner
 * fill(0)/fill(previous) (one copy per inner bucket), so zeros are only for outer queries without one.
 */
export function runningMinutes(where: string, zeros: boolean): string {
  return `SELECT ceil(count("running") / 1000) AS "on" FROM "pump" WHERE "running" = true AND ${where} AND $timeFilter GROUP BY time(1m), "asset" ${zeros ? 'fill(0)' : 'fill(none)'}`;
}

/** Total of the district meters' mean flow for each hour (m³/h), over the meters the variables select. */
export function hourlyDemand(timeCondition: string, timezone: string): string {
  return `SELECT sum("m") AS "total" FROM (SELECT mean("flow_m3h") AS "m" FROM "meter" WHERE ${SITE_ASSET} AND ${timeCondition} GROUP BY time(1h), "asset" fill(none)) WHERE ${timeCondition} GROUP BY time(1h) ${tz(timezone)}`;
}

export const tz = (timezone: string): string => `tz(${quote(timezone)})`;

/** Alert series (site, asset, rule, severity) whose newest raise/clear event is a raise: active now. */
export function activeAlerts(select: string, extraWhere = ''): string {
  return `SELECT ${select} FROM (SELECT last("state") AS "state", last("message") AS "message", last("value") AS "value", last("threshold") AS "threshold" FROM "alert" WHERE ("state" = 'active' OR "state" = 'cleared') AND ${SITE} AND ${LOOKBACK} GROUP BY "site", "asset", "rule", "severity") WHERE "state" = 'active'${extraWhere}`;
}
