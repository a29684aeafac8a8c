// Live alert changes as server-sent events, for the console. The stream opens with a snapshot of
// every open alert, then sends each change as it happens:
//
//   event: snapshot   data: {"alerts": [AlertView…], "maxShelveMinutes": 480}
//   event: alert      data: {"kind": "raised|acknowledged|…", "alert": AlertView}
//   event: heatwave   data: {"region": "north"}          (read GET /api/heatwave again)
//
// It needs a viewer token in the Authorization header like every GET, so browsers read it with
// fetch() and a stream reader rather than EventSource (which cannot send a header), and the token
// never goes into a URL.
import { PassThrough } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AlertChange } from '../../alerts/engine.js';
import type { ApiDeps } from '../app.js';
import { alertView } from './alerts.js';

/** A comment line this often keeps proxies from closing an idle stream and lets clients notice a dead one. */
const KEEPALIVE_MS = 15_000;
/** A client this far behind is cut off; it reconnects and starts again from a fresh snapshot. */
const MAX_BUFFERED_BYTES = 1_048_576;

export const alertStreamRoutes =
  (deps: ApiDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const open = new Set<() => void>();
    // Open streams would hold app.close() forever: end them first.
    app.addHook('preClose', async () => {
      for (const stop of [...open]) stop();
    });

    app.get(
      '/api/alerts/stream',
      {
        config: { role: 'viewer' },
        // A HEAD would subscribe and never end.
        exposeHeadRoute: false,
        // Not in /docs: a response that never ends stalls generic OpenAPI clients (and the API fuzz
        // test). Documented in the README (Alarm console).
        schema: { hide: true },
      },
      async (_request, reply) => {
        const stream = new PassThrough();
        const send = (event: string, data: unknown): void => {
          if (stream.writableLength > MAX_BUFFERED_BYTES) return stop();
          stream.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
        };
        const unsubscribe = deps.alerts.onChange((change: AlertChange) => {
          if (change.kind === 'heatwave') send('heatwave', { region: change.region });
          else send('alert', { kind: change.kind, alert: alertView(change.alert) });
        });
        const keepalive = setInterval(() => stream.write(': keep-alive\n\n'), KEEPALIVE_MS);
        keepalive.unref();
        const stop = (): void => {
          if (!open.delete(stop)) return;
          clearInterval(keepalive);
          unsubscribe();
          stream.end();
        };
        open.add(stop);
        reply.raw.once('close', stop);
        send('snapshot', { alerts: deps.alerts.list({ state: 'active' }).map(alertView), maxShelveMinutes: deps.maxShelveMinutes });
        return reply
          .header('content-type', 'text/event-stream; charset=utf-8')
          .header('cache-control', 'no-store')
          .header('x-accel-buffering', 'no')
          .send(stream);
      },
    );
  };
