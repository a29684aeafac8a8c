// Record and replay over real brokers (embedded aedes, as hydrowatch runs it): a simulated feed is
// replayed into broker A while `record` writes what A carries; the recording is replayed into
// broker B and must arrive as it was sent. Also: --shift-to-now, a scenario played live over MQTT,
// and the CLI's simulate/replay commands.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Aedes } from 'aedes';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeScenarioFeed } from '../../simulators/cli.js';
import type { EpanetNetwork } from '../../simulators/epanet.js';
import { createFeedWriter, openFeed, readPayloadTimestamp } from '../../simulators/feed.js';
import { startRecording } from '../../simulators/record.js';
import { replayFeed } from '../../simulators/replay.js';
import { runScenario, startSimulation } from '../../simulators/run.js';
import { loadScenario } from '../../simulators/scenarios.js';
import { DAY_START_MS, demoAssets, demoHydraulics } from './helpers.js';

const assets = demoAssets();
const scratch = mkdtempSync(join(tmpdir(), 'hydrowatch-replay-'));
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
let hydraulics: EpanetNetwork;

interface Broker {
  url: string;
  close(): Promise<void>;
}
async function startBroker(): Promise<Broker> {
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Received {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
}
async function observe(url: string, filter = '#'): Promise<{ client: MqttClient; received: Received[] }> {
  const received: Received[] = [];
  const client = await connectAsync(url, { clientId: `observer-${received.length}-${Date.now() % 100_000}`, reconnectPeriod: 0 });
  client.on('message', (topic, payload, packet) => received.push({ topic, payload, qos: packet.qos, retain: packet.retain }));
  await client.subscribeAsync(filter, { qos: 2 });
  return { client, received };
}

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** topic → payloads in arrival order. */
function byTopic(messages: readonly { topic: string; payload: Buffer | string }[]): Map<string, string[]> {
  const grouped = new Map<string, string[]>();
  for (const { topic, payload } of messages) {
    const list = grouped.get(topic) ?? [];
    list.push(Buffer.from(payload).toString('base64'));
    grouped.set(topic, list);
  }
  return grouped;
}

let brokerA: Broker;
let brokerB: Broker;
const simulatedFeed = join(scratch, 'simulated.jsonl');
beforeAll(async () => {
  hydraulics = await demoHydraulics();
  [brokerA, brokerB] = await Promise.all([startBroker(), startBroker()]);
  // Three hours of the sensor-faults day: garbage of every class (a 66 KB payload, bytes that are
  // not UTF-8), a drifting clock, and every device, with the retained status from the start.
  const run = runScenario({ assets, scenario: loadScenario('sensor-faults'), seed: 5, hydraulics, startMs: DAY_START_MS });
  const writer = createFeedWriter(simulatedFeed, { startMs: DAY_START_MS, source: 'test: sensor-faults 11:30-14:30' });
  for (const message of run.messages) {
    const local = message.tsMs - DAY_START_MS;
    if (message.retain || (local >= 11.5 * 3_600_000 && local < 14.5 * 3_600_000)) {
      writer.write({ t: local, topic: message.topic, qos: message.qos ?? 1, retain: message.retain ?? false, payload: message.payload });
    }
  }
  writer.close();
});
afterAll(async () => {
  await Promise.all([brokerA?.close(), brokerB?.close()]);
  rmSync(scratch, { recursive: true, force: true });
});

describe('record → replay over real brokers', () => {
  const recorded = join(scratch, 'recorded.jsonl.gz');

  it('records what one broker carries and replays it to another exactly as it was sent', async () => {
    const original: { topic: string; payload: Buffer | string; qos: number }[] = [];
    const feed = await openFeed(simulatedFeed);
    for await (const message of feed.messages) original.push(message);

    const recording = await startRecording({ brokerUrl: brokerA.url, out: recorded, topics: ['#'] });
    const sent = await replayFeed({ file: simulatedFeed, brokerUrl: brokerA.url, speed: 'max' });
    expect(sent).toMatchObject({ published: original.length, failed: 0 });
    await until(() => recording.stats().messages === original.length, `the recorder to see ${original.length} messages`);
    await recording.stop();
    await recording.stop();

    const { client, received } = await observe(brokerB.url);
    const replayed = await replayFeed({ file: recorded, brokerUrl: brokerB.url, speed: 'max', connections: 3 });
    expect(replayed.published).toBe(original.length);
    await until(() => received.length === original.length, 'broker B to deliver the replay');
    await client.endAsync();

    // Same messages, same bytes, same QoS, each topic in its order.
    expect(byTopic(received)).toEqual(byTopic(original));
    expect(received.every((message) => message.qos === 1)).toBe(true);
    expect(received.some((message) => message.payload.length > 64 * 1024)).toBe(true);
    expect(received.some((message) => !isUtf8(message.payload))).toBe(true);
  }, 60_000);

  it('with --shift-to-now moves the readings so the last one is at or before now, spacing kept', async () => {
    let expected = 0;
    const feed = await openFeed(recorded);
    for await (const message of feed.messages) if (/^hydrowatch\/[^/]+\/[^/]+\/[^/]+\/telemetry$/.test(message.topic)) expected++;
    const { client, received } = await observe(brokerB.url, 'hydrowatch/+/+/+/telemetry');
    const startedMs = Date.now();
    await replayFeed({ file: recorded, brokerUrl: brokerB.url, speed: 'max', shiftToNow: true });
    const finishedMs = Date.now();
    const pumpTopic = 'hydrowatch/plant1/pump/P-01/telemetry';
    await until(() => received.length === expected, 'the shifted replay');
    await client.endAsync();
    // Readings only: garbage timestamps (seconds, 2099) stay what they were.
    const stamps = received.flatMap((message) => {
      const ts = readPayloadTimestamp(message.payload.toString());
      return ts === undefined || ts < DAY_START_MS + 2 * 86_400_000 || ts >= Date.parse('2099-01-01T00:00:00Z') ? [] : [ts];
    });
    expect(stamps.length).toBeGreaterThan(5_000);
    const latest = Math.max(...stamps);
    expect(latest).toBeLessThanOrEqual(finishedMs);
    expect(latest).toBeGreaterThan(startedMs - 60_000);
    // Five seconds between one pump's readings, as recorded.
    const pump = received.filter((message) => message.topic === pumpTopic).map((message) => readPayloadTimestamp(message.payload.toString())!);
    expect(new Set(pump.slice(1).map((ts, index) => ts - pump[index]!))).toEqual(new Set([5_000]));
  }, 60_000);
});

describe('a scenario played live over MQTT', () => {
  it('runs from local midnight a day ago to its end, publishes commands and faults, and returns its ground truth', async () => {
    const { client, received } = await observe(brokerB.url, 'hydrowatch/plant1/pump/#');
    const simulation = await startSimulation({ brokerUrl: brokerB.url, assets, seed: 3, speed: 400_000, hydraulics, scenario: loadScenario('pump-trip'), days: 1 });
    await simulation.finished;
    const { startMs, endMs, simTimeMs, published } = simulation.stats();
    await simulation.stop();
    expect(endMs! - startMs).toBe(86_400_000);
    expect(simTimeMs).toBe(endMs);
    expect(endMs!).toBeLessThanOrEqual(Date.now());
    expect(simulation.groundTruth()).toEqual([expect.objectContaining({ fault: 'pump_trip', asset: 'P-01', startMs: startMs + 8 * 3_600_000 })]);
    await until(() => received.filter((message) => message.topic.endsWith('/telemetry')).length >= 3 * 17_279, 'pump telemetry', 30_000);
    await client.endAsync();
    expect(published).toBeGreaterThan(75_000);
    const tripped = received.filter((message) => message.topic.endsWith('P-01/telemetry') && message.payload.toString().includes('"fault_code":31'));
    expect(tripped.length).toBeGreaterThan(500);
    expect(received.some((message) => message.topic.endsWith('/command') && message.payload.toString().includes('"stop"'))).toBe(true);
  }, 60_000);
});

describe('the CLI', () => {
  const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');
  const cli = join(repoRoot, 'src', 'cli.ts');
  const run = promisify(execFile);

  it('simulate --out writes the same bytes as the library; replay --speed max publishes a feed', async () => {
    const viaCli = join(scratch, 'cli.jsonl.gz');
    const viaLibrary = join(scratch, 'library.jsonl.gz');
    const { stdout } = await run(tsx, [cli, 'simulate', '--scenario', 'power-cut', '--days', '1', '--seed', '7', '--out', viaCli], { cwd: repoRoot });
    expect(stdout).toMatch(/simulate: \d+ messages, power-cut, 1 day\(s\)/);
    expect(stdout).toMatch(/power_cut P-01/);
    writeScenarioFeed(viaLibrary, { assets, scenario: loadScenario('power-cut'), seed: 7, days: 1, hydraulics });
    const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
    expect(sha256(viaCli)).toBe(sha256(viaLibrary));

    const { client, received } = await observe(brokerA.url, 'hydrowatch/+/weather/#');
    const { stderr } = await run(tsx, [cli, 'replay', simulatedFeed, '--speed', 'max', '--broker', brokerA.url], { cwd: repoRoot });
    expect(stderr).toMatch(/replay: \d+ messages in/);
    await until(() => received.filter((message) => message.topic.endsWith('/telemetry')).length === 36, 'three hours of the weather station');
    await client.endAsync();
  }, 60_000);
});

function isUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}
