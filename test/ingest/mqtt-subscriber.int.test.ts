// The external-broker path (MQTT_URL) against Debian's Mosquitto: same pipeline, same results,
// and a persistent session so nothing published while the ingestor was away is lost.
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type LocalMosquitto, startMosquitto } from '../../src/dev/mosquitto.js';
import { eventually, startTestService, type TestService } from '../helpers/service.js';

const TS = Date.parse('2026-07-14T06:00:00.000Z');
const reading = (seq: number) => JSON.stringify({ ts: TS + seq * 1000, seq, values: { flow_m3h: 100 + seq } });

describe('ingest from an external broker', () => {
  let mosquitto: LocalMosquitto;
  let device: mqtt.MqttClient;
  beforeAll(async () => {
    mosquitto = await startMosquitto();
    device = await mqtt.connectAsync(mosquitto.url, { clientId: 'field-device-1' });
  });
  afterAll(async () => {
    await device?.endAsync(true);
    await mosquitto?.dispose();
  });

  const start = (bucket?: string): Promise<TestService> =>
    startTestService(inject('influxUrl'), { influx: { flushIntervalMs: 100 } }, {
      MQTT_URL: mosquitto.url,
      MQTT_CLIENT_ID: 'hydrowatch-test-ingestor',
      ...(bucket ? { INFLUX_BUCKET: bucket } : {}),
    });
  const seqs = async (t: TestService) => (await t.rows(`SELECT "seq" FROM "pump" WHERE "site" = 'ext'`)).map((row) => row.seq);

  it('stores readings and status from the external broker, resumes its session after a restart, and survives a broker restart', async () => {
    let t = await start();
    const health = async () => (await (await fetch(`${t.service.httpUrl}/health`)).json()) as { broker: { mode: string; connected: boolean } };
    expect(await health()).toMatchObject({ broker: { mode: 'external', connected: true } });

    for (let seq = 1; seq <= 10; seq++) await device.publishAsync('hydrowatch/ext/pump/P-7/telemetry', reading(seq), { qos: 1 });
    await device.publishAsync('hydrowatch/ext/pump/P-7/status', '{"online":true}', { qos: 1, retain: true });
    await device.publishAsync('hydrowatch/ext/pump/P-7/telemetry', 'garbage', { qos: 1 });
    await eventually(async () => expect(await seqs(t)).toHaveLength(10));
    await eventually(async () => expect(t.service.live.get('ext', 'P-7')?.online).toBe(true));
    await eventually(async () => expect(await t.rows(`SELECT * FROM "rejected" WHERE "reason" = 'PAYLOAD.BAD_JSON'`)).toHaveLength(1));

    // The ingestor is away: the broker keeps its session and queues QoS 1 messages for it.
    const bucket = t.bucket;
    await t.close();
    for (let seq = 11; seq <= 30; seq++) await device.publishAsync('hydrowatch/ext/pump/P-7/telemetry', reading(seq), { qos: 1 });
    t = await start(bucket);
    await eventually(async () => expect(await seqs(t)).toHaveLength(30), 10_000);

    // The broker restarts under a running ingestor: it reconnects and carries on.
    await mosquitto.restart();
    await device.endAsync(true);
    device = await mqtt.connectAsync(mosquitto.url, { clientId: 'field-device-1' });
    await eventually(async () => expect((await health()).broker.connected).toBe(true), 20_000);
    for (let seq = 31; seq <= 40; seq++) await device.publishAsync('hydrowatch/ext/pump/P-7/telemetry', reading(seq), { qos: 1 });
    await eventually(async () => expect(await seqs(t)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1)), 10_000);
    await t.close();
  });
});
