// The InfluxDB schema (design §3): how readings, rejects and device status become line protocol.
// Field types come from the one schema, so a field never changes type (which 1.x would refuse).
import { isUtf8 } from 'node:buffer';
import { Point } from '@influxdata/influxdb-client';
import { FIELDS, type FieldSpec, type Reading, type RejectReason, type SparkplugRejectReason, type StatusUpdate } from '../schema.js';

/** Every line is written with millisecond precision. */
export const PRECISION = 'ms';
/** How much of a rejected payload is kept for engineers. */
export const REJECTED_PAYLOAD_MAX_CHARS = 1024;

/**
 * The reading as line protocol, exactly as the client's Point would write it (tags and fields
 * sorted, its escaping, its number formats), but built straight into a string: Point cost more
 * CPU per reading than the rest of the pipeline's stages together (bench/stages.ts). The parts go
 * into fixed slots of a reused array, joined once into a flat string of the line's length: built
 * by concatenation, each line made ~2 KB of intermediate strings, all young-generation garbage.
 */
export function readingLine(reading: Reading): string {
  const order = FIELD_ORDER.get(reading.kind);
  if (order === undefined) return pointReadingLine(reading);
  const values = reading.values;
  // In Point's order (the reading's, then seq), so a bad value throws the same error; placed sorted.
  const texts = order.texts;
  texts.fill(undefined);
  for (const name in values) {
    const at = name === 'seq' ? undefined : order.index.get(name);
    // A field the schema does not know (validated readings have none) takes the Point path.
    if (at === undefined) return pointReadingLine(reading);
    const value = values[name];
    const type = order.types[at];
    texts[at] = type === 'boolean' ? (value ? 'T' : 'F') : type === 'integer' ? intText(name, value) : floatText(name, value);
  }
  if (reading.seq !== undefined) texts[order.seqAt] = intText('seq', reading.seq);
  // Fixed slots: measurement, the two tags, a prefix and a text per field, then the time.
  const parts = order.parts;
  parts[0] = escapeMeasurement(reading.kind);
  parts[1] = reading.asset ? ',asset=' : '';
  parts[2] = reading.asset ? escapeTag(reading.asset) : '';
  parts[3] = reading.site ? ',site=' : '';
  parts[4] = reading.site ? escapeTag(reading.site) : '';
  let fields = 0;
  for (let at = 0; at < texts.length; at++) {
    const text = texts[at];
    parts[5 + 2 * at] = text === undefined ? '' : fields === 0 ? order.firstPrefixes[at]! : order.prefixes[at]!;
    parts[6 + 2 * at] = text ?? '';
    if (text !== undefined) fields += 1;
  }
  if (fields === 0) return pointReadingLine(reading);
  parts[parts.length - 1] = String(reading.ts);
  return parts.join('');
}

/** Per kind: its field names and `seq`, sorted as Point sorts them, with their line-protocol types. */
const FIELD_ORDER = new Map(
  Object.entries(FIELDS).map(([kind, specs]) => {
    const typed: Array<[string, FieldSpec['type']]> = Object.entries(specs as Record<string, FieldSpec>).map(([name, spec]) => [name, spec.type]);
    typed.push(['seq', 'integer']);
    typed.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const names = typed.map(([name]) => name);
    return [
      kind,
      {
        types: typed.map(([, type]) => type),
        index: new Map(names.map((name, at) => [name, at])),
        seqAt: names.indexOf('seq'),
        /** ` name=` before the first field, `,name=` before the others (field names need no escaping). */
        firstPrefixes: names.map((name) => ` ${name}=`),
        prefixes: names.map((name) => `,${name}=`),
        /** readingLine's scratch (it never yields or recurses, so one per kind serves every call). */
        texts: new Array<string | undefined>(names.length),
        parts: [...new Array<string>(5 + 2 * names.length).fill(''), ' ', ''],
      },
    ];
  }),
);

// The client's escaping rules (its util/escape.ts): measurement `, \n\r\t`; tag keys, tag values and field keys also `=`.
const TAG_SPECIAL = /[, =\n\r\t]/;
const MEASUREMENT_SPECIAL = /[, \n\r\t]/;
const ESCAPED: Record<string, string> = { ',': '\\,', ' ': '\\ ', '=': '\\=', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const escapeTag = (text: string): string => (TAG_SPECIAL.test(text) ? text.replace(/[, =\n\r\t]/g, (c) => ESCAPED[c]!) : text);
const escapeMeasurement = (text: string): string => (MEASUREMENT_SPECIAL.test(text) ? text.replace(/[, \n\r\t]/g, (c) => ESCAPED[c]!) : text);

/** Point.intField's checks and format. */
function intText(name: string, value: unknown): string {
  const number = typeof value === 'number' ? value : parseInt(String(value));
  if (Number.isNaN(number) || number <= -9223372036854776e3 || number >= 9223372036854776e3) throw new Error(`invalid integer value for field '${name}': '${String(value)}'!`);
  return `${Math.floor(number)}i`;
}

/** Point.floatField's checks and format. */
function floatText(name: string, value: unknown): string {
  const number = typeof value === 'number' ? value : parseFloat(value as string);
  if (!Number.isFinite(number)) throw new Error(`invalid float value for field '${name}': ${String(value)}`);
  return String(number);
}

/** The same line through the client's Point: the reference readingLine must match. */
export function pointReadingLine(reading: Reading): string {
  const point = new Point(reading.kind).tag('site', reading.site).tag('asset', reading.asset);
  const specs = FIELDS[reading.kind] as Record<string, FieldSpec>;
  for (const [name, value] of Object.entries(reading.values)) {
    const spec = specs[name];
    if (spec?.type === 'boolean') point.booleanField(name, value as boolean);
    else if (spec?.type === 'integer') point.intField(name, value as number);
    else point.floatField(name, value as number);
  }
  if (reading.seq !== undefined) point.intField('seq', reading.seq);
  return flat(point.timestamp(String(reading.ts)).toLineProtocol()!);
}

/**
 * A line built by concatenation is a V8 rope that costs ~7× its length; touching a character
 * flattens it. Measured: 500,000 spooled pump lines take ~115 MB flat against ~780 MB as ropes.
 */
function flat(line: string): string {
  line.charCodeAt(line.length - 1);
  return line;
}

export function rejectedLine(reason: RejectReason | SparkplugRejectReason, topic: string, payload: Buffer, detail: string, ts: number): string {
  return new Point('rejected')
    .tag('reason', reason)
    .stringField('topic', printable(topic, 512))
    .stringField('payload', payloadForHumans(payload))
    .stringField('detail', printable(detail, 512))
    .intField('bytes', payload.length)
    .timestamp(String(ts))
    .toLineProtocol()!;
}

export function statusLine(status: StatusUpdate): string {
  return new Point('status')
    .tag('site', status.site)
    .tag('asset', status.asset)
    .tag('kind', status.kind)
    .booleanField('online', status.online)
    .timestamp(String(status.ts))
    .toLineProtocol()!;
}

/** Payloads are kept readable: truncated, control characters escaped, non-UTF-8 as base64. */
export function payloadForHumans(payload: Buffer): string {
  if (!isUtf8(payload)) return `base64:${payload.subarray(0, (REJECTED_PAYLOAD_MAX_CHARS * 3) / 4).toString('base64')}`;
  return printable(payload.subarray(0, REJECTED_PAYLOAD_MAX_CHARS * 4).toString('utf8'), REJECTED_PAYLOAD_MAX_CHARS);
}

function printable(text: string, maxChars: number): string {
  const cut = text.length > maxChars ? `${text.slice(0, maxChars)}…` : text;
  // eslint-disable-next-line no-control-regex
  return cut.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export type AlertState = 'active' | 'acknowledged' | 'cleared' | 'shelved' | 'unshelved';
export type Severity = 'critical' | 'high' | 'medium' | 'low';

/** One point per alert lifecycle event (design §3). */
export interface AlertEvent {
  id: string;
  site: string;
  asset: string;
  rule: string;
  severity: Severity;
  state: AlertState;
  message: string;
  value: number | undefined;
  threshold: number | undefined;
  /** Who acted (ack/shelve/unshelve), empty for the engine. */
  by?: string | undefined;
  ts: number;
}

export function alertLine(event: AlertEvent): string {
  const point = new Point('alert')
    .tag('site', event.site)
    .tag('asset', event.asset)
    .tag('rule', event.rule)
    .tag('severity', event.severity)
    .stringField('state', event.state)
    .stringField('message', printable(event.message, 1024))
    .stringField('id', event.id);
  if (event.value !== undefined && Number.isFinite(event.value)) point.floatField('value', event.value);
  if (event.threshold !== undefined && Number.isFinite(event.threshold)) point.floatField('threshold', event.threshold);
  if (event.by) point.stringField('by', printable(event.by, 256));
  return flat(point.timestamp(String(event.ts)).toLineProtocol()!);
}

/** The heat-wave state of a region (design §3), written on every change and daily assessment. */
export interface HeatwaveState {
  region: string;
  active: boolean;
  tmax_c: number | undefined;
  hot_days: number;
  /** CMA warning level, when any. */
  level?: 'yellow' | 'orange' | 'red' | undefined;
  source: 'assessment' | 'manual';
  by?: string | undefined;
  reason?: string | undefined;
  ts: number;
}

export function heatwaveLine(state: HeatwaveState): string {
  const point = new Point('heatwave')
    .tag('region', state.region)
    .booleanField('active', state.active)
    .intField('hot_days', state.hot_days)
    .stringField('source', state.source);
  if (state.tmax_c !== undefined && Number.isFinite(state.tmax_c)) point.floatField('tmax_c', state.tmax_c);
  if (state.level) point.stringField('level', state.level);
  if (state.by) point.stringField('by', printable(state.by, 256));
  if (state.reason) point.stringField('reason', printable(state.reason, 512));
  return flat(point.timestamp(String(state.ts)).toLineProtocol()!);
}

/** One mutating API call (src/api/auth.ts): who did what, when, and whether it was allowed. */
export interface AuditEntry {
  /** e.g. `POST /api/alerts/:id/ack`, or the route's own `config.action`. */
  action: string;
  /** The caller's role; `none` when no valid token came with the call. */
  role: string;
  who: string;
  /** The path acted on, e.g. `/api/alerts/42/ack`. */
  target: string;
  ok: boolean;
  status: number;
  ip?: string | undefined;
  ts: number;
}

export function auditLine(entry: AuditEntry): string {
  const point = new Point('audit')
    .tag('action', printable(entry.action, 128))
    .tag('role', entry.role)
    .stringField('who', printable(entry.who, 256))
    .stringField('target', printable(entry.target, 512))
    .booleanField('ok', entry.ok)
    .intField('status', entry.status);
  if (entry.ip) point.stringField('ip', printable(entry.ip, 64));
  return flat(point.timestamp(String(entry.ts)).toLineProtocol()!);
}
