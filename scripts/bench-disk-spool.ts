// Appends per second into the durable spool (group commit, fdatasync before acknowledging), for
// the README's "Delivery and durability". Usage: node --import tsx scripts/bench-disk-spool.ts [dir]
// It appends one pump reading per call, from C concurrent producers (C = 1, 16, 256), which is how
// the broker hands over messages: one at a time per connection, many connections at once.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DiskSpool } from '../src/pipeline/disk-spool.js';

const base = process.argv[2] ?? os.tmpdir();
const SECONDS = 3;
const line = (i: number) => `pump,site=s1,asset=P-${i % 50} flow_m3h=412.5,discharge_bar=4.2,running=true,seq=${i}i ${1_752_472_800_000 + i}`;

for (const producers of [1, 16, 256]) {
  const dir = await mkdtemp(path.join(base, 'hydrowatch-bench-'));
  const spool = await DiskSpool.open({ dir, maxBytes: 8 * 1024 ** 3, maxLines: 100_000_000 });
  let appended = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: producers }, async () => {
      while (performance.now() < deadline) await spool.append([line(appended++)]);
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  await spool.close();
  await rm(dir, { recursive: true, force: true });
  console.log(`${String(producers).padStart(3)} concurrent producer(s): ${Math.round(appended / elapsed).toLocaleString('en')} appends/s`);
}
