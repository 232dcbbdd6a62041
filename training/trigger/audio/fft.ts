/**
 * A radix-2 fast Fourier transform (iterative Cooley–Tukey, decimation in time), written here so
 * the trigger-word features need no package. Convention (numpy.fft's):
 *   forward:  X_k = Σ_{n=0}^{N−1} x_n · e^(−2πi·kn/N)
 *   inverse:  x_n = (1/N) · Σ_{k=0}^{N−1} X_k · e^(+2πi·kn/N)
 * N must be a power of two. Parseval: Σ |x_n|² = (1/N)·Σ |X_k|².
 *
 * The transform is in place over separate real and imaginary arrays. A plan keeps the
 * bit-reversal permutation and the twiddle factors e^(−2πi·k/N) of one size, so the spectrogram's
 * thousand frames per clip share them (no trigonometry and no allocation per frame).
 */

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** The smallest power of two ≥ n (n ≥ 1). */
export function nextPowerOfTwo(n: number): number {
  if (!(n >= 1) || !Number.isFinite(n)) throw new Error(`nextPowerOfTwo: expected a finite number ≥ 1, got ${n}`);
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export class FftPlan {
  readonly size: number;
  /** bitReversed[i] = i with its log2(N) bits reversed. */
  private readonly bitReversed: Uint32Array;
  /** cos(2πk/N), sin(2πk/N) for k < N/2. */
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;

  constructor(size: number) {
    if (!isPowerOfTwo(size)) throw new Error(`FftPlan: expected a power-of-two size, got ${size}`);
    this.size = size;
    const bits = Math.round(Math.log2(size));
    this.bitReversed = new Uint32Array(size);
    for (let i = 0; i < size; i++) {
      let r = 0;
      for (let b = 0, x = i; b < bits; b++, x >>= 1) r = (r << 1) | (x & 1);
      this.bitReversed[i] = r;
    }
    const half = Math.max(1, size / 2);
    this.cos = new Float64Array(half);
    this.sin = new Float64Array(half);
    for (let k = 0; k < half; k++) {
      this.cos[k] = Math.cos((2 * Math.PI * k) / size);
      this.sin[k] = Math.sin((2 * Math.PI * k) / size);
    }
  }

  /** In place: (re, im) ← DFT(re, im); with `inverse`, the inverse DFT (scaled by 1/N). */
  transform(re: Float64Array, im: Float64Array, inverse = false): void {
    const n = this.size;
    if (re.length !== n || im.length !== n) {
      throw new Error(`fft: expected re and im of length ${n} (the plan's size), got ${re.length} and ${im.length}`);
    }
    // 1. Reorder into bit-reversed order, so each butterfly pass works on adjacent blocks.
    for (let i = 0; i < n; i++) {
      const j = this.bitReversed[i];
      if (j > i) {
        let t = re[i]; re[i] = re[j]; re[j] = t;
        t = im[i]; im[i] = im[j]; im[j] = t;
      }
    }
    // 2. log2(N) passes of butterflies: blocks of `size` combine two half-size DFTs E and O as
    //    X_k = E_k + w^k·O_k,  X_{k+size/2} = E_k − w^k·O_k,  w = e^(∓2πi/size).
    const sign = inverse ? 1 : -1;
    for (let size = 2; size <= n; size *= 2) {
      const half = size / 2;
      const step = n / size; // twiddle index stride: e^(−2πi·k/size) = table[k·step]
      for (let start = 0; start < n; start += size) {
        for (let k = 0; k < half; k++) {
          const wr = this.cos[k * step], wi = sign * this.sin[k * step];
          const a = start + k, b = a + half;
          const tr = wr * re[b] - wi * im[b];
          const ti = wr * im[b] + wi * re[b];
          re[b] = re[a] - tr;
          im[b] = im[a] - ti;
          re[a] += tr;
          im[a] += ti;
        }
      }
    }
    if (inverse) {
      for (let i = 0; i < n; i++) {
        re[i] /= n;
        im[i] /= n;
      }
    }
  }
}

const plans = new Map<number, FftPlan>();

/** The (cached) plan of one size. */
export function fftPlan(size: number): FftPlan {
  let plan = plans.get(size);
  if (!plan) {
    plan = new FftPlan(size);
    plans.set(size, plan);
  }
  return plan;
}

/** In-place FFT of (re, im), length a power of two. */
export function fft(re: Float64Array, im: Float64Array): void {
  if (re.length !== im.length) throw new Error(`fft: expected re and im of equal length, got ${re.length} and ${im.length}`);
  fftPlan(re.length).transform(re, im, false);
}

/** In-place inverse FFT (with the 1/N). */
export function ifft(re: Float64Array, im: Float64Array): void {
  if (re.length !== im.length) throw new Error(`ifft: expected re and im of equal length, got ${re.length} and ${im.length}`);
  fftPlan(re.length).transform(re, im, true);
}

/**
 * Power spectrum of a real signal: out[k] = |X_k|² for k = 0 … N/2 (the other half mirrors it).
 * x has length N (a power of two); re and im are scratch arrays of length N; out has N/2 + 1 entries.
 */
export function powerSpectrum(out: Float64Array, x: ArrayLike<number>, re: Float64Array, im: Float64Array): Float64Array {
  const n = re.length;
  if (x.length !== n || im.length !== n || out.length !== n / 2 + 1) {
    throw new Error(`powerSpectrum: expected x, re, im of length N and out of N/2 + 1 (N = ${n}), got ${x.length}, ${re.length}, ${im.length}, ${out.length}`);
  }
  for (let i = 0; i < n; i++) {
    re[i] = x[i];
    im[i] = 0;
  }
  fftPlan(n).transform(re, im);
  for (let k = 0; k <= n / 2; k++) out[k] = re[k] * re[k] + im[k] * im[k];
  return out;
}
