// Puts a node's cluster role together from the service's parts: which alert feed (external broker
// session or the clustered embedded broker's bus), what the leader does with Sparkplug (it alone
// receives it on a shared external broker, so it also stores it), and session adoption.
import { hostname } from 'node:os';
import type { AlertEngine } from '../alerts/engine.js';
import type { Config } from '../config.js';
import type { EmbeddedBroker } from '../ingest/embedded-broker.js';
import { isSparkplugTopic, SPARKPLUG_TOPIC, SparkplugDecoder } from '../ingest/sparkplug.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { AssetRegistry } from '../pipeline/enrich.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { Spool } from '../pipeline/spool.js';
import type { Clock, InboundMessage } from '../pipeline/types.js';
import { INGEST_TOPICS } from '../schema.js';
import { sparkplugSink } from '../ingest/sparkplug-sink.js';
import { embeddedAlertFeed, mqttAlertFeed } from './alert-feed.js';
import { alertInput } from './alert-input.js';
import { type ClusterNode, startClusterNode } from './node.js';
import { adoptSession } from './session-adoption.js';

export interface ClusterRoleDeps {
  config: Config;
  redisUrl: string;
  alerts: AlertEngine;
  registry: AssetRegistry;
  pipeline: Pipeline;
  spool: Spool;
  metrics: Metrics;
  clock: Clock;
  log: Logger;
  /** The embedded broker, or undefined on an external one. */
  broker: EmbeddedBroker | undefined;
  /** The external-broker ingestor's client id (its shared-subscription session). */
  clientId: string | undefined;
  /** What the storage path does with a message (for adopted sessions). */
  sink: (message: InboundMessage) => Promise<void>;
  /** Publishes on the service's broker connection (Sparkplug rebirth requests). */
  publish: (topic: string, payload: Buffer) => Promise<void>;
  onElected: () => void;
}

export async function startClusterRole(deps: ClusterRoleDeps): Promise<ClusterNode> {
  const { config, log } = deps;
  const mqtt = config.mqtt;
  const external = mqtt.url !== undefined;
  const evaluate = alertInput({ alerts: deps.alerts, registry: deps.registry, strictAssets: config.strictAssets, clock: deps.clock, log });
  // Telemetry and commands only: status changes raise no alert.
  const topics = [...INGEST_TOPICS.filter((topic) => !topic.endsWith('/status')), ...(config.sparkplug.enabled ? [SPARKPLUG_TOPIC] : [])];
  const decoder = config.sparkplug.enabled
    ? new SparkplugDecoder({
        asset: (site, asset) => deps.registry.get(site, asset),
        metricNames: config.sparkplug.metrics,
        publish: (topic, payload) => void deps.publish(topic, payload).catch((error: unknown) => log.warn(`sparkplug: could not publish ${topic}: ${String(error)}`)),
        now: deps.clock.now,
      })
    : undefined;
  // Shared subscriptions cannot carry Sparkplug (an edge node's messages must reach one host, in
  // order), so on an external broker the leader stores it too; on the embedded one, the node an
  // edge node is connected to stores it, and the leader only evaluates.
  const storeSparkplug = decoder && external ? sparkplugSink({ decoder, pipeline: deps.pipeline, spool: deps.spool, metrics: deps.metrics, log, rejectSamplesPerMinute: config.rejectSamplesPerMinute }) : undefined;

  const onMessage = async (message: InboundMessage): Promise<void> => {
    if (decoder && isSparkplugTopic(message.topic)) {
      const derived = storeSparkplug ? await storeSparkplug(message) : decoder.decode(message).messages;
      for (const reading of derived) evaluate(reading);
      return;
    }
    evaluate(message);
  };

  const feed = external
    ? mqttAlertFeed({ url: mqtt.url!, clientId: `hydrowatch-alerts-${config.cluster.name}`, username: mqtt.username, password: mqtt.password, topics, log, now: deps.clock.now })
    : embeddedAlertFeed(deps.broker!, topics);
  const shareGroup = mqtt.shareGroup;
  const shared =
    external && shareGroup && deps.clientId
      ? {
          clientId: deps.clientId,
          adopt: (clientId: string) =>
            adoptSession({
              url: mqtt.url!,
              clientId,
              username: mqtt.username,
              password: mqtt.password,
              sharedTopics: INGEST_TOPICS.map((topic) => `$share/${shareGroup}/${topic}`),
              sink: deps.sink,
              log,
              now: deps.clock.now,
            }),
        }
      : undefined;
  return startClusterNode({
    redisUrl: deps.redisUrl,
    name: config.cluster.name,
    leaseMs: config.cluster.leaseMs,
    nodeId: deps.clientId ?? mqtt.clientId ?? `${hostname()}-${process.pid}`,
    alerts: deps.alerts,
    feed,
    onMessage,
    shared,
    onElected: deps.onElected,
    log,
    registry: deps.metrics.registry,
  });
}
