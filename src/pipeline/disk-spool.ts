// Stage 4, durable: the spool as append-only segment files of line protocol under
// <dataDir>/spool/, so a reading acknowledged to a device survives kill -9 and power loss.
//
//   seg-000000000007.lp   one line-protocol record per line, appended in arrival order
//   committed.json        {"segment": 7, "line": 1200}: everything before it is in InfluxDB
//   LOCK                  pid of the hydrowatch that owns the directory
//
// Durability policy: append() resolves (and the PUBACK goes out) only after its lines are on
// stable storage. Segments are opened O_DSYNC where the platform has it, so one write() returns
// once its data is durable (what write + fdatasync give, in one trip to the thread pool: under
// load each trip waits for a turn of a busy event loop); elsewhere write, then fdatasync().
// Appends that arrive while one group is being written form the next group and share one durable
// write (group commit), so throughput follows the number of concurrent publishers, not the disk's
// sync latency. A segment is deleted only once every line in it was
// committed; the committed position is saved soon after every batch (in the thread pool), so a
// restart re-sends at most the batches in flight and the last few confirmed (InfluxDB overwrites a
// point with the same series and time).
import { closeSync, constants, fsyncSync, openSync, readdirSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.js';
import { replaceFile, replaceFileSync } from '../replace-file.js';
import type { Spool } from './spool.js';

export interface DiskSpoolOptions {
  /** Directory of the segment files (the service uses <dataDir>/spool). */
  dir: string;
  /** Bound on the segment files' size; at it append() waits and `acknowledging` is false. */
  maxBytes: number;
  /** Bound on points waiting (the Spool's `limit`). */
  maxLines: number;
  /** A new segment is started once the current one would grow past this (default 8 MiB). */
  segmentBytes?: number;
  log?: Logger;
}

interface Segment {
  readonly id: number;
  readonly path: string;
  /** Size of the complete, durable lines in the file. */
  bytes: number;
  /** Number of complete, durable lines. */
  lines: number;
  /** Its lines, while in memory: the head segment (being read) and a fresh active one. */
  cache: string[] | undefined;
}

/**
 * The appends waiting for the next durable write. They share one promise: a reading waiting for
 * its write then holds nothing of its own but its line (under load it waits hundreds of ms, and
 * what lives that long is copied by every young-generation GC and promoted: bench/).
 */
interface PendingGroup {
  lines: string[];
  done: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}

export const DEFAULT_SEGMENT_BYTES = 8 * 1024 * 1024;
/** Segments whose lines are kept in memory, from the head (4 × 8 MiB by default). */
const CACHED_SEGMENTS = 4;
/** Each write durable on return, where the platform can (Linux, macOS); otherwise write, then fdatasync. */
const DSYNC: number | undefined = constants.O_DSYNC;
const NEW_SEGMENT_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (DSYNC ?? 0);
const SEGMENT_NAME = /^seg-(\d{12})\.lp$/;
const POINTER_FILE = 'committed.json';
const LOCK_FILE = 'LOCK';
const NEWLINE = 0x0a;
const UNSAFE = /[\n\0]/;
const UNSAFE_ALL = /[\n\0]/g;
const MAX_RETRY_MS = 5000;
/** Directories opened by this process: a LOCK with our own pid is only ours if listed here. */
const openedHere = new Set<string>();

export class DiskSpool implements Spool {
  readonly limit: number;
  readonly maxBytes: number;
  onAppend: (() => void) | undefined;
  private readonly segmentBytes: number;
  private readonly log: Logger | undefined;
  private segments: Segment[];
  /** Index, in segments[0], of the oldest line InfluxDB has not confirmed. */
  private headLine: number;
  private nextId: number;
  private active: Segment | undefined;
  private handle: FileHandle | undefined;
  private queued = 0;
  private diskBytes: number;
  private pending: PendingGroup | undefined;
  private pendingLines = 0;
  private pendingBytes = 0;
  private flushing: Promise<void> | undefined;
  /** Cleared by the loop itself as it exits, so an append arriving right after starts a new one. */
  private flushRunning = false;
  private roomWaiters: Array<() => void> = [];
  private failure: string | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** The pointer being saved in the thread pool, and whether a commit came after that save began. */
  private pointerSaving: Promise<void> | undefined;
  private pointerBehind = false;
  private pointerFailed = false;

  private constructor(
    private readonly dir: string,
    options: DiskSpoolOptions,
    state: { segments: Segment[]; headLine: number; nextId: number },
  ) {
    this.limit = options.maxLines;
    this.maxBytes = options.maxBytes;
    // At least four segments fit under the bound, so deleting a committed one always makes room.
    this.segmentBytes = Math.max(4096, Math.min(options.segmentBytes ?? DEFAULT_SEGMENT_BYTES, Math.floor(options.maxBytes / 4)));
    this.log = options.log;
    this.segments = state.segments;
    this.headLine = state.headLine;
    this.nextId = state.nextId;
    this.queued = state.segments.reduce((sum, s) => sum + s.lines, 0) - state.headLine;
    this.diskBytes = state.segments.reduce((sum, s) => sum + s.bytes, 0);
  }

  /** Opens (creating) the directory, takes its lock, and queues what earlier runs left unwritten. */
  static async open(options: DiskSpoolOptions): Promise<DiskSpool> {
    const dir = path.resolve(options.dir);
    await mkdir(dir, { recursive: true });
    takeLock(dir);
    try {
      const pointer = readPointer(dir, options.log);
      const segments: Segment[] = [];
      let lastId = 0;
      for (const id of segmentIds(dir)) {
        lastId = Math.max(lastId, id);
        const file = path.join(dir, segmentName(id));
        // Deleting after saving the pointer can be cut short by a crash: finish it now.
        if (id < pointer.segment) {
          unlinkSync(file);
          continue;
        }
        const { bytes, lines } = recoverSegment(file, options.log);
        segments.push({ id, path: file, bytes, lines, cache: undefined });
      }
      const head = segments[0];
      const headLine = head !== undefined && head.id === pointer.segment ? Math.min(pointer.line, head.lines) : 0;
      // Ids never repeat, not even after every segment was deleted: the pointer must not match a new one.
      const spool = new DiskSpool(dir, options, { segments, headLine, nextId: Math.max(lastId, pointer.segment) + 1 });
      spool.dropConsumedHeads();
      if (spool.depth > 0) options.log?.info(`spool: replaying ${spool.depth} points from ${spool.segments.length} segment(s) in ${dir}`);
      return spool;
    } catch (error) {
      releaseLock(dir);
      throw error;
    }
  }

  /** Points held and not yet confirmed by InfluxDB. */
  get depth(): number {
    return this.queued;
  }

  /** Size of the segment files on disk. */
  get bytes(): number {
    return this.diskBytes;
  }

  /** Why the spool cannot write to disk right now (e.g. the disk is full), if it cannot. */
  get lastError(): string | undefined {
    return this.failure;
  }

  get acknowledging(): boolean {
    return this.failure === undefined && this.hasRoom();
  }

  append(lines: string[]): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    if (!this.hasRoom() || this.closed) return this.appendWhenRoom(lines);
    return this.enqueue(lines);
  }

  private async appendWhenRoom(lines: string[]): Promise<void> {
    while (!this.hasRoom() && !this.closed) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    if (this.closed) throw new Error('spool is closed');
    return this.enqueue(lines);
  }

  private enqueue(lines: string[]): Promise<void> {
    const group = (this.pending ??= newGroup());
    for (const line of lines) {
      // One record per line on disk: a raw newline would split a point in two (InfluxDB would too),
      // and a NUL is what a power cut leaves in an unsynced tail.
      const safe = UNSAFE.test(line) ? line.replace(UNSAFE_ALL, (c) => (c === '\n' ? '\\n' : '\\u0000')) : line;
      group.lines.push(safe);
      this.pendingBytes += Buffer.byteLength(safe) + 1;
    }
    this.pendingLines += lines.length;
    if (!this.flushRunning) {
      this.flushRunning = true;
      this.flushing = this.flushLoop();
    }
    return group.done;
  }

  peek(max: number, skip = 0): string[] {
    const out: string[] = [];
    let from = this.headLine + Math.max(0, Math.min(skip, this.queued));
    for (const segment of this.segments) {
      if (out.length >= max) break;
      if (from >= segment.lines) {
        from -= segment.lines;
        continue;
      }
      const cache = this.load(segment);
      const to = Math.min(segment.lines, from + (max - out.length));
      for (let index = from; index < to; index++) out.push(cache[index]!);
      from = 0;
    }
    return out;
  }

  commit(count: number): void {
    let left = Math.min(count, this.queued);
    this.queued -= left;
    while (left > 0) {
      const head = this.segments[0];
      if (head === undefined) break;
      const step = Math.min(left, head.lines - this.headLine);
      this.headLine += step;
      left -= step;
      if (!this.dropConsumedHeads() && step === 0) break;
    }
    this.dropConsumedHeads();
    this.savePointerSoon();
    this.wakeRoomWaiters();
  }

  /** Writes what is pending, closes the file and releases the directory; safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      this.wakeRoomWaiters();
      await this.flushing;
      await this.pointerSaving;
      try {
        if (this.pointerBehind) this.savePointer();
      } catch (error) {
        this.log?.warn(`spool: could not save ${POINTER_FILE} (${error instanceof Error ? error.message : String(error)}); the next start re-sends points InfluxDB already has`);
      }
      await this.handle?.close().catch(() => undefined);
      this.handle = undefined;
      releaseLock(this.dir);
    })();
    return this.closing;
  }

  private hasRoom(): boolean {
    return this.queued + this.pendingLines < this.limit && this.diskBytes + this.pendingBytes < this.maxBytes;
  }

  private wakeRoomWaiters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Group commit: every pass writes, in one write and one fsync, all that arrived during the last.
   * The loop clears flushRunning in the same tick it finds nothing pending, so no append is missed.
   */
  private async flushLoop(): Promise<void> {
    try {
      while (this.pending !== undefined) {
        const group = this.pending;
        this.pending = undefined;
        const data = Buffer.from(`${group.lines.join('\n')}\n`);
        const count = group.lines.length;
        const written = await this.writeWithRetry(data);
        this.pendingLines -= count;
        this.pendingBytes -= data.length;
        if (!written) {
          group.reject(new Error(`spool closed while it could not write: ${this.failure ?? ''}`));
          continue;
        }
        const segment = this.active!;
        if (segment.cache) for (const line of group.lines) segment.cache.push(line);
        segment.bytes += data.length;
        segment.lines += count;
        this.diskBytes += data.length;
        this.queued += count;
        group.resolve();
        this.onAppend?.();
      }
    } finally {
      this.flushRunning = false;
    }
  }

  /** Keeps trying while the disk refuses (full, read-only…); false only if closed meanwhile. */
  private async writeWithRetry(data: Buffer): Promise<boolean> {
    for (let retryMs = 250; ; retryMs = Math.min(retryMs * 2, MAX_RETRY_MS)) {
      try {
        await this.writeDurably(data);
        if (this.failure !== undefined) this.log?.info(`spool: writing to ${this.dir} again`);
        this.failure = undefined;
        return true;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (this.failure === undefined) this.log?.error(`spool: cannot write to ${this.dir}: ${message}; not acknowledging until it can`);
        this.failure = message;
        // After a failed write or fsync the file's state is unknown: continue in a new segment.
        await this.abandonActive();
        if (this.closed) return false;
        await new Promise((resolve) => setTimeout(resolve, retryMs));
      }
    }
  }

  private async writeDurably(data: Buffer): Promise<void> {
    if (this.active === undefined || (this.active.bytes > 0 && this.active.bytes + data.length > this.segmentBytes)) await this.rotate();
    const segment = this.active!;
    const handle = this.handle!;
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await handle.write(data, written, data.length - written, segment.bytes + written);
      written += bytesWritten;
    }
    if (DSYNC === undefined) await handle.datasync();
  }

  private async rotate(): Promise<void> {
    const id = this.nextId++;
    const file = path.join(this.dir, segmentName(id));
    const handle = await open(file, NEW_SEGMENT_FLAGS);
    try {
      // The new file's name must survive a power loss as well as its contents.
      fsyncDirectory(this.dir);
    } catch (error) {
      await handle.close().catch(() => undefined);
      unlinkQuietly(file);
      throw error;
    }
    const previous = this.handle;
    this.handle = handle;
    await previous?.close().catch(() => undefined);
    const old = this.active;
    const segment: Segment = { id, path: file, bytes: 0, lines: 0, cache: undefined };
    this.segments.push(segment);
    this.active = segment;
    // Memory holds the first CACHED_SEGMENTS segments from the head, so a writer that is behind by
    // less than that (InfluxDB slow for a while, a burst) reads them from memory: reading one back
    // from disk is an 8 MB read and split that blocks the event loop. A segment's lines can only be
    // kept from its start, so the new one is kept only if the one before it was.
    const keptBefore = old === undefined || old.cache !== undefined;
    this.dropConsumedHeads();
    for (let index = CACHED_SEGMENTS; index < this.segments.length; index++) this.segments[index]!.cache = undefined;
    // The new segment is the last one (dropConsumedHeads only removes from the head).
    const index = this.segments.length - 1;
    if (index === 0 || (keptBefore && index < CACHED_SEGMENTS)) segment.cache = [];
  }

  private async abandonActive(): Promise<void> {
    const segment = this.active;
    this.active = undefined;
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    if (segment === undefined) return;
    try {
      truncateSync(segment.path, segment.bytes);
    } catch {
      // Best effort: a replay finds at worst a torn tail (dropped) or lines never acknowledged.
    }
    if (segment.lines === 0 && segment !== this.segments[0]) {
      this.segments = this.segments.filter((s) => s !== segment);
      unlinkQuietly(segment.path);
    }
  }

  /** Deletes leading segments whose every line InfluxDB has; true if any went. */
  private dropConsumedHeads(): boolean {
    let dropped = false;
    for (let head = this.segments[0]; head !== undefined && head !== this.active && this.headLine >= head.lines; head = this.segments[0]) {
      this.segments.shift();
      this.headLine = 0;
      this.diskBytes -= head.bytes;
      // Pointer first: a crash between the two leaves a segment the next start deletes.
      this.savePointer();
      unlinkQuietly(head.path);
      dropped = true;
    }
    return dropped;
  }

  /** Saves the pointer now: before a segment file is deleted, and on close. */
  private savePointer(): void {
    // Not fsynced: losing it to a power cut only means re-sending points InfluxDB already has.
    replaceFileSync(path.join(this.dir, POINTER_FILE), this.pointerText());
    // A save in the thread pool may still rename an older pointer over this one: it goes round again.
    this.pointerBehind = this.pointerSaving !== undefined;
  }

  /**
   * After a commit, the pointer is saved in the thread pool, one save at a time: a synchronous
   * write and rename on every commit took ~2 % of the event loop at 36,000 readings/s (bench/).
   * A crash before it lands only means re-sending points InfluxDB already has.
   */
  private savePointerSoon(): void {
    this.pointerBehind = true;
    this.pointerSaving ??= (async () => {
      const file = path.join(this.dir, POINTER_FILE);
      try {
        while (this.pointerBehind && !this.closed) {
          this.pointerBehind = false;
          // A temporary file of its own: a synchronous save may run while this one is under way.
          await replaceFile(file, this.pointerText(), { temp: `${file}.next` });
          this.pointerFailed = false;
        }
      } catch (error) {
        this.pointerBehind = true;
        if (!this.pointerFailed) this.log?.warn(`spool: could not save ${POINTER_FILE} (${error instanceof Error ? error.message : String(error)}); a restart re-sends points InfluxDB already has`);
        this.pointerFailed = true;
      } finally {
        this.pointerSaving = undefined;
      }
    })();
  }

  private pointerText(): string {
    const head = this.segments[0];
    return JSON.stringify(head === undefined ? { segment: this.nextId, line: 0 } : { segment: head.id, line: this.headLine });
  }

  private load(segment: Segment): string[] {
    if (segment.cache !== undefined) return segment.cache;
    // Only the durable lines: the active segment may hold a group whose fsync is still running.
    const lines = readFileSync(segment.path, 'utf8').split('\n', segment.lines);
    if (lines.length < segment.lines) {
      this.log?.error(`spool: ${segment.path} has ${lines.length} lines, expected ${segment.lines}; was it changed by hand?`);
      this.queued -= segment.lines - lines.length;
      segment.lines = lines.length;
    }
    segment.cache = lines;
    return lines;
  }
}

/**
 * Cuts a segment back to its last complete line. Only a line that was never acknowledged can be
 * torn: append() resolves, and the PUBACK is sent, only after the write holding the whole line
 * (its newline included) returned and fdatasync() covered it. A line without its newline, or
 * with NUL bytes a power cut can leave in the unsynced tail, was in a group whose write or
 * fsync never finished, so its device got no PUBACK and still holds it to send again.
 */
function recoverSegment(file: string, log: Logger | undefined): { bytes: number; lines: number } {
  const data = readFileSync(file);
  let end = data.lastIndexOf(NEWLINE) + 1;
  const nul = data.indexOf(0);
  if (nul >= 0 && nul < end) end = data.lastIndexOf(NEWLINE, nul) + 1;
  if (end < data.length) {
    log?.warn(`spool: ${path.basename(file)} ends in ${data.length - end} bytes of an unfinished write (never acknowledged); dropped`);
    truncateSync(file, end);
  }
  let lines = 0;
  for (let at = data.indexOf(NEWLINE); at >= 0 && at < end; at = data.indexOf(NEWLINE, at + 1)) lines += 1;
  return { bytes: end, lines };
}

function newGroup(): PendingGroup {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Every caller gets its own view of `done`; this one only keeps a group that nobody awaits from
  // being an unhandled rejection.
  done.catch(() => undefined);
  return { lines: [], done, resolve, reject };
}

function segmentName(id: number): string {
  return `seg-${String(id).padStart(12, '0')}.lp`;
}

function segmentIds(dir: string): number[] {
  return readdirSync(dir)
    .map((name) => SEGMENT_NAME.exec(name)?.[1])
    .filter((id): id is string => id !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

function readPointer(dir: string, log: Logger | undefined): { segment: number; line: number } {
  let text: string;
  try {
    text = readFileSync(path.join(dir, POINTER_FILE), 'utf8');
  } catch {
    return { segment: 0, line: 0 };
  }
  try {
    const { segment, line } = JSON.parse(text) as { segment?: unknown; line?: unknown };
    if (Number.isSafeInteger(segment) && Number.isSafeInteger(line) && (segment as number) >= 0 && (line as number) >= 0) {
      return { segment: segment as number, line: line as number };
    }
  } catch {
    // fall through: replaying from the oldest segment re-sends points, it loses none
  }
  log?.warn(`spool: ${POINTER_FILE} is unreadable; replaying every segment (InfluxDB overwrites what it already has)`);
  return { segment: 0, line: 0 };
}

/** One hydrowatch per data directory: two appending to the same segments would corrupt them. */
function takeLock(dir: string): void {
  const file = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      openedHere.add(dir);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number.parseInt(readFileSafe(file), 10);
    const ours = owner === process.pid;
    if (Number.isSafeInteger(owner) && owner > 0 && (ours ? openedHere.has(dir) : isAlive(owner))) {
      throw new Error(`spool directory ${dir} is in use by process ${owner} (another hydrowatch with the same HYDROWATCH_DATA?)`);
    }
    // A stale lock from a process that died (kill -9, power cut): take the directory over.
    unlinkQuietly(file);
  }
  throw new Error(`cannot lock spool directory ${dir}`);
}

function releaseLock(dir: string): void {
  if (!openedHere.delete(dir)) return;
  unlinkQuietly(path.join(dir, LOCK_FILE));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
