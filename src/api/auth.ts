// API security as one fastify plugin: rate limiting, bearer tokens → role, and an audit point
// for every mutating call. Routes say who may call them with `config: { role }`:
//
//   app.post('/api/alerts/:id/ack', { config: { role: 'operator' }, schema: … }, handler)
//
// Without a role a GET is for viewers and anything else for admins (safe default); 'public'
// needs no token. principalOf(request) tells a handler who is calling (for `by` fields).
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { AuditEntry } from '../influx/points.js';
import type { Logger } from '../log.js';
import type { Role } from '../security/config.js';
import type { Principal, TokenVerifier } from '../security/tokens.js';

export type { Principal } from '../security/tokens.js';
export type { Role } from '../security/config.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; default viewer for GET/HEAD, admin for anything else. */
    role?: Role | 'public';
    /** The action's name in the audit trail; default `METHOD /route/:param`. */
    action?: string;
  }
  interface FastifyRequest {
    /** Set by the auth plugin once the bearer token is verified. */
    principal: Principal | undefined;
  }
}

export interface ApiSecurity {
  /** HYDROWATCH_INSECURE=1: no token needed, every caller is an anonymous admin (still audited). */
  insecure: boolean;
  tokens: TokenVerifier;
  /** GET /metrics without a token. GET /health and /docs never need one. */
  openMetrics: boolean;
  rateLimit: { max: number; windowMs: number };
  bodyLimitBytes: number;
  /** Where audit entries go (the service appends them to the spool → InfluxDB `audit`). */
  audit: (entry: AuditEntry) => Promise<void>;
  log: Logger;
}

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const INSECURE_PRINCIPAL: Principal = Object.freeze({ name: 'anonymous', role: 'admin' });
const PUBLIC_PRINCIPAL: Principal = Object.freeze({ name: 'anonymous', role: 'viewer' });

/** Who is calling: the token's name and role (anonymous on a public route). */
export const principalOf = (request: FastifyRequest): Principal => request.principal ?? PUBLIC_PRINCIPAL;

/** The role a route needs, from its config or the safe default. */
export function requiredRole(route: Pick<RouteOptions, 'method' | 'url' | 'config'>, openMetrics: boolean): Role | 'public' {
  const declared = (route.config as { role?: Role | 'public' } | undefined)?.role;
  if (declared) return declared;
  const methods = [route.method].flat().map((m) => String(m).toUpperCase());
  const reading = methods.every((m) => READ_METHODS.has(m));
  if (reading && (route.url === '/health' || route.url === '/docs' || route.url.startsWith('/docs/') || (openMetrics && route.url === '/metrics'))) return 'public';
  return reading ? 'viewer' : 'admin';
}

function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer +([\x21-\x7e]+) *$/i.exec(header);
  return match?.[1];
}

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
const withHook = (existing: unknown, hook: Hook): Hook[] => [...(existing === undefined ? [] : [existing].flat() as Hook[]), hook];

export function apiSecurity(options: ApiSecurity): FastifyPluginAsync {
  const { tokens, log } = options;

  const unauthorized = (reply: FastifyReply, reason: string, invalid: boolean) =>
    reply
      .code(401)
      .header('www-authenticate', `Bearer realm="hydrowatch"${invalid ? ', error="invalid_token"' : ''}`)
      .send({ error: 'unauthorized', reason });

  const authenticate =
    (needed: Role | 'public', routeUrl: string): Hook =>
    async (request, reply) => {
      if (options.insecure) {
        request.principal = INSECURE_PRINCIPAL;
        return;
      }
      if (needed === 'public') return;
      const header = request.headers.authorization;
      const token = bearerToken(header);
      if (token === undefined) {
        return unauthorized(reply, header ? 'the Authorization header must be "Bearer <token>"' : 'this route needs a bearer token (Authorization: Bearer <token>)', false);
      }
      const principal = await tokens.verify(token);
      if (!principal) return unauthorized(reply, 'the bearer token is not valid', true);
      request.principal = principal;
      if (RANK[principal.role] < RANK[needed]) {
        return reply.code(403).send({ error: 'forbidden', reason: `${principal.name} has role ${principal.role}; ${request.method} ${routeUrl} needs ${needed}` });
      }
    };

  const audit =
    (action: string): Hook =>
    async (request, reply) => {
      // A flood of refused calls is the rate limiter's to count, not the audit trail's.
      if (reply.statusCode === 429) return;
      const principal = request.principal;
      const entry: AuditEntry = {
        action,
        role: principal?.role ?? 'none',
        who: principal?.name ?? (request.headers.authorization ? '(invalid token)' : '(no token)'),
        target: request.url.split('?')[0] ?? request.url,
        ok: reply.statusCode < 400,
        status: reply.statusCode,
        ip: request.ip,
        ts: Date.now(),
      };
      log.info(`audit: ${entry.who} (${entry.role}) ${request.method} ${entry.target} → ${entry.status}`);
      try {
        await options.audit(entry);
      } catch (error) {
        log.error(`audit entry not recorded (${entry.who} ${request.method} ${entry.target}): ${error instanceof Error ? error.message : String(error)}`);
      }
    };

  const plugin: FastifyPluginAsync = async (app: FastifyInstance) => {
    app.decorateRequest('principal', undefined);
    // Registered first, so its hook runs before the token check: guessing tokens is rate-limited too.
    await app.register(rateLimit, {
      global: true,
      max: options.rateLimit.max,
      timeWindow: options.rateLimit.windowMs,
      errorResponseBuilder: (_request, context) =>
        Object.assign(new Error(`more than ${context.max} requests in ${options.rateLimit.windowMs / 1000} s from this address; retry in ${context.after}`), {
          statusCode: context.statusCode,
          code: 'too many requests',
        }),
    });
    app.addHook('onRoute', (route) => {
      const needed = requiredRole(route, options.openMetrics);
      route.onRequest = withHook(route.onRequest, authenticate(needed, route.url)) as RouteOptions['onRequest'];
      const methods = [route.method].flat().map((m) => String(m).toUpperCase());
      if (!methods.every((m) => READ_METHODS.has(m))) {
        const action = (route.config as { action?: string } | undefined)?.action ?? `${methods.join(',')} ${route.url}`;
        route.onResponse = withHook(route.onResponse, audit(action)) as RouteOptions['onResponse'];
      }
    });
  };
  // Like fastify-plugin: the hooks apply to every route of the app, not only inside this plugin.
  (plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
  return plugin;
}
