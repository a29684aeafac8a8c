// The InfluxDB adapter: the one place that talks to InfluxDB (design §3).
// Writes go through @influxdata/influxdb-client's WriteApi (line protocol, gzip); against 1.x the
// client gets a transport that sends the same batches to /write. Queries are InfluxQL over /query,
// which 1.x, 2.x (v1 compatibility API) and 3.x all answer.
import { HttpError, InfluxDB, setLogger, type SendOptions, type Transport, type WriteApi, type WriteOptions } from '@influxdata/influxdb-client';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { PRECISION } from './points.js';
import { ensureRetention } from './retention.js';

export type Flavour = 'v1' | 'v2';
type InfluxSettings = Config['influx'];

/** A failed request, classified: retryable errors keep the batch in the spool, others refuse it. */
export class InfluxError extends Error {
  override name = 'InfluxError';
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface SeriesResult {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

export interface InfluxState {
  flavour: Flavour | undefined;
  version: string | undefined;
  reachable: boolean;
  lastError: string | undefined;
}

/** `/ping`'s X-Influxdb-Version: 1.x speaks /write; 2.x and 3.x take the v2 write API. */
export function flavourFromVersion(version: string | null | undefined): Flavour {
  const major = /^v?(\d+)/.exec(version ?? '')?.[1];
  return major === '1' ? 'v1' : 'v2';
}

/** 1.x names precisions n, u, ms, s; an unknown one is silently read as nanoseconds. */
const V1_PRECISION: Record<string, string> = { ns: 'n', us: 'u', ms: 'ms', s: 's' };

/** 1.x reads a bucket `db/rp` as database and retention policy (2.x's DBRP convention). */
export function v1Bucket(bucket: string): { db: string; rp: string | undefined } {
  const [db = '', rp] = bucket.split('/');
  return { db, rp: rp || undefined };
}

/** Rewrites the client's /api/v2/write?org=&bucket=db[/rp]&precision= to 1.x's /write?db=&rp=&precision=. */
export function v1WritePath(v2Path: string): string {
  const query = new URLSearchParams(v2Path.slice(v2Path.indexOf('?') + 1));
  const { db, rp } = v1Bucket(query.get('bucket') ?? '');
  const precision = V1_PRECISION[query.get('precision') ?? 'ns'];
  if (precision === undefined) throw new Error(`no InfluxDB 1.x precision for ${query.get('precision')}`);
  const params = new URLSearchParams({ db });
  if (rp) params.set('rp', rp);
  params.set('precision', precision);
  return `/write?${params.toString()}`;
}

function v1Transport(base: Transport): Transport {
  return {
    send: (path, body, options, callbacks) =>
      base.send(path.startsWith('/api/v2/write') ? v1WritePath(path) : path, body, options, callbacks),
    request: (path, body, options: SendOptions, responseStarted) => base.request(path, body, options, responseStarted),
    iterate: (path, body, options) => base.iterate(path, body, options),
    chunkCombiner: base.chunkCombiner,
  };
}

function authorization(settings: InfluxSettings, flavour: Flavour): string | undefined {
  const token = settings.token;
  if (!token) return undefined;
  // 1.x takes user:password as Basic auth; 2.x/3.x take a token.
  if (flavour === 'v1' && token.includes(':')) return `Basic ${Buffer.from(token).toString('base64')}`;
  return `Token ${token}`;
}

export class InfluxClient {
  private flavour: Flavour | undefined;
  private version: string | undefined;
  private writeApi: WriteApi | undefined;
  private reachable = false;
  private lastError: string | undefined;

  constructor(
    private readonly settings: InfluxSettings,
    private readonly log: Logger,
  ) {
    // The client library logs to the console by default; route it to ours.
    setLogger({ error: (m) => log.debug(`influx client: ${m}`), warn: (m) => log.debug(`influx client: ${m}`) });
  }

  state(): InfluxState {
    return { flavour: this.flavour, version: this.version, reachable: this.reachable, lastError: this.lastError };
  }

  /** Detects the flavour (unless configured) and, on 1.x, creates the database. Throws if unreachable. */
  async connect(): Promise<void> {
    if (this.writeApi) return;
    const response = await this.http('/ping', { method: 'GET' });
    this.version = response.headers.get('x-influxdb-version') ?? undefined;
    const flavour = this.settings.flavour === 'auto' ? flavourFromVersion(this.version) : this.settings.flavour;
    this.flavour = flavour;
    if (flavour === 'v1') {
      await this.query(`CREATE DATABASE ${quoteIdent(v1Bucket(this.settings.bucket).db)}`);
      await ensureRetention((q) => this.query(q), this.settings, this.log);
    } else if (this.settings.retention.raw || this.settings.retention.downsampled) {
      this.log.warn('influx.retention applies to InfluxDB 1.x; on 2.x/3.x set the bucket retention and a downsampling task (README "Deployment")');
    }
    const auth = authorization(this.settings, flavour);
    const writeOptions: Partial<WriteOptions> = {
      // We batch and retry ourselves from the spool: the WriteApi sends exactly what flush() hands it.
      // (it preallocates batchSize slots, so this is the spool's batch size plus one, not "infinite")
      batchSize: this.settings.batchSize + 1,
      maxBatchBytes: Number.MAX_SAFE_INTEGER,
      flushInterval: 0,
      maxRetries: 0,
      gzipThreshold: 1000,
      headers: auth && flavour === 'v1' ? { Authorization: auth } : ({} as Record<string, string>),
      writeFailed: (error: Error) => Promise.reject(error),
    };
    const base = { url: this.settings.url, timeout: this.settings.timeoutMs };
    const influx =
      flavour === 'v1'
        ? new InfluxDB({ ...base, transport: v1Transport(new InfluxDB(base).transport) })
        : new InfluxDB({ ...base, ...(this.settings.token ? { token: this.settings.token } : {}) });
    this.writeApi = influx.getWriteApi(this.settings.org ?? '', this.settings.bucket, PRECISION, writeOptions);
    this.markReachable();
  }

  /** Writes one batch; resolves once InfluxDB confirmed it, throws a classified InfluxError otherwise. */
  async write(lines: string[]): Promise<void> {
    try {
      await this.connect();
      const writeApi = this.writeApi!;
      writeApi.writeRecords(lines);
      await writeApi.flush();
      this.markReachable();
    } catch (error) {
      throw this.classify(error);
    }
  }

  /** Runs InfluxQL; returns the first statement's series. */
  async query(q: string): Promise<SeriesResult[]> {
    // On 1.x a bucket `db/rp` names a database and its retention policy, as it does for writes.
    const { db, rp } = this.flavour === 'v1' ? v1Bucket(this.settings.bucket) : { db: this.settings.bucket, rp: undefined };
    const body = new URLSearchParams({ db, ...(rp ? { rp } : {}), q, epoch: 'ms' });
    const response = await this.http('/query', { method: 'POST', body });
    const json = (await response.json()) as { results?: Array<{ error?: string; series?: SeriesResult[] }>; error?: string };
    const first = json.results?.[0];
    const error = json.error ?? first?.error;
    if (error) throw new Error(`InfluxQL error: ${error}`);
    return first?.series ?? [];
  }

  async close(): Promise<void> {
    const writeApi = this.writeApi;
    this.writeApi = undefined;
    await writeApi?.close().catch(() => undefined);
  }

  private async http(path: string, init: { method: string; body?: URLSearchParams }): Promise<Response> {
    const headers: Record<string, string> = {};
    const auth = authorization(this.settings, this.flavour ?? 'v1');
    if (auth) headers.Authorization = auth;
    let response: Response;
    try {
      response = await fetch(new URL(path, this.settings.url), {
        ...init,
        headers,
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
    } catch (error) {
      this.markUnreachable(error);
      throw new InfluxError(`InfluxDB at ${this.settings.url} unreachable: ${describe(error)}`, true);
    }
    if (!response.ok) {
      const text = (await response.text().catch(() => '')).slice(0, 300);
      const retryable = response.status >= 429 || response.status === 401 || response.status === 403 || response.status === 404;
      throw new InfluxError(`InfluxDB ${path} answered ${response.status}: ${text}`, retryable, response.status);
    }
    return response;
  }

  private classify(error: unknown): InfluxError {
    if (error instanceof InfluxError) return error;
    if (error instanceof HttpError) {
      const status = error.statusCode;
      // 400 is a bad batch (1.x writes the good points of it): retrying cannot help.
      // Auth and missing-database errors are retried: the operator can fix them without losing data.
      if (status === 404 && this.flavour === 'v1') this.writeApi = undefined;
      const retryable = status !== 400 && status !== 413 && status !== 422;
      if (retryable) this.markUnreachable(error);
      return new InfluxError(`InfluxDB write answered ${status}: ${(error.body ?? error.message).slice(0, 300)}`, retryable, status);
    }
    this.markUnreachable(error);
    return new InfluxError(`InfluxDB write failed: ${describe(error)}`, true);
  }

  private markReachable(): void {
    if (!this.reachable) this.log.info(`InfluxDB reachable at ${this.settings.url} (${this.flavour ?? '?'} ${this.version ?? ''})`.trim());
    this.reachable = true;
    this.lastError = undefined;
  }

  private markUnreachable(error: unknown): void {
    const message = describe(error);
    if (this.reachable || this.lastError === undefined) this.log.warn(`InfluxDB unavailable: ${message}`);
    this.reachable = false;
    this.lastError = message;
  }
}

/** InfluxQL identifier quoting. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** InfluxQL string literal quoting. */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
