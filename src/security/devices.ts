// The device registry: MQTT credentials of the embedded broker, one YAML file
// (`mqtt.devicesFile`, HYDROWATCH_DEVICES, default ./devices.yaml). Passwords are scrypt hashes.
// The file is re-read when it changes, so `hydrowatch device add|remove` needs no restart.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isMap, isSeq, parseDocument, stringify, YAMLSeq } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../config.js';
import type { Logger } from '../log.js';
import { replaceFileSync } from '../replace-file.js';
import { Id, Kind } from '../schema.js';
import { RESERVED_SITES, type Scope } from './acl.js';
import { digestsEqual, isScryptHash, scryptBurn, scryptVerify, sha256Hex } from './hash.js';

export const USERNAME_PATTERN = /^[A-Za-z0-9_.@:/-]{1,128}$/;

const Site = Id.refine((site) => !(RESERVED_SITES as readonly string[]).includes(site), { message: `"alerts" is reserved for the alert topics` });

export const DeviceEntry = z
  .strictObject({
    username: z.string().regex(USERNAME_PATTERN, 'usernames are 1–128 characters of A–Z a–z 0–9 _ . @ : / -'),
    /** `device` (the default): publishes for its site, or one asset of it. `monitor`: read-only. */
    role: z.enum(['device', 'monitor']).default('device'),
    site: Site.optional(),
    kind: Kind.optional(),
    asset: Id.optional(),
    password: z.string().refine(isScryptHash, 'expected a scrypt hash ($scrypt$ln=…,r=…,p=…$salt$hash)'),
    added: z.string().optional(),
    note: z.string().optional(),
  })
  .superRefine((entry, ctx) => {
    if (entry.role === 'monitor' && (entry.site ?? entry.kind ?? entry.asset) !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'a monitor has no site, kind or asset' });
    }
    if (entry.role === 'device' && entry.site === undefined) ctx.addIssue({ code: 'custom', path: ['site'], message: 'a device needs its site' });
    if ((entry.kind === undefined) !== (entry.asset === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give kind and asset together (one asset), or neither (the whole site)' });
    }
  });
export type DeviceEntry = z.infer<typeof DeviceEntry>;

export const DevicesFile = z.strictObject({ devices: z.array(DeviceEntry).nullable().default([]) }).superRefine((file, ctx) => {
  const seen = new Set<string>();
  (file.devices ?? []).forEach((entry, i) => {
    if (seen.has(entry.username)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'username'], message: `${entry.username} appears twice` });
    seen.add(entry.username);
  });
});

export function scopeOf(entry: DeviceEntry): Scope {
  if (entry.role === 'monitor') return { role: 'monitor' };
  if (entry.kind !== undefined && entry.asset !== undefined) return { role: 'device', site: entry.site!, kind: entry.kind, asset: entry.asset };
  return { role: 'device', site: entry.site! };
}

/** Who an authenticated MQTT client is. */
export interface DeviceIdentity {
  username: string;
  scope: Scope;
}

/** Reads and validates a registry file; a problem is one ConfigError line naming the file and entry. */
export function readDevicesFile(path: string, key = 'mqtt.devicesFile'): DeviceEntry[] {
  if (!existsSync(path)) throw new ConfigError(`config: ${key}: ${path} does not exist`);
  let raw: unknown;
  try {
    const doc = parseDocument(readFileSync(path, 'utf8'));
    // parseDocument collects syntax errors instead of throwing them.
    if (doc.errors[0]) throw doc.errors[0];
    raw = doc.toJS() ?? {};
  } catch (error) {
    throw new ConfigError(`config: ${key}: ${path}: not valid YAML (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
  }
  const result = DevicesFile.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.map(String).join('.') || '(top level)';
    const message = issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.join(', ')}` : issue.message;
    throw new ConfigError(`config: ${key}: ${path}: ${where}: ${message}`);
  }
  return result.data.devices ?? [];
}

export class DeviceRegistry {
  private entries = new Map<string, DeviceEntry>();
  private fileStamp = '';
  private timer: NodeJS.Timeout | undefined;
  // After one scrypt check, reconnects of the same device are checked against a SHA-256 of the
  // password kept in memory: a broker restart's reconnect storm does not cost N × 85 ms of CPU.
  private verified = new Map<string, { hash: string; digest: string }>();
  /** Called with the usernames removed or whose password changed, after a reload. */
  onRevoke: ((usernames: string[]) => void) | undefined;

  constructor(
    readonly path: string,
    private readonly log: Logger,
  ) {
    this.replace(readDevicesFile(path));
    this.fileStamp = this.stamp();
  }

  get size(): number {
    return this.entries.size;
  }

  /** The identity for a username and password, or undefined; timing does not tell which was wrong. */
  async verify(username: string, password: string): Promise<DeviceIdentity | undefined> {
    this.reloadIfChanged();
    const entry = this.entries.get(username);
    if (!entry) return scryptBurn(password).then(() => undefined);
    const digest = sha256Hex(`${username}\0${password}`);
    const cached = this.verified.get(username);
    const ok = (cached?.hash === entry.password && digestsEqual(cached.digest, digest)) || (await scryptVerify(password, entry.password));
    if (!ok) return undefined;
    this.verified.set(username, { hash: entry.password, digest });
    return { username, scope: scopeOf(entry) };
  }

  /** Re-reads the file if its size or mtime changed; a broken file keeps the last good registry. */
  reloadIfChanged(): void {
    const stamp = this.stamp();
    if (stamp === this.fileStamp) return;
    this.fileStamp = stamp;
    try {
      const revoked = this.replace(readDevicesFile(this.path));
      this.log.info(`device registry ${this.path} reloaded: ${this.entries.size} credentials`);
      if (revoked.length > 0) {
        this.log.warn(`device credentials revoked or changed: ${revoked.join(', ')}; their connections are closed`);
        this.onRevoke?.(revoked);
      }
    } catch (error) {
      this.log.error(`device registry not reloaded, keeping the previous one: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Checks the file every `intervalMs` (revocations take effect without a connection attempt). */
  watch(intervalMs = 2000): void {
    this.timer ??= setInterval(() => this.reloadIfChanged(), intervalMs).unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private replace(list: DeviceEntry[]): string[] {
    const next = new Map(list.map((entry) => [entry.username, entry]));
    const revoked = [...this.entries.values()]
      .filter((old) => {
        const now = next.get(old.username);
        return now === undefined || now.password !== old.password || JSON.stringify(scopeOf(now)) !== JSON.stringify(scopeOf(old));
      })
      .map((old) => old.username);
    for (const username of revoked) this.verified.delete(username);
    this.entries = next;
    return revoked;
  }

  private stamp(): string {
    try {
      const s = statSync(this.path);
      return `${s.size}:${s.mtimeMs}:${s.ino}`;
    } catch {
      return 'missing';
    }
  }
}

const FILE_HEADER = `# hydrowatch device registry: MQTT credentials for the embedded broker.
# Managed with \`hydrowatch device add|remove|list\`. Passwords are stored only as scrypt hashes.
# A device entry with kind and asset publishes that asset's telemetry, status and command topics
# and subscribes to its command topic; without kind and asset, the same for every asset of its
# site. role: monitor may only subscribe (under hydrowatch/#).
`;

/** Appends an entry (the file is created if missing); written to a temporary file, then renamed, mode 0600. */
export function appendDeviceEntry(path: string, entry: DeviceEntry): void {
  const existing = existsSync(path) ? readDevicesFile(path, path) : [];
  if (existing.some((e) => e.username === entry.username)) throw new ConfigError(`device ${entry.username} is already in ${path}; remove it first to issue a new secret`);
  DeviceEntry.parse(entry);
  const doc = parseDocument(existsSync(path) ? readFileSync(path, 'utf8') : `${FILE_HEADER}devices: []\n`);
  let list = doc.get('devices');
  if (!isSeq(list)) {
    list = new YAMLSeq();
    doc.set('devices', list);
  }
  (list as YAMLSeq).flow = false;
  (list as YAMLSeq).add(doc.createNode(withoutDefaults(entry)));
  writeAtomically(path, doc.toString());
}

/** Removes an entry by username; false if there was none. */
export function removeDeviceEntry(path: string, username: string): boolean {
  readDevicesFile(path, path);
  const doc = parseDocument(readFileSync(path, 'utf8'));
  const list = doc.get('devices');
  if (!isSeq(list)) return false;
  const index = list.items.findIndex((item) => isMap(item) && item.get('username') === username);
  if (index < 0) return false;
  list.delete(index);
  writeAtomically(path, doc.toString());
  return true;
}

function withoutDefaults(entry: DeviceEntry): Record<string, unknown> {
  const { role, ...rest } = entry;
  return Object.fromEntries(Object.entries(role === 'device' ? rest : entry).filter(([, v]) => v !== undefined));
}

function writeAtomically(path: string, text: string): void {
  // A pid-named temporary file: two CLI commands may edit the registry at once.
  replaceFileSync(path, text, { mode: 0o600, temp: `${path}.${process.pid}.tmp` });
}

/** For `device list`: the registry without the hashes. */
export const listEntries = (path: string): string =>
  stringify(readDevicesFile(path, path).map(({ password: _password, ...rest }) => rest));
