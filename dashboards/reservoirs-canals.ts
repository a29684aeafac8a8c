// 3. Reservoirs and canals — levels against their alarm bands (normal and heat wave), inflow and
// outflow, time to empty, water quality; canal level, flow, velocity and gate.
import { COLORS, type Dashboard, dashboard, influxql, Layout, queryVariable, seriesStyle, thresholds } from './grafana.js';
import { ALERT_ANNOTATION, siteVariable, timeToEmptyPanel, UNITS } from './common.js';
import { ASSET, quote, SITE, SITE_ASSET } from './influxql.js';
import type { Network } from './network.js';
import { assetQuery, levelThresholds } from './network-overview.js';

const series = (measurement: string, field: string): string =>
  `SELECT mean("${field}") FROM "${measurement}" WHERE ${SITE_ASSET} AND $timeFilter GROUP BY time($__interval), "asset" fill(none)`;

export function reservoirsCanals(network: Network): Dashboard {
  const { limits } = network;
  const layout = new Layout();

  layout.row('Reservoirs');
  layout.add({
    type: 'timeseries',
    title: 'Reservoir levels and alarm bands',
    description: `Level between minimum operating level (0 %) and overflow (100 %). Bands: red under ${limits.reservoirCriticalPct} % (critical) and from ${limits.reservoirOverflowPct} % (overflow), orange under ${limits.reservoirLowPct} % (low alarm), yellow under ${limits.reservoirLowHeatwavePct} % (low alarm while a heat wave holds).`,
    w: 16,
    h: 9,
    targets: [influxql(series('reservoir', 'level_pct'), { alias: '$tag_asset' })],
    defaults: { unit: UNITS.percent, min: 0, max: 100, color: { mode: 'palette-classic' }, thresholds: levelThresholds(network), custom: seriesStyle({ lineWidth: 2, fillOpacity: 0, thresholdsStyle: { mode: 'line+area' } }) },
  });
  layout.add(timeToEmptyPanel(network, { w: 8, h: 9, stat: true }));
  layout.add({
    type: 'timeseries',
    title: 'Reservoir levels (m) and minimum operating level',
    description: 'Water depth, with each reservoir’s minimum operating level from the asset registry (dashed).',
    w: 12,
    h: 8,
    targets: [
      influxql(series('reservoir', 'level_m'), { alias: '$tag_asset' }),
      ...network.reservoirs.map((r) =>
        influxql(`SELECT mean("level_m") * 0 + ${r.minLevel_m} FROM "reservoir" WHERE "asset" = ${quote(r.id)} AND ${SITE} AND ${ASSET} AND $timeFilter GROUP BY time($__interval) fill(none)`, { alias: `${r.id} minimum` }),
      ),
    ],
    defaults: { unit: UNITS.metres, min: 0, custom: seriesStyle() },
    overrides: [{ matcher: { id: 'byRegexp', options: ' minimum$' }, properties: [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }, { id: 'color', value: { mode: 'fixed', fixedColor: COLORS.red } }] }],
  });
  layout.add(timeToEmptyPanel(network, { w: 12, h: 8, stat: false }));
  layout.add({
    type: 'timeseries',
    title: 'Inflow and outflow',
    description: 'Outflow above inflow: the reservoir draws down. In a heat wave the night refill falls short.',
    w: 12,
    h: 8,
    targets: [influxql(series('reservoir', 'inflow_m3h'), { alias: '$tag_asset in' }), influxql(series('reservoir', 'outflow_m3h'), { alias: '$tag_asset out' })],
    defaults: { unit: UNITS.flow, min: 0, custom: seriesStyle() },
    overrides: [{ matcher: { id: 'byRegexp', options: ' out$' }, properties: [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }] }],
  });
  layout.add({
    type: 'timeseries',
    title: 'Net outflow',
    description: 'Outflow − inflow: positive while the reservoir draws down.',
    w: 12,
    h: 8,
    targets: [influxql(`SELECT mean("outflow_m3h") - mean("inflow_m3h") FROM "reservoir" WHERE ${SITE_ASSET} AND $timeFilter GROUP BY time($__interval), "asset" fill(none)`, { alias: '$tag_asset' })],
    defaults: { unit: UNITS.flow, custom: seriesStyle({ fillOpacity: 20, thresholdsStyle: { mode: 'off' } }) },
  });
  layout.add({
    type: 'timeseries',
    title: 'Free chlorine',
    w: 12,
    h: 7,
    targets: [influxql(series('reservoir', 'chlorine_mgl'), { alias: '$tag_asset' })],
    defaults: { unit: 'conmgL', decimals: 2, min: 0, color: { mode: 'palette-classic' }, thresholds: thresholds(COLORS.red, [0.2, COLORS.green], [4, COLORS.red]), custom: seriesStyle({ thresholdsStyle: { mode: 'line' } }) },
    description: 'Residual free chlorine. Lines at 0.2 mg/L (too little at the tap) and 4 mg/L (WHO guideline maximum).',
  });
  layout.add({
    type: 'timeseries',
    title: 'Turbidity',
    w: 12,
    h: 7,
    targets: [influxql(series('reservoir', 'turbidity_ntu'), { alias: '$tag_asset' })],
    defaults: { unit: 'suffix: NTU', decimals: 2, min: 0, color: { mode: 'palette-classic' }, thresholds: thresholds(COLORS.green, [1, COLORS.orange]), custom: seriesStyle({ thresholdsStyle: { mode: 'line' } }) },
    description: 'Line at 1 NTU.',
  });

  layout.row('Canals');
  layout.add({
    type: 'timeseries',
    title: 'Canal level',
    description: 'Dashed: each canal’s normal level from the asset registry. A level rising while the flow falls is weeds at a screen or a gate.',
    w: 12,
    h: 8,
    targets: [
      influxql(series('canal', 'level_m'), { alias: '$tag_asset' }),
      ...network.canals.map((c) =>
        influxql(`SELECT mean("level_m") * 0 + ${c.normalLevel_m} FROM "canal" WHERE "asset" = ${quote(c.id)} AND ${SITE} AND ${ASSET} AND $timeFilter GROUP BY time($__interval) fill(none)`, { alias: `${c.id} normal` }),
      ),
    ],
    defaults: { unit: UNITS.metres, custom: seriesStyle() },
    overrides: [{ matcher: { id: 'byRegexp', options: ' normal$' }, properties: [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }] }],
  });
  layout.add({
    type: 'timeseries',
    title: 'Canal flow',
    description: 'Dashed: each canal’s normal flow from the asset registry.',
    w: 12,
    h: 8,
    targets: [
      influxql(series('canal', 'flow_m3h'), { alias: '$tag_asset' }),
      ...network.canals.map((c) =>
        influxql(`SELECT mean("flow_m3h") * 0 + ${c.normalFlow_m3h} FROM "canal" WHERE "asset" = ${quote(c.id)} AND ${SITE} AND ${ASSET} AND $timeFilter GROUP BY time($__interval) fill(none)`, { alias: `${c.id} normal` }),
      ),
    ],
    defaults: { unit: UNITS.flow, min: 0, custom: seriesStyle() },
    overrides: [{ matcher: { id: 'byRegexp', options: ' normal$' }, properties: [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }] }],
  });
  layout.add({
    type: 'timeseries',
    title: 'Canal velocity',
    w: 12,
    h: 7,
    targets: [influxql(series('canal', 'velocity_ms'), { alias: '$tag_asset' })],
    defaults: { unit: 'velocityms', decimals: 2, min: 0, custom: seriesStyle() },
  });
  layout.add({
    type: 'timeseries',
    title: 'Intake gate opening',
    w: 12,
    h: 7,
    targets: [influxql(series('canal', 'gate_pct'), { alias: '$tag_asset' })],
    defaults: { unit: UNITS.percent, min: 0, max: 100, custom: seriesStyle({ lineInterpolation: 'stepAfter' }) },
  });

  return dashboard({
    uid: 'hydrowatch-reservoirs-canals',
    title: 'hydrowatch · Reservoirs and canals',
    description: 'Reservoir levels with their normal and heat-wave alarm bands, time to empty, inflow and outflow, water quality; canal level, flow, velocity and gate.',
    timezone: network.timezone,
    refresh: '1m',
    from: 'now-24h',
    variables: [siteVariable(['reservoir', 'canal']), queryVariable('asset', 'Reservoir or canal', assetQuery(['reservoir', 'canal']))],
    annotations: [ALERT_ANNOTATION],
    panels: layout.build(),
  });
}
