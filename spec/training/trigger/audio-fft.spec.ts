import { describe, expect, it } from 'vitest';
import { Rng } from '../../../engine/rng.js';
import { FftPlan, fft, ifft, isPowerOfTwo, nextPowerOfTwo, powerSpectrum } from '../../../training/trigger/audio/fft.js';

/** The definition, O(N²): X_k = Σ_n x_n·e^(−2πi·kn/N). */
function naiveDft(re: Float64Array, im: Float64Array): [Float64Array, Float64Array] {
  const n = re.length;
  const outRe = new Float64Array(n), outIm = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < n; j++) {
      const angle = (-2 * Math.PI * k * j) / n;
      outRe[k] += re[j] * Math.cos(angle) - im[j] * Math.sin(angle);
      outIm[k] += re[j] * Math.sin(angle) + im[j] * Math.cos(angle);
    }
  }
  return [outRe, outIm];
}

function randomSignal(rng: Rng, n: number): [Float64Array, Float64Array] {
  return [Float64Array.from({ length: n }, () => rng.normal()), Float64Array.from({ length: n }, () => rng.normal())];
}

function maxDiff(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('radix-2 FFT', () => {
  it('matches the naive DFT for N = 1 … 1024', () => {
    const rng = new Rng(1);
    for (const n of [1, 2, 4, 8, 16, 64, 256, 1024]) {
      const [re, im] = randomSignal(rng, n);
      const [wantRe, wantIm] = naiveDft(re, im);
      fft(re, im);
      const tol = 1e-9 * Math.sqrt(n) * n;
      expect(maxDiff(re, wantRe), `N = ${n}`).toBeLessThan(tol);
      expect(maxDiff(im, wantIm), `N = ${n}`).toBeLessThan(tol);
    }
  });

  it('inverse undoes forward', () => {
    const [re, im] = randomSignal(new Rng(2), 512);
    const [re0, im0] = [re.slice(), im.slice()];
    fft(re, im);
    ifft(re, im);
    expect(maxDiff(re, re0)).toBeLessThan(1e-12);
    expect(maxDiff(im, im0)).toBeLessThan(1e-12);
  });

  it('Parseval: Σ|x|² = (1/N)·Σ|X|²', () => {
    const [re, im] = randomSignal(new Rng(3), 2048);
    let time = 0;
    for (let i = 0; i < re.length; i++) time += re[i] ** 2 + im[i] ** 2;
    fft(re, im);
    let freq = 0;
    for (let i = 0; i < re.length; i++) freq += re[i] ** 2 + im[i] ** 2;
    expect(Math.abs(time - freq / re.length) / time).toBeLessThan(1e-12);
  });

  it('known transforms: an impulse is flat, a cosine at bin k has N/2 at k and N − k', () => {
    const n = 64;
    const re = new Float64Array(n), im = new Float64Array(n);
    re[0] = 1;
    fft(re, im);
    expect(maxDiff(re, new Float64Array(n).fill(1))).toBeLessThan(1e-15);
    const cos = Float64Array.from({ length: n }, (_, j) => Math.cos((2 * Math.PI * 5 * j) / n));
    const power = powerSpectrum(new Float64Array(n / 2 + 1), cos, new Float64Array(n), new Float64Array(n));
    for (let k = 0; k <= n / 2; k++) expect(power[k]).toBeCloseTo(k === 5 ? (n / 2) ** 2 : 0, 9);
  });

  it('checks sizes', () => {
    expect(() => new FftPlan(12)).toThrow('FftPlan: expected a power-of-two size, got 12');
    expect(() => fft(new Float64Array(8), new Float64Array(4))).toThrow('fft: expected re and im of equal length, got 8 and 4');
    expect(() => fft(new Float64Array(6), new Float64Array(6))).toThrow('expected a power-of-two size, got 6');
    expect([isPowerOfTwo(1), isPowerOfTwo(96), isPowerOfTwo(512)]).toEqual([true, false, true]);
    expect([nextPowerOfTwo(1), nextPowerOfTwo(400), nextPowerOfTwo(512), nextPowerOfTwo(513)]).toEqual([1, 512, 512, 1024]);
  });
});
