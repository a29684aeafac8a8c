// The MQTT alert topic (design §2): `hydrowatch/alerts/{site}/{asset}/{rule}`, retained with the
// JSON body (body.ts) while the alert is active (acknowledged or shelved included), and an empty
// retained payload — which deletes the retained message — once it is no longer active.
//
// Publishes go out in order without waiting for one another's acknowledgement (up to `window` at
// once): MQTT keeps one connection's QoS 1 messages in order, and waiting for each PUBACK in turn
// made this channel the slowest step of an alert during a flood (a broker busy with readings
// answers each one late). A publish that fails later is sent again if it is still the newest
// for its topic, so a stale state never overwrites a newer one.
//
// Each publish waits about one broker round trip, which in a flood is long: on an external broker
// the acknowledgement comes back behind the readings the broker is sending us. An alert flood
// (bench/: 1 % of 20k readings/s, ~400 notifications/s) needs a window of a few hundred; with 16
// the queue overflowed and notifications were dropped.
//
// The embedded broker (aedes) ends a delivery to a QoS 1 subscriber one event-loop turn after
// writing it, and under load a turn lasts up to half a second: a window of 256 then carries about
// 500 publishes a second, the flood's rate, and the queue still overflowed (bench: 500–1,100 of
// ~4,000 dropped, p50 1.4 s). In-process there is no round trip to bound, only aedes' own queue,
// so the embedded broker gets EMBEDDED_BROKER_WINDOW and the dispatcher's queue is the bound.
import { notificationBody } from './body.js';
import type { ChannelNotifier } from './channel.js';
import type { Logger } from '../../log.js';
import { TOPIC_ROOT } from '../../schema.js';
import { type AlertRecord, isActive, type Notification } from '../types.js';

/** The embedded broker's publish, or a wrapper around the external client's publishAsync. */
export type MqttPublish = (topic: string, payload: string | Buffer, options: { retain: boolean; qos: 0 | 1 }) => Promise<void>;

export const alertTopic = (alert: Pick<AlertRecord, 'site' | 'asset' | 'rule'>): string =>
  `${TOPIC_ROOT}/alerts/${alert.site}/${alert.asset}/${alert.rule}`;

/** The window on the embedded broker, whose publishes never leave the process (see above). */
export const EMBEDDED_BROKER_WINDOW = 4096;

export interface MqttNotifierOptions {
  /** Publishes not yet acknowledged before send() waits for the oldest (default 256; EMBEDDED_BROKER_WINDOW in-process). */
  window?: number;
  /** Tries of a publish that fails after send() returned (default 5). */
  attempts?: number;
  log?: Logger | undefined;
}

export function createMqttNotifier(publish: MqttPublish, options: MqttNotifierOptions = {}): ChannelNotifier {
  const window = options.window ?? 256;
  const attempts = options.attempts ?? 5;
  /** In order of sending: a Set, since thousands may be out and any one may end first. */
  const inFlight = new Set<Promise<void>>();
  /** Per topic, the number of the newest publish: an older one that failed is not sent again. */
  const newest = new Map<string, number>();
  let next = 0;

  const start = (topic: string, payload: string, number: number, attempt: number): void => {
    const sent = publish(topic, payload, { retain: true, qos: 1 }).then(
      () => {
        if (newest.get(topic) === number) newest.delete(topic);
      },
      (error: unknown) => {
        if (newest.get(topic) !== number) return; // a newer state of this alert went out after it
        if (attempt >= attempts) {
          newest.delete(topic);
          options.log?.warn(`notify: mqtt gave up publishing ${topic} after ${attempt} tries: ${error instanceof Error ? error.message : String(error)}`);
          return;
        }
        start(topic, payload, number, attempt + 1);
      },
    );
    inFlight.add(sent);
    void sent.finally(() => inFlight.delete(sent));
  };

  const deliver = async (notification: Notification): Promise<void> => {
    while (inFlight.size >= window) await inFlight.values().next().value;
    const topic = alertTopic(notification.alert);
    const payload = isActive(notification.alert) ? JSON.stringify(notificationBody(notification)) : '';
    const number = ++next;
    newest.set(topic, number);
    start(topic, payload, number, 1);
  };

  return {
    name: 'mqtt',
    send: deliver,
    // The embedded broker keeps retained messages in memory: after a restart, publish them again.
    async restore(open) {
      for (const notification of open) if (isActive(notification.alert)) await deliver(notification);
    },
    /** Waits (at most 5 s: a broker that is gone never answers) for the publishes still out. */
    async close() {
      const deadline = Date.now() + 5000;
      while (inFlight.size > 0 && Date.now() < deadline) {
        await Promise.race([Promise.allSettled([...inFlight]), new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref())]);
      }
    },
  };
}
