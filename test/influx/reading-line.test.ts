import { describe, expect, it } from 'vitest';
import { pointReadingLine, readingLine } from '../../src/influx/points.js';
import { FIELDS, KINDS, type Kind, type Reading } from '../../src/schema.js';

// readingLine builds the line by hand for speed; the client's Point is the reference it must match.
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ODD_TEXT = ['s1', 'P-01', 'a b', 'a,b', 'a=b', 'x\ny', 'tab\there', 'cr\r', 'back\\slash', 'quote"', '', 'ü€', '=,  ='];
const ODD_NUMBERS = [0, -0, 1, -1, 0.1, 410.5, 1e21, 1e-7, 123456789.123, -40, 65_535, 3.000_000_1, Number.MAX_SAFE_INTEGER, 2 ** 63, -(2 ** 63), NaN, Infinity];

function randomReading(random: () => number): Reading {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const kind = pick(KINDS) as Kind;
  const values: Record<string, number | boolean> = {};
  for (const name of Object.keys(FIELDS[kind])) {
    if (random() < 0.5) continue;
    const roll = random();
    values[name] = roll < 0.2 ? random() < 0.5 : roll < 0.5 ? pick(ODD_NUMBERS) : Math.round(random() * 1e6) / (random() < 0.5 ? 1 : 1000);
  }
  if (random() < 0.1) values[pick(['extra', 'seq', 'a b', 'z'])] = random() * 10;
  const reading: Reading = { site: pick(ODD_TEXT), kind, asset: pick(ODD_TEXT), ts: 1_752_472_800_000 + Math.floor(random() * 1e9), values };
  if (random() < 0.7) reading.seq = random() < 0.1 ? pick(ODD_NUMBERS) : Math.floor(random() * 1e6);
  return reading;
}

const outcome = (line: (r: Reading) => string, reading: Reading): string => {
  try {
    return line(reading);
  } catch (error) {
    return `throws: ${error instanceof Error ? error.message : String(error)}`;
  }
};

describe('readingLine', () => {
  it('writes exactly what the client Point writes, for 20,000 seeded readings (odd tags, numbers, fields)', () => {
    const random = rng(20_260_714);
    for (let i = 0; i < 20_000; i++) {
      const reading = randomReading(random);
      expect(outcome(readingLine, reading), JSON.stringify(reading)).toBe(outcome(pointReadingLine, reading));
    }
  });

  it('sorts tags and fields, types fields from the schema and escapes tag values', () => {
    const reading: Reading = { site: 'north plant', kind: 'pump', asset: 'P=1,a', ts: 1_752_472_800_000, seq: 7, values: { running: false, speed_rpm: 1480, fault_code: 3, flow_m3h: 410.5 } };
    expect(readingLine(reading)).toBe('pump,asset=P\\=1\\,a,site=north\\ plant fault_code=3i,flow_m3h=410.5,running=F,seq=7i,speed_rpm=1480 1752472800000');
  });
});
