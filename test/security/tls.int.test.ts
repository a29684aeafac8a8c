// MQTT over TLS and HTTPS with a throwaway CA (openssl CLI): clients that trust the CA get in,
// clients that do not are refused; with mqtt.tls.ca, devices must also present a certificate.
import { request } from 'node:https';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { addDevice } from '../../src/security/cli.js';
import { sha256Hex } from '../../src/security/hash.js';
import { eventually, startTestService, type TestService } from '../helpers/service.js';
import { makeTestCa, type TestCa } from './ca.js';

const quiet = () => undefined;
const ADMIN_TOKEN = 'hwt_tls-admin';

function httpsGet(url: string, options: { ca?: Buffer; token?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: options.ca, headers: options.token ? { authorization: `Bearer ${options.token}` } : {} }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('TLS with a throwaway CA', () => {
  let ca: TestCa;
  let t: TestService;
  let device: { username: string; password: string };
  const clients: MqttClient[] = [];
  const connect = async (url: string, options: IClientOptions) => {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    ca = await makeTestCa();
    const devicesFile = join(ca.dir, 'devices.yaml');
    device = await addDevice({ site: 'tls', kind: 'meter', asset: 'M-1', file: devicesFile }, quiet);
    t = await startTestService(
      inject('influxUrl'),
      {
        influx: { flushIntervalMs: 20 },
        api: { tokens: [{ name: 'ops', role: 'admin', sha256: sha256Hex(ADMIN_TOKEN) }] },
        mqtt: { tls: { cert: ca.serverCert, key: ca.serverKey, port: 0 } },
      },
      { HYDROWATCH_INSECURE: '0', HYDROWATCH_DEVICES: devicesFile, HTTP_TLS_CERT: ca.serverCert, HTTP_TLS_KEY: ca.serverKey },
    );
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await t?.close();
    await ca?.remove();
  });

  it('serves MQTT over TLS only (no plaintext listener by default), and the API over HTTPS', () => {
    expect(t.service.mqttUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    expect(t.service.httpUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('takes readings over mqtts from a device that trusts the CA', async () => {
    const client = await connect(t.service.mqttUrl, { ca: ca.pem.ca, username: device.username, password: device.password });
    await client.publishAsync('hydrowatch/tls/meter/M-1/telemetry', JSON.stringify({ ts: Date.now() - 1000, values: { pressure_bar: 3.3 } }), { qos: 1 });
    await eventually(async () => expect(await t.rows(`SELECT "pressure_bar" FROM "meter" WHERE "site" = 'tls'`)).toHaveLength(1));
  });

  it('a client that does not trust the CA cannot connect', async () => {
    await expect(connect(t.service.mqttUrl, { username: device.username, password: device.password })).rejects.toThrow(/self[- ]signed certificate in certificate chain|unable to verify/i);
    // Plain MQTT to the TLS port is no way around it either.
    const port = new URL(t.service.mqttUrl).port;
    const plain = mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { username: device.username, password: device.password, reconnectPeriod: 0, connectTimeout: 2000 }, false);
    await expect(plain).rejects.toThrow();
  });

  it('answers HTTPS for a client that trusts the CA, and refuses one that does not', async () => {
    const health = await httpsGet(`${t.service.httpUrl}/health`, { ca: ca.pem.ca });
    expect(health.status).toBe(200);
    const assets = await httpsGet(`${t.service.httpUrl}/api/assets`, { ca: ca.pem.ca, token: ADMIN_TOKEN });
    expect(assets.status).toBe(200);
    await expect(httpsGet(`${t.service.httpUrl}/health`, {})).rejects.toMatchObject({ code: expect.stringMatching(/SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE/) });
  });
});

describe('MQTT over TLS with client certificates (mqtt.tls.ca)', () => {
  let ca: TestCa;
  let t: TestService;
  let device: { username: string; password: string };
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    ca = await makeTestCa();
    const devicesFile = join(ca.dir, 'devices.yaml');
    device = await addDevice({ site: 'tls', file: devicesFile }, quiet);
    t = await startTestService(
      inject('influxUrl'),
      {
        api: { tokens: [{ name: 'ops', role: 'admin', sha256: sha256Hex(ADMIN_TOKEN) }] },
        mqtt: { tls: { cert: ca.serverCert, key: ca.serverKey, ca: ca.caCert, port: 0, plaintext: true } },
      },
      { HYDROWATCH_INSECURE: '0', HYDROWATCH_DEVICES: devicesFile },
    );
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await t?.close();
    await ca?.remove();
  });

  it('refuses a device without a certificate and accepts one with a certificate the CA signed', async () => {
    const base = { ca: ca.pem.ca, username: device.username, password: device.password, reconnectPeriod: 0, connectTimeout: 5000 };
    await expect(mqtt.connectAsync(t.service.mqttUrl, base)).rejects.toThrow();
    const client = await mqtt.connectAsync(t.service.mqttUrl, { ...base, cert: ca.pem.clientCert, key: ca.pem.clientKey });
    clients.push(client);
    expect(client.connected).toBe(true);
  });

  it('keeps the plaintext listener when mqtt.tls.plaintext is set, still with credentials required', async () => {
    const plainPort = t.service.health().broker.port;
    expect(plainPort).not.toBe(Number(new URL(t.service.mqttUrl).port));
    await expect(mqtt.connectAsync(`mqtt://127.0.0.1:${plainPort}`, { reconnectPeriod: 0 })).rejects.toThrow(/Not authorized/);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${plainPort}`, { reconnectPeriod: 0, username: device.username, password: device.password });
    clients.push(client);
    expect(client.connected).toBe(true);
  });
});
