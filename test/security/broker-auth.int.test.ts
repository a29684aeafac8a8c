// The embedded broker without HYDROWATCH_INSECURE: device credentials from the registry file and
// the ACL, against a real service and InfluxDB. Each denial is proven, and nothing denied is stored.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { addDevice } from '../../src/security/cli.js';
import { removeDeviceEntry } from '../../src/security/devices.js';
import { sha256Hex } from '../../src/security/hash.js';
import { eventually, startTestService, type TestService } from '../helpers/service.js';

const T0 = Date.now() - 60_000;
const quiet = () => undefined;
const reading = (i: number, values: Record<string, number | boolean> = { flow_m3h: 400 + i }) => JSON.stringify({ ts: T0 + i * 1000, seq: i, values });
const telemetry = (site: string, kind: string, asset: string) => `hydrowatch/${site}/${kind}/${asset}/telemetry`;

interface Credentials {
  username: string;
  password: string;
}

describe('embedded broker with device credentials and ACLs', () => {
  let t: TestService;
  let dir: string;
  let file: string;
  let pump: Credentials;
  let scada: Credentials;
  let north: Credentials;
  let bridge: Credentials;
  const clients: MqttClient[] = [];

  const connect = async (options: IClientOptions) => {
    const client = await mqtt.connectAsync(t.service.mqttUrl, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    clients.push(client);
    return client;
  };
  const refusal = (options: IClientOptions) => connect(options).then(
    () => {
      throw new Error('connected, but should have been refused');
    },
    (error: Error & { code?: number }) => ({ code: error.code, message: error.message }),
  );
  const closed = (client: MqttClient) => new Promise<void>((resolve) => (client.disconnected ? resolve() : client.once('close', () => resolve())));
  const rows = (q: string) => t.rows(q);
  /** The SUBACK return code per filter (mqtt.js rejects the whole call when any is a failure). */
  const subscribeCodes = (client: MqttClient, filters: string[], qos: 0 | 1): Promise<number[]> =>
    client.subscribeAsync(filters, { qos }).then(
      (granted) => granted.map((g) => g.qos),
      (error: Error & { packet?: { granted?: number[] } }) => {
        if (!error.packet?.granted) throw error;
        return error.packet.granted;
      },
    );
  const metric = async (pattern: RegExp) => {
    const text = await t.service.metrics.registry.metrics();
    return Number(pattern.exec(text)?.[1] ?? NaN);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hydrowatch-devices-'));
    file = join(dir, 'devices.yaml');
    pump = await addDevice({ site: 'plant1', kind: 'pump', asset: 'P-01', file }, quiet);
    scada = await addDevice({ site: 'plant1', username: 'plant1-scada', file }, quiet);
    north = await addDevice({ site: 'north', kind: 'pump', asset: 'P-01', file }, quiet);
    bridge = await addDevice({ monitor: true, username: 'scada-bridge', file }, quiet);
    t = await startTestService(
      inject('influxUrl'),
      { influx: { flushIntervalMs: 20 }, api: { tokens: [{ name: 'ops', role: 'admin', sha256: sha256Hex('t') }] } },
      { HYDROWATCH_INSECURE: '0', HYDROWATCH_DEVICES: file },
    );
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses anonymous clients, a wrong password and an unknown username', async () => {
    expect(await refusal({})).toMatchObject({ code: 5, message: expect.stringMatching(/Not authorized/) });
    expect(await refusal({ username: pump.username, password: `${pump.password}x` })).toMatchObject({ code: 4, message: expect.stringMatching(/Bad username or password/) });
    expect(await refusal({ username: pump.username, password: north.password })).toMatchObject({ code: 4 });
    expect(await refusal({ username: 'plant1/pump/P-99', password: pump.password })).toMatchObject({ code: 4 });
    expect(await metric(/^hydrowatch_mqtt_denied_total\{action="connect"\} (\d+)/m)).toBeGreaterThanOrEqual(4);
  });

  it('takes a device’s own readings into InfluxDB', async () => {
    const device = await connect({ username: pump.username, password: pump.password });
    await device.publishAsync(telemetry('plant1', 'pump', 'P-01'), reading(1), { qos: 1 });
    await eventually(async () => expect(await rows(`SELECT "flow_m3h" FROM "pump" WHERE "site" = 'plant1' AND "asset" = 'P-01'`)).toHaveLength(1));
  });

  it('denies a publish to another site’s topic: the device is disconnected and the reading is never stored', async () => {
    const device = await connect({ username: pump.username, password: pump.password });
    const gone = closed(device);
    device.publish(telemetry('north', 'pump', 'P-01'), reading(2, { flow_m3h: 999 }), { qos: 1 });
    await gone;
    // Another asset of its own site is just as foreign to a one-asset credential.
    const again = await connect({ username: pump.username, password: pump.password });
    const goneAgain = closed(again);
    again.publish(telemetry('plant1', 'pump', 'P-02'), reading(3, { flow_m3h: 998 }), { qos: 1 });
    await goneAgain;

    // A marker from the rightful device, published after: once it is stored, the denied ones would be too.
    const owner = await connect({ username: north.username, password: north.password });
    await owner.publishAsync(telemetry('north', 'pump', 'P-01'), reading(4, { flow_m3h: 401 }), { qos: 1 });
    await eventually(async () => expect(await rows(`SELECT "flow_m3h" FROM "pump" WHERE "site" = 'north'`)).toHaveLength(1));
    expect(await rows(`SELECT "flow_m3h" FROM "pump" WHERE "flow_m3h" >= 998`)).toEqual([]);
    expect(await rows(`SELECT * FROM "pump" WHERE "asset" = 'P-02'`)).toEqual([]);
    expect(await metric(/^hydrowatch_mqtt_denied_total\{action="publish"\} (\d+)/m)).toBeGreaterThanOrEqual(2);
  });

  it('refuses a publish with a wildcard in its topic', async () => {
    const device = await connect({ username: scada.username, password: scada.password });
    const gone = closed(device);
    device.publish('hydrowatch/plant1/pump/+/telemetry', reading(5, { flow_m3h: 997 }), { qos: 1 });
    await gone;
    const device2 = await connect({ username: scada.username, password: scada.password });
    const gone2 = closed(device2);
    device2.publish('hydrowatch/plant1/#', reading(6, { flow_m3h: 996 }), { qos: 1 });
    await gone2;
    expect(await rows(`SELECT * FROM "pump" WHERE "flow_m3h" >= 996 AND "flow_m3h" <= 997`)).toEqual([]);
  });

  it('denies subscriptions to $SYS, to other topics and to other sites (SUBACK 0x80), and allows the device’s own command topic', async () => {
    const device = await connect({ username: pump.username, password: pump.password });
    const filters = ['$SYS/#', '#', 'hydrowatch/plant1/pump/P-01/telemetry', 'hydrowatch/north/pump/P-01/command', 'hydrowatch/plant1/pump/+/command', 'hydrowatch/plant1/pump/P-01/command'];
    expect(await subscribeCodes(device, filters, 1)).toEqual([128, 128, 128, 128, 128, 1]);
    expect(device.connected).toBe(true);

    // The site's SCADA gateway commands the pump; the pump hears it on its command topic.
    const heard = new Promise<string>((resolve) => device.once('message', (topic, payload) => resolve(`${topic} ${payload.toString()}`)));
    const gateway = await connect({ username: scada.username, password: scada.password });
    await gateway.publishAsync('hydrowatch/plant1/pump/P-01/command', JSON.stringify({ command: 'stop' }), { qos: 1 });
    expect(await heard).toBe('hydrowatch/plant1/pump/P-01/command {"command":"stop"}');
    expect(await metric(/^hydrowatch_mqtt_denied_total\{action="subscribe"\} (\d+)/m)).toBeGreaterThanOrEqual(5);
  });

  it('lets a monitor read under hydrowatch/# but not $SYS, and not publish', async () => {
    const monitor = await connect({ username: bridge.username, password: bridge.password });
    expect(await subscribeCodes(monitor, ['hydrowatch/#', '$SYS/#'], 0)).toEqual([0, 128]);
    const heard = new Promise<string>((resolve) => monitor.on('message', (topic) => topic.endsWith('/telemetry') && resolve(topic)));
    const device = await connect({ username: pump.username, password: pump.password });
    await device.publishAsync(telemetry('plant1', 'pump', 'P-01'), reading(7), { qos: 1 });
    expect(await heard).toBe(telemetry('plant1', 'pump', 'P-01'));

    const gone = closed(monitor);
    monitor.publish(telemetry('plant1', 'pump', 'P-01'), reading(8, { flow_m3h: 995 }), { qos: 1 });
    await gone;
  });

  it('does not let one device take over another’s client id', async () => {
    const owner = await connect({ username: pump.username, password: pump.password, clientId: 'plant1-P-01' });
    expect(await refusal({ username: north.username, password: north.password, clientId: 'plant1-P-01' })).toMatchObject({ code: 2 });
    expect(owner.connected).toBe(true);
  });

  it('device remove revokes at once: the live connection is closed and the next login refused', async () => {
    const device = await connect({ username: north.username, password: north.password });
    const gone = closed(device);
    expect(removeDeviceEntry(file, north.username)).toBe(true);
    await gone;
    expect(await refusal({ username: north.username, password: north.password })).toMatchObject({ code: 4 });
  });
});
