import { describe, expect, it } from 'vitest';
import { createRng, deriveSeed } from '../../simulators/rng.js';
import { simulateOffline } from '../../simulators/run.js';
import { DAY_START_MS, demoAssets, HOUR_MS } from './helpers.js';

const assets = demoAssets();
const run = (seed: number) => simulateOffline(assets, { seed, startMs: DAY_START_MS, durationMs: 6 * HOUR_MS });

describe('reproducible runs', () => {
  it('gives identical output for the same seed', () => {
    expect(run(42)).toEqual(run(42));
  });

  it('gives different output for a different seed', () => {
    const first = run(42);
    const second = run(43);
    const firstPayloads = new Set(first.map((message) => message.payload));
    const shared = second.filter((message) => firstPayloads.has(message.payload)).length;
    expect(shared / second.length).toBeLessThan(0.05);
  });
});

describe('seeded RNG', () => {
  it('repeats its sequence for a seed and stays in [0, 1)', () => {
    const first = createRng(7);
    const second = createRng(7);
    const draws = Array.from({ length: 1000 }, () => first.next());
    expect(draws).toEqual(Array.from({ length: 1000 }, () => second.next()));
    expect(draws.every((value) => value >= 0 && value < 1)).toBe(true);
    expect(createRng(8).next()).not.toBe(createRng(7).next());
  });

  it('draws normal values with the asked mean and standard deviation', () => {
    const rng = createRng(1);
    const samples = Array.from({ length: 20_000 }, () => rng.normal(10, 2));
    const mean = samples.reduce((sum, value) => sum + value, 0) / samples.length;
    const sd = Math.sqrt(samples.reduce((sum, value) => sum + (value - mean) ** 2, 0) / samples.length);
    expect(mean).toBeCloseTo(10, 1);
    expect(sd).toBeCloseTo(2, 1);
  });

  it('derives independent streams per label', () => {
    expect(deriveSeed(1, 'sim-plant1-P-01')).toBe(deriveSeed(1, 'sim-plant1-P-01'));
    expect(deriveSeed(1, 'sim-plant1-P-01')).not.toBe(deriveSeed(1, 'sim-plant1-P-02'));
    expect(deriveSeed(1, 'sim-plant1-P-01')).not.toBe(deriveSeed(2, 'sim-plant1-P-01'));
  });
});
