/**
 * gemmTransAccumulate (C += Aᵀ·B over k rows, in products of ACCUMULATE_ROWS rows): against a float64
 * triple loop on both backends, for depths below, at and across the chunk size, on strided views;
 * and on wasm, for whole register tiles (a partial row strip is summed in C̃, then added), bit for bit the one long product (the order it sums in).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ACCUMULATE_ROWS, gemm, gemmTransAccumulate, Matrix, Rng, setBackend } from '../../engine/index.js';
import { initWasmBackend } from '../../engine/wasm/index.js';

beforeAll(async () => {
  await initWasmBackend();
});

function onBackend<T>(name: string, fn: () => T): T {
  const previous = setBackend(name);
  try {
    return fn();
  } finally {
    setBackend(previous);
  }
}

/** A [rows, cols] view with 3 spare columns per row, entries U(−1, 1). */
function randomView(rng: Rng, rows: number, cols: number): Matrix {
  const parent = Matrix.zeros(rows, cols + 3);
  for (let i = 0; i < parent.data.length; i++) parent.data[i] = rng.uniformIn(-1, 1);
  return parent.colView(1, cols);
}

/** C0 + AᵀB in float64. */
function reference(c0: Matrix, a: Matrix, b: Matrix): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < c0.rows; i++) {
    out.push([]);
    for (let j = 0; j < c0.cols; j++) {
      let s = 0;
      for (let p = 0; p < a.rows; p++) s += a.get(p, i) * b.get(p, j);
      out[i].push(c0.get(i, j) + s);
    }
  }
  return out;
}

describe('gemmTransAccumulate', () => {
  for (const backend of ['js', 'wasm']) {
    for (const k of [5, ACCUMULATE_ROWS, ACCUMULATE_ROWS + 1, 3 * ACCUMULATE_ROWS + 77]) {
      it(`${backend}: C += AᵀB with k = ${k} matches the float64 loop (strided views)`, () => {
        onBackend(backend, () => {
          const rng = new Rng(k);
          const a = randomView(rng, k, 13), b = randomView(rng, k, 9), c = randomView(rng, 13, 9);
          const want = reference(c, a, b);
          gemmTransAccumulate(c, a, b);
          for (let i = 0; i < 13; i++) for (let j = 0; j < 9; j++) expect(Math.abs(c.get(i, j) - want[i][j])).toBeLessThan(1e-4 * Math.sqrt(k));
        });
      });
    }
  }

  it('wasm, whole register tiles (m = 80: 5 × 8 or 4 × 8): the same bits as one gemm over all k rows', () => {
    onBackend('wasm', () => {
      const rng = new Rng(3);
      const k = 5 * ACCUMULATE_ROWS + 32;
      const a = Matrix.zeros(k, 80), b = Matrix.zeros(k, 32), c = Matrix.zeros(80, 32);
      for (const m of [a, b, c]) for (let i = 0; i < m.data.length; i++) m.data[i] = rng.uniformIn(-1, 1);
      const whole = c.clone();
      gemm(whole, a, b, true, false, 1, 1);
      gemmTransAccumulate(c, a, b);
      expect(Array.from(c.data)).toEqual(Array.from(whole.data));
    });
  });

  it('names the shapes when they do not fit', () => {
    expect(() => gemmTransAccumulate(Matrix.zeros(3, 4), Matrix.zeros(5, 3), Matrix.zeros(6, 4))).toThrow(/gemmTransAccumulate: expected A \[k, m\]/);
  });
});
