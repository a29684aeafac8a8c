// The InfluxDB writer with two batches in flight: answers that come back out of order, a failed
// batch retried while the next one already got in. The spool lets go of lines only in order, so
// a crash at any moment re-sends, and never skips, what InfluxDB has not confirmed.
import { describe, expect, it } from 'vitest';
import { InfluxError } from '../../src/influx/client.js';
import { silentLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics.js';
import { MemorySpool } from '../../src/pipeline/spool.js';
import { SpoolWriter } from '../../src/pipeline/store.js';
import { eventually } from '../helpers/service.js';

const line = (i: number) => `pump,site=s1,asset=P-1 seq=${i}i ${1_752_472_800_000 + i}`;
const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => line(from + k));

/** An InfluxDB whose answers the test gives by hand, one batch at a time. */
function heldInflux() {
  const waiting: Array<{ batch: string[]; answer: (ok: boolean) => void }> = [];
  const stored: string[][] = [];
  return {
    waiting,
    stored,
    write(batch: string[]): Promise<void> {
      return new Promise((resolve, reject) =>
        waiting.push({
          batch,
          answer: (ok) => {
            if (!ok) return reject(new InfluxError('InfluxDB write answered 503', true, 503));
            stored.push(batch);
            resolve();
          },
        }),
      );
    },
    /** Answers the waiting batch that starts with `first`. */
    answer(first: string, ok: boolean) {
      const index = waiting.findIndex((w) => w.batch[0] === first);
      expect(index, `a batch starting with ${first} is waiting`).toBeGreaterThanOrEqual(0);
      waiting.splice(index, 1)[0]!.answer(ok);
    },
  };
}

describe('SpoolWriter with writeConcurrency 2', () => {
  it('writes two batches side by side and commits the spool only up to the first one not yet confirmed', async () => {
    const spool = new MemorySpool(10_000);
    await spool.append(lines(1, 250));
    const influx = heldInflux();
    const writer = new SpoolWriter(spool, influx, { batchSize: 100, flushIntervalMs: 10, writeConcurrency: 2 }, new Metrics(), silentLogger);
    writer.start();
    try {
      await eventually(() => expect(influx.waiting.map((w) => w.batch[0])).toEqual([line(1), line(101)]));
      // The second batch gets in first: nothing leaves the spool, the first is still out.
      influx.answer(line(101), true);
      await eventually(() => expect(influx.waiting.map((w) => w.batch[0])).toEqual([line(1), line(201)]));
      expect(spool.depth).toBe(250);
      // The first fails and is sent again, unchanged, while the third waits.
      influx.answer(line(1), false);
      await eventually(() => expect(influx.waiting.map((w) => w.batch[0]).sort()).toEqual([line(1), line(201)].sort()), 5000);
      expect(spool.depth).toBe(250);
      expect(influx.waiting.find((w) => w.batch[0] === line(1))!.batch).toEqual(lines(1, 100));
      influx.answer(line(1), true);
      await eventually(() => expect(spool.depth).toBe(50)); // 1–200 confirmed, in order
      expect(spool.peek(1000)).toEqual(lines(201, 250));
      influx.answer(line(201), true);
      await eventually(() => expect(spool.depth).toBe(0));
      expect(influx.stored.flat().sort()).toEqual(lines(1, 250).sort());
    } finally {
      for (const w of influx.waiting.splice(0)) w.answer(true);
      await writer.stop();
    }
  });

  it('never has more than two batches out, however much is waiting', async () => {
    const spool = new MemorySpool(10_000);
    await spool.append(lines(1, 1000));
    const influx = heldInflux();
    const writer = new SpoolWriter(spool, influx, { batchSize: 100, flushIntervalMs: 10, writeConcurrency: 2 }, new Metrics(), silentLogger);
    writer.start();
    try {
      for (let answered = 0; answered < 10; answered++) {
        await eventually(() => expect(influx.waiting.length).toBe(Math.min(2, 10 - answered)));
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(influx.waiting.length).toBeLessThanOrEqual(2);
        influx.answer(influx.waiting[0]!.batch[0]!, true);
      }
      await eventually(() => expect(spool.depth).toBe(0));
      expect(influx.stored.flat()).toEqual(lines(1, 1000));
    } finally {
      for (const w of influx.waiting.splice(0)) w.answer(true);
      await writer.stop();
    }
  });
});
