// What the bench asks InfluxDB: databases per run, and how many readings of a step arrived.
import { influxQuery } from '../../src/dev/influxd.js';

export async function createDatabase(url: string, db: string): Promise<void> {
  await influxQuery(url, undefined, `CREATE DATABASE "${db}"`);
}

export async function dropDatabase(url: string, db: string): Promise<void> {
  await influxQuery(url, undefined, `DROP DATABASE "${db}"`).catch(() => undefined);
}

const window = (minTs: number, maxTs: number): string => `time >= ${minTs}ms AND time <= ${maxTs}ms`;

/** Readings (points with a seq) stored in the step's time window. */
export async function countReadings(url: string, db: string, minTs: number, maxTs: number): Promise<number> {
  const results = await influxQuery(url, db, `SELECT count("seq") FROM "pump" WHERE ${window(minTs, maxTs)}`);
  const value = results[0]?.series?.[0]?.values?.[0]?.[1];
  return typeof value === 'number' ? value : 0;
}

export interface DeviceCount {
  count: number;
  min: number;
  max: number;
}

/** Per device (asset tag): how many readings of the window are stored, and their lowest and highest seq. */
export async function readingsPerDevice(url: string, db: string, minTs: number, maxTs: number): Promise<Map<string, DeviceCount>> {
  const results = await influxQuery(url, db, `SELECT count("seq"), min("seq"), max("seq") FROM "pump" WHERE ${window(minTs, maxTs)} GROUP BY "asset"`);
  const out = new Map<string, DeviceCount>();
  for (const series of results[0]?.series ?? []) {
    const row = series.values?.[0];
    const asset = series.tags?.asset;
    if (!row || !asset) continue;
    out.set(asset, { count: Number(row[1]), min: Number(row[2]), max: Number(row[3]) });
  }
  return out;
}

export interface ProbePoint {
  /** The point's time: the reading's ts, which the generator set to its send time. */
  ts: number;
  asset: string;
  seq: number;
}

/** Points of the probe devices with a time after `afterTs`. */
export async function probePointsAfter(url: string, db: string, assets: readonly string[], afterTs: number): Promise<ProbePoint[]> {
  const who = assets.map((a) => `"asset" = '${a}'`).join(' OR ');
  const results = await influxQuery(url, db, `SELECT "seq", "asset" FROM "pump" WHERE (${who}) AND time > ${afterTs}ms`);
  const values = results[0]?.series?.[0]?.values ?? [];
  return values.map((row) => ({ ts: Number(row[0]), seq: Number(row[1]), asset: String(row[2]) }));
}
