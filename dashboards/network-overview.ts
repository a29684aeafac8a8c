// 1. Network overview — the dispatch wall screen: what is wrong now, where, and how long until a
// reservoir runs dry.
import { COLORS, type Dashboard, dashboard, influxql, Layout, queryVariable, seriesStyle, thresholds } from './grafana.js';
import { ACTIVE_ALERT_LIST, ALERT_ANNOTATION, SEVERITY_COLORS, siteVariable, timeToEmptyPanel, UNITS } from './common.js';
import { activeAlerts, ASSET, hourlyDemand, LOOKBACK, quote, runningMinutes, SITE, SITE_ASSET, stationFilter, tz, WITH_DAY_BEFORE } from './influxql.js';
import type { Network } from './network.js';

export function networkOverview(network: Network): Dashboard {
  const { limits } = network;
  const layout = new Layout();

  layout.row('Now');
  layout.add({
    type: 'stat',
    title: 'Heat wave',
    description: `Regions in a heat wave now: ${limits.hotDay_c} °C or more on consecutive local days, or declared by dispatch (heatwave measurement, written by hydrowatch's heat-wave assessment).`,
    w: 4,
    h: 5,
    targets: [influxql(`SELECT count("last") FROM (SELECT last("active") FROM "heatwave" WHERE ${LOOKBACK} GROUP BY "region") WHERE "last" = true`, { alias: 'heat wave' })],
    defaults: {
      unit: UNITS.count,
      noValue: 'No heat wave',
      color: { mode: 'thresholds' },
      thresholds: thresholds(COLORS.green, [1, COLORS.red]),
      mappings: [{ type: 'range', options: { from: 1, to: null, result: { text: 'HEAT WAVE', color: COLORS.red } } }],
    },
    options: { textMode: 'value', colorMode: 'background' },
  });
  layout.add({
    type: 'stat',
    title: 'Air temperature (max today / now)',
    description: 'Highest air temperature since local midnight, and the latest reading. Yellow: a hot day (heat-wave count); orange and red: CMA high-temperature warning levels.',
    w: 5,
    h: 5,
    targets: [
      influxql(`SELECT max("air_temp_c") FROM "weather" WHERE ${SITE_ASSET} AND time > \${__to}ms - 24h AND time <= \${__to}ms GROUP BY time(1d) fill(none) ${tz(network.timezone)}`, { alias: 'max today' }),
      influxql(`SELECT last("air_temp_c") FROM "weather" WHERE ${SITE_ASSET} AND $timeFilter`, { alias: 'now' }),
    ],
    defaults: { unit: UNITS.celsius, decimals: 1, color: { mode: 'thresholds' }, thresholds: tempThresholds(network) },
    options: { textMode: 'value_and_name' },
  });
  layout.add({
    type: 'stat',
    title: 'Hot days in a row',
    description: 'Consecutive hot days per region, from the latest heat-wave assessment. Three make a heat wave.',
    w: 3,
    h: 5,
    targets: [influxql(`SELECT last("hot_days") FROM "heatwave" WHERE ${LOOKBACK} GROUP BY "region"`, { alias: '$tag_region' })],
    defaults: { unit: UNITS.days, noValue: '0', color: { mode: 'thresholds' }, thresholds: thresholds(COLORS.green, [1, COLORS.yellow], [3, COLORS.red]) },
  });
  layout.add({
    type: 'stat',
    title: 'Active alerts by severity',
    description: 'Alerts whose condition holds now (acknowledged or not), by severity.',
    w: 8,
    h: 5,
    targets: [influxql(`${activeAlerts('count("state")')} GROUP BY "severity"`, { alias: '$tag_severity' })],
    defaults: { unit: UNITS.alerts, noValue: '0', color: { mode: 'thresholds' }, thresholds: thresholds(COLORS.green, [1, COLORS.orange]) },
    overrides: Object.entries(SEVERITY_COLORS).map(([severity, color]) => ({
      matcher: { id: 'byName', options: severity },
      properties: [{ id: 'thresholds', value: thresholds(COLORS.green, [1, color]) }],
    })),
    options: { textMode: 'value_and_name' },
  });
  layout.add({
    type: 'stat',
    title: 'Devices offline',
    description: 'Devices whose last status message (their MQTT last will) says offline.',
    w: 4,
    h: 5,
    targets: [influxql(`SELECT count("last") FROM (SELECT last("online") FROM "status" WHERE ${SITE_ASSET} AND ${LOOKBACK} GROUP BY "site", "asset", "kind") WHERE "last" = false`, { alias: 'offline' })],
    defaults: { unit: UNITS.devices, noValue: '0', color: { mode: 'thresholds' }, thresholds: thresholds(COLORS.green, [1, COLORS.red]) },
    options: { textMode: 'value' },
  });

  layout.row('Reservoirs and pumps');
  layout.add({
    type: 'gauge',
    title: 'Reservoir levels',
    description: `Level between the minimum operating level (0 %) and overflow (100 %). Red under ${limits.reservoirCriticalPct} % (critical) and from ${limits.reservoirOverflowPct} % (overflow); orange under ${limits.reservoirLowPct} % (low alarm); yellow under ${limits.reservoirLowHeatwavePct} % (the low alarm during a heat wave).`,
    w: 10,
    h: 7,
    targets: [influxql(`SELECT last("level_pct") FROM "reservoir" WHERE ${SITE_ASSET} AND $timeFilter GROUP BY "asset"`, { alias: '$tag_asset' })],
    defaults: { unit: UNITS.percent, decimals: 0, min: 0, max: 100, color: { mode: 'thresholds' }, thresholds: levelThresholds(network) },
  });
  layout.add(timeToEmptyPanel(network, { w: 7, h: 7, stat: true }));
  for (const station of network.stations) {
    const total = station.pumps.length;
    const standby = station.pumps.filter((p) => p.role === 'standby').length;
    layout.add({
      type: 'stat',
      title: `Pumps running at ${station.name}`,
      description: `${total} pumps (${total - standby} duty, ${standby} standby). Red: every pump is running, no standby left.`,
      w: 7,
      h: 7,
      targets: [influxql(`SELECT count("last") FROM (SELECT last("running") FROM "pump" WHERE ${stationFilter(station)} AND ${SITE} AND ${LOOKBACK} GROUP BY "asset") WHERE "last" = true`, { alias: 'running' })],
      defaults: {
        unit: `suffix: of ${total} running`,
        noValue: '0',
        min: 0,
        max: total,
        color: { mode: 'thresholds' },
        thresholds: thresholds(COLORS.green, [total, COLORS.red]),
        mappings: [{ type: 'value', options: { [String(total)]: { text: `${total} of ${total}: no standby`, color: COLORS.red } } }],
      },
      options: { textMode: 'value', graphMode: 'none' },
    });
  }

  layout.row('Trends');
  layout.add({
    type: 'timeseries',
    title: 'Total demand against baseline',
    description:
      'Sum of the district meters (m³/h), against the rolling 24-hour mean (the average hour of the last day) and that mean × the demand-peak factor. In a heat wave the rolling mean climbs day after day.',
    w: 12,
    h: 8,
    interval: '1m',
    targets: [
      influxql(`SELECT sum("m") FROM (SELECT mean("flow_m3h") AS "m" FROM "meter" WHERE ${SITE_ASSET} AND $timeFilter GROUP BY time($__interval), "asset" fill(none)) WHERE $timeFilter GROUP BY time($__interval) fill(none)`, { alias: 'demand' }),
      influxql(`SELECT moving_average(sum("total"), 24) FROM (${hourlyDemand(WITH_DAY_BEFORE, network.timezone)}) WHERE ${WITH_DAY_BEFORE} GROUP BY time(1h)`, { alias: 'rolling 24 h mean' }),
      influxql(`SELECT moving_average(sum("total"), 24) * ${network.limits.demandFactor} FROM (${hourlyDemand(WITH_DAY_BEFORE, network.timezone)}) WHERE ${WITH_DAY_BEFORE} GROUP BY time(1h)`, { alias: `peak limit (× ${network.limits.demandFactor})` }),
    ],
    defaults: { unit: UNITS.flow, min: 0, custom: seriesStyle() },
    overrides: [
      { matcher: { id: 'byRegexp', options: '^rolling' }, properties: [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }, { id: 'color', value: { mode: 'fixed', fixedColor: COLORS.blue } }] },
      { matcher: { id: 'byRegexp', options: '^peak limit' }, properties: [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [4, 6] } }, { id: 'color', value: { mode: 'fixed', fixedColor: COLORS.orange } }] },
    ],
  });
  layout.add({
    type: 'timeseries',
    title: 'Air temperature',
    w: 12,
    h: 8,
    targets: [influxql(`SELECT mean("air_temp_c") FROM "weather" WHERE ${SITE_ASSET} AND $timeFilter GROUP BY time($__interval), "asset" fill(none)`, { alias: '$tag_asset' })],
    defaults: { unit: UNITS.celsius, custom: seriesStyle({ thresholdsStyle: { mode: 'line' } }), color: { mode: 'palette-classic' }, thresholds: tempThresholds(network) },
  });
  layout.add({
    type: 'timeseries',
    title: 'Canal levels and flows',
    description: 'Level (left axis) and flow (right axis) of each canal, with its normal level and flow from the asset registry (dashed). Level up while flow falls: weeds.',
    w: 12,
    h: 8,
    targets: [
      influxql(`SELECT mean("level_m") FROM "canal" WHERE ${SITE_ASSET} AND $timeFilter GROUP BY time($__interval), "asset" fill(none)`, { alias: '$tag_asset level' }),
      influxql(`SELECT mean("flow_m3h") FROM "canal" WHERE ${SITE_ASSET} AND $timeFilter GROUP BY time($__interval), "asset" fill(none)`, { alias: '$tag_asset flow' }),
      ...network.canals.map((canal) =>
        influxql(`SELECT mean("level_m") * 0 + ${canal.normalLevel_m} FROM "canal" WHERE "asset" = ${quote(canal.id)} AND ${SITE} AND ${ASSET} AND $timeFilter GROUP BY time($__interval) fill(none)`, { alias: `${canal.id} normal level` }),
      ),
    ],
    defaults: { unit: UNITS.metres, custom: seriesStyle() },
    overrides: [
      { matcher: { id: 'byRegexp', options: ' flow$' }, properties: [{ id: 'unit', value: UNITS.flow }, { id: 'custom.axisPlacement', value: 'right' }] },
      { matcher: { id: 'byRegexp', options: ' normal level$' }, properties: [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }] },
    ],
  });
  layout.add({
    type: 'timeseries',
    title: 'Pumps running per station',
    description: 'Most pumps running at once in each interval; the dashed line is the number of pumps (no standby left when reached).',
    w: 12,
    h: 8,
    interval: '1m',
    targets: network.stations.flatMap((station) => [
      influxql(`SELECT max("n") FROM (SELECT sum("on") AS "n" FROM (${runningMinutes(`${stationFilter(station)} AND ${SITE}`, false)}) WHERE $timeFilter GROUP BY time(1m) fill(none)) WHERE $timeFilter GROUP BY time($__interval) fill(0)`, { alias: `${station.name} running` }),
      influxql(`SELECT count("running") * 0 + ${station.pumps.length} FROM "pump" WHERE ${stationFilter(station)} AND ${SITE} AND $timeFilter GROUP BY time($__interval) fill(none)`, { alias: `${station.name} pumps` }),
    ]),
    defaults: { unit: UNITS.pumps, min: 0, decimals: 0, custom: seriesStyle({ lineInterpolation: 'stepAfter', fillOpacity: 20 }) },
    overrides: [{ matcher: { id: 'byRegexp', options: ' pumps$' }, properties: [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }, { id: 'custom.fillOpacity', value: 0 }] }],
  });

  layout.row('What is wrong');
  layout.add(ACTIVE_ALERT_LIST({ w: 24, h: 8 }));

  return dashboard({
    uid: 'hydrowatch-overview',
    title: 'hydrowatch · Network overview',
    description: 'Dispatch wall screen: heat wave, active alerts, reservoirs and time to empty, pumps and standby, demand, canals, devices offline.',
    timezone: network.timezone,
    refresh: '30s',
    from: 'now-24h',
    variables: [siteVariable(['pump', 'reservoir', 'canal', 'meter', 'weather', 'status', 'alert']), queryVariable('asset', 'Asset', assetQuery(['pump', 'reservoir', 'canal', 'meter', 'weather']))],
    annotations: [ALERT_ANNOTATION],
    panels: layout.build(),
  });
}

export function assetQuery(measurements: readonly string[]): string {
  const from = measurements.length === 1 ? `"${measurements[0]}"` : `/^(${measurements.join('|')})$/`;
  return `SHOW TAG VALUES FROM ${from} WITH KEY = "asset" WHERE ${SITE}`;
}

export function tempThresholds(network: Network) {
  return thresholds(COLORS.green, [network.limits.hotDay_c, COLORS.yellow], [network.limits.orange_c, COLORS.orange], [network.limits.red_c, COLORS.red]);
}

export function levelThresholds(network: Network) {
  const { limits } = network;
  return thresholds(
    COLORS.red,
    [limits.reservoirCriticalPct, COLORS.orange],
    [limits.reservoirLowPct, COLORS.yellow],
    [limits.reservoirLowHeatwavePct, COLORS.green],
    [limits.reservoirOverflowPct, COLORS.red],
  );
}
