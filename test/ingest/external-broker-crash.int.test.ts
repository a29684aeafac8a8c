// The external-broker path under failure, for real: Debian's Mosquitto restarted and hydrowatch
// killed with SIGKILL while a device streams at QoS 1. The persistent sessions on both sides
// (device → Mosquitto, Mosquitto → hydrowatch) carry every acknowledged reading into InfluxDB once.
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createRng } from '../../simulators/rng.js';
import { influxQuery } from '../../src/dev/influxd.js';
import { type LocalMosquitto, startMosquitto } from '../../src/dev/mosquitto.js';
import { freePort } from '../../src/dev/ports.js';
import { type HydrowatchProcess, startHydrowatch, StreamingDevice } from '../helpers/hydrowatch-process.js';
import { eventually } from '../helpers/service.js';

const TS = Date.parse('2026-07-14T06:00:00.000Z');
const TOPIC = 'hydrowatch/extcrash/meter/M-9/telemetry';
const reading = (seq: number) => JSON.stringify({ ts: TS + seq, seq, values: { pressure_bar: 3 + (seq % 100) / 100 } });

/** A TCP hop between hydrowatch and the broker whose connections the test can cut, like a network. */
async function startCuttableLink(targetPort: number) {
  const open = new Set<net.Socket>();
  let down = false;
  const server = net.createServer((client) => {
    if (down) return client.destroy();
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        open.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    cut() {
      down = true;
      for (const socket of open) socket.destroy();
    },
    restore() {
      down = false;
    },
    close: () => {
      for (const socket of open) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('external broker restarts and ingestor crashes', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  it('loses nothing sent at QoS 1 through a kill -9 of hydrowatch, a network cut and a Mosquitto restart', async () => {
    const influxUrl = inject('influxUrl');
    const mosquitto: LocalMosquitto = await startMosquitto();
    cleanups.push(() => mosquitto.dispose());
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hydrowatch-extcrash-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const link = await startCuttableLink(mosquitto.port);
    cleanups.push(() => link.close());
    const bucket = `extcrash_${Date.now()}_${process.pid}`;
    const env = {
      MQTT_URL: link.url,
      MQTT_CLIENT_ID: `hydrowatch-extcrash-${process.pid}`,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(await freePort()),
      INFLUX_URL: influxUrl,
      INFLUX_BUCKET: bucket,
      HYDROWATCH_DATA: dataDir,
    };
    let hydrowatch: HydrowatchProcess | undefined = await startHydrowatch(env);
    cleanups.push(async () => hydrowatch?.kill9());
    const device = new StreamingDevice(mosquitto.url, `extcrash-device-${process.pid}`, TOPIC, reading);
    cleanups.push(() => device.close());

    const rng = createRng(7);
    const killAt = 200 + Math.floor(rng.next() * 300);
    const cutAt = 700 + Math.floor(rng.next() * 300);
    const brokerRestartAt = 1300 + Math.floor(rng.next() * 300);
    const brokerConnected = async () =>
      ((await (await fetch(`http://127.0.0.1:${env.HTTP_PORT}/health`)).json()) as { broker: { connected: boolean } }).broker.connected;
    // The device streams until the last event is over, then sends a few hundred more.
    const streaming = device.stream(1, 1_000_000, { pauseMs: 1 });

    await device.ackedAtLeast(killAt);
    await hydrowatch.kill9();
    // Mosquitto keeps acknowledging the device and queues for hydrowatch's session meanwhile.
    hydrowatch = await startHydrowatch(env);

    // The network between hydrowatch and the broker goes away for a while, then comes back.
    await device.ackedAtLeast(cutAt);
    link.cut();
    await eventually(async () => expect(await brokerConnected()).toBe(false), 10_000);
    link.restore();
    await eventually(async () => expect(await brokerConnected()).toBe(true), 20_000);

    await device.ackedAtLeast(brokerRestartAt);
    await mosquitto.stop(); // SIGTERM: Mosquitto saves its sessions and queued messages
    await mosquitto.restart();
    const total = device.finishAt(device.sentCount + 300);

    await streaming;
    await device.ackedAtLeast(total);
    expect(device.errors).toEqual([]);
    const seqs = async () => {
      const series = (await influxQuery(influxUrl, bucket, `SELECT "seq" FROM "meter" WHERE "asset" = 'M-9'`))[0]?.series?.[0];
      return (series?.values ?? []).map((row) => row[series!.columns.indexOf('seq')] as number).sort((a, b) => a - b);
    };
    await eventually(async () => expect(await seqs()).toHaveLength(total), 30_000, 200);
    expect(await seqs()).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(hydrowatch.output()).toMatch(/session resumed/);
    expect(await hydrowatch.stop()).toBe(0);
    hydrowatch = undefined;
  });
});
