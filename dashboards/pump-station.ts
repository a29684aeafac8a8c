// 2. Pump station — per pump: flow, pressures, power, specific energy, vibration, motor
// temperature, starts per hour and run hours.
import { COLORS, type Dashboard, dashboard, influxql, Layout, queryVariable, seriesStyle, thresholds } from './grafana.js';
import { ALERT_ANNOTATION, siteVariable, UNITS } from './common.js';
import { runningMinutes, SITE_ASSET } from './influxql.js';
import type { Network } from './network.js';
import { assetQuery } from './network-overview.js';

const perPump = (select: string, where = ''): string =>
  `SELECT ${select} FROM "pump" WHERE ${SITE_ASSET}${where} AND $timeFilter GROUP BY time($__interval), "asset" fill(none)`;

export function pumpStation(network: Network): Dashboard {
  const { limits } = network;
  const layout = new Layout();
  const stations = network.stations.map((s) => `${s.name} (${s.pumps.map((p) => `${p.id} ${p.role}`).join(', ')})`).join('; ');

  layout.row('Running');
  layout.add({
    type: 'state-timeline',
    title: 'Running',
    description: `When each pump ran. Stations: ${stations || 'none registered'}.`,
    w: 16,
    h: 6,
    targets: [influxql(perPump('last("running")').replace('fill(none)', 'fill(previous)'), { alias: '$tag_asset' })],
    defaults: {
      unit: UNITS.text,
      color: { mode: 'thresholds' },
      thresholds: thresholds(COLORS.green),
      mappings: [{ type: 'value', options: { true: { text: 'running', color: COLORS.green, index: 0 }, false: { text: 'stopped', color: 'rgba(128, 128, 128, 0.35)', index: 1 } } }],
      custom: { fillOpacity: 80, lineWidth: 0 },
    },
  });
  layout.add({
    type: 'bargauge',
    title: 'Run hours',
    description: 'Hours each pump ran in the selected time range (minutes with any running reading).',
    w: 8,
    h: 6,
    targets: [influxql(`SELECT sum("on") / 60 FROM (${runningMinutes(SITE_ASSET, true)}) GROUP BY "asset"`, { alias: '$tag_asset' })],
    defaults: { unit: UNITS.hours, decimals: 1, min: 0, color: { mode: 'fixed', fixedColor: COLORS.blue } },
    options: { displayMode: 'basic' },
  });

  layout.row('Hydraulics');
  layout.add({
    type: 'timeseries',
    title: 'Flow',
    w: 12,
    h: 8,
    targets: [influxql(perPump('mean("flow_m3h")'), { alias: '$tag_asset' })],
    defaults: { unit: UNITS.flow, min: 0, custom: seriesStyle({ stacking: { mode: 'normal', group: 'A' }, fillOpacity: 30 }) },
  });
  layout.add({
    type: 'timeseries',
    title: 'Suction and discharge pressure',
    description: 'Suction may be below 0 bar when a pump lifts from a canal.',
    w: 12,
    h: 8,
    targets: [
      influxql(perPump('mean("suction_bar")'), { alias: '$tag_asset suction' }),
      influxql(perPump('mean("discharge_bar")'), { alias: '$tag_asset discharge' }),
    ],
    defaults: { unit: UNITS.bar, custom: seriesStyle() },
    overrides: [{ matcher: { id: 'byRegexp', options: ' suction$' }, properties: [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }] }],
  });

  layout.row('Energy');
  layout.add({
    type: 'timeseries',
    title: 'Power',
    w: 12,
    h: 8,
    targets: [influxql(perPump('mean("power_kw")'), { alias: '$tag_asset' })],
    defaults: { unit: UNITS.kilowatt, min: 0, custom: seriesStyle({ stacking: { mode: 'normal', group: 'A' }, fillOpacity: 30 }) },
  });
  layout.add({
    type: 'timeseries',
    title: 'Specific energy',
    description: 'Electrical energy per cubic metre pumped: power ÷ flow (kW ÷ m³/h = kWh/m³), while a pump delivers more than 5 m³/h; "station" is the total power over the total flow. Rising specific energy at the same head means wear or a clogged intake.',
    w: 12,
    h: 8,
    targets: [
      influxql(perPump('mean("power_kw") / mean("flow_m3h")', ' AND "flow_m3h" > 5'), { alias: '$tag_asset' }),
      influxql(
        `SELECT sum("p") / sum("q") FROM (SELECT mean("power_kw") AS "p", mean("flow_m3h") AS "q" FROM "pump" WHERE ${SITE_ASSET} AND "flow_m3h" > 5 AND $timeFilter GROUP BY time($__interval), "asset" fill(none)) WHERE $timeFilter GROUP BY time($__interval) fill(none)`,
        { alias: 'station' },
      ),
    ],
    defaults: { unit: UNITS.specificEnergy, decimals: 3, min: 0, custom: seriesStyle() },
    overrides: [{ matcher: { id: 'byName', options: 'station' }, properties: [{ id: 'custom.lineWidth', value: 2 }, { id: 'color', value: { mode: 'fixed', fixedColor: COLORS.purple } }] }],
  });

  layout.row('Condition');
  layout.add({
    type: 'timeseries',
    title: 'Vibration',
    description: `RMS velocity. ISO 10816 zones: yellow from 2.8 mm/s (restricted long-term operation), red from ${limits.vibrationHigh_mms} mm/s (the alarm: damage likely).`,
    w: 8,
    h: 8,
    targets: [influxql(perPump('mean("vibration_mms")'), { alias: '$tag_asset' })],
    defaults: { unit: UNITS.vibration, min: 0, color: { mode: 'palette-classic' }, thresholds: thresholds(COLORS.green, [2.8, COLORS.yellow], [limits.vibrationHigh_mms, COLORS.red]), custom: seriesStyle({ thresholdsStyle: { mode: 'line' } }) },
  });
  layout.add({
    type: 'timeseries',
    title: 'Motor temperature',
    description: `Red line: the motor-hot alarm (${limits.motorHot_c} °C).`,
    w: 8,
    h: 8,
    targets: [influxql(perPump('mean("motor_temp_c")'), { alias: '$tag_asset' })],
    defaults: { unit: UNITS.celsius, color: { mode: 'palette-classic' }, thresholds: thresholds(COLORS.green, [limits.motorHot_c, COLORS.red]), custom: seriesStyle({ thresholdsStyle: { mode: 'line' } }) },
  });
  layout.add({
    type: 'timeseries',
    title: 'Starts per hour',
    description: `Starts (stopped → running) in each hour. Red line: the pump-cycling alarm (${limits.maxStartsPerHour} per hour, usual motor practice).`,
    w: 8,
    h: 8,
    targets: [
      influxql(
        `SELECT count("d") FROM (SELECT difference("on") AS "d" FROM (${runningMinutes(SITE_ASSET, true)}) GROUP BY "asset") WHERE "d" > 0 AND $timeFilter GROUP BY time(1h), "asset" fill(0)`,
        { alias: '$tag_asset' },
      ),
    ],
    defaults: { unit: UNITS.startsPerHour, min: 0, decimals: 0, color: { mode: 'palette-classic' }, thresholds: thresholds(COLORS.green, [limits.maxStartsPerHour, COLORS.red]), custom: seriesStyle({ drawStyle: 'bars', fillOpacity: 60, thresholdsStyle: { mode: 'line' } }) },
  });

  return dashboard({
    uid: 'hydrowatch-pump-station',
    title: 'hydrowatch · Pump station',
    description: 'Pumps: running, flow, suction/discharge pressure, power, specific energy, vibration, motor temperature, starts per hour, run hours.',
    timezone: network.timezone,
    refresh: '1m',
    from: 'now-24h',
    variables: [siteVariable(['pump']), queryVariable('asset', 'Pump', assetQuery(['pump']))],
    annotations: [ALERT_ANNOTATION],
    panels: layout.build(),
  });
}
