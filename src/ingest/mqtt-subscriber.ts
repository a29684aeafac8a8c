// Ingest from an external broker (MQTT_URL): a client with a stable id and a persistent session,
// QoS 1, bounded reconnect backoff. PUBACK goes out only after the pipeline has the message, so
// whatever was not taken is delivered again after a reconnect.
import { hostname } from 'node:os';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../log.js';
import type { InboundMessage } from '../pipeline/types.js';
import { INGEST_TOPICS, TOPIC_ROOT } from '../schema.js';
import { installBufferListReads } from './buffer-list-reads.js';

export interface MqttSubscriberOptions {
  url: string;
  clientId?: string | undefined;
  shareGroup?: string | undefined;
  /** Subscribed as they are, never shared: Sparkplug needs one host to see an edge node's messages in order. */
  unsharedTopics?: readonly string[] | undefined;
  username?: string | undefined;
  password?: string | undefined;
  sink: (message: InboundMessage) => Promise<void>;
  log: Logger;
  now?: () => number;
}

export interface MqttSubscriber {
  connected(): boolean;
  /** Publishes from the service itself (alert topics, Sparkplug commands), on a connection of their own. */
  publish(topic: string, payload: string | Buffer, options: { retain: boolean; qos?: 0 | 1 }): Promise<void>;
  close(): Promise<void>;
}

const MIN_RECONNECT_MS = 500;
const MAX_RECONNECT_MS = 15_000;
/** How long the broker keeps our session (and queues QoS 1 messages) while we are away. */
export const SESSION_EXPIRY_S = 24 * 3600;
/** The client id when MQTT_CLIENT_ID is unset: stable across restarts on one host. */
export const defaultClientId = (): string => `hydrowatch-${hostname()}`;

export async function startMqttSubscriber(options: MqttSubscriberOptions): Promise<MqttSubscriber> {
  installBufferListReads();
  const now = options.now ?? Date.now;
  const useV5 = options.shareGroup !== undefined;
  const clientOptions: IClientOptions = {
    clientId: options.clientId ?? defaultClientId(),
    clean: false,
    protocolVersion: useV5 ? 5 : 4,
    ...(useV5 ? { properties: { sessionExpiryInterval: SESSION_EXPIRY_S } } : {}),
    reconnectPeriod: MIN_RECONNECT_MS,
    connectTimeout: 10_000,
    // mqtt.js logs several lines per packet through `debug`, which costs ~2 % of the CPU per reading
    // even when off; DEBUG=mqttjs* still turns it on.
    ...(process.env.DEBUG ? {} : { log: () => undefined }),
    ...(options.username ? { username: options.username } : {}),
    ...(options.password ? { password: options.password } : {}),
  };
  const client: MqttClient = mqtt.connect(options.url, clientOptions);
  // mqtt.js takes one packet at a time and sends a QoS 1 PUBACK as soon as handleMessage calls
  // back, so waiting there for the spool (a durable write) allowed one reading per sync (~3k/s
  // here, bench/). Our own readings are handed over and mqtt.js moves on; their PUBACKs are held
  // back until the pipeline has each one, and go out in arrival order (MQTT 3.1.1 §4.6), so the
  // spool's group commit serves many. Acks of a connection that dropped are not sent on the next:
  // the broker delivers those messages again. Other topics (Sparkplug) stay one at a time.
  const logIngestFailure = (topic: string, error: unknown): void =>
    options.log.error(`ingest failed on ${topic}: ${error instanceof Error ? error.message : String(error)}`);
  const acks = new HeldAcks(() => (client.connected ? (client as unknown as { stream: AckStream }).stream : undefined), logIngestFailure, options.log);
  const ingest = (packet: { topic: string; payload: Buffer | string }): Promise<void> => {
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    return options.sink({ topic: packet.topic, payload, receivedAt: now() });
  };
  /** The message id whose PUBACK mqtt.js is about to send and we hold instead. */
  let holding: number | undefined;
  client.handleMessage = (packet, done) => {
    if (packet.qos !== 1 || packet.messageId === undefined || !packet.topic.startsWith(`${TOPIC_ROOT}/`)) {
      void ingest(packet)
        .catch((error: unknown) => logIngestFailure(packet.topic, error))
        .then(() => done());
      return;
    }
    acks.hold(packet.messageId, ingest(packet), packet.topic);
    // mqtt.js sends the PUBACK from inside done(): _sendPacket below leaves this one to `acks`.
    holding = packet.messageId;
    done();
    holding = undefined;
  };
  type SendPacket = (packet: { cmd: string; messageId?: number }, callback?: (error?: Error) => void, ...rest: unknown[]) => void;
  const internals = client as unknown as { _sendPacket: SendPacket };
  const sendPacket = internals._sendPacket.bind(client);
  internals._sendPacket = (packet, callback, ...rest) => {
    if (packet.cmd !== 'puback' || holding === undefined || packet.messageId !== holding) return sendPacket(packet, callback, ...rest);
    callback?.();
  };
  client.on('close', () => acks.forget());
  const topics = [...INGEST_TOPICS.map((topic) => (useV5 ? `$share/${options.shareGroup}/${topic}` : topic)), ...(options.unsharedTopics ?? [])];

  let subscribed: () => void = () => undefined;
  const firstSubscription = new Promise<void>((resolve) => (subscribed = resolve));
  backOff(client);
  client.on('connect', (connack) => {
    options.log.info(`connected to MQTT broker ${options.url} as ${clientOptions.clientId}${connack.sessionPresent ? ' (session resumed)' : ''}`);
    // Subscribing again on a resumed session is harmless and covers a broker that lost it.
    client.subscribe(topics, { qos: 1 }, (error) => {
      if (error) options.log.error(`subscribe failed: ${error.message}`);
      else subscribed();
    });
  });
  client.on('offline', () => options.log.warn(`MQTT broker ${options.url} unreachable; reconnecting`));
  client.on('error', (error) => options.log.warn(`MQTT: ${error.message}`));

  // Start even if the broker is down (the client keeps reconnecting, /health says so), but when it
  // is up, start only once subscribed, so nothing published right after start is missed.
  let startTimer: NodeJS.Timeout | undefined;
  await Promise.race([firstSubscription, new Promise<void>((resolve) => (startTimer = setTimeout(resolve, 5000)))]);
  clearTimeout(startTimer);

  // The service's own publishes go on a second connection. On the first, each PUBACK the broker sends
  // for them comes back behind the readings it is sending us, up to its in-flight limit: in an alert
  // flood that round trip took most of a second, and the alert channel fell behind (bench/).
  const publisher = mqtt.connect(options.url, {
    ...clientOptions,
    clientId: `${clientOptions.clientId}-pub`,
    clean: true,
    protocolVersion: 4,
    properties: undefined,
  });
  backOff(publisher);
  publisher.on('error', (error) => options.log.warn(`MQTT (publishing): ${error.message}`));

  let closing: Promise<void> | undefined;
  return {
    connected: () => client.connected,
    publish: async (topic, payload, { retain, qos = 1 }) => {
      await publisher.publishAsync(topic, payload, { retain, qos });
    },
    close() {
      closing ??= Promise.all([client.endAsync(false), publisher.endAsync(false)]).then(() => undefined);
      return closing;
    },
  };
}

/** Reconnects after 0.5 s, doubling up to 15 s while the broker stays away; back to 0.5 s once connected. */
function backOff(client: MqttClient): void {
  client.on('connect', () => (client.options.reconnectPeriod = MIN_RECONNECT_MS));
  client.on('close', () => (client.options.reconnectPeriod = Math.min((client.options.reconnectPeriod ?? MIN_RECONNECT_MS) * 2, MAX_RECONNECT_MS)));
}

type AckStream = { write(chunk: Buffer): boolean };

/**
 * PUBACKs held until the pipeline has their messages, sent in arrival order. Readings of one spool
 * write share its promise, so a run of them is one entry here, and their acknowledgements leave as
 * one write of 4-byte PUBACKs (MQTT 3.1.1 §3.4; in MQTT 5 a success PUBACK may be just as short),
 * not two small writes each through mqtt.js.
 */
export class HeldAcks {
  /** In arrival order; `head` is the oldest still waiting. */
  private queue: Array<{ until: Promise<void>; ids: number[]; done: boolean }> = [];
  private head = 0;
  private connection = 0;

  constructor(
    private readonly stream: () => AckStream | undefined,
    private readonly onIngestFailure: (topic: string, error: unknown) => void,
    private readonly log: Logger,
  ) {}

  /** Holds the PUBACK of `messageId` until `until` settles (a failure is logged, the message acknowledged). */
  hold(messageId: number, until: Promise<void>, topic: string): void {
    const last = this.queue.length > this.head ? this.queue[this.queue.length - 1] : undefined;
    if (last !== undefined && last.until === until && !last.done) {
      last.ids.push(messageId);
      return;
    }
    const entry = { until, ids: [messageId], done: false };
    this.queue.push(entry);
    const on = this.connection;
    const settle = (): void => {
      if (on !== this.connection) return;
      entry.done = true;
      this.release();
    };
    until.then(settle, (error: unknown) => {
      this.onIngestFailure(topic, error);
      settle();
    });
  }

  /** The connection dropped: what was held is for the broker to send again. */
  forget(): void {
    this.connection += 1;
    this.queue = [];
    this.head = 0;
  }

  /** Sends the acknowledgements of every settled entry at the head, in one write. */
  private release(): void {
    let count = 0;
    let end = this.head;
    while (end < this.queue.length && this.queue[end]!.done) count += this.queue[end++]!.ids.length;
    if (count === 0) return;
    const packets = Buffer.allocUnsafe(count * 4);
    let at = 0;
    for (let index = this.head; index < end; index++) {
      for (const id of this.queue[index]!.ids) {
        packets[at] = 0x40; // PUBACK
        packets[at + 1] = 2;
        packets.writeUInt16BE(id, at + 2);
        at += 4;
      }
    }
    this.head = end;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    const stream = this.stream();
    try {
      stream?.write(packets);
    } catch (error) {
      this.log.warn(`MQTT: could not acknowledge ${count} message(s): ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
