// The InfluxDB adapter's requests, as a fake InfluxDB HTTP endpoint sees them (1.x, 2.x, 3.x),
// how it classifies failures, and a round trip through the real influxd.
import { randomBytes } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { InfluxClient, InfluxError } from '../../src/influx/client.js';
import { silentLogger } from '../../src/log.js';

interface RecordedRequest {
  method: string;
  /** Path with query string, as sent. */
  path: string;
  headers: IncomingHttpHeaders;
  /** Decoded body (gunzipped when the request was gzip-encoded). */
  body: string;
}

const VERSIONS = { v1: '1.6.7~rc0', v2: 'v2.7.11', v3: '3.0.1' } as const;

/** Plays InfluxDB's HTTP endpoint: records every request, answers /ping, /query and writes. */
class FakeInflux {
  readonly requests: RecordedRequest[] = [];
  /** Status for /write and /api/v2/write. */
  writeStatus = 204;
  private server: http.Server | undefined;
  private port = 0;

  constructor(private readonly version: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens on 127.0.0.1 (a free port the first time, the same port after a stop()). */
  async start(): Promise<void> {
    const server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body = request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        const path = request.url ?? '';
        this.requests.push({ method: request.method ?? '', path, headers: request.headers, body: body.toString('utf8') });
        this.answer(path, response);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: this.port }, resolve);
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Closes the listener and every open (keep-alive) connection: the next request is refused. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  writes(): RecordedRequest[] {
    return this.requests.filter((r) => r.path.startsWith('/write') || r.path.startsWith('/api/v2/write'));
  }

  queries(): RecordedRequest[] {
    return this.requests.filter((r) => r.path.startsWith('/query'));
  }

  private answer(path: string, response: http.ServerResponse): void {
    if (path.startsWith('/ping')) {
      response.writeHead(204, { 'X-Influxdb-Version': this.version }).end();
    } else if (path.startsWith('/query')) {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"results":[{"statement_id":0}]}');
    } else if (path.startsWith('/write') || path.startsWith('/api/v2/write')) {
      if (this.writeStatus === 204) response.writeHead(204).end();
      else response.writeHead(this.writeStatus, { 'content-type': 'application/json' }).end(`{"error":"answered ${this.writeStatus}"}`);
    } else {
      response.writeHead(404).end();
    }
  }
}

/** Every parameter of a request: the query string's and, for a form POST, the body's. */
function params(request: RecordedRequest): Record<string, string> {
  const fromUrl = new URL(request.path, 'http://x').searchParams;
  const fromBody = request.headers['content-type']?.startsWith('application/x-www-form-urlencoded') ? new URLSearchParams(request.body) : new URLSearchParams();
  return { ...Object.fromEntries(fromUrl), ...Object.fromEntries(fromBody) };
}

const LINES = ['pump,asset=P-01,site=s1 flow_m3h=410.5,running=T 1752472800000', 'pump,asset=P-01,site=s1 flow_m3h=411 1752472801000'];

const fakes: FakeInflux[] = [];
const clients: InfluxClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(fakes.splice(0).map((f) => f.stop()));
});

async function fakeInflux(version: string): Promise<FakeInflux> {
  const fake = new FakeInflux(version);
  await fake.start();
  fakes.push(fake);
  return fake;
}

function client(url: string, env: Record<string, string> = {}): InfluxClient {
  const influx = new InfluxClient(parseConfig({}, { INFLUX_URL: url, ...env }).influx, silentLogger);
  clients.push(influx);
  return influx;
}

/** The rejection of a promise, which must reject with an InfluxError. */
async function influxError(promise: Promise<unknown>): Promise<InfluxError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InfluxError);
  return error as InfluxError;
}

describe('InfluxClient against InfluxDB 1.x', () => {
  it('creates the database on connect and writes to /write?db=&precision=ms as plain text', async () => {
    const fake = await fakeInflux(VERSIONS.v1);
    const influx = client(fake.url);
    await influx.connect();
    expect(influx.state()).toMatchObject({ flavour: 'v1', version: VERSIONS.v1, reachable: true });
    expect(fake.queries().map((q) => params(q).q)).toEqual(['CREATE DATABASE "hydrowatch"']);
    expect(fake.queries()[0]).toMatchObject({ method: 'POST' });

    await influx.write(LINES);
    const [write] = fake.writes();
    expect(fake.writes()).toHaveLength(1);
    expect(write).toMatchObject({ method: 'POST', path: '/write?db=hydrowatch&precision=ms', body: LINES.join('\n') });
    expect(write!.headers['content-type']).toMatch(/^text\/plain/);
    expect(write!.headers['content-encoding']).toBeUndefined();
    expect(write!.headers.authorization).toBeUndefined();
  });

  it('names the retention policy only when the bucket is db/rp, and creates the database db', async () => {
    const fake = await fakeInflux(VERSIONS.v1);
    const influx = client(fake.url, { INFLUX_BUCKET: 'telemetry/one_year' });
    await influx.write(LINES);
    expect(fake.queries().map((q) => params(q).q)).toEqual(['CREATE DATABASE "telemetry"']);
    expect(fake.writes().map((w) => w.path)).toEqual(['/write?db=telemetry&rp=one_year&precision=ms']);

    await influx.query('SELECT * FROM "pump"');
    expect(params(fake.queries().at(-1)!)).toMatchObject({ db: 'telemetry', rp: 'one_year', q: 'SELECT * FROM "pump"' });
  });

  it('sends a user:pass token as Basic auth on pings, queries and writes', async () => {
    const fake = await fakeInflux(VERSIONS.v1);
    const influx = client(fake.url, { INFLUX_TOKEN: 'ingest:s3cret' });
    await influx.write(LINES);
    const basic = `Basic ${Buffer.from('ingest:s3cret').toString('base64')}`;
    expect(fake.requests.map((r) => r.path.split('?')[0])).toEqual(['/ping', '/query', '/write']);
    for (const request of fake.requests) expect(request.headers.authorization, request.path).toBe(basic);
  });

  it('gzips a batch over 1000 bytes, and it decodes to the same lines', async () => {
    const fake = await fakeInflux(VERSIONS.v1);
    const influx = client(fake.url);
    const lines = Array.from({ length: 40 }, (_, i) => `meter,asset=M-${i},site=s1 pressure_bar=3.${i},flow_m3h=22${i} ${1752472800000 + i}`);
    expect(lines.join('\n').length).toBeGreaterThan(1000);
    await influx.write(lines);
    const [write] = fake.writes();
    expect(write!.headers['content-encoding']).toBe('gzip');
    expect(write!.path).toBe('/write?db=hydrowatch&precision=ms');
    expect(write!.body.split('\n')).toEqual(lines);
  });

  it('takes the configured flavour over what /ping says', async () => {
    const fake = await fakeInflux(VERSIONS.v2);
    const influx = client(fake.url, { INFLUX_FLAVOUR: 'v1', INFLUX_BUCKET: 'plant' });
    await influx.write(LINES);
    expect(influx.state()).toMatchObject({ flavour: 'v1', version: VERSIONS.v2 });
    expect(fake.queries().map((q) => params(q).q)).toEqual(['CREATE DATABASE "plant"']);
    expect(fake.writes().map((w) => w.path)).toEqual(['/write?db=plant&precision=ms']);
  });
});

describe.each([
  ['2.x', VERSIONS.v2],
  ['3.x', VERSIONS.v3],
])('InfluxClient against InfluxDB %s', (_name, version) => {
  it('creates no database, writes through /api/v2/write with the token, queries /query with db=bucket', async () => {
    const fake = await fakeInflux(version);
    const influx = client(fake.url, { INFLUX_TOKEN: 'TOKEN', INFLUX_ORG: 'ORG', INFLUX_BUCKET: 'BUCKET' });
    await influx.connect();
    expect(influx.state()).toMatchObject({ flavour: 'v2', version, reachable: true });
    expect(fake.queries()).toEqual([]);

    await influx.write(LINES);
    const [write] = fake.writes();
    expect(fake.writes()).toHaveLength(1);
    expect(write).toMatchObject({ method: 'POST', path: '/api/v2/write?org=ORG&bucket=BUCKET&precision=ms', body: LINES.join('\n') });
    expect(write!.headers.authorization).toBe('Token TOKEN');
    expect(write!.headers['content-type']).toMatch(/^text\/plain/);

    expect(await influx.query('SHOW MEASUREMENTS')).toEqual([]);
    const [query] = fake.queries();
    expect(query!.path.split('?')[0]).toBe('/query');
    expect(params(query!)).toMatchObject({ db: 'BUCKET', q: 'SHOW MEASUREMENTS' });
    expect(query!.headers.authorization).toBe('Token TOKEN');
    expect(fake.requests.every((r) => r.headers.authorization === 'Token TOKEN')).toBe(true);
  });

  it('uses the v2 write API when configured, whatever /ping says', async () => {
    const fake = await fakeInflux(VERSIONS.v1);
    const influx = client(fake.url, { INFLUX_FLAVOUR: 'v2', INFLUX_TOKEN: 'TOKEN', INFLUX_ORG: 'ORG', INFLUX_BUCKET: 'BUCKET' });
    await influx.write(LINES);
    expect(fake.queries()).toEqual([]);
    expect(fake.writes().map((w) => w.path)).toEqual(['/api/v2/write?org=ORG&bucket=BUCKET&precision=ms']);
  });
});

describe('InfluxClient error classification', () => {
  it('refuses a batch answered 400 as not retryable, and stays reachable', async () => {
    const fake = await fakeInflux(VERSIONS.v1);
    const influx = client(fake.url);
    await influx.connect();
    fake.writeStatus = 400;
    const error = await influxError(influx.write(LINES));
    expect(error).toMatchObject({ retryable: false, status: 400 });
    expect(influx.state().reachable).toBe(true);
  });

  it.each([500, 503])('retries a batch answered %i', async (status) => {
    const fake = await fakeInflux(VERSIONS.v2);
    const influx = client(fake.url, { INFLUX_TOKEN: 'TOKEN', INFLUX_ORG: 'ORG' });
    await influx.connect();
    fake.writeStatus = status;
    const error = await influxError(influx.write(LINES));
    expect(error).toMatchObject({ retryable: true, status });
    expect(influx.state().reachable).toBe(false);

    fake.writeStatus = 204;
    await influx.write(LINES);
    expect(influx.state()).toMatchObject({ reachable: true, lastError: undefined });
  });

  it('retries when the connection is refused, reports unreachable, and recovers once InfluxDB answers again', async () => {
    const fake = await fakeInflux(VERSIONS.v1);
    const influx = client(fake.url);
    await influx.write(LINES);
    expect(influx.state().reachable).toBe(true);

    await fake.stop();
    const error = await influxError(influx.write(LINES));
    expect(error.retryable).toBe(true);
    expect(influx.state().reachable).toBe(false);
    expect(influx.state().lastError).toBeTruthy();

    await fake.start();
    await influx.write(LINES);
    expect(influx.state()).toMatchObject({ reachable: true, lastError: undefined });
    expect(fake.writes().at(-1)!.body).toBe(LINES.join('\n'));
  });

  it('fails connect() with a retryable error when nothing listens', async () => {
    const fake = await fakeInflux(VERSIONS.v1);
    await fake.stop();
    const influx = client(fake.url);
    const error = await influxError(influx.connect());
    expect(error.retryable).toBe(true);
    expect(influx.state()).toMatchObject({ reachable: false, flavour: undefined });
  });
});

describe('InfluxClient against the real influxd', () => {
  // A database of its own per test, dropped afterwards.
  let database = '';
  let current: InfluxClient | undefined;
  const realClient = (): InfluxClient => {
    database = `client_${randomBytes(5).toString('hex')}`;
    current = client(inject('influxUrl'), { INFLUX_BUCKET: database });
    return current;
  };
  afterEach(async () => {
    await current?.query(`DROP DATABASE "${database}"`);
    current = undefined;
  });

  it('writes two lines and reads them back with InfluxQL', async () => {
    const influx = realClient();
    await influx.write(['tank,asset=R-1,site=s1 level_m=4.25 1752472800000', 'tank,asset=R-1,site=s1 level_m=4.5 1752472860000']);
    expect(influx.state()).toMatchObject({ flavour: 'v1', reachable: true });
    expect(influx.state().version).toMatch(/^1\./);
    const series = await influx.query('SELECT "level_m" FROM "tank" WHERE "site" = \'s1\'');
    expect(series).toHaveLength(1);
    expect(series[0]).toMatchObject({ name: 'tank', columns: ['time', 'level_m'], values: [[1752472800000, 4.25], [1752472860000, 4.5]] });
  });

  it('writes to and queries the retention policy named in a db/rp bucket', async () => {
    const influx = realClient();
    const bucket = `${database}/autogen`;
    const withPolicy = client(inject('influxUrl'), { INFLUX_BUCKET: bucket });
    await withPolicy.write(['tank,asset=R-2,site=s1 level_m=3 1752472800000']);
    expect(await withPolicy.query('SELECT "level_m" FROM "tank"')).toMatchObject([{ values: [[1752472800000, 3]] }]);
    // The database is `database` itself, not one named with the slash.
    expect(await influx.query('SELECT "level_m" FROM "autogen"."tank"')).toMatchObject([{ values: [[1752472800000, 3]] }]);
  });

  it('refuses a field type conflict as a non-retryable 400', async () => {
    const influx = realClient();
    await influx.write(['m f=1.5 1752472800000']);
    const error = await influxError(influx.write(['m f=1i 1752472801000']));
    expect(error).toMatchObject({ retryable: false, status: 400 });
    expect(error.message).toMatch(/field type conflict/);
    expect(influx.state().reachable).toBe(true);
  });
});
