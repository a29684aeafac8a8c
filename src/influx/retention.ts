// Retention and downsampling on InfluxDB 1.x, so dashboards over a year stay fast: raw points are
// kept `influx.retention.raw` (e.g. 30d) in the database's default retention policy, and a
// continuous query per kind writes 1-minute means into `hydrowatch_1m`, kept
// `influx.retention.downsampled` (e.g. 104w). Fields come from the one schema: numbers are
// averaged, `running` keeps its last state and `fault_code` its highest code in the minute (a mean
// of codes means nothing), so every field keeps its type. Idempotent: run at every start.
// 2.x/3.x do this with the bucket's retention and a task (README "Deployment").
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { FIELDS, type FieldSpec, KINDS, type Kind } from '../schema.js';
import { quoteIdent, v1Bucket } from './client.js';

export const DOWNSAMPLED_RP = 'hydrowatch_1m';
const cqName = (kind: Kind) => `hydrowatch_1m_${kind}`;

export interface RetentionTarget {
  db: string;
  /** The policy raw points are written to (the bucket's `db/rp`, else the default one). */
  rawRp: string;
}

/** The SELECT … INTO of a kind's continuous query; `where` narrows it for a manual run (backfill, tests). */
export function downsampleSelect(kind: Kind, target: RetentionTarget, where = ''): string {
  const columns = Object.entries(FIELDS[kind] as Record<string, FieldSpec>).map(([field, spec]) => {
    const aggregate = spec.type === 'boolean' ? 'last' : spec.type === 'integer' ? 'max' : 'mean';
    return `${aggregate}(${quoteIdent(field)}) AS ${quoteIdent(field)}`;
  });
  const into = `${quoteIdent(target.db)}.${quoteIdent(DOWNSAMPLED_RP)}.${quoteIdent(kind)}`;
  const from = `${quoteIdent(target.db)}.${quoteIdent(target.rawRp)}.${quoteIdent(kind)}`;
  return `SELECT ${columns.join(', ')} INTO ${into} FROM ${from}${where ? ` WHERE ${where}` : ''} GROUP BY time(1m), *`;
}

type Query = (q: string) => Promise<Array<{ name: string; columns: string[]; values: unknown[][] }>>;

/** Creates or adjusts the policies and continuous queries; does nothing unless retention is configured. */
export async function ensureRetention(query: Query, settings: Config['influx'], log: Logger): Promise<RetentionTarget | undefined> {
  const { raw, downsampled } = settings.retention;
  if (!raw && !downsampled) return undefined;
  const { db, rp } = v1Bucket(settings.bucket);
  const policies = await query(`SHOW RETENTION POLICIES ON ${quoteIdent(db)}`);
  const rows = policies[0]?.values ?? [];
  const name = (row: unknown[]) => row[0] as string;
  const isDefault = (row: unknown[]) => row[policies[0]!.columns.indexOf('default')] === true;
  const rawRp = rp ?? rows.find(isDefault)?.map(String)[0] ?? 'autogen';
  const target = { db, rawRp };
  if (raw) {
    // Writes older than this are refused by InfluxDB: replaying older recordings needs a longer one.
    await query(`ALTER RETENTION POLICY ${quoteIdent(rawRp)} ON ${quoteIdent(db)} DURATION ${raw} SHARD DURATION 1d`);
  }
  if (downsampled) {
    const verb = rows.some((row) => name(row) === DOWNSAMPLED_RP) ? 'ALTER' : 'CREATE';
    await query(`${verb} RETENTION POLICY ${quoteIdent(DOWNSAMPLED_RP)} ON ${quoteIdent(db)} DURATION ${downsampled} ${verb === 'CREATE' ? 'REPLICATION 1 ' : ''}SHARD DURATION 7d`);
    const existing = new Set(((await query('SHOW CONTINUOUS QUERIES')).find((s) => s.name === db)?.values ?? []).map((row) => row[0] as string));
    for (const kind of KINDS) {
      // Dropped and created again, so a changed schema or policy takes effect at the next start.
      if (existing.has(cqName(kind))) await query(`DROP CONTINUOUS QUERY ${quoteIdent(cqName(kind))} ON ${quoteIdent(db)}`);
      // Every minute, the last two minutes again: late points of the minute before are counted too.
      await query(`CREATE CONTINUOUS QUERY ${quoteIdent(cqName(kind))} ON ${quoteIdent(db)} RESAMPLE EVERY 1m FOR 2m BEGIN ${downsampleSelect(kind, target)} END`);
    }
  }
  log.info(`InfluxDB retention on ${db}: raw ${raw ?? 'kept'} in ${rawRp}${downsampled ? `, 1-minute means ${downsampled} in ${DOWNSAMPLED_RP}` : ''}`);
  return target;
}
