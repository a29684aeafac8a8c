// startSimulation against a real (embedded aedes) broker: telemetry, retained status, wills.
import { once } from 'node:events';
import net from 'node:net';
import { Aedes } from 'aedes';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandPayload, StatusPayload, TelemetryPayload, type Kind } from '../../src/schema.js';
import { startSimulation } from '../../simulators/run.js';
import { demoAssets, HOUR_MS } from './helpers.js';

const assets = demoAssets();
let broker: Aedes;
let server: net.Server;
let brokerUrl: string;
const connectedClientIds = new Set<string>();
let observers = 0;

beforeAll(async () => {
  broker = await Aedes.createBroker();
  broker.on('client', (client) => connectedClientIds.add(client.id));
  server = net.createServer(broker.handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  brokerUrl = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => broker.close(() => resolve()));
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Poll a condition every 20 ms until it holds, failing after `timeoutMs`. */
async function until(condition: () => boolean, what: string, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Observed {
  telemetryByTopic: Map<string, number>;
  /** The station's level control announces each pump start and stop (so a stop is not taken for a trip). */
  commands: string[];
  futureStamps: string[];
  invalid: string[];
  status: Map<string, boolean[]>;
}

async function observe(topicFilter: string): Promise<{ client: MqttClient; observed: Observed }> {
  const observed: Observed = { telemetryByTopic: new Map(), commands: [], futureStamps: [], invalid: [], status: new Map() };
  const client = await connectAsync(brokerUrl, { clientId: `observer-${++observers}`, reconnectPeriod: 0 });
  client.on('message', (topic, payload) => {
    const [, , kind, , channel] = topic.split('/') as [string, string, Kind, string, string];
    const receivedAtMs = Date.now();
    if (channel === 'status') {
      const status = StatusPayload.parse(JSON.parse(payload.toString()));
      observed.status.set(topic, [...(observed.status.get(topic) ?? []), status.online]);
      return;
    }
    if (channel === 'command') {
      const command = CommandPayload.safeParse(JSON.parse(payload.toString()));
      if (!command.success || kind !== 'pump') observed.invalid.push(`${topic}: ${payload.toString()}`);
      else observed.commands.push(`${topic} ${command.data.command}`);
      return;
    }
    const result = TelemetryPayload[kind].safeParse(JSON.parse(payload.toString()));
    if (!result.success) observed.invalid.push(`${topic}: ${result.error.message}`);
    else if (result.data.ts > receivedAtMs) observed.futureStamps.push(`${topic}: ${result.data.ts} > ${receivedAtMs}`);
    observed.telemetryByTopic.set(topic, (observed.telemetryByTopic.get(topic) ?? 0) + 1);
  });
  await client.subscribeAsync(topicFilter, { qos: 1 });
  return { client, observed };
}

const lastStatus = (observed: Observed): boolean[] => [...observed.status.values()].map((history) => history.at(-1)!);

describe('startSimulation over MQTT', () => {
  it('publishes every device, never ahead of real time, and the wills fire when killed', async () => {
    const { client: observer, observed } = await observe('hydrowatch/#');
    const lines: string[] = [];
    const simulation = await startSimulation({ brokerUrl, assets, seed: 2, speed: 3600, backfillMs: HOUR_MS, log: (line) => lines.push(line) });

    await until(() => observed.telemetryByTopic.size === 10 && simulation.stats().caughtUp, 'telemetry from all 10 devices');
    expect(observed.invalid).toEqual([]);
    expect(observed.futureStamps).toEqual([]);
    expect(observed.commands).toContain('hydrowatch/plant1/pump/P-01/command start');
    expect(simulation.stats().simTimeMs).toBeLessThanOrEqual(Date.now());
    expect(simulation.stats().published).toBeGreaterThan(1000);
    for (const asset of assets) expect(connectedClientIds).toContain(`sim-${asset.site}-${asset.id}`);
    expect(lines.some((line) => line.includes('caught up'))).toBe(true);

    // A newcomer learns from the retained status that every device is online.
    const { client: newcomer, observed: retained } = await observe('hydrowatch/+/+/+/status');
    await until(() => retained.status.size === 10, 'retained status of all 10 devices');
    expect(lastStatus(retained)).toEqual(Array(10).fill(true));
    await newcomer.endAsync();

    await simulation.stop({ kill: true });
    await until(() => lastStatus(observed).filter((online) => !online).length === 10, 'the wills of all 10 devices');
    // Only the broker's wills said offline: exactly one offline per device.
    expect([...observed.status.values()].every((history) => history.filter((online) => !online).length === 1)).toBe(true);
    await simulation.stop({ kill: true });
    await observer.endAsync();
  });

  it('stops cleanly: each device says offline itself and no will follows', async () => {
    const simulation = await startSimulation({ brokerUrl, assets, seed: 3, speed: 600, backfillMs: 5 * 60_000 });
    await until(() => simulation.stats().published > 50, 'some telemetry');
    const { client: observer, observed } = await observe('hydrowatch/+/+/+/status');
    await until(() => observed.status.size === 10, 'retained status');

    await simulation.stop();
    await until(() => lastStatus(observed).filter((online) => !online).length === 10, 'offline status of all 10 devices');
    // Give a will (which must not come) a moment to arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect([...observed.status.values()].every((history) => history.filter((online) => !online).length === 1)).toBe(true);
    await observer.endAsync();
  });

  it('refuses a broker it cannot reach with one clear error', async () => {
    const closed = net.createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(startSimulation({ brokerUrl: `mqtt://127.0.0.1:${port}`, assets })).rejects.toThrow(/cannot connect to mqtt:\/\/127\.0\.0\.1/);
  });
});
