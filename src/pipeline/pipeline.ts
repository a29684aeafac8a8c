// The ingest pipeline, in the order it runs: decode → validate → enrich → spool (→ store, which
// drains the spool). Rejects go to the dead letter with their reason. ingest() resolves when the
// message is safe to acknowledge to the broker; readings of one spool write group share its promise.
import { readingLine, rejectedLine, statusLine } from '../influx/points.js';
import type { LiveState } from '../live.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Reading, RejectReason } from '../schema.js';
import { decode } from './decode.js';
import { type AssetRegistry, enrich } from './enrich.js';
import { RejectSampler } from './reject-sampler.js';
import type { Spool } from './spool.js';
import type { Clock, CommandUpdate, InboundMessage } from './types.js';
import { validate } from './validate.js';

export interface PipelineDeps {
  spool: Spool;
  registry: AssetRegistry;
  live: LiveState;
  metrics: Metrics;
  clock: Clock;
  log: Logger;
  strictAssets: boolean;
  rejectSamplesPerMinute: number;
  /** Stage 6: the alert rules, on every valid reading, while it is being spooled. */
  evaluate?: ((reading: Reading, receivedAt: number) => void) | undefined;
  /** Commands seen on the broker (a commanded stop is not a trip). */
  onCommand?: ((command: CommandUpdate) => void) | undefined;
}

export interface Pipeline {
  ingest(message: InboundMessage): Promise<void>;
}

export function createPipeline(deps: PipelineDeps): Pipeline {
  const { spool, registry, live, metrics, clock, log } = deps;
  const sampler = new RejectSampler(deps.rejectSamplesPerMinute);
  // Dead letters of one reason share a series: a distinct millisecond each keeps one from overwriting another.
  let lastRejectedTs = 0;

  async function deadLetter(message: InboundMessage, reason: RejectReason, detail: string): Promise<void> {
    metrics.rejected.labels(reason).inc();
    if (!sampler.keep(reason, message.receivedAt)) return;
    log.debug(`rejected ${reason} on ${JSON.stringify(message.topic.slice(0, 200))}: ${detail}`);
    lastRejectedTs = Math.max(message.receivedAt, lastRejectedTs + 1);
    await spool.append([rejectedLine(reason, message.topic, message.payload, detail, lastRejectedTs)]);
  }

  // Pre-bound per kind: prom-client's labels() hashes its arguments on every call.
  const acceptedByKind = new Map<string, { inc(): void }>();
  const countAccepted = (kind: string): void => {
    let counter = acceptedByKind.get(kind);
    if (!counter) acceptedByKind.set(kind, (counter = metrics.accepted.labels(kind)));
    counter.inc();
  };

  function ingest(message: InboundMessage): Promise<void> {
    metrics.received.inc();
    const decoded = decode(message);
    if (!decoded.ok) return deadLetter(message, decoded.reason, decoded.detail);

    const validated = validate(decoded.value, clock);
    if (!validated.ok) return deadLetter(message, validated.reason, validated.detail);

    if (validated.value.channel === 'status') {
      live.observeStatus(validated.value.status);
      return spool.append([statusLine(validated.value.status)]);
    }
    if (validated.value.channel === 'command') {
      deps.onCommand?.(validated.value.command);
      return DONE;
    }

    const enriched = enrich(validated.value.reading, registry, deps.strictAssets);
    if (!enriched.ok) return deadLetter(message, enriched.reason, enriched.detail);

    const { reading } = enriched.value;
    // The spool and the alert rules are two branches after enrich: the rules see the reading while
    // its spool group waits for the durable write, so an alert never waits for the disk. The
    // device's acknowledgement still waits for the spool.
    const spooled = spool.append([readingLine(reading)]);
    const seq = live.observeReading(reading, message.receivedAt);
    if (seq.gaps > 0) metrics.seqGaps.inc(seq.gaps);
    if (seq.duplicate) metrics.seqDuplicates.inc();
    try {
      deps.evaluate?.(reading, message.receivedAt);
    } catch (error) {
      // A bug in a rule must not cost the reading.
      log.error(`alert rules failed on ${reading.site}/${reading.asset}: ${error instanceof Error ? error.message : String(error)}`);
    }
    countAccepted(reading.kind);
    // The spool's own promise, shared by its whole write group: a reading waiting for the disk holds
    // nothing but its line (bench/: an async frame per reading, kept that long, was promoted by
    // the young-generation GC and cost a fifth of the CPU in collections).
    return spooled;
  }

  return {
    ingest(message) {
      try {
        return ingest(message);
      } catch (error) {
        return Promise.reject(error);
      }
    },
  };
}

const DONE = Promise.resolve();
