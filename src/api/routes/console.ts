// The alarm console: a few static files (plain HTML, CSS and ES modules, no build step) from
// src/console/, served by the API itself at /console/. The files hold no data and no secrets, so
// they need no token; the page signs in to the API with one (src/console/api.js).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../app.js';

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  svg: 'image/svg+xml',
};

/** Only our own files may run or load: no inline script or style, no other origin, no framing. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * src/console/ of the package. Found from the package root, not from this file: this module runs
 * from src/api/routes/ under tsx and from dist/src/api/routes/ once compiled, and tsc does not copy
 * the static files into dist/.
 */
export function consoleDir(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'src', 'console');
    if (dirname(dir) === dir) return join(from, '..', '..', 'console');
  }
}

interface StaticFile {
  body: Buffer;
  type: string;
}

/** Reads every servable file once, at start: the console is a handful of small files. */
function loadFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  if (!existsSync(dir)) return files;
  for (const name of readdirSync(dir)) {
    const type = CONTENT_TYPES[name.split('.').pop() ?? ''];
    if (type && /^[a-z0-9-]+\.[a-z]+$/.test(name)) files.set(name, { body: readFileSync(join(dir, name)), type });
  }
  return files;
}

export const consoleRoutes =
  (deps: Pick<ApiDeps, 'log'>, dir = consoleDir()): FastifyPluginAsyncZod =>
  async (app) => {
    const files = loadFiles(dir);
    if (!files.has('index.html')) deps.log.warn(`alarm console not served: no index.html in ${dir}`);

    const serve = (name: string, reply: FastifyReply) => {
      const file = files.get(name);
      if (!file) return reply.code(404).send({ error: 'not found', reason: `no console file ${name}` });
      return reply
        .header('content-type', file.type)
        .header('content-security-policy', CONTENT_SECURITY_POLICY)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('cache-control', 'no-cache')
        .send(file.body);
    };

    // Relative module paths in index.html need the trailing slash; a relative Location survives a proxy's path prefix.
    app.get('/console', { config: { role: 'public' }, schema: { hide: true } }, async (_request, reply) => reply.redirect('console/', 301));
    app.get('/console/', { config: { role: 'public' }, schema: { hide: true } }, async (_request, reply) => serve('index.html', reply));
    app.get(
      '/console/:file',
      { config: { role: 'public' }, schema: { hide: true, params: z.object({ file: z.string().max(64) }) } },
      async (request, reply) => serve(request.params.file, reply),
    );
  };
