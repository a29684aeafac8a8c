// Installs the Debian packages behind the real servers (influxd, mosquitto) that dev tooling and tests start.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** Machine-wide lock so concurrent callers (vitest workers, demo + tests) never run apt-get at the same time. */
export const APT_LOCK_FILE = '/tmp/hydrowatch-apt.lock';

// Daemons such as mosquitto live in sbin, which a non-login PATH often lacks.
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

// Missing or stale package lists: the package is unknown, or the listed version is gone from the mirror.
const NEEDS_UPDATE = /Unable to locate package|has no installation candidate|is not available, but is referred to|Failed to fetch|404 {1,2}Not Found/;

/** Absolute path of an executable found on PATH or in the usual bin/sbin dirs, or undefined. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

// One install at a time within this process; the flock covers other processes.
let queue: Promise<unknown> = Promise.resolve();

/**
 * Makes sure every binary in `binaries` (binary name → Debian package) is installed, running
 * `apt-get install` once for the missing ones. Returns binary name → absolute path.
 */
export async function ensureDebianPackages<B extends string>(binaries: Record<B, string>): Promise<Record<B, string>> {
  if (missingOf(binaries).length > 0) {
    const run = queue.then(() => installMissing(binaries));
    queue = run.catch(() => undefined);
    await run;
  }
  const found: Partial<Record<B, string>> = {};
  for (const bin of Object.keys(binaries) as B[]) {
    const where = findBinary(bin);
    if (where === undefined) throw new Error(`${bin} is still missing after installing Debian package ${binaries[bin]}`);
    found[bin] = where;
  }
  return found as Record<B, string>;
}

function missingOf(binaries: Readonly<Record<string, string>>): string[] {
  return Object.keys(binaries).filter((bin) => findBinary(bin) === undefined);
}

async function installMissing(binaries: Readonly<Record<string, string>>): Promise<void> {
  const missing = missingOf(binaries); // again: an earlier queued call may have installed them
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((bin) => binaries[bin] as string))];
  const command = `apt-get install -y ${packages.join(' ')}`;
  if (process.getuid?.() !== 0) {
    throw new Error(`Missing ${missing.join(', ')}: install with \`sudo ${command}\` and try again`);
  }
  if (findBinary('apt-get') === undefined) {
    throw new Error(`Missing ${missing.join(', ')} and apt-get is not available: install Debian package(s) ${packages.join(' ')} by hand`);
  }
  process.stderr.write(`hydrowatch: installing Debian package(s) ${packages.join(' ')} (missing ${missing.join(', ')})\n`);
  const install = [
    'install', '-y', '-q',
    // Wait for apt/dpkg locks held by unrelated apt runs instead of failing at once.
    '-o', 'DPkg::Lock::Timeout=300',
    // Never prompt about changed config files.
    '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold',
    ...packages,
  ];
  let result = await aptGet(install);
  if (result.code !== 0 && NEEDS_UPDATE.test(result.output)) {
    // Package lists are missing or stale (fresh machine): refresh them once, then retry.
    const update = await aptGet(['update', '-q', '-o', 'DPkg::Lock::Timeout=300']);
    if (update.code !== 0) throw new Error(`apt-get update failed (exit ${update.code}):\n${tail(update.output)}`);
    result = await aptGet(install);
  }
  if (result.code !== 0) throw new Error(`\`${command}\` failed (exit ${result.code}):\n${tail(result.output)}`);
}

interface AptResult {
  code: number;
  output: string;
}

function aptGet(args: string[]): Promise<AptResult> {
  const flock = findBinary('flock');
  // flock is in util-linux (Essential on Debian); without it, fall back to apt's own dpkg lock.
  const [cmd, argv] = flock === undefined ? ['apt-get', args] : [flock, ['-w', '900', APT_LOCK_FILE, 'apt-get', ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', NEEDRESTART_MODE: 'a', LC_ALL: 'C' },
    });
    let output = '';
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-64_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output }));
  });
}

function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
