// Ingest from an external broker (MQTT_URL): a client with a stable id and a persistent session,
// QoS 1, bounded reconnect backoff. PUBACK goes out only after the pipeline has the message, so
// whatever was not taken is delivered again after a reconnect.
import { hostname } from 'node:os';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../log.js';
import type { InboundMessage } from '../pipeline/types.js';
import { INGEST_TOPICS } from '../schema.js';

export interface MqttSubscriberOptions {
  url: string;
  clientId?: string | undefined;
  shareGroup?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  sink: (message: InboundMessage) => Promise<void>;
  log: Logger;
  now?: () => number;
}

export interface MqttSubscriber {
  connected(): boolean;
  /** Publishes from the service itself (alert topics) on the same connection. */
  publish(topic: string, payload: string | Buffer, options: { retain: boolean; qos?: 0 | 1 }): Promise<void>;
  close(): Promise<void>;
}

const MIN_RECONNECT_MS = 500;
const MAX_RECONNECT_MS = 15_000;
/** How long the broker keeps our session (and queues QoS 1 messages) while we are away. */
const SESSION_EXPIRY_S = 24 * 3600;

export async function startMqttSubscriber(options: MqttSubscriberOptions): Promise<MqttSubscriber> {
  const now = options.now ?? Date.now;
  const useV5 = options.shareGroup !== undefined;
  const clientOptions: IClientOptions = {
    clientId: options.clientId ?? `hydrowatch-${hostname()}`,
    clean: false,
    protocolVersion: useV5 ? 5 : 4,
    ...(useV5 ? { properties: { sessionExpiryInterval: SESSION_EXPIRY_S } } : {}),
    reconnectPeriod: MIN_RECONNECT_MS,
    connectTimeout: 10_000,
    ...(options.username ? { username: options.username } : {}),
    ...(options.password ? { password: options.password } : {}),
  };
  const client: MqttClient = mqtt.connect(options.url, clientOptions);
  client.handleMessage = (packet, done) => {
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    options.sink({ topic: packet.topic, payload, receivedAt: now() }).then(
      () => done(),
      (error: unknown) => {
        options.log.error(`ingest failed on ${packet.topic}: ${error instanceof Error ? error.message : String(error)}`);
        done();
      },
    );
  };
  const topics = INGEST_TOPICS.map((topic) => (useV5 ? `$share/${options.shareGroup}/${topic}` : topic));

  let subscribed: () => void = () => undefined;
  const firstSubscription = new Promise<void>((resolve) => (subscribed = resolve));
  client.on('connect', (connack) => {
    client.options.reconnectPeriod = MIN_RECONNECT_MS;
    options.log.info(`connected to MQTT broker ${options.url} as ${clientOptions.clientId}${connack.sessionPresent ? ' (session resumed)' : ''}`);
    // Subscribing again on a resumed session is harmless and covers a broker that lost it.
    client.subscribe(topics, { qos: 1 }, (error) => {
      if (error) options.log.error(`subscribe failed: ${error.message}`);
      else subscribed();
    });
  });
  client.on('close', () => {
    client.options.reconnectPeriod = Math.min((client.options.reconnectPeriod ?? MIN_RECONNECT_MS) * 2, MAX_RECONNECT_MS);
  });
  client.on('offline', () => options.log.warn(`MQTT broker ${options.url} unreachable; reconnecting`));
  client.on('error', (error) => options.log.warn(`MQTT: ${error.message}`));

  // Start even if the broker is down (the client keeps reconnecting, /health says so), but when it
  // is up, start only once subscribed, so nothing published right after start is missed.
  let startTimer: NodeJS.Timeout | undefined;
  await Promise.race([firstSubscription, new Promise<void>((resolve) => (startTimer = setTimeout(resolve, 5000)))]);
  clearTimeout(startTimer);

  let closing: Promise<void> | undefined;
  return {
    connected: () => client.connected,
    publish: async (topic, payload, { retain, qos = 1 }) => {
      await client.publishAsync(topic, payload, { retain, qos });
    },
    close() {
      closing ??= client.endAsync(false).then(() => undefined);
      return closing;
    },
  };
}
