// The dispatcher with in-memory channels: ordering, retries, bounds, shutdown. The real channels
// against real servers are in notify.int.test.ts.
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { type ChannelNotifier, DeliveryError } from '../../src/alerts/notify/channel.js';
import { type DispatcherOptions, NotificationDispatcher } from '../../src/alerts/notify/dispatcher.js';
import type { Notification } from '../../src/alerts/types.js';
import { createLogger } from '../../src/log.js';
import { makeNotification } from '../helpers/alert-fixtures.js';
import { eventually } from '../helpers/service.js';

const dispatchers: NotificationDispatcher[] = [];
afterEach(async () => {
  await Promise.all(dispatchers.splice(0).map((d) => d.close(100)));
});

function setup(notifiers: ChannelNotifier[], options: Partial<DispatcherOptions> = {}) {
  const registry = new Registry();
  const lines: string[] = [];
  const log = createLogger('debug', (line) => lines.push(line));
  const dispatcher = new NotificationDispatcher(notifiers, { registry, log, initialBackoffMs: 10, maxBackoffMs: 40, ...options });
  dispatchers.push(dispatcher);
  const metric = async (name: string, labels: Record<string, string>): Promise<number> => {
    const found = (await registry.getSingleMetric(name)?.get())?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
    return found?.value ?? 0;
  };
  return { dispatcher, registry, lines, metric };
}

/** A channel that records what it delivered and fails while `failing` says so. */
function recorder(name = 'memory') {
  const delivered: Notification[] = [];
  const state = { failures: 0, failWith: undefined as Error | undefined };
  const notifier: ChannelNotifier = {
    name,
    async send(notification) {
      if (state.failures > 0) {
        state.failures--;
        throw state.failWith ?? new Error('connect ECONNREFUSED 127.0.0.1:9');
      }
      delivered.push(notification);
    },
  };
  return { notifier, delivered, state };
}

const numbered = (n: number): Notification => makeNotification({ at: n }, { id: `a-${n}` });

describe('NotificationDispatcher', () => {
  it('enqueue returns before any channel code runs, even when a channel never answers', async () => {
    let calls = 0;
    const hanging: ChannelNotifier = { name: 'hanging', send: () => (calls++, new Promise(() => undefined)) };
    const { dispatcher } = setup([hanging], { sendTimeoutMs: 60_000 });
    const started = performance.now();
    for (let i = 0; i < 1000; i++) dispatcher.enqueue(numbered(i));
    expect(performance.now() - started).toBeLessThan(500);
    expect(calls).toBe(0);
    await eventually(() => expect(calls).toBe(1));
    expect(dispatcher.depth('hanging')).toBe(1000);
  });

  it('delivers in order per channel; every channel gets every notification', async () => {
    const a = recorder('a');
    const b = recorder('b');
    const { dispatcher, metric } = setup([a.notifier, b.notifier]);
    for (let i = 0; i < 20; i++) dispatcher.enqueue(numbered(i));
    await eventually(() => expect(b.delivered).toHaveLength(20));
    await eventually(() => expect(a.delivered).toHaveLength(20));
    expect(a.delivered.map((n) => n.at)).toEqual([...Array(20).keys()]);
    expect(await metric('hydrowatch_notifications_sent_total', { channel: 'a' })).toBe(20);
    expect(await metric('hydrowatch_notification_queue_depth', { channel: 'a' })).toBe(0);
  });

  it('retries a failing channel with exponential backoff, counts each failure, logs one line per outage', async () => {
    const channel = recorder();
    channel.state.failures = 4;
    const { dispatcher, metric, lines } = setup([channel.notifier]);
    expect(dispatcher.backoff(1)).toBe(10);
    expect(dispatcher.backoff(2)).toBe(20);
    expect(dispatcher.backoff(3)).toBe(40);
    expect(dispatcher.backoff(9)).toBe(40);
    const started = Date.now();
    dispatcher.enqueue(numbered(1));
    await eventually(() => expect(channel.delivered).toHaveLength(1));
    expect(Date.now() - started).toBeGreaterThanOrEqual(10 + 20 + 40 + 40 - 5);
    expect(await metric('hydrowatch_notification_failures_total', { channel: 'memory' })).toBe(4);
    expect(await metric('hydrowatch_notifications_sent_total', { channel: 'memory' })).toBe(1);
    expect(lines.filter((l) => l.includes('memory failing'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('memory delivers again'))).toHaveLength(1);
  });

  it('gives up after maxAttempts with one log line and a counted drop, then goes on with the next', async () => {
    const channel = recorder();
    channel.state.failures = 3;
    const { dispatcher, metric, lines } = setup([channel.notifier], { maxAttempts: 3 });
    dispatcher.enqueue(numbered(1));
    dispatcher.enqueue(numbered(2));
    await eventually(() => expect(channel.delivered.map((n) => n.at)).toEqual([2]));
    expect(await metric('hydrowatch_notifications_dropped_total', { channel: 'memory', reason: 'gave_up' })).toBe(1);
    expect(lines.filter((l) => l.includes('dropped raised pump-trip P-01 (alert a-1) after 3 attempt(s)'))).toHaveLength(1);
  });

  it('gives up on a notification older than maxAgeMs', async () => {
    const channel = recorder();
    channel.state.failures = 100;
    const clock = { now: () => Date.now() };
    const { dispatcher, metric } = setup([channel.notifier], { maxAgeMs: 50, clock });
    dispatcher.enqueue(numbered(1));
    await eventually(async () => expect(await metric('hydrowatch_notifications_dropped_total', { channel: 'memory', reason: 'gave_up' })).toBe(1));
    expect(channel.delivered).toHaveLength(0);
  });

  it('does not retry a permanent rejection', async () => {
    const channel = recorder();
    channel.state.failures = 1;
    channel.state.failWith = new DeliveryError('POST http://x/: HTTP 400: bad body', false);
    const { dispatcher, metric } = setup([channel.notifier]);
    dispatcher.enqueue(numbered(1));
    dispatcher.enqueue(numbered(2));
    await eventually(() => expect(channel.delivered.map((n) => n.at)).toEqual([2]));
    expect(await metric('hydrowatch_notification_failures_total', { channel: 'memory' })).toBe(1);
    expect(await metric('hydrowatch_notifications_dropped_total', { channel: 'memory', reason: 'rejected' })).toBe(1);
  });

  it('bounds the queue: the oldest waiting notification is dropped and counted', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const delivered: number[] = [];
    const slow: ChannelNotifier = {
      name: 'slow',
      async send(notification) {
        await gate;
        delivered.push(notification.at);
      },
    };
    const { dispatcher, metric, lines } = setup([slow], { maxQueue: 3 });
    dispatcher.enqueue(numbered(0));
    await eventually(() => expect(dispatcher.depth('slow')).toBe(1)); // 0 is in delivery
    for (let i = 1; i <= 6; i++) dispatcher.enqueue(numbered(i));
    expect(dispatcher.depth('slow')).toBe(4); // in delivery + 3 waiting
    expect(await metric('hydrowatch_notifications_dropped_total', { channel: 'slow', reason: 'queue_full' })).toBe(3);
    expect(await metric('hydrowatch_notification_queue_depth', { channel: 'slow' })).toBe(4);
    release();
    await eventually(() => expect(delivered).toEqual([0, 4, 5, 6]));
    expect(lines.filter((l) => l.includes('queue full'))).toHaveLength(1);
  });

  it('skips channels that do not want a notification', async () => {
    const channel = recorder();
    const picky: ChannelNotifier = { ...channel.notifier, wants: (n) => n.crew !== undefined };
    const { dispatcher, metric } = setup([picky]);
    dispatcher.enqueue(makeNotification({ crew: undefined, at: 1 }));
    dispatcher.enqueue(makeNotification({ at: 2 }));
    await eventually(() => expect(channel.delivered.map((n) => n.at)).toEqual([2]));
    expect(await metric('hydrowatch_notifications_sent_total', { channel: 'memory' })).toBe(1);
  });

  it('runs refresh() on its interval and restore() once, in the channel queue', async () => {
    let refreshes = 0;
    const restored: Notification[][] = [];
    const channel: ChannelNotifier = {
      name: 'upkeep',
      send: async () => undefined,
      refresh: async () => {
        refreshes++;
      },
      restore: async (open) => {
        restored.push(open);
      },
    };
    const { dispatcher } = setup([channel], { refreshIntervalMs: 20 });
    dispatcher.restore([numbered(1), numbered(2)]);
    await eventually(() => expect(refreshes).toBeGreaterThanOrEqual(2));
    expect(restored.map((open) => open.length)).toEqual([2]);
  });

  it('close() delivers what is queued, waits at most its timeout, and is safe to call twice', async () => {
    const channel = recorder();
    let closed = 0;
    channel.notifier.close = async () => {
      closed++;
    };
    const { dispatcher } = setup([channel.notifier]);
    for (let i = 0; i < 5; i++) dispatcher.enqueue(numbered(i));
    await dispatcher.close(2000);
    expect(channel.delivered).toHaveLength(5);
    await dispatcher.close(2000);
    expect(closed).toBe(1);

    // A channel that stays down: close gives up at the timeout and counts what it leaves.
    const down = recorder('down');
    down.state.failures = 1e9;
    const second = setup([down.notifier]);
    second.dispatcher.enqueue(numbered(1));
    second.dispatcher.enqueue(numbered(2));
    const started = Date.now();
    await second.dispatcher.close(200);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(await second.metric('hydrowatch_notifications_dropped_total', { channel: 'down', reason: 'shutdown' })).toBe(2);
    expect(second.lines.some((l) => l.includes('down: 2 notification(s) not delivered before shutdown'))).toBe(true);
    second.dispatcher.enqueue(numbered(3)); // after close: counted, never delivered
    expect(await second.metric('hydrowatch_notifications_dropped_total', { channel: 'down', reason: 'shutdown' })).toBe(3);
  });

  it('a delivery that never settles is cut off by sendTimeoutMs and retried', async () => {
    let calls = 0;
    const flaky: ChannelNotifier = {
      name: 'flaky',
      send: () => (++calls === 1 ? new Promise(() => undefined) : Promise.resolve()),
    };
    const { dispatcher, metric } = setup([flaky], { sendTimeoutMs: 50 });
    dispatcher.enqueue(numbered(1));
    await eventually(async () => expect(await metric('hydrowatch_notifications_sent_total', { channel: 'flaky' })).toBe(1));
    expect(calls).toBe(2);
  });
});
