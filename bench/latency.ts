// Latency probes, run by the runner (not the generator) while a step is under way.
//  - publish → queryable: polls InfluxDB for new points of a few probe devices; a point's time is
//    its `ts`, which the generator set to the send time, so latency = when the poll saw it − ts.
//    Resolution: one poll (50 ms apart, plus the query's own time); the figure errs on the slow side.
//    The probe must not load what it measures: one poll of ~23 probe devices (of 2,000) costs
//    InfluxDB 1.6 1.5–3 ms of CPU, so polling every 10 ms took 0.21 of a core, a tenth of this
//    2-core machine, during the very step it measured; every 50 ms it takes 0.03–0.06.
//  - publish → alert: subscribes to hydrowatch's retained alert topics; the body's raisedAt is the
//    crossing reading's ts (its send time), so latency = arrival − raisedAt. The body's `at` (when
//    hydrowatch decided to notify; same clock, same machine) splits it into `decided` (publish →
//    the rule fired: broker to us, our queue, the rules) and `delivered` (→ the alert subscriber).
//    `toSubscriber`: a second connection takes the probe devices' readings (QoS 0, ~1 % of them),
//    publish → arrival. With Mosquitto that is the broker's part of `decided`, without hydrowatch's
//    queue; the embedded broker forwards a reading only once hydrowatch has spooled it.
import * as hdr from 'hdr-histogram-js';
import mqtt from 'mqtt';
import { probePointsAfter } from './lib/influx.js';
import { sleep } from './lib/proc.js';

export type Histogram = hdr.Histogram;

export const newHistogram = (): hdr.Histogram => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 3 });

export interface LatencySummary {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function summarize(histogram: hdr.Histogram): LatencySummary {
  if (histogram.totalCount === 0) return { samples: 0, p50Ms: Number.NaN, p99Ms: Number.NaN, maxMs: Number.NaN };
  return { samples: histogram.totalCount, p50Ms: histogram.getValueAtPercentile(50), p99Ms: histogram.getValueAtPercentile(99), maxMs: histogram.maxValue };
}

export interface AlertSummary extends LatencySummary {
  raised: number;
  cleared: number;
  /** publish → hydrowatch decided to notify (the body's `at`). */
  decided: LatencySummary;
  /** decided → arrival at the alert subscriber. */
  delivered: LatencySummary;
  /** A probe device's reading, publish → arrival at a plain QoS 0 subscriber (with Mosquitto: the broker's part). */
  toSubscriber: LatencySummary;
}

export class QueryableProbe {
  readonly histogram = newHistogram();
  private running = true;
  private readonly loop: Promise<void>;
  /** Per probe device: time of the newest point seen with every earlier one of the step seen too. */
  private readonly contiguous = new Map<string, { nextSeq: number; ts: number }>();
  private readonly pending = new Map<string, Map<number, number>>();
  polls = 0;

  constructor(
    private readonly url: string,
    private readonly db: string,
    private readonly assets: readonly string[],
    private readonly fromTs: number,
    private readonly intervalMs = 50,
  ) {
    this.loop = this.run();
  }

  private watermark(): number {
    let low = Number.POSITIVE_INFINITY;
    for (const asset of this.assets) low = Math.min(low, this.contiguous.get(asset)?.ts ?? this.fromTs);
    return Number.isFinite(low) ? low : this.fromTs;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const points = await probePointsAfter(this.url, this.db, this.assets, this.watermark());
        const seenAt = Date.now();
        this.polls += 1;
        for (const point of points) this.observe(point.asset, point.seq, point.ts, seenAt);
      } catch {
        // A slow or failed poll only costs resolution.
      }
      await sleep(this.intervalMs);
    }
  }

  private observe(asset: string, seq: number, ts: number, seenAt: number): void {
    const state = this.contiguous.get(asset);
    if (state !== undefined && seq < state.nextSeq) return;
    let waiting = this.pending.get(asset);
    if (!waiting) this.pending.set(asset, (waiting = new Map()));
    if (waiting.has(seq)) return;
    waiting.set(seq, ts);
    this.histogram.recordValue(Math.max(1, seenAt - ts));
    // Advance the contiguous mark past every seq now seen in order.
    let mark = state ?? { nextSeq: seq, ts };
    while (waiting.has(mark.nextSeq)) {
      mark = { nextSeq: mark.nextSeq + 1, ts: waiting.get(mark.nextSeq)! };
      waiting.delete(mark.nextSeq - 1);
    }
    this.contiguous.set(asset, mark);
  }

  async stop(): Promise<LatencySummary> {
    this.running = false;
    await this.loop;
    return summarize(this.histogram);
  }
}

export class AlertProbe {
  readonly histogram = newHistogram();
  readonly decided = newHistogram();
  readonly delivered = newHistogram();
  readonly toSubscriber = newHistogram();
  raised = 0;
  cleared = 0;

  private constructor(
    private readonly client: mqtt.MqttClient,
    private readonly readings: mqtt.MqttClient | undefined,
  ) {}

  static async start(url: string, readingTopics: readonly string[] = []): Promise<AlertProbe> {
    const client = await mqtt.connectAsync(url, { clientId: `bench-alerts-${process.pid}-${Date.now()}`, clean: true, reconnectPeriod: 0 });
    // Readings on a connection of their own: on the alerts' one they would queue ahead of alerts.
    const readings = readingTopics.length === 0 ? undefined : await mqtt.connectAsync(url, { clientId: `bench-readings-${process.pid}-${Date.now()}`, clean: true, reconnectPeriod: 0 });
    const probe = new AlertProbe(client, readings);
    readings?.on('message', (_topic, payload) => {
      const ts = (JSON.parse(payload.toString()) as { ts?: number }).ts;
      if (typeof ts === 'number') probe.toSubscriber.recordValue(Math.max(1, Date.now() - ts));
    });
    client.on('message', (_topic, payload, packet) => {
      // Retained messages from before the step say nothing about latency.
      if (packet.retain) return;
      if (payload.length === 0) {
        probe.cleared += 1;
        return;
      }
      const arrived = Date.now();
      try {
        const body = JSON.parse(payload.toString()) as { kind?: string; at?: string; alert?: { raisedAt?: string } };
        if (body.kind !== 'raised' || !body.alert?.raisedAt) return;
        probe.raised += 1;
        const raisedAt = Date.parse(body.alert.raisedAt);
        probe.histogram.recordValue(Math.max(1, arrived - raisedAt));
        const at = body.at ? Date.parse(body.at) : Number.NaN;
        if (Number.isFinite(at)) {
          probe.decided.recordValue(Math.max(1, at - raisedAt));
          probe.delivered.recordValue(Math.max(1, arrived - at));
        }
      } catch {
        // not an alert body
      }
    });
    await client.subscribeAsync('hydrowatch/alerts/#', { qos: 1 });
    await readings?.subscribeAsync([...readingTopics], { qos: 0 });
    return probe;
  }

  async stop(): Promise<AlertSummary> {
    await this.client.endAsync(true).catch(() => undefined);
    await this.readings?.endAsync(true).catch(() => undefined);
    return { ...summarize(this.histogram), raised: this.raised, cleared: this.cleared, decided: summarize(this.decided), delivered: summarize(this.delivered), toSubscriber: summarize(this.toSubscriber) };
  }
}
