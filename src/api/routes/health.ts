import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../app.js';

export const HealthReport = z.object({
  status: z.enum(['ok', 'degraded']),
  broker: z.object({
    mode: z.enum(['embedded', 'external']),
    connected: z.boolean(),
    url: z.string().optional(),
    port: z.number().optional(),
    clients: z.number().optional(),
  }),
  influx: z.object({
    url: z.string(),
    reachable: z.boolean(),
    flavour: z.string().optional(),
    version: z.string().optional(),
    lastError: z.string().optional(),
    lastWriteAt: z.string().optional(),
  }),
  /** In a cluster (src/cluster/): this node, its role, and which node leads the alerts. */
  cluster: z.object({ name: z.string(), node: z.string(), role: z.enum(['leader', 'follower']), leader: z.string().optional() }).optional(),
  spool: z.object({
    depth: z.number(),
    limit: z.number(),
    acknowledging: z.boolean(),
    /** Disk taken by the spool's segment files, and its bound. */
    bytes: z.number().optional(),
    maxBytes: z.number().optional(),
    /** Why the spool cannot write to disk, while it cannot. */
    lastError: z.string().optional(),
  }),
});
export type HealthReport = z.infer<typeof HealthReport>;

export const healthRoutes =
  (deps: ApiDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/health',
      {
        schema: {
          summary: 'Broker, InfluxDB and spool state; 503 while InfluxDB is unreachable or the spool is full',
          response: { 200: HealthReport, 503: HealthReport },
        },
      },
      async (_request, reply) => {
        const report = deps.health();
        return reply.code(report.status === 'ok' ? 200 : 503).send(report);
      },
    );
  };
