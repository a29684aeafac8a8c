// The HTTP API (fastify). buildApp() creates it without listening; the service listens.
// Schemas are zod (fastify-type-provider-zod), OpenAPI is served at /docs.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { hasZodFastifySchemaValidationErrors, jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { LiveState } from '../live.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { AlertEngine } from '../alerts/engine.js';
import { alertRoutes } from './routes/alerts.js';
import { alertStreamRoutes } from './routes/alert-stream.js';
import { assetRoutes } from './routes/assets.js';
import { consoleRoutes } from './routes/console.js';
import { heatwaveRoutes } from './routes/heatwave.js';
import { healthRoutes, type HealthReport } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import type { TlsOptions } from 'node:tls';
import { apiSecurity, type ApiSecurity } from './auth.js';

export interface ApiDeps {
  /** Tokens and roles, rate and body limits, audit (src/api/auth.ts). */
  security: ApiSecurity;
  /** Serve HTTPS with these (PEM) options. */
  https?: TlsOptions | undefined;
  live: LiveState;
  metrics: Metrics;
  health: () => HealthReport;
  log: Logger;
  alerts: AlertEngine;
  maxShelveMinutes: number;
}

export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    ...(deps.https ? { https: deps.https } : {}),
    bodyLimit: deps.security.bodyLimitBytes,
    // A malformed URL is answered before routing and the error handler: same short JSON shape.
    frameworkErrors: (error: FastifyError, _request: unknown, reply: FastifyReply) =>
      reply.code(error.statusCode ?? 400).send({ error: 'bad request', reason: error.message }),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  // Every error is a short JSON reason; a stack trace never reaches the client.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const first = error.validation[0];
      const where = first ? `${error.validationContext ?? 'request'}${first.instancePath || ''}` : 'request';
      return reply.code(400).send({ error: 'bad request', reason: `${where}: ${first?.message ?? 'invalid'}` });
    }
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      deps.log.error(`${request.method} ${request.url}: ${error.message}`);
      return reply.code(500).send({ error: 'internal error', reason: 'the server could not answer; see its log' });
    }
    return reply.code(status).send({ error: error.code ?? 'error', reason: error.message });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'not found', reason: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );

  // Before any route: rate limit, bearer token → role per route, audit of mutating calls.
  await app.register(apiSecurity(deps.security));

  await app.register(swagger, {
    openapi: {
      info: { title: 'hydrowatch API', version: '1', description: 'Telemetry for water-supply networks' },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register(healthRoutes(deps));
  await app.register(metricsRoutes(deps));
  await app.register(assetRoutes(deps));
  await app.register(alertRoutes(deps));
  await app.register(heatwaveRoutes(deps));
  await app.register(alertStreamRoutes(deps));
  await app.register(consoleRoutes(deps));
  return app;
}
