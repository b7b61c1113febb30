/**
 * Seeded randomness for the routing simulation: a small PRNG for the traffic,
 * and a hash that gives every (request, model, purpose) its own fixed draw, so
 * that one request meets the same luck on one model whatever strategy sent it
 * there (the strategies are compared on the same dice, not only the same
 * traffic).
 *
 * @module
 */

/** mulberry32: a fast 32-bit PRNG; returns floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A float in [0, 1) fixed by its integer inputs (an avalanche hash of them). */
export function draw(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    h = Math.imul(h, 0x297a2d39);
    h ^= h >>> 15;
  }
  return (h >>> 0) / 4294967296;
}

/** A standard normal value from two uniform draws (Box–Muller). */
export function normal(u1: number, u2: number): number {
  return Math.sqrt(-2 * Math.log(Math.max(u1, 1e-12))) *
    Math.cos(2 * Math.PI * u2);
}

/** An integer in [lo, hi] from one uniform draw. */
export function between(u: number, lo: number, hi: number): number {
  return lo + Math.floor(u * (hi - lo + 1));
}
