/**
 * The row kernels of the backend seam — gatherRows (embedding lookup, one-hot input projection),
 * scatterAddRows (their gradient) and addRows — on the wasm backend against the js reference: each
 * entry is one f32 copy or add, so bit for bit, on strided views and widths that are not whole
 * f32x4 vectors; repeated ids sum in row order; operands outside the heap go to the js kernels.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { addRowsKernel, gatherRowsKernel, scatterAddRowsKernel, setBackend } from '../../engine/backend.js';
import { Matrix } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import { addRowsJs, gatherRowsJs, scatterAddRowsJs } from '../../engine/kernels/vector-js.js';
import { initWasmBackend, type WasmBackend } from '../../engine/wasm/index.js';

let wasm: WasmBackend;
beforeAll(async () => {
  wasm = (await initWasmBackend()) as WasmBackend;
});

function onWasm<T>(fn: () => T): T {
  const previous = setBackend('wasm');
  try {
    return fn();
  } finally {
    setBackend(previous);
  }
}

/** A [rows, cols] view (stride cols + 3) in the wasm heap, and a plain copy with the same layout. */
function pair(rng: Rng, rows: number, cols: number): [Matrix, Matrix] {
  const parent = onWasm(() => Matrix.zeros(rows, cols + 3));
  for (let i = 0; i < parent.data.length; i++) parent.data[i] = rng.normal();
  const view = parent.colView(1, cols);
  const plain = new Matrix(rows, cols, Float32Array.from(parent.data), 1, cols + 3);
  return [view, plain];
}

function sameBits(a: Matrix, b: Matrix): boolean {
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) if (!Object.is(a.get(i, j), b.get(i, j))) return false;
  return true;
}

function randomIds(rng: Rng, n: number, V: number): Int32Array {
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) ids[i] = Math.floor(rng.uniform() * V);
  ids[0] = ids[n - 1]; // at least one repeated id
  return ids;
}

const widths = [1, 3, 4, 7, 64, 130];

describe('wasm row kernels against js', () => {
  it('gatherRows: table rows by id, with and without a bias row — the js bits', () => {
    const rng = new Rng(5);
    for (const cols of widths) {
      const [table, tableJ] = pair(rng, 9, cols), [bias, biasJ] = pair(rng, 1, cols);
      const ids = randomIds(rng, 23, 9);
      for (const withBias of [false, true]) {
        const [out, outJ] = pair(rng, 23, cols);
        const calls = wasm.vectors.wasmCalls;
        onWasm(() => gatherRowsKernel()(23, cols, out, table, ids, withBias ? bias : null));
        expect(wasm.vectors.wasmCalls).toBe(calls + 1);
        gatherRowsJs(23, cols, outJ, tableJ, ids, withBias ? biasJ : null);
        expect(sameBits(out, outJ)).toBe(true);
        // independently: row r is table[ids[r]] (+ b)
        for (let r = 0; r < 23; r++) {
          for (let c = 0; c < cols; c++) expect(out.get(r, c)).toBe(Math.fround(tableJ.get(ids[r], c) + (withBias ? biasJ.get(0, c) : 0)));
        }
      }
    }
  });

  it('scatterAddRows: rows summed into their id in row order, the skipped id left alone — the js bits', () => {
    const rng = new Rng(6);
    for (const cols of widths) {
      for (const skip of [-1, 2]) {
        const [table, tableJ] = pair(rng, 9, cols), [x, xJ] = pair(rng, 31, cols);
        const ids = randomIds(rng, 31, 9);
        ids[5] = 2;
        const before = tableJ.clone();
        onWasm(() => scatterAddRowsKernel()(31, cols, table, ids, x, skip));
        scatterAddRowsJs(31, cols, tableJ, ids, xJ, skip);
        expect(sameBits(table, tableJ)).toBe(true);
        for (let c = 0; c < cols; c++) {
          if (skip === 2) expect(table.get(2, c)).toBe(before.get(2, c));
          let want = before.get(ids[0], c);
          for (let r = 0; r < 31; r++) if (ids[r] === ids[0]) want = Math.fround(want + xJ.get(r, c));
          if (ids[0] !== skip) expect(table.get(ids[0], c)).toBe(want);
        }
      }
    }
  });

  it('addRows: out += x — the js bits', () => {
    const rng = new Rng(7);
    for (const cols of widths) {
      const [out, outJ] = pair(rng, 13, cols), [x, xJ] = pair(rng, 13, cols);
      const before = outJ.clone();
      onWasm(() => addRowsKernel()(13, cols, out, x));
      addRowsJs(13, cols, outJ, xJ);
      expect(sameBits(out, outJ)).toBe(true);
      expect(out.get(12, cols - 1)).toBe(Math.fround(before.get(12, cols - 1) + xJ.get(12, cols - 1)));
    }
  });

  it('operands outside the heap run the js kernels', () => {
    const rng = new Rng(8);
    const table = new Matrix(4, 8, new Float32Array(32)), out = new Matrix(3, 8, new Float32Array(24));
    for (let i = 0; i < table.data.length; i++) table.data[i] = rng.normal();
    const js = wasm.vectors.jsCalls;
    onWasm(() => gatherRowsKernel()(3, 8, out, table, new Int32Array([3, 0, 3]), null));
    expect(wasm.vectors.jsCalls).toBe(js + 1);
    expect(out.get(2, 5)).toBe(table.get(3, 5));
  });
});
