// The HTTP API of a real service without HYDROWATCH_INSECURE: bearer tokens and roles, the audit
// trail in InfluxDB, rate and body limits, and error bodies that never carry a stack trace.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sha256Hex } from '../../src/security/hash.js';
import { eventually, startTestService, type TestService } from '../helpers/service.js';

const TOKENS = { viewer: 'hwt_test-viewer', operator: 'hwt_test-operator', admin: 'hwt_test-admin' };
const API_TOKENS = (Object.keys(TOKENS) as Array<keyof typeof TOKENS>).map((role) => ({ name: `desk-${role}`, role, sha256: sha256Hex(TOKENS[role]) }));
const ASSETS = [{ kind: 'weather', site: 'plant1', id: 'W-1', region: 'north' }];

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function call(base: string, path: string, options: { method?: string; role?: keyof typeof TOKENS; token?: string; body?: unknown; raw?: string } = {}): Promise<Answer> {
  const token = options.token ?? (options.role ? TOKENS[options.role] : undefined);
  const response = await fetch(`${base}${path}`, {
    method: options.method ?? 'GET',
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(options.body !== undefined || options.raw !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(options.raw !== undefined ? { body: options.raw } : options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  expect(text, `${path} leaks a stack trace`).not.toMatch(/(\n|\\n)\s*at [^\s]+/);
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: response.status, headers: response.headers, body };
}

const declare = { region: 'north', active: true, by: 'someone', reason: 'three days over 35 °C' };

describe('HTTP API with tokens and roles', () => {
  let t: TestService;
  let dir: string;
  let api: typeof call extends (base: string, ...rest: infer R) => infer T ? (...rest: R) => T : never;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hydrowatch-api-'));
    await writeFile(join(dir, 'devices.yaml'), 'devices: []\n');
    t = await startTestService(
      inject('influxUrl'),
      { influx: { flushIntervalMs: 20 }, api: { tokens: API_TOKENS }, assets: ASSETS },
      { HYDROWATCH_INSECURE: '0', HYDROWATCH_DEVICES: join(dir, 'devices.yaml') },
    );
    api = (path, options) => call(t.service.httpUrl, path, options);
  });
  afterAll(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers /health, /metrics and /docs without a token (load balancers, Prometheus, people)', async () => {
    expect((await api('/health')).status).toBe(200);
    expect((await api('/metrics')).status).toBe(200);
    expect((await api('/docs/json')).status).toBe(200);
  });

  it('answers 401 without a token or with a wrong one', async () => {
    const missing = await api('/api/assets');
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ error: 'unauthorized', reason: expect.stringContaining('bearer token') });
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer realm="hydrowatch"/);
    const wrong = await api('/api/assets', { token: 'hwt_not-a-token' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ error: 'unauthorized', reason: 'the bearer token is not valid' });
  });

  it('lets a viewer read but not acknowledge or declare (403); an operator can', async () => {
    expect((await api('/api/assets', { role: 'viewer' })).status).toBe(200);
    const ack = await api('/api/alerts/A999999/ack', { method: 'POST', role: 'viewer', body: { by: 'viewer' } });
    expect(ack.status).toBe(403);
    expect(ack.body).toEqual({ error: 'forbidden', reason: 'desk-viewer has role viewer; POST /api/alerts/:id/ack needs operator' });
    const put = await api('/api/heatwave', { method: 'PUT', role: 'viewer', body: declare });
    expect(put.status).toBe(403);

    const declared = await api('/api/heatwave', { method: 'PUT', role: 'operator', body: declare });
    expect(declared.status).toBe(200);
    // Past the role check, the route itself answers: no such alert.
    expect((await api('/api/alerts/A999999/ack', { method: 'POST', role: 'operator', body: { by: 'op' } })).status).toBe(404);
  });

  it('writes an audit point to InfluxDB for every mutating call: who, what, allowed or not', async () => {
    await api('/api/heatwave', { method: 'PUT', role: 'admin', body: { ...declare, active: null } });
    await api('/api/heatwave', { method: 'PUT', body: declare });
    const audit = await eventually(async () => {
      const found = await t.rows(`SELECT "who", "target", "ok", "status", "action", "role" FROM "audit" WHERE "action" = 'PUT /api/heatwave'`);
      expect(found.length).toBeGreaterThanOrEqual(4);
      return found;
    });
    expect(audit.map(({ who, role, ok, status, target }) => ({ who, role, ok, status, target }))).toEqual(
      expect.arrayContaining([
        { who: 'desk-viewer', role: 'viewer', ok: false, status: 403, target: '/api/heatwave' },
        { who: 'desk-operator', role: 'operator', ok: true, status: 200, target: '/api/heatwave' },
        { who: 'desk-admin', role: 'admin', ok: true, status: 200, target: '/api/heatwave' },
        { who: '(no token)', role: 'none', ok: false, status: 401, target: '/api/heatwave' },
      ]),
    );
    const acks = await eventually(async () => {
      const found = await t.rows(`SELECT "who", "ok", "status" FROM "audit" WHERE "action" = 'POST /api/alerts/:id/ack'`);
      expect(found).toHaveLength(2);
      return found;
    });
    expect(acks.map((a) => [a.who, a.ok, a.status])).toEqual([
      ['desk-viewer', false, 403],
      ['desk-operator', false, 404],
    ]);
  });

  it('refuses an oversized body with 413 and a short reason', async () => {
    const big = await api('/api/heatwave', { method: 'PUT', role: 'operator', raw: JSON.stringify({ ...declare, reason: 'x'.repeat(70 * 1024) }) });
    expect(big.status).toBe(413);
    expect(big.body).toEqual({ error: expect.any(String), reason: expect.stringMatching(/too large/i) });
  });

  it('answers malformed JSON and schema errors with 400 reasons, not stacks', async () => {
    const broken = await api('/api/heatwave', { method: 'PUT', role: 'operator', raw: '{"active": tru' });
    expect(broken.status).toBe(400);
    expect(broken.body).toEqual({ error: expect.any(String), reason: expect.any(String) });
    const invalid = await api('/api/heatwave', { method: 'PUT', role: 'operator', body: { active: 'yes' } });
    expect(invalid.status).toBe(400);
  });
});

describe('HTTP API rate limit', () => {
  let t: TestService;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hydrowatch-api-'));
    await writeFile(join(dir, 'devices.yaml'), 'devices: []\n');
    t = await startTestService(
      inject('influxUrl'),
      { api: { tokens: API_TOKENS, rateLimit: { max: 5, windowMs: 60_000 } } },
      { HYDROWATCH_INSECURE: '0', HYDROWATCH_DEVICES: join(dir, 'devices.yaml') },
    );
  });
  afterAll(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers 429 with Retry-After past the limit, token or not (guessing tokens is limited too)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await call(t.service.httpUrl, '/api/assets', { token: `hwt_guess-${i}` })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    const limited = await call(t.service.httpUrl, '/api/assets', { role: 'admin' });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ error: 'too many requests', reason: expect.stringMatching(/^more than 5 requests in 60 s from this address; retry in /) });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
