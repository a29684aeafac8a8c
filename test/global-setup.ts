// Starts one influxd shared by every test file and installs the Debian tools the tests use.
import { rm } from 'node:fs/promises';
import type { TestProject } from 'vitest/node';
import { ensureDebianPackages } from '../src/dev/apt.js';
import { startInfluxd } from '../src/dev/influxd.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** http://127.0.0.1:PORT of the shared influxd. */
    influxUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // One apt run here so parallel workers never race to install the same packages.
  await ensureDebianPackages({ influxd: 'influxdb', mosquitto: 'mosquitto', mosquitto_pub: 'mosquitto-clients', 'prometheus-alertmanager': 'prometheus-alertmanager', chromium: 'chromium', 'redis-server': 'redis-server', 'victoria-metrics': 'victoria-metrics' });
  const influxd = await startInfluxd();
  project.provide('influxUrl', influxd.url);
  return async () => {
    await influxd.stop();
    await rm(influxd.dataDir, { recursive: true, force: true });
  };
}
