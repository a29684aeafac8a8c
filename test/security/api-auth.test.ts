// The API security plugin on its own (app.inject): roles per route, safe defaults, audit entries.
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiSecurity, principalOf } from '../../src/api/auth.js';
import type { AuditEntry } from '../../src/influx/points.js';
import { silentLogger } from '../../src/log.js';
import { sha256Hex } from '../../src/security/hash.js';
import { TokenVerifier } from '../../src/security/tokens.js';

const TOKENS = { viewer: 'hwt_viewer-token', operator: 'hwt_operator-token', admin: 'hwt_admin-token' };
const verifier = new TokenVerifier(
  (Object.keys(TOKENS) as Array<keyof typeof TOKENS>).map((role) => ({ name: `${role}-desk`, role, sha256: sha256Hex(TOKENS[role]) })),
);

async function appWith(options: { insecure?: boolean; openMetrics?: boolean; max?: number } = {}) {
  const audits: AuditEntry[] = [];
  const app = Fastify({ logger: false });
  await app.register(
    apiSecurity({
      insecure: options.insecure ?? false,
      tokens: verifier,
      openMetrics: options.openMetrics ?? true,
      rateLimit: { max: options.max ?? 1000, windowMs: 60_000 },
      bodyLimitBytes: 1024,
      audit: async (entry) => void audits.push(entry),
      log: silentLogger,
    }),
  );
  const who = (request: Parameters<typeof principalOf>[0]) => principalOf(request);
  app.get('/health', async () => ({ ok: true }));
  app.get('/metrics', async () => 'metrics');
  app.get('/docs/json', async () => ({}));
  app.get('/api/things', async (request) => who(request));
  app.post('/api/things/:id/ack', { config: { role: 'operator' } }, async (request) => who(request));
  app.put('/api/settings', async (request) => who(request));
  app.post('/api/named', { config: { role: 'operator', action: 'thing.named' } }, async () => ({}));
  await app.ready();
  return { app, audits };
}

const bearer = (role: keyof typeof TOKENS) => ({ authorization: `Bearer ${TOKENS[role]}` });

describe('API security plugin', () => {
  let app: FastifyInstance;
  let audits: AuditEntry[];
  beforeEach(async () => ({ app, audits } = await appWith()));
  afterEach(() => app.close());

  it('leaves /health, /metrics and /docs open', async () => {
    for (const url of ['/health', '/metrics', '/docs/json']) expect((await app.inject({ url })).statusCode, url).toBe(200);
  });

  it('answers 401 without a token, with a malformed header, or with a wrong token', async () => {
    const missing = await app.inject({ url: '/api/things' });
    expect(missing.statusCode).toBe(401);
    expect(missing.json()).toEqual({ error: 'unauthorized', reason: expect.stringContaining('bearer token') });
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="hydrowatch"');
    expect((await app.inject({ url: '/api/things', headers: { authorization: `Basic ${TOKENS.admin}` } })).statusCode).toBe(401);
    const wrong = await app.inject({ url: '/api/things', headers: { authorization: 'Bearer hwt_guess' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toEqual({ error: 'unauthorized', reason: 'the bearer token is not valid' });
  });

  it('lets a viewer read, but not act: 403 naming the role needed', async () => {
    const read = await app.inject({ url: '/api/things', headers: bearer('viewer') });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual({ name: 'viewer-desk', role: 'viewer' });
    const ack = await app.inject({ method: 'POST', url: '/api/things/7/ack', headers: bearer('viewer') });
    expect(ack.statusCode).toBe(403);
    expect(ack.json()).toEqual({ error: 'forbidden', reason: 'viewer-desk has role viewer; POST /api/things/:id/ack needs operator' });
  });

  it('lets an operator and an admin do operator things; the handler learns who called', async () => {
    for (const role of ['operator', 'admin'] as const) {
      const ack = await app.inject({ method: 'POST', url: '/api/things/7/ack', headers: bearer(role) });
      expect(ack.statusCode, role).toBe(200);
      expect(ack.json()).toEqual({ name: `${role}-desk`, role });
    }
  });

  it('a mutating route that declares no role is for admins only', async () => {
    expect((await app.inject({ method: 'PUT', url: '/api/settings', headers: bearer('operator') })).statusCode).toBe(403);
    expect((await app.inject({ method: 'PUT', url: '/api/settings', headers: bearer('admin') })).statusCode).toBe(200);
  });

  it('audits every mutating call, allowed or refused, and no read', async () => {
    await app.inject({ method: 'POST', url: '/api/things/7/ack?x=1', headers: bearer('operator') });
    await app.inject({ method: 'POST', url: '/api/things/8/ack', headers: bearer('viewer') });
    await app.inject({ method: 'POST', url: '/api/things/9/ack' });
    await app.inject({ method: 'POST', url: '/api/things/9/ack', headers: { authorization: 'Bearer nope' } });
    await app.inject({ method: 'POST', url: '/api/named', headers: bearer('admin') });
    await app.inject({ url: '/api/things', headers: bearer('admin') });
    const strip = ({ ts: _ts, ip: _ip, ...rest }: AuditEntry) => rest;
    expect(audits.map(strip)).toEqual([
      { action: 'POST /api/things/:id/ack', role: 'operator', who: 'operator-desk', target: '/api/things/7/ack', ok: true, status: 200 },
      { action: 'POST /api/things/:id/ack', role: 'viewer', who: 'viewer-desk', target: '/api/things/8/ack', ok: false, status: 403 },
      { action: 'POST /api/things/:id/ack', role: 'none', who: '(no token)', target: '/api/things/9/ack', ok: false, status: 401 },
      { action: 'POST /api/things/:id/ack', role: 'none', who: '(invalid token)', target: '/api/things/9/ack', ok: false, status: 401 },
      { action: 'thing.named', role: 'admin', who: 'admin-desk', target: '/api/named', ok: true, status: 200 },
    ]);
    expect(audits[0]!.ts).toBeGreaterThan(Date.now() - 10_000);
  });

  it('with openMetrics: false, /metrics needs a viewer token', async () => {
    const closed = await appWith({ openMetrics: false });
    try {
      expect((await closed.app.inject({ url: '/metrics' })).statusCode).toBe(401);
      expect((await closed.app.inject({ url: '/metrics', headers: bearer('viewer') })).statusCode).toBe(200);
      expect((await closed.app.inject({ url: '/health' })).statusCode).toBe(200);
    } finally {
      await closed.app.close();
    }
  });

  it('in insecure mode every caller is an anonymous admin, and still audited', async () => {
    const open = await appWith({ insecure: true });
    try {
      const put = await open.app.inject({ method: 'PUT', url: '/api/settings' });
      expect(put.statusCode).toBe(200);
      expect(put.json()).toEqual({ name: 'anonymous', role: 'admin' });
      expect(open.audits).toMatchObject([{ who: 'anonymous', role: 'admin', ok: true }]);
    } finally {
      await open.app.close();
    }
  });
});
