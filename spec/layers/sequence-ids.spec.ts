/**
 * One-hot input by token ids (layers/sequence.ts, layers/stacked.ts): the runner gathers rows of
 * W_xᵀ instead of multiplying one-hot rows, and scatter-adds dXP into dW_x. It must give what the
 * one-hot GEMM path gives: the same forward bits (1·w plus zeros is w), the same dXP and therefore
 * the same recurrent gradients, and dW_x equal up to the order of the sums.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Matrix, type DType } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import { getBackend, setBackend } from '../../engine/backend.js';
import { initWasmBackend } from '../../engine/wasm/index.js';
import type { RecurrentCell } from '../../layers/cells/cell.js';
import { CELL_KINDS, createCell } from '../../layers/cells/create-cell.js';
import { createSequenceWorkspace, sequenceBackward, sequenceForward, zeroGrads } from '../../layers/sequence.js';
import {
  createStack, createStackedWorkspace, stackedBackward, stackedForward, stackedZeroGrads,
} from '../../layers/stacked.js';
import { uniformMatrix } from './cells-reference.js';

const T = 5, B = 3, V = 7, H = 4;

function ids(rng: Rng): Int32Array {
  const out = new Int32Array(T * B);
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(rng.uniformIn(0, V));
  out[2] = V - 1; // the last column is read too
  return out;
}

function oneHot(tokens: Int32Array, dtype: DType): Matrix {
  const x = Matrix.zeros(tokens.length, V, dtype);
  tokens.forEach((id, r) => x.set(r, id, 1));
  return x;
}

function raggedMask(dtype: DType): Matrix {
  const mask = Matrix.zeros(T, B, dtype);
  mask.data.fill(1);
  mask.set(4, 1, 0); mask.set(3, 1, 0); mask.set(4, 2, 0);
  return mask;
}

/** Largest |a − b| relative to the largest |a| (0 for equal matrices). */
function relDiff(a: Matrix, b: Matrix): number {
  let worst = 0, scale = 0;
  for (let r = 0; r < a.rows; r++) {
    for (let c = 0; c < a.cols; c++) {
      worst = Math.max(worst, Math.abs(a.get(r, c) - b.get(r, c)));
      scale = Math.max(scale, Math.abs(a.get(r, c)));
    }
  }
  return scale === 0 ? worst : worst / scale;
}

function cloneGrads(cell: RecurrentCell): Record<string, Matrix> {
  const out: Record<string, Matrix> = {};
  for (const [k, g] of Object.entries(cell.grads)) out[k] = g.clone();
  return out;
}

for (const backend of ['js', 'wasm']) {
  describe(`one-hot input by ids (${backend} backend)`, () => {
    let previous = 'js';
    beforeAll(async () => {
      previous = getBackend().name;
      if (backend === 'wasm') await initWasmBackend();
      setBackend(backend);
    });
    afterAll(() => { setBackend(previous); });

    for (const dtype of ['float64', 'float32'] as const) {
      for (const kind of CELL_KINDS) {
        it(`${kind} ${dtype}: same outputs and recurrent gradients as the one-hot GEMM, dW_x up to summation order (ragged mask)`, () => {
          const rng = new Rng(11);
          const cell = createCell({ kind, inputSize: V, hiddenSize: H }, { rng, dtype });
          const tokens = ids(rng);
          const dOutTyped = uniformMatrix(rng, T * B, H, 1, dtype);
          const mask = raggedMask(dtype);
          const ws = createSequenceWorkspace(cell, T, B);

          zeroGrads(cell);
          const dense = sequenceForward(cell, ws, oneHot(tokens, dtype), { mask }).outputs.clone();
          sequenceBackward(cell, ws, dOutTyped, { inputGradient: false });
          const denseGrads = cloneGrads(cell);

          zeroGrads(cell);
          const gathered = sequenceForward(cell, ws, tokens, { mask }).outputs.clone();
          sequenceBackward(cell, ws, dOutTyped, { inputGradient: false });

          expect(Array.from(gathered.data)).toEqual(Array.from(dense.data));
          for (const [name, g] of Object.entries(cell.grads)) {
            if (name === 'W_x') {
              expect(relDiff(g, denseGrads.W_x)).toBeLessThan(dtype === 'float64' ? 1e-14 : 1e-6);
            } else {
              expect(Array.from(g.data), name).toEqual(Array.from(denseGrads[name].data));
            }
          }
          // Columns of W_x no id touched get no gradient.
          const used = new Set(tokens);
          for (let d = 0; d < V; d++) {
            if (used.has(d)) continue;
            for (let g = 0; g < cell.gateWidth; g++) expect(cell.grads.W_x.get(g, d)).toBe(0);
          }
        });
      }
    }
  });
}

describe('one-hot input by ids: fewer rows than D (the column path)', () => {
  for (const kind of ['lstm', 'gru-reset-after'] as const) {
    it(`${kind}: T·B = 4 < D = 7 gives the one-hot GEMM's outputs and gradients`, () => {
      const rng = new Rng(21);
      const cell = createCell({ kind, inputSize: V, hiddenSize: H }, { rng, dtype: 'float64' });
      const tokens = Int32Array.from([3, 6, 3, 0]);
      const x = Matrix.zeros(4, V, 'float64');
      tokens.forEach((id, r) => x.set(r, id, 1));
      const dOut = uniformMatrix(rng, 4, H);
      const ws = createSequenceWorkspace(cell, 4, 1);
      zeroGrads(cell);
      const dense = sequenceForward(cell, ws, x).outputs.clone();
      sequenceBackward(cell, ws, dOut, { inputGradient: false });
      const denseGrads = cloneGrads(cell);
      zeroGrads(cell);
      const gathered = sequenceForward(cell, ws, tokens).outputs.clone();
      sequenceBackward(cell, ws, dOut, { inputGradient: false });
      expect(Array.from(gathered.data)).toEqual(Array.from(dense.data));
      for (const [name, g] of Object.entries(cell.grads)) expect(relDiff(g, denseGrads[name]), name).toBeLessThan(1e-14);
      expect(cell.grads.W_x.get(0, 5)).toBe(0); // id 5 never came
    });
  }
});

describe('one-hot input by ids: stacked and errors', () => {
  it('a 2-layer stack reads ids in its first layer like one-hot rows', () => {
    const rng = new Rng(3);
    const cells = [
      createCell({ kind: 'lstm', inputSize: V, hiddenSize: H }, { rng, dtype: 'float64' }),
      createCell({ kind: 'gru', inputSize: H, hiddenSize: H }, { rng, dtype: 'float64' }),
    ];
    const stack = createStack(cells.map((cell) => ({ cell })));
    const ws = createStackedWorkspace(stack, T, B);
    const tokens = ids(rng);
    const dOut = uniformMatrix(rng, T * B, H);

    stackedZeroGrads(stack);
    const dense = stackedForward(stack, ws, oneHot(tokens, 'float64')).outputs.clone();
    stackedBackward(stack, ws, dOut, { inputGradient: false });
    const denseGrads = cells.map(cloneGrads);

    stackedZeroGrads(stack);
    const gathered = stackedForward(stack, ws, tokens).outputs.clone();
    stackedBackward(stack, ws, dOut, { inputGradient: false });

    expect(Array.from(gathered.data)).toEqual(Array.from(dense.data));
    cells.forEach((cell, l) => {
      for (const [name, g] of Object.entries(cell.grads)) expect(relDiff(g, denseGrads[l][name]), `layer ${l} ${name}`).toBeLessThan(1e-14);
    });
    expect(() => stackedBackward(stack, ws, dOut)).toThrow(/stackedBackward: the last forward read token ids .* expected inputGradient: false/);
  });

  it('rejects ids out of range, the wrong count, and an input gradient of ids', () => {
    const rng = new Rng(5);
    const cell = createCell({ kind: 'rnn', inputSize: V, hiddenSize: H }, { rng, dtype: 'float64' });
    const ws = createSequenceWorkspace(cell, T, B);
    const bad = ids(rng);
    bad[4] = V;
    expect(() => sequenceForward(cell, ws, bad)).toThrow(/sequenceForward: expected token ids in \[0, 7\) \(the cell's input size\), got 7 at position 4/);
    expect(() => sequenceForward(cell, ws, new Int32Array(B * T + 1))).toThrow(/sequenceForward: expected x to be \[T·B, D\] or an Int32Array of T·B token ids with B = 3 and 1 ≤ T ≤ 5, got 16 ids/);
    sequenceForward(cell, ws, ids(rng));
    expect(() => sequenceBackward(cell, ws, null)).toThrow(/sequenceBackward: the last forward read token ids .* expected inputGradient: false/);
  });
});
