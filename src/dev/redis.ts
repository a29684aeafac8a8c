// Starts a private Redis (Debian's redis-server) on loopback for the cluster tests, the benchmark and the demo.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureDebianPackages } from './apt.js';
import { canConnect, freePort, waitForPort } from './ports.js';
import { readyOrCleanUp, spawnService, type ServiceProcess } from './process.js';

export interface LocalRedis {
  /** redis://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** SIGTERM, SIGKILL after 5 s; then deletes the data dir. Safe to call twice. */
  dispose(): Promise<void>;
}

export async function startRedis(opts: { port?: number; log?: (line: string) => void } = {}): Promise<LocalRedis> {
  const { 'redis-server': redisServer } = await ensureDebianPackages({ 'redis-server': 'redis-server' });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hydrowatch-redis-'));
  const port = opts.port ?? (await freePort());
  if (await canConnect(port)) throw new Error(`redis: 127.0.0.1:${port} is already in use`);
  // No RDB snapshots or AOF: a test's Redis lives as long as the test.
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'];
  const proc: ServiceProcess = spawnService(redisServer, args, { logFile: path.join(dataDir, 'redis.log'), log: opts.log });
  const dispose = await readyOrCleanUp('redis-server', proc, dataDir, (check) => waitForPort(port, 10_000, { check }));
  return { url: `redis://127.0.0.1:${port}`, port, dataDir, dispose };
}
