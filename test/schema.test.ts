import { describe, expect, it } from 'vitest';
import { FIELDS, KINDS, type Kind, parseTelemetryFast, TelemetryPayload } from '../src/schema.js';

// parseTelemetryFast skips zod for the usual reading; whenever it answers, zod must give the same.
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EDGE_NUMBERS = [0, -0, -1, 1, 0.5, 25, 25.000001, -40, 150, 65_535, 65_536, 3.5, 1e21, -1e-9, Number.MAX_SAFE_INTEGER, 2 ** 53, 946_684_800_000, 946_684_799_999, 4_102_444_800_000, 4_102_444_800_001, 1_752_472_800_000.4, Infinity, -Infinity, NaN];
const ODD_VALUES: unknown[] = [null, 'x', '12', true, false, [], {}, [1], undefined];

function randomBody(random: () => number, kind: Kind): unknown {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const specs = Object.entries(FIELDS[kind]);
  const values: Record<string, unknown> = {};
  for (const [name, spec] of specs) {
    if (random() < 0.4) continue;
    const roll = random();
    if (roll < 0.1) values[name] = pick(ODD_VALUES);
    else if (roll < 0.3) values[name] = pick(EDGE_NUMBERS);
    else if (spec.type === 'boolean') values[name] = random() < 0.5;
    else values[name] = spec.type === 'integer' ? Math.floor(spec.min + random() * (spec.max - spec.min)) : spec.min + random() * (spec.max - spec.min);
  }
  if (random() < 0.05) values[pick(['extra', 'seq', '__proto__', ''])] = 1;
  // Some devices send their fields in another order than the schema's.
  const shuffled = random() < 0.3 ? Object.fromEntries(Object.entries(values).sort(() => random() - 0.5)) : values;
  const body: Record<string, unknown> = { ts: random() < 0.8 ? 1_752_472_800_000 + Math.floor(random() * 1e6) : random() < 0.5 ? pick(EDGE_NUMBERS) : pick(['2026-07-14T06:00:00Z', ...ODD_VALUES]) };
  if (random() < 0.7) body.seq = random() < 0.8 ? Math.floor(random() * 1e6) : pick([...EDGE_NUMBERS, ...ODD_VALUES]);
  if (random() < 0.95) body.values = random() < 0.95 ? shuffled : pick(ODD_VALUES);
  if (random() < 0.05) body.extra = 'ignored';
  return random() < 0.02 ? pick(ODD_VALUES) : body;
}

describe('parseTelemetryFast', () => {
  it('answers only what zod accepts, with the same data (values in schema order), for 30,000 seeded bodies', () => {
    const random = rng(7_140_600);
    let fast = 0;
    for (let i = 0; i < 30_000; i++) {
      const kind = KINDS[i % KINDS.length]!;
      const body = randomBody(random, kind);
      const quick = parseTelemetryFast(kind, body);
      if (quick === undefined) continue;
      fast += 1;
      const zod = TelemetryPayload[kind].safeParse(body);
      expect(zod.success, JSON.stringify(body)).toBe(true);
      expect(quick, JSON.stringify(body)).toStrictEqual(zod.data);
      expect(Object.keys(quick.values)).toStrictEqual(Object.keys(zod.data!.values));
    }
    // Most of these bodies are ordinary readings: the fast path must take them.
    expect(fast).toBeGreaterThan(3000);
  });

  it('takes an ordinary reading and leaves ISO timestamps, unknown fields and out-of-range values to zod', () => {
    const values = { running: true, flow_m3h: 410.5, fault_code: 0 };
    expect(Object.keys(parseTelemetryFast('pump', { ts: 1_752_472_800_000, values: { fault_code: 0, running: true, flow_m3h: 410.5 } })!.values)).toEqual(['running', 'flow_m3h', 'fault_code']);
    expect(parseTelemetryFast('pump', { ts: 1_752_472_800_000, seq: 3, values })).toStrictEqual({ ts: 1_752_472_800_000, seq: 3, values: { running: true, flow_m3h: 410.5, fault_code: 0 } });
    expect(parseTelemetryFast('pump', { ts: '2026-07-14T06:00:00Z', values })).toBeUndefined();
    expect(parseTelemetryFast('pump', { ts: 1_752_472_800_000, values: { level_m: 1 } })).toBeUndefined();
    expect(parseTelemetryFast('pump', { ts: 1_752_472_800_000, values: { discharge_bar: 26 } })).toBeUndefined();
    expect(parseTelemetryFast('pump', { ts: 1_752_472_800_000, values: {} })).toBeUndefined();
  });
});
