// Seeded fuzz cases for the ingest pipeline, a reference reading of the MQTT contract (design §2,
// README "Rejects") that says what must happen to each, and a strict line-protocol checker.
// The reference is written from the contract, not from src/schema.ts's zod schema: where they
// disagree, one of them is wrong.
import { createRng, type Rng } from '../../simulators/rng.js';
import { FIELDS, type FieldSpec, KINDS, type Kind, MAX_FUTURE_MS, MAX_PAYLOAD_BYTES, REJECT_REASONS, RejectReason } from '../../src/schema.js';

/** The fuzz runs at a fixed "now", so future-timestamp rules are reproducible. */
export const FUZZ_NOW = Date.parse('2026-07-14T06:00:00.000Z');
const EPOCH_MS_MIN = Date.parse('2000-01-01T00:00:00Z');
const EPOCH_MS_MAX = Date.parse('2100-01-01T00:00:00Z');

export type Expected =
  | { valid: true; channel: 'telemetry'; kind: Kind; site: string; asset: string; ts: number; seq: number | undefined; values: Record<string, number | boolean> }
  | { valid: true; channel: 'status'; kind: Kind; site: string; asset: string; online: boolean }
  | { valid: false; reasons: RejectReason[] };

export interface FuzzCase {
  index: number;
  topic: string;
  payload: Buffer;
  /** How it was made, for failure messages. */
  recipe: string;
  expected: Expected;
}

// ---------------------------------------------------------------- the reference reading

const ID = /^[A-Za-z0-9_.-]{1,64}$/;
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const bad = (...reasons: RejectReason[]): Expected => ({ valid: false, reasons });
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function reference(topic: string, payload: Buffer, now: number): Expected {
  const parts = topic.split('/');
  const [root, site = '', kind = '', asset = '', channel] = parts;
  if (parts.length !== 5 || root !== 'hydrowatch' || (channel !== 'telemetry' && channel !== 'status')) return bad(RejectReason.TOPIC_BAD_FORMAT);
  if (!(KINDS as readonly string[]).includes(kind)) return bad(RejectReason.TOPIC_UNKNOWN_KIND);
  if (!ID.test(site) || !ID.test(asset)) return bad(RejectReason.TOPIC_BAD_ID);
  if (payload.length > MAX_PAYLOAD_BYTES) return bad(RejectReason.PAYLOAD_TOO_LARGE);
  let text: string;
  try {
    // WHATWG UTF-8 decoding: a leading byte-order mark is dropped, like most JSON readers do.
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    return bad(RejectReason.PAYLOAD_NOT_UTF8);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // NaN and Infinity are not JSON; calling them NOT_FINITE rather than BAD_JSON is a courtesy.
    return /NaN|Infinity/.test(text) ? bad(RejectReason.PAYLOAD_NOT_FINITE, RejectReason.PAYLOAD_BAD_JSON) : bad(RejectReason.PAYLOAD_BAD_JSON);
  }
  if (!isPlainObject(body)) return bad(RejectReason.PAYLOAD_NOT_OBJECT);
  const k = kind as Kind;
  if (channel === 'status') {
    return typeof body.online === 'boolean' ? { valid: true, channel: 'status', kind: k, site, asset, online: body.online } : bad(RejectReason.PAYLOAD_BAD_STATUS);
  }

  let ts: number;
  if (body.ts === undefined) return bad(RejectReason.PAYLOAD_MISSING_TS);
  if (typeof body.ts === 'number' && Number.isFinite(body.ts) && body.ts >= EPOCH_MS_MIN && body.ts <= EPOCH_MS_MAX) ts = Math.round(body.ts);
  else if (typeof body.ts === 'string' && ISO_WITH_ZONE.test(body.ts)) {
    // A day the month does not have (2026-02-30) is not a date, though Date.parse would roll it over.
    const ms = Date.parse(body.ts);
    const [y, m, d] = body.ts.slice(0, 10).split('-').map(Number) as [number, number, number];
    const dayExists = m >= 1 && m <= 12 && d >= 1 && d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
    if (Number.isNaN(ms) || !dayExists || ms < EPOCH_MS_MIN || ms > EPOCH_MS_MAX) return bad(RejectReason.PAYLOAD_BAD_TS);
    ts = ms;
  } else return bad(RejectReason.PAYLOAD_BAD_TS);

  const seq = body.seq;
  if (seq !== undefined && !(typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0)) return bad(RejectReason.PAYLOAD_BAD_SEQ);

  const values = body.values;
  if (values === undefined) return bad(RejectReason.PAYLOAD_NO_VALUES);
  if (!isPlainObject(values)) return bad(RejectReason.PAYLOAD_WRONG_TYPE);
  const specs = FIELDS[k] as Record<string, FieldSpec>;
  for (const [name, spec] of Object.entries(specs)) {
    if (!Object.hasOwn(values, name)) continue;
    const value = values[name];
    if (spec.type === 'boolean') {
      if (typeof value !== 'boolean') return bad(RejectReason.PAYLOAD_WRONG_TYPE);
      continue;
    }
    if (typeof value !== 'number') return bad(RejectReason.PAYLOAD_WRONG_TYPE);
    if (!Number.isFinite(value)) return bad(RejectReason.PAYLOAD_NOT_FINITE);
    const outside = value < spec.min || value > spec.max;
    if (spec.type === 'integer' && !Number.isInteger(value)) {
      return outside ? bad(RejectReason.PAYLOAD_OUT_OF_RANGE, RejectReason.PAYLOAD_WRONG_TYPE) : bad(RejectReason.PAYLOAD_WRONG_TYPE);
    }
    if (outside) return bad(RejectReason.PAYLOAD_OUT_OF_RANGE);
  }
  if (Object.keys(values).some((name) => !Object.hasOwn(specs, name))) return bad(RejectReason.PAYLOAD_UNKNOWN_FIELD);
  if (Object.keys(values).length === 0) return bad(RejectReason.PAYLOAD_NO_VALUES);
  if (ts > now + MAX_FUTURE_MS) return bad(RejectReason.PAYLOAD_FUTURE_TS);
  return { valid: true, channel: 'telemetry', kind: k, site, asset, ts, seq: seq as number | undefined, values: values as Record<string, number | boolean> };
}

// ---------------------------------------------------------------- the generator

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-';
/** Characters that must never get into a tag: line-protocol and MQTT metacharacters, controls, unicode. */
const NASTY = [' ', ',', '=', '"', "'", '\\', '\n', '\r', '\t', '\0', '+', '#', '/', 'é', '水', '\u{1F4A7}', '\uD800', '\uDFFF', '\u202E', '\uFEFF', '%', '$'];
const EDGE_NUMBERS = [0, -0, 5e-324, -5e-324, 1e-308, 1e308, -1e308, Number.MAX_VALUE, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, -1, 0.1 + 0.2, 2 ** 31, 2 ** 53, 1e21, -1e21];
/** Number texts JSON.parse turns into something surprising, or refuses. */
const EDGE_NUMBER_TEXTS = ['1e400', '-1e400', '1e-400', '-0.0', '0e0', 'NaN', 'Infinity', '-Infinity', '00', '+1', '.5', '1.', '0x10', '1_000'];

export class FuzzGenerator {
  private readonly rng: Rng;
  private index = 0;

  /** `now` is the clock the readings are made around (the pipeline's clock must agree). */
  constructor(
    seed: number,
    readonly now = FUZZ_NOW,
  ) {
    this.rng = createRng(seed);
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.rng.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.rng.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.rng.next() * items.length)]!;
  }

  id(maxLength = 24): string {
    let id = '';
    const length = this.int(1, maxLength);
    for (let i = 0; i < length; i++) id += this.pick([...ID_CHARS]);
    return id;
  }

  /** A value in the field's range, often at its edges. */
  fieldValue(spec: FieldSpec): number | boolean {
    if (spec.type === 'boolean') return this.chance(0.5);
    const { min, max } = spec;
    const candidates = [min, max, min + (max - min) * this.rng.next()];
    if (min <= 0 && max > 0) candidates.push(-0, 5e-324, Number.MIN_VALUE * 3);
    const value = this.pick(candidates);
    return spec.type === 'integer' ? Math.min(max, Math.max(min, Math.round(value))) : value;
  }

  /** A valid telemetry body for `kind` (ts unique enough when `tsOffset` is given). */
  validBody(kind: Kind, tsOffset = this.int(0, 86_400_000)): Record<string, unknown> {
    const specs = FIELDS[kind] as Record<string, FieldSpec>;
    const names = Object.keys(specs).filter(() => this.chance(0.5));
    if (names.length === 0) names.push(this.pick(Object.keys(specs)));
    const values: Record<string, unknown> = {};
    for (const name of names) values[name] = this.fieldValue(specs[name]!);
    const ms = this.now - tsOffset;
    const ts = this.pick<unknown>([
      ms,
      ms + 0.4, // rounds to ms
      new Date(ms).toISOString(),
      new Date(ms).toISOString().replace('Z', '+00:00'),
      isoWithOffset(ms, 8 * 60),
      isoWithOffset(ms, -(5 * 60 + 30), false),
      new Date(ms).toISOString().replace(/\.\d+Z$/, '.000000001Z'),
    ]);
    const body: Record<string, unknown> = { ts, values };
    if (this.chance(0.7)) body.seq = this.pick([0, -0, this.int(1, 1_000_000), Number.MAX_SAFE_INTEGER]);
    // Keys the contract does not name are ignored at the top level: they must not leak anywhere.
    if (this.chance(0.2)) {
      // defineProperty: assigning to "__proto__" would set the prototype, not a key.
      const key = this.pick(['note', 'fw', '__proto__', 'constructor', 'a,b=c d']);
      Object.defineProperty(body, key, { value: this.nastyString(this.int(0, 300)), enumerable: true, writable: true, configurable: true });
    }
    return body;
  }

  nastyString(length: number): string {
    let text = '';
    while (text.length < length) text += this.chance(0.3) ? this.pick(NASTY) : this.pick([...ID_CHARS]);
    return text;
  }

  bytes(length: number): Buffer {
    const buffer = Buffer.alloc(length);
    for (let i = 0; i < length; i++) buffer[i] = this.int(0, 255);
    return buffer;
  }

  topic(kind: Kind, site: string, asset: string, channel = 'telemetry'): string {
    return `hydrowatch/${site}/${kind}/${asset}/${channel}`;
  }

  /** One case: about a third are valid readings, the rest are made from a valid one by a recipe. */
  next(): FuzzCase {
    const index = this.index++;
    const kind = this.pick(KINDS);
    const site = this.id(16);
    const asset = `${this.id(40)}-${index}`; // unique, so valid readings never overwrite each other
    const body = this.validBody(kind);
    const json = (value: unknown) => Buffer.from(JSON.stringify(value, null, this.chance(0.1) ? this.int(1, 4) : undefined));
    let topic = this.topic(kind, site, asset);
    let payload: Buffer = json(body);
    const recipes: Array<[string, () => void]> = [
      ['valid', () => undefined],
      ['valid', () => undefined],
      ['valid', () => undefined],
      ['status', () => {
        topic = this.topic(kind, site, asset, 'status');
        payload = json(this.pick<unknown>([{ online: true }, { online: false }, { online: 'true' }, { online: 1 }, {}, { online: null }, { online: false, extra: this.nastyString(20) }]));
      }],
      ['topic shape', () => {
        topic = this.pick([
          `hydrowatch/${site}/${kind}/${asset}`,
          `hydrowatch/${site}/${kind}/${asset}/telemetry/extra`,
          `Hydrowatch/${site}/${kind}/${asset}/telemetry`,
          `hydrowatch/${site}/${kind}/${asset}/telemetry/`,
          `/hydrowatch/${site}/${kind}/${asset}/telemetry`,
          `hydrowatch/${site}/${kind}/${asset}/Telemetry`,
          `hydrowatch/${site}/${kind}/${asset}/alerts`,
          '',
          '/'.repeat(this.int(1, 10)),
          this.nastyString(this.int(1, 200)),
        ]);
      }],
      ['unknown kind', () => {
        topic = this.topic(this.pick(['pumps', 'PUMP', '', 'valve', 'pump ', 'pu\nmp', 'reservoir\0']) as Kind, site, asset);
      }],
      ['bad id', () => {
        const nasty = this.pick([
          '',
          'x'.repeat(65),
          'x'.repeat(this.int(1000, 20_000)),
          `${this.id(8)}${this.pick(NASTY)}${this.id(8)}`,
          this.nastyString(this.int(1, 30)),
          '+',
          '#',
        ]);
        topic = this.chance(0.5) ? this.topic(kind, nasty, asset) : this.topic(kind, site, nasty);
      }],
      ['random bytes', () => {
        payload = this.bytes(this.pick([0, 1, 2, this.int(3, 64), this.int(65, 2000)]));
      }],
      ['random text', () => {
        payload = Buffer.from(this.nastyString(this.int(0, 500)));
      }],
      ['truncated json', () => {
        payload = payload.subarray(0, this.int(0, payload.length - 1));
      }],
      ['not an object', () => {
        payload = json(this.pick<unknown>([[body], 'text', 42, null, true, [], [1, 2, 3]]));
      }],
      ['deep json', () => {
        const depth = this.int(100, 30_000);
        payload = Buffer.from(
          this.pick([
            () => '['.repeat(depth) + ']'.repeat(depth),
            () => '{"a":'.repeat(Math.min(depth, 12_000)) + '1' + '}'.repeat(Math.min(depth, 12_000)),
            () => `{"ts":${this.now},"values":{"flow_m3h":${'['.repeat(depth)}${']'.repeat(depth)}}}`,
            () => `{"ts":${this.now},"values":{"running":true},"deep":${'{"a":'.repeat(5000)}0${'}'.repeat(5000)}}`,
            () => '['.repeat(depth), // unbalanced
          ])(),
        );
      }],
      ['size edge', () => {
        // Padded with JSON whitespace to exactly the limit (valid) or one byte over it.
        const target = MAX_PAYLOAD_BYTES + this.pick([0, 1, -1, this.int(2, 200_000)]);
        const text = JSON.stringify(body);
        payload = Buffer.from(text.length <= target ? text + ' '.repeat(target - text.length) : text);
      }],
      ['huge string', () => {
        const huge = this.pick(['x', '水', '\u{1F4A7}', '\\']).repeat(this.int(1000, 40_000));
        payload = json(this.chance(0.5) ? { ...body, note: huge } : { ...body, values: { ...(body.values as object), [this.pick(Object.keys(FIELDS[kind]))]: huge } });
      }],
      ['lone surrogate', () => {
        const text = JSON.stringify({ ...body, note: 'x' }).replace('"x"', this.pick(['"\\ud800"', '"\\udfff\\ud800"', '"\\u0000"']));
        payload = Buffer.from(this.chance(0.5) ? text : text.replace('"note"', '"\\ud83d"'));
      }],
      ['ts edge', () => {
        const ts = this.pick<unknown>([
          undefined,
          null,
          Math.floor(this.now / 1000),
          this.now + MAX_FUTURE_MS,
          this.now + MAX_FUTURE_MS + 1,
          EPOCH_MS_MIN,
          EPOCH_MS_MIN - 1,
          EPOCH_MS_MAX + 1,
          ...EDGE_NUMBERS,
          '2026-07-14T06:00:00',
          '2026-07-14 06:00:00Z',
          '2026-13-01T00:00:00Z',
          '2026-02-30T00:00:00Z',
          '1999-12-31T23:59:59Z',
          String(this.now),
          '',
          true,
          { $date: this.now },
          [this.now],
        ]);
        const copy: Record<string, unknown> = { ...body, ts };
        if (ts === undefined) delete copy.ts;
        payload = json(copy);
      }],
      ['seq edge', () => {
        payload = json({ ...body, seq: this.pick<unknown>([-1, 1.5, '12', null, true, [], ...EDGE_NUMBERS]) });
      }],
      ['values shape', () => {
        payload = json({ ...body, values: this.pick<unknown>([{}, null, [], 'flow', 0, [{ flow_m3h: 1 }]]) });
      }],
      ['unknown field', () => {
        const other = this.pick(KINDS.filter((k) => k !== kind));
        const name = this.pick(['__proto__', 'constructor', 'toString', 'flow_m3h ', 'FLOW_M3H', 'a,b=c d', 'x"y', 'x\ny', '', this.pick(Object.keys(FIELDS[other]))]);
        const values = JSON.stringify(body.values).replace(/^\{/, `{${JSON.stringify(name)}:1,`);
        payload = Buffer.from(JSON.stringify({ ...body, values: '@@' }).replace('"@@"', values));
      }],
      ['wrong type', () => {
        const name = this.pick(Object.keys(FIELDS[kind]));
        payload = json({ ...body, values: { ...(body.values as object), [name]: this.pick<unknown>(['412', true, false, 1, 0, null, [], {}, '']) } });
      }],
      ['number edge', () => {
        const name = this.pick(Object.keys(FIELDS[kind]));
        payload = json({ ...body, values: { ...(body.values as object), [name]: this.pick(EDGE_NUMBERS) } });
      }],
      ['number text', () => {
        const name = this.pick(Object.keys(FIELDS[kind]));
        const text = JSON.stringify({ ...body, values: { ...(body.values as object), [name]: '@@' } });
        payload = Buffer.from(text.replace('"@@"', this.pick(EDGE_NUMBER_TEXTS)));
      }],
      ['bom', () => {
        payload = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), payload]);
      }],
      ['overlong utf-8', () => {
        // 0xC0 0xAF is an overlong '/', 0xED 0xA0 0x80 an encoded surrogate: both invalid UTF-8.
        const text = payload.toString();
        const at = this.int(0, text.length);
        payload = Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(this.pick([[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff], [0xe2, 0x82]])), Buffer.from(text.slice(at))]);
      }],
    ];
    const [recipe, apply] = this.pick(recipes);
    apply();
    return { index, topic, payload, recipe, expected: reference(topic, payload, this.now) };
  }
}

function isoWithOffset(ms: number, offsetMinutes: number, colon = true): string {
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 23);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${local}${sign}${hh}${colon ? ':' : ''}${mm}`;
}

// ---------------------------------------------------------------- the line-protocol checker

export interface ParsedLine {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, { type: 'float' | 'integer' | 'boolean' | 'string'; value: number | boolean | string }>;
  timestamp: number;
}

/** Parses one line of InfluxDB line protocol strictly; throws on anything InfluxDB would misread. */
export function parseLine(line: string): ParsedLine {
  let at = 0;
  const fail = (why: string): never => {
    throw new Error(`bad line protocol (${why}) at ${at}: ${JSON.stringify(line.slice(0, 300))}`);
  };
  if (/[\n\r]/.test(line)) fail('raw line break');
  const token = (stops: string): string => {
    let out = '';
    while (at < line.length && !stops.includes(line[at]!)) {
      if (line[at] === '\\' && at + 1 < line.length && (stops.includes(line[at + 1]!) || line[at + 1] === '\\')) {
        out += line[at + 1];
        at += 2;
      } else out += line[at++];
    }
    return out;
  };
  const measurement = token(', ');
  if (measurement === '') fail('no measurement');
  const tags: Record<string, string> = {};
  while (line[at] === ',') {
    at += 1;
    const key = token('=, ');
    if (line[at] !== '=') fail('tag without =');
    at += 1;
    const value = token(', ');
    if (key === '' || value === '') fail('empty tag');
    if (key in tags) fail('repeated tag');
    tags[key] = value;
  }
  if (line[at] !== ' ') fail('no fields');
  at += 1;
  const fields: ParsedLine['fields'] = {};
  for (;;) {
    const key = token('=, ');
    if (key === '' || line[at] !== '=') fail('field without =');
    at += 1;
    if (key in fields) fail('repeated field');
    if (line[at] === '"') {
      at += 1;
      let value = '';
      while (at < line.length && line[at] !== '"') {
        if (line[at] === '\\' && (line[at + 1] === '"' || line[at + 1] === '\\')) {
          value += line[at + 1];
          at += 2;
        } else value += line[at++];
      }
      if (line[at] !== '"') fail('unterminated string');
      at += 1;
      fields[key] = { type: 'string', value };
    } else {
      const raw = token(', ');
      if (/^-?\d+i$/.test(raw)) fields[key] = { type: 'integer', value: Number(raw.slice(0, -1)) };
      else if (/^(t|T|true|True|TRUE)$/.test(raw)) fields[key] = { type: 'boolean', value: true };
      else if (/^(f|F|false|False|FALSE)$/.test(raw)) fields[key] = { type: 'boolean', value: false };
      else if (/^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(raw) && Number.isFinite(Number(raw))) fields[key] = { type: 'float', value: Number(raw) };
      else fail(`field value ${raw}`);
    }
    if (line[at] !== ',') break;
    at += 1;
  }
  if (line[at] !== ' ') fail('no timestamp');
  at += 1;
  const ts = line.slice(at);
  if (!/^-?\d{1,19}$/.test(ts)) fail('timestamp');
  return { measurement, tags, fields, timestamp: Number(ts) };
}

/**
 * Checks a spooled line against the measurement schema (design §3): only known measurements,
 * exactly their tags, only their fields with their types and ranges. Returns the parsed line.
 */
export function checkSpooledLine(line: string): ParsedLine {
  const parsed = parseLine(line);
  const { measurement, tags, fields, timestamp } = parsed;
  const problem = (why: string): never => {
    throw new Error(`${why}: ${JSON.stringify(line.slice(0, 300))}`);
  };
  const tagNames = Object.keys(tags).sort().join(',');
  if (!Number.isSafeInteger(timestamp) || timestamp < EPOCH_MS_MIN || timestamp > EPOCH_MS_MAX) problem('timestamp out of range');
  if ((KINDS as readonly string[]).includes(measurement)) {
    if (tagNames !== 'asset,site' || !ID.test(tags.site!) || !ID.test(tags.asset!)) problem('reading tags');
    const specs = FIELDS[measurement as Kind] as Record<string, FieldSpec>;
    if (Object.keys(fields).length === 0) problem('no fields');
    for (const [name, field] of Object.entries(fields)) {
      if (name === 'seq') {
        if (field.type !== 'integer' || (field.value as number) < 0) problem('seq');
        continue;
      }
      const spec = Object.hasOwn(specs, name) ? specs[name] : undefined;
      if (spec === undefined) problem(`unknown field ${name}`);
      if (spec!.type !== field.type) problem(`field ${name} is ${field.type}, not ${spec!.type}`);
      if (spec!.type !== 'boolean' && ((field.value as number) < spec!.min || (field.value as number) > spec!.max)) problem(`field ${name} out of range`);
    }
  } else if (measurement === 'status') {
    if (tagNames !== 'asset,kind,site' || !ID.test(tags.site!) || !ID.test(tags.asset!) || !(KINDS as readonly string[]).includes(tags.kind!)) problem('status tags');
    if (Object.keys(fields).join(',') !== 'online' || fields.online!.type !== 'boolean') problem('status fields');
  } else if (measurement === 'rejected') {
    if (tagNames !== 'reason' || !(REJECT_REASONS as readonly string[]).includes(tags.reason!)) problem('rejected tags');
    if (Object.keys(fields).sort().join(',') !== 'bytes,detail,payload,topic') problem('rejected fields');
    for (const name of ['detail', 'payload', 'topic']) {
      const value = fields[name]!;
      // eslint-disable-next-line no-control-regex
      if (value.type !== 'string' || /[\u0000-\u001f\u007f]/.test(value.value as string)) problem(`rejected ${name}`);
      // Truncated to ~1,024 characters before control characters are spelled out as \uXXXX.
      if ((value.value as string).length > 1025 * 6 + 8) problem(`rejected ${name} not truncated`);
    }
    if (fields.bytes!.type !== 'integer') problem('rejected bytes');
  } else problem(`unknown measurement ${measurement}`);
  return parsed;
}
