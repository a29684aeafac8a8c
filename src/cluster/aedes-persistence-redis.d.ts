// aedes-persistence-redis ships no types: the part of its API hydrowatch uses.
declare module 'aedes-persistence-redis' {
  import type { Redis } from 'ioredis';

  interface AedesPersistenceRedisOptions {
    /** An ioredis connection to use instead of opening one. */
    conn?: Redis;
    /** Offline messages delivered per client on CONNECT (default 1000). */
    maxSessionDelivery?: number;
  }

  interface AedesPersistenceRedis {
    destroy(callback?: () => void): void;
  }

  function aedesPersistenceRedis(options?: AedesPersistenceRedisOptions): AedesPersistenceRedis;
  export = aedesPersistenceRedis;
}
