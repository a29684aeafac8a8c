// Which ingestors of a shared subscription are alive: each keeps a heartbeat key (with a TTL) under
// its MQTT client id and is listed in a set. A listed id without a heartbeat is an ingestor that
// died or stopped, whose broker session may still hold messages (see session-adoption.ts).
import type { Redis } from 'ioredis';

const FORGET_IF_SILENT = `if redis.call('EXISTS', KEYS[1]) == 0 then return redis.call('SREM', KEYS[2], ARGV[1]) end return 0`;

export class Membership {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly clientId: string,
    private readonly ttlMs: number,
  ) {}

  private heartbeatKey = (clientId: string): string => `${this.prefix}member:${clientId}`;
  private get setKey(): string {
    return `${this.prefix}members`;
  }

  async heartbeat(): Promise<void> {
    await this.redis.multi().set(this.heartbeatKey(this.clientId), String(Date.now()), 'PX', this.ttlMs).sadd(this.setKey, this.clientId).exec();
  }

  /** On a clean stop: the session is left to be adopted at once, not after the heartbeat runs out. */
  async leave(): Promise<void> {
    await this.redis.del(this.heartbeatKey(this.clientId));
  }

  /** Listed members whose heartbeat ran out (never this process). */
  async silent(): Promise<string[]> {
    const members = (await this.redis.smembers(this.setKey)).filter((id) => id !== this.clientId);
    if (members.length === 0) return [];
    const alive = await Promise.all(members.map((id) => this.redis.exists(this.heartbeatKey(id))));
    return members.filter((_, i) => alive[i] === 0);
  }

  /** Drops a member whose session was emptied, unless it came back meanwhile. */
  async forget(clientId: string): Promise<void> {
    await this.redis.eval(FORGET_IF_SILENT, 2, this.heartbeatKey(clientId), this.setKey, clientId);
  }
}
