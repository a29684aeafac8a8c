// Retention and downsampling against the real InfluxDB 1.x: the policies and continuous queries
// exist after connect (and again, unchanged, after a second one), and the continuous query's
// statement, run by hand for one minute, writes that minute's means with each field's type kept.
import { randomBytes } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { InfluxClient } from '../../src/influx/client.js';
import { readingLine } from '../../src/influx/points.js';
import { DOWNSAMPLED_RP, downsampleSelect } from '../../src/influx/retention.js';
import { silentLogger } from '../../src/log.js';

describe('retention and downsampling on InfluxDB 1.x', () => {
  it('keeps raw points 30 days and 1-minute means 2 years, through continuous queries', async () => {
    const bucket = `retention_${randomBytes(4).toString('hex')}`;
    const config = parseConfig({}, { INFLUX_URL: inject('influxUrl'), INFLUX_BUCKET: bucket, INFLUX_RAW_RETENTION: '30d', INFLUX_DOWNSAMPLED_RETENTION: '104w', HYDROWATCH_INSECURE: '1' });
    const influx = new InfluxClient(config.influx, silentLogger);
    try {
      await influx.connect();
      const policies = async () => (await influx.query(`SHOW RETENTION POLICIES ON "${bucket}"`))[0]!.values.map((row) => ({ name: row[0], duration: row[1], default: row[4] }));
      const queries = async () => ((await influx.query('SHOW CONTINUOUS QUERIES')).find((s) => s.name === bucket)?.values ?? []).map((row) => [row[0], row[1]] as [string, string]);
      expect(await policies()).toEqual([
        { name: 'autogen', duration: '720h0m0s', default: true },
        { name: DOWNSAMPLED_RP, duration: '17472h0m0s', default: false },
      ]);
      const cqs = await queries();
      expect(cqs.map(([name]) => name).sort()).toEqual(['hydrowatch_1m_canal', 'hydrowatch_1m_meter', 'hydrowatch_1m_pump', 'hydrowatch_1m_reservoir', 'hydrowatch_1m_weather']);
      expect(cqs.find(([name]) => name === 'hydrowatch_1m_pump')![1]).toMatch(/RESAMPLE EVERY 1m FOR 2m BEGIN SELECT last\(running\) AS running, mean\(flow_m3h\) AS flow_m3h, .*max\(fault_code\) AS fault_code INTO \S+\.hydrowatch_1m\.pump FROM \S+\.autogen\.pump GROUP BY time\(1m\), \* END/);

      // Idempotent: a second start (a new client) changes nothing.
      const again = new InfluxClient(config.influx, silentLogger);
      await again.connect();
      await again.close();
      expect(await policies()).toHaveLength(2);
      expect(await queries()).toEqual(cqs);

      // Three readings in one minute, run the continuous query's statement for that minute.
      const minute = Math.floor((Date.now() - 5 * 60_000) / 60_000) * 60_000;
      const reading = (offsetS: number, flow: number, running: boolean, fault: number) =>
        readingLine({ site: 's1', kind: 'pump', asset: 'P-1', ts: minute + offsetS * 1000, values: { flow_m3h: flow, running, fault_code: fault } });
      await influx.write([reading(0, 100, true, 0), reading(20, 200, true, 2), reading(40, 330, false, 0)]);
      await influx.query(downsampleSelect('pump', { db: bucket, rawRp: 'autogen' }, `time >= ${minute}ms AND time < ${minute + 60_000}ms`));
      const means = await influx.query(`SELECT * FROM "${bucket}"."${DOWNSAMPLED_RP}"."pump"`);
      expect(means[0]!.columns).toEqual(expect.arrayContaining(['time', 'asset', 'site', 'flow_m3h', 'running', 'fault_code']));
      const row = Object.fromEntries(means[0]!.columns.map((c, i) => [c, means[0]!.values[0]![i]]));
      expect(means[0]!.values).toHaveLength(1);
      expect(row).toMatchObject({ time: minute, site: 's1', asset: 'P-1', flow_m3h: 210, running: false, fault_code: 2 });
      // fault_code stayed an integer, running a boolean: the downsampled measurement has the raw one's types.
      const types = await influx.query(`SHOW FIELD KEYS ON "${bucket}" FROM "${DOWNSAMPLED_RP}"."pump"`);
      expect(Object.fromEntries(types[0]!.values.map((r) => [r[0], r[1]]))).toMatchObject({ flow_m3h: 'float', running: 'boolean', fault_code: 'integer' });
    } finally {
      await influx.query(`DROP DATABASE "${bucket}"`).catch(() => undefined);
      await influx.close();
    }
  });
});
