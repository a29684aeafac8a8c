// 5. Alarms and ingest health — alert events, alarm rate against EEMUA 191, top offenders;
// rejected readings by reason, ingest and write rates, spool depth, devices offline.
import { SELF_MEASUREMENT, SELF_REJECTED_MEASUREMENT } from '../src/self-metrics.js';
import { COLORS, type Dashboard, dashboard, influxql, Layout, queryVariable, seriesStyle, thresholds } from './grafana.js';
import { ACTIVE_ALERT_LIST, ALERT_ANNOTATION, SEVERITY_COLORS, siteVariable, UNITS } from './common.js';
import { LOOKBACK, SITE, SITE_ASSET } from './influxql.js';
import type { Network } from './network.js';
import { assetQuery } from './network-overview.js';

/** EEMUA 191: ~1 alarm per 10 min is very likely acceptable, 2 manageable, more than 10 a flood. */
export const EEMUA = { acceptable: 1, manageable: 2, flood: 10 } as const;

export function alarmsIngest(network: Network): Dashboard {
  const layout = new Layout();
  const severityMappings = Object.fromEntries(Object.entries(SEVERITY_COLORS).map(([s, color], index) => [s, { color, index, text: s.toUpperCase() }]));

  layout.row('Alarms');
  layout.add({
    type: 'timeseries',
    title: 'Alarm rate per 10 minutes (EEMUA 191)',
    description: `Alerts raised in each 10-minute window. EEMUA 191: up to ${EEMUA.acceptable} per 10 min is very likely acceptable, up to ${EEMUA.manageable} manageable; more than ${EEMUA.flood} is an alarm flood.`,
    w: 16,
    h: 8,
    targets: [influxql(`SELECT count("id") FROM "alert" WHERE "state" = 'active' AND ${SITE} AND $timeFilter GROUP BY time(10m) fill(0)`, { alias: 'alerts raised' })],
    defaults: {
      unit: UNITS.per10min,
      min: 0,
      decimals: 0,
      color: { mode: 'thresholds' },
      thresholds: thresholds(COLORS.green, [EEMUA.acceptable + 0.001, COLORS.yellow], [EEMUA.manageable + 0.001, COLORS.orange], [EEMUA.flood + 0.001, COLORS.red]),
      custom: seriesStyle({ drawStyle: 'bars', fillOpacity: 70, thresholdsStyle: { mode: 'dashed' } }),
    },
  });
  layout.add({
    type: 'stat',
    title: 'Alarm load in the range',
    description: 'Mean alerts raised per 10 minutes, and the busiest 10 minutes.',
    w: 8,
    h: 8,
    targets: [
      influxql(`SELECT mean("n") FROM (SELECT count("id") AS "n" FROM "alert" WHERE "state" = 'active' AND ${SITE} AND $timeFilter GROUP BY time(10m) fill(0))`, { alias: 'average' }),
      influxql(`SELECT max("n") FROM (SELECT count("id") AS "n" FROM "alert" WHERE "state" = 'active' AND ${SITE} AND $timeFilter GROUP BY time(10m) fill(0))`, { alias: 'peak' }),
    ],
    defaults: { unit: UNITS.per10min, decimals: 1, noValue: '0', color: { mode: 'thresholds' }, thresholds: thresholds(COLORS.green, [EEMUA.acceptable + 0.001, COLORS.yellow], [EEMUA.manageable + 0.001, COLORS.orange], [EEMUA.flood + 0.001, COLORS.red]) },
    options: { textMode: 'value_and_name', colorMode: 'background' },
  });
  layout.add(ACTIVE_ALERT_LIST({ w: 24, h: 8 }));
  layout.add({
    type: 'table',
    title: 'Alert events',
    description: 'Every lifecycle event in the range, newest first: raised (active), acknowledged, cleared, shelved, unshelved, with who acted.',
    w: 16,
    h: 10,
    targets: [influxql(`SELECT "severity", "site", "asset", "rule", "state", "message", "value", "threshold", "by", "id" FROM "alert" WHERE ${SITE} AND $timeFilter ORDER BY time DESC LIMIT 500`, { format: 'table' })],
    defaults: { unit: UNITS.text, noValue: 'No alert events', custom: { align: 'auto', cellOptions: { type: 'auto' }, inspect: false } },
    overrides: [
      { matcher: { id: 'byName', options: 'severity' }, properties: [{ id: 'mappings', value: [{ type: 'value', options: severityMappings }] }, { id: 'custom.cellOptions', value: { type: 'color-background' } }, { id: 'custom.width', value: 100 }] },
      { matcher: { id: 'byName', options: 'Time' }, properties: [{ id: 'unit', value: 'dateTimeAsLocal' }, { id: 'custom.width', value: 170 }] },
      { matcher: { id: 'byRegexp', options: '^(value|threshold)$' }, properties: [{ id: 'unit', value: 'none' }, { id: 'decimals', value: 1 }] },
    ],
  });
  layout.add({
    type: 'bargauge',
    title: 'Top offenders',
    description: 'Alerts raised per rule and asset in the range: the first candidates for tuning (EEMUA 191 bad actors).',
    w: 8,
    h: 10,
    targets: [influxql(`SELECT count("id") FROM "alert" WHERE "state" = 'active' AND ${SITE} AND $timeFilter GROUP BY "rule", "asset"`, { alias: '$tag_rule · $tag_asset' })],
    defaults: { unit: UNITS.alerts, min: 0, decimals: 0, color: { mode: 'continuous-GrYlRd' } },
    options: { displayMode: 'gradient', reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, sort: 'desc' },
  });

  layout.row('Ingest health');
  layout.add({
    type: 'timeseries',
    title: 'Ingest and write rates',
    description: `Messages taken from the broker, readings accepted, messages rejected and points InfluxDB confirmed, per second (from hydrowatch’s own counters in the "${SELF_MEASUREMENT}" measurement, the same as GET /metrics).`,
    w: 12,
    h: 8,
    interval: '10s',
    targets: (['received', 'accepted', 'rejected', 'written'] as const).map((field) =>
      influxql(`SELECT non_negative_derivative(max("${field}"), 1s) FROM "${SELF_MEASUREMENT}" WHERE $timeFilter GROUP BY time($__interval), "instance" fill(none)`, { alias: `${field} · $tag_instance` }),
    ),
    defaults: { unit: UNITS.perSecond, min: 0, custom: seriesStyle() },
  });
  layout.add({
    type: 'timeseries',
    title: 'Spool depth',
    description: 'Points acknowledged to devices and waiting for InfluxDB. It grows while InfluxDB is away or slow; at its limit publishes are no longer acknowledged.',
    w: 12,
    h: 8,
    interval: '10s',
    targets: [
      influxql(`SELECT max("spool_depth") FROM "${SELF_MEASUREMENT}" WHERE $timeFilter GROUP BY time($__interval), "instance" fill(none)`, { alias: 'waiting · $tag_instance' }),
      influxql(`SELECT non_negative_derivative(max("write_errors"), 1m) FROM "${SELF_MEASUREMENT}" WHERE $timeFilter GROUP BY time($__interval), "instance" fill(none)`, { alias: 'write errors per minute · $tag_instance' }),
    ],
    defaults: { unit: UNITS.points, min: 0, custom: seriesStyle({ fillOpacity: 20 }) },
    overrides: [{ matcher: { id: 'byRegexp', options: '^write errors' }, properties: [{ id: 'unit', value: 'suffix: /min' }, { id: 'custom.axisPlacement', value: 'right' }, { id: 'color', value: { mode: 'fixed', fixedColor: COLORS.red } }] }],
  });
  layout.add({
    type: 'timeseries',
    title: 'Rejected readings by reason',
    description: 'Rejected messages per minute by reason code (every one is counted; the dead letters below are a sample).',
    w: 12,
    h: 8,
    interval: '1m',
    targets: [influxql(`SELECT non_negative_derivative(max("total"), 1m) FROM "${SELF_REJECTED_MEASUREMENT}" WHERE $timeFilter GROUP BY time($__interval), "reason" fill(none)`, { alias: '$tag_reason' })],
    defaults: { unit: 'suffix: /min', min: 0, custom: seriesStyle({ drawStyle: 'bars', fillOpacity: 60, stacking: { mode: 'normal', group: 'A' } }) },
  });
  layout.add({
    type: 'table',
    title: 'Dead letters (sample)',
    description: 'A sample of rejected messages with the reason, topic and payload, for engineers.',
    w: 12,
    h: 8,
    targets: [influxql(`SELECT "reason", "topic", "detail", "payload" FROM "rejected" WHERE $timeFilter ORDER BY time DESC LIMIT 200`, { format: 'table' })],
    defaults: { unit: UNITS.text, noValue: 'No rejected messages', custom: { align: 'auto', cellOptions: { type: 'auto' }, inspect: true } },
    overrides: [{ matcher: { id: 'byName', options: 'Time' }, properties: [{ id: 'unit', value: 'dateTimeAsLocal' }] }],
  });
  layout.add({
    type: 'table',
    title: 'Devices offline',
    description: 'Devices whose latest status message says offline (their MQTT last will), and since when.',
    w: 12,
    h: 7,
    targets: [
      influxql(`SELECT "site", "kind", "asset", "online" FROM (SELECT last("online") AS "online" FROM "status" WHERE ${SITE_ASSET} AND ${LOOKBACK} GROUP BY "site", "asset", "kind") WHERE "online" = false`, { format: 'table' }),
    ],
    defaults: { unit: UNITS.text, noValue: 'Every device online', custom: { align: 'auto', cellOptions: { type: 'auto' }, inspect: false } },
    overrides: [{ matcher: { id: 'byName', options: 'online' }, properties: [{ id: 'mappings', value: [{ type: 'value', options: { false: { text: 'OFFLINE', color: COLORS.red } } }] }, { id: 'custom.cellOptions', value: { type: 'color-background' } }] }],
  });
  layout.add({
    type: 'stat',
    title: 'InfluxDB writes',
    description: 'Whether hydrowatch’s last write to InfluxDB succeeded, points InfluxDB refused as bad (never retried), and readings missing by device sequence numbers in the range.',
    w: 12,
    h: 7,
    targets: [
      influxql(`SELECT last("influx_up") FROM "${SELF_MEASUREMENT}" WHERE $timeFilter GROUP BY "instance"`, { alias: 'InfluxDB up · $tag_instance' }),
      influxql(`SELECT spread("refused") FROM "${SELF_MEASUREMENT}" WHERE $timeFilter GROUP BY "instance"`, { alias: 'refused · $tag_instance' }),
      influxql(`SELECT spread("seq_gaps") FROM "${SELF_MEASUREMENT}" WHERE $timeFilter GROUP BY "instance"`, { alias: 'seq gaps · $tag_instance' }),
    ],
    defaults: { unit: UNITS.points, decimals: 0, color: { mode: 'thresholds' }, thresholds: thresholds(COLORS.green, [1, COLORS.orange]) },
    overrides: [
      {
        matcher: { id: 'byRegexp', options: '^InfluxDB up' },
        properties: [
          { id: 'unit', value: 'none' },
          { id: 'mappings', value: [{ type: 'value', options: { '1': { text: 'UP', color: COLORS.green }, '0': { text: 'DOWN', color: COLORS.red } } }] },
          { id: 'thresholds', value: thresholds(COLORS.red, [1, COLORS.green]) },
        ],
      },
    ],
    options: { textMode: 'value_and_name' },
  });

  return dashboard({
    uid: 'hydrowatch-alarms-ingest',
    title: 'hydrowatch · Alarms and ingest health',
    description: 'Alert events and alarm load against EEMUA 191, top offenders; ingest and write rates, rejects by reason, spool depth, devices offline.',
    timezone: network.timezone,
    refresh: '30s',
    from: 'now-24h',
    variables: [siteVariable(['pump', 'reservoir', 'canal', 'meter', 'weather', 'status', 'alert']), queryVariable('asset', 'Asset', assetQuery(['pump', 'reservoir', 'canal', 'meter', 'weather']))],
    annotations: [ALERT_ANNOTATION],
    panels: layout.build(),
  });
}
