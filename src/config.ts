// The one configuration module (design §4): defaults here, validation with no I/O,
// YAML file (HYDROWATCH_CONFIG, default ./hydrowatch.yaml, optional) overlaid by environment variables.
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { SmtpConfig, WebhookSecret } from './alerts/notify/config.js';
import { Roster } from './alerts/roster.js';
import { Rule } from './alerts/rules.js';
import { Id, Kind } from './schema.js';
import { ApiConfig, DEFAULT_DEVICES_FILE, HttpTlsConfig, MqttTlsConfig, SECURITY_ENV_KEYS } from './security/config.js';

const Port = z.coerce.number().int().min(0).max(65_535);
const Url = z.url({ protocol: /^(https?|mqtts?|wss?|tcp)$/ });
const Flag = z.union([z.boolean(), z.enum(['1', 'true', 'yes', '0', 'false', 'no', ''])]).transform((v) =>
  typeof v === 'boolean' ? v : ['1', 'true', 'yes'].includes(v),
);

const AssetBase = z.strictObject({
  site: Id,
  id: Id,
  name: z.string().min(1).optional(),
  region: z.string().min(1).default('default'),
  lat: z.number().min(-90).max(90).optional(),
  lon: z.number().min(-180).max(180).optional(),
});

/** Asset registry entries: what rules and dashboards need to know about each device. */
export const AssetConfig = z.discriminatedUnion('kind', [
  AssetBase.extend({
    kind: z.literal('pump'),
    station: z.string().min(1),
    ratedFlow_m3h: z.number().positive(),
    role: z.enum(['duty', 'standby']).default('duty'),
  }),
  AssetBase.extend({
    kind: z.literal('reservoir'),
    capacity_m3: z.number().positive(),
    area_m2: z.number().positive(),
    minLevel_m: z.number().min(0),
    maxLevel_m: z.number().positive(),
  }),
  AssetBase.extend({
    kind: z.literal('canal'),
    normalLevel_m: z.number().positive(),
    normalFlow_m3h: z.number().positive(),
  }),
  AssetBase.extend({ kind: z.literal('meter'), district: z.string().min(1).optional() }),
  AssetBase.extend({ kind: z.literal('weather') }),
]);
export type AssetConfig = z.infer<typeof AssetConfig>;

export const Config = z.strictObject({
  mqtt: z
    .strictObject({
      /** External broker; unset = start the embedded one. */
      url: Url.optional(),
      port: Port.default(1883),
      host: z.string().min(1).default('0.0.0.0'),
      shareGroup: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional(),
      clientId: z.string().min(1).max(128).optional(),
      username: z.string().optional(),
      password: z.string().optional(),
      /** Embedded broker: device credentials (see src/security/devices.ts). */
      devicesFile: z.string().min(1).default(DEFAULT_DEVICES_FILE),
      /** Embedded broker: MQTT over TLS (8883) when set. */
      tls: MqttTlsConfig.optional(),
    })
    .default({ port: 1883, host: '0.0.0.0', devicesFile: DEFAULT_DEVICES_FILE }),
  http: z
    .strictObject({ port: Port.default(8080), host: z.string().min(1).default('0.0.0.0'), tls: HttpTlsConfig.optional() })
    .default({ port: 8080, host: '0.0.0.0' }),
  influx: z
    .strictObject({
      url: Url.default('http://127.0.0.1:8086'),
      token: z.string().optional(),
      org: z.string().optional(),
      bucket: z.string().min(1).default('hydrowatch'),
      /** `auto` reads `/ping`'s X-Influxdb-Version. */
      flavour: z.enum(['auto', 'v1', 'v2']).default('auto'),
      batchSize: z.coerce.number().int().min(1).max(50_000).default(5000),
      flushIntervalMs: z.coerce.number().int().min(10).max(60_000).default(500),
      /** Batches in flight at once; the spool is still committed in order. */
      writeConcurrency: z.coerce.number().int().min(1).max(16).default(2),
      timeoutMs: z.coerce.number().int().min(100).max(120_000).default(10_000),
      /** 1.x: raw data kept this long, and 1-minute means kept that long (src/influx/retention.ts); unset = keep raw forever, no downsampling. */
      retention: z
        .strictObject({
          raw: z.string().regex(/^\d+[hdw]$/, 'an InfluxQL duration in h, d or w, e.g. 30d').optional(),
          downsampled: z.string().regex(/^\d+[hdw]$/, 'an InfluxQL duration in h, d or w, e.g. 104w').optional(),
        })
        .default({}),
    })
    .default({ url: 'http://127.0.0.1:8086', bucket: 'hydrowatch', flavour: 'auto', batchSize: 5000, flushIntervalMs: 500, writeConcurrency: 2, timeoutMs: 10_000, retention: {} }),
  /** Spool and state directory. */
  dataDir: z.string().min(1).default('./data'),
  /** Points held waiting for InfluxDB; past it, publishes are no longer acknowledged. */
  spoolMaxReadings: z.coerce.number().int().min(100).max(50_000_000).default(10_000_000),
  /** Disk the spool's segment files (<dataDir>/spool) may take; past it, publishes are no longer acknowledged. */
  spoolMaxBytes: z.coerce.number().int().min(65_536).default(1024 ** 3),
  /** Rejected messages kept as samples in `rejected`, per reason per minute (all are counted). */
  rejectSamplesPerMinute: z.coerce.number().int().min(0).max(100_000).default(60),
  strictAssets: Flag.default(false),
  insecure: Flag.default(false),
  timezone: z.string().min(1).default('Asia/Shanghai'),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  alerts: z
    .strictObject({
      webhookUrl: Url.optional(),
      alertmanagerUrl: Url.optional(),
      webhookSecret: WebhookSecret.optional(),
      smtp: SmtpConfig.optional(),
      /** Who is paged: crews, what they cover, their weekly shifts, escalation tiers. */
      roster: Roster.default({ timezone: 'Asia/Shanghai', crews: [] }),
      /** Public base URL of the API/console, for deep links in notifications. */
      publicUrl: Url.optional(),
      /** Alert rules; unset = the shipped defaults (src/alerts/rules.ts). */
      rules: z.array(Rule).optional(),
      heatwave: z
        .strictObject({
          hotDay_c: z.number().min(20).max(60).default(35),
          consecutiveDays: z.number().int().min(1).max(14).default(3),
          orange_c: z.number().min(20).max(60).default(37),
          red_c: z.number().min(20).max(60).default(40),
        })
        .default({ hotDay_c: 35, consecutiveDays: 3, orange_c: 37, red_c: 40 }),
      /** Readings older than this are replayed or late: evaluated and recorded, never paged. */
      liveWindowMinutes: z.coerce.number().min(1).max(24 * 60).default(10),
      /** Longest an operator may shelve an alert. */
      maxShelveMinutes: z.coerce.number().int().min(1).max(7 * 24 * 60).default(8 * 60),
    })
    .default({
      heatwave: { hotDay_c: 35, consecutiveDays: 3, orange_c: 37, red_c: 40 },
      liveWindowMinutes: 10,
      maxShelveMinutes: 480,
      roster: { timezone: 'Asia/Shanghai', crews: [] },
    }),
  /** API tokens and roles, rate and body limits. */
  api: ApiConfig,
  /** Several hydrowatch processes as one (src/cluster/): README "Deployment". */
  cluster: z
    .strictObject({
      /** Redis shared by the nodes: clustered embedded broker, alert-leader lease, ingestor membership. Unset = one box. */
      redisUrl: z.url({ protocol: /^rediss?$/ }).optional(),
      /** Names the cluster's Redis keys and its alert session (`hydrowatch-alerts-<name>`); one Redis may serve several clusters. */
      name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).default('hydrowatch'),
      /** How long a leader's lease and a member's heartbeat live without renewal (renewed every third of it). */
      leaseMs: z.coerce.number().int().min(1000).max(60_000).default(3000),
    })
    .default({ name: 'hydrowatch', leaseMs: 3000 }),
  /** Sparkplug B edge nodes (src/ingest/sparkplug.ts): group = site, device = asset (kind from the registry). */
  sparkplug: z
    .strictObject({
      enabled: Flag.default(true),
      /** Sparkplug metric name → hydrowatch field; unmapped names match a field by their last `/` segment. */
      metrics: z.record(z.string().min(1), z.string().min(1)).default({}),
    })
    .default({ enabled: true, metrics: {} }),
  assets: z.array(AssetConfig).default([]),
});
export type Config = z.infer<typeof Config>;

/** Environment variables that outside scripts rely on (design §4), and where each one lands. */
export const ENV_KEYS: Record<string, string[]> = {
  MQTT_URL: ['mqtt', 'url'],
  MQTT_PORT: ['mqtt', 'port'],
  MQTT_HOST: ['mqtt', 'host'],
  MQTT_SHARE_GROUP: ['mqtt', 'shareGroup'],
  MQTT_CLIENT_ID: ['mqtt', 'clientId'],
  MQTT_USERNAME: ['mqtt', 'username'],
  MQTT_PASSWORD: ['mqtt', 'password'],
  HTTP_PORT: ['http', 'port'],
  HTTP_HOST: ['http', 'host'],
  INFLUX_URL: ['influx', 'url'],
  INFLUX_TOKEN: ['influx', 'token'],
  INFLUX_ORG: ['influx', 'org'],
  INFLUX_BUCKET: ['influx', 'bucket'],
  INFLUX_FLAVOUR: ['influx', 'flavour'],
  INFLUX_WRITE_CONCURRENCY: ['influx', 'writeConcurrency'],
  INFLUX_RAW_RETENTION: ['influx', 'retention', 'raw'],
  INFLUX_DOWNSAMPLED_RETENTION: ['influx', 'retention', 'downsampled'],
  HYDROWATCH_DATA: ['dataDir'],
  HYDROWATCH_INSECURE: ['insecure'],
  HYDROWATCH_STRICT_ASSETS: ['strictAssets'],
  HYDROWATCH_TIMEZONE: ['timezone'],
  HYDROWATCH_LOG_LEVEL: ['logLevel'],
  ALERT_WEBHOOK_URL: ['alerts', 'webhookUrl'],
  ALERTMANAGER_URL: ['alerts', 'alertmanagerUrl'],
  ALERT_WEBHOOK_SECRET: ['alerts', 'webhookSecret'],
  ALERT_SMTP_URL: ['alerts', 'smtp', 'url'],
  ALERT_SMTP_FROM: ['alerts', 'smtp', 'from'],
  HYDROWATCH_PUBLIC_URL: ['alerts', 'publicUrl'],
  HYDROWATCH_REDIS_URL: ['cluster', 'redisUrl'],
  HYDROWATCH_CLUSTER: ['cluster', 'name'],
  HYDROWATCH_CLUSTER_LEASE_MS: ['cluster', 'leaseMs'],
  HYDROWATCH_SPARKPLUG: ['sparkplug', 'enabled'],
  ...SECURITY_ENV_KEYS,
};

/** A configuration problem: one line naming the key, meant for the operator, not a stack trace. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env, file?: string): Config {
  const explicitFile = file ?? env.HYDROWATCH_CONFIG;
  const path = explicitFile ?? './hydrowatch.yaml';
  let fromFile: unknown = {};
  if (existsSync(path)) {
    try {
      fromFile = parseYaml(readFileSync(path, 'utf8')) ?? {};
    } catch (error) {
      throw new ConfigError(`config: ${path}: not valid YAML (${firstLine(error)})`);
    }
    if (typeof fromFile !== 'object' || Array.isArray(fromFile)) {
      throw new ConfigError(`config: ${path}: the top level must be a mapping of keys`);
    }
  } else if (explicitFile !== undefined) {
    throw new ConfigError(`config: HYDROWATCH_CONFIG: file ${path} does not exist`);
  }
  return parseConfig(fromFile as Record<string, unknown>, env);
}

/** Validation only, no I/O: the file's content overlaid with the environment. */
export function parseConfig(fromFile: Record<string, unknown>, env: Env): Config {
  const merged: Record<string, unknown> = structuredClone(fromFile);
  const envForPath = new Map<string, string>();
  for (const [name, path] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    setPath(merged, path, value);
    envForPath.set(path.join('.'), name);
  }
  const result = Config.safeParse(merged);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const dotted = issue.path.map(String).join('.');
  const envName = envForPath.get(dotted);
  const key = envName ? `${envName} (${dotted})` : dotted || '(top level)';
  throw new ConfigError(`config: ${key}: ${describeIssue(issue)}`);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown key(s) ${issue.keys.join(', ')}`;
  return issue.message;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0] ?? '';
}
