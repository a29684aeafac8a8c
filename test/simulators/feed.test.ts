// Feed files: byte-identical for the same seed and scenario, gzip or not, every payload (garbage
// bytes included) read back as it was written, and timestamps shifted only where they are readings.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { truthFileFor, writeScenarioFeed } from '../../simulators/cli.js';
import type { EpanetNetwork } from '../../simulators/epanet.js';
import { feedLine, openFeed, parseFeedLine, payloadTimestamp, shiftPayloadTimestamp, type FeedMessage } from '../../simulators/feed.js';
import { runScenario } from '../../simulators/run.js';
import { loadScenario } from '../../simulators/scenarios.js';
import { DAY_START_MS, demoAssets, demoHydraulics } from './helpers.js';

const assets = demoAssets();
const scratch = mkdtempSync(join(tmpdir(), 'hydrowatch-feed-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let hydraulics: EpanetNetwork;
beforeAll(async () => {
  hydraulics = await demoHydraulics();
});

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
// Garbage of every class, a trip, and drifting clocks: everything a feed has to carry.
const scenario = () => loadScenario('sensor-faults,pump-trip');
const write = (name: string, seed: number) => {
  const path = join(scratch, name);
  writeScenarioFeed(path, { assets, scenario: scenario(), seed, hydraulics, startMs: DAY_START_MS });
  return path;
};

describe('simulated feeds', () => {
  it('are byte-identical for the same seed and scenario, and differ for another seed', () => {
    const first = write('first.jsonl', 7);
    const again = write('again.jsonl', 7);
    const other = write('other.jsonl', 8);
    expect(sha256(again)).toBe(sha256(first));
    expect(sha256(other)).not.toBe(sha256(first));
    expect(readFileSync(truthFileFor(again), 'utf8')).toBe(readFileSync(truthFileFor(first), 'utf8'));
    // gzip is the same bytes, compressed (and itself deterministic).
    const zipped = write('zipped.jsonl.gz', 7);
    expect(gunzipSync(readFileSync(zipped)).equals(readFileSync(first))).toBe(true);
    expect(truthFileFor(zipped)).toBe(join(scratch, 'zipped.truth.json'));
  }, 30_000);

  it('read back (plain or gzip) as exactly the messages the scenario sent', async () => {
    const run = runScenario({ assets, scenario: scenario(), seed: 7, hydraulics, startMs: DAY_START_MS });
    const truth = JSON.parse(readFileSync(truthFileFor(join(scratch, 'zipped.jsonl.gz')), 'utf8')) as { groundTruth: unknown[] };
    expect(truth.groundTruth).toEqual(JSON.parse(JSON.stringify(run.groundTruth)));
    for (const file of ['first.jsonl', 'zipped.jsonl.gz']) {
      const feed = await openFeed(join(scratch, file));
      expect(feed.header).toMatchObject({ hydrowatch_feed: 1, startMs: DAY_START_MS });
      let index = 0;
      const problems: string[] = [];
      for await (const message of feed.messages) {
        const sent = run.messages[index++]!;
        if (
          message.topic !== sent.topic ||
          feed.header.startMs + message.t !== sent.tsMs ||
          message.qos !== (sent.qos ?? 1) ||
          message.retain !== (sent.retain ?? false) ||
          !Buffer.from(message.payload).equals(Buffer.from(sent.payload))
        ) {
          problems.push(`${file} message ${index}: ${message.topic}`);
        }
      }
      expect(problems.slice(0, 3)).toEqual([]);
      expect(index).toBe(run.messages.length);
    }
    // The non-UTF-8 garbage went through as base64, the rest as text.
    expect(readFileSync(join(scratch, 'first.jsonl'), 'utf8')).toContain('"payload_base64":');
  }, 30_000);
});

describe('feed lines', () => {
  it('carry any payload: text with quotes and newlines, and bytes that are not UTF-8', () => {
    const messages: FeedMessage[] = [
      { t: 5, topic: 'a/b', qos: 0, retain: true, payload: 'line one\n"quoted" ünïcødé' },
      { t: 6, topic: 'a/c', qos: 2, retain: false, payload: Buffer.from([0xff, 0x00, 0xfe]) },
      { t: 7, topic: 'a/d', qos: 1, retain: false, payload: '' },
    ];
    for (const message of messages) {
      const line = feedLine(message);
      expect(line).not.toContain('\n');
      const back = parseFeedLine(line);
      expect({ ...back, payload: Buffer.from(back.payload) }).toEqual({ ...message, payload: Buffer.from(message.payload) });
    }
  });
});

describe('shifting timestamps to now', () => {
  const sentAt = Date.parse('2026-07-14T08:00:00.000Z');
  const delta = -3_600_000;

  it('moves epoch-ms and ISO timestamps, keeping their form', () => {
    expect(shiftPayloadTimestamp(`{"ts":${sentAt},"seq":1,"values":{"flow_m3h":1}}`, delta, sentAt)).toBe(`{"ts":${sentAt + delta},"seq":1,"values":{"flow_m3h":1}}`);
    expect(shiftPayloadTimestamp('{"ts":"2026-07-14T08:00:00.000Z","values":{}}', delta, sentAt)).toBe('{"ts":"2026-07-14T07:00:00.000Z","values":{}}');
    expect(shiftPayloadTimestamp('{"ts":"2026-07-14T16:00:00.000+08:00","values":{}}', delta, sentAt)).toBe('{"ts":"2026-07-14T15:00:00.000+08:00","values":{}}');
    expect(shiftPayloadTimestamp(`{"command":"stop","by":"PS-1 level control","ts":${sentAt}}`, delta, sentAt)).toBe(`{"command":"stop","by":"PS-1 level control","ts":${sentAt + delta}}`);
    expect(payloadTimestamp('{"ts":"2026-07-14T16:00:00.000+08:00"}', sentAt)).toBe(sentAt);
  });

  it('leaves garbage timestamps what they are: seconds, far future, none', () => {
    for (const payload of [
      `{"ts":${Math.floor(sentAt / 1000)},"values":{"flow_m3h":1}}`,
      '{"ts":"2099-01-01T00:00:00.000Z","values":{"flow_m3h":1}}',
      '{"values":{"flow_m3h":1}}',
      '{"ts":"2026-07-14T08:00:00","values":{}}',
      '[1,2,3]',
    ]) {
      expect(shiftPayloadTimestamp(payload, delta, sentAt)).toBe(payload);
    }
    const bytes = Buffer.from([0xff, 0xfe]);
    expect(shiftPayloadTimestamp(bytes, delta, sentAt)).toBe(bytes);
  });
});
