// Horizontal ingest for real: two `hydrowatch start` ingestors share one MQTT 5 subscription
// ($share) on Debian's Mosquitto, with Redis electing the alert leader. The leader is killed with
// SIGKILL while an alert is active: the other ingestor takes the whole load (the dead one's queued
// share included) and the alerts, and when the dead one's supervisor restarts it, it rejoins.
// InfluxDB ends with every seq exactly once and each alert raised exactly once.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { influxQuery } from '../../src/dev/influxd.js';
import { startMosquitto } from '../../src/dev/mosquitto.js';
import { freePort } from '../../src/dev/ports.js';
import { startRedis } from '../../src/dev/redis.js';
import { type HydrowatchProcess, startHydrowatch, StreamingDevice } from '../helpers/hydrowatch-process.js';
import { eventually } from '../helpers/service.js';

const TOTAL = 1400;
// Pressure above the 8 bar limit for two stretches: two alert episodes.
const HIGH = (seq: number) => (seq > 150 && seq <= 500) || (seq > 1000 && seq <= 1150);
const CONFIG = `
assets:
  - { site: c1, kind: meter, id: M-1, region: north }
alerts:
  rules:
    - { id: pressure-high, kind: threshold, severity: high, scope: { kind: meter }, field: pressure_bar, above: 8, deadband: 1 }
`;

interface Health {
  cluster?: { role: string; node: string; leader?: string };
}

describe('two ingestors on a shared subscription', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  it('store every reading once and raise every alert once through a kill -9 of the leader', async () => {
    const influxUrl = inject('influxUrl');
    const [mosquitto, redis] = await Promise.all([startMosquitto(), startRedis()]);
    cleanups.push(() => mosquitto.dispose(), () => redis.dispose());
    const scratch = await mkdtemp(path.join(os.tmpdir(), 'hydrowatch-shared-'));
    cleanups.push(() => rm(scratch, { recursive: true, force: true }));
    await writeFile(path.join(scratch, 'hydrowatch.yaml'), CONFIG);
    const bucket = `shared_${Date.now()}_${process.pid}`;
    const envFor = async (name: string) => ({
      MQTT_URL: mosquitto.url,
      MQTT_SHARE_GROUP: 'ingest',
      MQTT_CLIENT_ID: `ingest-${name}-${process.pid}`,
      HYDROWATCH_REDIS_URL: redis.url,
      HYDROWATCH_CLUSTER: `t${process.pid}`,
      HYDROWATCH_CLUSTER_LEASE_MS: '1500',
      HYDROWATCH_CONFIG: path.join(scratch, 'hydrowatch.yaml'),
      HYDROWATCH_DATA: path.join(scratch, name),
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(await freePort()),
      INFLUX_URL: influxUrl,
      INFLUX_BUCKET: bucket,
    });
    const envs = { a: await envFor('a'), b: await envFor('b') };
    const procs: Record<'a' | 'b', HydrowatchProcess | undefined> = { a: undefined, b: undefined };
    cleanups.push(async () => Promise.all([procs.a?.kill9(), procs.b?.kill9()]));
    procs.a = await startHydrowatch(envs.a);
    procs.b = await startHydrowatch(envs.b);
    const get = async (name: 'a' | 'b', route: string) => fetch(`http://127.0.0.1:${envs[name].HTTP_PORT}${route}`);
    const health = async (name: 'a' | 'b') => (await (await get(name, '/health')).json()) as Health;
    const accepted = async (name: 'a' | 'b') => Number(/hydrowatch_readings_accepted_total\{kind="meter"\} (\d+)/.exec(await (await get(name, '/metrics')).text())?.[1] ?? 0);
    const leaderName = await eventually(async () => {
      const roles = { a: (await health('a')).cluster?.role, b: (await health('b')).cluster?.role };
      expect(Object.values(roles).sort()).toEqual(['follower', 'leader']);
      return roles.a === 'leader' ? 'a' : 'b';
    }, 10_000);
    const followerName = leaderName === 'a' ? 'b' : 'a';

    // What operators and other systems see of the alerts: the retained alert topics.
    const watcher = await mqtt.connectAsync(mosquitto.url, { clientId: `watcher-${process.pid}` });
    cleanups.push(() => watcher.endAsync(true));
    const raised: string[] = [];
    watcher.on('message', (_topic, payload) => {
      if (payload.length === 0) return;
      const body = JSON.parse(payload.toString()) as { kind: string; alert: { id: string } };
      if (body.kind === 'raised') raised.push(body.alert.id);
    });
    await watcher.subscribeAsync('hydrowatch/alerts/#', { qos: 1 });

    const T0 = Date.now() - 60_000;
    const device = new StreamingDevice(mosquitto.url, `shared-device-${process.pid}`, 'hydrowatch/c1/meter/M-1/telemetry', (seq) =>
      JSON.stringify({ ts: T0 + seq * 10, seq, values: { pressure_bar: HIGH(seq) ? 9.5 : 3 } }),
    );
    cleanups.push(() => device.close());
    // Phase 1 (until the survivor carries everything), then phase 2 once the dead one is back.
    const PHASE_1 = 900;
    const streaming = device.stream(1, PHASE_1, { pauseMs: 1 });

    // Both ingestors take a share; the first alert is raised; then the leader dies.
    await device.ackedAtLeast(350);
    await eventually(async () => expect(raised.length).toBe(1), 10_000);
    expect(await accepted('a')).toBeGreaterThan(0);
    expect(await accepted('b')).toBeGreaterThan(0);
    await procs[leaderName]!.kill9();
    const ackedAtKill = device.acked.size;

    // The survivor leads now, and stores everything sent after the kill (the dead one's queued share too).
    await eventually(async () => expect((await health(followerName)).cluster?.role).toBe('leader'), 10_000);
    await device.ackedAtLeast(800);
    const stored = async () => {
      const series = (await influxQuery(influxUrl, bucket, `SELECT "seq" FROM "meter" WHERE "asset" = 'M-1'`))[0]?.series?.[0];
      return (series?.values ?? []).map((row) => row[series!.columns.indexOf('seq')] as number).sort((x, y) => x - y);
    };
    await eventually(
      async () => {
        const have = new Set(await stored());
        const missing = Array.from({ length: 800 - ackedAtKill - 20 }, (_, i) => ackedAtKill + 21 + i).filter((seq) => !have.has(seq));
        expect(missing).toEqual([]);
      },
      20_000,
      200,
    );

    // The supervisor restarts the killed ingestor; it rejoins as a follower and takes a share again.
    await streaming;
    procs[leaderName] = await startHydrowatch(envs[leaderName]);
    await eventually(async () => expect((await health(leaderName)).cluster?.role).toBe('follower'), 10_000);
    await device.stream(PHASE_1 + 1, TOTAL, { pauseMs: 1 });
    await device.ackedAtLeast(TOTAL);
    expect(device.errors).toEqual([]);

    await eventually(async () => expect(await stored()).toHaveLength(TOTAL), 30_000, 200);
    expect(await stored()).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
    expect(await accepted(leaderName)).toBeGreaterThan(0);
    // How: the survivor took over the alert state and the alert session, and emptied the dead one's session.
    const survivorLog = procs[followerName]!.output();
    expect(survivorLog).toMatch(/is the alert leader \(alert state taken over from Redis\)/);
    expect(survivorLog).toMatch(/alert feed connected as hydrowatch-alerts-\S+ \(session resumed\)/);
    expect(survivorLog).toMatch(new RegExp(`took over the session of silent ingestor ${envs[leaderName].MQTT_CLIENT_ID} \\((\\d+) queued`));

    // Two episodes: raised twice and cleared twice, never more, whoever evaluated.
    const alertStates = async () =>
      ((await influxQuery(influxUrl, bucket, `SELECT "state", "id" FROM "alert" WHERE "rule" = 'pressure-high' AND "asset" = 'M-1'`))[0]?.series?.[0]?.values ?? []).map((row) => row[1] as string);
    await eventually(async () => expect((await alertStates()).filter((s) => s === 'cleared')).toHaveLength(2), 20_000, 200);
    expect((await alertStates()).filter((s) => s === 'active')).toHaveLength(2);
    expect(new Set(raised).size).toBe(2);

    // A follower answers reads from the leader's state, and sends alert actions to the leader.
    await eventually(async () => expect(await (await get(leaderName, '/api/alerts?state=all')).text()).toMatch(/pressure-high/), 5000);
    const ack = await fetch(`http://127.0.0.1:${envs[leaderName].HTTP_PORT}/api/alerts/A1/ack`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"by":"test"}' });
    expect(ack.status).toBe(503);
    expect(await ack.json()).toMatchObject({ error: 'not the alert leader' });

    expect(await procs.a!.stop()).toBe(0);
    expect(await procs.b!.stop()).toBe(0);
    procs.a = procs.b = undefined;
  }, 80_000);
});
