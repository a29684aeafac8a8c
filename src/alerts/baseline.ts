// Demand baselines: each district meter's mean flow for each local hour of the day over the last
// 14 days, from InfluxDB, recomputed hourly. An hour needs at least three days of data to count.
import type { InfluxClient } from '../influx/client.js';
import { localHourOf } from './local-hour.js';

const MIN_DAYS = 3;

export class Baselines {
  private readonly values = new Map<string, number>();
  /** The local hour of the day of an epoch ms. */
  readonly hourOf: (ts: number) => number;

  constructor(timezone: string) {
    this.hourOf = localHourOf(timezone);
  }

  get = (site: string, asset: string, field: string, ts: number): number | undefined =>
    this.values.get(`${site}/${asset}/${field}/${this.hourOf(ts)}`);

  /** Replaces the baselines from hourly means: [{site, asset, field, ts, mean}]. */
  load(hourlyMeans: Array<{ site: string; asset: string; field: string; ts: number; mean: number }>): number {
    const sums = new Map<string, { sum: number; days: number }>();
    for (const row of hourlyMeans) {
      const k = `${row.site}/${row.asset}/${row.field}/${this.hourOf(row.ts)}`;
      const entry = sums.get(k) ?? { sum: 0, days: 0 };
      entry.sum += row.mean;
      entry.days += 1;
      sums.set(k, entry);
    }
    this.values.clear();
    for (const [k, { sum, days }] of sums) if (days >= MIN_DAYS) this.values.set(k, sum / days);
    return this.values.size;
  }

  /** Queries the last 14 days of hourly mean flow of every meter and loads them. */
  async refresh(influx: Pick<InfluxClient, 'query'>): Promise<number> {
    const series = await influx.query(
      'SELECT mean("flow_m3h") FROM "meter" WHERE time > now() - 14d AND time < now() - 1h GROUP BY time(1h), "site", "asset" fill(none)',
    );
    const rows = series.flatMap((s) =>
      s.values
        .filter((row) => typeof row[1] === 'number')
        .map((row) => ({ site: s.tags?.site ?? '', asset: s.tags?.asset ?? '', field: 'flow_m3h', ts: Number(row[0]), mean: row[1] as number })),
    );
    return this.load(rows);
  }
}
