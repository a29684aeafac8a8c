// The alert leader's view of a message: decode and validate with the pipeline's own stages (the
// one schema), then hand readings and commands to the alert engine. Nothing is stored here: the
// ingestor that took the message from its shared subscription stores it.
import type { AlertEngine } from '../alerts/engine.js';
import type { Logger } from '../log.js';
import { decode } from '../pipeline/decode.js';
import { type AssetRegistry, enrich } from '../pipeline/enrich.js';
import type { Clock, InboundMessage } from '../pipeline/types.js';
import { validate } from '../pipeline/validate.js';

export interface AlertInputDeps {
  alerts: AlertEngine;
  registry: AssetRegistry;
  strictAssets: boolean;
  clock: Clock;
  log: Logger;
}

/** Evaluates one message; bad input is the storing ingestor's to count, so it is skipped here. */
export function alertInput(deps: AlertInputDeps): (message: InboundMessage) => void {
  return (message) => {
    const decoded = decode(message);
    if (!decoded.ok) return;
    const validated = validate(decoded.value, deps.clock);
    if (!validated.ok) return;
    const value = validated.value;
    if (value.channel === 'command') return deps.alerts.onCommand(value.command.site, value.command.asset, value.command.command, value.command.ts);
    if (value.channel !== 'telemetry') return;
    if (!enrich(value.reading, deps.registry, deps.strictAssets).ok) return;
    try {
      deps.alerts.onReading(value.reading, message.receivedAt);
    } catch (error) {
      deps.log.error(`alert evaluation failed on ${value.reading.site}/${value.reading.asset}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
}
