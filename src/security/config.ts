// The security part of the configuration (src/config.ts includes these): API tokens and roles,
// rate and body limits, TLS file paths. Validation only; files are read at start.
import { z } from 'zod';
import { SCRYPT_PATTERN } from './hash.js';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export const Role = z.enum(ROLES);
/** viewer: read; operator: also acknowledge/shelve alerts and set the heat-wave state; admin: everything. */
export type Role = z.infer<typeof Role>;

export const TOKEN_NAME_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/;

export const ApiToken = z
  .strictObject({
    /** Who: written to the audit trail. */
    name: z.string().regex(TOKEN_NAME_PATTERN, 'token names are 1–64 characters of A–Z a–z 0–9 _ . @ -'),
    role: Role,
    /** SHA-256 (hex) of the token: enough for the 256-bit random tokens `hydrowatch token add` makes. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits').optional(),
    /** Or a scrypt hash, for a token that is not machine-generated. */
    scrypt: z.string().regex(SCRYPT_PATTERN, 'expected $scrypt$ln=…,r=…,p=…$salt$hash').optional(),
  })
  .refine((token) => (token.sha256 === undefined) !== (token.scrypt === undefined), { message: 'give exactly one of sha256 or scrypt' });
export type ApiToken = z.infer<typeof ApiToken>;

const Port = z.coerce.number().int().min(0).max(65_535);
const FilePath = z.string().min(1);

/** PEM files. With `ca`, clients must present a certificate signed by it (mutual TLS). */
const TlsFiles = { cert: FilePath, key: FilePath, ca: FilePath.optional() };
export const HttpTlsConfig = z.strictObject(TlsFiles);
export const MqttTlsConfig = z.strictObject({
  ...TlsFiles,
  port: Port.default(8883),
  /** Keep the plaintext listener on mqtt.port too (devices that cannot do TLS, on a closed network). */
  plaintext: z.boolean().default(false),
});
export type TlsFilesConfig = z.infer<typeof HttpTlsConfig>;
export type MqttTlsConfig = z.infer<typeof MqttTlsConfig>;

const RATE_LIMIT_DEFAULT = { max: 600, windowMs: 60_000 };
const API_DEFAULT = { tokens: [], openMetrics: true, rateLimit: RATE_LIMIT_DEFAULT, bodyLimitBytes: 64 * 1024 };

export const ApiConfig = z
  .strictObject({
    tokens: z
      .array(ApiToken)
      .default([])
      .superRefine((tokens, ctx) => {
        const names = new Set<string>();
        tokens.forEach((token, i) => {
          if (names.has(token.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `${token.name} appears twice` });
          names.add(token.name);
        });
      }),
    /** GET /metrics without a token (Prometheus scrapers); false requires a viewer token. */
    openMetrics: z.boolean().default(true),
    /** Requests per client address per window, over every route. */
    rateLimit: z
      .strictObject({
        max: z.coerce.number().int().min(1).max(1_000_000).default(RATE_LIMIT_DEFAULT.max),
        windowMs: z.coerce.number().int().min(1000).max(3_600_000).default(RATE_LIMIT_DEFAULT.windowMs),
      })
      .default(RATE_LIMIT_DEFAULT),
    bodyLimitBytes: z.coerce.number().int().min(1024).max(16 * 1024 * 1024).default(API_DEFAULT.bodyLimitBytes),
  })
  .default(API_DEFAULT);
export type ApiConfig = z.infer<typeof ApiConfig>;

/** Default device registry file of the embedded broker. */
export const DEFAULT_DEVICES_FILE = './devices.yaml';

/** Environment variables of the security settings (merged into ENV_KEYS). */
export const SECURITY_ENV_KEYS: Record<string, string[]> = {
  HYDROWATCH_DEVICES: ['mqtt', 'devicesFile'],
  MQTT_TLS_CERT: ['mqtt', 'tls', 'cert'],
  MQTT_TLS_KEY: ['mqtt', 'tls', 'key'],
  MQTT_TLS_CA: ['mqtt', 'tls', 'ca'],
  MQTT_TLS_PORT: ['mqtt', 'tls', 'port'],
  HTTP_TLS_CERT: ['http', 'tls', 'cert'],
  HTTP_TLS_KEY: ['http', 'tls', 'key'],
  HTTP_TLS_CA: ['http', 'tls', 'ca'],
};
