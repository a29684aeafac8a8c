// The HTTP API of a real running service: embedded broker, real InfluxDB, fetch() over TCP.
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../src/dev/ports.js';
import { eventually, startTestService, type TestService } from './helpers/service.js';

// Restore on start looks 30 days back: readings are stamped just now.
const T0 = Date.now() - 60_000;
// The writer waits this long for a part-full batch: short, so points reach InfluxDB at once.
const FAST_WRITES = { influx: { flushIntervalMs: 20 } };

const ASSETS = [
  { kind: 'reservoir', site: 'north', id: 'R-1', name: 'North reservoir', capacity_m3: 5000, area_m2: 1200, minLevel_m: 0.5, maxLevel_m: 6 },
  { kind: 'pump', site: 'north', id: 'P-1', name: 'North duty pump', station: 'north-ps', ratedFlow_m3h: 450 },
];

interface Answer {
  status: number;
  contentType: string;
  text: string;
  json: <T = Record<string, unknown>>() => T;
}

/** GETs a path; every body it sees is checked for a leaked stack trace. */
async function get(base: string, path: string): Promise<Answer> {
  const response = await fetch(`${base}${path}`);
  const text = await response.text();
  expect(text, `${path} leaks a stack trace`).not.toMatch(/(\n|\\n)\s*at [^\s]+/);
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text, json: <T>() => JSON.parse(text) as T };
}

interface AssetSummary {
  site: string;
  kind: string;
  asset: string;
  name: string | null;
  registered: boolean;
  online: boolean | null;
  lastSeen: string | null;
  lastReading: string | null;
}

const telemetry = (site: string, kind: string, asset: string) => `hydrowatch/${site}/${kind}/${asset}/telemetry`;
const status = (site: string, kind: string, asset: string) => `hydrowatch/${site}/${kind}/${asset}/status`;

describe('HTTP API of a running service', () => {
  let t: TestService;
  let api: (path: string) => Promise<Answer>;
  const assets = async (query = ''): Promise<AssetSummary[]> => (await api(`/api/assets${query}`)).json<{ assets: AssetSummary[] }>().assets;

  beforeAll(async () => {
    t = await startTestService(inject('influxUrl'), { ...FAST_WRITES, assets: ASSETS });
    api = (path) => get(t.service.httpUrl, path);
  });
  afterAll(() => t?.close());

  it('GET /health: 200 with the embedded broker, the reachable 1.x InfluxDB and an acknowledging spool', async () => {
    const health = await api('/health');
    expect(health.status).toBe(200);
    expect(health.contentType).toMatch(/^application\/json/);
    expect(health.json()).toMatchObject({
      status: 'ok',
      broker: { mode: 'embedded', connected: true, port: t.mqttPort },
      influx: { url: inject('influxUrl'), reachable: true, flavour: 'v1', version: expect.stringMatching(/^1\./) },
      spool: { depth: expect.any(Number), limit: t.config.spoolMaxReadings, acknowledging: true },
    });
  });

  it('GET /metrics: Prometheus text with the ingest, reject, write and spool metrics', async () => {
    const client = await t.publisher();
    await client.publishAsync(telemetry('metrics', 'meter', 'M-1'), JSON.stringify({ ts: T0, values: { pressure_bar: 3.2 } }), { qos: 1 });
    await client.publishAsync(telemetry('metrics', 'meter', 'M-1'), 'not json', { qos: 1 });
    const metrics = await eventually(async () => {
      const answer = await api('/metrics');
      expect(answer.text).toMatch(/^hydrowatch_points_written_total [1-9]/m);
      return answer;
    });
    expect(metrics.status).toBe(200);
    expect(metrics.contentType).toMatch(/^text\/plain/);
    expect(metrics.text).toMatch(/^hydrowatch_messages_received_total [1-9]/m);
    expect(metrics.text).toMatch(/^hydrowatch_rejected_total\{reason="PAYLOAD\.BAD_JSON"\} [1-9]/m);
    expect(metrics.text).toMatch(/^hydrowatch_rejected_total\{reason="TOPIC\.BAD_ID"\} 0$/m);
    expect(metrics.text).toMatch(/^# TYPE hydrowatch_write_duration_seconds histogram$/m);
    expect(metrics.text).toMatch(/^hydrowatch_write_duration_seconds_count [1-9]/m);
    expect(metrics.text).toMatch(/^hydrowatch_spool_depth \d+$/m);
  });

  it('GET /api/assets: registered assets before anything is heard, unregistered ones once they publish, filtered by kind and site', async () => {
    const before = await assets();
    expect(before.find((a) => a.asset === 'R-1')).toEqual({
      site: 'north',
      kind: 'reservoir',
      asset: 'R-1',
      name: 'North reservoir',
      registered: true,
      online: null,
      lastSeen: null,
      lastReading: null,
      seqGaps: 0,
      seqDuplicates: 0,
    });

    const client = await t.publisher();
    await client.publishAsync(telemetry('south', 'canal', 'C-9'), JSON.stringify({ ts: T0, values: { level_m: 2.1 } }), { qos: 1 });
    const stranger = await eventually(async () => {
      const found = (await assets()).find((a) => a.asset === 'C-9');
      expect(found).toBeDefined();
      return found!;
    });
    expect(stranger).toMatchObject({ site: 'south', kind: 'canal', registered: false, name: null, lastReading: new Date(T0).toISOString() });

    expect((await assets('?kind=reservoir')).map((a) => a.asset)).toEqual(['R-1']);
    expect((await assets('?site=south')).map((a) => `${a.kind}:${a.asset}`)).toEqual(['canal:C-9']);
    expect((await assets('?site=north&kind=pump')).map((a) => a.asset)).toEqual(['P-1']);
    expect(await assets('?site=nowhere')).toEqual([]);
  });

  it('GET /api/assets: a bad filter is a 400 naming the query parameter', async () => {
    for (const query of ['?kind=boiler', '?site=a%20b']) {
      const answer = await api(`/api/assets${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.contentType).toMatch(/^application\/json/);
      const body = answer.json<{ error: string; reason: string }>();
      expect(body).toEqual({ error: expect.any(String), reason: expect.any(String) });
      expect(body.reason).toContain(query.includes('kind') ? 'kind' : 'site');
    }
  });

  it('GET /api/assets/{site}/{asset}/latest: the latest time and the values merged from the latest readings', async () => {
    const client = await t.publisher();
    await client.publishAsync(telemetry('north', 'pump', 'P-1'), JSON.stringify({ ts: T0, seq: 1, values: { running: true, flow_m3h: 410 } }), { qos: 1 });
    await client.publishAsync(telemetry('north', 'pump', 'P-1'), JSON.stringify({ ts: T0 + 1000, seq: 2, values: { flow_m3h: 412.5, discharge_bar: 5.1 } }), { qos: 1 });
    const latest = await eventually(async () => {
      const answer = await api('/api/assets/north/P-1/latest');
      expect(answer.status).toBe(200);
      expect(answer.json()).toMatchObject({ seq: 2 });
      return answer.json();
    });
    expect(latest).toEqual({
      site: 'north',
      kind: 'pump',
      asset: 'P-1',
      online: null,
      ts: new Date(T0 + 1000).toISOString(),
      seq: 2,
      values: { running: true, flow_m3h: 412.5, discharge_bar: 5.1 },
    });
  });

  it('GET /api/assets/{site}/{asset}/latest: 404 with a reason for an unknown or silent asset, 400 for a bad id', async () => {
    const unknown = await api('/api/assets/nowhere/X-1/latest');
    expect(unknown.status).toBe(404);
    expect(unknown.json()).toEqual({ error: 'not found', reason: expect.stringContaining('nowhere/X-1') });

    const silent = await api('/api/assets/north/R-1/latest');
    expect(silent.status).toBe(404);
    expect(silent.json()).toEqual({ error: 'not found', reason: expect.stringContaining('north/R-1') });

    for (const path of ['/api/assets/north/P%2C1/latest', '/api/assets/north/a%20b/latest', '/api/assets/a%22b/P-1/latest']) {
      const bad = await api(path);
      expect(bad.status, path).toBe(400);
      expect(bad.json(), path).toEqual({ error: expect.any(String), reason: expect.stringMatching(/site|asset/) });
    }
  });

  it('GET /docs serves Swagger UI, and /docs/json an OpenAPI document with every route', async () => {
    const ui = await api('/docs');
    expect(ui.status).toBe(200);
    expect(ui.contentType).toMatch(/^text\/html/);
    expect(ui.text).toMatch(/swagger/i);

    const doc = await api('/docs/json');
    expect(doc.status).toBe(200);
    const openapi = doc.json<{ openapi: string; paths: Record<string, unknown> }>();
    expect(openapi.openapi).toMatch(/^3\./);
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining(['/health', '/metrics', '/api/assets', '/api/assets/{site}/{asset}/latest']),
    );
  });

  it('answers an unknown route with a 404 JSON reason, and no error body carries a stack trace', async () => {
    const missing = await api('/api/nothing-here?x=1');
    expect(missing.status).toBe(404);
    expect(missing.json()).toEqual({ error: 'not found', reason: 'no route GET /api/nothing-here' });

    // A malformed path, a broken body: still short JSON reasons (get() checks every body for stacks).
    const malformed = await api('/api/assets/%E0%A4%A/x/latest');
    expect(malformed.status).toBe(400);
    expect(malformed.json()).toEqual({ error: 'bad request', reason: expect.stringContaining('not a valid url component') });
    const posted = await fetch(`${t.service.httpUrl}/api/assets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"broken' });
    expect(posted.status).toBe(400);
    expect(await posted.json()).toEqual({ error: expect.any(String), reason: expect.stringContaining('not valid JSON') });
  });
});

describe('HTTP API while InfluxDB is down', () => {
  let t: TestService | undefined;
  let relay: net.Server | undefined;
  const relayed = new Set<net.Socket>();
  afterEach(async () => {
    await t?.close();
    // Keep-alive connections would hold close() open for seconds.
    for (const socket of relayed) socket.destroy();
    await new Promise((resolve) => (relay ? relay.close(resolve) : resolve(undefined)));
  });

  it('starts anyway, takes readings into the spool, reports 503 — and drains once InfluxDB answers', async () => {
    const port = await freePort();
    t = await startTestService(inject('influxUrl'), FAST_WRITES, { INFLUX_URL: `http://127.0.0.1:${port}` });
    const api = (path: string) => get(t!.service.httpUrl, path);

    const down = await api('/health');
    expect(down.status).toBe(503);
    expect(down.json()).toMatchObject({
      status: 'degraded',
      broker: { mode: 'embedded', port: t.mqttPort },
      influx: { url: `http://127.0.0.1:${port}`, reachable: false, lastError: expect.any(String) },
      spool: { depth: 0, acknowledging: true },
    });

    const client = await t.publisher();
    for (let i = 0; i < 3; i++) {
      await client.publishAsync(telemetry('down', 'meter', 'M-1'), JSON.stringify({ ts: T0 + i * 1000, values: { pressure_bar: 3 + i / 10 } }), { qos: 1 });
    }
    const held = (await api('/health')).json<{ spool: { depth: number } }>();
    expect(held.spool.depth).toBeGreaterThanOrEqual(3); // the readings (and perhaps the service's own metrics)
    expect((await api('/api/assets/down/M-1/latest')).json()).toMatchObject({ values: { pressure_bar: 3.2 } });

    // InfluxDB "comes back" on that port: a TCP relay to the real one.
    const target = new URL(inject('influxUrl'));
    relay = net.createServer((socket) => {
      const upstream = net.connect({ host: target.hostname, port: Number(target.port) });
      relayed.add(socket).add(upstream);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => relay!.listen({ host: '127.0.0.1', port }, resolve));
    await eventually(async () => {
      const answer = await api('/health');
      expect(answer.status).toBe(200);
      expect(answer.json<{ spool: { depth: number }; influx: { reachable: boolean } }>()).toMatchObject({ influx: { reachable: true }, spool: { depth: 0 } });
    }, 15_000);
    expect(await t.rows(`SELECT "pressure_bar" FROM "meter" WHERE "site" = 'down'`)).toHaveLength(3);
  });
});

describe('HTTP API after a restart', () => {
  const started: TestService[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.close()));
  });

  it('answers latest values and online state from what InfluxDB holds', async () => {
    const first = await startTestService(inject('influxUrl'), FAST_WRITES);
    started.push(first);
    const client = await first.publisher();
    await client.publishAsync(status('east', 'pump', 'P-7'), '{"online":true}', { qos: 1 });
    await client.publishAsync(telemetry('east', 'pump', 'P-7'), JSON.stringify({ ts: T0, seq: 41, values: { running: true, flow_m3h: 300 } }), { qos: 1 });
    await client.publishAsync(telemetry('east', 'pump', 'P-7'), JSON.stringify({ ts: T0 + 5000, seq: 42, values: { flow_m3h: 305.5, fault_code: 0 } }), { qos: 1 });
    await client.publishAsync(status('east', 'canal', 'C-2'), '{"online":false}', { qos: 1 });
    await client.publishAsync(telemetry('east', 'canal', 'C-2'), JSON.stringify({ ts: T0, values: { level_m: 1.8 } }), { qos: 1 });
    await eventually(async () => {
      expect(await first.rows(`SELECT * FROM "pump"`)).toHaveLength(2);
      expect(await first.rows(`SELECT * FROM "canal"`)).toHaveLength(1);
      expect(await first.rows(`SELECT * FROM "status"`)).toHaveLength(2);
    });
    await first.close();

    const second = await startTestService(inject('influxUrl'), FAST_WRITES, { INFLUX_BUCKET: first.bucket });
    started.push(second);
    const api = (path: string) => get(second.service.httpUrl, path);
    const latest = await api('/api/assets/east/P-7/latest');
    expect(latest.status).toBe(200);
    expect(latest.json()).toEqual({
      site: 'east',
      kind: 'pump',
      asset: 'P-7',
      online: true,
      ts: new Date(T0 + 5000).toISOString(),
      seq: 42,
      // merged: `running` came only with the older reading
      values: { running: true, flow_m3h: 305.5, fault_code: 0 },
    });
    expect((await api('/api/assets/east/C-2/latest')).json()).toMatchObject({ kind: 'canal', online: false, values: { level_m: 1.8 } });
    const listed = (await api('/api/assets?site=east')).json<{ assets: AssetSummary[] }>().assets;
    expect(listed.map((a) => [a.asset, a.kind, a.online, a.lastReading])).toEqual([
      ['C-2', 'canal', false, new Date(T0).toISOString()],
      ['P-7', 'pump', true, new Date(T0 + 5000).toISOString()],
    ]);
  });
});
