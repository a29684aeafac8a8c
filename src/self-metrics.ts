// hydrowatch's own counters as points in InfluxDB, next to the data: the dashboards query only
// InfluxQL (design §3), so ingest and write rates, rejects by reason and spool depth must be there
// too. The same numbers as GET /metrics, sampled every 10 s; rates are non_negative_derivative()
// of these running totals (a restart sets them back to 0, which that function steps over).
import { Point } from '@influxdata/influxdb-client';
import { Metrics } from './metrics.js';
import type { Clock } from './pipeline/types.js';

/** Measurement of the service's totals and gauges; tag `instance`. */
export const SELF_MEASUREMENT = 'hydrowatch';
/** Running total of rejected messages per reason code; tags `instance`, `reason`. */
export const SELF_REJECTED_MEASUREMENT = 'hydrowatch_rejected';
export const SELF_METRICS_INTERVAL_MS = 10_000;

interface SpoolGauges {
  readonly depth: number;
  readonly limit: number;
  /** False while the spool is full: then no sample is added to it. */
  readonly acknowledging?: boolean;
}

/** Line protocol of one sample (pure apart from reading the counters). */
export async function selfMetricsLines(metrics: Metrics, spool: SpoolGauges, instance: string, ts: number): Promise<string[]> {
  const total = async (counter: Parameters<typeof Metrics.total>[0]): Promise<number> => Math.round(await Metrics.total(counter));
  const influxUp = (await metrics.influxUp.get()).values[0]?.value ?? 0;
  const main = new Point(SELF_MEASUREMENT)
    .tag('instance', instance)
    .intField('received', await total(metrics.received))
    .intField('accepted', await total(metrics.accepted))
    .intField('rejected', await total(metrics.rejected))
    .intField('written', await total(metrics.written))
    .intField('refused', await total(metrics.refused))
    .intField('write_errors', await total(metrics.writeErrors))
    .intField('seq_gaps', await total(metrics.seqGaps))
    .intField('seq_duplicates', await total(metrics.seqDuplicates))
    .intField('spool_depth', spool.depth)
    .intField('spool_limit', spool.limit)
    .intField('influx_up', influxUp > 0 ? 1 : 0)
    .timestamp(String(ts))
    .toLineProtocol()!;
  const byReason = (await metrics.rejected.get()).values
    .filter((v) => v.value > 0 && typeof v.labels.reason === 'string')
    .map((v) =>
      new Point(SELF_REJECTED_MEASUREMENT)
        .tag('instance', instance)
        .tag('reason', String(v.labels.reason))
        .intField('total', Math.round(v.value))
        .timestamp(String(ts))
        .toLineProtocol()!,
    );
  return [main, ...byReason];
}

export interface SelfMetricsOptions {
  metrics: Metrics;
  spool: SpoolGauges;
  /** Where the lines go: the service's spool, so the one writer stores them. */
  append: (lines: string[]) => Promise<void>;
  /** Tells several ingestors apart (the MQTT client id or the host name). */
  instance: string;
  clock: Clock;
  intervalMs?: number;
  onError?: (error: unknown) => void;
}

export interface SelfMetrics {
  /** Takes one sample now (the timer calls it; tests call it directly). */
  sample(): Promise<void>;
  /** Stops the timer; safe to call twice. */
  stop(): void;
}

export function startSelfMetrics(options: SelfMetricsOptions): SelfMetrics {
  const sample = async (): Promise<void> => {
    // A full spool is refusing devices' readings; our own counters must not queue behind them.
    if (options.spool.acknowledging === false) return;
    await options.append(await selfMetricsLines(options.metrics, options.spool, options.instance, options.clock.now()));
  };
  const timer = setInterval(() => {
    sample().catch((error: unknown) => options.onError?.(error));
  }, options.intervalMs ?? SELF_METRICS_INTERVAL_MS);
  timer.unref();
  return { sample, stop: () => clearInterval(timer) };
}
