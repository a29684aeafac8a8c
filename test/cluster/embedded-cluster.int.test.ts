// The embedded broker as a cluster: two `hydrowatch start` nodes share Debian's redis-server
// (mqemitter-redis for the message bus, aedes-persistence-redis for sessions and retained
// messages). A device on node 1 is heard by a subscriber on node 2, retained status and alert
// topics are the same on both, every reading is stored once, and the alert is raised once.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { influxQuery } from '../../src/dev/influxd.js';
import { freePort } from '../../src/dev/ports.js';
import { startRedis } from '../../src/dev/redis.js';
import { type HydrowatchProcess, startHydrowatch } from '../helpers/hydrowatch-process.js';
import { eventually } from '../helpers/service.js';

const CONFIG = `
assets:
  - { site: c2, kind: meter, id: M-2, region: north }
alerts:
  rules:
    - { id: pressure-low, kind: threshold, severity: high, scope: { kind: meter }, field: pressure_bar, below: 1 }
`;

/** Every message a client gets, with its retain flag. */
function collect(client: MqttClient): Array<{ topic: string; payload: string; retain: boolean }> {
  const got: Array<{ topic: string; payload: string; retain: boolean }> = [];
  client.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), retain: packet.retain }));
  return got;
}

describe('clustered embedded broker', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  it('a device on node 1 is heard on node 2; retained topics and alerts are cluster-wide', async () => {
    const influxUrl = inject('influxUrl');
    const redis = await startRedis();
    cleanups.push(() => redis.dispose());
    const scratch = await mkdtemp(path.join(os.tmpdir(), 'hydrowatch-embcluster-'));
    cleanups.push(() => rm(scratch, { recursive: true, force: true }));
    await writeFile(path.join(scratch, 'hydrowatch.yaml'), CONFIG);
    const bucket = `embcluster_${Date.now()}_${process.pid}`;
    const envFor = async (name: string) => ({
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: String(await freePort()),
      MQTT_CLIENT_ID: `node-${name}`,
      HYDROWATCH_REDIS_URL: redis.url,
      HYDROWATCH_CLUSTER: `e${process.pid}`,
      HYDROWATCH_CLUSTER_LEASE_MS: '1500',
      HYDROWATCH_CONFIG: path.join(scratch, 'hydrowatch.yaml'),
      HYDROWATCH_DATA: path.join(scratch, name),
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(await freePort()),
      INFLUX_URL: influxUrl,
      INFLUX_BUCKET: bucket,
    });
    const env1 = await envFor('1');
    const env2 = await envFor('2');
    const nodes: HydrowatchProcess[] = [];
    cleanups.push(async () => Promise.all(nodes.map((node) => node.kill9())));
    nodes.push(await startHydrowatch(env1), await startHydrowatch(env2));
    const roles = async () =>
      Promise.all([env1, env2].map(async (env) => ((await (await fetch(`http://127.0.0.1:${env.HTTP_PORT}/health`)).json()) as { cluster?: { role: string } }).cluster?.role));
    await eventually(async () => expect((await roles()).sort()).toEqual(['follower', 'leader']), 10_000);

    const url = (env: { MQTT_PORT: string }) => `mqtt://127.0.0.1:${env.MQTT_PORT}`;
    const listener = await mqtt.connectAsync(url(env2), { clientId: `listener-${process.pid}` });
    cleanups.push(() => listener.endAsync(true));
    const heard = collect(listener);
    await listener.subscribeAsync('hydrowatch/c2/#', { qos: 1 });

    const device = await mqtt.connectAsync(url(env1), {
      clientId: `device-${process.pid}`,
      will: { topic: 'hydrowatch/c2/meter/M-2/status', payload: Buffer.from('{"online":false}'), qos: 1, retain: true },
    });
    cleanups.push(() => device.endAsync(true));
    await device.publishAsync('hydrowatch/c2/meter/M-2/status', '{"online":true}', { qos: 1, retain: true });
    const T0 = Date.now() - 30_000;
    const COUNT = 40;
    for (let seq = 1; seq <= COUNT; seq++) {
      // Pressure collapses from seq 21 on: one alert.
      await device.publishAsync('hydrowatch/c2/meter/M-2/telemetry', JSON.stringify({ ts: T0 + seq * 100, seq, values: { pressure_bar: seq > 20 ? 0.4 : 3 } }), { qos: 1 });
    }

    // Node 2's subscriber hears node 1's device, in order.
    await eventually(() => expect(heard.filter((m) => m.topic.endsWith('/telemetry'))).toHaveLength(COUNT), 10_000);
    expect(heard.filter((m) => m.topic.endsWith('/telemetry')).map((m) => (JSON.parse(m.payload) as { seq: number }).seq)).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));

    // Retained status and alert topics: a newcomer on either node gets them from Redis.
    for (const env of [env1, env2]) {
      const late = await mqtt.connectAsync(url(env), { clientId: `late-${env.MQTT_PORT}` });
      cleanups.push(() => late.endAsync(true));
      const got = collect(late);
      await late.subscribeAsync(['hydrowatch/c2/meter/M-2/status', 'hydrowatch/alerts/c2/#'], { qos: 1 });
      await eventually(() => {
        expect(got.find((m) => m.topic.endsWith('/status'))).toMatchObject({ payload: '{"online":true}', retain: true });
        const alert = got.find((m) => m.topic === 'hydrowatch/alerts/c2/M-2/pressure-low' && m.payload.length > 0);
        expect(alert?.retain).toBe(true);
        expect(JSON.parse(alert!.payload)).toMatchObject({ kind: 'raised', alert: { rule: 'pressure-low', asset: 'M-2' } });
      }, 10_000);
    }

    // Stored once (by node 1, where the device is), the alert raised once (by the leader).
    const rows = async (q: string) => (await influxQuery(influxUrl, bucket, q))[0]?.series?.[0]?.values ?? [];
    await eventually(async () => expect(await rows(`SELECT "seq" FROM "meter" WHERE "asset" = 'M-2'`)).toHaveLength(COUNT), 10_000, 200);
    await eventually(async () => expect(await rows(`SELECT "state" FROM "alert" WHERE "rule" = 'pressure-low' AND "state" = 'active'`)).toHaveLength(1), 10_000, 200);

    // The device dies: its last will (retained offline) is what node 2 answers now.
    (device as unknown as { stream: { destroy(): void } }).stream.destroy();
    await eventually(() => expect(heard.filter((m) => m.topic.endsWith('/status')).at(-1)?.payload).toBe('{"online":false}'), 10_000);

    for (const node of nodes.splice(0)) expect(await node.stop()).toBe(0);
  }, 60_000);
});
