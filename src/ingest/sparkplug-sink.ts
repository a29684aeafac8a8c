// Sparkplug messages into the pipeline: decode (sparkplug.ts), dead-letter what it refused (counted
// by reason, sampled into `rejected`), and ingest what it made, which the one schema validates.
import { rejectedLine } from '../influx/points.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { RejectSampler } from '../pipeline/reject-sampler.js';
import type { Spool } from '../pipeline/spool.js';
import type { InboundMessage } from '../pipeline/types.js';
import type { SparkplugDecoder } from './sparkplug.js';

export interface SparkplugSinkDeps {
  decoder: SparkplugDecoder;
  pipeline: Pipeline;
  spool: Spool;
  metrics: Metrics;
  log: Logger;
  rejectSamplesPerMinute: number;
}

/** Resolves, once everything is in the spool, with the messages the Sparkplug one became. */
export function sparkplugSink(deps: SparkplugSinkDeps): (message: InboundMessage) => Promise<InboundMessage[]> {
  const sampler = new RejectSampler(deps.rejectSamplesPerMinute);
  let lastRejectedTs = 0;
  return async (message) => {
    const { messages, rejects } = deps.decoder.decode(message);
    for (const { reason, detail } of rejects) {
      deps.metrics.rejected.labels(reason).inc();
      if (!sampler.keep(reason, message.receivedAt)) continue;
      deps.log.debug(`rejected ${reason} on ${message.topic}: ${detail}`);
      lastRejectedTs = Math.max(message.receivedAt, lastRejectedTs + 1);
      await deps.spool.append([rejectedLine(reason, message.topic, message.payload, detail, lastRejectedTs)]);
    }
    // In order: a birth's status comes before its readings.
    for (const derived of messages) await deps.pipeline.ingest(derived);
    return messages;
  };
}
