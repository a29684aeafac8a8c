// Delivers notifications to every channel without ever making the caller wait: enqueue() only puts
// the notification on each channel's queue. Each channel has one worker that delivers in order
// (a `cleared` never overtakes its `raised`), retries failures with exponential backoff, and is
// bounded both in queue size (drop-oldest) and in how long it keeps trying one notification.
import { Counter, Gauge, type Registry } from 'prom-client';
import { type ChannelNotifier, isRetryable } from './channel.js';
import type { Logger } from '../../log.js';
import type { Clock } from '../../pipeline/types.js';
import type { Notification } from '../types.js';

export interface DispatcherOptions {
  /** Where the notification metrics are registered (the service's /metrics registry). */
  registry: Registry;
  log: Logger;
  clock?: Clock;
  /** Notifications waiting per channel; past it the oldest waiting one is dropped (counted). */
  maxQueue?: number;
  /** First retry delay; it doubles per attempt up to maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** A notification is dropped after this many failed attempts … */
  maxAttempts?: number;
  /** … or once it is this old, whichever comes first. */
  maxAgeMs?: number;
  /** Guard around one delivery, in case a notifier's own timeout does not fire. */
  sendTimeoutMs?: number;
  /** How often channels with upkeep (Alertmanager re-sends) get `refresh()`; 0 = never. */
  refreshIntervalMs?: number;
}

export const DISPATCHER_DEFAULTS = {
  maxQueue: 1000,
  initialBackoffMs: 1000,
  maxBackoffMs: 60_000,
  maxAttempts: 30,
  maxAgeMs: 3_600_000,
  sendTimeoutMs: 30_000,
  refreshIntervalMs: 60_000,
} as const;

export type DropReason = 'queue_full' | 'gave_up' | 'rejected' | 'shutdown';

interface Job {
  type: 'send' | 'refresh' | 'restore';
  /** For log lines: what this is about. */
  label: string;
  run: () => Promise<void>;
  enqueuedAt: number;
  attempts: number;
}

interface Lane {
  notifier: ChannelNotifier;
  queue: Job[];
  current: Job | undefined;
  /** The worker's promise: resolves when it has emptied the queue. */
  worker: Promise<void> | undefined;
  running: boolean;
  /** Ends a backoff wait early (on shutdown). */
  wake: (() => void) | undefined;
  failing: boolean;
  overflowing: boolean;
}

export class NotificationDispatcher {
  private readonly lanes = new Map<string, Lane>();
  private readonly settings: Required<Omit<DispatcherOptions, 'registry' | 'log' | 'clock'>>;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly sent: Counter<'channel'>;
  private readonly failures: Counter<'channel'>;
  private readonly dropped: Counter<'channel' | 'reason'>;
  private readonly refreshTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private stopped = false;
  private closed: Promise<void> | undefined;

  constructor(notifiers: ChannelNotifier[], options: DispatcherOptions) {
    const { registry, log, clock, ...rest } = options;
    this.settings = { ...DISPATCHER_DEFAULTS, ...stripUndefined(rest) };
    this.clock = clock ?? { now: () => Date.now() };
    this.log = log;
    for (const notifier of notifiers) {
      if (this.lanes.has(notifier.name)) throw new Error(`notify: two channels are named ${notifier.name}`);
      this.lanes.set(notifier.name, { notifier, queue: [], current: undefined, worker: undefined, running: false, wake: undefined, failing: false, overflowing: false });
    }
    const registers = [registry];
    this.sent = new Counter({ name: 'hydrowatch_notifications_sent_total', help: 'Notifications delivered, by channel', labelNames: ['channel'], registers });
    this.failures = new Counter({
      name: 'hydrowatch_notification_failures_total',
      help: 'Failed delivery attempts (each retry counts), by channel',
      labelNames: ['channel'],
      registers,
    });
    this.dropped = new Counter({
      name: 'hydrowatch_notifications_dropped_total',
      help: 'Notifications given up: queue_full (oldest dropped), gave_up (retries exhausted), rejected (permanent error), shutdown',
      labelNames: ['channel', 'reason'],
      registers,
    });
    const lanes = this.lanes;
    new Gauge({
      name: 'hydrowatch_notification_queue_depth',
      help: 'Notifications waiting or in delivery, by channel',
      labelNames: ['channel'],
      registers,
      collect() {
        for (const [channel, lane] of lanes) this.set({ channel }, lane.queue.length + (lane.current ? 1 : 0));
      },
    });
    for (const channel of this.lanes.keys()) {
      this.sent.labels(channel).inc(0);
      this.failures.labels(channel).inc(0);
    }
    const interval = this.settings.refreshIntervalMs;
    if (interval > 0 && notifiers.some((notifier) => notifier.refresh)) {
      this.refreshTimer = setInterval(() => this.refreshAll(), interval);
      this.refreshTimer.unref();
    }
  }

  /** Channel names, in the order they were given. */
  get channels(): string[] {
    return [...this.lanes.keys()];
  }

  /** Queues the notification on every channel that wants it and returns at once. */
  enqueue(notification: Notification): void {
    const label = `${notification.kind} ${notification.alert.rule} ${notification.alert.asset} (alert ${notification.alert.id})`;
    for (const [channel, lane] of this.lanes) {
      if (this.closing) {
        this.dropped.inc({ channel, reason: 'shutdown' });
        continue;
      }
      let wanted: boolean;
      try {
        wanted = lane.notifier.wants?.(notification) ?? true;
      } catch (error) {
        this.log.warn(`notify: ${channel} could not route ${label}: ${reason(error)}`);
        continue;
      }
      if (!wanted) continue;
      this.push(channel, lane, { type: 'send', label, run: () => lane.notifier.send(notification), enqueuedAt: this.clock.now(), attempts: 0 });
    }
  }

  /** After a restart: channels with `restore` re-establish open alerts (no paging). Returns at once. */
  restore(open: Notification[]): void {
    if (this.closing || open.length === 0) return;
    for (const [channel, lane] of this.lanes) {
      const { notifier } = lane;
      if (!notifier.restore) continue;
      this.push(channel, lane, { type: 'restore', label: `restore of ${open.length} open alert(s)`, run: () => notifier.restore!(open), enqueuedAt: this.clock.now(), attempts: 0 });
    }
  }

  /** Notifications waiting or in delivery on a channel (all channels when omitted). */
  depth(channel?: string): number {
    let total = 0;
    for (const [name, lane] of this.lanes) if (channel === undefined || name === channel) total += lane.queue.length + (lane.current ? 1 : 0);
    return total;
  }

  /**
   * Stops taking notifications, keeps delivering (with retries) what is queued until every queue is
   * empty or `timeoutMs` has passed, then drops the rest (counted, one log line per channel) and
   * closes the notifiers. Safe to call twice.
   */
  close(timeoutMs = 10_000): Promise<void> {
    this.closed ??= this.shutdown(timeoutMs);
    return this.closed;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    this.closing = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    const workers = [...this.lanes.values()].map((lane) => (lane.running ? lane.worker : undefined) ?? Promise.resolve());
    await Promise.race([Promise.all(workers), timedOut]);
    clearTimeout(timer);
    this.stopped = true;
    for (const [channel, lane] of this.lanes) {
      lane.wake?.();
      const left = lane.queue.filter((job) => job.type === 'send').length + (lane.current?.type === 'send' ? 1 : 0);
      lane.queue = [];
      if (left > 0) {
        this.dropped.inc({ channel, reason: 'shutdown' }, left);
        this.log.warn(`notify: ${channel}: ${left} notification(s) not delivered before shutdown`);
      }
    }
    await Promise.all(
      [...this.lanes.values()].map((lane) => lane.notifier.close?.().catch((error: unknown) => this.log.warn(`notify: closing ${lane.notifier.name}: ${reason(error)}`))),
    );
  }

  private refreshAll(): void {
    for (const [channel, lane] of this.lanes) {
      const { notifier } = lane;
      if (!notifier.refresh || this.closing) continue;
      // One pending refresh is enough: it sends the state as of when it runs.
      if (lane.current?.type === 'refresh' || lane.queue.some((job) => job.type === 'refresh')) continue;
      this.push(channel, lane, { type: 'refresh', label: 'refresh', run: () => notifier.refresh!(), enqueuedAt: this.clock.now(), attempts: 0 });
    }
  }

  private push(channel: string, lane: Lane, job: Job): void {
    if (job.type === 'send') {
      const waiting = lane.queue.filter((queued) => queued.type === 'send').length;
      if (waiting >= this.settings.maxQueue) {
        const oldest = lane.queue.findIndex((queued) => queued.type === 'send');
        const [dropped] = lane.queue.splice(oldest, 1);
        this.dropped.inc({ channel, reason: 'queue_full' });
        if (!lane.overflowing) {
          lane.overflowing = true;
          this.log.warn(`notify: ${channel}: queue full (${this.settings.maxQueue}); dropping the oldest (first: ${dropped?.label})`);
        }
      }
    }
    lane.queue.push(job);
    if (!lane.running) {
      lane.running = true;
      lane.worker = this.work(channel, lane);
    }
  }

  private async work(channel: string, lane: Lane): Promise<void> {
    // Yield first: enqueue() must return before any notifier code runs.
    await Promise.resolve();
    try {
      while (!this.stopped) {
        const job = lane.queue.shift();
        if (job === undefined) break;
        lane.current = job;
        await this.attempt(channel, lane, job);
        lane.current = undefined;
      }
    } finally {
      // Synchronously with the empty-queue check, so a push right after starts a new worker.
      lane.current = undefined;
      lane.running = false;
      lane.overflowing = false;
    }
  }

  /** Runs one job until it succeeds or is given up. */
  private async attempt(channel: string, lane: Lane, job: Job): Promise<void> {
    for (;;) {
      job.attempts++;
      try {
        await withTimeout(job.run(), this.settings.sendTimeoutMs);
        if (job.type === 'send') this.sent.inc({ channel });
        if (lane.failing) {
          lane.failing = false;
          this.log.info(`notify: ${channel} delivers again`);
        }
        return;
      } catch (error) {
        this.failures.inc({ channel });
        if (this.stopped) return;
        const retryable = isRetryable(error);
        if (retryable && !lane.failing) {
          lane.failing = true;
          this.log.warn(`notify: ${channel} failing (${reason(error)}); retrying with backoff`);
        }
        if (job.type === 'refresh') return; // the next refresh is due soon
        const age = this.clock.now() - job.enqueuedAt;
        if (!retryable || job.attempts >= this.settings.maxAttempts || age >= this.settings.maxAgeMs) {
          const why: DropReason = retryable ? 'gave_up' : 'rejected';
          if (job.type === 'send') this.dropped.inc({ channel, reason: why });
          this.log.warn(
            `notify: ${channel} dropped ${job.label} after ${job.attempts} attempt(s) over ${Math.round(age / 1000)} s: ${reason(error)}`,
          );
          return;
        }
        await this.sleep(lane, this.backoff(job.attempts));
        if (this.stopped) return;
      }
    }
  }

  /** 1 s, 2 s, 4 s … capped (defaults: 1 s → 60 s). */
  backoff(attempts: number): number {
    return Math.min(this.settings.maxBackoffMs, this.settings.initialBackoffMs * 2 ** Math.max(0, attempts - 1));
  }

  private sleep(lane: Lane, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        lane.wake = undefined;
        resolve();
      }
      lane.wake = done;
    });
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';

function stripUndefined<T extends object>(value: T): { [K in keyof T]-?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]-?: Exclude<T[K], undefined> };
}
