// A lease in Redis: one key, held by one process at a time, that expires unless renewed. It
// elects the cluster's alert leader. Writes a leader makes to shared state are fenced by the lease
// (a Lua script checks the holder first), so a deposed leader that wakes up late changes nothing.
import type { Redis } from 'ioredis';

// Acquire when free, renew when ours: one round trip, atomic.
const ACQUIRE_OR_RENEW = `
local holder = redis.call('GET', KEYS[1])
if holder == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const SET_IF_HOLDER = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[2], ARGV[2]) return 1 end return 0`;

export class RedisLease {
  constructor(
    private readonly redis: Redis,
    readonly key: string,
    /** Unique to this process's run: a restarted process is a new holder. */
    readonly token: string,
    private readonly ttlMs: number,
  ) {}

  /** True while this process holds the lease (taken now or renewed). */
  async acquireOrRenew(): Promise<boolean> {
    return (await this.redis.eval(ACQUIRE_OR_RENEW, 1, this.key, this.token, String(this.ttlMs))) === 1;
  }

  async release(): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, this.token);
  }

  /** The holder's token, if anyone holds it. */
  holder(): Promise<string | null> {
    return this.redis.get(this.key);
  }

  /** Writes `key` only while this process holds the lease. */
  async setIfHolder(key: string, value: string): Promise<boolean> {
    return (await this.redis.eval(SET_IF_HOLDER, 2, this.key, key, this.token, value)) === 1;
  }
}
