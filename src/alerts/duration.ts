// Durations in config: a number of seconds, or "500ms", "30s", "5m", "2h", "1d".
import { z } from 'zod';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export const Duration = z
  .union([z.number().nonnegative(), z.string().regex(/^\d+(\.\d+)?(ms|s|m|h|d)$/, 'a duration like 30s, 5m, 2h')])
  .transform((value) => {
    if (typeof value === 'number') return Math.round(value * 1000);
    const [, amount = '0', unit = 's'] = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value) ?? [];
    return Math.round(Number(amount) * UNIT_MS[unit]!);
  });

/** A duration literal in milliseconds, for defaults in code. */
export function toMs(text: string): number {
  return Duration.parse(text);
}

export function formatDuration(ms: number): string {
  if (ms % 86_400_000 === 0 && ms > 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}
