// Ingest rate with 1 and with 2 `hydrowatch start` ingestors sharing one subscription
// ($share/bench/…) on Debian's Mosquitto, with Redis electing the alert leader: the README's
// "Deployment" figures. Usage: node --import tsx scripts/bench-shared-ingest.ts [messages] [rounds]
// Devices publish `messages` QoS 1 readings as fast as Mosquitto takes them; the clock runs from
// the first publish until the ingestors have accepted them all (each one synced to its spool, which
// is when it is acknowledged) and until InfluxDB holds them all. Everything runs on this machine
// and is stopped at the end; only loopback addresses are used.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { influxQuery, startInfluxd } from '../src/dev/influxd.js';
import { startMosquitto } from '../src/dev/mosquitto.js';
import { freePort } from '../src/dev/ports.js';
import { startRedis } from '../src/dev/redis.js';

const MESSAGES = Number(process.argv[2] ?? 40_000);
const ROUNDS = Number(process.argv[3] ?? 2);
const DEVICES = 8;
const WINDOW = 200;

const [influxd, mosquitto, redis] = await Promise.all([startInfluxd(), startMosquitto(), startRedis()]);
const scratch = await mkdtemp(path.join(os.tmpdir(), 'hydrowatch-bench-shared-'));
const children: ChildProcess[] = [];

async function startIngestor(name: string, bucket: string, cluster: string): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      HYDROWATCH_INSECURE: '1',
      HYDROWATCH_LOG_LEVEL: 'warn',
      MQTT_URL: mosquitto.url,
      MQTT_SHARE_GROUP: `bench-${cluster}`,
      MQTT_CLIENT_ID: `bench-${name}-${cluster}`,
      HYDROWATCH_REDIS_URL: redis.url,
      HYDROWATCH_CLUSTER: cluster,
      HYDROWATCH_DATA: path.join(scratch, cluster, name),
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(port),
      INFLUX_URL: influxd.url,
      INFLUX_BUCKET: bucket,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    if ((await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.status !== undefined) return { port, child };
  }
  throw new Error(`ingestor ${name} did not start`);
}

const accepted = async (ports: number[]) =>
  (await Promise.all(ports.map(async (port) => Number(/hydrowatch_readings_accepted_total\{kind="meter"\} (\d+)/.exec(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())?.[1] ?? 0)))).reduce((a, b) => a + b, 0);

async function round(ingestors: number, run: number): Promise<{ acceptedPerS: number; storedPerS: number }> {
  const cluster = `b${ingestors}r${run}`;
  const bucket = `bench_shared_${cluster}_${process.pid}`;
  const started = await Promise.all(Array.from({ length: ingestors }, (_, i) => startIngestor(String.fromCharCode(97 + i), bucket, cluster)));
  const ports = started.map((s) => s.port);
  const devices = await Promise.all(Array.from({ length: DEVICES }, (_, i) => mqtt.connectAsync(mosquitto.url, { clientId: `bench-device-${cluster}-${i}` })));
  const ts0 = Date.now() - 3_600_000;
  const t0 = performance.now();
  await Promise.all(
    devices.map(async (device, d) => {
      const inFlight = new Set<Promise<unknown>>();
      for (let seq = d; seq < MESSAGES; seq += DEVICES) {
        const sent = device.publishAsync(`hydrowatch/bench/meter/M-${d}/telemetry`, JSON.stringify({ ts: ts0 + seq, seq, values: { pressure_bar: 3 + (seq % 100) / 100, flow_m3h: 120.5 } }), { qos: 1 });
        inFlight.add(sent);
        void sent.finally(() => inFlight.delete(sent));
        if (inFlight.size >= WINDOW) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    }),
  );
  while ((await accepted(ports)) < MESSAGES) await new Promise((r) => setTimeout(r, 20));
  const acceptedS = (performance.now() - t0) / 1000;
  const stored = async () => Number((await influxQuery(influxd.url, bucket, 'SELECT count("seq") FROM "meter"'))[0]?.series?.[0]?.values?.[0]?.[1] ?? 0);
  while ((await stored()) < MESSAGES) await new Promise((r) => setTimeout(r, 50));
  const storedS = (performance.now() - t0) / 1000;
  await Promise.all(devices.map((d) => d.endAsync()));
  for (const { child } of started) {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  return { acceptedPerS: MESSAGES / acceptedS, storedPerS: MESSAGES / storedS };
}

try {
  console.log(`${MESSAGES.toLocaleString('en')} QoS 1 readings from ${DEVICES} devices through Mosquitto, ${os.cpus().length} cores`);
  for (const ingestors of [1, 2]) {
    for (let run = 1; run <= ROUNDS; run++) {
      const { acceptedPerS, storedPerS } = await round(ingestors, run);
      console.log(`${ingestors} ingestor(s), run ${run}: ${Math.round(acceptedPerS).toLocaleString('en')} readings/s accepted (spooled, acknowledged), ${Math.round(storedPerS).toLocaleString('en')} readings/s stored in InfluxDB`);
    }
  }
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all([mosquitto.dispose(), redis.dispose(), influxd.stop()]);
  await rm(influxd.dataDir, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
}
