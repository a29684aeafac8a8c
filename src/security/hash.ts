// Secrets and their hashes: scrypt (node:crypto) for device passwords, SHA-256 for API tokens.
// Only hashes are ever stored; comparisons are constant-time.
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** scrypt cost: N = 2^15, r = 8, p = 1 (32 MiB, ~85 ms here) — once per MQTT connection. */
const DEFAULT_LOG_N = 15;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** A stored hash cannot ask for more than this (a typo must not make every login take minutes). */
const MAX_LOG_N = 20;

/** PHC-style string: `$scrypt$ln=15,r=8,p=1$<salt base64>$<hash base64>`. */
export const SCRYPT_PATTERN = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

interface ScryptParams {
  logN: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

function parseScrypt(encoded: string): ScryptParams | undefined {
  const m = SCRYPT_PATTERN.exec(encoded);
  if (!m) return undefined;
  const [logN, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const salt = Buffer.from(m[4]!, 'base64');
  const hash = Buffer.from(m[5]!, 'base64');
  if (logN < 10 || logN > MAX_LOG_N || r < 1 || r > 32 || p < 1 || p > 16 || salt.length < 8 || hash.length < 16) return undefined;
  return { logN, r, p, salt, hash };
}

/** True when `encoded` is a scrypt hash this module can verify. */
export const isScryptHash = (encoded: string): boolean => parseScrypt(encoded) !== undefined;

function derive(secret: string, salt: Buffer, logN: number, r: number, p: number, bytes: number): Promise<Buffer> {
  const N = 2 ** logN;
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, bytes, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

export async function scryptHash(secret: string, logN = DEFAULT_LOG_N): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(secret, salt, logN, BLOCK_SIZE, PARALLELISM, KEY_BYTES);
  return `$scrypt$ln=${logN},r=${BLOCK_SIZE},p=${PARALLELISM}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Constant-time check of a secret against a stored scrypt hash; false for a malformed hash. */
export async function scryptVerify(secret: string, encoded: string): Promise<boolean> {
  const params = parseScrypt(encoded);
  if (!params) return false;
  const key = await derive(secret, params.salt, params.logN, params.r, params.p, params.hash.length);
  return timingSafeEqual(key, params.hash);
}

// Spent on unknown usernames so that a wrong name takes as long as a wrong password.
let dummyHash: Promise<string> | undefined;
export async function scryptBurn(secret: string): Promise<false> {
  dummyHash ??= scryptHash('hydrowatch-dummy');
  await scryptVerify(secret, await dummyHash);
  return false;
}

export const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** Constant-time equality of two hex digests (false when the lengths differ). */
export function digestsEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}

/** A random secret for a device password (192 bits), URL- and shell-safe. */
export const newDevicePassword = (): string => randomBytes(24).toString('base64url');

/** A random API token (256 bits) with a prefix that secret scanners can recognise. */
export const newApiToken = (): string => `hwt_${randomBytes(32).toString('base64url')}`;
