// Back-testing alarm rules: a scenario's feed goes through the real pipeline (decode → validate →
// enrich → evaluate) and the real alert engine, with no broker and no InfluxDB, in simulated time.
// The report scores the alerts against the scenario's ground truth and the EEMUA 191 alarm-rate
// targets, so engineers can tune rules before they page a real crew.
import type { AssetConfig } from '../src/config.js';
import { Baselines } from '../src/alerts/baseline.js';
import { AlertEngine } from '../src/alerts/engine.js';
import type { Rule } from '../src/alerts/rules.js';
import type { AlertRecord } from '../src/alerts/types.js';
import { LiveState } from '../src/live.js';
import { silentLogger } from '../src/log.js';
import { Metrics } from '../src/metrics.js';
import { AssetRegistry } from '../src/pipeline/enrich.js';
import { createPipeline } from '../src/pipeline/pipeline.js';
import type { Spool } from '../src/pipeline/spool.js';
import { simulateOffline, runScenario } from './run.js';
import type { GroundTruthEntry, Scenario } from './scenarios.js';

export interface BacktestOptions {
  scenario: Scenario;
  rules: Rule[];
  assets: AssetConfig[];
  seed: number;
  days?: number;
  /** Days of ordinary weather simulated before the scenario to build demand baselines (≥ 3). */
  baselineDays?: number;
  timezone?: string;
}

export interface FaultResult {
  fault: string;
  site: string | undefined;
  asset: string;
  start: string;
  end: string;
  detected: boolean;
  /** First alert that answered it. */
  firstAlert: { id: string; rule: string; asset: string; raisedAt: string } | undefined;
  latencyMinutes: number | undefined;
  /** For garbage: the reject reason the pipeline gave it, counted. */
  rejectedAs?: string | undefined;
}

export interface BacktestReport {
  scenario: string;
  seed: number;
  days: number;
  messages: number;
  rejected: Record<string, number>;
  faults: FaultResult[];
  alerts: number;
  byRule: Record<string, number>;
  falseAlerts: Array<{ id: string; rule: string; site: string; asset: string; raisedAt: string; message: string }>;
  afterEffects: Array<{ id: string; rule: string; site: string; asset: string; raisedAt: string; message: string }>;
  alarmRate: { perTenMinutes: number; peakTenMinutes: number; eemuaTargetPerTenMinutes: number; floods: number; timeInFloodPct: number };
  verdict: { allDetected: boolean; noFalseAlerts: boolean; withinEemua: boolean };
}

const TEN_MINUTES = 600_000;
const TICK_MS = 10_000;
/** An alert up to this long after a fault ended still answers it (off-delays, slow rules). */
const GRACE_MS = 60 * 60_000;
const AFTER_EFFECT_MS = 24 * 3_600_000;
/** Sensor faults that stay inside plausible values, which no rule can be expected to see. */
/** Faults no alarm should page for: a one-sample spike is what on-delays are there to ride through. */
const UNDETECTABLE = new Set(['sensor_spikes']);

/** A spool that takes everything and keeps nothing: the back-test stores nothing. */
const nullSpool: Spool = {
  append: async () => undefined,
  peek: () => [],
  commit: () => undefined,
  depth: 0,
  limit: Number.MAX_SAFE_INTEGER,
  acknowledging: true,
  onAppend: undefined,
};

export async function backtest(options: BacktestOptions): Promise<BacktestReport> {
  const days = options.days ?? options.scenario.days;
  const run = runScenario({ assets: options.assets, scenario: options.scenario, seed: options.seed, days });
  const timezone = options.timezone ?? 'Asia/Shanghai';

  // Demand baselines from ordinary days before the scenario, as the hourly job would find them in InfluxDB.
  const baselineDays = Math.max(3, options.baselineDays ?? 3);
  const baselines = new Baselines(timezone);
  const before = simulateOffline(options.assets, { seed: options.seed + 1, startMs: run.startMs - baselineDays * 86_400_000, durationMs: baselineDays * 86_400_000 });
  baselines.load(hourlyMeans(before));

  const clock = { t: run.startMs };
  const registry = new AssetRegistry(options.assets);
  const metrics = new Metrics();
  const engine = new AlertEngine({
    rules: options.rules,
    assets: options.assets,
    clock: { now: () => clock.t },
    log: silentLogger,
    write: () => undefined,
    heatwave: { hotDay_c: 35, consecutiveDays: 3, orange_c: 37, red_c: 40, timezone },
    baseline: baselines.get,
  });
  const pipeline = createPipeline({
    spool: nullSpool,
    registry,
    live: new LiveState(registry),
    metrics,
    clock: { now: () => clock.t },
    log: silentLogger,
    strictAssets: false,
    rejectSamplesPerMinute: 0,
    evaluate: (reading, receivedAt) => engine.onReading(reading, receivedAt),
    onCommand: (command) => engine.onCommand(command.site, command.asset, command.command, command.ts),
  });

  let nextTick = run.startMs + TICK_MS;
  for (const message of run.messages) {
    while (nextTick <= message.tsMs) {
      clock.t = nextTick;
      engine.tick();
      nextTick += TICK_MS;
    }
    clock.t = message.tsMs;
    await pipeline.ingest({ topic: message.topic, payload: Buffer.isBuffer(message.payload) ? message.payload : Buffer.from(message.payload), receivedAt: message.tsMs });
  }
  clock.t = run.endMs;
  engine.tick();

  const rejected = Object.fromEntries(
    (await metrics.rejected.get()).values.filter((v) => v.value > 0).map((v) => [String(v.labels.reason), v.value]),
  );
  const alerts = engine.list({ state: 'all' }).sort((a, b) => a.raisedAt - b.raisedAt);
  return score(run.groundTruth, alerts, options.assets, { scenario: options.scenario.name, seed: options.seed, days, messages: run.messages.length, rejected, startMs: run.startMs, endMs: run.endMs });
}

function score(
  truth: GroundTruthEntry[],
  alerts: AlertRecord[],
  assets: AssetConfig[],
  run: { scenario: string; seed: number; days: number; messages: number; rejected: Record<string, number>; startMs: number; endMs: number },
): BacktestReport {
  const explains = (entry: GroundTruthEntry, alert: AlertRecord) => {
    if (alert.raisedAt < entry.startMs || alert.raisedAt > entry.endMs + GRACE_MS) return false;
    if (entry.fault === 'heatwave') return alert.region === entry.asset || alert.asset === entry.asset;
    if (alert.asset === entry.asset) return true;
    // A fault at a station or on a main shows on the assets around it: same site, or the station itself.
    const pump = assets.find((a) => a.kind === 'pump' && a.id === entry.asset);
    const station = pump?.kind === 'pump' ? pump.station : undefined;
    return alert.site === entry.site && (entry.fault === 'power_cut' || entry.fault === 'main_burst' || alert.asset === station);
  };
  const faults: FaultResult[] = truth.map((entry) => {
    const base = { fault: entry.fault, site: entry.site, asset: entry.asset, start: iso(entry.startMs), end: iso(entry.endMs) };
    if (entry.fault === 'garbage') {
      const counted = entry.reason !== undefined && (run.rejected[entry.reason] ?? 0) > 0;
      return { ...base, detected: counted, firstAlert: undefined, latencyMinutes: undefined, rejectedAs: entry.reason };
    }
    const first = alerts.find((alert) => explains(entry, alert));
    return {
      ...base,
      detected: first !== undefined,
      firstAlert: first && { id: first.id, rule: first.rule, asset: first.asset, raisedAt: iso(first.raisedAt) },
      latencyMinutes: first ? Math.round((first.raisedAt - entry.startMs) / 6000) / 10 : undefined,
    };
  });
  // A fault's after-effects (a reservoir refilling, a station running flat out to catch up) show up
  // hours later on the same site: listed apart, neither credited as detection nor counted as false.
  const afterEffect = (alert: AlertRecord) =>
    truth.some((entry) => entry.site === alert.site && alert.raisedAt >= entry.startMs && alert.raisedAt <= entry.endMs + AFTER_EFFECT_MS);
  const summary = (a: AlertRecord) => ({ id: a.id, rule: a.rule, site: a.site, asset: a.asset, raisedAt: iso(a.raisedAt), message: a.message });
  const unexplained = alerts.filter((alert) => !truth.some((entry) => explains(entry, alert)));
  const afterEffects = unexplained.filter(afterEffect).map(summary);
  const falseAlerts = unexplained.filter((alert) => !afterEffect(alert)).map(summary);
  const byRule: Record<string, number> = {};
  for (const alert of alerts) byRule[alert.rule] = (byRule[alert.rule] ?? 0) + 1;

  const buckets = new Map<number, number>();
  for (const alert of alerts) buckets.set(Math.floor(alert.raisedAt / TEN_MINUTES), (buckets.get(Math.floor(alert.raisedAt / TEN_MINUTES)) ?? 0) + 1);
  const floods = [...buckets.values()].filter((n) => n > 10).length;
  const windows = Math.max(1, (run.endMs - run.startMs) / TEN_MINUTES);
  const peak = Math.max(0, ...buckets.values());
  const detectable = faults.filter((f) => !UNDETECTABLE.has(f.fault));
  return {
    scenario: run.scenario,
    seed: run.seed,
    days: run.days,
    messages: run.messages,
    rejected: run.rejected,
    faults,
    alerts: alerts.length,
    byRule,
    falseAlerts,
    afterEffects,
    alarmRate: {
      perTenMinutes: Math.round((alerts.length / windows) * 1000) / 1000,
      peakTenMinutes: peak,
      eemuaTargetPerTenMinutes: 1,
      floods,
      timeInFloodPct: Math.round(((floods * TEN_MINUTES) / (run.endMs - run.startMs)) * 10_000) / 100,
    },
    verdict: {
      allDetected: detectable.every((f) => f.detected),
      noFalseAlerts: falseAlerts.length === 0,
      withinEemua: floods === 0 && alerts.length / windows <= 1,
    },
  };
}

/** Hourly mean flow of each meter, as `SELECT mean(flow_m3h) … GROUP BY time(1h)` would give. */
function hourlyMeans(messages: Array<{ topic: string; payload: string | Buffer; tsMs: number }>) {
  const sums = new Map<string, { site: string; asset: string; hour: number; sum: number; n: number }>();
  for (const message of messages) {
    const [, site = '', kind, asset = ''] = message.topic.split('/');
    if (kind !== 'meter') continue;
    const flow = (JSON.parse(String(message.payload)) as { values?: { flow_m3h?: number } }).values?.flow_m3h;
    if (typeof flow !== 'number') continue;
    const hour = Math.floor(message.tsMs / 3_600_000);
    const key = `${site}/${asset}/${hour}`;
    const entry = sums.get(key) ?? { site, asset, hour, sum: 0, n: 0 };
    entry.sum += flow;
    entry.n += 1;
    sums.set(key, entry);
  }
  return [...sums.values()].map((e) => ({ site: e.site, asset: e.asset, field: 'flow_m3h', ts: e.hour * 3_600_000, mean: e.sum / e.n }));
}

export function formatReport(report: BacktestReport): string {
  const lines = [
    `back-test: scenario ${report.scenario}, seed ${report.seed}, ${report.days} day(s), ${report.messages} messages`,
    '',
    'ground truth                                   detected  first alert                     after',
  ];
  for (const f of report.faults) {
    const what = `${f.fault} ${f.site ? `${f.site}/` : ''}${f.asset} ${f.start.slice(5, 16).replace('T', ' ')}`;
    const answer = f.rejectedAs ? `rejected as ${f.rejectedAs}` : f.firstAlert ? `${f.firstAlert.rule} on ${f.firstAlert.asset}` : '—';
    const flag = f.detected ? 'yes' : UNDETECTABLE.has(f.fault) ? 'no (not expected)' : 'NO';
    lines.push(`${what.padEnd(47)}${flag.padEnd(10)}${answer.padEnd(32)}${f.latencyMinutes === undefined ? '' : `${f.latencyMinutes} min`}`);
  }
  const rules = Object.entries(report.byRule).map(([rule, n]) => `${rule} ${n}`).join(', ');
  lines.push('', `alerts: ${report.alerts}${rules ? ` (${rules})` : ''}; false alerts: ${report.falseAlerts.length}; after-effects: ${report.afterEffects.length}`);
  for (const a of report.falseAlerts.slice(0, 20)) lines.push(`  false: ${a.raisedAt} ${a.rule} ${a.site}/${a.asset}: ${a.message}`);
  for (const a of report.afterEffects.slice(0, 10)) lines.push(`  after-effect: ${a.raisedAt} ${a.rule} ${a.site}/${a.asset}: ${a.message}`);
  const rate = report.alarmRate;
  lines.push(
    `alarm rate (EEMUA 191): ${rate.perTenMinutes} per 10 min on average (target ≤ ${rate.eemuaTargetPerTenMinutes}), peak ${rate.peakTenMinutes} in 10 min, ${rate.floods} flood(s) (> 10 in 10 min), ${rate.timeInFloodPct} % of the time in flood`,
    `verdict: ${report.verdict.allDetected ? 'every detectable fault detected' : 'MISSED FAULTS'}; ${report.verdict.noFalseAlerts ? 'no false alerts' : 'FALSE ALERTS'}; ${report.verdict.withinEemua ? 'alarm rate within EEMUA 191' : 'ALARM RATE ABOVE EEMUA 191'}`,
  );
  return lines.join('\n');
}

const iso = (ms: number) => new Date(ms).toISOString();

export interface BacktestCommandOptions {
  scenario: string;
  rules?: string | undefined;
  config: string;
  seed: number;
  days?: number | undefined;
  json?: boolean | undefined;
  check?: boolean | undefined;
}

/** `hydrowatch backtest`: prints the report (or JSON); with --check, exits 1 on a missed fault or a false alert. */
export async function runBacktestCommand(options: BacktestCommandOptions): Promise<void> {
  const { readFileSync } = await import('node:fs');
  const { parse } = await import('yaml');
  const { z } = await import('zod');
  const { ConfigError, loadConfig } = await import('../src/config.js');
  const { Rule, defaultRules } = await import('../src/alerts/rules.js');
  const { composeScenarios, loadScenario } = await import('./scenarios.js');
  const config = loadConfig({}, options.config);
  let rules = defaultRules();
  if (options.rules) {
    const text = (() => {
      try {
        return readFileSync(options.rules, 'utf8');
      } catch {
        throw new ConfigError(`backtest: --rules ${options.rules}: cannot read the file`);
      }
    })();
    const raw = parse(text) as { rules?: unknown; alerts?: { rules?: unknown } } | null;
    const parsed = z.array(Rule).safeParse(raw?.rules ?? raw?.alerts?.rules);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ConfigError(`backtest: --rules ${options.rules}: rules.${issue.path.join('.')}: ${issue.message}`);
    }
    rules = parsed.data;
  }
  const names = options.scenario.split(',').map((s) => s.trim()).filter(Boolean);
  const scenario = names.length === 1 ? loadScenario(names[0]!) : composeScenarios(names.map((name) => loadScenario(name)));
  const report = await backtest({ scenario, rules, assets: config.assets, seed: options.seed, days: options.days, timezone: config.timezone });
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
  if (options.check && !(report.verdict.allDetected && report.verdict.noFalseAlerts)) process.exitCode = 1;
}
