/**
 * The wasm GEMM on operands that lie in its heap: used in place (no copies), C written directly
 * when the product is whole register tiles, and constant operands packed once per scope — against
 * the js kernel (float32 sums in another order: 1e−5 relative) and a float64 loop.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { gemm, jsBackend, Matrix, Rng, setBackend, withConstantOperands } from '../../engine/index.js';
import { createWasmBackend, initWasmBackend, type WasmBackend } from '../../engine/wasm/index.js';

/** A [rows, cols] matrix in `backend`'s heap, filled from rng, inside a parent with a padded stride when `pad`. */
function heapMatrix(backend: WasmBackend, rng: Rng, rows: number, cols: number, pad = 0): Matrix {
  const stride = cols + pad;
  const data = backend.heap.allocArray(rows * stride + pad)!;
  for (let i = 0; i < data.length; i++) data[i] = rng.uniformIn(-1, 1);
  return new Matrix(rows, cols, data, pad, stride);
}

function jsCopy(m: Matrix): Matrix {
  const out = new Matrix(m.rows, m.cols, Float32Array.from(m.data), m.offset, m.stride);
  return out;
}

function maxRelDiff(x: Matrix, ref: Matrix): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < x.rows; i++) {
    for (let j = 0; j < x.cols; j++) {
      diff = Math.max(diff, Math.abs(x.get(i, j) - ref.get(i, j)));
      scale = Math.max(scale, Math.abs(ref.get(i, j)));
    }
  }
  return diff / (scale || 1);
}

function product(backend: { gemm: WasmBackend['gemm'] }, c: Matrix, a: Matrix, b: Matrix, ta: boolean, tb: boolean, alpha: number, beta: number): void {
  const k = ta ? a.rows : a.cols;
  backend.gemm(c.rows, c.cols, k, alpha, a.data, a.offset, a.stride, ta, b.data, b.offset, b.stride, tb, beta, c.data, c.offset, c.stride);
}

describe('wasm gemm on heap operands', () => {
  let backend: WasmBackend;
  beforeAll(() => {
    backend = createWasmBackend({ relaxedSimd: false, name: 'wasm in place' });
  });

  // whole tiles (direct C: m % 4 = 0, n % 8 = 0), partial tiles, the few-rows path, k across KC chunks
  const shapes: [number, number, number][] = [[32, 512, 128], [32, 128, 512], [64, 40, 300], [33, 35, 37], [2, 45, 131], [1, 64, 128], [8, 8, 1]];

  it('every transposition, α and β, strided views: matches js, copies nothing, leaves the padding alone', () => {
    const rng = new Rng(31);
    const copiesBefore = backend.sgemm.copyCount;
    for (const [m, n, k] of shapes) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          for (const [alpha, beta, pad] of [[1, 0, 0], [1, 1, 3], [0.5, -2, 1], [1, 0, 5]]) {
            const a = ta ? heapMatrix(backend, rng, k, m, pad) : heapMatrix(backend, rng, m, k, pad);
            const b = tb ? heapMatrix(backend, rng, n, k, pad) : heapMatrix(backend, rng, k, n, pad);
            const c = heapMatrix(backend, rng, m, n, pad);
            const ref = jsCopy(c);
            const before = Float32Array.from(c.data);
            product(jsBackend, ref, jsCopy(a), jsCopy(b), ta, tb, alpha, beta);
            product(backend, c, a, b, ta, tb, alpha, beta);
            const err = maxRelDiff(c, ref);
            if (!(err < 1e-5)) throw new Error(`m=${m} n=${n} k=${k} ta=${ta} tb=${tb} α=${alpha} β=${beta} pad=${pad}: ${err}`);
            // entries outside the view (padding, the gaps between rows) are untouched
            for (let idx = 0; idx < c.data.length; idx++) {
              const r = idx - c.offset, i = Math.floor(r / c.stride), j = r - i * c.stride;
              if (!(r >= 0 && i < m && j < n)) expect(c.data[idx]).toBe(before[idx]);
            }
          }
        }
      }
    }
    expect(backend.sgemm.copyCount).toBe(copiesBefore);
  });

  it('β = 0 with direct C writes does not read C (NaN does not propagate); β = 1 accumulates', () => {
    const rng = new Rng(32);
    const a = heapMatrix(backend, rng, 8, 16), b = heapMatrix(backend, rng, 16, 8);
    const c = heapMatrix(backend, rng, 8, 8);
    c.data.fill(NaN);
    product(backend, c, a, b, false, false, 1, 0);
    const ref = new Matrix(8, 8, new Float32Array(64));
    product(jsBackend, ref, jsCopy(a), jsCopy(b), false, false, 1, 0);
    expect(maxRelDiff(c, ref)).toBeLessThan(1e-6);
    product(backend, c, a, b, false, false, 1, 1);
    product(jsBackend, ref, jsCopy(a), jsCopy(b), false, false, 1, 1);
    expect(maxRelDiff(c, ref)).toBeLessThan(1e-6);
  });

  it('a mix of heap and plain operands: only the plain ones are copied', () => {
    const rng = new Rng(33);
    const a = heapMatrix(backend, rng, 40, 30), c = heapMatrix(backend, rng, 40, 24);
    const b = new Matrix(30, 24, Float32Array.from({ length: 720 }, () => rng.uniformIn(-1, 1)));
    const ref = jsCopy(c);
    const before = backend.sgemm.copyCount;
    product(backend, c, a, b, false, false, 1, 0);
    expect(backend.sgemm.copyCount).toBe(before + 1);
    product(jsBackend, ref, jsCopy(a), b, false, false, 1, 0);
    expect(maxRelDiff(c, ref)).toBeLessThan(1e-5);
  });
});

describe('constant operands are packed once per scope', () => {
  it('a recurrent product over T steps packs W_a once; results are bit-identical to unscoped calls', async () => {
    const backend = (await initWasmBackend()) as WasmBackend;
    setBackend('wasm');
    try {
      const rng = new Rng(34);
      const w = heapMatrix(backend, rng, 512, 128), x = heapMatrix(backend, rng, 32, 128);
      const plain = Matrix.zeros(32, 512), scoped = Matrix.zeros(32, 512), back = Matrix.zeros(32, 128);
      gemm(plain, x, w, false, true);
      const packsBefore = backend.sgemm.packCount;
      withConstantOperands([w.data], () => {
        for (let t = 0; t < 5; t++) {
          gemm(scoped, x, w, false, true); // a·W_aᵀ
          gemm(back, scoped.colView(0, 512), w, false, false); // dxp·W_a: W_a packed in its other role
        }
        expect(backend.sgemm.packedCount).toBe(2);
      });
      // 5 × (A of the forward + A of the backward) + W_a once per role
      expect(backend.sgemm.packCount - packsBefore).toBe(12);
      expect(backend.sgemm.packedCount).toBe(0);
      expect(Array.from(scoped.data)).toEqual(Array.from(plain.data));
    } finally {
      setBackend('js');
    }
  });

  it('constants in the A role are packed once in the strips of the tile their row count takes (4 × 8 for 32 rows, 5 × 8 for 65)', async () => {
    const backend = (await initWasmBackend()) as WasmBackend;
    setBackend('wasm');
    try {
      const rng = new Rng(35);
      const w32 = heapMatrix(backend, rng, 32, 70), w65 = heapMatrix(backend, rng, 65, 70), x = heapMatrix(backend, rng, 70, 24);
      const plain32 = Matrix.zeros(32, 24), plain65 = Matrix.zeros(65, 24);
      gemm(plain32, w32, x);
      gemm(plain65, w65, x);
      const scoped32 = Matrix.zeros(32, 24), scoped65 = Matrix.zeros(65, 24);
      expect([backend.sgemm.tileRows(32), backend.sgemm.tileRows(65)]).toEqual([4, 5]);
      const packsBefore = backend.sgemm.packCount;
      withConstantOperands([w32.data, w65.data], () => {
        for (let t = 0; t < 3; t++) {
          gemm(scoped32, w32, x);
          gemm(scoped65, w65, x);
        }
        expect(backend.sgemm.packedCount).toBe(2);
      });
      // 6 × B (x is not constant) + each W once
      expect(backend.sgemm.packCount - packsBefore).toBe(8);
      expect(Array.from(scoped32.data)).toEqual(Array.from(plain32.data));
      expect(Array.from(scoped65.data)).toEqual(Array.from(plain65.data));
      // and both agree with the js reference
      const ref32 = Matrix.zeros(32, 24), ref65 = Matrix.zeros(65, 24);
      setBackend('js');
      gemm(ref32, w32, x);
      gemm(ref65, w65, x);
      for (const [got, ref] of [[scoped32, ref32], [scoped65, ref65]]) {
        for (let i = 0; i < got.data.length; i++) expect(Math.abs(got.data[i] - ref.data[i])).toBeLessThan(1e-4 * 70);
      }
    } finally {
      setBackend('js');
    }
  });
});
