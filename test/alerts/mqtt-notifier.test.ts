// The MQTT alert channel publishes without waiting for each PUBACK in turn, yet a retained alert
// topic must never end on a stale state: the newest state of each alert is what stays.
import { describe, expect, it } from 'vitest';
import { createMqttNotifier, type MqttPublish } from '../../src/alerts/notify/mqtt.js';
import { makeNotification, T0 } from '../helpers/alert-fixtures.js';
import { eventually } from '../helpers/service.js';

/** A broker whose acknowledgements the test gives by hand; it records what it accepted, in order. */
function heldBroker() {
  const pending: Array<{ topic: string; payload: string; settle: (ok: boolean) => void }> = [];
  const retained = new Map<string, string>();
  const publish: MqttPublish = (topic, payload) =>
    new Promise<void>((resolve, reject) =>
      pending.push({
        topic,
        payload: String(payload),
        settle: (ok) => {
          if (!ok) return reject(new Error('connection lost'));
          if (payload.length === 0) retained.delete(topic);
          else retained.set(topic, String(payload));
          resolve();
        },
      }),
    );
  return { pending, retained, publish };
}

const raised = (asset: string) => makeNotification({ kind: 'raised' }, { id: `a-${asset}`, asset, state: 'active_unack' });
const cleared = (asset: string) => makeNotification({ kind: 'cleared' }, { id: `a-${asset}`, asset, state: 'cleared', clearedAt: T0 + 1000 });

describe('MQTT alert notifier', () => {
  it('sends the next notification before the previous one is acknowledged, up to its window', async () => {
    const broker = heldBroker();
    const notifier = createMqttNotifier(broker.publish, { window: 3 });
    for (const asset of ['P-1', 'P-2', 'P-3']) await notifier.send(raised(asset));
    expect(broker.pending.map((p) => p.topic.split('/')[3])).toEqual(['P-1', 'P-2', 'P-3']);
    // The window is full: the fourth waits for the oldest acknowledgement.
    let fourthSent = false;
    const fourth = notifier.send(raised('P-4')).then(() => (fourthSent = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fourthSent).toBe(false);
    broker.pending.shift()!.settle(true);
    await fourth;
    expect(broker.pending.map((p) => p.topic.split('/')[3])).toEqual(['P-2', 'P-3', 'P-4']);
    for (const p of broker.pending.splice(0)) p.settle(true);
    await notifier.close?.();
    expect([...broker.retained.keys()].map((t) => t.split('/')[3]).sort()).toEqual(['P-1', 'P-2', 'P-3', 'P-4']);
  });

  it('sends a failed publish again while it is the newest for its topic, and never a stale one over a newer state', async () => {
    const broker = heldBroker();
    const notifier = createMqttNotifier(broker.publish);
    await notifier.send(raised('P-1'));
    await notifier.send(raised('P-2'));
    await notifier.send(cleared('P-2'));
    const [p1, p2raised, p2cleared] = broker.pending.splice(0);
    // P-1's raise is lost on the way: it is still P-1's newest state, so it goes again.
    p1!.settle(false);
    await eventually(() => expect(broker.pending.map((p) => p.topic.split('/')[3])).toEqual(['P-1']));
    broker.pending.shift()!.settle(true);
    // P-2's raise fails after its clear went out: sending the raise again would leave a cleared
    // alert retained as active, so it is not sent again.
    p2cleared!.settle(true);
    p2raised!.settle(false);
    await notifier.close?.();
    expect(broker.pending).toHaveLength(0);
    expect([...broker.retained.keys()].map((t) => t.split('/')[3])).toEqual(['P-1']);
    expect(JSON.parse(broker.retained.values().next().value!)).toMatchObject({ kind: 'raised', alert: { asset: 'P-1' } });
  });
});
