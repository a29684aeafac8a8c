// Seeded randomness for the simulators: a run is reproducible from its seed, and nothing here
// (or anywhere in the simulator) calls Math.random.

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Normally distributed with the given mean and standard deviation. */
  normal(mean: number, sd: number): number;
}

/** mulberry32: 32 bits of state, fast and well spread; meant for noise, not for cryptography. */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    next,
    normal(mean, sd) {
      // Box–Muller; 1 − next() keeps the logarithm's argument in (0, 1].
      const radius = Math.sqrt(-2 * Math.log(1 - next()));
      return mean + sd * radius * Math.cos(2 * Math.PI * next());
    },
  };
}

/**
 * The seed of an independent stream (e.g. one per device), from a parent seed and a label, so
 * adding a device does not change the noise of the others.
 */
export function deriveSeed(seed: number, label: string): number {
  // FNV-1a over the label, started from the parent seed, then one murmur3 finaliser round.
  let hash = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let index = 0; index < label.length; index++) {
    hash = Math.imul(hash ^ label.charCodeAt(index), 0x01000193) >>> 0;
  }
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}
