// One contender, measured: idle RSS, the highest sustained zero-loss rate (stepped), latency and
// CPU at 80 % of it, and a burst. Every figure comes from InfluxDB (or the no-op subscriber) and
// /proc, never from the contender's own account.
import type { Contender, BenchContext, RunningContender } from './contenders/types.js';
import { countReadings, readingsPerDevice } from './lib/influx.js';
import { cpuSeconds, rssBytes, sleep } from './lib/proc.js';
import { AlertProbe, type AlertSummary, type LatencySummary, QueryableProbe } from './latency.js';
import { assetName, type LoadGenerator, type StepResult, telemetryTopicOf } from './load.js';

export interface Plan {
  /** Devices (one connection each) during the steps. */
  devices: number;
  /** Devices connected for the idle-memory figure (per 1,000 it is only meaningful with many). */
  idleDevices: number;
  stepMs: number;
  /**
   * A step is sustained when every reading of it was acknowledged and stored (or, for a broker
   * baseline, delivered) within this long after the step ended: the batch interval and one write.
   */
  graceMs: number;
  /** Quick: fixed steps, as multiples of the contender's expected rate; otherwise geometric from a quarter of it. */
  ladder?: number[] | undefined;
  /** Where the ladder starts for a contender without an expected rate. */
  startRate: number;
  /** Full: refine, and measure latency and the burst, each on a fresh instance (no backlog from a failed step). */
  freshInstances: boolean;
  coarseFactor: number;
  /** Steps of the refining ladder (on a fresh instance), 0 for none. */
  refineSteps: number;
  refineFactor: number;
  maxRate: number;
  latencyMs: number;
  burstMs: number;
  burstRate: number;
  /** How long a burst may take to drain before what is missing counts as lost, and how long without progress ends the wait. */
  burstDrainMs: number;
  burstStallMs: number;
  window: number;
  idleSettleMs: number;
  /**
   * Idle memory once settled: when the connections live in a Node process (aedes alone, hydrowatch
   * with its embedded broker), RSS is also read once V8 has let go of what the connection storm left
   * behind (it does so on its own some 20–30 s later): up to this long, before and after connecting.
   * 0 = only the reading right after connecting.
   */
  idleSettledMs?: number;
  /** Diagnosis (`--latency-at R`): no idle figure and no ladder, only the latency step at R readings/s. */
  latencyAt?: number | undefined;
}

export interface StepOutcome {
  rate: number;
  durationMs: number;
  sent: number;
  achieved: number;
  unacked: number;
  stored: number;
  lost: number;
  /** Devices whose stored seq range has a hole or misses readings. */
  devicesWithGaps: number;
  /** After the step's last publish, how long until the last reading was acknowledged and stored (or the wait ended). */
  lagMs: number;
  pass: boolean;
  reason: string;
  ackP50Ms: number;
  ackP99Ms: number;
  disconnects: number;
  generatorCpuS: number;
  contenderCpuS: number;
  brokerCpuS: number;
  /** The step's readings in InfluxDB: time from minTs to maxTs (their ts). */
  window: { minTs: number; maxTs: number };
}

export interface ContenderRun {
  contender: string;
  group: Contender['group'];
  round: number;
  /** Highest step rate that passed (readings/s), 0 if none. */
  maxRate: number;
  /** First step rate that failed, if any (the max lies below it). */
  failedRate: number | undefined;
  steps: StepOutcome[];
  idle:
    | { devices: number; rssBeforeMb: number; rssAfterMb: number; mbPer1000: number; brokerMbPer1000: number; settled?: { rssBeforeMb: number; rssAfterMb: number; mbPer1000: number } | undefined }
    | undefined;
  latency: (StepOutcome & { queryable: LatencySummary; alert: (AlertSummary & { crossings: number }) | undefined }) | undefined;
  /** CPU-seconds per million readings at 80 % of max: the contender's own processes, and its external broker. */
  cpuPerMillion: { own: number; broker: number } | undefined;
  burst: StepOutcome | undefined;
  error?: string | undefined;
  wallMs: number;
}

const mb = (bytes: number): number => bytes / 1024 / 1024;
const round1 = (value: number): number => Math.round(value * 10) / 10;

export class Measurer {
  constructor(
    private readonly ctx: BenchContext,
    private readonly generator: LoadGenerator,
    private readonly plan: Plan,
  ) {}

  private async instance<T>(contender: Contender, name: string, use: (running: RunningContender) => Promise<T>): Promise<T> {
    const running = await contender.start(this.ctx, name);
    try {
      return await use(running);
    } finally {
      await this.generator.disconnect().catch(() => undefined);
      await running.stop().catch((error: unknown) => this.ctx.log(`  could not stop ${name} cleanly: ${String(error)}`));
    }
  }

  private connect(running: RunningContender, name: string): Promise<unknown> {
    return this.generator.connect(running.brokerUrl, this.plan.devices, name);
  }

  /**
   * Runs one step at `rate`, waits up to `waitMs` after it for InfluxDB (or the no-op subscriber)
   * to hold every reading, and checks device by device what is missing.
   */
  async step(running: RunningContender, rate: number, durationMs: number, waitMs: number, options: { stallMs?: number } = {}): Promise<StepOutcome> {
    await running.delivered?.reset();
    const own = (): number => running.pids().reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    const ownBefore = own();
    const brokerBefore = cpuSeconds(running.brokerPid());
    const result = await this.generator.step({ rate, durationMs, window: this.plan.window, ackTimeoutMs: waitMs });
    const stored = await this.waitStored(running, result, waitMs, options.stallMs);
    const contenderCpuS = own() - ownBefore;
    const brokerCpuS = cpuSeconds(running.brokerPid()) - brokerBefore;
    if (process.env.BENCH_DEBUG && running.stats) this.ctx.log(`    stats: ${JSON.stringify(await running.stats())}`);
    let devicesWithGaps = 0;
    let lost = Math.max(0, result.sent - stored.count);
    // All stored means none missing: seq ranges are contiguous and InfluxDB keeps one point per (device, ts).
    if (lost > 0 && running.db !== undefined) {
      const perDevice = await readingsPerDevice(this.ctx.influxUrl, running.db, result.minTs, result.maxTs);
      lost = 0;
      result.firstSeq.forEach((first, i) => {
        if (first < 0) return;
        const expected = result.lastSeq[i]! - first + 1;
        const got = perDevice.get(assetName(i));
        const missing = expected - (got?.count ?? 0);
        if (missing > 0 || got?.min !== first || got.max !== result.lastSeq[i]) devicesWithGaps += 1;
        lost += Math.max(0, missing);
      });
    }
    const end = result.startWall + durationMs;
    const lagMs = Math.max(0, Math.max(result.lastAckWall, stored.at ?? Date.now()) - end);
    const reasons: string[] = [];
    if (result.achieved < rate * 0.97) reasons.push(`published ${fmt(result.achieved)}/s of ${fmt(rate)}/s`);
    if (result.unacked > 0) reasons.push(`${fmt(result.unacked)} not acknowledged`);
    if (result.disconnects > 0) reasons.push(`${result.disconnects} devices disconnected`);
    if (lost > 0) reasons.push(`${fmt(lost)} not stored ${Math.round(waitMs / 1000)} s after the step`);
    else if (lagMs > this.plan.graceMs) reasons.push(`last reading stored ${(lagMs / 1000).toFixed(1)} s after the step (allowed ${this.plan.graceMs / 1000} s)`);
    return {
      rate: Math.round(rate),
      durationMs,
      sent: result.sent,
      achieved: result.achieved,
      unacked: result.unacked,
      stored: stored.count,
      lost,
      devicesWithGaps,
      lagMs,
      pass: reasons.length === 0,
      reason: reasons.join('; '),
      ackP50Ms: result.ackP50Ms,
      ackP99Ms: result.ackP99Ms,
      disconnects: result.disconnects,
      generatorCpuS: result.generatorCpuS,
      contenderCpuS,
      brokerCpuS,
      window: { minTs: result.minTs, maxTs: result.maxTs },
    };
  }

  /** Counts a finished step's readings again (after a burst, once the contender went quiet). */
  private async recount(running: RunningContender, outcome: StepOutcome): Promise<StepOutcome> {
    const window = outcome.window;
    if (running.db === undefined) return outcome;
    const stored = await countReadings(this.ctx.influxUrl, running.db, window.minTs, window.maxTs);
    const lost = Math.max(0, outcome.sent - stored);
    return { ...outcome, stored, lost, reason: lost > 0 ? `${fmt(lost)} never stored` : outcome.reason };
  }

  /** Polls until all of the step is stored; `at` is the wall time it was, undefined if never. */
  private async waitStored(running: RunningContender, result: StepResult, waitMs: number, stallMs = Number.POSITIVE_INFINITY): Promise<{ count: number; at: number | undefined }> {
    const deadline = result.startWall + result.durationMs + waitMs;
    let count = 0;
    let lastChange = Date.now();
    for (;;) {
      const now = running.delivered
        ? await running.delivered.count()
        : await countReadings(this.ctx.influxUrl, running.db!, result.minTs, result.maxTs).catch(() => count);
      if (now !== count) lastChange = Date.now();
      count = now;
      if (count >= result.sent) return { count, at: Date.now() };
      if (Date.now() >= deadline || Date.now() - lastChange >= stallMs) return { count, at: undefined };
      await sleep(running.delivered ? 20 : 50);
    }
  }

  /** Steps up through `rates` until one fails. */
  private async ladder(running: RunningContender, rates: number[], run: ContenderRun, label: string): Promise<void> {
    for (const rate of rates) {
      if (rate > this.plan.maxRate) return;
      const outcome = await this.step(running, rate, this.plan.stepMs, this.plan.graceMs + 1000);
      run.steps.push(outcome);
      this.ctx.log(
        `  ${label} ${fmt(rate)}/s: ${outcome.pass ? 'ok' : `FAIL (${outcome.reason})`}  ` +
          `[lag ${(outcome.lagMs / 1000).toFixed(1)} s, ack p99 ${outcome.ackP99Ms.toFixed(0)} ms, CPU s: own ${outcome.contenderCpuS.toFixed(1)}, broker ${outcome.brokerCpuS.toFixed(1)}, generator ${outcome.generatorCpuS.toFixed(1)}]`,
      );
      if (!outcome.pass) {
        run.failedRate = Math.min(run.failedRate ?? Number.POSITIVE_INFINITY, rate);
        return;
      }
      run.maxRate = Math.max(run.maxRate, rate);
    }
  }

  /** Waits until the contender (and its broker) stop working off what earlier steps left, at most `maxMs`. */
  private async settle(running: RunningContender, maxMs = 10_000): Promise<void> {
    const busy = (): number => running.pids().reduce((sum, pid) => sum + cpuSeconds(pid), 0) + cpuSeconds(running.brokerPid());
    const deadline = Date.now() + maxMs;
    let before = busy();
    while (Date.now() < deadline) {
      await sleep(300);
      const now = busy();
      if (now - before < 0.03) return;
      before = now;
    }
  }

  /** Everything for one contender in one round. `hint` is its max from an earlier round. */
  async measure(contender: Contender, round: number, hint: number | undefined, options: { latency: boolean; burst: boolean }): Promise<ContenderRun> {
    const started = performance.now();
    const base = `bench_${contender.id.replace(/[^A-Za-z0-9]/g, '_')}_r${round}`;
    const run: ContenderRun = { contender: contender.id, group: contender.group, round, maxRate: 0, failedRate: undefined, steps: [], idle: undefined, latency: undefined, cpuPerMillion: undefined, burst: undefined, wallMs: 0 };
    const plan = this.plan;
    const expected = contender.expectedRate ?? plan.startRate;
    const afterLadder = async (running: RunningContender): Promise<void> => {
      if (options.latency && run.maxRate > 0) await this.latencyStep(running, run);
      // The burst runs whatever the max: it is where a contender that acknowledges early loses readings.
      if (options.burst) {
        // From a quiet contender: what the latency step left must not be counted against the burst.
        await this.settle(running, 30_000);
        let burst = await this.step(running, plan.burstRate, plan.burstMs, plan.burstDrainMs, { stallMs: plan.burstStallMs });
        if (burst.lost > 0) {
          // Late is not lost: once the contender (and its broker) went quiet, count again.
          await this.settle(running, plan.burstDrainMs);
          burst = await this.recount(running, burst);
        }
        run.burst = burst;
        this.ctx.log(`  burst ${fmt(plan.burstRate)}/s offered for ${plan.burstMs / 1000} s: published ${fmt(burst.sent)}, stored ${fmt(burst.stored)}, lost ${fmt(burst.lost)}${burst.lost === 0 ? ` (all stored ${(burst.lagMs / 1000).toFixed(1)} s after)` : ''}`);
      }
    };
    // Latency and CPU at 80 % of max, then a burst, on a fresh instance.
    const onFreshInstance = (): Promise<void> =>
      this.instance(contender, `${base}_c`, async (running) => {
        await this.connect(running, `${base}_c`);
        await afterLadder(running);
      });
    try {
      if (plan.latencyAt !== undefined) {
        run.maxRate = plan.latencyAt / 0.8;
        await onFreshInstance();
        return run;
      }
      // 1. Idle devices, then the ladder (quick: everything else on the same instance once it settled).
      await this.instance(contender, `${base}_a`, async (running) => {
        await sleep(plan.idleSettleMs);
        const pids = [...running.pids()];
        const brokerPid = running.brokerPid();
        const total = (): number => pids.reduce((sum, pid) => sum + rssBytes(pid), 0) + rssBytes(brokerPid);
        // The connections live in a Node process of the contender's (not in Mosquitto): read it settled too.
        const settles = (plan.idleSettledMs ?? 0) > 0 && (brokerPid === undefined || brokerPid !== this.ctx.mosquitto?.pid);
        const settledBefore = settles ? await settledRss(total, plan.idleSettledMs!) : undefined;
        const ownBefore = pids.reduce((sum, pid) => sum + rssBytes(pid), 0);
        const brokerBefore = rssBytes(brokerPid);
        if (process.env.BENCH_DEBUG && running.stats) this.ctx.log(`    before devices: ${JSON.stringify(await running.stats())}`);
        await this.generator.connect(running.brokerUrl, plan.idleDevices, `${base}_a`);
        await sleep(plan.idleSettleMs);
        if (process.env.BENCH_DEBUG && running.stats) this.ctx.log(`    with devices: ${JSON.stringify(await running.stats())}`);
        const ownAfter = pids.reduce((sum, pid) => sum + rssBytes(pid), 0);
        const brokerAfter = rssBytes(brokerPid);
        const per1000 = plan.idleDevices / 1000;
        run.idle = {
          devices: plan.idleDevices,
          rssBeforeMb: round1(mb(ownBefore + brokerBefore)),
          rssAfterMb: round1(mb(ownAfter + brokerAfter)),
          mbPer1000: round1(mb(ownAfter + brokerAfter - ownBefore - brokerBefore) / per1000),
          brokerMbPer1000: round1(mb(brokerAfter - brokerBefore) / per1000),
        };
        this.ctx.log(`  idle: ${fmt(plan.idleDevices)} devices connected, RSS ${run.idle.rssBeforeMb} → ${run.idle.rssAfterMb} MB (${run.idle.mbPer1000} MB per 1,000)`);
        if (settledBefore !== undefined) {
          const settledAfter = await settledRss(total, plan.idleSettledMs!);
          run.idle.settled = { rssBeforeMb: round1(mb(settledBefore)), rssAfterMb: round1(mb(settledAfter)), mbPer1000: round1(mb(settledAfter - settledBefore) / per1000) };
          this.ctx.log(`  idle, settled: RSS ${run.idle.settled.rssBeforeMb} → ${run.idle.settled.rssAfterMb} MB (${run.idle.settled.mbPer1000} MB per 1,000)`);
        }
        if (plan.idleDevices !== plan.devices) {
          await this.generator.disconnect();
          await this.connect(running, `${base}_a`);
        }
        const rates = plan.ladder
          ? plan.ladder.map((multiple) => Math.round(expected * multiple))
          : geometric(hint === undefined ? expected / 4 : hint / plan.coarseFactor ** 2, plan.coarseFactor, 14);
        await this.ladder(running, rates, run, 'step');
        if (!plan.freshInstances) {
          await this.settle(running);
          await afterLadder(running);
        }
      });
      if (!plan.freshInstances) return run;
      // 2. Refine above the last pass on a fresh instance (a failed step may have left a backlog).
      if (plan.refineSteps > 0 && run.maxRate > 0 && run.failedRate !== undefined) {
        const failedAt = run.failedRate;
        await this.instance(contender, `${base}_b`, async (running) => {
          await this.connect(running, `${base}_b`);
          const rates = geometric(run.maxRate * plan.refineFactor, plan.refineFactor, plan.refineSteps).filter((rate) => rate < failedAt);
          if (rates.length > 0) await this.ladder(running, rates, run, 'refine');
        });
      }
      // 3. Latency and CPU at 80 % of max, then a burst, on a fresh instance.
      if (options.latency || options.burst) await onFreshInstance();
    } catch (error) {
      run.error = error instanceof Error ? error.message : String(error);
      this.ctx.log(`  ERROR: ${run.error}`);
    } finally {
      run.wallMs = Math.round(performance.now() - started);
    }
    return run;
  }

  private async latencyStep(running: RunningContender, run: ContenderRun): Promise<void> {
    const rate = run.maxRate * 0.8;
    const perDevice = rate / this.plan.devices;
    // Enough probe devices for ~200 latency samples a second.
    const probes = Math.min(this.plan.devices, Math.max(2, Math.ceil(200 / perDevice)));
    const probeDevices = Array.from({ length: probes }, (_, i) => Math.floor((i * this.plan.devices) / probes));
    const assets = probeDevices.map(assetName);
    const queryable = running.db === undefined ? undefined : new QueryableProbe(this.ctx.influxUrl, running.db, assets, Date.now() - 1);
    const alerts = running.alertsUrl
      ? await AlertProbe.start(running.alertsUrl, probeDevices.map(telemetryTopicOf))
      : undefined;
    let outcome: StepOutcome;
    try {
      await running.profile?.start();
      outcome = await this.step(running, rate, this.plan.latencyMs, this.plan.graceMs + 3000);
      await running.profile?.stop('at-80pct');
    } catch (error) {
      await queryable?.stop();
      await alerts?.stop();
      throw error;
    }
    const q = (await queryable?.stop()) ?? { samples: 0, p50Ms: Number.NaN, p99Ms: Number.NaN, maxMs: Number.NaN };
    const a = await alerts?.stop();
    const crossings = Math.round(outcome.sent / 100);
    run.latency = { ...outcome, queryable: q, alert: a ? { ...a, crossings } : undefined };
    if (outcome.stored > 0) {
      run.cpuPerMillion = { own: round1((outcome.contenderCpuS / outcome.stored) * 1e6), broker: round1((outcome.brokerCpuS / outcome.stored) * 1e6) };
    }
    this.ctx.log(
      `  at 80 % (${fmt(rate)}/s): ${outcome.pass ? 'ok' : `FAIL (${outcome.reason})`}; publish→queryable p50 ${q.p50Ms} p99 ${q.p99Ms} ms (${q.samples} samples)` +
        (a
          ? `; publish→alert p50 ${a.p50Ms} p99 ${a.p99Ms} ms (${a.raised} alerts for ~${crossings} crossings;` +
            ` to the decision p50 ${a.decided.p50Ms} p99 ${a.decided.p99Ms}, then delivered p50 ${a.delivered.p50Ms} p99 ${a.delivered.p99Ms};` +
            ` a reading to a plain subscriber p50 ${a.toSubscriber.p50Ms} p99 ${a.toSubscriber.p99Ms})`
          : '') +
        (run.cpuPerMillion ? `; CPU ${run.cpuPerMillion.own} s/M own, ${run.cpuPerMillion.broker} s/M broker` : ''),
    );
  }
}

export const fmt = (n: number): string => Math.round(n).toLocaleString('en');

const geometric = (from: number, factor: number, count: number): number[] => Array.from({ length: count }, (_, i) => Math.round(from * factor ** i));

/**
 * RSS once V8 gave back the garbage of a burst of work: polled every second until it fell by a
 * tenth from the first reading and held for 3 s, or until `maxMs` (then the lowest reading).
 */
async function settledRss(read: () => number, maxMs: number): Promise<number> {
  const first = read();
  let lowest = first;
  let heldSince: number | undefined;
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    await sleep(1000);
    const now = read();
    lowest = Math.min(lowest, now);
    if (now <= first * 0.9) {
      heldSince ??= Date.now();
      if (Date.now() - heldSince >= 3000) return now;
    } else heldSince = undefined;
  }
  return lowest;
}
