/**
 * The tests' one seeded PRNG (mulberry32): small, fast, and the same sequence on every runtime
 * for a given seed, so a failing seed reproduces anywhere.
 * @module
 */

/** mulberry32 with the helpers random tests need. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** An integer in 0..n-1 (0 when n <= 0). */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor((this.u32() / 0x100000000) * n);
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }
  /** One element of `a`. */
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  /** A random subset of `a` (each element with probability p), in `a`'s order. */
  subset<T>(a: readonly T[], p = 0.5): T[] {
    return a.filter(() => this.chance(p));
  }
}
