// Contender C, the do-it-yourself peer: Node-RED 4 with node-red-contrib-influxdb, headless, on
// a flow this file generates. Installed at bench time with npm into a folder outside the project
// (os.tmpdir()/hydrowatch-bench/node-red), never into its node_modules or lockfile.
//   C-node-red:       mqtt in → json → function (shape) → influxdb out   (one write per reading)
//   C-node-red-batch: mqtt in → json → function (shape) → join (5000 or 1 s) → influxdb batch
// The function node is the few lines any such flow needs to turn {ts, seq, values} and the topic
// into fields, tags and a time; influxdb out cannot read a nested object or a topic by itself.
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDatabase, dropDatabase } from '../lib/influx.js';
import { sleep } from '../lib/proc.js';
import type { BenchContext, Contender, RunningContender } from './types.js';

export const NODE_RED_DIR = path.join(os.tmpdir(), 'hydrowatch-bench', 'node-red');
const PACKAGES = ['node-red@4', 'node-red-contrib-influxdb@0.7'];
const RED_JS = path.join(NODE_RED_DIR, 'node_modules', 'node-red', 'red.js');

function installed(): boolean {
  try {
    const version = (JSON.parse(readFileSync(path.join(NODE_RED_DIR, 'node_modules', 'node-red', 'package.json'), 'utf8')) as { version: string }).version;
    return version.startsWith('4.') && existsSync(path.join(NODE_RED_DIR, 'node_modules', 'node-red-contrib-influxdb', 'package.json'));
  } catch {
    return false;
  }
}

/** npm install --prefix <outside the project> node-red@4 node-red-contrib-influxdb (once; bounded to 10 minutes). */
export async function ensureNodeRed(log: (line: string) => void): Promise<void> {
  if (installed()) return;
  await mkdir(NODE_RED_DIR, { recursive: true });
  log(`installing ${PACKAGES.join(' ')} into ${NODE_RED_DIR} (once)`);
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const npm = spawn('npm', ['install', '--prefix', NODE_RED_DIR, '--no-audit', '--no-fund', '--loglevel=error', ...PACKAGES], {
      cwd: NODE_RED_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    npm.stdout.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    npm.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    const timer = setTimeout(() => npm.kill('SIGKILL'), 600_000);
    npm.once('error', reject);
    npm.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0 && installed()) resolve();
      else reject(new Error(`npm install of Node-RED failed (exit ${code}):\n${output}`));
    });
  });
  log(`Node-RED installed in ${Math.round((Date.now() - started) / 1000)} s`);
}

/** The flow, as Node-RED's editor would export it. */
export function nodeRedFlow(options: { batch: boolean; brokerPort: number; clientId: string; influxPort: number; db: string }): unknown[] {
  // Ids like the editor's: Node-RED takes any property whose value is another node's id for a
  // reference to it, so an id such as 'json' (a node type) makes a node depend on itself.
  const id = { tab: 'a1b2c3d4e5f60001', broker: 'a1b2c3d4e5f60002', influx: 'a1b2c3d4e5f60003', in: 'a1b2c3d4e5f60004', json: 'a1b2c3d4e5f60005', shape: 'a1b2c3d4e5f60006', join: 'a1b2c3d4e5f60007', write: 'a1b2c3d4e5f60008' };
  const tab = id.tab;
  const shapeOne = [
    "const [, site, kind, asset] = msg.topic.split('/');",
    'const reading = msg.payload;',
    'msg.measurement = kind;',
    'msg.payload = [Object.assign({}, reading.values, { seq: reading.seq, time: reading.ts }), { site, asset }];',
    'return msg;',
  ].join('\n');
  const shapeBatch = [
    "const [, site, kind, asset] = msg.topic.split('/');",
    'const reading = msg.payload;',
    'msg.payload = { measurement: kind, tags: { site, asset }, fields: Object.assign({}, reading.values, { seq: reading.seq }), timestamp: reading.ts };',
    'return msg;',
  ].join('\n');
  const writer = options.batch
    ? [
        { id: id.join, type: 'join', z: tab, name: 'batch of 5000 or 1 s', mode: 'custom', build: 'array', property: 'payload', propertyType: 'msg', key: 'topic', joiner: '\\n', joinerType: 'str', accumulate: false, timeout: '1', count: '5000', reduceRight: false, wires: [[id.write]] },
        { id: id.write, type: 'influxdb batch', z: tab, influxdb: id.influx, precision: 'ms', retentionPolicy: '', name: 'influxdb batch', wires: [] },
      ]
    : [{ id: id.write, type: 'influxdb out', z: tab, influxdb: id.influx, name: 'influxdb out', measurement: 'pump', precision: 'ms', retentionPolicy: '', wires: [] }];
  return [
    { id: tab, type: 'tab', label: 'hydrowatch bench', disabled: false },
    { id: id.broker, type: 'mqtt-broker', name: 'bench broker', broker: '127.0.0.1', port: String(options.brokerPort), clientid: options.clientId, autoConnect: true, usetls: false, protocolVersion: '4', keepalive: '60', cleansession: true },
    { id: id.influx, type: 'influxdb', hostname: '127.0.0.1', port: String(options.influxPort), protocol: 'http', database: options.db, name: 'bench influx', usetls: false, influxdbVersion: '1.x' },
    { id: id.in, type: 'mqtt in', z: tab, name: '', topic: 'hydrowatch/+/+/+/telemetry', qos: '1', datatype: 'utf8', broker: id.broker, nl: false, rap: true, rh: 0, inputs: 0, wires: [[id.json]] },
    { id: id.json, type: 'json', z: tab, name: '', property: 'payload', action: 'obj', pretty: false, wires: [[id.shape]] },
    { id: id.shape, type: 'function', z: tab, name: 'shape', func: options.batch ? shapeBatch : shapeOne, outputs: 1, noerr: 0, wires: [[options.batch ? id.join : id.write]] },
    ...writer,
  ];
}

function nodeRed(batch: boolean): Contender {
  return {
    id: batch ? 'C-node-red-batch' : 'C-node-red',
    group: 'C',
    expectedRate: batch ? 25_000 : 4000,
    label: batch ? 'Node-RED 4: mqtt in → json → join 5000 → influxdb batch' : 'Node-RED 4: mqtt in → json → influxdb out',
    prepare: (ctx) => ensureNodeRed(ctx.log),
    async start(ctx: BenchContext, name: string): Promise<RunningContender> {
      await createDatabase(ctx.influxUrl, name);
      const flowFile = path.join(ctx.workDir, `${name}-flows.json`);
      const settingsFile = path.join(ctx.workDir, `${name}-settings.cjs`);
      const logFile = path.join(ctx.workDir, `${name}.log`);
      const brokerPort = Number(new URL(ctx.mosquitto.url).port);
      const influxPort = Number(new URL(ctx.influxUrl).port);
      await writeFile(flowFile, JSON.stringify(nodeRedFlow({ batch, brokerPort, clientId: `nodered-${name}`, influxPort, db: name }), null, 1));
      await writeFile(
        settingsFile,
        `module.exports = ${JSON.stringify({
          flowFile,
          credentialSecret: false,
          // Headless: no editor, no HTTP endpoints, nothing listens.
          httpAdminRoot: false,
          httpNodeRoot: false,
          uiHost: '127.0.0.1',
          telemetry: { enabled: false },
          diagnostics: { enabled: false },
          externalModules: { autoInstall: false, palette: { allowInstall: false } },
          logging: { console: { level: 'info', metrics: false, audit: false } },
        })};\n`,
      );
      const fd = openSync(logFile, 'a');
      const proc = spawn(process.execPath, [RED_JS, '--userDir', NODE_RED_DIR, '--settings', settingsFile], { stdio: ['ignore', fd, fd], cwd: NODE_RED_DIR });
      closeSync(fd);
      let exited = false;
      const exit = new Promise<void>((resolve) => proc.once('exit', () => ((exited = true), resolve())));
      const stop = async (): Promise<void> => {
        if (!exited) {
          proc.kill('SIGTERM');
          // A backlog of writes (per-message flow after a burst) is not waited for: it is measured already.
          const killer = setTimeout(() => proc.kill('SIGKILL'), 2000);
          await exit;
          clearTimeout(killer);
        }
      };
      try {
        // Ready once its MQTT client is connected (it subscribes right after).
        const deadline = Date.now() + 60_000;
        for (;;) {
          const text = readFileSync(logFile, 'utf8');
          if (/Connected to broker/.test(text)) break;
          if (exited || Date.now() > deadline) throw new Error(`Node-RED did not connect to the broker:\n${text.split('\n').slice(-20).join('\n')}`);
          await sleep(100);
        }
        await sleep(500);
      } catch (error) {
        await stop();
        throw error;
      }
      return {
        brokerUrl: ctx.mosquitto.url,
        db: name,
        pids: () => (exited ? [] : [proc.pid!]),
        brokerPid: () => ctx.mosquitto.pid,
        async stop() {
          await stop();
          await dropDatabase(ctx.influxUrl, name);
        },
      };
    },
  };
}

export const nodeRedPerMessage = nodeRed(false);
export const nodeRedBatch = nodeRed(true);
