/**
 * The plain-JS GEMM kernel at its block boundaries: shapes that cross its cache blocks
 * (96 rows of op(A), 320 columns of op(B), 256 steps of k), end in partial 2×5 micro-tiles, or
 * take the single-column path, in all four transpositions and both dtypes, against a float64
 * triple loop over the raw arrays (the independent reference).
 */
import { describe, expect, it } from 'vitest';
import { gemmJs } from '../../engine/kernels/gemm-js.js';
import { Rng } from '../../engine/rng.js';

type Buf = Float32Array | Float64Array;

interface Operands {
  m: number; n: number; k: number; ta: boolean; tb: boolean;
  a: Buf; lda: number; b: Buf; ldb: number; c: Buf; ldc: number;
}

/** Operands stored with padded strides and offsets 1 (A), 2 (B), 3 (C), so views are exercised too. */
function operands(m: number, n: number, k: number, ta: boolean, tb: boolean, f64: boolean, seed: number): Operands {
  const rng = new Rng(seed);
  const fill = (len: number): Buf => {
    const x = f64 ? new Float64Array(len) : new Float32Array(len);
    for (let i = 0; i < len; i++) x[i] = rng.uniformIn(-1, 1);
    return x;
  };
  const lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 4;
  return {
    m, n, k, ta, tb,
    a: fill(1 + (ta ? k : m) * lda), lda,
    b: fill(2 + (tb ? n : k) * ldb), ldb,
    c: fill(3 + m * ldc), ldc,
  };
}

/** C = α·op(A)·op(B) + β·C0 in float64, as a fresh array laid out like C. */
function reference(o: Operands, alpha: number, beta: number): Float64Array {
  const out = Float64Array.from(o.c);
  for (let i = 0; i < o.m; i++) {
    for (let j = 0; j < o.n; j++) {
      let s = 0;
      for (let p = 0; p < o.k; p++) {
        const aip = o.ta ? o.a[1 + p * o.lda + i] : o.a[1 + i * o.lda + p];
        const bpj = o.tb ? o.b[2 + j * o.ldb + p] : o.b[2 + p * o.ldb + j];
        s += aip * bpj;
      }
      out[3 + i * o.ldc + j] = alpha * s + beta * o.c[3 + i * o.ldc + j];
    }
  }
  return out;
}

function run(o: Operands, alpha: number, beta: number): void {
  gemmJs(o.m, o.n, o.k, alpha, o.a, 1, o.lda, o.ta, o.b, 2, o.ldb, o.tb, beta, o.c, 3, o.ldc);
}

/** Largest |C − ref| over C's entries; entries outside C (padding) must be untouched. */
function check(o: Operands, ref: Float64Array, before: Float64Array, f64: boolean): number {
  let worst = 0;
  for (let idx = 0; idx < o.c.length; idx++) {
    const r = idx - 3, i = Math.floor(r / o.ldc), j = r - i * o.ldc;
    const inside = r >= 0 && i < o.m && j < o.n;
    if (inside) worst = Math.max(worst, Math.abs(o.c[idx] - ref[idx]));
    else expect(o.c[idx]).toBe(before[idx]);
  }
  return worst / (f64 ? 1e-12 * o.k : 1e-5 * Math.sqrt(o.k));
}

const shapes: [number, number, number, string][] = [
  [99, 327, 260, 'every block boundary: 2 row blocks, 2 column panels, 2 k blocks, partial tiles'],
  [194, 331, 40, 'exactly two row blocks and a 1-column partial tile'],
  [33, 512, 128, 'an odd batch: a 1-row partial tile'],
  [4, 650, 513, 'two full column panels, a 1-step last k block'],
  [1, 37, 300, 'a single row'],
  [300, 1, 129, 'a single column (direct path)'],
  [7, 3, 700, 'fewer columns than the micro-tile'],
];

describe('gemm-js kernel across its blocks', () => {
  for (const f64 of [false, true]) {
    for (const [m, n, k, what] of shapes) {
      it(`${f64 ? 'float64' : 'float32'} ${m}×${n}×${k} (${what}), all transpositions, α = 0.7, β = −1.3`, () => {
        for (const ta of [false, true]) {
          for (const tb of [false, true]) {
            const o = operands(m, n, k, ta, tb, f64, m * 7 + n * 3 + k + (ta ? 1 : 0) + (tb ? 2 : 0));
            const before = Float64Array.from(o.c);
            const ref = reference(o, 0.7, -1.3);
            run(o, 0.7, -1.3);
            expect(check(o, ref, before, f64)).toBeLessThan(1);
          }
        }
      });
    }
  }

  it('a product with partial tiles right after a larger one is exact (no stale packed data leaks in)', () => {
    const large = operands(200, 400, 300, false, true, true, 1);
    run(large, 1, 0);
    // 3×7×300: partial tiles in both directions; small integers keep the float64 result exact
    const o = operands(3, 7, 300, true, false, true, 2);
    for (let i = 0; i < o.a.length; i++) o.a[i] = (i % 5) - 2;
    for (let i = 0; i < o.b.length; i++) o.b[i] = (i % 7) - 3;
    const before = Float64Array.from(o.c);
    const ref = reference(o, 1, 0);
    run(o, 1, 0);
    expect(check(o, ref, before, true)).toBe(0);
  });

  it('float32 and float64 calls interleaved give the same results as separate runs', () => {
    const x32 = operands(50, 60, 70, false, false, false, 4);
    const x64 = operands(50, 60, 70, true, true, true, 5);
    const ref32 = reference(x32, 1, 0), ref64 = reference(x64, 1, 0);
    const b32 = Float64Array.from(x32.c), b64 = Float64Array.from(x64.c);
    run(x32, 1, 0);
    run(x64, 1, 0);
    expect(check(x32, ref32, b32, false)).toBeLessThan(1);
    expect(check(x64, ref64, b64, true)).toBeLessThan(1);
  });
});
