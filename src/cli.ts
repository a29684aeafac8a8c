// `hydrowatch start | simulate | demo`: the package's bin. Errors reach the user as one line.
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
  .option('-c, --config <file>', 'config file with the asset registry', 'config/demo-network.yaml')
  .action(async (opts: { broker: string; speed: number; seed: number; backfillHours?: number; config: string }) => {
    const { runSimulateCommand } = await import('../simulators/cli.js');
    await runSimulateCommand(opts);
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
