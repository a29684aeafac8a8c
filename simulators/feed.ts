// Feed files: what went over (or would go over) the broker, to replay later at any speed.
// JSON Lines, gzip-compressed when the name ends in `.gz` (readers detect gzip by its magic bytes).
//   line 1:  {"hydrowatch_feed":1,"startMs":1784044800000,"source":"simulate heatwave seed 7"}
//   then:    {"t":12345,"topic":"hydrowatch/…/telemetry","qos":1,"retain":false,"payload":"{…}"}
// `t` is the message's offset in ms from `startMs`; a payload that is not valid UTF-8 is written
// as "payload_base64" instead. Keys are always written in this order, so the same messages give
// the same bytes.
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { gzipSync, createGunzip } from 'node:zlib';

export const FEED_VERSION = 1;

export interface FeedHeader {
  hydrowatch_feed: number;
  /** Epoch ms that offsets count from. */
  startMs: number;
  /** What made the feed (free text). */
  source: string;
}

export interface FeedMessage {
  /** Offset from the header's startMs, ms. */
  t: number;
  topic: string;
  qos: 0 | 1 | 2;
  retain: boolean;
  payload: Buffer | string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One feed line for a message (no newline). */
export function feedLine(message: FeedMessage): string {
  let text: string | undefined;
  if (typeof message.payload === 'string') text = message.payload;
  else {
    try {
      text = utf8.decode(message.payload);
    } catch {
      text = undefined;
    }
  }
  const head = `{"t":${Math.round(message.t)},"topic":${JSON.stringify(message.topic)},"qos":${message.qos},"retain":${message.retain}`;
  return text === undefined
    ? `${head},"payload_base64":${JSON.stringify(Buffer.from(message.payload).toString('base64'))}}`
    : `${head},"payload":${JSON.stringify(text)}}`;
}

export function parseFeedLine(line: string): FeedMessage {
  const raw = JSON.parse(line) as { t?: unknown; topic?: unknown; qos?: unknown; retain?: unknown; payload?: unknown; payload_base64?: unknown };
  if (typeof raw.t !== 'number' || typeof raw.topic !== 'string') throw new Error('a feed line needs "t" and "topic"');
  const qos = raw.qos === 0 || raw.qos === 2 ? raw.qos : 1;
  const payload = typeof raw.payload_base64 === 'string' ? Buffer.from(raw.payload_base64, 'base64') : typeof raw.payload === 'string' ? raw.payload : '';
  return { t: raw.t, topic: raw.topic, qos, retain: raw.retain === true, payload };
}

export interface FeedWriter {
  write(message: FeedMessage): void;
  readonly messages: number;
  /** Write what is buffered and close the file; safe to call twice. */
  close(): void;
}

/** Bytes buffered before a write (and, for .gz, before one gzip member is added). */
const CHUNK_BYTES = 1 << 20;

/**
 * Writes synchronously in 1 MiB chunks; a `.gz` file is a series of gzip members (one per
 * chunk), which every gunzip reads as one stream. Same messages, same bytes.
 */
export function createFeedWriter(path: string, header: Omit<FeedHeader, 'hydrowatch_feed'>): FeedWriter {
  const gzip = path.endsWith('.gz');
  const fd = openSync(path, 'w');
  let pending: string[] = [];
  let pendingBytes = 0;
  let messages = 0;
  let closed = false;
  const flush = () => {
    if (pending.length === 0) return;
    const text = Buffer.from(pending.join(''));
    writeSync(fd, gzip ? gzipSync(text) : text);
    pending = [];
    pendingBytes = 0;
  };
  const push = (line: string) => {
    pending.push(line, '\n');
    pendingBytes += line.length + 1;
    if (pendingBytes >= CHUNK_BYTES) flush();
  };
  push(JSON.stringify({ hydrowatch_feed: FEED_VERSION, startMs: header.startMs, source: header.source }));
  return {
    write(message) {
      if (closed) throw new Error(`feed ${path} is closed`);
      push(feedLine(message));
      messages++;
    },
    get messages() {
      return messages;
    },
    close() {
      if (closed) return;
      closed = true;
      flush();
      closeSync(fd);
    },
  };
}

export interface FeedReader {
  header: FeedHeader;
  messages: AsyncIterable<FeedMessage>;
  /** Bytes of the file read so far (compressed bytes for a .gz feed). */
  bytesRead(): number;
  /** Stop reading (the iterator ends). */
  close(): void;
}

/** Open a feed (plain or gzip, told apart by the first bytes) and read its header. */
export async function openFeed(path: string): Promise<FeedReader> {
  const gzipped = await startsWithGzipMagic(path);
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const text = gzipped ? file.pipe(createGunzip()) : file;
  file.on('error', (error) => text.destroy(error));
  const lines = createInterface({ input: text, crlfDelay: Infinity });
  const iterator = lines[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) throw new Error(`feed ${path} is empty`);
  let header: FeedHeader;
  try {
    header = JSON.parse(first.value) as FeedHeader;
  } catch {
    throw new Error(`feed ${path}: the first line is not a feed header`);
  }
  if (header.hydrowatch_feed !== FEED_VERSION || typeof header.startMs !== 'number') {
    throw new Error(`feed ${path}: not a hydrowatch feed (version ${FEED_VERSION}) header: ${first.value.slice(0, 120)}`);
  }
  let lineNumber = 1;
  return {
    header,
    messages: {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const next = await iterator.next();
          if (next.done) return;
          lineNumber++;
          if (next.value === '') continue;
          try {
            yield parseFeedLine(next.value);
          } catch (error) {
            throw new Error(`feed ${path}, line ${lineNumber}: ${error instanceof Error ? error.message : String(error)}`);
          }
        }
      },
    },
    bytesRead: () => file.bytesRead,
    close() {
      lines.close();
      file.destroy();
    },
  };
}

async function startsWithGzipMagic(path: string): Promise<boolean> {
  const { open } = await import('node:fs/promises');
  const handle = await open(path, 'r');
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/**
 * Shift a payload's `ts` by `deltaMs`, keeping its form (epoch ms, ISO `Z`, ISO with an offset).
 * Only a `ts` within a day of `aroundMs` (the message's own time) is moved: garbage timestamps
 * (seconds, far future) stay what they are. Returns the payload unchanged when there is nothing to move.
 */
export function shiftPayloadTimestamp(payload: Buffer | string, deltaMs: number, aroundMs: number): Buffer | string {
  if (typeof payload !== 'string' || deltaMs === 0) return payload;
  const match = /"ts"\s*:\s*(?:(\d{12,14})(?=[,}\s])|"([^"]{16,40})")/.exec(payload);
  if (!match) return payload;
  const DAY_MS = 86_400_000;
  if (match[1] !== undefined) {
    const ts = Number(match[1]);
    if (Math.abs(ts - aroundMs) > DAY_MS) return payload;
    return payload.slice(0, match.index) + payload.slice(match.index, match.index + match[0].length).replace(match[1], String(ts + deltaMs)) + payload.slice(match.index + match[0].length);
  }
  const text = match[2]!;
  const zone = /(Z|[+-]\d{2}:?\d{2})$/.exec(text);
  const ts = Date.parse(text);
  if (!zone || Number.isNaN(ts) || Math.abs(ts - aroundMs) > DAY_MS) return payload;
  const shifted = formatIso(ts + deltaMs, zone[1]!);
  return payload.slice(0, match.index) + payload.slice(match.index, match.index + match[0].length).replace(text, shifted) + payload.slice(match.index + match[0].length);
}

/** The `ts` a payload carries, as epoch ms (a 13-digit number or ISO 8601 with a zone), if any. */
export function readPayloadTimestamp(payload: Buffer | string): number | undefined {
  if (typeof payload !== 'string') return undefined;
  const match = /"ts"\s*:\s*(?:(\d{12,14})(?=[,}\s])|"([^"]{16,40})")/.exec(payload);
  if (!match) return undefined;
  const ts = match[1] !== undefined ? Number(match[1]) : /(Z|[+-]\d{2}:?\d{2})$/.test(match[2]!) ? Date.parse(match[2]!) : Number.NaN;
  return Number.isFinite(ts) ? ts : undefined;
}

/** The payload's `ts`, if it is a readable time within a day of `aroundMs`. */
export function payloadTimestamp(payload: Buffer | string, aroundMs: number): number | undefined {
  const ts = readPayloadTimestamp(payload);
  return ts !== undefined && Math.abs(ts - aroundMs) <= 86_400_000 ? ts : undefined;
}

function formatIso(epochMs: number, zone: string): string {
  if (zone === 'Z') return new Date(epochMs).toISOString();
  const sign = zone.startsWith('-') ? -1 : 1;
  const [hours, minutes] = [Number(zone.slice(1, 3)), Number(zone.slice(-2))];
  const offsetMs = sign * (hours * 60 + minutes) * 60_000;
  return new Date(epochMs + offsetMs).toISOString().replace('Z', zone);
}
