// GET /api/alerts/stream: a snapshot, then every change as a server-sent event; closing the app
// ends open streams (they would hold app.close() forever) and unsubscribes them from the engine.
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiDeps } from '../../../src/api/app.js';
import { alertStreamRoutes } from '../../../src/api/routes/alert-stream.js';
import { AlertEngine } from '../../../src/alerts/engine.js';
import { DEFAULT_HEATWAVE } from '../../../src/alerts/heatwave.js';
import { Rule } from '../../../src/alerts/rules.js';
import { silentLogger } from '../../../src/log.js';

const now = { t: Date.parse('2026-07-14T06:00:00Z') };

function alertEngine() {
  return new AlertEngine({
    rules: [Rule.parse({ id: 'pump-trip', kind: 'pump_trip', severity: 'critical', scope: { kind: 'pump' } })],
    assets: [{ site: 'plant1', kind: 'pump', id: 'P-01', region: 'north', station: 'S1', ratedFlow_m3h: 400, role: 'duty' }],
    clock: { now: () => now.t },
    log: silentLogger,
    write: () => undefined,
    heatwave: DEFAULT_HEATWAVE,
  });
}

/** Reads server-sent events from a fetch body, one at a time. */
function eventReader(body: ReadableStream<Uint8Array>) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  return async (): Promise<{ event: string; data: any } | 'end'> => {
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (block.startsWith(':')) continue;
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        return { event, data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!) };
      }
      const { value, done } = await reader.read();
      if (done) return 'end';
      buffer += value;
    }
  };
}

describe('alert stream', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('sends a snapshot, then raised, acknowledged and heat-wave changes; app.close() ends it', async () => {
    const alerts = alertEngine();
    app = Fastify();
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    await app.register(alertStreamRoutes({ alerts, maxShelveMinutes: 120 } as ApiDeps));
    const url = await app.listen({ port: 0, host: '127.0.0.1' });

    const response = await fetch(`${url}/api/alerts/stream`);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const next = eventReader(response.body!);
    expect(await next()).toEqual({ event: 'snapshot', data: { alerts: [], maxShelveMinutes: 120 } });

    alerts.onReading({ site: 'plant1', kind: 'pump', asset: 'P-01', ts: now.t, values: { running: true, fault_code: 0 } }, now.t);
    alerts.onReading({ site: 'plant1', kind: 'pump', asset: 'P-01', ts: now.t + 1000, values: { running: false, fault_code: 31 } }, now.t + 1000);
    const raised = await next();
    expect(raised).toMatchObject({ event: 'alert', data: { kind: 'raised', alert: { rule: 'pump-trip', asset: 'P-01', state: 'active_unack', raisedAt: new Date(now.t + 1000).toISOString() } } });
    const id = (raised as { data: { alert: { id: string } } }).data.alert.id;
    alerts.acknowledge(id, 'dispatcher Li', 'crew 2 sent');
    expect(await next()).toMatchObject({ event: 'alert', data: { kind: 'acknowledged', alert: { id, state: 'active_ack', acknowledged: { by: 'dispatcher Li', note: 'crew 2 sent' } } } });
    alerts.setHeatwave('north', true, 'duty manager', 'CMA orange warning');
    expect(await next()).toEqual({ event: 'heatwave', data: { region: 'north' } });
    expect(await next()).toMatchObject({ event: 'alert', data: { kind: 'raised', alert: { rule: 'heatwave', asset: 'north' } } });

    const closed = app.close();
    expect(await next()).toBe('end');
    await closed;
    app = undefined;
    // Unsubscribed: a change after the close reaches nobody (and throws nowhere).
    expect(() => alerts.setHeatwave('north', null, 'duty manager', 'handing back')).not.toThrow();
  });

  it('unsubscribes a client that goes away', async () => {
    const alerts = alertEngine();
    let listeners = 0;
    const onChange = alerts.onChange.bind(alerts);
    alerts.onChange = (listener) => {
      listeners += 1;
      const off = onChange(listener);
      return () => {
        listeners -= 1;
        return off();
      };
    };
    // fetch() opens a spare connection after the abort that would hold app.close() until its headers timeout.
    app = Fastify({ forceCloseConnections: true });
    await app.register(alertStreamRoutes({ alerts, maxShelveMinutes: 120 } as ApiDeps));
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const controller = new AbortController();
    const response = await fetch(`${url}/api/alerts/stream`, { signal: controller.signal });
    await eventReader(response.body!)();
    expect(listeners).toBe(1);
    controller.abort();
    await expect.poll(() => listeners).toBe(0);
  });
});
