// Stage 5: drains the spool into InfluxDB in batches. A batch leaves the spool only once InfluxDB
// confirmed it (or refused it as bad input); while InfluxDB is away it retries with bounded backoff.
import type { InfluxClient } from '../influx/client.js';
import { InfluxError } from '../influx/client.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Spool } from './spool.js';

export interface StoreSettings {
  batchSize: number;
  flushIntervalMs: number;
}

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 5000;

export class SpoolWriter {
  private running = false;
  private loop: Promise<void> | undefined;
  private backoffMs = MIN_BACKOFF_MS;
  private wake: (() => void) | undefined;
  private idle = false;
  private fillingBatch = false;
  private flushNow = false;
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
      if (this.idle || (this.fillingBatch && this.spool.depth >= this.settings.batchSize)) this.wake?.();
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
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (this.spool.depth === 0) {
        this.idle = true;
        await this.pause(1000);
        this.idle = false;
        continue;
      }
      // A part-full batch waits up to the flush interval for company; a full one goes at once.
      if (this.spool.depth < this.settings.batchSize && !this.flushNow) {
        this.fillingBatch = true;
        await this.pause(this.settings.flushIntervalMs);
        this.fillingBatch = false;
        if (!this.running) break;
      }
      await this.writeOneBatch();
    }
  }

  private async writeOneBatch(): Promise<void> {
    const batch = this.spool.peek(this.settings.batchSize);
    if (batch.length === 0) return;
    const stopTimer = this.metrics.writeDuration.startTimer();
    try {
      await this.influx.write(batch);
      stopTimer();
      this.spool.commit(batch.length);
      this.metrics.written.inc(batch.length);
      this.metrics.influxUp.set(1);
      this.lastSuccessAt = Date.now();
      this.backoffMs = MIN_BACKOFF_MS;
    } catch (error) {
      const failure = error instanceof InfluxError ? error : new InfluxError(String(error), true);
      this.metrics.writeErrors.labels(String(failure.retryable)).inc();
      if (!failure.retryable) {
        // InfluxDB 1.x writes the good points of a 400 batch; the rest can never be written.
        this.log.error(`InfluxDB refused a batch of ${batch.length} points: ${failure.message}`);
        this.spool.commit(batch.length);
        this.metrics.refused.inc(batch.length);
        return;
      }
      this.metrics.influxUp.set(0);
      await this.pause(this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    }
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
