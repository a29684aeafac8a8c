import { describe, expect, it } from 'vitest';
import { FIELDS, ID_PATTERN, KINDS, MAX_PAYLOAD_BYTES, TelemetryPayload, telemetryTopic, type Kind } from '../../src/schema.js';
import { REPORT_INTERVAL_MS } from '../../simulators/devices.js';
import { simulateOffline } from '../../simulators/run.js';
import { DAY_MS, DAY_START_MS, demoAssets } from './helpers.js';

const assets = demoAssets();

describe('demo network registry', () => {
  it('loads with loadConfig and holds every device of the demo network', () => {
    expect(assets.map((asset) => asset.id).sort()).toEqual(
      ['C-01', 'CW-1', 'M-N', 'M-S', 'P-01', 'P-02', 'P-03', 'R-N', 'R-S', 'W-01'].sort(),
    );
    expect(new Set(assets.map((asset) => asset.region))).toEqual(new Set(['east']));
    const roles = assets.flatMap((asset) => (asset.kind === 'pump' ? [`${asset.id}:${asset.role}`] : []));
    expect(roles).toEqual(['P-01:duty', 'P-02:duty', 'P-03:standby']);
  });
});

describe('published telemetry', () => {
  // A mild day and a scorching one, to reach both ends of the instruments' ranges.
  const messages = [
    ...simulateOffline(assets, { seed: 3, startMs: DAY_START_MS, durationMs: DAY_MS }),
    ...simulateOffline(assets, { seed: 4, startMs: DAY_START_MS + DAY_MS, durationMs: DAY_MS, dailyMaxAirTemp_c: 41 }),
  ];

  it('is valid against TelemetryPayload of its kind, on a topic that parses', () => {
    const topicPattern = /^hydrowatch\/([^/]+)\/([^/]+)\/([^/]+)\/telemetry$/;
    const problems: string[] = [];
    const seen = new Set<string>();
    // Checked without expect() per message: 150 000 messages would make the matchers the bottleneck.
    for (const message of messages) {
      const [, site = '', kind = '', asset = ''] = topicPattern.exec(message.topic) ?? [];
      if (!(KINDS as readonly string[]).includes(kind) || !ID_PATTERN.test(site) || !ID_PATTERN.test(asset)) {
        problems.push(`bad topic ${message.topic}`);
        continue;
      }
      if (telemetryTopic(site, kind as Kind, asset) !== message.topic) problems.push(`topic ${message.topic} does not round-trip`);
      if (Buffer.byteLength(message.payload) > MAX_PAYLOAD_BYTES) problems.push(`${message.topic}: payload too large`);
      const result = TelemetryPayload[kind as Kind].safeParse(JSON.parse(message.payload));
      if (!result.success) {
        problems.push(`${message.topic} ${message.payload}: ${result.error.message}`);
        continue;
      }
      if (result.data.ts !== message.tsMs) problems.push(`${message.topic}: ts ${result.data.ts} ≠ ${message.tsMs}`);
      // Every field of the kind, every time.
      if (Object.keys(result.data.values).length !== Object.keys(FIELDS[kind as Kind]).length) {
        problems.push(`${message.topic}: fields missing in ${message.payload}`);
      }
      seen.add(message.topic);
    }
    expect(problems.slice(0, 5)).toEqual([]);
    expect(seen.size).toBe(10);
  });

  it('uses both timestamp forms: epoch ms and ISO 8601 with a zone', () => {
    const forms = new Set(messages.map((message) => typeof (JSON.parse(message.payload) as { ts: unknown }).ts));
    expect(forms).toEqual(new Set(['number', 'string']));
    const weather = messages.find((message) => message.topic.includes('/weather/'))!;
    expect((JSON.parse(weather.payload) as { ts: string }).ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('reports on schedule with seq rising by one per device', () => {
    const firstDay = messages.filter((message) => message.tsMs <= DAY_START_MS + DAY_MS);
    const lastByTopic = new Map<string, { seq: number; tsMs: number }>();
    const problems: string[] = [];
    for (const message of firstDay) {
      const { seq } = JSON.parse(message.payload) as { seq: number };
      const kind = message.topic.split('/')[2] as Kind;
      const previous = lastByTopic.get(message.topic) ?? { seq: 0, tsMs: message.tsMs - REPORT_INTERVAL_MS[kind] };
      if (seq !== previous.seq + 1) problems.push(`${message.topic}: seq ${seq} after ${previous.seq}`);
      // The first report comes within one interval of the start (devices start out of phase).
      if (previous.seq > 0 && message.tsMs - previous.tsMs !== REPORT_INTERVAL_MS[kind]) {
        problems.push(`${message.topic}: ${message.tsMs - previous.tsMs} ms between reports`);
      }
      lastByTopic.set(message.topic, { seq, tsMs: message.tsMs });
    }
    expect(problems.slice(0, 5)).toEqual([]);
    expect(lastByTopic.size).toBe(10);
    // Nothing stamped outside the simulated span, and messages come out in time order.
    expect(firstDay.every((message, index) => index === 0 || message.tsMs >= firstDay[index - 1]!.tsMs)).toBe(true);
    expect(firstDay[0]!.tsMs).toBeGreaterThan(DAY_START_MS);
  });
});
