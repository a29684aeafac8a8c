// Stage 5: drains the spool into InfluxDB in batches. A batch leaves the spool only once InfluxDB
// confirmed it (or refused it as bad input); while InfluxDB is away it retries with bounded backoff.
// Up to `writeConcurrency` batches are in flight at once (InfluxDB takes two writes side by side
// faster than one after the other); the spool is committed in order, so only a prefix of batches
// that all succeeded ever leaves it.
import type { InfluxClient } from '../influx/client.js';
import { InfluxError } from '../influx/client.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Spool } from './spool.js';

export interface StoreSettings {
  batchSize: number;
  flushIntervalMs: number;
  /** Batches written at the same time (default 1). */
  writeConcurrency?: number | undefined;
}

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 5000;

interface InFlight {
  count: number;
  done: boolean;
  task: Promise<void>;
}

export class SpoolWriter {
  private running = false;
  private loop: Promise<void> | undefined;
  private backoffMs = MIN_BACKOFF_MS;
  private wake: (() => void) | undefined;
  private idle = false;
  private fillingBatch = false;
  private flushNow = false;
  /** Batches handed to InfluxDB and not yet committed, oldest first. */
  private readonly inFlight: InFlight[] = [];
  /** Lines of the spool's head that are in flight or written and waiting for an earlier batch. */
  private taken = 0;
  /** Batches being written now. */
  private writing = 0;
  lastSuccessAt: number | undefined;

  constructor(
    private readonly spool: Spool,
    private readonly influx: Pick<InfluxClient, 'write'>,
    private readonly settings: StoreSettings,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.spool.onAppend = () => {
      // Wake an idle writer at once, a waiting one only when a full batch is ready.
      if (this.idle || (this.fillingBatch && this.waiting >= this.settings.batchSize)) this.wake?.();
    };
    this.loop = this.run();
  }

  /** Writes what the spool holds, for at most `timeoutMs`; resolves with the lines left unwritten. */
  async drain(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    this.flushNow = true;
    this.wake?.();
    while (this.spool.depth > 0 && Date.now() < deadline) await sleep(Math.min(50, deadline - Date.now()));
    this.flushNow = false;
    return this.spool.depth;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.spool.onAppend = undefined;
    this.wake?.();
    await this.loop;
    await Promise.all(this.inFlight.map((batch) => batch.task));
  }

  /** Lines in the spool that no batch has taken yet. */
  private get waiting(): number {
    return this.spool.depth - this.taken;
  }

  private get concurrency(): number {
    return Math.max(1, this.settings.writeConcurrency ?? 1);
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (this.writing >= this.concurrency) {
        await this.pause(1000);
        continue;
      }
      if (this.waiting <= 0) {
        this.idle = true;
        await this.pause(1000);
        this.idle = false;
        continue;
      }
      // A part-full batch waits up to the flush interval for company, or until a write in flight
      // comes back (InfluxDB keeps up: under load, batches then grow with the write time itself);
      // a full one goes at once.
      if (this.waiting < this.settings.batchSize && !this.flushNow) {
        this.fillingBatch = true;
        await this.pause(this.settings.flushIntervalMs);
        this.fillingBatch = false;
        if (!this.running) break;
        if (this.writing >= this.concurrency || this.waiting <= 0) continue;
      }
      this.startBatch();
    }
  }

  private startBatch(): void {
    const batch = this.spool.peek(this.settings.batchSize, this.taken);
    if (batch.length === 0) return;
    this.taken += batch.length;
    this.writing += 1;
    const entry: InFlight = { count: batch.length, done: false, task: Promise.resolve() };
    entry.task = (async () => {
      // writeUntilDone handles every InfluxDB answer; should anything else throw, the batch is
      // tried again rather than left behind (nothing after it could ever leave the spool).
      while (!entry.done && this.running) {
        try {
          entry.done = await this.writeUntilDone(batch);
        } catch (error) {
          this.log.error(`InfluxDB writer: ${error instanceof Error ? error.message : String(error)}`);
          await sleepUnless(MAX_BACKOFF_MS, () => !this.running);
        }
      }
      this.writing -= 1;
      this.commitDone();
      this.wake?.();
    })();
    this.inFlight.push(entry);
  }

  /** Commits, in order, the batches at the head that are done. */
  private commitDone(): void {
    while (this.inFlight.length > 0 && this.inFlight[0]!.done) {
      const { count } = this.inFlight.shift()!;
      this.taken -= count;
      this.spool.commit(count);
    }
  }

  /** Writes one batch, retrying while InfluxDB is away; false when the writer stopped before it got through. */
  private async writeUntilDone(batch: string[]): Promise<boolean> {
    while (this.running) {
      const stopTimer = this.metrics.writeDuration.startTimer();
      try {
        await this.influx.write(batch);
        stopTimer();
        this.metrics.written.inc(batch.length);
        this.metrics.influxUp.set(1);
        this.lastSuccessAt = Date.now();
        this.backoffMs = MIN_BACKOFF_MS;
        return true;
      } catch (error) {
        const failure = error instanceof InfluxError ? error : new InfluxError(String(error), true);
        this.metrics.writeErrors.labels(String(failure.retryable)).inc();
        if (!failure.retryable) {
          // InfluxDB 1.x writes the good points of a 400 batch; the rest can never be written.
          this.log.error(`InfluxDB refused a batch of ${batch.length} points: ${failure.message}`);
          this.metrics.refused.inc(batch.length);
          return true;
        }
        this.metrics.influxUp.set(0);
        const backoff = this.backoffMs;
        this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
        await sleepUnless(backoff, () => !this.running);
      }
    }
    return false;
  }

  /** Sleeps for `ms`, or until woken. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Sleeps for `ms`, checking every 50 ms whether to stop early. */
async function sleepUnless(ms: number, stop: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (!stop() && Date.now() < until) await sleep(Math.min(50, until - Date.now()));
}
