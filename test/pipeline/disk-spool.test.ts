// The durable spool on a real temp directory: replay after reopen, torn tails, segment deletion
// only after commit, the disk and point bounds, and the one-owner lock.
import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskSpool, type DiskSpoolOptions } from '../../src/pipeline/disk-spool.js';
import { SpoolWriter } from '../../src/pipeline/store.js';
import { InfluxError } from '../../src/influx/client.js';
import { silentLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics.js';
import { eventually } from '../helpers/service.js';

const line = (i: number) => `pump,site=s1,asset=P-1 flow_m3h=${i},seq=${i}i ${1_752_472_800_000 + i}`;
const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => line(from + k));
/** Lets every queued callback and timer-free promise run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('DiskSpool', () => {
  let dir: string;
  const open: DiskSpool[] = [];
  const spoolAt = async (options: Partial<DiskSpoolOptions> = {}) => {
    const spool = await DiskSpool.open({ dir, maxBytes: 1024 ** 3, maxLines: 1_000_000, ...options });
    open.push(spool);
    return spool;
  };
  const segmentFiles = () => readdirSync(dir).filter((name) => name.endsWith('.lp')).sort();

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hydrowatch-spool-test-'));
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((spool) => spool.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('holds appended lines in order, one per line on disk, until they are committed', async () => {
    const spool = await spoolAt();
    let woken = 0;
    spool.onAppend = () => (woken += 1);
    await Promise.all([spool.append(lines(1, 3)), spool.append(lines(4, 5))]);
    await spool.append(['weird,site=a\nb x=1 1']);
    expect(spool.depth).toBe(6);
    expect(woken).toBeGreaterThanOrEqual(1);
    expect(spool.peek(4)).toEqual(lines(1, 4));
    expect(spool.peek(100).at(-1)).toBe('weird,site=a\\nb x=1 1');
    spool.commit(2);
    expect(spool.depth).toBe(4);
    expect(spool.peek(2)).toEqual(lines(3, 4));
    const [file] = segmentFiles();
    expect(readFileSync(path.join(dir, file!), 'utf8').split('\n')).toHaveLength(7); // 6 lines + the final newline
  });

  it('peeks past the lines already taken, across segment boundaries (the writer keeps two batches out)', async () => {
    const spool = await spoolAt({ segmentBytes: 4096 });
    for (let i = 1; i <= 300; i += 10) await spool.append(lines(i, i + 9));
    expect(segmentFiles().length).toBeGreaterThan(3);
    spool.commit(45);
    for (const [max, skip] of [[60, 0], [60, 70], [100, 200], [100, 250], [10, 255], [10, 400]] as const) {
      expect(spool.peek(max, skip)).toEqual(lines(46 + skip, Math.min(300, 45 + skip + max)).slice(0, Math.max(0, Math.min(max, 255 - skip))));
    }
  });

  it('a writer that keeps up takes every line once, in order, across segment rotations', async () => {
    const spool = await spoolAt({ segmentBytes: 4096 });
    let next = 1;
    for (let i = 1; i <= 400; i += 10) {
      await spool.append(lines(i, i + 9));
      // A few lines behind at every rotation, as under load.
      const taken = spool.peek(7);
      expect(taken).toEqual(lines(next, next + taken.length - 1));
      spool.commit(taken.length);
      next += taken.length;
    }
    expect(segmentFiles().length).toBeGreaterThan(1);
    expect(spool.peek(1000)).toEqual(lines(next, 400));
  });

  it('never strands an append, however appends and group commits interleave', async () => {
    const spool = await spoolAt();
    const producers = Array.from({ length: 20 }, async (_, p) => {
      for (let i = 0; i < 50; i++) {
        // A different number of microtask hops before each append hits every moment of a commit.
        for (let hop = 0; hop < (p + i) % 7; hop++) await Promise.resolve();
        await spool.append([line(p * 1000 + i)]);
      }
    });
    await Promise.all(producers);
    expect(spool.depth).toBe(1000);
    expect(new Set(spool.peek(2000)).size).toBe(1000);
  });

  it('replays what was not committed after a reopen, from the committed position', async () => {
    let spool = await spoolAt();
    await spool.append(lines(1, 100));
    spool.commit(30);
    await spool.close();

    spool = await spoolAt();
    expect(spool.depth).toBe(70);
    expect(spool.peek(1000)).toEqual(lines(31, 100));
    await spool.append(lines(101, 110));
    expect(spool.peek(1000)).toEqual(lines(31, 110));
    spool.commit(80);
    expect(spool.depth).toBe(0);
    await spool.close();

    // Everything committed: nothing comes back, and a fresh segment is never mistaken for a committed one.
    spool = await spoolAt();
    expect(spool.depth).toBe(0);
    await spool.append(lines(111, 115));
    await spool.close();
    spool = await spoolAt();
    expect(spool.peek(1000)).toEqual(lines(111, 115));
  });

  it('records the committed position on disk soon after each commit, not only on close (a crash replays little)', async () => {
    const spool = await spoolAt();
    await spool.append(lines(1, 100));
    const pointer = () => JSON.parse(readFileSync(path.join(dir, 'committed.json'), 'utf8')) as { segment: number; line: number };
    // Commits in a row, faster than one save: the last position is the one that stays.
    for (let k = 0; k < 20; k++) spool.commit(3);
    await eventually(() => expect(pointer().line).toBe(60));
    spool.commit(5);
    await eventually(() => expect(pointer().line).toBe(65));
    expect(readdirSync(dir).filter((name) => name.includes('committed.json.'))).toEqual([]);
  });

  it('drops a torn last line (and a NUL-filled tail) left by a crash, keeping every complete line', async () => {
    let spool = await spoolAt();
    await spool.append(lines(1, 10));
    await spool.close();
    const file = path.join(dir, segmentFiles().at(-1)!);
    appendFileSync(file, 'pump,site=s1,asset=P-1 flow_m3h=11,se'); // a write cut off mid-line
    spool = await spoolAt();
    expect(spool.depth).toBe(10);
    expect(spool.peek(100)).toEqual(lines(1, 10));
    expect(readFileSync(file, 'utf8').endsWith(`${line(10)}\n`)).toBe(true);
    await spool.append(lines(11, 12));
    await spool.close();

    const newest = path.join(dir, segmentFiles().at(-1)!);
    appendFileSync(newest, Buffer.concat([Buffer.alloc(100), Buffer.from(`${line(99)}\n`)])); // power cut: zeros, then a block that made it
    spool = await spoolAt();
    expect(spool.peek(100)).toEqual(lines(1, 12));
    expect(statSync(newest).size).toBe(Buffer.byteLength(lines(11, 12).join('\n')) + 1);
  });

  it('deletes a segment only once every line in it was committed', async () => {
    const spool = await spoolAt({ segmentBytes: 4096 });
    for (let i = 1; i <= 300; i += 10) await spool.append(lines(i, i + 9));
    const files = segmentFiles();
    expect(files.length).toBeGreaterThan(2);
    const firstLines = readFileSync(path.join(dir, files[0]!), 'utf8').split('\n').length - 1;

    spool.commit(firstLines - 1);
    expect(segmentFiles()).toEqual(files);
    spool.commit(1);
    expect(segmentFiles()).toEqual(files.slice(1));
    expect(spool.peek(1)).toEqual([line(firstLines + 1)]);
    // peek reads across segments, which are on disk, not in memory
    expect(spool.peek(1000)).toEqual(lines(firstLines + 1, 300));
    spool.commit(1000);
    expect(spool.depth).toBe(0);
    expect(segmentFiles()).toHaveLength(1); // the one being appended to
  });

  it('stops acknowledging at the disk bound: append waits until commits free a segment', async () => {
    const spool = await spoolAt({ maxBytes: 65_536 }); // segments of 16 KiB
    let appended = 0;
    while (spool.acknowledging) {
      await spool.append(lines(appended + 1, appended + 10));
      appended += 10;
    }
    expect(spool.bytes).toBeGreaterThanOrEqual(65_536);
    let done = false;
    const waiting = spool.append(['late,site=s x=1 1']).then(() => (done = true));
    for (let i = 0; i < 20; i++) await settle();
    expect(done).toBe(false);
    spool.commit(10); // within the first segment: no file goes, no room yet
    for (let i = 0; i < 20; i++) await settle();
    expect(done).toBe(false);
    spool.commit(appended); // every segment but the active one goes
    await waiting;
    expect(spool.acknowledging).toBe(true);
    expect(spool.peek(10)).toEqual(['late,site=s x=1 1']);
  });

  it('stops acknowledging at the point bound too', async () => {
    const spool = await spoolAt({ maxLines: 100 });
    await spool.append(lines(1, 100));
    expect(spool.acknowledging).toBe(false);
    let done = false;
    const waiting = spool.append(lines(101, 101)).then(() => (done = true));
    for (let i = 0; i < 20; i++) await settle();
    expect(done).toBe(false);
    spool.commit(1);
    await waiting;
    expect(spool.depth).toBe(100);
  });

  it('lets one process at a time use a directory, and takes over the lock of a dead one', async () => {
    const spool = await spoolAt();
    await expect(DiskSpool.open({ dir, maxBytes: 1024 ** 3, maxLines: 100 })).rejects.toThrow(/in use by process/);
    await spool.close();
    writeFileSync(path.join(dir, 'LOCK'), '2147483646'); // no such pid
    const again = await spoolAt();
    await again.append(lines(1, 1));
    expect(again.depth).toBe(1);
  });

  it('with the writer: a batch leaves the spool only once InfluxDB confirmed it, so a restart re-sends at most that batch', async () => {
    let spool = await spoolAt();
    await spool.append(lines(1, 250));
    const written: string[][] = [];
    let hang: (() => void) | undefined;
    const influx = {
      async write(batch: string[]) {
        if (written.length === 2) {
          // The third batch never gets an answer (InfluxDB hangs, then the process dies).
          await new Promise<void>((resolve) => (hang = resolve));
          throw new InfluxError('timeout', true);
        }
        written.push(batch);
      },
    };
    const writer = new SpoolWriter(spool, influx, { batchSize: 100, flushIntervalMs: 10 }, new Metrics(), silentLogger);
    writer.start();
    await eventually(() => expect(hang).toBeDefined());
    expect(spool.depth).toBe(50);
    hang!();
    await writer.stop();
    await spool.close();

    spool = await spoolAt();
    expect(written.flat()).toEqual(lines(1, 200));
    expect(spool.peek(1000)).toEqual(lines(201, 250));
  });
});
