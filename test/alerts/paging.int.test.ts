// The whole paging path in the real service: a reading raises an alert, Debian's Alertmanager
// routes it to a receiver, the on-call crew's webhook is paged, the next tier is paged when nobody
// acknowledges, and an acknowledgement through the API stops the escalation.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type LocalAlertmanager, startAlertmanager } from '../../src/dev/alertmanager.js';
import { eventually, startTestService, type TestService } from '../helpers/service.js';

interface Hit {
  path: string;
  body: any;
}

async function receiver(): Promise<{ url: string; hits: Hit[]; server: Server }> {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      hits.push({ path: req.url ?? '', body: raw ? JSON.parse(raw) : undefined });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, hits, server };
}

describe('paging through the running service', () => {
  let hook: Awaited<ReturnType<typeof receiver>>;
  let am: LocalAlertmanager;
  let t: TestService;

  beforeAll(async () => {
    hook = await receiver();
    am = await startAlertmanager({
      config: ['route:', '  receiver: test', '  group_wait: 0s', '  group_interval: 1s', '  repeat_interval: 1h', 'receivers:', '  - name: test', '    webhook_configs:', `      - url: ${hook.url}/alertmanager`, '        send_resolved: true', ''].join('\n'),
    });
    const allDay = [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], from: '00:00', to: '24:00' }];
    t = await startTestService(
      inject('influxUrl'),
      {
        assets: [{ site: 'ps', kind: 'pump', id: 'P-1', region: 'east', station: 'S1', ratedFlow_m3h: 400, role: 'duty' }],
        alerts: {
          rules: [{ id: 'pump-trip', kind: 'pump_trip', severity: 'critical', scope: { kind: 'pump' }, escalateAfter: '4s', message: 'pump tripped' }],
          roster: {
            timezone: 'Asia/Shanghai',
            crews: [
              { name: 'pump mechanics', tier: 0, covers: { sites: ['ps'] }, shifts: allDay, contacts: { webhook: `${hook.url}/crew/mechanics` } },
              { name: 'standby 24h', tier: 1, covers: { sites: ['*'] }, shifts: allDay, contacts: { webhook: `${hook.url}/crew/standby` } },
              { name: 'duty manager', tier: 2, covers: { sites: ['*'] }, shifts: allDay, contacts: { webhook: `${hook.url}/crew/duty-manager` } },
            ],
          },
        },
      },
      { ALERTMANAGER_URL: am.url },
    );
  });
  afterAll(async () => {
    await t?.close();
    await am?.dispose();
    hook?.server.close();
  });

  it('pages the crew on shift and Alertmanager, escalates to the standby, and stops once acknowledged', async () => {
    const device = await t.publisher();
    await device.publishAsync('hydrowatch/ps/pump/P-1/telemetry', JSON.stringify({ ts: Date.now(), values: { running: true, fault_code: 7 } }), { qos: 1 });

    const fromAm = await eventually(() => {
      const hit = hook.hits.find((h) => h.path === '/alertmanager' && h.body.status === 'firing');
      expect(hit).toBeDefined();
      return hit!.body;
    }, 15_000);
    expect(fromAm.alerts[0].labels).toMatchObject({ alertname: 'pump-trip', site: 'ps', asset: 'P-1', severity: 'critical' });
    await eventually(() => expect(hook.hits.some((h) => h.path === '/crew/mechanics')).toBe(true));

    // Nobody acknowledges: the 24-hour standby crew is paged next (the timer checks every 5 s).
    const escalated = await eventually(() => {
      const hit = hook.hits.find((h) => h.path === '/crew/standby');
      expect(hit).toBeDefined();
      return hit!.body;
    }, 15_000);
    expect(JSON.stringify(escalated)).toMatch(/escalated/);

    const { alerts } = (await (await fetch(`${t.service.httpUrl}/api/alerts`)).json()) as { alerts: Array<{ id: string; tier: number }> };
    expect(alerts[0]!.tier).toBe(1);
    const ack = await fetch(`${t.service.httpUrl}/api/alerts/${alerts[0]!.id}/ack`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'standby crew lead' }),
    });
    expect(ack.status).toBe(200);
    const pagesAfterAck = hook.hits.filter((h) => h.path.startsWith('/crew/') && JSON.stringify(h.body).includes('"escalated"')).length;
    await new Promise((resolve) => setTimeout(resolve, 7000)); // more than one timer period past the next escalation time
    expect(hook.hits.filter((h) => h.path.startsWith('/crew/') && JSON.stringify(h.body).includes('"escalated"')).length).toBe(pagesAfterAck);
    expect(((await (await fetch(`${t.service.httpUrl}/api/alerts/${alerts[0]!.id}`)).json()) as { tier: number }).tier).toBe(1);
    expect(hook.hits.some((h) => h.path === '/crew/duty-manager')).toBe(false); // tier 2 was due by now, had nobody acknowledged
  });
});
