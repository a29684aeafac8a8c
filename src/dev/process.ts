// Runs a local server process (influxd, mosquitto) with its output in a log file and a reliable stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { findBinary } from './apt.js';

export interface ServiceOptions {
  /** File that receives the process's stdout and stderr (appended). */
  logFile: string;
  /** Also called with every output line. */
  log?: (line: string) => void;
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly pid: number | undefined;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  /** Last output lines, for error messages. */
  logTail(): string;
  /** SIGTERM, then SIGKILL after graceMs; safe to call more than once. */
  stop(graceMs?: number): Promise<void>;
}

const TAIL_LINES = 40;

export function spawnService(command: string, args: string[], opts: ServiceOptions): ServiceProcess {
  const logStream = createWriteStream(opts.logFile, { flags: 'a' });
  logStream.on('error', () => undefined); // a lost log file must not crash the caller
  // setpriv (util-linux) makes the kernel SIGTERM the server if we die without running exit hooks.
  const setpriv = findBinary('setpriv');
  const [cmd, argv] = setpriv === undefined ? [command, args] : [setpriv, ['--pdeathsig', 'SIGTERM', '--', command, ...args]];
  // Its own process group: Ctrl-C in a terminal reaches us, and we stop the server after draining into it.
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const tail: string[] = [];
  let partial = '';
  const onData = (chunk: Buffer): void => {
    logStream.write(chunk);
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      opts.log?.(line);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);

  // A parent that exits without stop() must not leave the server running.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);

  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (done) return;
      done = true;
      process.off('exit', killOnExit);
      resolve({ code, signal });
    };
    child.once('exit', finish);
    // spawn failures (ENOENT, EACCES) emit 'error' and maybe no 'exit'.
    child.once('error', (err) => {
      tail.push(`spawn ${command}: ${err.message}`);
      finish(null, null);
    });
  });
  child.once('close', () => {
    if (partial) onData(Buffer.from('\n'));
    logStream.end();
  });

  let stopping: Promise<void> | undefined;
  return {
    child,
    pid: child.pid,
    exited,
    hasExited: () => done,
    logTail: () => [...tail, partial].filter(Boolean).join('\n'),
    stop(graceMs = 5_000): Promise<void> {
      stopping ??= (async () => {
        if (done) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/**
 * Waits for a freshly spawned server to be ready (`wait` gets a check that fails at once if the
 * process exited). On failure stops it, deletes its data dir and throws; on success returns its
 * dispose(): stop, then delete the data dir, once however often it is called.
 */
export async function readyOrCleanUp(name: string, proc: ServiceProcess, dataDir: string, wait: (check: () => void) => Promise<void>): Promise<() => Promise<void>> {
  const cleanUp = async (): Promise<void> => {
    await proc.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await wait(() => {
      if (proc.hasExited()) throw new Error(`${name} exited during startup:\n${proc.logTail()}`);
    });
  } catch (error) {
    await cleanUp();
    throw error;
  }
  let disposing: Promise<void> | undefined;
  return () => (disposing ??= cleanUp());
}
