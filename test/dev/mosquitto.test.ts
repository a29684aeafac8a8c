// Proves the mosquitto launcher against the real Debian Mosquitto 2.0 broker.
import { spawn } from 'node:child_process';
import { connect as mqttConnect, connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { findBinary } from '../../src/dev/apt.js';
import { startMosquitto, type LocalMosquitto } from '../../src/dev/mosquitto.js';
import { canConnect } from '../../src/dev/ports.js';

const clients: MqttClient[] = [];
const brokers: LocalMosquitto[] = [];

async function connect(url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  // No automatic reconnects: the tests stop the broker on purpose.
  const client = await connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...opts });
  clients.push(client);
  return client;
}

function nextMessage(client: MqttClient, topic: string): Promise<string> {
  return new Promise((resolve) => {
    const onMessage = (t: string, payload: Buffer): void => {
      if (t !== topic) return;
      client.off('message', onMessage);
      resolve(payload.toString('utf8'));
    };
    client.on('message', onMessage);
  });
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
});

afterAll(async () => {
  await Promise.all(brokers.map((b) => b.dispose()));
});

describe('startMosquitto', () => {
  it('delivers a QoS 1 message from publisher to subscriber', async () => {
    const broker = await startMosquitto();
    brokers.push(broker);
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
    const sub = await connect(broker.url);
    await sub.subscribeAsync('hw/site/+/pressure', { qos: 1 });
    const received = nextMessage(sub, 'hw/site/s1/pressure');
    const pub = await connect(broker.url);
    await pub.publishAsync('hw/site/s1/pressure', '{"value":3.2}', { qos: 1 });
    expect(await received).toBe('{"value":3.2}');
  });

  it('stop() closes the port, restart() reopens the same port and keeps persistent sessions', async () => {
    const broker = await startMosquitto();
    brokers.push(broker);
    const { port, url } = broker;
    const clientId = `hw-test-${process.pid}`;

    // A persistent QoS 1 session: the broker must remember it across the restart.
    const sub = await connect(url, { clientId, clean: false });
    await sub.subscribeAsync('hw/queued', { qos: 1 });
    await sub.endAsync();

    await broker.stop();
    expect(broker.pid).toBeUndefined();
    expect(await canConnect(port)).toBe(false);
    await broker.stop(); // second stop is a no-op

    await broker.restart();
    expect(broker.port).toBe(port);
    expect(broker.url).toBe(url);
    expect(broker.pid).toBeTypeOf('number');

    const pub = await connect(url);
    await pub.publishAsync('hw/queued', 'while-away', { qos: 1 });

    // Listen before CONNACK: queued messages arrive right after the session resumes.
    const again = mqttConnect(url, { clientId, clean: false, reconnectPeriod: 0, manualConnect: true });
    clients.push(again);
    const queued = nextMessage(again, 'hw/queued');
    again.connect();
    expect(await queued).toBe('while-away');
  });

  it('accepts messages from the mosquitto_pub CLI', async () => {
    const mosquittoPub = findBinary('mosquitto_pub');
    expect(mosquittoPub, 'global setup installs mosquitto-clients').toBeDefined();
    const broker = await startMosquitto({ extraConfig: ['max_packet_size 65536'] });
    brokers.push(broker);
    const sub = await connect(broker.url);
    await sub.subscribeAsync('hw/cli', { qos: 1 });
    const received = nextMessage(sub, 'hw/cli');
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(mosquittoPub as string, ['-h', '127.0.0.1', '-p', String(broker.port), '-q', '1', '-t', 'hw/cli', '-m', 'from-cli'], {
        stdio: 'ignore',
      });
      child.once('error', reject);
      child.once('exit', resolve);
    });
    expect(code).toBe(0);
    expect(await received).toBe('from-cli');
  });
});
