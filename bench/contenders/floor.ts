// Contender B, the floor: what any MQTT → InfluxDB bridge has to do at least. A plain mqtt.js
// subscriber (QoS 1, acknowledging on receipt as mqtt.js does by default) → JSON.parse → one line
// of line protocol → the client's WriteApi (batches of 5000, flushed every second, gzip).
// No validation, no spool, no alerts: the gap between this and A is what those cost.
import { fileURLToPath } from 'node:url';
import { InfluxDB, type Transport } from '@influxdata/influxdb-client';
import mqtt from 'mqtt';
import { createDatabase, dropDatabase } from '../lib/influx.js';
import { Child, serveChild } from '../lib/proc.js';
import type { BenchContext, Contender, RunningContender } from './types.js';

export const floor: Contender = {
  id: 'B-floor',
  group: 'B',
  expectedRate: 50_000,
  label: 'floor: mqtt.js → JSON.parse → WriteApi',
  async start(ctx: BenchContext, name: string): Promise<RunningContender> {
    await createDatabase(ctx.influxUrl, name);
    const { child } = await Child.start(name, fileURLToPath(import.meta.url), ['--floor'], {
      env: { BENCH_MQTT_URL: ctx.mosquitto.url, BENCH_INFLUX_URL: ctx.influxUrl, BENCH_DB: name, BENCH_CLIENT_ID: `floor-${name}` },
    });
    return {
      brokerUrl: ctx.mosquitto.url,
      db: name,
      pids: () => [child.pid],
      brokerPid: () => ctx.mosquitto.pid,
      async stop() {
        await child.stop();
        await dropDatabase(ctx.influxUrl, name);
      },
    };
  },
};

/** InfluxDB 1.x has no /api/v2/write: send the client's batches to /write instead. */
function v1(base: Transport, db: string): Transport {
  return {
    send: (path, body, options, callbacks) => base.send(path.startsWith('/api/v2/write') ? `/write?db=${encodeURIComponent(db)}&precision=ms` : path, body, options, callbacks),
    request: (path, body, options, responseStarted) => base.request(path, body, options, responseStarted),
    iterate: (path, body, options) => base.iterate(path, body, options),
    chunkCombiner: base.chunkCombiner,
  };
}

async function main(): Promise<void> {
  const url = process.env.BENCH_INFLUX_URL!;
  const db = process.env.BENCH_DB!;
  const influx = new InfluxDB({ url, transport: v1(new InfluxDB({ url }).transport, db) });
  const writeApi = influx.getWriteApi('', db, 'ms', { batchSize: 5000, flushInterval: 1000, gzipThreshold: 1000 });
  const client = await mqtt.connectAsync(process.env.BENCH_MQTT_URL!, { clientId: process.env.BENCH_CLIENT_ID!, clean: true, reconnectPeriod: 0 });
  client.on('message', (topic, payload) => {
    const body = JSON.parse(payload.toString()) as { ts: number; seq: number; values: Record<string, number | boolean> };
    const parts = topic.split('/');
    let fields = '';
    for (const key in body.values) {
      const value = body.values[key];
      fields += `${key}=${typeof value === 'boolean' ? (value ? 'T' : 'F') : value},`;
    }
    writeApi.writeRecord(`${parts[2]},asset=${parts[3]},site=${parts[1]} ${fields}seq=${body.seq}i ${body.ts}`);
  });
  await client.subscribeAsync('hydrowatch/+/+/+/telemetry', { qos: 1 });
  serveChild(
    () => ({}),
    async () => {
      await client.endAsync(true).catch(() => undefined);
      await writeApi.close().catch(() => undefined);
    },
  );
  process.send?.({ type: 'ready' });
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--floor') {
  main().catch((error: unknown) => {
    process.stderr.write(`bench floor: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
