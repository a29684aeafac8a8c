// Alerts through the real service: a reading raises an alert, the API acknowledges and shelves
// it, every transition lands in InfluxDB's `alert` measurement, and state survives a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, startTestService, type TestService } from '../helpers/service.js';

const ASSETS = [{ site: 'ps', kind: 'pump', id: 'P-1', region: 'east', station: 'S1', ratedFlow_m3h: 400, role: 'duty' }];

describe('alerts API', () => {
  let t: TestService;
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${t.service.httpUrl}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await response.text();
    expect(text).not.toMatch(/\n\s+at /);
    return { status: response.status, body: JSON.parse(text) as any };
  };
  // The service's state directory outlives one service, as it does across a restart.
  const dataDir = mkdtempSync(join(tmpdir(), 'hw-alerts-api-'));
  beforeAll(async () => {
    t = await startTestService(inject('influxUrl'), { assets: ASSETS, dataDir, influx: { flushIntervalMs: 50 } });
  });
  afterAll(async () => {
    await t.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a pump fault is an alert dispatch can see, acknowledge and shelve; every step is in InfluxDB', async () => {
    const device = await t.publisher();
    const now = Date.now();
    await device.publishAsync('hydrowatch/ps/pump/P-1/telemetry', JSON.stringify({ ts: now - 1000, values: { running: true, flow_m3h: 400, fault_code: 0 } }), { qos: 1 });
    await device.publishAsync('hydrowatch/ps/pump/P-1/telemetry', JSON.stringify({ ts: now, values: { running: false, flow_m3h: 0, fault_code: 31 } }), { qos: 1 });
    const alert = await eventually(async () => {
      const { body } = await api('GET', '/api/alerts?state=active&site=ps');
      expect(body.alerts).toHaveLength(1);
      return body.alerts[0];
    });
    expect(alert).toMatchObject({ rule: 'pump-trip', site: 'ps', asset: 'P-1', severity: 'critical', state: 'active_unack', active: true, value: 31 });
    expect(alert.message).toMatch(/fault code 31/);

    expect((await api('POST', `/api/alerts/${alert.id}/ack`, { by: '' })).status).toBe(400);
    expect((await api('POST', '/api/alerts/A999999/ack', { by: 'Li' })).status).toBe(404);
    expect((await api('POST', '/api/alerts/not-an-id/ack', { by: 'Li' })).status).toBe(400);
    const acked = await api('POST', `/api/alerts/${alert.id}/ack`, { by: 'dispatcher Li', note: 'crew 2 sent' });
    expect(acked).toMatchObject({ status: 200, body: { state: 'active_ack', acknowledged: { by: 'dispatcher Li', note: 'crew 2 sent' } } });
    expect((await api('POST', `/api/alerts/${alert.id}/ack`, { by: 'Li' })).status).toBe(409);

    expect((await api('POST', `/api/alerts/${alert.id}/shelve`, { by: 'Li', minutes: 100_000, reason: 'maintenance' })).status).toBe(400);
    const shelved = await api('POST', `/api/alerts/${alert.id}/shelve`, { by: 'Li', minutes: 60, reason: 'pump isolated for repair' });
    expect(shelved.body.shelved).toMatchObject({ by: 'Li', reason: 'pump isolated for repair' });
    expect((await api('POST', `/api/alerts/${alert.id}/unshelve`, { by: 'Li' })).body.shelved).toBeNull();

    const states = await eventually(async () => {
      const rows = await t.rows(`SELECT "state", "by", "id" FROM "alert" WHERE "asset" = 'P-1'`);
      expect(rows).toHaveLength(4);
      return rows;
    });
    expect(states.map((r) => r.state)).toEqual(['active', 'acknowledged', 'shelved', 'unshelved']);
    expect(states.every((r) => r.id === alert.id)).toBe(true);
    const tags = await t.series(`SELECT count("state") FROM "alert" GROUP BY "site", "asset", "rule", "severity"`);
    expect(tags[0]?.tags).toEqual({ site: 'ps', asset: 'P-1', rule: 'pump-trip', severity: 'critical' });

    const kpis = await api('GET', '/api/alerts/kpis');
    expect(kpis.body).toMatchObject({ alerts: 1, eemuaTargetPerTenMinutes: 1, floods: [] });
  });

  it('heat wave: read, declare by hand with who and why, hand back to the assessment', async () => {
    const before = await api('GET', '/api/heatwave');
    expect(before.body.regions).toEqual([expect.objectContaining({ region: 'east', active: false, source: 'assessment' })]);
    expect((await api('PUT', '/api/heatwave', { active: true, by: 'duty manager' })).status).toBe(400);
    expect((await api('PUT', '/api/heatwave', { region: 'west', active: true, by: 'x', reason: 'forecast' })).status).toBe(404);
    const declared = await api('PUT', '/api/heatwave', { region: 'east', active: true, by: 'duty manager', reason: 'CMA orange warning, 38 °C forecast' });
    expect(declared.body.regions[0]).toMatchObject({ active: true, source: 'manual', declared: { by: 'duty manager', active: true } });
    await eventually(async () => {
      const rows = await t.rows(`SELECT "active", "source", "by" FROM "heatwave" WHERE "region" = 'east'`);
      expect(rows.at(-1)).toMatchObject({ active: true, source: 'manual', by: 'duty manager' });
    });
    expect((await api('GET', '/api/alerts?state=active')).body.alerts.map((a: { rule: string }) => a.rule)).toContain('heatwave');
    const back = await api('PUT', '/api/heatwave', { region: 'east', active: null, by: 'duty manager', reason: 'handing back' });
    expect(back.body.regions[0]).toMatchObject({ active: false, source: 'assessment' });
  });

  it('an open alert survives a restart of the service', async () => {
    const open = (await api('GET', '/api/alerts?state=active&site=ps')).body.alerts;
    expect(open).toHaveLength(1);
    const bucket = t.bucket;
    await t.close();
    t = await startTestService(inject('influxUrl'), { assets: ASSETS, dataDir, influx: { flushIntervalMs: 50 } }, { INFLUX_BUCKET: bucket });
    const after = (await api('GET', '/api/alerts?state=active&site=ps')).body.alerts;
    expect(after).toEqual(open);
  });
});
