// Test helpers: a real service on free ports with its own InfluxDB database, and polling.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { parseConfig, type Config } from '../../src/config.js';
import { influxQuery } from '../../src/dev/influxd.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { type Service, startService } from '../../src/service.js';

export interface TestService {
  service: Service;
  config: Config;
  bucket: string;
  mqttPort: number;
  /** Rows of an InfluxQL query against this service's database (first series, as objects). */
  rows(q: string): Promise<Array<Record<string, unknown>>>;
  /** Every series of a query. */
  series(q: string): Promise<Array<{ name: string; tags?: Record<string, string>; columns: string[]; values?: unknown[][] }>>;
  publisher(options?: mqtt.IClientOptions): Promise<MqttClient>;
  close(): Promise<void>;
}

export async function startTestService(
  influxUrl: string,
  overrides: Record<string, unknown> = {},
  env: Record<string, string> = {},
  log: Logger = silentLogger,
): Promise<TestService> {
  const bucket = env.INFLUX_BUCKET ?? `test_${randomBytes(5).toString('hex')}`;
  // Each service spools into its own directory (unless a test shares one to test a restart).
  const ownDataDir = overrides.dataDir === undefined && env.HYDROWATCH_DATA === undefined;
  const dataDir = ownDataDir ? await mkdtemp(path.join(os.tmpdir(), 'hydrowatch-test-data-')) : undefined;
  const config = parseConfig(
    { ...overrides, ...(dataDir ? { dataDir } : {}), mqtt: { port: 0, host: '127.0.0.1', ...(overrides.mqtt as object) }, http: { port: 0, host: '127.0.0.1' } },
    { HYDROWATCH_INSECURE: '1', INFLUX_URL: influxUrl, INFLUX_BUCKET: bucket, ...env },
  );
  const service = await startService(config, { log, drainTimeoutMs: 5000 }).catch(async (error: unknown) => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    throw error;
  });
  const mqttPort = Number(new URL(service.mqttUrl).port);
  const clients: MqttClient[] = [];
  const series = async (q: string) => (await influxQuery(influxUrl, bucket, q))[0]?.series ?? [];
  return {
    service,
    config,
    bucket,
    mqttPort,
    series,
    async rows(q) {
      const first = (await series(q))[0];
      if (!first?.values) return [];
      return first.values.map((row) => Object.fromEntries(first.columns.map((c, i) => [c, row[i]])));
    },
    async publisher(options = {}) {
      const client = await mqtt.connectAsync(service.mqttUrl, { reconnectPeriod: 0, ...options });
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
      await service.close();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` stops throwing or the time is up; rethrows its last error. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 5000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
