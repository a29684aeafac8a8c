// Proves the influxd launcher against the real Debian InfluxDB 1.6 server.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { influxQuery, startInfluxd, type LocalInfluxd } from '../../src/dev/influxd.js';

async function write(url: string, db: string, lines: string): Promise<void> {
  const res = await fetch(`${url}/write?db=${encodeURIComponent(db)}&precision=ms`, { method: 'POST', body: lines });
  expect(res.status, await res.text()).toBe(204);
}

async function pingStatus(url: string): Promise<number | 'refused'> {
  try {
    const res = await fetch(`${url}/ping`);
    return res.status;
  } catch {
    return 'refused';
  }
}

describe('shared influxd from global setup', () => {
  it('writes a point and reads it back', async () => {
    const url = inject('influxUrl');
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const db = `t_shared_${process.pid}`;
    await influxQuery(url, undefined, `CREATE DATABASE "${db}"`);
    const ts = Date.UTC(2024, 4, 1, 12, 0, 0, 123);
    await write(url, db, `pressure,site=pump_7 value=3.25,fault_code=0i ${ts}`);
    const [result] = await influxQuery(url, db, 'SELECT value, fault_code, site FROM pressure');
    expect(result?.series?.[0]?.columns).toEqual(['time', 'value', 'fault_code', 'site']);
    expect(result?.series?.[0]?.values).toEqual([[ts, 3.25, 0, 'pump_7']]);
    await influxQuery(url, undefined, `DROP DATABASE "${db}"`);
  });

  it('influxQuery throws on a statement error', async () => {
    await expect(influxQuery(inject('influxUrl'), 'no_such_db', 'SELECT * FROM nothing')).rejects.toThrow(/database not found/);
  });
});

describe('startInfluxd', () => {
  const started: LocalInfluxd[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(started.map((s) => s.dispose()));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('restart() keeps the port and the data; stop() is idempotent', async () => {
    const influx = await startInfluxd();
    started.push(influx);
    const { port, url } = influx;
    const firstPid = influx.pid;
    expect(firstPid).toBeTypeOf('number');
    await influxQuery(url, undefined, 'CREATE DATABASE x');
    await write(url, 'x', 'flow,meter=m1 value=12.5 1700000000000\nflow,meter=m1 value=13 1700000060000');

    await influx.stop();
    expect(influx.pid).toBeUndefined();
    expect(await pingStatus(url)).toBe('refused');
    await influx.stop(); // second stop is a no-op

    await influx.restart();
    expect(influx.port).toBe(port);
    expect(influx.url).toBe(url);
    expect(influx.pid).toBeTypeOf('number');
    expect(influx.pid).not.toBe(firstPid);
    expect(await pingStatus(url)).toBe(204);
    const [result] = await influxQuery(url, 'x', 'SELECT value FROM flow');
    expect(result?.series?.[0]?.values).toEqual([
      [1700000000000, 12.5],
      [1700000060000, 13],
    ]);

    await influx.restart(); // restart while running stops first
    expect(influx.port).toBe(port);
    expect(await pingStatus(url)).toBe(204);
  });

  it('reuses a given dataDir across launches and honours a given port', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hydrowatch-test-influx-'));
    dirs.push(dataDir);
    const first = await startInfluxd({ dataDir });
    started.push(first);
    await influxQuery(first.url, undefined, 'CREATE DATABASE kept');
    await write(first.url, 'kept', 'level,tank=t1 value=4.5 1700000000000');
    await first.stop();

    const second = await startInfluxd({ dataDir, port: first.port });
    started.push(second);
    expect(second.url).toBe(first.url);
    expect(second.dataDir).toBe(dataDir);
    const [result] = await influxQuery(second.url, 'kept', 'SELECT value FROM level');
    expect(result?.series?.[0]?.values).toEqual([[1700000000000, 4.5]]);
  });

  it('refuses a port that is already taken', async () => {
    // The shared server holds this port; its /ping must not be mistaken for ours.
    const shared = new URL(inject('influxUrl'));
    await expect(startInfluxd({ port: Number(shared.port), startTimeoutMs: 5_000 })).rejects.toThrow(/already in use/);
  });

  it('reports the log tail when influxd dies during startup', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hydrowatch-test-influx-'));
    dirs.push(dataDir);
    await writeFile(path.join(dataDir, 'meta'), 'not a directory'); // influxd cannot create its meta dir
    await expect(startInfluxd({ dataDir, startTimeoutMs: 5_000 })).rejects.toThrow(/exited during startup[\s\S]*log tail[\s\S]*meta/);
  });
});
