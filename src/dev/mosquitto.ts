// Starts a private Mosquitto 2.0 broker (Debian's mosquitto) on loopback for the demo and the tests.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureDebianPackages } from './apt.js';
import { canConnect, freePort, waitForPort } from './ports.js';
import { spawnService, type ServiceProcess } from './process.js';

export interface StartMosquittoOptions {
  /** Port on 127.0.0.1; default: a free one. */
  port?: number;
  /** Extra mosquitto.conf lines, appended after the defaults. */
  extraConfig?: string[];
  /** Reused when given (persistence survives restarts); default: a fresh temp dir. */
  dataDir?: string;
  /** Receives every line mosquitto logs (it also goes to mosquitto.log in dataDir). */
  log?: (line: string) => void;
  /** How long to wait for the port to accept connections. */
  startTimeoutMs?: number;
}

export interface LocalMosquitto {
  /** mqtt://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly logFile: string;
  /** pid of the running broker; undefined while stopped. */
  readonly pid: number | undefined;
  /** SIGTERM (mosquitto saves its persistence file), SIGKILL after 5 s; safe to call twice. */
  stop(): Promise<void>;
  /** stop(), then start again on the same port with the same persistence dir. */
  restart(): Promise<void>;
  /** stop(), then delete dataDir if this launcher created it. */
  dispose(): Promise<void>;
}

const START_ATTEMPTS = 3;

export async function startMosquitto(opts: StartMosquittoOptions = {}): Promise<LocalMosquitto> {
  const { mosquitto } = await ensureDebianPackages({ mosquitto: 'mosquitto' });
  const ownsDir = opts.dataDir === undefined;
  const dataDir =
    opts.dataDir === undefined ? await mkdtemp(path.join(os.tmpdir(), 'hydrowatch-mosquitto-')) : path.resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true });
  const configFile = path.join(dataDir, 'mosquitto.conf');
  const logFile = path.join(dataDir, 'mosquitto.log');
  const timeoutMs = opts.startTimeoutMs ?? 10_000;
  let port = opts.port ?? (await freePort());
  let proc: ServiceProcess | undefined;

  const launch = async (portIsFixed: boolean): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      // Something else answering on the port would pass the readiness check and hide our failure.
      if (await canConnect(port)) {
        if (portIsFixed || attempt >= START_ATTEMPTS) throw new Error(`mosquitto: 127.0.0.1:${port} is already in use`);
        port = await freePort();
        continue;
      }
      await writeFile(configFile, mosquittoConfig(dataDir, port, opts.extraConfig ?? []));
      const current = spawnService(mosquitto, ['-c', configFile], { logFile, log: opts.log });
      proc = current;
      try {
        await waitForPort(port, timeoutMs, {
          check: () => {
            if (current.hasExited()) throw new Error('mosquitto exited during startup');
          },
        });
        // Another server may have answered on a port we lost the race for.
        if (current.hasExited()) throw new Error('mosquitto exited during startup');
        return;
      } catch (err) {
        await current.stop();
        proc = undefined;
        const logTail = current.logTail();
        if (/address already in use/i.test(logTail) && attempt < START_ATTEMPTS && !portIsFixed) {
          port = await freePort();
          continue;
        }
        const reason = err instanceof Error ? err.message : String(err);
        throw new Error(`mosquitto on 127.0.0.1:${port} did not start: ${reason}\n--- mosquitto log tail ---\n${logTail}`);
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
      return `mqtt://127.0.0.1:${port}`;
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

function mosquittoConfig(dataDir: string, port: number, extra: string[]): string {
  return [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence true',
    // Trailing slash: mosquitto concatenates this with the file name.
    `persistence_location ${dataDir}${path.sep}`,
    // Debian's defaults (20 in flight, 1000 queued) silently drop QoS 1 messages for slow subscribers.
    'max_queued_messages 0',
    'max_inflight_messages 1000',
    // As root mosquitto would switch to user "mosquitto", which cannot write our private temp dir.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_timestamp_format %Y-%m-%dT%H:%M:%S',
    ...extra,
    '',
  ].join('\n');
}
