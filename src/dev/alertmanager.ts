// Starts a private Prometheus Alertmanager (Debian's prometheus-alertmanager 0.25) on loopback for
// the tests and local trials of the Alertmanager channel.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureDebianPackages } from './apt.js';
import { canConnect, freePort, waitForHttp } from './ports.js';
import { spawnService, type ServiceProcess } from './process.js';

export interface StartAlertmanagerOptions {
  /** alertmanager.yml content; default: one receiver that discards everything. */
  config?: string;
  /** Receives every line alertmanager logs (it also goes to alertmanager.log in the data dir). */
  log?: (line: string) => void;
  startTimeoutMs?: number;
}

export interface LocalAlertmanager {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** SIGTERM, SIGKILL after 5 s, then deletes the data dir; safe to call twice. */
  dispose(): Promise<void>;
}

const START_ATTEMPTS = 3;
const DISCARD_CONFIG = 'route:\n  receiver: discard\nreceivers:\n  - name: discard\n';

export async function startAlertmanager(opts: StartAlertmanagerOptions = {}): Promise<LocalAlertmanager> {
  const { 'prometheus-alertmanager': binary } = await ensureDebianPackages({ 'prometheus-alertmanager': 'prometheus-alertmanager' });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hydrowatch-alertmanager-'));
  const configFile = path.join(dataDir, 'alertmanager.yml');
  await writeFile(configFile, opts.config ?? DISCARD_CONFIG);
  const timeoutMs = opts.startTimeoutMs ?? 20_000;
  let proc: ServiceProcess | undefined;
  let port = 0;
  try {
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      if (await canConnect(port)) {
        if (attempt >= START_ATTEMPTS) throw new Error(`alertmanager: no free port after ${attempt} attempts`);
        continue;
      }
      const current = spawnService(
        binary,
        [
          `--config.file=${configFile}`,
          `--storage.path=${path.join(dataDir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          // Empty: no cluster gossip (it would otherwise bind 0.0.0.0:9094).
          '--cluster.listen-address=',
          '--log.level=warn',
        ],
        { logFile: path.join(dataDir, 'alertmanager.log'), log: opts.log },
      );
      proc = current;
      try {
        await waitForHttp(`http://127.0.0.1:${port}/-/ready`, timeoutMs, {
          check: () => {
            if (current.hasExited()) throw new Error('alertmanager exited during startup');
          },
        });
        if (current.hasExited()) throw new Error('alertmanager exited during startup');
        break;
      } catch (err) {
        await current.stop();
        proc = undefined;
        const logTail = current.logTail();
        if (/address already in use/i.test(logTail) && attempt < START_ATTEMPTS) continue;
        throw new Error(`alertmanager on 127.0.0.1:${port} did not start: ${err instanceof Error ? err.message : String(err)}\n--- log tail ---\n${logTail}`);
      }
    }
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  let disposed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dataDir,
    dispose() {
      disposed ??= (async () => {
        await proc?.stop();
        await rm(dataDir, { recursive: true, force: true });
      })();
      return disposed;
    },
  };
}
