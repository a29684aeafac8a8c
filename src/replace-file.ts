// Replacing a small file so that a crash leaves the old content or the new, never half of either:
// the data goes to a temporary file beside it, which is then renamed over it. Not fsynced: the
// callers keep state that is safe to lose to a power cut (a position to re-send from, an id, a
// copy of what InfluxDB or the operator also has).
import { renameSync, writeFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';

export interface ReplaceOptions {
  /** File mode of a newly written file (e.g. 0o600 for secrets). */
  mode?: number;
  /** The temporary file (default `<path>.tmp`); two writers of one path each need their own. */
  temp?: string;
}

export function replaceFileSync(path: string, data: string, options: ReplaceOptions = {}): void {
  const temp = options.temp ?? `${path}.tmp`;
  writeFileSync(temp, data, options.mode === undefined ? undefined : { mode: options.mode });
  renameSync(temp, path);
}

/** The same in the thread pool. */
export async function replaceFile(path: string, data: string, options: ReplaceOptions = {}): Promise<void> {
  const temp = options.temp ?? `${path}.tmp`;
  await writeFile(temp, data, options.mode === undefined ? undefined : { mode: options.mode });
  await rename(temp, path);
}
