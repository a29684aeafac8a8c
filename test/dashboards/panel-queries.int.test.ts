// Every panel's InfluxQL, run for real: a simulated heat wave goes through the real service into
// the real InfluxDB (1.6), then each dashboard's variables, targets and annotations are run with
// Grafana's macros substituted, and each must answer without error and with data.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { buildDashboards, DEFAULT_CONFIG } from '../../dashboards/build.js';
import { loadNetwork } from '../../dashboards/network.js';
import type { AssetConfig } from '../../src/config.js';
import { influxQuery } from '../../src/dev/influxd.js';
import { startSelfMetrics } from '../../src/self-metrics.js';
import { statusTopic } from '../../src/schema.js';
import { simulateOffline } from '../../simulators/run.js';
import { dashboardQueries, regexValue, substitute } from '../helpers/grafana-queries.js';
import { eventually, startTestService, type TestService } from '../helpers/service.js';

const HOUR = 3_600_000;
/** The whole network for the last 26 hours; the weather station alone for the 3 days before, so the heat wave has its three hot days. */
const FULL_HOURS = 26;
const WEATHER_ONLY_HOURS = 72;

describe('dashboard panel queries against InfluxDB after a simulated heat wave', () => {
  let t: TestService;
  const network = loadNetwork(DEFAULT_CONFIG);
  const dashboards = buildDashboards(network);
  const assets = (parse(readFileSync(DEFAULT_CONFIG, 'utf8')) as { assets: AssetConfig[] }).assets;
  const endMs = Date.now();
  const fullStartMs = endMs - FULL_HOURS * HOUR;
  let rangeToMs = 0;

  beforeAll(async () => {
    t = await startTestService(inject('influxUrl'), { assets });
    const ingest = (topic: string, payload: string, receivedAt: number) => t.service.pipeline.ingest({ topic, payload: Buffer.from(payload), receivedAt });
    // hydrowatch's own counters, sampled as the service would every 10 s; here every 10 simulated minutes.
    let sampleAt = fullStartMs;
    const selfMetrics = startSelfMetrics({
      metrics: t.service.metrics,
      spool: t.service.spool,
      append: (lines) => t.service.spool.append(lines),
      instance: 'test',
      clock: { now: () => sampleAt },
      intervalMs: 3_600_000,
    });

    // The simulator needs the whole network; of the early days only the weather station's readings are kept.
    const early = simulateOffline(assets, { seed: 11, startMs: fullStartMs - WEATHER_ONLY_HOURS * HOUR, durationMs: WEATHER_ONLY_HOURS * HOUR, dailyMaxAirTemp_c: 38 }).filter((m) =>
      m.topic.includes('/weather/'),
    );
    const full = simulateOffline(assets, { seed: 11, startMs: fullStartMs, durationMs: FULL_HOURS * HOUR - 60_000, dailyMaxAirTemp_c: 38 });
    for (const m of early) await ingest(m.topic, m.payload, m.tsMs);
    // Devices announce themselves (their retained status); the south meter drops off an hour before the end.
    for (const a of assets) await ingest(statusTopic(a.site, a.kind, a.id), '{"online":true}', fullStartMs);
    const window = 2000; // concurrent ingests share the durable spool's fsyncs (group commit)
    for (let i = 0; i < full.length; i += window) {
      const batch = full.slice(i, i + window);
      await Promise.all(batch.map((m) => ingest(m.topic, m.payload, m.tsMs)));
      const last = batch[batch.length - 1]!.tsMs;
      if (last - sampleAt >= 10 * 60_000) {
        sampleAt = last;
        await selfMetrics.sample();
      }
    }
    // A heat-wave day may keep every pump running from start to end: the standby is cycled by hand
    // once (stop and start commands, as dispatch would), so starts-per-hour has something to count.
    for (const [offset, running] of [[-3 * HOUR, false], [-2.5 * HOUR, true], [-2 * HOUR, false]] as const) {
      await ingest('hydrowatch/plant1/pump/P-03/command', JSON.stringify({ command: running ? 'start' : 'stop', ts: endMs + offset - 1000 }), endMs + offset - 1000);
      for (let s = 0; s < 10; s++) {
        await ingest('hydrowatch/plant1/pump/P-03/telemetry', JSON.stringify({ ts: endMs + offset + s * 60_000, values: { running, flow_m3h: running ? 400 : 0 } }), endMs + offset + s * 60_000);
      }
    }
    await ingest(statusTopic('south', 'meter', 'M-S'), '{"online":false}', endMs - HOUR);
    // Garbage from a faulty device: dead-lettered with its reason, counted.
    for (let i = 0; i < 5; i++) {
      await ingest('hydrowatch/south/meter/M-S/telemetry', 'not json at all', endMs - 50 * 60_000 + i);
      await ingest('hydrowatch/south/meter/M-S/telemetry', JSON.stringify({ ts: endMs - 50 * 60_000, values: { pressure_bar: 99 } }), endMs - 50 * 60_000 + i);
    }
    sampleAt = endMs - 40 * 60_000;
    await selfMetrics.sample();
    sampleAt = endMs - 30 * 60_000;
    await selfMetrics.sample();
    selfMetrics.stop();
    // The daily assessment the 00:05 job runs, and dispatch acknowledging an alert (operator events).
    t.service.alerts.assessHeatwaves();
    const first = t.service.alerts.list({ state: 'active' })[0];
    if (first) t.service.alerts.acknowledge(first.id, 'dispatch', 'crew on the way');
    await eventually(() => expect(t.service.spool.depth).toBe(0), 30_000, 100);
    rangeToMs = Date.now() + 60_000;
  }, 120_000);
  afterAll(() => t?.close());

  const query = async (q: string) => {
    const [result] = await influxQuery(inject('influxUrl'), t.bucket, q);
    return result?.series ?? [];
  };

  it('the heat wave went through the real pipeline: readings, alerts and the heat-wave state are stored', async () => {
    expect((await query('SHOW MEASUREMENTS')).flatMap((s) => (s.values ?? []).map((v) => v[0]))).toEqual(
      expect.arrayContaining(['pump', 'reservoir', 'canal', 'meter', 'weather', 'status', 'rejected', 'alert', 'heatwave', 'hydrowatch', 'hydrowatch_rejected']),
    );
    const heatwave = await query('SELECT last("active"), last("hot_days") FROM "heatwave"');
    expect(heatwave[0]?.values?.[0]?.slice(1)).toEqual([true, expect.any(Number)]);
    expect(heatwave[0]!.values![0]![2]).toBeGreaterThanOrEqual(3);
  });

  it.each(dashboards.map((d) => [d.dashboard.title, d.dashboard] as const))('%s: every variable, panel and annotation query answers with data', async (_title, dashboard) => {
    const fromMs = dashboard.uid === 'hydrowatch-heatwave-demand' ? fullStartMs - WEATHER_ONLY_HOURS * HOUR : fullStartMs;
    const range = { fromMs, toMs: rangeToMs };
    const variables: Record<string, string> = {};
    for (const variable of dashboard.templating.list) {
      const series = await query(substitute(variable.query, { ...range, interval: '1m', variables }));
      const values = [...new Set(series.flatMap((s) => (s.values ?? []).map((row) => String(row[1]))))];
      expect(values, `variable $${variable.name}`).not.toEqual([]);
      variables[variable.name] = regexValue(values);
    }
    const failures: string[] = [];
    for (const { where, query: q } of dashboardQueries(dashboard, range, variables)) {
      let series;
      try {
        series = await query(q);
      } catch (error) {
        failures.push(`${where}: ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      const values = series.flatMap((s) => (s.values ?? []).flatMap((row) => row.slice(1)));
      if (!values.some((v) => v !== null)) failures.push(`${where}: no data\n    ${q}`);
      // InfluxDB 1.6 repeats rows of an outer GROUP BY time() over an inner fill(): the time series must be clean.
      if (/GROUP BY time\(/.test(q)) {
        for (const s of series) {
          const times = (s.values ?? []).map((row) => row[0]);
          if (new Set(times).size !== times.length) failures.push(`${where}: repeated timestamps (${times.length} rows)`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('the hard figures agree with the raw readings: run hours, starts, pumps running now, time to empty', async () => {
    const overview = dashboards.find((d) => d.name === 'network-overview')!.dashboard;
    const pumps = dashboards.find((d) => d.name === 'pump-station')!.dashboard;
    const variables = { site: '(plant1|north|south)', asset: regexValue(assets.map((a) => a.id)) };
    const range = { fromMs: fullStartMs, toMs: rangeToMs };
    const run = async (dashboard: typeof overview, title: string) => {
      const q = dashboardQueries(dashboard, range, variables).find((x) => x.where.includes(`› ${title} ›`))!;
      return query(q.query);
    };

    const raw = await query(`SELECT "running" FROM "pump" WHERE time >= ${fullStartMs}ms GROUP BY "asset"`);
    const truth = new Map<string, { runMinutes: Set<number>; starts: number; last: boolean }>();
    for (const s of raw) {
      const entry = { runMinutes: new Set<number>(), starts: 0, last: false };
      for (const [time, running] of s.values ?? []) {
        if (running === true) entry.runMinutes.add(Math.floor(Number(time) / 60_000));
        entry.last = running as boolean;
      }
      // A start is a running minute after a minute without running, counted from the range's first
      // minute on (the panel fills minutes without readings with 0, as an operator reads a chart).
      const firstMinute = Math.floor(fullStartMs / 60_000);
      for (const minute of entry.runMinutes) if (!entry.runMinutes.has(minute - 1) && minute - 1 >= firstMinute) entry.starts++;
      truth.set(s.tags!.asset!, entry);
    }

    for (const s of await run(pumps, 'Run hours')) {
      expect(s.values![0]![1]).toBeCloseTo(truth.get(s.tags!.asset!)!.runMinutes.size / 60, 5);
    }
    for (const s of await run(pumps, 'Starts per hour')) {
      const total = (s.values ?? []).reduce((sum, row) => sum + Number(row[1]), 0);
      expect(total, `starts of ${s.tags!.asset}`).toBe(truth.get(s.tags!.asset!)!.starts);
    }
    const running = await run(overview, 'Pumps running at PS-1');
    expect(running[0]?.values?.[0]?.[1] ?? 0).toBe([...truth.values()].filter((e) => e.last).length);

    // Time to empty of the north reservoir over the last 15-minute window, from its raw readings.
    const tteSeries = await query(
      dashboardQueries(overview, range, variables).find((x) => x.where.includes('› Time to empty › B'))!.query,
    );
    const [bucketStart, hours] = tteSeries[0]!.values!.at(-1)! as [number, number];
    const window = await query(`SELECT "level_m", "inflow_m3h", "outflow_m3h" FROM "reservoir" WHERE "asset" = 'R-N' AND time >= ${bucketStart}ms AND time < ${bucketStart + 15 * 60_000}ms`);
    const rows = window[0]!.values!;
    const mean = (i: number) => rows.reduce((sum, row) => sum + Number(row[i]), 0) / rows.length;
    const reservoir = network.reservoirs.find((r) => r.id === 'R-N')!;
    const expected = ((Number(rows.at(-1)![1]) - reservoir.minLevel_m) * reservoir.area_m2) / (mean(3) - mean(2));
    // Relative: near a zero net outflow the hours are huge and only their leading digits matter.
    expect(Math.abs(hours - expected)).toBeLessThan(1e-9 * Math.max(1, Math.abs(expected)));
  });
});
