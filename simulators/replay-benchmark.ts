// Measures `replay --speed max`: a 24-hour feed of 200 assets reporting every 10 s (1.728 M
// messages) against an aedes broker (the one hydrowatch embeds) in its own process; with
// `--subscriber`, a QoS 1 subscriber in a third process counts what arrives.
//   npx tsx simulators/replay-benchmark.ts [--gzip] [--connections N] [--subscriber]
// It prints the time; nothing asserts on it (performance is measured, not asserted).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createFeedWriter } from './feed.js';
import { replayFeed } from './replay.js';

const ASSETS = 200;
const INTERVAL_MS = 10_000;
const DAY_MS = 86_400_000;

const args = process.argv.slice(2);
const gzip = args.includes('--gzip');
const connections = args.includes('--connections') ? Number(args[args.indexOf('--connections') + 1]) || 1 : 1;
const withSubscriber = args.includes('--subscriber');

const directory = await mkdtemp(join(tmpdir(), 'hydrowatch-replay-bench-'));
const file = join(directory, gzip ? 'feed.jsonl.gz' : 'feed.jsonl');
const startMs = Date.parse('2026-07-14T00:00:00+08:00');
let generatedMs = performance.now();
const writer = createFeedWriter(file, { startMs, source: `benchmark: ${ASSETS} assets every ${INTERVAL_MS / 1000} s for 24 h` });
for (let t = INTERVAL_MS; t <= DAY_MS; t += INTERVAL_MS) {
  for (let asset = 0; asset < ASSETS; asset++) {
    const seq = t / INTERVAL_MS;
    const flow = (400 + ((asset * 37 + seq * 13) % 200) + 0.1 * (seq % 10)).toFixed(1);
    const pressure = (3 + ((asset + seq) % 50) / 100).toFixed(3);
    writer.write({
      t: t + asset * 7,
      topic: `hydrowatch/bench/meter/M-${String(asset).padStart(3, '0')}/telemetry`,
      qos: 1,
      retain: false,
      payload: `{"ts":${startMs + t + asset * 7},"seq":${seq},"values":{"pressure_bar":${pressure},"flow_m3h":${flow}}}`,
    });
  }
}
writer.close();
generatedMs = performance.now() - generatedMs;
const { size } = await stat(file);
console.log(`feed: ${writer.messages} messages, ${(size / 1e6).toFixed(1)} MB${gzip ? ' (gzip)' : ''}, written in ${(generatedMs / 1000).toFixed(1)} s`);

// The broker in a process of its own, and optionally a counting QoS 1 subscriber in another.
const brokerScript = `
import net from 'node:net';
import { Aedes } from 'aedes';
const broker = await Aedes.createBroker();
const server = net.createServer(broker.handle);
server.listen(0, '127.0.0.1', () => console.log('READY mqtt://127.0.0.1:' + server.address().port));
`;
const subscriberScript = `
import { connectAsync } from 'mqtt';
const subscriber = await connectAsync(process.argv[1], { clientId: 'bench-subscriber', clean: true });
let received = 0;
subscriber.on('message', () => { received++; });
await subscriber.subscribeAsync('hydrowatch/#', { qos: 1 });
console.log('READY');
setInterval(() => console.log('RECEIVED ' + received), 250);
`;
const children = [spawn(process.execPath, ['--input-type=module', '-e', brokerScript], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] })];
const firstLine = (child: (typeof children)[number], onLine: (line: string) => void = () => {}) =>
  new Promise<string>((resolve) => createInterface({ input: child.stdout! }).on('line', (line) => (line.startsWith('READY') ? resolve(line) : onLine(line))));
let received = 0;

try {
  const url = (await firstLine(children[0]!)).slice(6);
  if (withSubscriber) {
    children.push(spawn(process.execPath, ['--input-type=module', '-e', subscriberScript, url], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] }));
    await firstLine(children[1]!, (line) => (received = Number(line.slice(9))));
  }
  const started = performance.now();
  const result = await replayFeed({ file, brokerUrl: url, speed: 'max', connections });
  const publishedS = (performance.now() - started) / 1000;
  let delivered = '';
  if (withSubscriber) {
    while (received < result.published && performance.now() - started < 300_000) await new Promise((resolve) => setTimeout(resolve, 100));
    delivered = `; the subscriber had all ${received} after ${((performance.now() - started) / 1000).toFixed(1)} s`;
  }
  console.log(
    `replay --speed max: ${result.published} published (QoS 1, ${connections} connection${connections > 1 ? 's' : ''}) in ${publishedS.toFixed(1)} s ` +
      `(${Math.round(result.published / publishedS)} msg/s), ${result.failed} failed${delivered}`,
  );
} finally {
  for (const child of children) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  await rm(directory, { recursive: true, force: true });
}
