// Test helpers for crash tests: `hydrowatch start` as a child process that can be killed with
// SIGKILL, and a field device that streams numbered readings at QoS 1 and remembers which ones
// the broker acknowledged.
import { type ChildProcess, spawn } from 'node:child_process';
import mqtt, { type MqttClient } from 'mqtt';

const CLI = ['--import', 'tsx', 'src/cli.ts', 'start'];

export interface HydrowatchProcess {
  readonly child: ChildProcess;
  output(): string;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL: no handler runs, nothing is flushed. Resolves once the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `hydrowatch start` and resolves once its HTTP API listens. */
export async function startHydrowatch(env: Record<string, string>, timeoutMs = 30_000): Promise<HydrowatchProcess> {
  const child = spawn(process.execPath, CLI, {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HYDROWATCH_INSECURE: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let exited = false;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      exited = true;
      resolve({ code, signal });
    }),
  );
  const proc: HydrowatchProcess = {
    child,
    output: () => output,
    exit,
    async kill9() {
      if (!exited) child.kill('SIGKILL');
      await exit;
    },
    async stop() {
      if (!exited) child.kill('SIGTERM');
      return (await exit).code;
    },
  };
  const deadline = Date.now() + timeoutMs;
  while (!output.includes('HTTP API listening')) {
    if (exited || Date.now() > deadline) {
      await proc.kill9();
      throw new Error(`hydrowatch did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return proc;
}

/**
 * A device with a persistent session (clean: false) publishing seq 1..N at QoS 1, at most
 * `window` unacknowledged at a time. mqtt.js keeps unacknowledged QoS 1 publishes in its
 * outgoing store and sends them again after every reconnect.
 */
export class StreamingDevice {
  readonly client: MqttClient;
  readonly acked = new Set<number>();
  readonly errors: Error[] = [];
  private sent = 0;
  private last = Number.POSITIVE_INFINITY;

  constructor(
    url: string,
    clientId: string,
    private readonly topic: string,
    private readonly payload: (seq: number) => string,
  ) {
    this.client = mqtt.connect(url, { clientId, clean: false, reconnectPeriod: 200, connectTimeout: 5000 });
    this.client.on('error', () => undefined); // connection refused while the broker is down: it retries
  }

  get inFlight(): number {
    return this.sent - this.acked.size - this.errors.length;
  }

  /**
   * Publishes `from`..`to`; resolves when all were handed to mqtt.js (not when acknowledged).
   * `pauseMs` between publishes paces a device that would otherwise outrun a broker restart.
   */
  async stream(from: number, to: number, { window = 20, pauseMs = 0 } = {}): Promise<void> {
    for (let seq = from; seq <= Math.min(to, this.last); seq++) {
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      while (this.inFlight >= window) await new Promise((resolve) => setTimeout(resolve, 2));
      this.sent += 1;
      this.client.publish(this.topic, this.payload(seq), { qos: 1 }, (error) => {
        if (error) this.errors.push(error);
        else this.acked.add(seq);
      });
    }
  }

  /** Ends a running stream() early, after seq `last`; returns it. */
  finishAt(last: number): number {
    this.last = last;
    return last;
  }

  /** How many publishes were handed to mqtt.js so far. */
  get sentCount(): number {
    return this.sent;
  }

  /** Resolves once at least `count` publishes were acknowledged. */
  async ackedAtLeast(count: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.acked.size < count) {
      if (this.errors.length > 0) throw this.errors[0]!;
      if (Date.now() > deadline) throw new Error(`only ${this.acked.size} of ${count} publishes acknowledged`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  async close(): Promise<void> {
    await this.client.endAsync(true).catch(() => undefined);
  }
}
