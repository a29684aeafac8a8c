// Child processes for the bench: TypeScript children over IPC, and CPU/RSS read from /proc.
import { type ChildProcess, fork } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const ROOT_DIR = path.dirname(BENCH_DIR);
const TSX = import.meta.resolve('tsx');
const CLOCK_TICKS = 100; // USER_HZ on Linux

/** A forked TypeScript module that answers `{id, ...}` requests with `{id, ...}` replies. */
export class Child {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private exitedWith: string | undefined;
  readonly exited: Promise<void>;
  private readonly stderrTail: string[] = [];

  private constructor(
    readonly name: string,
    readonly proc: ChildProcess,
    private readonly logFile: string | undefined,
  ) {
    proc.on('message', (message: { id?: number; error?: string }) => {
      const waiter = message.id === undefined ? undefined : this.waiting.get(message.id);
      if (!waiter) return;
      this.waiting.delete(message.id!);
      if (message.error) waiter.reject(new Error(`${name}: ${message.error}`));
      else waiter.resolve(message);
    });
    proc.stderr?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.stderrTail.push(line);
      while (this.stderrTail.length > 30) this.stderrTail.shift();
      if (process.env.BENCH_DEBUG) process.stderr.write(`[${name}] ${chunk.toString('utf8')}`);
    });
    proc.stdout?.on('data', (chunk: Buffer) => {
      if (process.env.BENCH_DEBUG) process.stderr.write(`[${name}] ${chunk.toString('utf8')}`);
    });
    this.exited = new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        this.exitedWith = `exit ${code ?? signal}`;
        for (const waiter of this.waiting.values()) waiter.reject(new Error(`${name} exited (${this.exitedWith}): ${this.stderr()}`));
        this.waiting.clear();
        resolve();
      }),
    );
  }

  /** Forks `module` (a .ts file) with tsx; `ready` resolves with the child's first message. */
  static async start(
    name: string,
    module: string,
    args: string[] = [],
    options: { execArgv?: string[]; env?: NodeJS.ProcessEnv; logFile?: string } = {},
  ): Promise<{ child: Child; ready: Record<string, unknown> }> {
    // A chatty child writes to a file: a pipe would make the runner read every line.
    const fd = options.logFile === undefined ? undefined : openSync(options.logFile, 'a');
    const proc = fork(module, args, {
      execArgv: ['--import', TSX, ...(options.execArgv ?? [])],
      stdio: fd === undefined ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', fd, fd, 'ipc'],
      env: { ...process.env, ...options.env },
      cwd: ROOT_DIR,
    });
    if (fd !== undefined) closeSync(fd);
    const child = new Child(name, proc, options.logFile);
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s: ${child.stderr()}`)), 60_000);
      proc.once('message', (message: Record<string, unknown>) => {
        clearTimeout(timer);
        resolve(message);
      });
      void child.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${name} exited during start (${child.exitedWith}): ${child.stderr()}`));
      });
    });
    return { child, ready };
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** The last lines the child wrote (from its log file when it has one). */
  stderr(): string {
    if (this.logFile === undefined) return this.stderrTail.join('\n');
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '';
    }
  }

  request<T = Record<string, unknown>>(message: Record<string, unknown>, timeoutMs = 120_000): Promise<T> {
    if (this.exitedWith) return Promise.reject(new Error(`${this.name} has exited (${this.exitedWith}): ${this.stderr()}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.name}: no answer to ${String(message.type)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.proc.send({ ...message, id });
    });
  }

  /** Asks the child to stop (`{type: 'stop'}`), then SIGKILL after `graceMs`. Safe to call twice. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.exitedWith) return;
    const killer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    try {
      this.proc.send({ type: 'stop', id: 0 });
    } catch {
      this.proc.kill('SIGKILL');
    }
    await this.exited;
    clearTimeout(killer);
  }
}

/** In a child: answers requests with `handler`, reports `ready`, exits on `stop` after `onStop`. */
export function serveChild(handler: (message: Record<string, unknown>) => Promise<Record<string, unknown>> | Record<string, unknown>, onStop: () => Promise<void>): void {
  process.on('message', (message: Record<string, unknown> & { id: number; type: string }) => {
    if (message.type === 'stop') {
      void onStop().finally(() => process.exit(0));
      return;
    }
    Promise.resolve()
      .then(() => handler(message))
      .then(
        (reply) => process.send?.({ ...reply, id: message.id }),
        (error: unknown) => process.send?.({ id: message.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
  });
  // The parent died: do not linger.
  process.on('disconnect', () => void onStop().finally(() => process.exit(0)));
}

/** User + system CPU seconds a process has used (from /proc/<pid>/stat); 0 if it is gone. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Resident set size in bytes (VmRSS), 0 if the process is gone. */
export function rssBytes(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb === undefined ? 0 : Number(kb) * 1024;
  } catch {
    return 0;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
