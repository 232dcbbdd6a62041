import { describe, expect, it } from 'vitest';
import { gemm, gemmBatched, Matrix, Rng, type DType } from '../../engine/index.js';

/** The reference: a naive triple loop in float64, C = α·op(A)·op(B) + β·C0. */
function naiveGemm(a: Matrix, b: Matrix, c0: Matrix, ta: boolean, tb: boolean, alpha: number, beta: number): number[][] {
  const m = c0.rows, n = c0.cols, k = ta ? a.rows : a.cols;
  const out: number[][] = [];
  for (let i = 0; i < m; i++) {
    out.push([]);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += (ta ? a.get(p, i) : a.get(i, p)) * (tb ? b.get(j, p) : b.get(p, j));
      out[i].push(alpha * s + beta * c0.get(i, j));
    }
  }
  return out;
}

function random(rng: Rng, rows: number, cols: number, dtype: DType): Matrix {
  const m = Matrix.zeros(rows, cols, dtype);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.uniformIn(-1, 1);
  return m;
}

function maxDiff(m: Matrix, ref: number[][]): number {
  let d = 0;
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) d = Math.max(d, Math.abs(m.get(i, j) - ref[i][j]));
  return d;
}

const shapes: [number, number, number][] = [
  [1, 1, 1], [1, 37, 5], [29, 1, 3], [7, 9, 1], [5, 3, 70], [33, 35, 37], [64, 64, 64], [65, 130, 257], [100, 3, 300], [4, 300, 9],
];

describe('gemm', () => {
  for (const dtype of ['float32', 'float64'] as DType[]) {
    for (const [m, n, k] of shapes) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          it(`${dtype} m=${m} n=${n} k=${k} transA=${ta} transB=${tb} matches the naive loop`, () => {
            const rng = new Rng(m * 1000 + n * 10 + k);
            const a = ta ? random(rng, k, m, dtype) : random(rng, m, k, dtype);
            const b = tb ? random(rng, n, k, dtype) : random(rng, k, n, dtype);
            const c = random(rng, m, n, dtype);
            const ref = naiveGemm(a, b, c, ta, tb, 0.7, -1.3);
            gemm(c, a, b, ta, tb, 0.7, -1.3);
            const tol = dtype === 'float64' ? 1e-12 * k : 1e-5 * Math.sqrt(k);
            expect(maxDiff(c, ref)).toBeLessThan(tol);
          });
        }
      }
    }
  }

  it('works on strided views (column blocks) for A, B and C', () => {
    const rng = new Rng(7);
    const bigA = random(rng, 40, 50, 'float64');
    const bigB = random(rng, 50, 60, 'float64');
    const bigC = random(rng, 40, 70, 'float64');
    const a = bigA.colView(3, 30), b = bigB.rowView(5, 30).colView(7, 40), c = bigC.colView(11, 40);
    const ref = naiveGemm(a, b, c, false, false, 1, 0.5);
    const untouched = bigC.colView(0, 11).clone();
    gemm(c, a, b, false, false, 1, 0.5);
    expect(maxDiff(c, ref)).toBeLessThan(1e-12);
    expect(bigC.colView(0, 11).toArray()).toEqual(untouched.toArray()); // columns outside the view are untouched
  });

  it('β = 0 overwrites C without reading it (NaN in C does not propagate)', () => {
    const a = Matrix.fromArray([[1, 2], [3, 4]]);
    const b = Matrix.fromArray([[5, 6], [7, 8]]);
    const c = Matrix.fromArray([[NaN, NaN], [NaN, NaN]]);
    gemm(c, a, b);
    expect(c.toArray()).toEqual([[19, 22], [43, 50]]);
  });

  it('aliasing: C overlapping A or B throws; A and B may be the same matrix', () => {
    const x = Matrix.fromArray([[1, 2], [3, 4]], 'float64');
    expect(() => gemm(x, x, Matrix.fromArray([[1, 0], [0, 1]], 'float64'))).toThrow(/gemm: C must not overlap/);
    const big = Matrix.zeros(2, 4, 'float64');
    // the check is conservative: column blocks of one matrix interleave in memory, so they count as overlapping
    expect(() => gemm(big.colView(0, 2), big.colView(2, 2), x)).toThrow(/gemm: C must not overlap/);
    expect(() => gemm(big.rowView(0, 1).colView(0, 2), big.rowView(1, 1).colView(0, 2), x)).not.toThrow();
    const gram = Matrix.zeros(2, 2, 'float64');
    gemm(gram, x, x, true, false); // XᵀX with A = B
    expect(gram.toArray()).toEqual([[10, 14], [14, 20]]);
  });

  it('shape mismatches throw an error naming gemm and the shapes', () => {
    const a = Matrix.zeros(2, 3), b = Matrix.zeros(4, 5), c = Matrix.zeros(2, 5);
    expect(() => gemm(c, a, b)).toThrow('gemm: expected op(A) [m, k], op(B) [k, n] and C [m, n]; got A [2, 3], B [4, 5], C [2, 5]');
    expect(() => gemm(Matrix.zeros(2, 2), Matrix.zeros(2, 2, 'float64'), Matrix.zeros(2, 2))).toThrow(/gemm: expected matching dtypes/);
  });
});

describe('gemmBatched', () => {
  // Multi-head attention's layout: a time-major [T·B, h·d] matrix; product (j, b) = head j (columns
  // j·d …), batch row b (rows b, B + b, …). Each product is checked against the naive loop on its own views.
  const T = 5, Tk = 4, B = 3, h = 2, d = 3;
  const headOf = (x: Matrix, steps: number, j: number, b: number) => new Matrix(steps, d, x.data, x.offset + j * d + b * x.stride, x.stride * B);
  for (const dtype of ['float32', 'float64'] as const) {
    it(`${dtype}: every head and batch row of Q Kᵀ (transB, α) and the accumulated Pᵀ dO (transA, β = 1) match the naive loop`, () => {
      const rng = new Rng(9);
      const q = random(rng, T * B, h * d, dtype), k = random(rng, Tk * B, h * d, dtype);
      const scores = random(rng, h * B * T, Tk, dtype), before = scores.clone();
      gemmBatched(new Matrix(T, Tk, scores.data, 0, Tk), headOf(q, T, 0, 0), headOf(k, Tk, 0, 0),
        { counts: [h, B], c: [B * T * Tk, T * Tk], a: [d, q.stride], b: [d, k.stride] }, false, true, 0.5);
      const dv = random(rng, Tk * B, h * d, dtype), dvBefore = dv.clone(), dO = random(rng, T * B, h * d, dtype);
      gemmBatched(headOf(dv, Tk, 0, 0), new Matrix(T, Tk, scores.data, 0, Tk), headOf(dO, T, 0, 0),
        { counts: [h, B], c: [d, dv.stride], a: [B * T * Tk, T * Tk], b: [d, dO.stride] }, true, false, 1, 1);
      const tol = dtype === 'float64' ? 1e-12 : 1e-5;
      for (let j = 0; j < h; j++) {
        for (let b = 0; b < B; b++) {
          const block = scores.rowView((j * B + b) * T, T);
          expect(maxDiff(block, naiveGemm(headOf(q, T, j, b), headOf(k, Tk, j, b), before.rowView((j * B + b) * T, T), false, true, 0.5, 0))).toBeLessThan(tol);
          expect(maxDiff(headOf(dv, Tk, j, b), naiveGemm(block, headOf(dO, T, j, b), headOf(dvBefore, Tk, j, b), true, false, 1, 1))).toBeLessThan(tol);
        }
      }
    });
  }

  it('checks the whole batch once: a last product past its array, C overlapping A, mismatched shapes', () => {
    const a = Matrix.zeros(4, 3), b = Matrix.zeros(3, 2), c = Matrix.zeros(8, 2);
    const view = new Matrix(4, 2, c.data, 0, 2);
    expect(() => gemmBatched(view, a, b, { counts: [1, 3], a: [0, 0], b: [0, 0], c: [0, 8] }))
      .toThrow('gemmBatched: the last product of C ([4, 2]) ends at entry 24, past its array of 16');
    expect(() => gemmBatched(view, new Matrix(4, 3, c.data, 0, 3), b, { counts: [1, 1], a: [0, 0], b: [0, 0], c: [0, 0] }))
      .toThrow(/C must not overlap A or B/);
    expect(() => gemmBatched(view, a, Matrix.zeros(2, 2), { counts: [1, 1], a: [0, 0], b: [0, 0], c: [0, 0] }))
      .toThrow(/gemmBatched: expected op\(A\) \[m, k\]/);
  });
});
