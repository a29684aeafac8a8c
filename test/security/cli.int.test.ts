// What an operator does: `hydrowatch device add`, `hydrowatch token add`, paste the YAML, and
// `hydrowatch start` without HYDROWATCH_INSECURE — and what happens when a piece is missing.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../src/dev/ports.js';
import { eventually } from '../helpers/service.js';

const CLI = ['--import', 'tsx', 'src/cli.ts'];

function startCli(args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [...CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exit };
}

async function runCli(args: string[], env: Record<string, string> = {}) {
  const run = startCli(args, env);
  return { code: await run.exit, output: run.output() };
}

describe('hydrowatch device add, token add, start (secure)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hydrowatch-cli-sec-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('starts with the credentials the CLI made, and only lets them in', async () => {
    const devicesFile = join(dir, 'devices.yaml');
    const device = await runCli(['device', 'add', '--site', 'plant1', '--kind', 'pump', '--asset', 'P-01', '--file', devicesFile]);
    expect(device.code, device.output).toBe(0);
    const password = /password: (\S+)/.exec(device.output)?.[1];
    expect(password).toBeDefined();

    const token = await runCli(['token', 'add', '--name', 'dispatch', '--role', 'operator']);
    expect(token.code, token.output).toBe(0);
    const secret = /^ {2}(hwt_\S+)$/m.exec(token.output)?.[1];
    const yaml = token.output.slice(token.output.indexOf('api:\n'));
    expect(secret).toBeDefined();
    expect(yaml).not.toContain(secret);

    const configFile = join(dir, 'hydrowatch.yaml');
    await writeFile(configFile, `${yaml}\ndataDir: ${join(dir, 'data')}\n`);
    const mqttPort = await freePort();
    const httpPort = await freePort();
    const run = startCli(['start'], {
      HYDROWATCH_CONFIG: configFile,
      HYDROWATCH_DEVICES: devicesFile,
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: String(mqttPort),
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(httpPort),
      INFLUX_URL: inject('influxUrl'),
      INFLUX_BUCKET: `cli_sec_${Date.now()}`,
    });
    try {
      await eventually(() => expect(run.output()).toContain('HTTP API listening'), 20_000);
      expect(run.output()).not.toContain('INSECURE');
      expect(run.output()).toContain('device credentials required');

      await expect(mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0 })).rejects.toThrow(/Not authorized/);
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0, username: 'plant1/pump/P-01', password: password! });
      await client.publishAsync('hydrowatch/plant1/pump/P-01/telemetry', JSON.stringify({ ts: Date.now() - 1000, values: { flow_m3h: 410 } }), { qos: 1 });
      await client.endAsync();

      const base = `http://127.0.0.1:${httpPort}`;
      expect((await fetch(`${base}/api/assets`)).status).toBe(401);
      const assets = await fetch(`${base}/api/assets`, { headers: { authorization: `Bearer ${secret}` } });
      expect(assets.status).toBe(200);
      expect(JSON.stringify(await assets.json())).toContain('P-01');

      run.child.kill('SIGTERM');
      expect(await run.exit).toBe(0);
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it('refuses to start without a device registry, in one line naming HYDROWATCH_DEVICES', async () => {
    const configFile = join(dir, 'tokens-only.yaml');
    await writeFile(configFile, `api:\n  tokens:\n    - name: ops\n      role: admin\n      sha256: ${'a'.repeat(64)}\n`);
    const { code, output } = await runCli(['start'], { HYDROWATCH_CONFIG: configFile, HYDROWATCH_DEVICES: join(dir, 'missing.yaml') });
    expect(code).toBe(2);
    expect(output.trim().split('\n')).toHaveLength(1);
    expect(output).toMatch(/^hydrowatch: config: HYDROWATCH_DEVICES \(mqtt\.devicesFile\): .*missing\.yaml does not exist; register devices with `hydrowatch device add/);
  });

  it('warns in the log when started with HYDROWATCH_INSECURE=1', async () => {
    const httpPort = await freePort();
    const run = startCli(['start'], {
      HYDROWATCH_INSECURE: '1',
      HYDROWATCH_DATA: join(dir, 'insecure-data'),
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: String(await freePort()),
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(httpPort),
      INFLUX_URL: inject('influxUrl'),
    });
    try {
      await eventually(() => expect(run.output()).toContain('HTTP API listening'), 20_000);
      expect(run.output()).toMatch(/WARN +INSECURE MODE \(HYDROWATCH_INSECURE=1\): anonymous MQTT clients may publish and the HTTP API is open/);
      // One answered request: start-up has finished and the SIGTERM handler is in place.
      expect((await fetch(`http://127.0.0.1:${httpPort}/api/assets`)).status).toBe(200);
      run.child.kill('SIGTERM');
      expect(await run.exit).toBe(0);
    } finally {
      run.child.kill('SIGKILL');
    }
  });
});
