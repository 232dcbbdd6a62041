/**
 * The one seeded random generator every random choice in seqgrad draws from.
 *
 * Algorithm: xoshiro128** (Blackman & Vigna, 2018) — 128 bits of state, 32-bit outputs,
 * period 2^128 − 1 — seeded by running SplitMix32 over the 32-bit seed, so nearby seeds give
 * unrelated streams. Uniform doubles take 53 bits from two outputs; normals use the Box–Muller
 * transform and keep the second value of each pair (it is part of the saved state, so a
 * restored generator continues bit-identically). Library code draws only from this generator.
 */

export interface RngState {
  s: [number, number, number, number];
  /** The cached second Box–Muller value, or null. */
  spare: number | null;
}

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare: number | null = null;

  constructor(seed = 0) {
    this.reseed(seed);
  }

  reseed(seed: number): void {
    let x = seed >>> 0;
    const next = (): number => {
      // SplitMix32 (Steele, Lea & Flood's SplitMix adapted to 32 bits).
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
    this.spare = null;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [low, high). */
  uniformIn(low: number, high: number): number {
    return low + (high - low) * this.uniform();
  }

  /** A uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 4294967296) {
      throw new Error(`Rng.int: expected an integer n in [1, 2^32], got ${n}`);
    }
    if (n === 4294967296) return this.nextUint32();
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** A standard normal draw (mean 0, standard deviation 1), Box–Muller. */
  normal(mean = 0, std = 1): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return mean + std * z;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    const angle = 2 * Math.PI * v;
    this.spare = radius * Math.sin(angle);
    return mean + std * radius * Math.cos(angle);
  }

  /**
   * An index i drawn with probability weights[i] / Σ weights (weights need not sum to 1).
   * Only the first `length` entries count (default: all). Throws on a non-positive total.
   */
  categorical(weights: ArrayLike<number>, length = weights.length, offset = 0): number {
    let total = 0;
    for (let i = 0; i < length; i++) total += weights[offset + i];
    if (!(total > 0) || !Number.isFinite(total)) {
      throw new Error(`Rng.categorical: expected weights with a positive finite sum, got ${total}`);
    }
    const target = this.uniform() * total;
    let acc = 0;
    for (let i = 0; i < length; i++) {
      acc += weights[offset + i];
      if (target < acc) return i;
    }
    // Rounding can leave target ≥ acc: return the last index with positive weight.
    for (let i = length - 1; i >= 0; i--) if (weights[offset + i] > 0) return i;
    return length - 1;
  }

  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<T>(items: T[]): T[];
  shuffle<A extends { length: number; [i: number]: number }>(items: A): A;
  shuffle(items: { length: number; [i: number]: unknown }): unknown {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** A permutation of 0 … n−1. */
  permutation(n: number): number[] {
    const out = Array.from({ length: n }, (_, i) => i);
    return this.shuffle(out);
  }

  getState(): RngState {
    return { s: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0], spare: this.spare };
  }

  setState(state: RngState): void {
    if (!state || !Array.isArray(state.s) || state.s.length !== 4) {
      throw new Error('Rng.setState: expected { s: [4 uint32], spare }');
    }
    [this.s0, this.s1, this.s2, this.s3] = state.s.map((v) => v >>> 0) as [number, number, number, number];
    this.spare = state.spare ?? null;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
