// The `hydrowatch` command as an operator runs it: one-line errors, clean stop on SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServer } from 'node:net';
import mqtt from 'mqtt';
import { describe, expect, inject, it } from 'vitest';
import { influxQuery } from '../src/dev/influxd.js';
import { freePort } from '../src/dev/ports.js';
import { eventually } from './helpers/service.js';

const CLI = ['--import', 'tsx', 'src/cli.ts'];

function startCli(args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  // Its own spool directory, not ./data of the working tree other runs share.
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hydrowatch-cli-data-'));
  const child = spawn(process.execPath, [...CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HYDROWATCH_DATA: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.on('exit', () => rmSync(dataDir, { recursive: true, force: true }));
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exit };
}

async function runCli(args: string[], env: Record<string, string>) {
  const run = startCli(args, env);
  return { code: await run.exit, output: run.output() };
}

describe('hydrowatch start', () => {
  it.each([
    [{ HYDROWATCH_INSECURE: '1', MQTT_PORT: 'abc' }, /^hydrowatch: config: MQTT_PORT \(mqtt\.port\): /],
    [{ HYDROWATCH_INSECURE: '1', INFLUX_URL: 'influx:8086' }, /^hydrowatch: config: INFLUX_URL \(influx\.url\): /],
    [{ HYDROWATCH_INSECURE: '1', HYDROWATCH_CONFIG: '/nonexistent/hydrowatch.yaml' }, /^hydrowatch: config: HYDROWATCH_CONFIG: /],
    // Secure by default: without HYDROWATCH_INSECURE=1 it needs API tokens and a device registry.
    [{}, /^hydrowatch: config: api\.tokens: no API tokens are configured/],
  ])('refuses a bad config with one line naming the key: %j', async (env, message) => {
    const { code, output } = await runCli(['start'], env);
    expect(code).toBe(2);
    expect(output.trim().split('\n')).toHaveLength(1);
    expect(output).toMatch(message);
    expect(output).not.toMatch(/\n\s+at /);
  });

  it('says in one line when its port is taken', async () => {
    const blocker = createServer();
    const port = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)));
    try {
      const { code, output } = await runCli(['start'], {
        HYDROWATCH_INSECURE: '1',
        MQTT_HOST: '127.0.0.1',
        MQTT_PORT: String(port),
        HTTP_PORT: String(await freePort()),
        INFLUX_URL: inject('influxUrl'),
      });
      expect(code).toBe(1);
      expect(output).toMatch(/hydrowatch: a port is already in use/);
      expect(output).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
    }
  });

  it('writes every acknowledged reading before it exits on SIGTERM', async () => {
    const influxUrl = inject('influxUrl');
    const bucket = `cli_${Date.now()}`;
    const mqttPort = await freePort();
    const run = startCli(['start'], {
      HYDROWATCH_INSECURE: '1',
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: String(mqttPort),
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(await freePort()),
      INFLUX_URL: influxUrl,
      INFLUX_BUCKET: bucket,
    });
    try {
      await eventually(() => expect(run.output()).toContain('HTTP API listening'), 20_000);
      const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`);
      const ts = Date.parse('2026-07-14T06:00:00Z');
      // Readings sit in the spool for up to the flush interval (1 s): SIGTERM comes well before.
      await Promise.all(
        Array.from({ length: 500 }, (_, i) =>
          device.publishAsync('hydrowatch/sig/pump/P-1/telemetry', JSON.stringify({ ts: ts + i, seq: i, values: { flow_m3h: i } }), { qos: 1 }),
        ),
      );
      await device.endAsync();
      run.child.kill('SIGTERM');
      expect(await run.exit).toBe(0);
      const results = await influxQuery(influxUrl, bucket, 'SELECT count("flow_m3h") FROM "pump"');
      expect(results[0]?.series?.[0]?.values?.[0]?.[1]).toBe(500);
    } finally {
      run.child.kill('SIGKILL');
    }
  });
});
