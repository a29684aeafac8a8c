// The embedded MQTT broker (aedes). Telemetry and status publishes (last wills included) are
// taken in-process from the authorizePublish hook: the broker sends PUBACK only after the
// pipeline has the message, so a full spool holds devices back instead of losing readings.
import { createServer, type Server } from 'node:net';
import type { Server as TlsServer, TlsOptions } from 'node:tls';
import { Aedes } from 'aedes';
import type { Logger } from '../log.js';
import type { InboundMessage } from '../pipeline/types.js';
import { TOPIC_ROOT } from '../schema.js';
import type { BrokerAccess } from '../security/broker-auth.js';
import { listenTls } from '../security/tls.js';
import type { ClusteredBrokerParts } from '../cluster/embedded.js';
import { drainWithoutRecursion } from './mq-drain.js';
import { isSparkplugTopic } from './sparkplug.js';
import { installBufferListReads } from './buffer-list-reads.js';

export interface EmbeddedBroker {
  /** The plaintext listener's port, or the TLS one's when there is no plaintext listener. */
  readonly port: number;
  /** The MQTT-over-TLS listener's port, when TLS is configured. */
  readonly tlsPort?: number | undefined;
  connectedClients(): number;
  /** Publishes from the service itself (e.g. alert topics). */
  publish(topic: string, payload: string | Buffer, options: { retain: boolean; qos?: 0 | 1 }): Promise<void>;
  /** An in-process subscription (cluster-wide when clustered); resolves to its unsubscribe. */
  subscribe(topic: string, handler: (message: InboundMessage) => Promise<void>): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  sink: (message: InboundMessage) => Promise<void>;
  log: Logger;
  now?: () => number;
  /** Device authentication and ACLs; without it every client is let in (HYDROWATCH_INSECURE=1 only). */
  access?: BrokerAccess | undefined;
  /** MQTT over TLS; `plaintext: false` leaves out the plaintext listener on `port`. */
  tls?: { port: number; options: TlsOptions; plaintext: boolean } | undefined;
  /** Ingest Sparkplug B (spBv1.0/…) publishes too. */
  sparkplug?: boolean | undefined;
  /** A cluster node: message bus and persistence in Redis (src/cluster/embedded.ts). */
  cluster?: ClusteredBrokerParts | undefined;
}

const isIngestTopic = (topic: string): boolean =>
  topic.startsWith(`${TOPIC_ROOT}/`) &&
  (topic.endsWith('/telemetry') || topic.endsWith('/status') || topic.endsWith('/command')) &&
  !topic.startsWith(`${TOPIC_ROOT}/alerts/`);

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  installBufferListReads();
  const now = options.now ?? Date.now;
  const { access } = options;
  const ingests = (topic: string): boolean => isIngestTopic(topic) || (options.sparkplug === true && isSparkplugTopic(topic));
  const broker = await Aedes.createBroker({
    // Messages in delivery at once (aedes' default is 100): a delivery to a QoS 1 subscriber lasts an
    // event-loop turn, and an alert flood keeps a few hundred alert publishes going (notify/mqtt.ts);
    // with 100, readings queued behind them. The queue drains without recursion (mq-drain.ts).
    concurrency: 1000,
    ...(options.cluster ? { mq: options.cluster.mq, persistence: options.cluster.persistence } : {}),
    ...(access ? { authenticate: access.authenticate, authorizeSubscribe: access.authorizeSubscribe } : {}),
    authorizePublish(client, packet, callback) {
      // The ACL comes first: a denied publish (a will included) is never ingested, and aedes
      // then disconnects the client (MQTT 3.1.1 has no way to refuse a single PUBLISH).
      if (client !== null && access && !access.mayPublish(client, packet.topic)) return callback(new Error('not authorized'));
      if (client === null || !ingests(packet.topic)) return callback(null);
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
  if (!drainWithoutRecursion((broker as unknown as { mq: unknown }).mq)) options.log.warn('embedded broker: mqemitter has no _do to wrap; a deep delivery queue may overflow the stack');
  broker.on('clientError', (client, error) => options.log.debug(`mqtt client ${client.id}: ${error.message}`));
  const server: Server = createServer(broker.handle);
  const plaintext = options.tls === undefined || options.tls.plaintext;
  if (plaintext) {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }
  let tlsServer: TlsServer | undefined;
  if (options.tls) {
    tlsServer = await listenTls(options.tls.options, options.tls.port, options.host, broker.handle, (error) =>
      options.log.debug(`mqtts: TLS handshake failed: ${error.message}`),
    ).catch(async (error: unknown) => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw error;
    });
  }
  const portOf = (s: Server | TlsServer | undefined): number | undefined => {
    const address = s?.address();
    return typeof address === 'object' && address ? address.port : undefined;
  };
  const tlsPort = portOf(tlsServer);
  const port = (plaintext ? portOf(server) : tlsPort) ?? options.port;
  let closing: Promise<void> | undefined;

  return {
    port,
    tlsPort,
    connectedClients: () => broker.connectedClients,
    publish: (topic, payload, { retain, qos = 1 }) =>
      new Promise<void>((resolve, reject) =>
        broker.publish(
          { cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain, dup: false },
          (error) => (error ? reject(error) : resolve()),
        ),
      ),
    async subscribe(topic, handler) {
      const deliver = (packet: { topic: string; payload: string | Buffer }, done: () => void): void => {
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        handler({ topic: packet.topic, payload, receivedAt: now() }).then(done, (error: unknown) => {
          options.log.error(`in-process subscriber failed on ${packet.topic}: ${error instanceof Error ? error.message : String(error)}`);
          done();
        });
      };
      await new Promise<void>((resolve) => broker.subscribe(topic, deliver, resolve));
      return () => new Promise<void>((resolve) => (broker.closed ? resolve() : broker.unsubscribe(topic, deliver, resolve)));
    },
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await new Promise<void>((resolve) => (tlsServer ? tlsServer.close(() => resolve()) : resolve()));
        await options.cluster?.close();
        access?.close();
      })();
      return closing;
    },
  };
}
