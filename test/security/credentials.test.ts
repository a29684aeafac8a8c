// Hashing, the device registry file, API tokens, and the refusal to start insecurely by accident.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { addDevice, addToken } from '../../src/security/cli.js';
import { appendDeviceEntry, DeviceRegistry, readDevicesFile, removeDeviceEntry } from '../../src/security/devices.js';
import { isScryptHash, scryptHash, scryptVerify, sha256Hex } from '../../src/security/hash.js';
import { prepareSecurity } from '../../src/security/startup.js';
import { TokenVerifier } from '../../src/security/tokens.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hydrowatch-sec-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const quiet = () => undefined;

describe('scrypt hashes', () => {
  it('verifies the right secret only, and stores no secret', async () => {
    const hash = await scryptHash('correct horse', 12);
    expect(isScryptHash(hash)).toBe(true);
    expect(hash).not.toContain('correct horse');
    expect(await scryptVerify('correct horse', hash)).toBe(true);
    expect(await scryptVerify('correct hors', hash)).toBe(false);
    expect(await scryptVerify('correct horse', hash.replace(/.\$/, 'A$'))).toBe(false);
  });

  it('refuses malformed or absurdly expensive hashes instead of trying them', async () => {
    expect(await scryptVerify('x', '$scrypt$ln=30,r=8,p=1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==')).toBe(false);
    expect(await scryptVerify('x', 'plaintext')).toBe(false);
    expect(isScryptHash('$scrypt$ln=15,r=8,p=1$$')).toBe(false);
  });
});

describe('device registry', () => {
  it('device add writes only a hash, and the registry accepts that password and no other', async () => {
    const file = join(dir, 'devices.yaml');
    const { username, password } = await addDevice({ site: 'plant1', kind: 'pump', asset: 'P-01', file }, quiet);
    expect(username).toBe('plant1/pump/P-01');
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain(password);
    expect(text).toMatch(/password: \$scrypt\$ln=15,r=8,p=1\$/);

    const registry = new DeviceRegistry(file, silentLogger);
    expect(await registry.verify(username, password)).toEqual({ username, scope: { role: 'device', site: 'plant1', kind: 'pump', asset: 'P-01' } });
    expect(await registry.verify(username, `${password}x`)).toBeUndefined();
    expect(await registry.verify('plant1/pump/P-02', password)).toBeUndefined();
    // The second time the same password is checked from memory, and a wrong one still fails.
    expect(await registry.verify(username, password)).toBeDefined();
    expect(await registry.verify(username, 'wrong')).toBeUndefined();
  });

  it('refuses a duplicate username, the reserved site "alerts", and half a device', async () => {
    const file = join(dir, 'devices.yaml');
    await addDevice({ site: 'plant1', file }, quiet);
    await expect(addDevice({ site: 'plant1', file }, quiet)).rejects.toThrow(/already in/);
    await expect(addDevice({ site: 'plant1', kind: 'pump', file }, quiet)).rejects.toThrow(/--kind and --asset together/);
    expect(() => appendDeviceEntry(file, { username: 'a', role: 'device', site: 'alerts', password: '$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==' })).toThrow(/reserved/);
  });

  it('names the file and the entry when the file is wrong', async () => {
    const file = join(dir, 'devices.yaml');
    await writeFile(file, 'devices:\n  - username: x\n    site: s\n    password: hunter2\n');
    expect(() => readDevicesFile(file)).toThrow(ConfigError);
    expect(() => readDevicesFile(file)).toThrow(/mqtt\.devicesFile: .*devices\.yaml: devices\.0\.password: expected a scrypt hash/);
    await writeFile(file, `devices:\n  - username: x\n    site: s\n    password: '${await scryptHash('x', 12)}'\n    pasword: x\n`);
    expect(() => readDevicesFile(file)).toThrow(/unknown key\(s\) pasword/);
  });

  it('reloads the file when it changes and reports revoked credentials', async () => {
    const file = join(dir, 'devices.yaml');
    const a = await addDevice({ site: 'plant1', kind: 'pump', asset: 'P-01', file }, quiet);
    await addDevice({ site: 'north', file }, quiet);
    const registry = new DeviceRegistry(file, silentLogger);
    const revoked: string[][] = [];
    registry.onRevoke = (names) => revoked.push(names);
    expect(removeDeviceEntry(file, 'north')).toBe(true);
    registry.reloadIfChanged();
    expect(revoked).toEqual([['north']]);
    expect(registry.size).toBe(1);
    expect(await registry.verify(a.username, a.password)).toBeDefined();

    // A broken file keeps the last good registry.
    await writeFile(file, 'devices: [');
    expect(() => readDevicesFile(file)).toThrow(/not valid YAML/);
    registry.reloadIfChanged();
    expect(await registry.verify(a.username, a.password)).toBeDefined();
  });
});

describe('API tokens', () => {
  it('token add prints a token whose SHA-256 the config keeps; the verifier maps it to name and role', async () => {
    let printed = '';
    const token = await addToken({ name: 'desk', role: 'operator' }, (text) => (printed += text));
    expect(printed).toContain(token);
    expect(printed).toContain(`sha256: ${sha256Hex(token)}`);
    const verifier = new TokenVerifier([{ name: 'desk', role: 'operator', sha256: sha256Hex(token) }]);
    expect(await verifier.verify(token)).toEqual({ name: 'desk', role: 'operator' });
    expect(await verifier.verify(`${token}x`)).toBeUndefined();
    expect(await verifier.verify('')).toBeUndefined();
  });

  it('accepts scrypt-hashed tokens too', async () => {
    const verifier = new TokenVerifier([{ name: 'ops', role: 'admin', scrypt: await scryptHash('a long shared secret', 12) }]);
    expect(await verifier.verify('a long shared secret')).toEqual({ name: 'ops', role: 'admin' });
    expect(await verifier.verify('a long shared secret')).toEqual({ name: 'ops', role: 'admin' });
    expect(await verifier.verify('another secret')).toBeUndefined();
  });

  it('config refuses a token without a hash, with both, or a name twice', () => {
    const parse = (tokens: unknown) => () => parseConfig({ api: { tokens } }, {});
    expect(parse([{ name: 'a', role: 'viewer' }])).toThrow(/api\.tokens\.0: give exactly one of sha256 or scrypt/);
    expect(parse([{ name: 'a', role: 'viewer', sha256: 'abc' }])).toThrow(/api\.tokens\.0\.sha256: expected 64 lowercase hex digits/);
    expect(parse([{ name: 'a', role: 'boss', sha256: sha256Hex('x') }])).toThrow(/api\.tokens\.0\.role/);
    const twice = [{ name: 'a', role: 'viewer', sha256: sha256Hex('x') }, { name: 'a', role: 'admin', sha256: sha256Hex('y') }];
    expect(parse(twice)).toThrow(/api\.tokens\.1\.name: a appears twice/);
  });
});

describe('starting without HYDROWATCH_INSECURE', () => {
  const token = { name: 'ops', role: 'admin', sha256: sha256Hex('t') };

  it('refuses without API tokens, naming api.tokens', () => {
    expect(() => prepareSecurity(parseConfig({}, {}), silentLogger)).toThrow(/^config: api\.tokens: no API tokens are configured; create one with `hydrowatch token add/);
  });

  it('refuses without a device registry for the embedded broker, naming HYDROWATCH_DEVICES', () => {
    const config = parseConfig({ api: { tokens: [token] } }, { HYDROWATCH_DEVICES: join(dir, 'none.yaml') });
    expect(() => prepareSecurity(config, silentLogger)).toThrow(/^config: HYDROWATCH_DEVICES \(mqtt\.devicesFile\): .*none\.yaml does not exist; register devices with `hydrowatch device add/);
  });

  it('needs no device registry when an external broker does the authentication', () => {
    const config = parseConfig({ api: { tokens: [token] } }, { MQTT_URL: 'mqtt://broker:1883', MQTT_USERNAME: 'hw' });
    const security = prepareSecurity(config, silentLogger);
    expect(security.brokerAccess(new Registry())).toBeUndefined();
    expect(security.api(async () => undefined)).toMatchObject({ insecure: false });
  });

  it('names the TLS key whose file cannot be read', () => {
    const config = parseConfig({ api: { tokens: [token] } }, { MQTT_URL: 'mqtt://b:1883', HTTP_TLS_CERT: join(dir, 'no.crt'), HTTP_TLS_KEY: join(dir, 'no.key') });
    expect(() => prepareSecurity(config, silentLogger)).toThrow(/^config: http\.tls\.cert: cannot read .*no\.crt \(ENOENT\)/);
  });
});
