// Results: medians over the rounds of one run, ratios taken round by round (each from contenders
// measured minutes apart on the same machine), the Markdown table, and the targets.
import type { InfluxWriteCalibration } from './calibrate.js';
import { type ContenderRun, fmt } from './measure.js';
import { median } from './lib/proc.js';

export interface BenchResults {
  date: string;
  mode: 'quick' | 'full';
  machine: { cpus: number; model: string; node: string; loadAverageAtStart: number[] };
  plan: Record<string, unknown>;
  rounds: Array<{ round: number; influxWrite: InfluxWriteCalibration | undefined; runs: ContenderRun[] }>;
  summary: Summary;
  wallSeconds: number;
}

export interface ContenderSummary {
  contender: string;
  group: string;
  rounds: number;
  maxRate: number;
  maxRates: number[];
  /** Lowest rate that failed, when even the first step did (the max is below it). */
  belowRate: number | undefined;
  queryableP50Ms: number;
  queryableP99Ms: number;
  alertP50Ms: number;
  alertP99Ms: number;
  /** Of publish→alert, the part until hydrowatch decided (p99), and the delivery after it (p99). */
  alertDecidedP99Ms: number;
  alertDeliveredP99Ms: number;
  /** A probe device's reading to a plain QoS 0 subscriber on the same broker (p99). */
  readingToSubscriberP99Ms: number;
  cpuOwnPerMillion: number;
  cpuBrokerPerMillion: number;
  mbPer1000Idle: number;
  /** Settled (see Plan.idleSettledMs); NaN when not measured. */
  mbPer1000IdleSettled: number;
  burstPublished: number;
  burstLost: number;
  errors: string[];
}

export interface Ratio {
  name: string;
  /** Per round, from contenders measured in that round. */
  perRound: number[];
  median: number;
  target: number | undefined;
  met: boolean | undefined;
}

export interface Summary {
  contenders: ContenderSummary[];
  influxWritePointsPerS: number;
  ratios: Ratio[];
  targets: Array<{ target: string; measured: string; met: boolean | undefined }>;
}

const finite = (values: number[]): number[] => values.filter((v) => Number.isFinite(v));
const med = (values: number[]): number => {
  const f = finite(values);
  return f.length === 0 ? Number.NaN : median(f);
};

export function summarize(rounds: BenchResults['rounds']): Summary {
  const ids = [...new Set(rounds.flatMap((r) => r.runs.map((run) => run.contender)))];
  const contenders = ids.map((id): ContenderSummary => {
    const runs = rounds.flatMap((r) => r.runs.filter((run) => run.contender === id));
    return {
      contender: id,
      group: runs[0]!.group,
      rounds: runs.length,
      maxRate: med(runs.filter((r) => !r.error || r.maxRate > 0).map((r) => r.maxRate)),
      maxRates: runs.map((r) => r.maxRate),
      belowRate: runs.every((r) => r.maxRate === 0) ? Math.min(...runs.map((r) => r.failedRate ?? Number.POSITIVE_INFINITY)) : undefined,
      queryableP50Ms: med(runs.map((r) => r.latency?.queryable.p50Ms ?? Number.NaN)),
      queryableP99Ms: med(runs.map((r) => r.latency?.queryable.p99Ms ?? Number.NaN)),
      alertP50Ms: med(runs.map((r) => r.latency?.alert?.p50Ms ?? Number.NaN)),
      alertP99Ms: med(runs.map((r) => r.latency?.alert?.p99Ms ?? Number.NaN)),
      alertDecidedP99Ms: med(runs.map((r) => r.latency?.alert?.decided?.p99Ms ?? Number.NaN)),
      alertDeliveredP99Ms: med(runs.map((r) => r.latency?.alert?.delivered?.p99Ms ?? Number.NaN)),
      readingToSubscriberP99Ms: med(runs.map((r) => r.latency?.alert?.toSubscriber?.p99Ms ?? Number.NaN)),
      cpuOwnPerMillion: med(runs.map((r) => r.cpuPerMillion?.own ?? Number.NaN)),
      cpuBrokerPerMillion: med(runs.map((r) => r.cpuPerMillion?.broker ?? Number.NaN)),
      mbPer1000Idle: med(runs.map((r) => r.idle?.mbPer1000 ?? Number.NaN)),
      mbPer1000IdleSettled: med(runs.map((r) => r.idle?.settled?.mbPer1000 ?? Number.NaN)),
      burstPublished: runs.reduce((sum, r) => sum + (r.burst?.sent ?? 0), 0),
      burstLost: runs.reduce((sum, r) => sum + (r.burst?.lost ?? 0), 0),
      errors: runs.flatMap((r) => (r.error ? [r.error] : [])),
    };
  });
  const byId = new Map(contenders.map((c) => [c.contender, c]));
  const ratio = (name: string, a: string, b: string, target?: number): Ratio => {
    const perRound = rounds.flatMap((r) => {
      const x = r.runs.find((run) => run.contender === a)?.maxRate;
      const y = r.runs.find((run) => run.contender === b)?.maxRate;
      return x !== undefined && y !== undefined && y > 0 ? [Math.round((x / y) * 100) / 100] : [];
    });
    const m = med(perRound);
    return { name, perRound, median: m, target, met: target === undefined || !Number.isFinite(m) ? undefined : m >= target };
  };
  const ratios = [
    ratio('A-embedded / raw aedes pub→sub', 'A-embedded', 'raw-aedes', 0.85),
    ratio('A-mosquitto / raw Mosquitto pub→sub', 'A-mosquitto', 'raw-mosquitto'),
    ratio('A-embedded / B floor', 'A-embedded', 'B-floor', 0.9),
    ratio('A-mosquitto / B floor (same broker)', 'A-mosquitto', 'B-floor', 0.9),
    ratio('A-embedded / C Node-RED batch', 'A-embedded', 'C-node-red-batch', 2.5),
    ratio('A-mosquitto / C Node-RED batch', 'A-mosquitto', 'C-node-red-batch', 2.5),
    ratio('B floor / raw Mosquitto pub→sub', 'B-floor', 'raw-mosquitto'),
    ratio('C Node-RED batch / B floor', 'C-node-red-batch', 'B-floor'),
  ].filter((r) => r.perRound.length > 0);
  const influxWritePointsPerS = med(rounds.map((r) => r.influxWrite?.pointsPerS ?? Number.NaN));
  const targets: Summary['targets'] = [];
  for (const r of ratios) if (r.target !== undefined) targets.push({ target: `${r.name} ≥ ${r.target}`, measured: `${r.median} (rounds: ${r.perRound.join(', ')})`, met: r.met });
  for (const id of ['A-embedded', 'A-mosquitto']) {
    const c = byId.get(id);
    if (!c) continue;
    targets.push({ target: `${id}: p99 publish→queryable ≤ 1000 ms at 80 % of max`, measured: `${c.queryableP99Ms} ms`, met: Number.isFinite(c.queryableP99Ms) ? c.queryableP99Ms <= 1000 : undefined });
    targets.push({ target: `${id}: p99 publish→alert ≤ 50 ms at 80 % of max`, measured: `${c.alertP99Ms} ms (p99 to the decision ${c.alertDecidedP99Ms}, delivery ${c.alertDeliveredP99Ms}; a reading to a plain subscriber ${c.readingToSubscriberP99Ms})`, met: Number.isFinite(c.alertP99Ms) ? c.alertP99Ms <= 50 : undefined });
    targets.push({ target: `${id}: zero loss in the burst`, measured: `${fmt(c.burstLost)} lost of ${fmt(c.burstPublished)}`, met: c.burstPublished > 0 ? c.burstLost === 0 : undefined });
  }
  const embedded = byId.get('A-embedded');
  if (embedded) {
    // Judged once settled when that was measured (the full run); right after connecting otherwise.
    const settled = Number.isFinite(embedded.mbPer1000IdleSettled);
    const figure = settled ? embedded.mbPer1000IdleSettled : embedded.mbPer1000Idle;
    targets.push({
      target: `A-embedded: ≤ 10 MB RSS per 1,000 idle devices${settled ? ' (settled)' : ''}`,
      measured: `${figure} MB${settled ? ` (${embedded.mbPer1000Idle} MB right after 10,000 connected at once)` : ''}`,
      met: Number.isFinite(figure) ? figure <= 10 : undefined,
    });
  }
  const c = byId.get('C-node-red');
  if (c && c.burstPublished > 0) targets.push({ target: 'C-node-red (per message) drops readings in the same burst', measured: `${fmt(c.burstLost)} lost of ${fmt(c.burstPublished)}`, met: c.burstLost > 0 });
  return { contenders, influxWritePointsPerS, ratios, targets };
}

const LABELS: Record<string, string> = {
  'raw-aedes': 'calibration: aedes alone, pub→sub',
  'raw-mosquitto': 'calibration: Mosquitto alone, pub→sub',
  'A-embedded': 'A hydrowatch (embedded aedes)',
  'A-mosquitto': 'A hydrowatch (Mosquitto)',
  'B-floor': 'B floor (mqtt.js → WriteApi)',
  'C-node-red': 'C Node-RED 4, per message',
  'C-node-red-batch': 'C Node-RED 4, batch',
};

const ms = (v: number): string => (Number.isFinite(v) ? String(Math.round(v)) : '–');
const num = (v: number, digits = 1): string => (Number.isFinite(v) ? v.toFixed(digits) : '–');

export function markdown(results: BenchResults): string {
  const s = results.summary;
  const by = new Map(s.contenders.map((c) => [c.contender, c]));
  const rawAedes = by.get('raw-aedes')?.maxRate ?? Number.NaN;
  const floor = by.get('B-floor')?.maxRate ?? Number.NaN;
  const lines: string[] = [];
  lines.push(`### hydrowatch bench, ${results.mode} run, ${results.date}`);
  lines.push('');
  lines.push(
    `${results.machine.cpus} × ${results.machine.model}, Node ${results.machine.node}; ${results.rounds.length} round(s), interleaved; ${String(results.plan.devices)} devices (${String(results.plan.idleDevices)} for idle memory); ` +
      `medians over rounds; ratios per round, then their median. InfluxDB raw write: **${fmt(s.influxWritePointsPerS)} points/s** (gzip batches of 5000).`,
  );
  lines.push('');
  lines.push('| contender | max zero-loss readings/s | × raw aedes | × B | publish→queryable p50 / p99 ms | publish→alert p50 / p99 ms | CPU-s per M readings (own + broker) | RSS MB per 1,000 idle devices (settled) | burst: lost / published |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of s.contenders) {
    const name = LABELS[c.contender] ?? c.contender;
    const cal = c.group === 'cal';
    lines.push(
      `| ${name} | ${c.belowRate !== undefined && Number.isFinite(c.belowRate) ? `< ${fmt(c.belowRate)}` : fmt(c.maxRate)}${c.maxRates.length > 1 ? ` (${c.maxRates.map(fmt).join(', ')})` : ''} | ${num(c.maxRate / rawAedes, 2)} | ${cal ? '–' : num(c.maxRate / floor, 2)} | ` +
        `${cal ? '–' : `${ms(c.queryableP50Ms)} / ${ms(c.queryableP99Ms)}`} | ${c.group === 'A' ? `${ms(c.alertP50Ms)} / ${ms(c.alertP99Ms)}` : '–'} | ` +
        `${cal ? `– + ${num(c.cpuBrokerPerMillion)}` : `${num(c.cpuOwnPerMillion)} + ${num(c.cpuBrokerPerMillion)}`} | ${num(c.mbPer1000Idle)}${Number.isFinite(c.mbPer1000IdleSettled) ? ` (${num(c.mbPer1000IdleSettled)})` : ''} | ` +
        `${c.burstPublished > 0 ? `${fmt(c.burstLost)} / ${fmt(c.burstPublished)}` : '–'} |` +
        (c.errors.length > 0 ? ` ⚠ ${c.errors.length} error(s)` : ''),
    );
  }
  lines.push('');
  lines.push('| ratio (same run) | per round | median | target | |');
  lines.push('|---|---|---:|---:|---|');
  for (const r of s.ratios) lines.push(`| ${r.name} | ${r.perRound.join(', ')} | ${num(r.median, 2)} | ${r.target === undefined ? '–' : `≥ ${r.target}`} | ${r.met === undefined ? '' : r.met ? 'met' : '**not met**'} |`);
  lines.push('');
  lines.push('| target | measured | |');
  lines.push('|---|---|---|');
  for (const t of s.targets) lines.push(`| ${t.target} | ${t.measured} | ${t.met === undefined ? 'n/a' : t.met ? 'met' : '**not met**'} |`);
  return lines.join('\n');
}
