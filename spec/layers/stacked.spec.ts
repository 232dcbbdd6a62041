import { describe, expect, it } from 'vitest';
import { Matrix } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import type { CellKind, RecurrentCell } from '../../layers/cells/cell.js';
import { createCell } from '../../layers/cells/create-cell.js';
import { createSequenceWorkspace, sequenceBackward, sequenceForward, zeroGrads } from '../../layers/sequence.js';
import {
  createStack, createStackedRnn, createStackedWorkspace, stackedBackward, stackedForward, stackedParameters,
  stackedZeroGrads,
} from '../../layers/stacked.js';
import { refGru, refLstm, refRnn, rowOf, uniformMatrix, type Vec } from './cells-reference.js';

const T = 5, B = 3;
const LENGTHS = [5, 2, 4];

function makeCell(kind: CellKind, D: number, H: number, rng: Rng): RecurrentCell {
  const cell = createCell({ kind, inputSize: D, hiddenSize: H }, { rng, dtype: 'float64' });
  for (const p of Object.values(cell.params)) p.data.set(uniformMatrix(rng, p.rows, p.cols, 0.8).data);
  return cell;
}

function lengthMask(lengths: number[]): Matrix {
  return Matrix.fromArray(Array.from({ length: T }, (_, t) => lengths.map((len) => (t < len ? 1 : 0))), 'float64');
}

const snapshot = (grads: Record<string, Matrix>): Record<string, number[]> =>
  Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, Array.from(g.data)]));

describe('wrappers: stacked RNN with L = 1 is the plain runner', () => {
  const rng = new Rng(11);
  const cell = makeCell('lstm', 3, 4, rng);
  const x = uniformMatrix(rng, T * B, 3);
  const h0 = [uniformMatrix(rng, B, 4, 0.5), uniformMatrix(rng, B, 4, 0.5)];
  const mask = lengthMask(LENGTHS);
  const w = uniformMatrix(rng, T * B, 4);
  const wFinal = [uniformMatrix(rng, B, 4), uniformMatrix(rng, B, 4)];

  it('gives the same outputs, final state, dx, dh0 and parameter gradients', () => {
    const plainWs = createSequenceWorkspace(cell, T, B);
    zeroGrads(cell);
    const plain = sequenceForward(cell, plainWs, x, { h0, mask });
    const outputs = Array.from(plain.outputs.data);
    const final = plain.finalState.map((s) => Array.from(s.data));
    const back = sequenceBackward(cell, plainWs, w, { dFinal: wFinal });
    const dx = Array.from(back.dx.data);
    const dh0 = back.dh0.map((s) => Array.from(s.data));
    const grads = snapshot(cell.grads);

    const stack = createStack([{ cell }]);
    const ws = createStackedWorkspace(stack, T, B);
    stackedZeroGrads(stack);
    const r = stackedForward(stack, ws, x, { h0: [{ forward: h0 }], mask });
    expect(Array.from(r.outputs.data)).toEqual(outputs);
    expect(r.finalState[0].forward.map((s) => Array.from(s.data))).toEqual(final);
    const b = stackedBackward(stack, ws, w, { dFinal: [{ forward: wFinal }] });
    expect(Array.from((b.dx as Matrix).data)).toEqual(dx);
    expect(b.dh0[0].forward.map((s) => Array.from(s.data))).toEqual(dh0);
    expect(snapshot(cell.grads)).toEqual(grads);
  });
});

describe('wrappers: stacked RNN of depth 3 follows a[l]⟨t⟩ = f_l(a[l]⟨t−1⟩, y[l−1]⟨t⟩)', () => {
  const rng = new Rng(5);
  const c0 = makeCell('rnn', 3, 4, rng);
  const c1 = makeCell('gru', 4, 4, rng);
  const c2 = makeCell('lstm', 4, 2, rng);
  const stack = createStack([{ cell: c0 }, { cell: c1, residual: true }, { cell: c2 }]);
  const x = uniformMatrix(rng, T * B, 3);
  const mask = lengthMask(LENGTHS);
  const ws = createStackedWorkspace(stack, T, B);
  const r = stackedForward(stack, ws, x, { mask });

  it('matches the notes\' equations per sequence, with y[1] = a[1] + y[0] (skip), 0 at padding', () => {
    LENGTHS.forEach((len, b) => {
      const xs: Vec[] = Array.from({ length: len }, (_, t) => rowOf(x, t, b, B));
      const y0 = refRnn(c0.params, 4, 'tanh', xs, [0, 0, 0, 0]).outputs;
      const a1 = refGru(c1.params, 4, y0, [0, 0, 0, 0]).outputs;
      const y1 = a1.map((a, t) => a.map((v, j) => v + y0[t][j]));
      const y2 = refLstm(c2.params, 2, false, y1, [0, 0], [0, 0]);
      for (let t = 0; t < T; t++) {
        const want = t < len ? y2.outputs[t] : [0, 0];
        rowOf(r.outputs, t, b, B).forEach((v, j) => expect(v).toBeCloseTo(want[j], 12));
      }
      r.finalState[2].forward[1].toArray()[b].forEach((v, j) => expect(v).toBeCloseTo(y2.final[1][j], 12));
    });
  });

  it('backward with the loss on final states only reaches the input of every layer', () => {
    stackedZeroGrads(stack);
    stackedForward(stack, ws, x, { mask });
    const dFinal = [undefined, undefined, { forward: [Matrix.zeros(B, 2, 'float64'), uniformMatrix(rng, B, 2)] }];
    const b = stackedBackward(stack, ws, null, { dFinal });
    // Padded steps of x get no gradient; the valid ones do.
    for (let t = 0; t < T; t++) {
      for (let s = 0; s < B; s++) {
        const norm = rowOf(b.dx as Matrix, t, s, B).reduce((acc, v) => acc + Math.abs(v), 0);
        if (t < LENGTHS[s]) expect(norm).toBeGreaterThan(0);
        else expect(norm).toBe(0);
      }
    }
    expect(Array.from(c0.grads.W_x.data).some((v) => v !== 0)).toBe(true);
  });
});

describe('wrappers: createStackedRnn (PyTorch num_layers / bidirectional)', () => {
  it('builds L layers reading D, then 2H inputs, with PyTorch-style parameter names', () => {
    const stack = createStackedRnn({
      kind: 'gru-reset-after', inputSize: 5, hiddenSize: 3, numLayers: 3, bidirectional: true,
    }, { rng: new Rng(1) });
    expect(stack.layers.map((l) => [l.inputSize, l.outputSize])).toEqual([[5, 6], [6, 6], [6, 6]]);
    expect(stack.outputSize).toBe(6);
    const names = Object.keys(stackedParameters(stack).params);
    expect(names).toContain('l0.W_x');
    expect(names).toContain('l2_reverse.W_a');
    expect(names.length).toBe(3 * 2 * 4); // W_x, W_a, b, b_a per direction per layer
  });

  it('residual: true adds skips from layer 1 on (layer 0 maps D → H)', () => {
    const stack = createStackedRnn({
      kind: 'rnn', inputSize: 2, hiddenSize: 4, numLayers: 3, residual: true,
    }, { rng: new Rng(1) });
    expect(stack.layers.map((l) => l.residual)).toEqual([false, true, true]);
  });
});

describe('wrappers: stacked errors name the op', () => {
  const rng = new Rng(2);
  it('rejects mismatched widths and impossible skips', () => {
    expect(() => createStack([{ cell: makeCell('rnn', 3, 4, rng) }, { cell: makeCell('rnn', 3, 4, rng) }]))
      .toThrow(/createStack: expected layer 1 to read 4 inputs.*inputSize 3/);
    expect(() => createStack([{ cell: makeCell('rnn', 3, 4, rng), residual: true }]))
      .toThrow(/createStack: a residual layer .* layer 0 maps 3 → 4/);
    expect(() => createStack([])).toThrow(/createStack: expected at least one layer/);
    expect(() => createStackedRnn({ kind: 'rnn', inputSize: 2, hiddenSize: 2, numLayers: 0 }, { rng })).toThrow(/createStackedRnn: expected numLayers/);
  });

  it('rejects a wrong input, a wrong h0 list, and backward before forward', () => {
    const stack = createStack([{ cell: makeCell('rnn', 3, 4, rng) }, { cell: makeCell('gru', 4, 2, rng) }]);
    const ws = createStackedWorkspace(stack, T, B);
    expect(() => stackedBackward(stack, ws, null)).toThrow(/stackedBackward: expected a stackedForward/);
    expect(() => stackedForward(stack, ws, Matrix.zeros(T * B, 4, 'float64'))).toThrow(/stackedForward: expected x to be \[T·B, D\] with B = 3, D = 3.*got \[15, 4\]/);
    expect(() => stackedForward(stack, ws, Matrix.zeros(T * B, 3, 'float64'), { h0: [undefined] })).toThrow(/stackedForward: expected h0 to hold one entry per layer \(2\), got 1/);
    stackedForward(stack, ws, Matrix.zeros(T * B, 3, 'float64'));
    expect(() => stackedBackward(stack, ws, Matrix.zeros(T * B, 4, 'float64'))).toThrow(/stackedBackward: expected dOutputs to be \[15, 2\]/);
  });
});
