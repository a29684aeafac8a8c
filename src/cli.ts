// `hydrowatch start | simulate | record | replay | demo`: the package's bin. Errors reach the user as one line.
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './log.js';
import { startService } from './service.js';
import { registerSecurityCommands } from './security/cli.js';

const program = new Command('hydrowatch').description('Telemetry for water-supply networks: MQTT → validation → InfluxDB → alerts');

program
  .command('start')
  .description('run the service: embedded MQTT broker (unless MQTT_URL is set), ingestor, HTTP API')
  .option('-c, --config <file>', 'YAML config file (default: HYDROWATCH_CONFIG or ./hydrowatch.yaml)')
  .action(async (opts: { config?: string }) => {
    const config = loadConfig(process.env, opts.config);
    const log = createLogger(config.logLevel);
    // Signals are handled from the first moment: a SIGTERM during start-up still drains what was taken.
    const started = startService(config, { log });
    stopOnSignal(async () => (await started).close());
    await started;
  });

program
  .command('simulate')
  .description('simulate the demo water network as MQTT devices publishing to a broker')
  .option('--broker <url>', 'MQTT broker URL', process.env.MQTT_URL ?? `mqtt://127.0.0.1:${process.env.MQTT_PORT ?? 1883}`)
  .option('--speed <n>', 'simulated seconds per real second', positiveNumber, 1)
  .option('--seed <n>', 'random seed (same seed, same run)', positiveNumber, 1)
  .option('--backfill-hours <h>', 'start this many simulated hours in the past (default 2 when --speed > 1)', nonNegativeNumber)
  .option('-c, --config <file>', 'config file with the asset registry (default: the map’s registry, else the demo network)')
  .option('--scenario <names>', 'scenario(s) from simulators/scenarios/ or YAML files, comma-separated to compose (e.g. heatwave,pump-trip)')
  .option('--days <n>', 'days to run the scenario (default: the scenario’s own)', positiveInteger)
  .option('--network <file.inp>', 'EPANET model (default: the one the map names)')
  .option('--map <file.yaml>', 'which registry asset is which EPANET element (default: simulators/networks/demo-map.yaml)')
  .option('--hydraulics <engine>', 'epanet or mass-balance', hydraulicsEngine, 'epanet')
  .option('--out <feed.jsonl[.gz]>', 'write the feed to a file, with no broker, as fast as it computes (ground truth next to it)')
  .action(async (opts: { broker: string; speed: number; seed: number; backfillHours?: number; config?: string; scenario?: string; days?: number; network?: string; map?: string; hydraulics: 'epanet' | 'mass-balance'; out?: string }) => {
    const { runSimulateCommand } = await import('../simulators/cli.js');
    await runSimulateCommand(opts);
  });

program
  .command('record')
  .description('record what a broker carries (any devices) to a JSON Lines feed, until Ctrl-C')
  .requiredOption('--out <feed.jsonl[.gz]>', 'feed file to write (.gz compresses)')
  .option('--broker <url>', 'MQTT broker URL', process.env.MQTT_URL ?? `mqtt://127.0.0.1:${process.env.MQTT_PORT ?? 1883}`)
  .option('--topics <filters...>', 'topic filters (default: every device’s telemetry, status and command topics; # for everything)')
  .option('--duration <s>', 'stop after this many seconds', positiveNumber)
  .option('-c, --config <file>', 'config file (MQTT credentials)')
  .action(async (opts: { out: string; broker: string; topics?: string[]; duration?: number; config?: string }) => {
    const { runRecordCommand } = await import('../simulators/cli.js');
    await runRecordCommand({ ...opts, durationS: opts.duration });
  });

program
  .command('replay')
  .description('publish a recorded or simulated feed to a broker at any speed')
  .argument('<feed>', 'feed file (.jsonl or .jsonl.gz)')
  .option('--broker <url>', 'MQTT broker URL', process.env.MQTT_URL ?? `mqtt://127.0.0.1:${process.env.MQTT_PORT ?? 1883}`)
  .option('--speed <n|max>', 'recorded seconds per real second, or max', replaySpeed, 1)
  .option('--loop', 'start over at the end, until Ctrl-C')
  .option('--shift-to-now', 'move the readings’ timestamps so the last one is now')
  .option('-c, --config <file>', 'config file (MQTT credentials)')
  .action(async (file: string, opts: { broker: string; speed: number | 'max'; loop?: boolean; shiftToNow?: boolean; config?: string }) => {
    const { runReplayCommand } = await import('../simulators/cli.js');
    await runReplayCommand({ file, ...opts });
  });

program
  .command('backtest')
  .description('run a scenario through the real pipeline and alert rules (no broker) and score the alerts against its ground truth')
  .option('--scenario <names>', 'scenario(s), comma-separated to compose', 'heatwave')
  .option('--rules <file>', 'YAML with `rules:` (or `alerts: rules:`); default: the shipped rules')
  .option('-c, --config <file>', 'config file with the asset registry', 'config/demo-network.yaml')
  .option('--seed <n>', 'random seed', positiveNumber, 7)
  .option('--days <n>', 'days to run (default: the scenario’s own)', positiveInteger)
  .option('--json', 'print the report as JSON (for CI)')
  .option('--check', 'exit 1 when a detectable fault was missed or an alert was false')
  .action(async (opts: { scenario: string; rules?: string; config: string; seed: number; days?: number; json?: boolean; check?: boolean }) => {
    const { runBacktestCommand } = await import('../simulators/backtest.js');
    await runBacktestCommand(opts);
  });

program
  .command('demo')
  .description('everything on one machine: a local InfluxDB, the service, and the simulated network feeding it')
  .option('--speed <n>', 'simulator speed', positiveNumber, 60)
  .option('--seed <n>', 'simulator seed', positiveNumber, 7)
  .action(async (opts: { speed: number; seed: number }) => {
    const { runDemo } = await import('./demo.js');
    await runDemo(opts);
  });

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}

function replaySpeed(value: string): number | 'max' {
  return value === 'max' ? 'max' : positiveNumber(value);
}

function hydraulicsEngine(value: string): 'epanet' | 'mass-balance' {
  if (value !== 'epanet' && value !== 'mass-balance') throw new InvalidArgumentError('expected epanet or mass-balance');
  return value;
}

function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number ≥ 0');
  return n;
}

/** SIGINT/SIGTERM stop cleanly; a second signal stops at once. */
export function stopOnSignal(close: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`hydrowatch: ${signal} again, exiting now\n`);
      process.exit(130);
    }
    stopping = true;
    close().then(
      () => process.exit(0),
      (error: unknown) => fail(error),
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

function fail(error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`hydrowatch: ${error.message}\n`);
    process.exit(2);
  }
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`hydrowatch: ${code === 'EADDRINUSE' ? `a port is already in use (${message})` : message}\n`);
  process.exit(1);
}

// `hydrowatch device add|remove|list`, `hydrowatch token add`.
registerSecurityCommands(program);

program.parseAsync(process.argv).catch(fail);
