import { describe, expect, it } from 'vitest';
import { Matrix } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import type { CellKind, RecurrentCell } from '../../layers/cells/cell.js';
import { createCell } from '../../layers/cells/create-cell.js';
import { createGruCell } from '../../layers/cells/gru.js';
import { createResetAfterGruCell } from '../../layers/cells/gru-reset-after.js';
import { createSimpleGruCell } from '../../layers/cells/gru-simple.js';
import { createLstmCell } from '../../layers/cells/lstm.js';
import { createPeepholeLstmCell } from '../../layers/cells/lstm-peephole.js';
import { createRnnCell } from '../../layers/cells/rnn.js';
import {
  copyStateInto, createSequenceWorkspace, detachState, sequenceBackward, sequenceForward, zeroGrads, zeroState,
} from '../../layers/sequence.js';
import { gradCheck } from '../../training/check/gradcheck.js';
import { uniformMatrix } from './cells-reference.js';

const D = 3, H = 4, B = 2;

function makeCell(kind: CellKind, seed: number): RecurrentCell {
  const rng = new Rng(seed);
  const cell = createCell({ kind, inputSize: D, hiddenSize: H }, { rng, dtype: 'float64' });
  for (const p of Object.values(cell.params)) p.data.set(uniformMatrix(rng, p.rows, p.cols, 0.8).data);
  return cell;
}

function weighted(m: Matrix, w: Matrix): number {
  let s = 0;
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) s += m.get(i, j) * w.get(i, j);
  return s;
}

function gradsCopy(cell: RecurrentCell): Record<string, Matrix> {
  return Object.fromEntries(Object.entries(cell.grads).map(([k, g]) => [k, g.clone()]));
}

/** Rows of a then rows of b: time-major sequences concatenated in time. */
function concatRows(a: Matrix, b: Matrix): Matrix {
  return Matrix.fromArray([...a.toArray(), ...b.toArray()], 'float64');
}

describe('cells: truncated BPTT', () => {
  const T1 = 4, T2 = 5;
  const rng = new Rng(41);
  const cell = makeCell('lstm', 42);
  const x1 = uniformMatrix(rng, T1 * B, D);
  const x2 = uniformMatrix(rng, T2 * B, D);
  const h0 = [uniformMatrix(rng, B, H, 0.8), uniformMatrix(rng, B, H, 0.8)];
  const w2 = uniformMatrix(rng, T2 * B, H); // the loss sits on chunk 2's outputs only

  const ws1 = createSequenceWorkspace(cell, T1, B);
  const ws2 = createSequenceWorkspace(cell, T2, B);
  const carried = detachState(sequenceForward(cell, ws1, x1, { h0 }).finalState);
  zeroGrads(cell);
  const chunk2 = sequenceForward(cell, ws2, x2, { h0: carried });
  const outputs2 = chunk2.outputs.clone();
  const { dh0 } = sequenceBackward(cell, ws2, w2);
  const truncated = gradsCopy(cell);
  const boundary = dh0.map((s) => s.clone());

  it('chunk 2 started from the carried state continues the sequence exactly (forward)', () => {
    const full = sequenceForward(cell, createSequenceWorkspace(cell, T1 + T2, B), concatRows(x1, x2), { h0 });
    for (let r = 0; r < T2 * B; r++) {
      for (let j = 0; j < H; j++) expect(outputs2.get(r, j)).toBeCloseTo(full.outputs.get(T1 * B + r, j), 14);
    }
  });

  it("chunk 2's gradient is the gradient of its loss with the carried state held constant", () => {
    const problem = {
      params: cell.params,
      loss: () => weighted(sequenceForward(cell, ws2, x2, { h0: carried }).outputs, w2),
      gradients: () => truncated,
    };
    for (const row of gradCheck(problem)) expect(row.relError, row.name).toBeLessThan(1e-7);
  });

  it('dh0 is returned (non-zero) but not propagated: full BPTT = truncated + chunk 1 driven by dh0', () => {
    expect(boundary[0].data.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    // Full BPTT over both chunks, loss on chunk 2's outputs only.
    const wsFull = createSequenceWorkspace(cell, T1 + T2, B);
    zeroGrads(cell);
    sequenceForward(cell, wsFull, concatRows(x1, x2), { h0 });
    sequenceBackward(cell, wsFull, concatRows(Matrix.zeros(T1 * B, H, 'float64'), w2));
    const full = gradsCopy(cell);
    // Truncated misses the path through chunk 1 …
    const gap = Math.max(...Array.from(full.W_a.data, (v, i) => Math.abs(v - truncated.W_a.data[i])));
    expect(gap).toBeGreaterThan(1e-3);
    // … which is exactly chunk 1's backward fed with dFinal = chunk 2's dh0.
    zeroGrads(cell);
    sequenceForward(cell, ws1, x1, { h0 });
    sequenceBackward(cell, ws1, null, { dFinal: boundary });
    for (const name of Object.keys(full)) {
      full[name].data.forEach((v, i) => expect(v).toBeCloseTo(truncated[name].data[i] + cell.grads[name].data[i], 12));
    }
  });

  it('detachState copies: a later forward on the same workspace does not change the carried state', () => {
    const before = carried.map((s) => s.toArray());
    sequenceForward(cell, ws1, x2.rowView(0, T1 * B), { h0 });
    expect(carried.map((s) => s.toArray())).toEqual(before);
  });

  it('finalState can be fed back as h0 of the same workspace (copied before it is overwritten)', () => {
    const ws = createSequenceWorkspace(cell, T1, B);
    const xa = x1, xb = uniformMatrix(new Rng(43), T1 * B, D);
    const first = sequenceForward(cell, ws, xa, { h0 });
    const second = sequenceForward(cell, ws, xb, { h0: first.finalState }).outputs.clone();
    const reference = sequenceForward(cell, createSequenceWorkspace(cell, 2 * T1, B), concatRows(xa, xb), { h0 }).outputs;
    for (let r = 0; r < T1 * B; r++) {
      for (let j = 0; j < H; j++) expect(second.get(r, j)).toBeCloseTo(reference.get(T1 * B + r, j), 14);
    }
  });

  it('copyStateInto and zeroState', () => {
    const state = zeroState(cell, B);
    expect(state.map((s) => s.shape)).toEqual([[B, H], [B, H]]);
    copyStateInto(state, carried);
    expect(state[1].toArray()).toEqual(carried[1].toArray());
    expect(() => copyStateInto(state, [carried[0]])).toThrow(/copyStateInto: expected 2 state matrices, got 1/);
  });
});

describe('cells: workspace reuse', () => {
  for (const kind of ['gru', 'lstm-peephole', 'gru-reset-after'] as CellKind[]) {
    it(`${kind}: repeated and interleaved runs on one workspace give bit-identical results`, () => {
      const cell = makeCell(kind, 51);
      const rng = new Rng(52);
      const T = 5;
      const xa = uniformMatrix(rng, T * B, D), xb = uniformMatrix(rng, T * B, D);
      const dOut = uniformMatrix(rng, T * B, H);
      const mask = Matrix.fromArray([[1, 1], [1, 1], [1, 1], [1, 0], [1, 0]], 'float64');
      const run = (ws: ReturnType<typeof createSequenceWorkspace>, x: Matrix) => {
        zeroGrads(cell);
        const out = sequenceForward(cell, ws, x, { mask }).outputs.toArray();
        const dx = sequenceBackward(cell, ws, dOut).dx.toArray();
        return { out, dx, grads: Object.values(cell.grads).map((g) => Array.from(g.data)) };
      };
      const ws = createSequenceWorkspace(cell, T, B);
      const first = run(ws, xa);
      run(ws, xb);
      expect(run(ws, xa)).toEqual(first);
      expect(run(createSequenceWorkspace(cell, T, B), xa)).toEqual(first);
    });
  }

  it('a workspace for T steps runs a shorter sequence exactly like a workspace of that length', () => {
    const cell = makeCell('lstm', 53);
    const rng = new Rng(54);
    const x = uniformMatrix(rng, 3 * B, D);
    const dOut = uniformMatrix(rng, 3 * B, H);
    const run = (ws: ReturnType<typeof createSequenceWorkspace>) => {
      zeroGrads(cell);
      const { outputs, finalState } = sequenceForward(cell, ws, x);
      const res = { out: outputs.toArray(), final: finalState.map((s) => s.toArray()) };
      const { dx, dh0 } = sequenceBackward(cell, ws, dOut);
      return { ...res, dx: dx.toArray(), dh0: dh0.map((s) => s.toArray()), dW: Array.from(cell.grads.W_a.data) };
    };
    const short = run(createSequenceWorkspace(cell, 3, B));
    const long = run(createSequenceWorkspace(cell, 8, B));
    expect(long).toEqual(short);
    expect(long.out.length).toBe(3 * B);
  });

  it('inputGradient: false skips dx and leaves the parameter gradients unchanged', () => {
    const cell = makeCell('rnn', 55);
    const rng = new Rng(56);
    const x = uniformMatrix(rng, 4 * B, D), dOut = uniformMatrix(rng, 4 * B, H);
    const ws = createSequenceWorkspace(cell, 4, B);
    zeroGrads(cell);
    sequenceForward(cell, ws, x);
    sequenceBackward(cell, ws, dOut);
    const withDx = gradsCopy(cell);
    zeroGrads(cell);
    sequenceForward(cell, ws, x);
    const res = sequenceBackward(cell, ws, dOut, { inputGradient: false });
    expect(res.dx).toBeNull();
    for (const k of Object.keys(withDx)) expect(Array.from(cell.grads[k].data)).toEqual(Array.from(withDx[k].data));
  });

  it('backward accumulates into the gradient buffers (two backward passes = twice the gradient)', () => {
    const cell = makeCell('gru-simple', 57);
    const rng = new Rng(58);
    const x = uniformMatrix(rng, 3 * B, D), dOut = uniformMatrix(rng, 3 * B, H);
    const ws = createSequenceWorkspace(cell, 3, B);
    zeroGrads(cell);
    sequenceForward(cell, ws, x);
    sequenceBackward(cell, ws, dOut);
    const once = gradsCopy(cell);
    sequenceBackward(cell, ws, dOut);
    for (const k of Object.keys(once)) once[k].data.forEach((v, i) => expect(cell.grads[k].data[i]).toBeCloseTo(2 * v, 13));
  });
});

describe('cells: bad input throws an error naming the operation', () => {
  const cell = makeCell('lstm', 61);
  const ws = createSequenceWorkspace(cell, 3, B);
  const x = Matrix.zeros(3 * B, D, 'float64');

  it('sequenceForward', () => {
    expect(() => sequenceForward(cell, ws, Matrix.zeros(3 * B, D + 1, 'float64')))
      .toThrow(/sequenceForward: expected x to be \[T·B, D\] with B = 2, D = 3 and 1 ≤ T ≤ 3, got \[6, 4\]/);
    expect(() => sequenceForward(cell, ws, Matrix.zeros(5, D, 'float64'))).toThrow(/sequenceForward: .*got \[5, 3\]/);
    expect(() => sequenceForward(cell, ws, Matrix.zeros(4 * B, D, 'float64'))).toThrow(/sequenceForward: .*T ≤ 3, got \[8, 3\]/);
    expect(() => sequenceForward(cell, ws, Matrix.zeros(3 * B, D))).toThrow(/sequenceForward: expected x to be float64 like the cell, got float32/);
    expect(() => sequenceForward(cell, ws, x, { h0: [Matrix.zeros(B, H, 'float64')] }))
      .toThrow(/sequenceForward: expected h0 to hold 2 state matrices \(\[a0, c0\]\), got 1/);
    expect(() => sequenceForward(cell, ws, x, { h0: [Matrix.zeros(B, H, 'float64'), Matrix.zeros(B + 1, H, 'float64')] }))
      .toThrow(/sequenceForward: expected h0\[1\] to be \[2, 4\], got \[3, 4\]/);
    const other = makeCell('lstm', 62);
    expect(() => sequenceForward(other, ws, x)).toThrow(/sequenceForward: expected a workspace created for this lstm cell/);
  });

  it('sequenceBackward', () => {
    const fresh = createSequenceWorkspace(cell, 3, B);
    expect(() => sequenceBackward(cell, fresh, null)).toThrow(/sequenceBackward: expected a sequenceForward on this workspace first/);
    sequenceForward(cell, fresh, x);
    expect(() => sequenceBackward(cell, fresh, Matrix.zeros(3 * B, H + 1, 'float64')))
      .toThrow(/sequenceBackward: expected dOutputs to be \[6, 4\], got \[6, 5\]/);
    expect(() => sequenceBackward(cell, fresh, null, { dFinal: [Matrix.zeros(B, H, 'float64')] }))
      .toThrow(/sequenceBackward: expected dFinal to hold 2 matrices, got 1/);
  });

  it('cell constructors and the workspace', () => {
    const rng = new Rng(0);
    expect(() => createRnnCell({ inputSize: 2, hiddenSize: 3, activation: 'sigmoid' as 'tanh' }, { rng }))
      .toThrow(/createRnnCell: expected activation 'tanh' or 'relu', got 'sigmoid'/);
    expect(() => createLstmCell({ inputSize: 0, hiddenSize: 3 }, { rng })).toThrow(/createLstmCell: expected positive integer inputSize and hiddenSize, got 0 and 3/);
    expect(() => createGruCell({ inputSize: 2, hiddenSize: 1.5 }, { rng })).toThrow(/createGruCell: expected positive integer inputSize and hiddenSize, got 2 and 1.5/);
    expect(() => createSimpleGruCell({ inputSize: 2, hiddenSize: 3, init: 'he' as 'xavier' }, { rng }))
      .toThrow(/createSimpleGruCell: expected init 'pytorch' or 'xavier', got 'he'/);
    expect(() => createResetAfterGruCell({ inputSize: 2, hiddenSize: 3 }, { rng, dtype: 'float16' as 'float32' }))
      .toThrow(/createResetAfterGruCell: expected dtype float32 or float64, got 'float16'/);
    expect(() => createPeepholeLstmCell({ inputSize: 2, hiddenSize: 3, forgetBias: NaN }, { rng }))
      .toThrow(/createPeepholeLstmCell: expected a finite forgetBias, got NaN/);
    expect(() => createCell({ kind: 'lstm', inputSize: 2, hiddenSize: 3, init: 'irnn' }, { rng })).toThrow(/createCell: expected init 'irnn' only for kind 'rnn'/);
    expect(() => createCell({ kind: 'transformer' as CellKind, inputSize: 2, hiddenSize: 3 }, { rng })).toThrow(/createCell: expected a kind among rnn, gru/);
    expect(() => createSequenceWorkspace(cell, 0, 2)).toThrow(/createSequenceWorkspace: expected positive integer steps and batch, got T=0, B=2/);
  });
});
