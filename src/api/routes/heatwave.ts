import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { HeatwaveView } from '../../alerts/heatwave.js';
import { actorOf } from '../actor.js';
import type { ApiDeps } from '../app.js';

const RegionState = z.object({
  region: z.string(),
  active: z.boolean(),
  level: z.enum(['yellow', 'orange', 'red']).nullable(),
  hotDays: z.number(),
  tmax_c: z.number().nullable(),
  todayMax_c: z.number().nullable(),
  source: z.enum(['assessment', 'manual']),
  declared: z.object({ active: z.boolean(), by: z.string(), reason: z.string(), at: z.string() }).nullable(),
});

function view(state: HeatwaveView): z.infer<typeof RegionState> {
  return {
    region: state.region,
    active: state.active,
    level: state.level ?? null,
    hotDays: state.hot_days,
    tmax_c: state.tmax_c ?? null,
    todayMax_c: state.todayMax_c ?? null,
    source: state.source,
    declared: state.manual ? { ...state.manual, at: new Date(state.manual.at).toISOString() } : null,
  };
}

export const heatwaveRoutes =
  (deps: ApiDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/api/heatwave',
      {
        schema: {
          summary: 'Heat-wave state per region: hot days (Tmax ≥ 35 °C), CMA level, and whether dispatch declared or ended it by hand',
          response: { 200: z.object({ regions: z.array(RegionState) }) },
        },
      },
      async () => ({ regions: deps.alerts.heatwaveStates().map(view) }),
    );

    app.put(
      '/api/heatwave',
      {
        config: { role: 'operator' },
        schema: {
          summary: 'Declare (active: true) or end (active: false) a heat wave by hand, or hand it back to the daily assessment (active: null)',
          body: z.object({
            region: z.string().min(1).max(64).optional(),
            active: z.boolean().nullable(),
            by: z.string().trim().min(1, 'say who you are').max(128).optional(),
            reason: z.string().trim().min(3, 'give a reason').max(500),
          }),
          response: { 200: z.object({ regions: z.array(RegionState) }), 404: z.object({ error: z.string(), reason: z.string() }) },
        },
      },
      async (request, reply) => {
        const known = deps.alerts.regions();
        const regions = request.body.region ? [request.body.region] : known;
        const unknown = regions.find((r) => !known.includes(r));
        if (unknown !== undefined) return reply.code(404).send({ error: 'not found', reason: `no region ${unknown}; known: ${known.join(', ')}` });
        return { regions: regions.map((region) => view(deps.alerts.setHeatwave(region, request.body.active, actorOf(request, request.body.by), request.body.reason))) };
      },
    );
  };
