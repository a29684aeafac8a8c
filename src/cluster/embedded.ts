// The embedded broker as a cluster node: aedes with its message bus on Redis (mqemitter-redis) and
// its sessions, subscriptions and retained messages in Redis (aedes-persistence-redis). A device on
// node 1 is heard by subscribers on node 2; retained status and alert topics are the same on every
// node; a persistent session survives moving to another node.
import aedesPersistenceRedis from 'aedes-persistence-redis';
import { Redis } from 'ioredis';
import mqemitterRedis from 'mqemitter-redis';

export interface ClusteredBrokerParts {
  /** aedes' `mq` and `persistence` options. */
  mq: unknown;
  persistence: unknown;
  /** After the broker closed: the persistence's Redis connection (aedes closes `mq` itself). */
  close(): Promise<void>;
}

export function clusteredBrokerParts(redisUrl: string): ClusteredBrokerParts {
  const mq = mqemitterRedis({ connectionString: redisUrl });
  const persistence = aedesPersistenceRedis({ conn: new Redis(redisUrl, { maxRetriesPerRequest: null }) });
  let closing: Promise<void> | undefined;
  return {
    mq,
    persistence,
    close() {
      closing ??= new Promise<void>((resolve) => {
        try {
          persistence.destroy(() => resolve());
        } catch {
          resolve();
        }
        // The async persistence resolves destroy() without calling back on some paths.
        setTimeout(resolve, 500).unref();
      });
      return closing;
    },
  };
}
