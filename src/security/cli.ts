// `hydrowatch device add|remove|list` and `hydrowatch token add`: credentials are made here,
// printed once, and only their hashes are stored.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { stringify } from 'yaml';
import { ConfigError } from '../config.js';
import { ID_PATTERN, KINDS, type Kind } from '../schema.js';
import { describeScope, RESERVED_SITES } from './acl.js';
import { DEFAULT_DEVICES_FILE, type Role, ROLES, TOKEN_NAME_PATTERN } from './config.js';
import { appendDeviceEntry, type DeviceEntry, listEntries, removeDeviceEntry, scopeOf, USERNAME_PATTERN } from './devices.js';
import { newApiToken, newDevicePassword, scryptHash, sha256Hex } from './hash.js';

const matching = (pattern: RegExp, what: string) => (value: string) => {
  if (!pattern.test(value)) throw new InvalidArgumentError(`${what}`);
  return value;
};
const site = (value: string) => {
  matching(ID_PATTERN, 'expected 1–64 characters of A–Z a–z 0–9 _ . -')(value);
  if ((RESERVED_SITES as readonly string[]).includes(value)) throw new InvalidArgumentError(`"${value}" is reserved for the alert topics`);
  return value;
};

const defaultDevicesFile = () => process.env.HYDROWATCH_DEVICES || DEFAULT_DEVICES_FILE;

interface DeviceAddOptions {
  site?: string;
  kind?: Kind;
  asset?: string;
  username?: string;
  monitor?: boolean;
  note?: string;
  file: string;
}

export async function addDevice(opts: DeviceAddOptions, print: (text: string) => void): Promise<{ username: string; password: string }> {
  if (opts.monitor && (opts.site ?? opts.kind ?? opts.asset) !== undefined) throw new ConfigError('device add: a --monitor has no --site, --kind or --asset');
  if (opts.monitor && !opts.username) throw new ConfigError('device add: a --monitor needs --username');
  if (!opts.monitor && !opts.site) throw new ConfigError('device add: --site is required (with --kind and --asset for one asset)');
  if ((opts.kind === undefined) !== (opts.asset === undefined)) throw new ConfigError('device add: give --kind and --asset together (one asset), or neither (the whole site)');
  const username = opts.username ?? (opts.kind ? `${opts.site}/${opts.kind}/${opts.asset}` : opts.site!);
  const password = newDevicePassword();
  const entry: DeviceEntry = {
    username,
    role: opts.monitor ? 'monitor' : 'device',
    ...(opts.site ? { site: opts.site } : {}),
    ...(opts.kind ? { kind: opts.kind, asset: opts.asset } : {}),
    password: await scryptHash(password),
    added: new Date().toISOString(),
    ...(opts.note ? { note: opts.note } : {}),
  };
  appendDeviceEntry(opts.file, entry);
  print(
    [
      `added ${username} to ${opts.file}: ${describeScope(scopeOf(entry))}`,
      'MQTT credentials, shown only now (the file keeps a scrypt hash):',
      `  username: ${username}`,
      `  password: ${password}`,
      'A running hydrowatch picks the change up within a few seconds.',
    ].join('\n'),
  );
  return { username, password };
}

export async function addToken(opts: { name: string; role: Role; scrypt?: boolean }, print: (text: string) => void): Promise<string> {
  const token = newApiToken();
  const hash = opts.scrypt ? { scrypt: await scryptHash(token) } : { sha256: sha256Hex(token) };
  print(
    [
      `API token for ${opts.name} (${opts.role}), shown only now (the config keeps only its hash):`,
      `  ${token}`,
      'Send it as "Authorization: Bearer <token>". Add this to the config (hydrowatch.yaml) and restart hydrowatch:',
      '',
      stringify({ api: { tokens: [{ name: opts.name, role: opts.role, ...hash }] } }).trimEnd(),
    ].join('\n'),
  );
  return token;
}

export function registerSecurityCommands(program: Command): void {
  const print = (text: string) => process.stdout.write(`${text}\n`);
  const file = () => new Option('--file <path>', 'device registry (default: HYDROWATCH_DEVICES or ./devices.yaml)').default(defaultDevicesFile(), 'HYDROWATCH_DEVICES or ./devices.yaml');

  const device = program.command('device').description('MQTT credentials of devices on the embedded broker (the device registry file)');
  device
    .command('add')
    .description('register a device (or a whole site, or a read-only monitor) and print its secret once')
    .option('--site <site>', 'the site it publishes for', site)
    .addOption(new Option('--kind <kind>', 'with --asset: one asset only').choices(KINDS))
    .option('--asset <asset>', 'with --kind: one asset only', matching(ID_PATTERN, 'expected 1–64 characters of A–Z a–z 0–9 _ . -'))
    .option('--username <name>', 'MQTT username (default: site/kind/asset, or the site)', matching(USERNAME_PATTERN, 'expected 1–128 characters of A–Z a–z 0–9 _ . @ : / -'))
    .option('--monitor', 'read-only: may subscribe under hydrowatch/#, publishes nothing')
    .option('--note <text>', 'free text kept with the entry')
    .addOption(file())
    .action(async (opts: DeviceAddOptions) => {
      await addDevice(opts, print);
    });
  device
    .command('remove')
    .description('revoke a device: a running hydrowatch disconnects it within a few seconds')
    .requiredOption('--username <name>', 'MQTT username to remove')
    .addOption(file())
    .action((opts: { username: string; file: string }) => {
      if (!removeDeviceEntry(opts.file, opts.username)) throw new ConfigError(`device remove: no ${opts.username} in ${opts.file}`);
      print(`removed ${opts.username} from ${opts.file}`);
    });
  device
    .command('list')
    .description('the registered credentials, without their hashes')
    .addOption(file())
    .action((opts: { file: string }) => {
      print(listEntries(opts.file).trimEnd());
    });

  program
    .command('token')
    .description('API bearer tokens')
    .command('add')
    .description('make an API token, print it once, and print the YAML (with its hash) to add to the config')
    .requiredOption('--name <name>', 'who uses it (written to the audit trail)', matching(TOKEN_NAME_PATTERN, 'expected 1–64 characters of A–Z a–z 0–9 _ . @ -'))
    .addOption(new Option('--role <role>', 'viewer (read), operator (acknowledge, shelve, heat wave), admin').choices(ROLES).makeOptionMandatory())
    .option('--scrypt', 'store a scrypt hash instead of SHA-256 (slower to check; not needed for these random tokens)')
    .action(async (opts: { name: string; role: Role; scrypt?: boolean }) => {
      await addToken(opts, print);
    });
}
