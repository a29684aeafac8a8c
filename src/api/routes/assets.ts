import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AssetView } from '../../live.js';
import { Id, Kind } from '../../schema.js';
import type { ApiDeps } from '../app.js';

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

const AssetSummary = z.object({
  site: z.string(),
  kind: Kind,
  asset: z.string(),
  name: z.string().nullable(),
  registered: z.boolean(),
  online: z.boolean().nullable(),
  lastSeen: z.string().nullable(),
  lastReading: z.string().nullable(),
  seqGaps: z.number(),
  seqDuplicates: z.number(),
});

const Latest = z.object({
  site: z.string(),
  kind: Kind,
  asset: z.string(),
  online: z.boolean().nullable(),
  ts: z.string(),
  seq: z.number().optional(),
  values: z.record(z.string(), z.union([z.number(), z.boolean()])),
});

const ErrorBody = z.object({ error: z.string(), reason: z.string() });

function summary(view: AssetView): z.infer<typeof AssetSummary> {
  return {
    site: view.site,
    kind: view.kind,
    asset: view.asset,
    name: view.name ?? null,
    registered: view.registered,
    online: view.online ?? null,
    lastSeen: iso(view.lastSeenAt),
    lastReading: iso(view.lastReadingAt),
    seqGaps: view.seq.gaps,
    seqDuplicates: view.seq.duplicates,
  };
}

export const assetRoutes =
  (deps: ApiDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/api/assets',
      {
        schema: {
          summary: 'Every asset registered or seen: site, kind, asset, online, last seen',
          querystring: z.object({ site: Id.optional(), kind: Kind.optional() }),
          response: { 200: z.object({ assets: z.array(AssetSummary) }) },
        },
      },
      async (request) => {
        const { site, kind } = request.query;
        const assets = deps.live
          .list()
          .filter((view) => (site === undefined || view.site === site) && (kind === undefined || view.kind === kind));
        return { assets: assets.map(summary) };
      },
    );

    app.get(
      '/api/assets/:site/:asset/latest',
      {
        schema: {
          summary: "An asset's latest values and their time",
          params: z.object({ site: Id, asset: Id }),
          response: { 200: Latest, 404: ErrorBody },
        },
      },
      async (request, reply) => {
        const { site, asset } = request.params;
        const view = deps.live.get(site, asset);
        if (view?.latest === undefined) {
          const reason = view ? `${site}/${asset} has sent no reading yet` : `no asset ${site}/${asset}`;
          return reply.code(404).send({ error: 'not found', reason });
        }
        return {
          site: view.site,
          kind: view.kind,
          asset: view.asset,
          online: view.online ?? null,
          ts: new Date(view.latest.ts).toISOString(),
          ...(view.latest.seq === undefined ? {} : { seq: view.latest.seq }),
          values: view.latest.values,
        };
      },
    );
  };
