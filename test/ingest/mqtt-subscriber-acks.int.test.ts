// The external-broker subscriber hands readings to the pipeline without waiting for each one, so
// one spool sync serves many; a PUBACK still goes out only once the pipeline has the reading, and
// in the order the readings came.
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalMosquitto, startMosquitto } from '../../src/dev/mosquitto.js';
import { startMqttSubscriber } from '../../src/ingest/mqtt-subscriber.js';
import { silentLogger } from '../../src/log.js';
import type { InboundMessage } from '../../src/pipeline/types.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('external-broker acknowledgements', () => {
  let mosquitto: LocalMosquitto;
  beforeAll(async () => {
    mosquitto = await startMosquitto();
  });
  afterAll(async () => {
    await mosquitto?.dispose();
  });

  const seqOf = (message: InboundMessage): number => (JSON.parse(message.payload.toString()) as { seq: number }).seq;
  /** The broker keeps the session: what was not acknowledged comes again to the next ingestor with the same id. */
  const redelivered = async (clientId: string): Promise<number[]> => {
    const again: number[] = [];
    const next = await startMqttSubscriber({ url: mosquitto.url, clientId, log: silentLogger, sink: async (message) => void again.push(seqOf(message)) });
    for (let i = 0; i < 100 && again.length < 10; i++) await sleep(20);
    await sleep(200);
    await next.close();
    return again;
  };

  it('takes many readings at once, and acknowledges each only after the pipeline has it, in order', async () => {
    const held: Array<{ seq: number; release: () => void }> = [];
    const first = await startMqttSubscriber({
      url: mosquitto.url,
      clientId: 'acks-test-ingestor',
      log: silentLogger,
      sink: (message) => new Promise<void>((resolve) => held.push({ seq: seqOf(message), release: resolve })),
    });
    const device = await mqtt.connectAsync(mosquitto.url, { clientId: 'acks-test-device' });
    for (let seq = 0; seq < 20; seq++) await device.publishAsync('hydrowatch/s1/pump/P-1/telemetry', JSON.stringify({ ts: Date.now(), seq, values: { flow_m3h: 1 } }), { qos: 1 });
    // All twenty reach the pipeline, in order, while it holds every one of them.
    for (let i = 0; i < 100 && held.length < 20; i++) await sleep(20);
    expect(held.map((h) => h.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    // The pipeline takes 0–9 and 19; 10–18 never. Acknowledged in order, 19 waits behind 10–18.
    for (const h of [...held.slice(0, 10), held[19]!]) h.release();
    await sleep(300);
    await first.close();
    // The broker keeps the session: what was not acknowledged comes again to the next ingestor.
    expect(await redelivered('acks-test-ingestor')).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    await device.endAsync();
    await mqtt.connectAsync(mosquitto.url, { clientId: 'acks-test-ingestor', clean: true }).then((c) => c.endAsync());
  });

  it('acknowledges readings that share one spool write together, and never ahead of an earlier one', async () => {
    // The disk spool gives every reading of one write group the same promise.
    const deferred = () => {
      let release!: () => void;
      const promise = new Promise<void>((resolve) => (release = resolve));
      return { promise, release };
    };
    const firstWrite = deferred();
    const lone = deferred();
    const secondWrite = deferred();
    const seen: number[] = [];
    const first = await startMqttSubscriber({
      url: mosquitto.url,
      clientId: 'acks-shared-ingestor',
      log: silentLogger,
      sink: (message) => {
        const seq = seqOf(message);
        seen.push(seq);
        return seq < 10 ? firstWrite.promise : seq === 10 ? lone.promise : secondWrite.promise;
      },
    });
    const device = await mqtt.connectAsync(mosquitto.url, { clientId: 'acks-shared-device' });
    for (let seq = 0; seq < 20; seq++) void device.publishAsync('hydrowatch/s1/pump/P-1/telemetry', JSON.stringify({ ts: Date.now(), seq, values: { flow_m3h: 1 } }), { qos: 1 });
    for (let i = 0; i < 100 && seen.length < 20; i++) await sleep(20);
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i));
    // The later write is durable first: 11–19 still wait behind 10, and 10 behind 0–9.
    secondWrite.release();
    await sleep(100);
    firstWrite.release();
    await sleep(300);
    await first.close();
    // 0–9 were acknowledged; 10 never was, so neither were 11–19.
    expect(await redelivered('acks-shared-ingestor')).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    await device.endAsync();
    await mqtt.connectAsync(mosquitto.url, { clientId: 'acks-shared-ingestor', clean: true }).then((c) => c.endAsync());
  });
});
