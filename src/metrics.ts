// Prometheus metrics (prom-client), one registry per service instance so tests can run several.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { REJECT_REASONS } from './schema.js';

export class Metrics {
  readonly registry = new Registry();
  readonly received = new Counter({ name: 'hydrowatch_messages_received_total', help: 'MQTT messages taken from the broker', registers: [this.registry] });
  readonly accepted = new Counter({ name: 'hydrowatch_readings_accepted_total', help: 'Valid readings accepted into the spool, by kind', labelNames: ['kind'], registers: [this.registry] });
  readonly rejected = new Counter({ name: 'hydrowatch_rejected_total', help: 'Rejected messages, by reason code', labelNames: ['reason'], registers: [this.registry] });
  readonly written = new Counter({ name: 'hydrowatch_points_written_total', help: 'Points InfluxDB confirmed', registers: [this.registry] });
  readonly refused = new Counter({ name: 'hydrowatch_points_refused_total', help: 'Points InfluxDB refused as bad (HTTP 400), not retried', registers: [this.registry] });
  readonly writeErrors = new Counter({ name: 'hydrowatch_write_errors_total', help: 'Failed InfluxDB write requests', labelNames: ['retryable'], registers: [this.registry] });
  readonly writeDuration = new Histogram({
    name: 'hydrowatch_write_duration_seconds',
    help: 'InfluxDB write request latency',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly seqGaps = new Counter({ name: 'hydrowatch_seq_gaps_total', help: 'Readings missing according to per-device seq', registers: [this.registry] });
  readonly seqDuplicates = new Counter({ name: 'hydrowatch_seq_duplicates_total', help: 'Readings received again (seq not increasing)', registers: [this.registry] });
  /** Set by the service: where the spool gauges read from. */
  spoolSource: { depth: number; limit: number } | undefined;
  readonly spoolDepth: Gauge = new Gauge({
    name: 'hydrowatch_spool_depth',
    help: 'Points waiting for InfluxDB (queue depth)',
    registers: [this.registry],
    collect: (): void => this.spoolDepth.set(this.spoolSource?.depth ?? 0),
  });
  readonly spoolLimit: Gauge = new Gauge({
    name: 'hydrowatch_spool_limit',
    help: 'Spool bound; at it publishes are no longer acknowledged',
    registers: [this.registry],
    collect: (): void => this.spoolLimit.set(this.spoolSource?.limit ?? 0),
  });
  readonly influxUp = new Gauge({ name: 'hydrowatch_influx_up', help: '1 when the last InfluxDB request succeeded', registers: [this.registry] });

  constructor() {
    for (const reason of REJECT_REASONS) this.rejected.labels(reason).inc(0);
  }

  /** Current value of a counter without going through the text exposition. */
  static async total(counter: Counter): Promise<number> {
    const { values } = await counter.get();
    return values.reduce((sum, v) => sum + v.value, 0);
  }
}
