// The console's static files: found from the package root whether the service runs under tsx
// (src/) or compiled (dist/src/), and every file the page loads is served with its type and CSP.
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleDir, consoleRoutes } from '../../../src/api/routes/console.js';
import { silentLogger } from '../../../src/log.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

describe('console route', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = Fastify();
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    await app.register(consoleRoutes({ log: silentLogger }));
    await app.ready();
  });
  afterAll(() => app.close());

  it('finds src/console from the source tree and from the compiled tree', () => {
    expect(consoleDir(join(ROOT, 'src', 'api', 'routes'))).toBe(join(ROOT, 'src', 'console'));
    expect(consoleDir(join(ROOT, 'dist', 'src', 'api', 'routes'))).toBe(join(ROOT, 'src', 'console'));
  });

  it('serves every file index.html and the modules load, with its content type and a strict CSP', async () => {
    const index = await app.inject({ url: '/console/' });
    expect(index.statusCode).toBe(200);
    const referenced = [...index.body.matchAll(/(?:href|src)="([a-z0-9-]+\.(?:css|js))"/g)].map((m) => m[1]!);
    expect(referenced).toEqual(expect.arrayContaining(['console.css', 'console.js']));
    const seen = new Set<string>();
    const queue = [...referenced];
    while (queue.length > 0) {
      const name = queue.shift()!;
      if (seen.has(name)) continue;
      seen.add(name);
      const file = await app.inject({ url: `/console/${name}` });
      expect(file.statusCode, name).toBe(200);
      expect(file.headers['content-type'], name).toBe(name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8');
      expect(file.headers['content-security-policy'], name).toMatch(/^default-src 'none'; script-src 'self'; style-src 'self'/);
      expect(file.headers['x-content-type-options']).toBe('nosniff');
      for (const m of file.body.matchAll(/from '\.\/([a-z0-9-]+\.js)'/g)) queue.push(m[1]!);
    }
    expect([...seen].sort()).toEqual(['api.js', 'console.css', 'console.js', 'format.js', 'stream.js']);
  });

  it('serves nothing else: other names and paths are 404s', async () => {
    for (const url of ['/console/package.json', '/console/..%2F..%2Fpackage.json', '/console/nope.js', '/console/a/b.js']) {
      expect((await app.inject({ url })).statusCode, url).toBe(404);
    }
    expect((await app.inject({ url: '/console' })).headers.location).toBe('console/');
  });
});
