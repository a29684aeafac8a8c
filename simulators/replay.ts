// `hydrowatch replay`: publish a feed file to any broker, at its recorded pace × speed or as fast
// as the broker takes it (`max`: many messages in flight, each with its recorded QoS and retain).
import { stat } from 'node:fs/promises';
import { connectAsync, type MqttClient } from 'mqtt';
import { openFeed, readPayloadTimestamp, shiftPayloadTimestamp, type FeedMessage } from './feed.js';

export interface ReplayOptions {
  file: string;
  brokerUrl: string;
  /** Recorded seconds per real second, or `max`. */
  speed: number | 'max';
  /** Start over at the end, until stopped. */
  loop?: boolean;
  /** Move every reading's `ts` by one offset so the feed's last one is at (or just before) now. */
  shiftToNow?: boolean;
  username?: string;
  password?: string;
  /** Unacknowledged publishes allowed at once (default 2000). */
  maxInFlight?: number;
  /** Parallel connections; topics are spread over them, so each topic keeps its order (default 1). */
  connections?: number;
  now?: () => number;
  log?: (line: string) => void;
  /** Share of the file read (0…1), and messages published so far. */
  onProgress?: (fraction: number, published: number) => void;
  signal?: AbortSignal;
}

export interface ReplayResult {
  published: number;
  failed: number;
  loops: number;
  elapsedMs: number;
}

export async function replayFeed(opts: ReplayOptions): Promise<ReplayResult> {
  const now = opts.now ?? Date.now;
  const log = opts.log ?? (() => {});
  if (opts.speed !== 'max' && (!Number.isFinite(opts.speed) || opts.speed <= 0)) throw new RangeError(`replay: speed must be a positive number or max, not ${opts.speed}`);
  const maxInFlight = opts.maxInFlight ?? 2_000;
  const connections = Math.max(1, Math.floor(opts.connections ?? 1));
  const { size } = await stat(opts.file);

  const clients: MqttClient[] = [];
  try {
    for (let index = 0; index < connections; index++) {
      clients.push(
        await connectAsync(opts.brokerUrl, {
          clientId: `hydrowatch-replay-${process.pid}-${index}`,
          username: opts.username,
          password: opts.password,
          clean: true,
          reconnectPeriod: 1_000,
          connectTimeout: 10_000,
        }),
      );
    }
  } catch (error) {
    await Promise.all(clients.map((client) => client.endAsync(true).catch(() => {})));
    throw new Error(`replay: cannot connect to ${opts.brokerUrl}: ${error instanceof Error ? error.message : String(error)}`);
  }
  for (const client of clients) client.on('error', (error) => log(`replay: ${error.message}`));

  let published = 0;
  let failed = 0;
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const settled = (error?: Error) => {
    inFlight--;
    if (error) {
      if (failed++ === 0) log(`replay: publish failed (${error.message}); further failures are counted silently`);
    } else published++;
    const check = wake;
    wake = undefined;
    check?.();
  };
  const clientFor = (topic: string): MqttClient => {
    if (clients.length === 1) return clients[0]!;
    let hash = 0;
    for (let index = 0; index < topic.length; index++) hash = (hash * 31 + topic.charCodeAt(index)) | 0;
    return clients[Math.abs(hash) % clients.length]!;
  };
  const publish = (message: FeedMessage, payload: Buffer | string) => {
    inFlight++;
    clientFor(message.topic).publish(message.topic, payload, { qos: message.qos, retain: message.retain }, settled);
  };
  const waitUntil = (condition: () => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => (condition() ? resolve() : void (wake = check));
      check();
    });

  const startedMs = now();
  let loops = 0;
  try {
    do {
      const shift = opts.shiftToNow ? await shiftToNow(opts.file, now()) : { deltaMs: 0, frameMs: 0 };
      const { deltaMs, frameMs } = shift;
      if (opts.shiftToNow) log(`replay: timestamps shifted by ${(deltaMs / 3_600_000).toFixed(2)} h`);
      const feed = await openFeed(opts.file);
      const loopStartMs = now();
      let sinceProgress = 0;
      try {
        for await (const message of feed.messages) {
          if (opts.signal?.aborted) break;
          if (opts.speed !== 'max') {
            const dueMs = loopStartMs + message.t / opts.speed;
            const waitMs = dueMs - now();
            if (waitMs >= 1) await sleep(waitMs, opts.signal);
            if (opts.signal?.aborted) break;
          }
          const payload = deltaMs === 0 ? message.payload : shiftPayloadTimestamp(message.payload, deltaMs, feed.header.startMs + message.t + frameMs);
          publish(message, payload);
          if (inFlight >= maxInFlight) await waitUntil(() => inFlight < maxInFlight);
          if (++sinceProgress >= 5_000) {
            sinceProgress = 0;
            opts.onProgress?.(Math.min(1, feed.bytesRead() / size), published);
          }
        }
      } finally {
        feed.close();
      }
      loops++;
    } while (opts.loop && !opts.signal?.aborted);
    await waitUntil(() => inFlight === 0);
    opts.onProgress?.(1, published);
  } finally {
    await Promise.all(clients.map((client) => client.endAsync().catch(() => client.endAsync(true).catch(() => {}))));
  }
  return { published, failed, loops, elapsedMs: now() - startedMs };
}

/**
 * How to shift a feed's readings to now. Their timestamps may sit anywhere relative to when the
 * messages were sent (a recording of a replayed day), so first find the feed's frame: the median
 * of ts − send time. A `ts` within a day of its message's send time + frame is a reading; others
 * (seconds, year 2099) are garbage and stay. `deltaMs` = now − the latest reading.
 */
async function shiftToNow(file: string, nowMs: number): Promise<{ deltaMs: number; frameMs: number }> {
  const feed = await openFeed(file);
  const stamps: number[] = [];
  const sentAt: number[] = [];
  let lastMessageMs = feed.header.startMs;
  try {
    for await (const message of feed.messages) {
      const atMs = feed.header.startMs + message.t;
      lastMessageMs = Math.max(lastMessageMs, atMs);
      const ts = readPayloadTimestamp(message.payload);
      if (ts === undefined) continue;
      stamps.push(ts);
      sentAt.push(atMs);
    }
  } finally {
    feed.close();
  }
  if (stamps.length === 0) return { deltaMs: nowMs - lastMessageMs, frameMs: 0 };
  const offsets = Float64Array.from(stamps, (ts, index) => ts - sentAt[index]!).sort();
  const frameMs = offsets[offsets.length >> 1]!;
  let latestMs = Number.NEGATIVE_INFINITY;
  stamps.forEach((ts, index) => {
    if (Math.abs(ts - (sentAt[index]! + frameMs)) <= 86_400_000 && ts > latestMs) latestMs = ts;
  });
  return { deltaMs: nowMs - latestMs, frameMs };
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
