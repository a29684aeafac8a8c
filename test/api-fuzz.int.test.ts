// API fuzzing: every route the OpenAPI document lists, with seeded random path parameters, query
// strings, bodies and content types. A client's mistake is a 4xx; a 5xx is our bug.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRng } from '../simulators/rng.js';
import { startTestService, type TestService } from './helpers/service.js';

const SEED = 1807;
const REQUESTS_PER_OPERATION = 60;

interface Operation {
  parameters?: Array<{ in: string; name: string }>;
  requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> };
}
interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
}

const STRINGS = [
  '',
  'x',
  'P-01',
  's1',
  '0',
  '-1',
  '1e309',
  'NaN',
  'null',
  'true',
  '[]',
  '{}',
  '..',
  '../../etc/passwd',
  "'; DROP MEASUREMENT pump; --",
  '" OR 1=1',
  '\\',
  '%',
  '%zz',
  '%00',
  '%2F',
  '%ED%A0%80',
  '%F0%9F%92%A7',
  '水',
  '\u{1F4A7}',
  'a b',
  'a,b=c',
  '\u202Eevil',
  'active',
  'all',
  'x'.repeat(300),
  'x'.repeat(10_000),
];

describe('API fuzz', () => {
  let t: TestService;
  let api: OpenApi;
  beforeAll(async () => {
    // The rate limit would answer most of the fuzz with 429 before it reaches a route.
    t = await startTestService(inject('influxUrl'), { api: { rateLimit: { max: 1_000_000 } } });
    // A few readings so routes that look things up have something to find.
    const device = await t.publisher();
    await device.publishAsync('hydrowatch/s1/pump/P-01/telemetry', JSON.stringify({ ts: Date.now() - 1000, seq: 1, values: { running: true, flow_m3h: 400 } }), { qos: 1 });
    api = (await (await fetch(`${t.service.httpUrl}/docs/json`)).json()) as OpenApi;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers every route with 2xx–4xx, never 5xx, whatever the params, query and body', async () => {
    const rng = createRng(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rng.next() * items.length)]!;
    const chance = (p: number) => rng.next() < p;
    // Bodies use the route's own property names half the time, so they get past "unknown key".
    let bodyKeys: string[] = [];
    const randomJson = (depth = 0): unknown => {
      const kind = Math.floor(rng.next() * (depth > 4 ? 5 : 8));
      if (kind === 0) return null;
      if (kind === 1) return chance(0.5);
      if (kind === 2) return pick([0, -0, -1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 5e-324]);
      if (kind === 3 || kind === 4) return pick(STRINGS);
      if (kind === 5) return Array.from({ length: Math.floor(rng.next() * 4) }, () => randomJson(depth + 1));
      const object: Record<string, unknown> = {};
      const keys = bodyKeys.length > 0 && chance(0.5) ? bodyKeys : ['reason', 'note', 'active', '__proto__', 'constructor', pick(STRINGS)];
      for (let i = Math.floor(rng.next() * 5); i > 0; i--) object[pick(keys)] = randomJson(depth + 1);
      return object;
    };
    const pathValue = () => {
      const value = pick(STRINGS);
      // Raw sometimes (the server must cope with bad escapes), encoded otherwise; # and ? always escaped.
      return (chance(0.5) ? encodeURIComponent(value) : value).replace(/#/g, '%23').replace(/\?/g, '%3F');
    };
    const body = (): { body?: string; headers: Record<string, string> } => {
      const type = pick(['application/json', 'application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', '']);
      const text = pick([
        () => JSON.stringify(randomJson()),
        () => JSON.stringify(randomJson()),
        () => '{"reason": ',
        () => '',
        () => 'x'.repeat(70 * 1024),
        () => `{"reason":"${'y'.repeat(70 * 1024)}"}`,
        () => '['.repeat(5000) + ']'.repeat(5000),
        () => '{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}',
        () => '\uFEFF{}',
      ])();
      return { body: text, headers: type ? { 'content-type': type } : {} };
    };

    const operations = Object.entries(api.paths).flatMap(([template, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ template, method: method.toUpperCase(), operation })),
    );
    const templates = operations.map((o) => o.template);
    expect(templates).toEqual(expect.arrayContaining(['/health', '/metrics', '/api/assets', '/api/assets/{site}/{asset}/latest']));
    // Methods a route does not have must be a 404/405 too.
    for (const template of new Set(templates)) operations.push({ template, method: pick(['DELETE', 'PATCH', 'PUT', 'POST']), operation: {} as Operation });

    const failures: string[] = [];
    let requests = 0;
    for (const { template, method, operation } of operations) {
      bodyKeys = Object.keys(operation.requestBody?.content?.['application/json']?.schema?.properties ?? {});
      for (let n = 0; n < REQUESTS_PER_OPERATION; n++) {
        const path = template.replace(/\{[^}]+\}/g, pathValue);
        const query = new URLSearchParams();
        for (const parameter of operation.parameters ?? []) {
          if (parameter.in === 'query' && chance(0.7)) query.append(parameter.name, pick(STRINGS));
        }
        if (chance(0.2)) query.append(pick(['x', 'state', 'site', '__proto__', '']), pick(STRINGS));
        if (chance(0.1)) query.append('state', 'active');
        const search = query.toString();
        const url = `${t.service.httpUrl}${path}${search ? `?${search}` : chance(0.05) ? '?%' : ''}`;
        const withBody = method !== 'GET' && method !== 'HEAD' && chance(0.9);
        const request = withBody ? body() : { headers: {} };
        const response = await fetch(url, { method, redirect: 'manual', ...request }).catch((error: unknown) => error as Error);
        requests += 1;
        if (response instanceof Error) {
          failures.push(`${method} ${url.slice(0, 200)}: ${response.message}`);
          continue;
        }
        await response.arrayBuffer();
        if (response.status >= 500) failures.push(`${method} ${url.slice(0, 200)} ${JSON.stringify(request.body?.slice(0, 200) ?? null)} → ${response.status}`);
      }
    }
    expect(requests).toBeGreaterThan(500);
    expect(failures, failures.slice(0, 20).join('\n')).toEqual([]);
  });
});
