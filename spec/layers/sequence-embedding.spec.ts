/**
 * Ids read through an embedding folded into the input projection (layers/sequence.ts, `embedding`):
 * P = E·W_xᵀ gathered per id instead of X = E[ids] multiplied by W_x. Against the X path with
 * X built row by row from E (the independent reference): the same outputs, recurrent and input
 * gradients, and ∂L/∂E = the rows of ∂L/∂X summed per id — up to the order of the sums — in
 * float64 and float32, with a ragged mask; then the stack's plumbing and its errors, and the
 * embedding's backward from summed rows.
 */
import { describe, expect, it } from 'vitest';
import { Matrix, type DType } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import type { RecurrentCell } from '../../layers/cells/cell.js';
import { createCell } from '../../layers/cells/create-cell.js';
import { createEmbedding, embeddingBackwardFromRows, embeddingZeroGrad, touchedRows } from '../../layers/embedding.js';
import { createSequenceWorkspace, sequenceBackward, sequenceForward, zeroGrads } from '../../layers/sequence.js';
import { createStack, createStackedWorkspace, stackedBackward, stackedForward } from '../../layers/stacked.js';
import { uniformMatrix } from './cells-reference.js';

const T = 6, B = 3, V = 5, D = 4, H = 3;

function tokens(rng: Rng): Int32Array {
  const out = new Int32Array(T * B);
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(rng.uniformIn(0, V - 1)); // id V − 1 never comes
  return out;
}

/** X = E[ids], row by row. */
function lookup(E: Matrix, ids: Int32Array): Matrix {
  const x = Matrix.zeros(ids.length, E.cols, E.dtype);
  ids.forEach((id, r) => { for (let c = 0; c < E.cols; c++) x.set(r, c, E.get(id, c)); });
  return x;
}

function relDiff(a: Matrix, b: Matrix): number {
  let worst = 0, scale = 0;
  for (let r = 0; r < a.rows; r++) {
    for (let c = 0; c < a.cols; c++) {
      worst = Math.max(worst, Math.abs(a.get(r, c) - b.get(r, c)));
      scale = Math.max(scale, Math.abs(b.get(r, c)));
    }
  }
  return scale === 0 ? worst : worst / scale;
}

function cloneGrads(cell: RecurrentCell): Record<string, Matrix> {
  return Object.fromEntries(Object.entries(cell.grads).map(([k, g]) => [k, g.clone()]));
}

function raggedMask(dtype: DType): Matrix {
  const mask = Matrix.zeros(T, B, dtype);
  mask.data.fill(1);
  mask.set(5, 1, 0); mask.set(4, 1, 0); mask.set(5, 2, 0);
  return mask;
}

describe('sequence runner: ids through a folded embedding', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    const tol = dtype === 'float64' ? 1e-12 : 1e-5;
    for (const kind of ['rnn', 'lstm', 'gru-reset-after', 'gru'] as const) {
      it(`${kind} ${dtype}: outputs, cell gradients and ∂L/∂E as E[ids] through W_x (ragged mask)`, () => {
        const rng = new Rng(9);
        const cell = createCell({ kind, inputSize: D, hiddenSize: H }, { rng, dtype });
        const E = uniformMatrix(rng, V, D, 1, dtype);
        const ids = tokens(rng);
        const dOut = uniformMatrix(rng, T * B, H, 1, dtype);
        const mask = raggedMask(dtype);
        const ws = createSequenceWorkspace(cell, T, B);

        zeroGrads(cell);
        const x = lookup(E, ids);
        const want = sequenceForward(cell, ws, x, { mask }).outputs.clone();
        const dx = sequenceBackward(cell, ws, dOut).dx.clone();
        const wantGrads = cloneGrads(cell);
        const wantDE = Matrix.zeros(V, D, dtype);
        ids.forEach((id, r) => { for (let c = 0; c < D; c++) wantDE.set(id, c, wantDE.get(id, c) + dx.get(r, c)); });

        zeroGrads(cell);
        const got = sequenceForward(cell, ws, ids, { mask, embedding: E }).outputs.clone();
        const result = sequenceBackward(cell, ws, dOut);
        expect(result.dx).toBeNull();
        expect(relDiff(got, want)).toBeLessThan(tol);
        for (const [name, g] of Object.entries(cell.grads)) expect(relDiff(g, wantGrads[name]), name).toBeLessThan(tol);
        expect(relDiff(result.dEmbedding as Matrix, wantDE)).toBeLessThan(tol);
        for (let c = 0; c < D; c++) expect((result.dEmbedding as Matrix).get(V - 1, c)).toBe(0); // the id that never came

        const noInput = sequenceBackward(cell, ws, dOut, { inputGradient: false });
        expect(noInput.dEmbedding).toBeNull();
      });
    }
  }

  it('names a wrong embedding width and an id past its rows', () => {
    const rng = new Rng(2);
    const cell = createCell({ kind: 'lstm', inputSize: D, hiddenSize: H }, { rng, dtype: 'float64' });
    const ws = createSequenceWorkspace(cell, T, B);
    const ids = tokens(rng);
    expect(() => sequenceForward(cell, ws, ids, { embedding: Matrix.zeros(V, D + 1, 'float64') })).toThrow(/sequenceForward: expected the embedding to be \[V, 4\] float64/);
    ids[7] = V;
    expect(() => sequenceForward(cell, ws, ids, { embedding: Matrix.zeros(V, D, 'float64') })).toThrow(/token ids in \[0, 5\).*got 5 at position 7/);
  });
});

describe('stack: an embedding folded into its first layer', () => {
  it('a 2-layer stack gives the E[ids] outputs and ∂L/∂E', () => {
    const rng = new Rng(3);
    const cells = [
      createCell({ kind: 'lstm', inputSize: D, hiddenSize: H }, { rng, dtype: 'float64' }),
      createCell({ kind: 'rnn', inputSize: H, hiddenSize: H }, { rng, dtype: 'float64' }),
    ];
    const stack = createStack(cells.map((cell) => ({ cell })));
    const ws = createStackedWorkspace(stack, T, B);
    const E = uniformMatrix(rng, V, D);
    const ids = tokens(rng);
    const dOut = uniformMatrix(rng, T * B, H);
    const want = stackedForward(stack, ws, lookup(E, ids)).outputs.clone();
    const dx = (stackedBackward(stack, ws, dOut).dx as Matrix).clone();
    const got = stackedForward(stack, ws, ids, { embedding: E }).outputs.clone();
    const back = stackedBackward(stack, ws, dOut);
    expect(relDiff(got, want)).toBeLessThan(1e-12);
    expect(back.dx).toBeNull();
    const wantDE = Matrix.zeros(V, D, 'float64');
    ids.forEach((id, r) => { for (let c = 0; c < D; c++) wantDE.set(id, c, wantDE.get(id, c) + dx.get(r, c)); });
    expect(relDiff(back.dEmbedding as Matrix, wantDE)).toBeLessThan(1e-12);
  });

  it('refuses it under variational dropout (which drops E[ids] itself)', () => {
    const rng = new Rng(4);
    const cell = createCell({ kind: 'lstm', inputSize: D, hiddenSize: H }, { rng, dtype: 'float64' });
    const stack = createStack([{ cell }], { dropout: { p: 0.3, mode: 'variational' } });
    const ws = createStackedWorkspace(stack, T, B);
    expect(() => stackedForward(stack, ws, tokens(rng), { embedding: uniformMatrix(rng, V, D) })).toThrow(/stackedForward: an embedding folded into the first layer needs a stack that does not drop its input, got variational dropout/);
  });
});

describe('embeddingBackwardFromRows', () => {
  it('adds each distinct id\'s row once (not the padding row), marks them touched, accumulates across calls', () => {
    const rng = new Rng(5);
    const emb = createEmbedding({ vocabSize: V, dim: D, paddingIdx: 1 }, { rng, dtype: 'float64' });
    const dE = uniformMatrix(rng, V, D);
    const ids = Int32Array.from([3, 1, 3, 0, 3]);
    embeddingBackwardFromRows(emb, ids, dE);
    embeddingBackwardFromRows(emb, ids, dE);
    for (let c = 0; c < D; c++) {
      expect(emb.grad.get(3, c)).toBe(2 * dE.get(3, c));
      expect(emb.grad.get(0, c)).toBe(2 * dE.get(0, c));
      expect(emb.grad.get(1, c)).toBe(0);
      expect(emb.grad.get(2, c)).toBe(0);
    }
    expect(Array.from(touchedRows(emb)).sort()).toEqual([0, 3]);
    embeddingZeroGrad(emb);
    expect(emb.grad.data.every((v) => v === 0)).toBe(true);
    expect(touchedRows(emb).length).toBe(0);
  });
});
