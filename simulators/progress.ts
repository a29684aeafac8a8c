// A one-line progress bar on stderr, drawn only when stderr is a terminal (so logs and CI output
// stay clean), at most ten times a second.

export interface Progress {
  /** `fraction` 0…1, or undefined when the total is unknown (then only the text shows). */
  update(fraction: number | undefined, text?: string): void;
  /** Clear the line. */
  done(): void;
}

export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update() {}, done() {} };
  const width = 30;
  let lastDrawMs = 0;
  let drawn = false;
  return {
    update(fraction, text = '') {
      const nowMs = Date.now();
      if (nowMs - lastDrawMs < 100 && fraction !== 1) return;
      lastDrawMs = nowMs;
      let bar = '';
      if (fraction !== undefined) {
        const clamped = Math.min(1, Math.max(0, fraction));
        const filled = Math.round(clamped * width);
        bar = ` [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(clamped * 100).toFixed(0).padStart(3)}%`;
      }
      const line = `${label}${bar} ${text}`.slice(0, Math.max(20, (stream.columns ?? 100) - 1));
      stream.write(`\r${line}\x1b[K`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}
