// The InfluxDB 2.x/3.x write path on a real server: Debian's VictoriaMetrics takes line protocol on
// /api/v2/write. A small gate in front of it checks what 2.x/3.x check (the token header, org and
// bucket). A reading published to the service reaches it through the spool and the unmodified v2
// client, and the export API shows it stored with its fields, tags and millisecond time.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { startVictoriaMetrics } from '../../src/dev/victoria-metrics.js';
import { InfluxClient, InfluxError } from '../../src/influx/client.js';
import { silentLogger } from '../../src/log.js';
import { eventually, startTestService } from '../helpers/service.js';

const TOKEN = 'hw-token-s3cret';

/** Forwards to `target`; /api/v2/write needs `Authorization: Token TOKEN`, an org and a bucket, like InfluxDB 2.x. */
async function startGate(target: string) {
  const writes: Array<{ path: string; authorization: string | undefined }> = [];
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://gate');
    if (url.pathname === '/api/v2/write') {
      writes.push({ path: request.url ?? '', authorization: request.headers.authorization });
      if (request.headers.authorization !== `Token ${TOKEN}`) return void response.writeHead(401, { 'content-type': 'application/json' }).end('{"code":"unauthorized","message":"unauthorized access"}');
      if (!url.searchParams.get('org') || !url.searchParams.get('bucket')) return void response.writeHead(400).end('{"code":"invalid","message":"org and bucket are required"}');
    }
    const upstream = http.request(new URL(request.url ?? '/', target), { method: request.method, headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    upstream.on('error', () => response.writeHead(502).end());
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, writes, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('v2 write path (InfluxDB 2.x/3.x semantics) on VictoriaMetrics', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  it('stores what the service ingests, sending token, org and bucket', async () => {
    const vm = await startVictoriaMetrics();
    cleanups.push(() => vm.dispose());
    const gate = await startGate(vm.url);
    cleanups.push(() => gate.close());

    // A wrong token is refused, and the error keeps the batch (retryable: the operator can fix it).
    const wrong = new InfluxClient(parseConfig({}, { INFLUX_URL: gate.url, INFLUX_TOKEN: 'nope', INFLUX_ORG: 'water-utility', HYDROWATCH_INSECURE: '1' }).influx, silentLogger);
    const refused = await wrong.write(['meter,site=s,asset=a pressure_bar=1 1752472800000']).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(InfluxError);
    expect(refused).toMatchObject({ status: 401, retryable: true });
    await wrong.close();

    const t = await startTestService(gate.url, { influx: { flushIntervalMs: 20 } }, { INFLUX_TOKEN: TOKEN, INFLUX_ORG: 'water-utility', INFLUX_BUCKET: 'hydrowatch' });
    cleanups.push(() => t.close());
    expect(t.service.influx.state().flavour).toBe('v2');
    const device = await t.publisher();
    const ts = Date.now() - 60_000;
    await device.publishAsync('hydrowatch/s2/pump/P-2/telemetry', JSON.stringify({ ts, seq: 7, values: { running: true, flow_m3h: 410.5, fault_code: 3 } }), { qos: 1 });

    type Exported = { metric: Record<string, string>; values: number[]; timestamps: number[] };
    const exported = async (): Promise<Exported[]> => {
      const text = await (await fetch(`${vm.url}/api/v1/export?match[]=${encodeURIComponent('{__name__=~"pump_.*",asset="P-2"}')}`)).text();
      return text.trim() ? text.trim().split('\n').map((line) => JSON.parse(line) as Exported) : [];
    };
    const byName = await eventually(
      async () => {
        await fetch(`${vm.url}/internal/force_flush`);
        const series = await exported();
        expect(series).toHaveLength(4);
        return Object.fromEntries(series.map((s) => [s.metric.__name__, s]));
      },
      15_000,
      200,
    );
    expect(byName.pump_flow_m3h).toEqual({ metric: { __name__: 'pump_flow_m3h', site: 's2', asset: 'P-2' }, values: [410.5], timestamps: [ts] });
    expect(byName.pump_running).toMatchObject({ values: [1], timestamps: [ts] });
    expect(byName.pump_fault_code).toMatchObject({ values: [3], timestamps: [ts] });
    expect(byName.pump_seq).toMatchObject({ values: [7], timestamps: [ts] });

    const accepted = gate.writes.filter((w) => w.authorization === `Token ${TOKEN}`);
    expect(accepted.length).toBeGreaterThan(0);
    const query = new URL(accepted[0]!.path, 'http://gate').searchParams;
    expect(Object.fromEntries(query)).toEqual({ org: 'water-utility', bucket: 'hydrowatch', precision: 'ms' });
  });
});
