// Moves a dead ingestor's share of the load to the living. A broker keeps a persistent session's
// share of a `$share` subscription while its client is away (Mosquitto, and EMQX until the session
// expires): messages queue for a process that may never return. The leader connects as the silent
// member (same client id), unsubscribes its shared filters, so nothing more is queued there, takes
// what was queued through the normal pipeline, and disconnects leaving an empty session. If the
// member comes back meanwhile, its connect takes the session over: what was not acknowledged yet is
// delivered to it instead, and storage is idempotent, so nothing is lost or counted twice.
import mqtt, { type IClientOptions } from 'mqtt';
import { SESSION_EXPIRY_S } from '../ingest/mqtt-subscriber.js';
import type { Logger } from '../log.js';
import type { InboundMessage } from '../pipeline/types.js';

export interface AdoptionOptions {
  url: string;
  /** The silent member's client id. */
  clientId: string;
  username?: string | undefined;
  password?: string | undefined;
  /** Its `$share/…` filters. */
  sharedTopics: readonly string[];
  sink: (message: InboundMessage) => Promise<void>;
  log: Logger;
  now: () => number;
  /** Done once nothing arrived for this long. */
  idleMs?: number;
  maxMs?: number;
}

/** Empties a silent member's session into `sink`; resolves with how many messages it took. */
export async function adoptSession(options: AdoptionOptions): Promise<number> {
  const idleMs = options.idleMs ?? 1000;
  const clientOptions: IClientOptions = {
    clientId: options.clientId,
    clean: false,
    protocolVersion: 5,
    properties: { sessionExpiryInterval: SESSION_EXPIRY_S },
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...(options.username ? { username: options.username } : {}),
    ...(options.password ? { password: options.password } : {}),
  };
  const client = mqtt.connect(options.url, clientOptions);
  let taken = 0;
  let pending = 0;
  let lastAt = options.now();
  client.handleMessage = (packet, done) => {
    pending += 1;
    lastAt = options.now();
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    options.sink({ topic: packet.topic, payload, receivedAt: options.now() }).then(
      () => {
        taken += 1;
        pending -= 1;
        lastAt = options.now();
        done();
      },
      (error: unknown) => {
        pending -= 1;
        options.log.error(`adopting ${options.clientId}: ingest failed on ${packet.topic}: ${error instanceof Error ? error.message : String(error)}`);
        done();
      },
    );
  };
  client.on('error', (error) => options.log.debug(`adopting ${options.clientId}: ${error.message}`));
  let closed = false;
  client.on('close', () => (closed = true));

  const connack = await new Promise<{ sessionPresent: boolean } | undefined>((resolve) => {
    client.once('connect', (packet) => resolve(packet));
    client.once('close', () => resolve(undefined));
  });
  if (!connack) return 0;
  if (!connack.sessionPresent) {
    // Nothing was there: leave no session behind either.
    await client.endAsync(false, { properties: { sessionExpiryInterval: 0 } }).catch(() => undefined);
    return 0;
  }
  // From here on the broker queues nothing more for this session; what it already holds comes to us.
  await client.unsubscribeAsync([...options.sharedTopics]).catch(() => undefined);
  const deadline = options.now() + (options.maxMs ?? 60_000);
  while (!closed && (pending > 0 || options.now() - lastAt < idleMs) && options.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // The session stays (empty, unsubscribed): anything still unacknowledged waits there for its owner.
  if (!closed) await client.endAsync(false).catch(() => undefined);
  return taken;
}
