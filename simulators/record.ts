// `hydrowatch record`: subscribe to any broker and write everything that arrives to a feed file,
// with its QoS, retain flag and time offset, for `replay` later.
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { INGEST_TOPICS } from '../src/schema.js';
import { createFeedWriter, type FeedWriter } from './feed.js';

/** Telemetry, status and commands of every device; `#` records everything on the broker. */
export const DEFAULT_RECORD_TOPICS = INGEST_TOPICS;

export interface RecordOptions {
  brokerUrl: string;
  /** Feed file; `.gz` compresses it. */
  out: string;
  topics?: readonly string[];
  username?: string;
  password?: string;
  clientId?: string;
  now?: () => number;
  log?: (line: string) => void;
}

export interface Recording {
  stats(): { messages: number; startMs: number; protocolVersion: number };
  /** Unsubscribe, disconnect and close the file; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Connect with MQTT 5 first, whose "retain as published" keeps each message's retain flag as its
 * publisher set it; with a 3.1.1 broker (aedes) only messages delivered for the subscription
 * itself (the retained ones) arrive flagged retained, and live ones do not.
 */
export async function startRecording(opts: RecordOptions): Promise<Recording> {
  const now = opts.now ?? Date.now;
  const log = opts.log ?? (() => {});
  const topics = [...(opts.topics ?? DEFAULT_RECORD_TOPICS)];
  const base: IClientOptions = {
    clientId: opts.clientId ?? `hydrowatch-record-${process.pid}-${Math.floor(now() % 1e6)}`,
    username: opts.username,
    password: opts.password,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  };
  let client: MqttClient;
  let protocolVersion: 4 | 5 = 5;
  try {
    client = await connectAsync(opts.brokerUrl, { ...base, protocolVersion: 5 });
  } catch (error) {
    if (isConnectionFailure(error)) throw new Error(`record: cannot connect to ${opts.brokerUrl}: ${(error as Error).message}`);
    protocolVersion = 4;
    try {
      client = await connectAsync(opts.brokerUrl, { ...base, protocolVersion: 4 });
    } catch (retry) {
      throw new Error(`record: cannot connect to ${opts.brokerUrl}: ${(retry as Error).message}`);
    }
  }

  const startMs = now();
  let writer: FeedWriter;
  try {
    writer = createFeedWriter(opts.out, { startMs, source: `record ${opts.brokerUrl} ${topics.join(' ')}` });
  } catch (error) {
    await client.endAsync(true);
    throw error;
  }
  client.on('message', (topic, payload, packet) => {
    writer.write({ t: now() - startMs, topic, qos: packet.qos, retain: packet.retain, payload });
  });
  // Keep recording through a broker restart: reconnect, and the session's subscriptions come back.
  client.options.reconnectPeriod = 1_000;
  client.on('error', (error) => log(`record: ${error.message}`));
  client.on('offline', () => log('record: broker unreachable, reconnecting'));
  const granted = await client.subscribeAsync(
    topics.map((topic) => ({ topic, qos: 2 as const, ...(protocolVersion === 5 ? { rap: true } : {}) })).reduce<Record<string, { qos: 2; rap?: boolean }>>((all, { topic, ...options }) => ({ ...all, [topic]: options }), {}),
  );
  const refused = granted.filter((grant) => grant.qos === 128);
  if (refused.length > 0) {
    await client.endAsync(true);
    writer.close();
    throw new Error(`record: the broker refused the subscription to ${refused.map((grant) => grant.topic).join(', ')}`);
  }
  log(`record: MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}, subscribed to ${topics.join(', ')}, writing ${opts.out}`);

  let stopping: Promise<void> | undefined;
  return {
    stats: () => ({ messages: writer.messages, startMs, protocolVersion }),
    stop() {
      stopping ??= (async () => {
        try {
          await client.endAsync();
        } catch {
          await client.endAsync(true).catch(() => {});
        }
        writer.close();
      })();
      return stopping;
    },
  };
}

function isConnectionFailure(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}
