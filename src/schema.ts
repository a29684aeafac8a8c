// The one schema: topics, payloads, field types and ranges, reject reasons (design §2).
// Everything else (pipeline, API, simulators, tests) imports its types from here.
import { z } from 'zod';

export const KINDS = ['pump', 'reservoir', 'canal', 'meter', 'weather'] as const;
export const Kind = z.enum(KINDS);
export type Kind = z.infer<typeof Kind>;

export const ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
export const Id = z.string().regex(ID_PATTERN, 'ids are 1–64 characters of A–Z a–z 0–9 _ . -');

export const TOPIC_ROOT = 'hydrowatch';
export const MAX_PAYLOAD_BYTES = 64 * 1024;
/** Readings stamped further ahead than this are device clock drift, not data. */
export const MAX_FUTURE_MS = 5 * 60 * 1000;

/** Stable reject reason codes: counted in /metrics and written as the `reason` tag of `rejected`. */
export const RejectReason = {
  TOPIC_BAD_FORMAT: 'TOPIC.BAD_FORMAT',
  TOPIC_UNKNOWN_KIND: 'TOPIC.UNKNOWN_KIND',
  TOPIC_BAD_ID: 'TOPIC.BAD_ID',
  PAYLOAD_TOO_LARGE: 'PAYLOAD.TOO_LARGE',
  PAYLOAD_NOT_UTF8: 'PAYLOAD.NOT_UTF8',
  PAYLOAD_BAD_JSON: 'PAYLOAD.BAD_JSON',
  PAYLOAD_NOT_OBJECT: 'PAYLOAD.NOT_OBJECT',
  PAYLOAD_MISSING_TS: 'PAYLOAD.MISSING_TS',
  PAYLOAD_BAD_TS: 'PAYLOAD.BAD_TS',
  PAYLOAD_FUTURE_TS: 'PAYLOAD.FUTURE_TS',
  PAYLOAD_BAD_SEQ: 'PAYLOAD.BAD_SEQ',
  PAYLOAD_NO_VALUES: 'PAYLOAD.NO_VALUES',
  PAYLOAD_UNKNOWN_FIELD: 'PAYLOAD.UNKNOWN_FIELD',
  PAYLOAD_WRONG_TYPE: 'PAYLOAD.WRONG_TYPE',
  PAYLOAD_NOT_FINITE: 'PAYLOAD.NOT_FINITE',
  PAYLOAD_OUT_OF_RANGE: 'PAYLOAD.OUT_OF_RANGE',
  PAYLOAD_BAD_STATUS: 'PAYLOAD.BAD_STATUS',
  PAYLOAD_BAD_COMMAND: 'PAYLOAD.BAD_COMMAND',
  ASSET_UNREGISTERED: 'ASSET.UNREGISTERED',
} as const;
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];
export const REJECT_REASONS = Object.values(RejectReason);

/**
 * Reject reasons of Sparkplug B messages (src/ingest/sparkplug.ts), counted and dead-lettered like
 * the others. Kept apart from RejectReason because the simulators' garbage generator must cover
 * every RejectReason with a JSON payload, and these cannot be made from one.
 */
export const SparkplugRejectReason = {
  /** Not a Sparkplug B protobuf payload, or a topic that is not spBv1.0/{group}/{type}/{node}[/{device}]. */
  BAD_PAYLOAD: 'SPARKPLUG.BAD_PAYLOAD',
  /** A device (group/device) or edge node that is not in the asset registry: its kind is unknown. */
  UNKNOWN_DEVICE: 'SPARKPLUG.UNKNOWN_DEVICE',
  /** A birth metric whose name maps to no field of the asset's kind. */
  UNKNOWN_METRIC: 'SPARKPLUG.UNKNOWN_METRIC',
  /** A data metric whose alias (or name) the birth certificate did not declare: a rebirth is requested. */
  UNKNOWN_ALIAS: 'SPARKPLUG.UNKNOWN_ALIAS',
} as const;
export type SparkplugRejectReason = (typeof SparkplugRejectReason)[keyof typeof SparkplugRejectReason];

/** Sparkplug B: spBv1.0/{group}/{NBIRTH|DBIRTH|NDATA|DDATA|NDEATH|DDEATH|NCMD|DCMD}/{edge node}[/{device}]. */
export const SPARKPLUG_ROOT = 'spBv1.0';

// Field specs: type decides the InfluxDB field type (floats for numbers, fault_code integer,
// running boolean); min/max is the plausible instrument range.
export type FieldSpec =
  | { type: 'float'; min: number; max: number; unit: string }
  | { type: 'integer'; min: number; max: number; unit: string }
  | { type: 'boolean'; unit: string };

const float = (min: number, max: number, unit: string): FieldSpec => ({ type: 'float', min, max, unit });
const PRESSURE = float(0, 25, 'bar');
const PERCENT = float(0, 100, '%');
const FLOW = float(0, 100_000, 'm3/h');

export const FIELDS = {
  pump: {
    running: { type: 'boolean', unit: '' },
    flow_m3h: FLOW,
    // Suction side may sit below atmospheric pressure (suction lift from a canal).
    suction_bar: float(-1, 25, 'bar'),
    discharge_bar: PRESSURE,
    power_kw: float(0, 20_000, 'kW'),
    speed_rpm: float(0, 10_000, 'rpm'),
    motor_temp_c: float(-40, 150, '°C'),
    vibration_mms: float(0, 100, 'mm/s'),
    fault_code: { type: 'integer', min: 0, max: 65_535, unit: '' },
  },
  reservoir: {
    level_m: float(0, 100, 'm'),
    level_pct: PERCENT,
    inflow_m3h: FLOW,
    outflow_m3h: FLOW,
    chlorine_mgl: float(0, 20, 'mg/L'),
    turbidity_ntu: float(0, 4000, 'NTU'),
  },
  canal: {
    level_m: float(0, 50, 'm'),
    flow_m3h: float(0, 1_000_000, 'm3/h'),
    velocity_ms: float(0, 20, 'm/s'),
    gate_pct: PERCENT,
  },
  meter: {
    pressure_bar: PRESSURE,
    flow_m3h: FLOW,
  },
  weather: {
    air_temp_c: float(-40, 60, '°C'),
    humidity_pct: PERCENT,
  },
} as const satisfies Record<Kind, Record<string, FieldSpec>>;

export type FieldName<K extends Kind = Kind> = keyof (typeof FIELDS)[K] & string;

function fieldSchema(spec: FieldSpec): z.ZodType {
  switch (spec.type) {
    case 'boolean':
      return z.boolean();
    case 'integer':
      return z.number().int().min(spec.min).max(spec.max);
    case 'float':
      return z.number().min(spec.min).max(spec.max);
  }
}

function valuesSchema(kind: Kind) {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, spec] of Object.entries(FIELDS[kind])) shape[name] = fieldSchema(spec as FieldSpec).optional();
  return z
    .strictObject(shape)
    .refine((values) => Object.keys(values).length > 0, { message: 'values needs at least one field' });
}

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
// Epoch milliseconds between 2000-01-01 and 2100-01-01: catches seconds-instead-of-millis too.
const EPOCH_MS_MIN = 946_684_800_000;
const EPOCH_MS_MAX = 4_102_444_800_000;

/** `ts`: ISO 8601 with a zone, or epoch milliseconds; normalised to epoch milliseconds. */
export const Timestamp = z.union([
  z.number().min(EPOCH_MS_MIN).max(EPOCH_MS_MAX).transform(Math.round),
  z
    .string()
    .regex(ISO_WITH_ZONE, 'ISO 8601 with a zone (Z or ±hh:mm)')
    .transform((text, ctx) => {
      const ms = Date.parse(text);
      // Date.parse rolls 2026-02-30 over into March: a day the month does not have is not a date.
      const [year, month, day] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
      const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
      if (Number.isNaN(ms) || month < 1 || month > 12 || day < 1 || day > daysInMonth || ms < EPOCH_MS_MIN || ms > EPOCH_MS_MAX) {
        ctx.addIssue({ code: 'custom', message: 'not a valid date' });
        return z.NEVER;
      }
      return ms;
    }),
]);

export const TelemetryPayload = Object.fromEntries(
  KINDS.map((kind) => [
    kind,
    z.object({
      ts: Timestamp,
      seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
      values: valuesSchema(kind),
    }),
  ]),
) as unknown as Record<Kind, z.ZodType<{ ts: number; seq?: number; values: Record<string, number | boolean> }>>;

export type TelemetryData = { ts: number; seq?: number; values: Record<string, number | boolean> };

/**
 * What TelemetryPayload[kind] makes of the usual reading, without zod: an epoch-ms `ts`, a valid
 * or absent `seq`, and values that are all fields of the kind, each of its type and within its
 * range. Anything else gives undefined, and zod decides (and names the reason). The result is
 * what zod returns (values in schema order). zod was ~3 µs of ~10 µs per reading (bench/stages.ts).
 */
export function parseTelemetryFast(kind: Kind, body: unknown): TelemetryData | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const { ts, seq, values } = body as Record<string, unknown>;
  if (typeof ts !== 'number' || !(ts >= EPOCH_MS_MIN && ts <= EPOCH_MS_MAX)) return undefined;
  if (seq === undefined ? Object.hasOwn(body, 'seq') : !(typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0)) return undefined;
  if (typeof values !== 'object' || values === null || Array.isArray(values)) return undefined;
  const specs = FIELD_SPECS[kind];
  const given = values as Record<string, unknown>;
  let count = 0;
  let lastPosition = -1;
  let inOrder = true;
  for (const name of Object.keys(given)) {
    const spec = specs.get(name);
    const value = given[name];
    if (spec === undefined) return undefined;
    if (spec.type === 'boolean' ? typeof value !== 'boolean' : typeof value !== 'number' || !(value >= spec.min && value <= spec.max) || (spec.type === 'integer' && !Number.isInteger(value))) return undefined;
    if (spec.position < lastPosition) inOrder = false;
    lastPosition = spec.position;
    count += 1;
  }
  if (count === 0) return undefined;
  // Devices send their fields in one order, usually the schema's: then the parsed object is the answer.
  let ordered = given as Record<string, number | boolean>;
  if (!inOrder) {
    ordered = {};
    for (const name of specs.keys()) if (Object.hasOwn(given, name)) ordered[name] = given[name] as number | boolean;
  }
  return seq === undefined ? { ts: Math.round(ts), values: ordered } : { ts: Math.round(ts), seq: seq as number, values: ordered };
}

/** Per kind, each field's spec and its position in the schema's order. */
const FIELD_SPECS = Object.fromEntries(
  KINDS.map((kind) => [kind, new Map((Object.entries(FIELDS[kind]) as Array<[string, FieldSpec]>).map(([name, spec], position) => [name, { ...spec, position }]))]),
) as Record<Kind, Map<string, FieldSpec & { position: number }>>;

export const StatusPayload = z.object({ online: z.boolean() });

/** Commands to a device (from SCADA or a station's level control); hydrowatch listens so a commanded stop is not a trip. */
export const CommandPayload = z.object({ command: z.enum(['start', 'stop']), by: z.string().max(128).optional(), ts: Timestamp.optional() });
export type CommandPayload = z.infer<typeof CommandPayload>;

/** A validated reading, as the pipeline, the rules and the API see it. */
export const Reading = z.object({
  site: Id,
  kind: Kind,
  asset: Id,
  ts: z.number().int(),
  seq: z.number().int().min(0).optional(),
  values: z.record(z.string(), z.union([z.number(), z.boolean()])),
});
export type Reading = z.infer<typeof Reading>;

export const StatusUpdate = z.object({
  site: Id,
  kind: Kind,
  asset: Id,
  online: z.boolean(),
  ts: z.number().int(),
});
export type StatusUpdate = z.infer<typeof StatusUpdate>;

export const telemetryTopic = (site: string, kind: Kind, asset: string): string =>
  `${TOPIC_ROOT}/${site}/${kind}/${asset}/telemetry`;
export const statusTopic = (site: string, kind: Kind, asset: string): string =>
  `${TOPIC_ROOT}/${site}/${kind}/${asset}/status`;
export const commandTopic = (site: string, kind: Kind, asset: string): string =>
  `${TOPIC_ROOT}/${site}/${kind}/${asset}/command`;
export const alertTopic = (site: string, asset: string, rule: string): string =>
  `${TOPIC_ROOT}/alerts/${site}/${asset}/${rule}`;

/** What the ingestor subscribes to on an external broker. */
export const INGEST_TOPICS = [`${TOPIC_ROOT}/+/+/+/telemetry`, `${TOPIC_ROOT}/+/+/+/status`, `${TOPIC_ROOT}/+/+/+/command`];
export const INGEST_CHANNELS = ['telemetry', 'status', 'command'] as const;
