// Starts a private VictoriaMetrics (Debian's victoria-metrics) on loopback: it takes InfluxDB line
// protocol on /api/v2/write, so the tests exercise the client's unmodified v2 write path on a real server.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureDebianPackages } from './apt.js';
import { freePort, waitForHttp } from './ports.js';
import { readyOrCleanUp, spawnService } from './process.js';

export interface LocalVictoriaMetrics {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** SIGTERM, SIGKILL after 5 s; then deletes the data dir. Safe to call twice. */
  dispose(): Promise<void>;
}

export async function startVictoriaMetrics(): Promise<LocalVictoriaMetrics> {
  const { 'victoria-metrics': binary } = await ensureDebianPackages({ 'victoria-metrics': 'victoria-metrics' });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hydrowatch-vm-'));
  const port = await freePort();
  const proc = spawnService(binary, [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${dataDir}`, '-retentionPeriod=100y', '-loggerLevel=ERROR'], {
    logFile: path.join(dataDir, 'victoria-metrics.log'),
  });
  const url = `http://127.0.0.1:${port}`;
  const dispose = await readyOrCleanUp('victoria-metrics', proc, dataDir, (check) => waitForHttp(`${url}/health`, 15_000, { check }));
  return { url, dispose };
}
