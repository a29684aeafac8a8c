// The embedded MQTT broker (aedes). Telemetry and status publishes (last wills included) are
// taken in-process from the authorizePublish hook: the broker sends PUBACK only after the
// pipeline has the message, so a full spool holds devices back instead of losing readings.
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import type { Logger } from '../log.js';
import type { InboundMessage } from '../pipeline/types.js';
import { TOPIC_ROOT } from '../schema.js';

export interface EmbeddedBroker {
  readonly port: number;
  connectedClients(): number;
  /** Publishes from the service itself (e.g. alert topics). */
  publish(topic: string, payload: string | Buffer, options: { retain: boolean; qos?: 0 | 1 }): Promise<void>;
  close(): Promise<void>;
}

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  sink: (message: InboundMessage) => Promise<void>;
  log: Logger;
  now?: () => number;
}

const isIngestTopic = (topic: string): boolean =>
  topic.startsWith(`${TOPIC_ROOT}/`) && (topic.endsWith('/telemetry') || topic.endsWith('/status')) && !topic.startsWith(`${TOPIC_ROOT}/alerts/`);

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const now = options.now ?? Date.now;
  const broker = await Aedes.createBroker({
    authorizePublish(client, packet, callback) {
      if (client === null || !isIngestTopic(packet.topic)) return callback(null);
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      options.sink({ topic: packet.topic, payload, receivedAt: now() }).then(
        () => callback(null),
        (error: unknown) => {
          // The pipeline never throws for bad input; this is a bug. Keep the broker serving.
          options.log.error(`ingest failed on ${packet.topic}: ${error instanceof Error ? error.message : String(error)}`);
          callback(null);
        },
      );
    },
  });
  broker.on('clientError', (client, error) => options.log.debug(`mqtt client ${client.id}: ${error.message}`));
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  let closing: Promise<void> | undefined;

  return {
    port,
    connectedClients: () => broker.connectedClients,
    publish: (topic, payload, { retain, qos = 1 }) =>
      new Promise<void>((resolve, reject) =>
        broker.publish(
          { cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain, dup: false },
          (error) => (error ? reject(error) : resolve()),
        ),
      ),
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return closing;
    },
  };
}
