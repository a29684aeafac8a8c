import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { LifecycleError, Transition } from '../../alerts/lifecycle.js';
import { SEVERITIES } from '../../alerts/rules.js';
import type { AlertRecord } from '../../alerts/types.js';
import { Id } from '../../schema.js';
import type { ApiDeps } from '../app.js';
import { actorOf } from '../actor.js';
import { ApiError } from '../errors.js';

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

export const AlertView = z.object({
  id: z.string(),
  rule: z.string(),
  ruleKind: z.string(),
  site: z.string(),
  asset: z.string(),
  kind: z.string(),
  region: z.string(),
  severity: z.enum(SEVERITIES),
  state: z.enum(['active_unack', 'active_ack', 'cleared_unack', 'cleared']),
  active: z.boolean(),
  acknowledged: z.object({ by: z.string(), note: z.string().nullable(), at: z.string() }).nullable(),
  shelved: z.object({ by: z.string(), reason: z.string(), at: z.string(), until: z.string() }).nullable(),
  message: z.string(),
  value: z.number().nullable(),
  threshold: z.number().nullable(),
  raisedAt: z.string(),
  clearedAt: z.string().nullable(),
  replayed: z.boolean(),
  tier: z.number(),
});
export type AlertView = z.infer<typeof AlertView>;

export function alertView(alert: AlertRecord): AlertView {
  return {
    id: alert.id,
    rule: alert.rule,
    ruleKind: alert.ruleKind,
    site: alert.site,
    asset: alert.asset,
    kind: alert.kind,
    region: alert.region,
    severity: alert.severity,
    state: alert.state,
    active: alert.state === 'active_unack' || alert.state === 'active_ack',
    acknowledged: alert.acknowledged ? { by: alert.acknowledged.by, note: alert.acknowledged.note ?? null, at: iso(alert.acknowledged.at)! } : null,
    shelved: alert.shelved ? { by: alert.shelved.by, reason: alert.shelved.reason, at: iso(alert.shelved.at)!, until: iso(alert.shelved.until)! } : null,
    message: alert.message,
    value: alert.value ?? null,
    threshold: alert.threshold ?? null,
    raisedAt: iso(alert.raisedAt)!,
    clearedAt: iso(alert.clearedAt),
    replayed: alert.replayed,
    tier: alert.tier,
  };
}

const ErrorBody = z.object({ error: z.string(), reason: z.string() });
/** Who acts: optional with a token (its name is used), required in insecure mode. */
const Who = z.string().trim().min(1, 'say who you are').max(128).optional();
const AlertId = z.object({ id: z.string().regex(/^A\d{1,12}$/, 'alert ids look like A123') });

const STATUS: Record<LifecycleError, number> = {
  'ALERT.NOT_OPEN': 409,
  'ALERT.ALREADY_ACKNOWLEDGED': 409,
  'ALERT.NOT_SHELVED': 409,
  'ALERT.ALREADY_SHELVED': 409,
  'ALERT.CLEARED': 409,
};

export const alertRoutes =
  (deps: ApiDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const { alerts } = deps;
    // Lifecycle refusals become 4xx through the app's error handler: {error: code, reason}.
    const answer = (id: string, result: Transition | undefined): AlertView => {
      if (result === undefined) throw new ApiError(404, 'not found', `no alert ${id}`);
      if (!result.ok) throw new ApiError(STATUS[result.error], result.error, result.message);
      return alertView(result.alert);
    };

    app.get(
      '/api/alerts',
      {
        schema: {
          summary: 'Alerts, newest first: state=active (default) lists every open alert (active, or cleared but not yet acknowledged); state=all adds closed ones',
          querystring: z.object({ state: z.enum(['active', 'all']).default('active'), site: Id.optional(), severity: z.enum(SEVERITIES).optional() }),
          response: { 200: z.object({ alerts: z.array(AlertView) }) },
        },
      },
      async (request) => ({ alerts: alerts.list(request.query).map(alertView) }),
    );

    app.get(
      '/api/alerts/kpis',
      {
        schema: {
          summary: 'Alarm-load KPIs after EEMUA 191: alerts per 10 min, floods (>10 in 10 min), chattering, stale (active > 24 h), top offenders',
          querystring: z.object({ hours: z.coerce.number().min(1).max(168).default(24) }),
        },
      },
      async (request) => alerts.kpis(request.query.hours * 3_600_000),
    );

    app.get(
      '/api/alerts/:id',
      { schema: { summary: 'One alert', params: AlertId, response: { 200: AlertView, 404: ErrorBody } } },
      async (request, reply) => {
        const alert = alerts.get(request.params.id);
        if (!alert) return reply.code(404).send({ error: 'not found', reason: `no alert ${request.params.id}` });
        return alertView(alert);
      },
    );

    app.post(
      '/api/alerts/:id/ack',
      {
        config: { role: 'operator' },
        schema: {
          summary: 'Acknowledge: stops escalation; a cleared alert that is acknowledged closes',
          params: AlertId,
          body: z.object({ by: Who, note: z.string().max(500).optional() }),
          response: { 200: AlertView, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (request) => answer(request.params.id, alerts.acknowledge(request.params.id, actorOf(request, request.body.by), request.body.note)),
    );

    app.post(
      '/api/alerts/:id/shelve',
      {
        config: { role: 'operator' },
        schema: {
          summary: 'Shelve for a bounded time with a reason: no notifications until it is unshelved or the time is up',
          params: AlertId,
          body: z.object({ by: Who, minutes: z.number().int().min(1).max(deps.maxShelveMinutes), reason: z.string().trim().min(3, 'give a reason').max(500) }),
          response: { 200: AlertView, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (request) => answer(request.params.id, alerts.shelve(request.params.id, actorOf(request, request.body.by), request.body.minutes, request.body.reason)),
    );

    app.post(
      '/api/alerts/:id/unshelve',
      {
        config: { role: 'operator' },
        schema: {
          summary: 'Lift a shelve before its time',
          params: AlertId,
          body: z.object({ by: Who }).default({}),
          response: { 200: AlertView, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (request) => answer(request.params.id, alerts.unshelve(request.params.id, actorOf(request, request.body.by))),
    );
  };
