// The embedded broker when a QoS 1 subscriber is slow (a console on a bad mobile link, a flow that
// stalls): aedes holds its deliveries until the socket drains, readings queue behind them in
// mqemitter, and the queue used to unwind by recursion when the socket drained: a stack overflow
// that killed the process (src/ingest/mq-drain.ts).
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { type EmbeddedBroker, startEmbeddedBroker } from '../../src/ingest/embedded-broker.js';
import { createLogger } from '../../src/log.js';

describe('embedded broker with a stalled subscriber', () => {
  let broker: EmbeddedBroker | undefined;
  let subscriber: mqtt.MqttClient | undefined;
  afterEach(async () => {
    await subscriber?.endAsync(true);
    await broker?.close();
  });

  it('delivers every alert and routes 30,000 readings queued behind them once the subscriber reads again', async () => {
    broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, log: createLogger('error'), sink: async () => undefined });
    subscriber = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'slow-console', clean: true, reconnectPeriod: 0 });
    let alerts = 0;
    subscriber.on('message', (topic) => {
      if (topic.startsWith('hydrowatch/alerts/')) alerts += 1;
    });
    await subscriber.subscribeAsync('hydrowatch/alerts/#', { qos: 1 });
    // The subscriber stops reading: 1,500 alerts of 16 kB fill its socket, and aedes holds every
    // delivery slot (1,000) waiting for it to drain.
    (subscriber.stream as unknown as { pause(): void }).pause();
    const body = 'x'.repeat(16_000);
    const published: Array<Promise<void>> = [];
    for (let i = 0; i < 1500; i++) published.push(broker.publish(`hydrowatch/alerts/S/P-${i}/motor-hot`, body, { retain: false, qos: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (let i = 0; i < 30_000; i++) published.push(broker.publish(`hydrowatch/S/pump/P-${i % 100}/events`, '{}', { retain: false, qos: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 200));

    (subscriber.stream as unknown as { resume(): void }).resume();
    await Promise.all(published);
    const deadline = Date.now() + 10_000;
    while (alerts < 1500 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(alerts).toBe(1500);
  });
});
