// 4. Heat wave and demand — daily maximum temperature against demand, peak factors, hot days.
import { COLORS, type Dashboard, dashboard, influxql, Layout, queryVariable, seriesStyle, thresholds } from './grafana.js';
import { ALERT_ANNOTATION, siteVariable, UNITS } from './common.js';
import { hourlyDemand, LOOKBACK, SITE_ASSET, tz } from './influxql.js';
import type { Network } from './network.js';
import { assetQuery, tempThresholds } from './network-overview.js';

export function heatwaveDemand(network: Network): Dashboard {
  const { limits } = network;
  const zone = tz(network.timezone);
  const hourly = hourlyDemand('$timeFilter', network.timezone);
  const dailyMax = `SELECT max("air_temp_c") AS "tmax" FROM "weather" WHERE ${SITE_ASSET} AND $timeFilter GROUP BY time(1d) fill(none) ${zone}`;
  const layout = new Layout();

  layout.row('Heat wave');
  layout.add({
    type: 'stat',
    title: 'Hot days in the range',
    description: `Local days (${network.timezone}) whose maximum air temperature reached ${limits.hotDay_c} °C.`,
    w: 6,
    h: 5,
    targets: [influxql(`SELECT count("tmax") FROM (${dailyMax}) WHERE "tmax" >= ${limits.hotDay_c}`, { alias: 'hot days' })],
    defaults: { unit: UNITS.days, noValue: '0', color: { mode: 'thresholds' }, thresholds: thresholds(COLORS.green, [1, COLORS.yellow], [3, COLORS.red]) },
    options: { textMode: 'value' },
  });
  layout.add({
    type: 'stat',
    title: 'Hot days in a row',
    description: 'Consecutive hot days per region from the latest heat-wave assessment; three or more make a heat wave.',
    w: 6,
    h: 5,
    targets: [influxql(`SELECT last("hot_days") FROM "heatwave" WHERE ${LOOKBACK} GROUP BY "region"`, { alias: '$tag_region' })],
    defaults: { unit: UNITS.days, noValue: '0', color: { mode: 'thresholds' }, thresholds: thresholds(COLORS.green, [1, COLORS.yellow], [3, COLORS.red]) },
  });
  layout.add({
    type: 'stat',
    title: 'Peak-day factor',
    description: 'The busiest day’s mean demand over the mean of all days in the range. Design figure for a summer peak day: 1.3–1.5.',
    w: 6,
    h: 5,
    targets: [influxql(`SELECT max("day") / mean("day") FROM (SELECT mean("total") AS "day" FROM (${hourly}) WHERE $timeFilter GROUP BY time(1d) fill(none) ${zone})`, { alias: 'peak day / average day' })],
    defaults: { unit: UNITS.factor, decimals: 2, color: { mode: 'thresholds' }, thresholds: thresholds(COLORS.green, [1.3, COLORS.yellow], [1.5, COLORS.red]) },
    options: { textMode: 'value' },
  });
  layout.add({
    type: 'stat',
    title: 'Peak-hour factor (last day)',
    description: 'The busiest hour of the latest day over that day’s average hour. Design figure: 1.5–2.0.',
    w: 6,
    h: 5,
    targets: [influxql(`SELECT max("total") / mean("total") FROM (${hourly}) WHERE $timeFilter GROUP BY time(1d) fill(none) ${zone}`, { alias: 'peak hour / average hour' })],
    defaults: { unit: UNITS.factor, decimals: 2, color: { mode: 'thresholds' }, thresholds: thresholds(COLORS.green, [1.5, COLORS.yellow], [2, COLORS.red]) },
    options: { textMode: 'value' },
  });

  layout.row('Temperature and demand by day');
  layout.add({
    type: 'timeseries',
    title: 'Daily Tmax against demand',
    description: `Bars: each local day’s demand (sum of the district meters’ hourly means, m³/day). Line: that day’s maximum air temperature; hot from ${limits.hotDay_c} °C.`,
    w: 16,
    h: 9,
    targets: [
      influxql(`SELECT sum("total") FROM (${hourly}) WHERE $timeFilter GROUP BY time(1d) fill(none) ${zone}`, { alias: 'demand' }),
      influxql(dailyMax.replace('AS "tmax" ', ''), { alias: 'Tmax' }),
    ],
    defaults: { unit: UNITS.volumePerDay, min: 0, custom: seriesStyle({ drawStyle: 'bars', fillOpacity: 50, barAlignment: 1 }) },
    overrides: [
      {
        matcher: { id: 'byName', options: 'Tmax' },
        properties: [
          { id: 'unit', value: UNITS.celsius },
          { id: 'custom.drawStyle', value: 'line' },
          { id: 'custom.showPoints', value: 'always' },
          { id: 'custom.axisPlacement', value: 'right' },
          { id: 'min', value: 20 },
          { id: 'color', value: { mode: 'fixed', fixedColor: COLORS.red } },
        ],
      },
    ],
  });
  layout.add({
    type: 'timeseries',
    title: 'Peak-hour factor by day',
    description: 'Each day’s busiest hour over its average hour.',
    w: 8,
    h: 9,
    targets: [influxql(`SELECT max("total") / mean("total") FROM (${hourly}) WHERE $timeFilter GROUP BY time(1d) fill(none) ${zone}`, { alias: 'peak-hour factor' })],
    defaults: { unit: UNITS.factor, decimals: 2, min: 1, color: { mode: 'palette-classic' }, thresholds: thresholds(COLORS.green, [1.5, COLORS.yellow], [2, COLORS.red]), custom: seriesStyle({ drawStyle: 'bars', fillOpacity: 60, thresholdsStyle: { mode: 'line' } }) },
  });

  layout.row('Hour by hour');
  layout.add({
    type: 'timeseries',
    title: 'Demand by district and air temperature',
    description: 'Hourly mean flow through each district meter (stacked) and the air temperature (right axis).',
    w: 24,
    h: 9,
    interval: '1h',
    targets: [
      influxql(`SELECT mean("flow_m3h") FROM "meter" WHERE ${SITE_ASSET} AND $timeFilter GROUP BY time($__interval), "asset" fill(none)`, { alias: '$tag_asset' }),
      influxql(`SELECT mean("air_temp_c") FROM "weather" WHERE ${SITE_ASSET} AND $timeFilter GROUP BY time($__interval) fill(none)`, { alias: 'air temperature' }),
    ],
    defaults: { unit: UNITS.flow, min: 0, custom: seriesStyle({ stacking: { mode: 'normal', group: 'A' }, fillOpacity: 30 }) },
    overrides: [
      {
        matcher: { id: 'byName', options: 'air temperature' },
        properties: [
          { id: 'unit', value: UNITS.celsius },
          { id: 'custom.axisPlacement', value: 'right' },
          { id: 'custom.stacking', value: { mode: 'none', group: 'B' } },
          { id: 'custom.fillOpacity', value: 0 },
          { id: 'min', value: 20 },
          { id: 'color', value: { mode: 'fixed', fixedColor: COLORS.red } },
        ],
      },
    ],
  });
  layout.add({
    type: 'timeseries',
    title: 'Air temperature and heat-wave thresholds',
    w: 24,
    h: 7,
    targets: [influxql(`SELECT mean("air_temp_c") FROM "weather" WHERE ${SITE_ASSET} AND $timeFilter GROUP BY time($__interval), "asset" fill(none)`, { alias: '$tag_asset' })],
    defaults: { unit: UNITS.celsius, color: { mode: 'palette-classic' }, thresholds: tempThresholds(network), custom: seriesStyle({ thresholdsStyle: { mode: 'line' } }) },
    description: `Lines at ${limits.hotDay_c} °C (a hot day), ${limits.orange_c} °C and ${limits.red_c} °C (CMA orange and red warnings).`,
  });

  return dashboard({
    uid: 'hydrowatch-heatwave-demand',
    title: 'hydrowatch · Heat wave and demand',
    description: 'Daily maximum temperature against demand, peak-day and peak-hour factors, hot-day counts.',
    timezone: network.timezone,
    refresh: '5m',
    from: 'now-14d',
    variables: [siteVariable(['meter', 'weather']), queryVariable('asset', 'Meter or weather station', assetQuery(['meter', 'weather']))],
    annotations: [ALERT_ANNOTATION],
    panels: layout.build(),
  });
}
