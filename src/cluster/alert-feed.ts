// What the alert leader reads: every reading of every asset, in one place, whichever ingestor stores
// it. On an external broker it is an MQTT session of its own with a fixed client id shared by the
// cluster (`hydrowatch-alerts-<name>`), subscribed without `$share`: while no leader is connected
// the broker queues for that session, and a new leader resumes it, so a failover evaluates every
// reading (at least once; an alert is raised once per (rule, asset) because the state moves with
// it). With the clustered embedded broker it is an in-process subscription to the Redis bus.
import mqtt, { type IClientOptions } from 'mqtt';
import type { EmbeddedBroker } from '../ingest/embedded-broker.js';
import { SESSION_EXPIRY_S } from '../ingest/mqtt-subscriber.js';
import type { Logger } from '../log.js';
import type { InboundMessage } from '../pipeline/types.js';

export interface AlertFeed {
  /** Resolves once subscribed; `handle` acknowledges a message by resolving. */
  start(handle: (message: InboundMessage) => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export interface MqttFeedOptions {
  url: string;
  clientId: string;
  username?: string | undefined;
  password?: string | undefined;
  topics: readonly string[];
  log: Logger;
  now: () => number;
}

export function mqttAlertFeed(options: MqttFeedOptions): AlertFeed {
  let client: mqtt.MqttClient | undefined;
  return {
    async start(handle) {
      const clientOptions: IClientOptions = {
        clientId: options.clientId,
        clean: false,
        protocolVersion: 5,
        properties: { sessionExpiryInterval: SESSION_EXPIRY_S },
        reconnectPeriod: 1000,
        connectTimeout: 5000,
        ...(options.username ? { username: options.username } : {}),
        ...(options.password ? { password: options.password } : {}),
      };
      const current = mqtt.connect(options.url, clientOptions);
      client = current;
      current.handleMessage = (packet, done) => {
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        handle({ topic: packet.topic, payload, receivedAt: options.now() }).then(
          () => done(),
          (error: unknown) => {
            // Not acknowledged: the session keeps it for whoever leads next (the feed is being stopped).
            options.log.warn(`alert feed: ${packet.topic} left for the next leader (${error instanceof Error ? error.message : String(error)})`);
          },
        );
      };
      current.on('error', (error) => options.log.warn(`alert feed: ${error.message}`));
      await new Promise<void>((resolve) => {
        current.on('connect', (connack) => {
          options.log.info(`alert feed connected as ${options.clientId}${connack.sessionPresent ? ' (session resumed)' : ''}`);
          current.subscribe([...options.topics], { qos: 1 }, (error) => {
            if (error) options.log.error(`alert feed subscribe failed: ${error.message}`);
            resolve();
          });
        });
        setTimeout(resolve, 5000).unref();
      });
    },
    async stop() {
      const current = client;
      client = undefined;
      // Not forced: acknowledgements of what was handled still go out; the session stays for the next leader.
      await current?.endAsync(false).catch(() => undefined);
    },
  };
}

export function embeddedAlertFeed(broker: EmbeddedBroker, topics: readonly string[]): AlertFeed {
  let unsubscribe: Array<() => Promise<void>> = [];
  return {
    async start(handle) {
      unsubscribe = await Promise.all(topics.map((topic) => broker.subscribe(topic, handle)));
    },
    async stop() {
      const pending = unsubscribe;
      unsubscribe = [];
      await Promise.all(pending.map((stop) => stop()));
    },
  };
}
