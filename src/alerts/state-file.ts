// The alert engine's state file, written a slice at a time. In an alert flood the engine keeps
// thousands of cleared-unacknowledged alerts, so the file grows to megabytes (bench/: 15,000 kept
// alerts, 9 MB); written in one synchronous go it blocked the event loop for 40–140 ms every
// second or two, and every reading that arrived meanwhile waited (a part of the publish→alert
// tail, README "Performance"). Here the main thread only joins and encodes one slice (~256 KB) per
// turn; the writes go to the thread pool and readings are served between slices.
import { mkdirSync, renameSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { replaceFileSync } from '../replace-file.js';

const SLICE_CHARS = 256 * 1024;

/** Writes the pieces' concatenation to `path` at once: temp file, then rename, so a crash leaves the old or the new. */
export function writeStateSync(path: string, pieces: Iterable<string>): void {
  mkdirSync(dirname(path), { recursive: true });
  replaceFileSync(path, Array.from(pieces).join(''));
}

/**
 * The same, a slice per event-loop turn, into its own temp file. `stillWanted` is asked right
 * before the rename, which is synchronous: a synchronous save made meanwhile (at close) is never
 * replaced by this older one. Resolves with the main thread's time spent, in ms (false when dropped).
 */
export async function writeStateInSlices(path: string, pieces: Iterable<string>, stillWanted: () => boolean): Promise<number | false> {
  const temp = `${path}.saving`;
  let busyMs = 0;
  await mkdir(dirname(path), { recursive: true });
  const file = await open(temp, 'w');
  try {
    let slice: string[] = [];
    let chars = 0;
    let started = performance.now();
    const write = async (): Promise<void> => {
      const writing = file.write(slice.join(''));
      slice = [];
      chars = 0;
      busyMs += performance.now() - started;
      await writing;
      started = performance.now();
    };
    for (const piece of pieces) {
      slice.push(piece);
      chars += piece.length;
      if (chars >= SLICE_CHARS) await write();
    }
    await write();
  } finally {
    await file.close();
  }
  if (!stillWanted()) {
    await rm(temp, { force: true });
    return false;
  }
  const started = performance.now();
  renameSync(temp, path);
  return busyMs + performance.now() - started;
}
