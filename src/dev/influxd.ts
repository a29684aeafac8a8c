// Starts a private InfluxDB 1.6 server (Debian's influxd) on loopback for the demo and the tests.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureDebianPackages } from './apt.js';
import { canConnect, freePort, waitForHttp } from './ports.js';
import { spawnService, type ServiceProcess } from './process.js';

export interface StartInfluxdOptions {
  /** Reused when given (data survives restarts); default: a fresh temp dir. */
  dataDir?: string;
  /** HTTP port on 127.0.0.1; default: a free one. */
  port?: number;
  /** Receives every line influxd prints (it also goes to influxd.log in dataDir). */
  log?: (line: string) => void;
  /** How long to wait for /ping to answer 204. */
  startTimeoutMs?: number;
}

export interface LocalInfluxd {
  /** e.g. http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly logFile: string;
  /** pid of the running influxd; undefined while stopped. */
  readonly pid: number | undefined;
  /** SIGTERM, SIGKILL after 5 s; safe to call twice. */
  stop(): Promise<void>;
  /** stop(), then start again on the same port and data dir. */
  restart(): Promise<void>;
  /** stop(), then delete dataDir if this launcher created it. */
  dispose(): Promise<void>;
}

const START_ATTEMPTS = 3;

export async function startInfluxd(opts: StartInfluxdOptions = {}): Promise<LocalInfluxd> {
  const { influxd } = await ensureDebianPackages({ influxd: 'influxdb' });
  const ownsDir = opts.dataDir === undefined;
  const dataDir =
    opts.dataDir === undefined ? await mkdtemp(path.join(os.tmpdir(), 'hydrowatch-influxd-')) : path.resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true });
  const configFile = path.join(dataDir, 'influxdb.conf');
  const logFile = path.join(dataDir, 'influxd.log');
  const timeoutMs = opts.startTimeoutMs ?? 20_000;
  let port = opts.port ?? (await freePort());
  let proc: ServiceProcess | undefined;

  const launch = async (portIsFixed: boolean): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      // Something else answering on the port would pass the readiness check and hide our failure.
      if (await canConnect(port)) {
        if (portIsFixed || attempt >= START_ATTEMPTS) throw new Error(`influxd: 127.0.0.1:${port} is already in use`);
        port = await freePort();
        continue;
      }
      // The RPC port (backup/restore) is never used by callers, so a fresh one each start is fine.
      const rpcPort = await freePort();
      await writeFile(configFile, influxdConfig(dataDir, port, rpcPort));
      const current = spawnService(influxd, ['-config', configFile], { logFile, log: opts.log });
      proc = current;
      try {
        await waitForHttp(`http://127.0.0.1:${port}/ping`, timeoutMs, {
          accept: (status) => status === 204,
          check: () => {
            if (current.hasExited()) throw new Error('influxd exited during startup');
          },
        });
        // Another server may have answered on a port we lost the race for.
        if (current.hasExited()) throw new Error('influxd exited during startup');
        return;
      } catch (err) {
        await current.stop();
        proc = undefined;
        const logTail = current.logTail();
        if (/address already in use/i.test(logTail) && attempt < START_ATTEMPTS) {
          if (!portIsFixed) port = await freePort();
          continue;
        }
        const reason = err instanceof Error ? err.message : String(err);
        throw new Error(`influxd on 127.0.0.1:${port} did not start: ${reason}\n--- influxd log tail ---\n${logTail}`);
      }
    }
  };

  try {
    await launch(opts.port !== undefined);
  } catch (err) {
    // The error carries the log tail, so a temp dir of ours has nothing left worth keeping.
    if (ownsDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }

  const stop = async (): Promise<void> => {
    await proc?.stop();
  };
  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    dataDir,
    logFile,
    get pid() {
      return proc !== undefined && !proc.hasExited() ? proc.pid : undefined;
    },
    stop,
    async restart() {
      await stop();
      await launch(true);
    },
    async dispose() {
      await stop();
      if (ownsDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Minimal influxd 1.6 config: loopback only, everything under dataDir, quiet. */
function influxdConfig(dataDir: string, port: number, rpcPort: number): string {
  const dir = (name: string): string => JSON.stringify(path.join(dataDir, name)); // a JSON string is a valid TOML basic string
  return [
    'reporting-enabled = false',
    `bind-address = "127.0.0.1:${rpcPort}"`,
    '[meta]',
    `  dir = ${dir('meta')}`,
    '  logging-enabled = false',
    '[data]',
    `  dir = ${dir('data')}`,
    `  wal-dir = ${dir('wal')}`,
    '  query-log-enabled = false',
    '[monitor]',
    '  store-enabled = false',
    '[http]',
    `  bind-address = "127.0.0.1:${port}"`,
    '  log-enabled = false',
    '[continuous_queries]',
    '  log-enabled = false',
    '[logging]',
    '  level = "warn"',
    '  suppress-logo = true',
    '',
  ].join('\n');
}

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values?: unknown[][];
}

export interface InfluxResult {
  statement_id: number;
  series?: InfluxSeries[];
  error?: string;
}

/**
 * InfluxQL over HTTP (POST /query, form-encoded, epoch=ms by default). Returns the `results`
 * array; throws on an HTTP error or on any statement error.
 */
export async function influxQuery(
  url: string,
  db: string | undefined,
  q: string,
  opts: { epoch?: 'ns' | 'u' | 'ms' | 's' | 'm' | 'h'; headers?: Record<string, string> } = {},
): Promise<InfluxResult[]> {
  const form = new URLSearchParams({ q, epoch: opts.epoch ?? 'ms' });
  if (db !== undefined) form.set('db', db);
  const res = await fetch(new URL('/query', url), { method: 'POST', body: form, headers: opts.headers });
  const text = await res.text();
  let body: { results?: InfluxResult[]; error?: string };
  try {
    body = JSON.parse(text) as { results?: InfluxResult[]; error?: string };
  } catch {
    throw new Error(`influx query failed: HTTP ${res.status}: ${text.slice(0, 200)}`);
  }
  if (!res.ok || body.error !== undefined) throw new Error(`influx query failed: HTTP ${res.status}: ${body.error ?? text.slice(0, 200)}`);
  const results = body.results ?? [];
  const failed = results.find((r) => r.error !== undefined);
  if (failed) throw new Error(`influx query failed: ${failed.error} (in: ${q})`);
  return results;
}
