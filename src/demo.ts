// `npm run demo`: a local InfluxDB (installed from Debian if missing), the service with its
// embedded broker, and the simulated network publishing to it, with a live one-line status.
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { loadConfig } from './config.js';
import { startInfluxd } from './dev/influxd.js';
import { createLogger } from './log.js';
import { Metrics } from './metrics.js';
import { startService } from './service.js';
import { startSimulation } from '../simulators/run.js';

export interface DemoOptions {
  speed: number;
  seed: number;
}

export async function runDemo(options: DemoOptions): Promise<void> {
  const log = createLogger('info');
  const dataDir = resolve('.hydrowatch/demo');
  log.info('starting a local InfluxDB (installs Debian’s influxdb package if missing)…');
  const influxd = await startInfluxd({ dataDir: `${dataDir}/influxdb`, port: await preferPort(8086) });
  const env = {
    ...process.env,
    HYDROWATCH_INSECURE: '1',
    INFLUX_URL: influxd.url,
    MQTT_PORT: String(await preferPort(Number(process.env.MQTT_PORT ?? 1883))),
    HTTP_PORT: String(await preferPort(Number(process.env.HTTP_PORT ?? 8080))),
    HYDROWATCH_DATA: `${dataDir}/data`,
  };
  const config = loadConfig(env, 'config/demo-network.yaml');
  const service = await startService(config, { log });
  const simulation = await startSimulation({ brokerUrl: service.mqttUrl, assets: config.assets, seed: options.seed, speed: options.speed });

  process.stdout.write(
    [
      '',
      'hydrowatch demo is running',
      `  MQTT broker   ${service.mqttUrl}   (try: mosquitto_sub -p ${new URL(service.mqttUrl).port} -t 'hydrowatch/#' -v)`,
      `  HTTP API      ${service.httpUrl}   (${service.httpUrl}/api/assets, ${service.httpUrl}/health, OpenAPI at ${service.httpUrl}/docs)`,
      `  Alarm console ${service.httpUrl}/console/   (acknowledge, shelve, declare a heat wave)`,
      `  InfluxDB      ${influxd.url}   database "${config.influx.bucket}" (data in ${dataDir})`,
      `  simulator     ${config.assets.length} devices at ${options.speed}× real time, seed ${options.seed}`,
      '  Ctrl-C stops everything.',
      '',
    ].join('\n') + '\n',
  );

  const status = statusLine(service.metrics, () => service.spool.depth, () => simulation.stats());
  const interactive = process.stdout.isTTY === true;
  const timer = setInterval(
    async () => {
      const line = await status();
      if (interactive) process.stdout.write(`\r${line.padEnd(110)}`);
      else process.stdout.write(`${line}\n`);
    },
    interactive ? 1000 : 10_000,
  );

  let stopping = false;
  const stop = async () => {
    if (stopping) process.exit(130);
    stopping = true;
    clearInterval(timer);
    process.stdout.write('\nstopping…\n');
    await simulation.stop();
    await service.close();
    await influxd.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function statusLine(metrics: Metrics, spoolDepth: () => number, sim: () => { simTimeMs: number; caughtUp: boolean }) {
  let last = { at: Date.now(), accepted: 0 };
  return async (): Promise<string> => {
    const accepted = await Metrics.total(metrics.accepted);
    const rejected = await Metrics.total(metrics.rejected);
    const written = await Metrics.total(metrics.written);
    const now = Date.now();
    const rate = ((accepted - last.accepted) * 1000) / Math.max(1, now - last.at);
    last = { at: now, accepted };
    const { simTimeMs, caughtUp } = sim();
    const simTime = new Date(simTimeMs).toISOString().slice(0, 16).replace('T', ' ');
    return `readings/s ${rate.toFixed(0).padStart(5)} | readings ${accepted} | rejected ${rejected} | written ${written} | spool ${spoolDepth()} | sim ${simTime}Z${caughtUp ? ' (live)' : ''}`;
  };
}

/** The usual port when it is free, another free one when it is not. */
async function preferPort(preferred: number): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<number | undefined>((resolvePort) => {
      const server = createServer();
      server.once('error', () => resolvePort(undefined));
      server.listen(port, '0.0.0.0', () => {
        const address = server.address();
        const bound = typeof address === 'object' && address ? address.port : undefined;
        server.close(() => resolvePort(bound));
      });
    });
  return (await tryListen(preferred)) ?? (await tryListen(0))!;
}
