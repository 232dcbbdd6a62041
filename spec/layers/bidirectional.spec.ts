import { describe, expect, it } from 'vitest';
import { Matrix } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import {
  bidirectionalBackward, bidirectionalForward, bidirectionalZeroGrads, createBidirectional, createBidirectionalWorkspace,
  maskLengths,
} from '../../layers/bidirectional.js';
import type { CellKind, RecurrentCell } from '../../layers/cells/cell.js';
import { createCell } from '../../layers/cells/create-cell.js';
import { createSequenceWorkspace, sequenceBackward, sequenceForward, zeroGrads } from '../../layers/sequence.js';
import { refGru, refLstm, rowOf, uniformMatrix, type Vec } from './cells-reference.js';

const T = 6, B = 3, D = 3;
const LENGTHS = [6, 4, 1];

function makeCell(kind: CellKind, H: number, rng: Rng): RecurrentCell {
  const cell = createCell({ kind, inputSize: D, hiddenSize: H }, { rng, dtype: 'float64' });
  for (const p of Object.values(cell.params)) p.data.set(uniformMatrix(rng, p.rows, p.cols, 0.8).data);
  return cell;
}

function lengthMask(lengths: number[]): Matrix {
  return Matrix.fromArray(Array.from({ length: T }, (_, t) => lengths.map((len) => (t < len ? 1 : 0))), 'float64');
}

/** Rows of sequence b at steps 0 … len−1. */
function sequenceOf(x: Matrix, b: number, len: number): Vec[] {
  return Array.from({ length: len }, (_, t) => rowOf(x, t, b, B));
}

describe('wrappers: bidirectional layer (LSTM →, GRU ←) on a right-padded batch', () => {
  const rng = new Rng(7);
  const fwd = makeCell('lstm', 4, rng);
  const bwd = makeCell('gru', 3, rng);
  const layer = createBidirectional(fwd, bwd);
  const x = uniformMatrix(rng, T * B, D);
  const h0 = {
    forward: [uniformMatrix(rng, B, 4, 0.5), uniformMatrix(rng, B, 4, 0.5)],
    backward: [uniformMatrix(rng, B, 3, 0.5)],
  };
  const mask = lengthMask(LENGTHS);
  const ws = createBidirectionalWorkspace(layer, T, B);
  const { outputs, finalState } = bidirectionalForward(layer, ws, x, { h0, mask });

  it('the backward direction equals running each sequence alone, reversed, from its own last step', () => {
    LENGTHS.forEach((len, b) => {
      // Reference (the notes' GRU, one sequence, plain arrays): x⟨len⟩, …, x⟨1⟩.
      const reversed = sequenceOf(x, b, len).reverse();
      const ref = refGru(bwd.params, 3, reversed, h0.backward[0].toArray()[b]);
      for (let t = 0; t < len; t++) {
        const got = outputs.toArray()[t * B + b].slice(4);
        const want = ref.outputs[len - 1 - t];
        got.forEach((v, j) => expect(v).toBeCloseTo(want[j], 12));
      }
      // The backward direction's final state is its state after reading x⟨1⟩.
      finalState.backward[0].toArray()[b].forEach((v, j) => expect(v).toBeCloseTo(ref.final[0][j], 12));
    });
  });

  it('output⟨t⟩ is the concat [a→⟨t⟩, a←⟨t⟩], and 0 at padded steps', () => {
    LENGTHS.forEach((len, b) => {
      const refF = refLstm(fwd.params, 4, false, sequenceOf(x, b, len), h0.forward[0].toArray()[b], h0.forward[1].toArray()[b]);
      const refB = refGru(bwd.params, 3, sequenceOf(x, b, len).reverse(), h0.backward[0].toArray()[b]);
      for (let t = 0; t < T; t++) {
        const row = outputs.toArray()[t * B + b];
        expect(row.length).toBe(7);
        const want = t < len ? [...refF.outputs[t], ...refB.outputs[len - 1 - t]] : new Array(7).fill(0);
        row.forEach((v, j) => expect(v).toBeCloseTo(want[j], 12));
      }
      finalState.forward[0].toArray()[b].forEach((v, j) => expect(v).toBeCloseTo(refF.final[0][j], 12));
      finalState.forward[1].toArray()[b].forEach((v, j) => expect(v).toBeCloseTo(refF.final[1][j], 12));
    });
  });

  it('its backward pass gives the backward cell the gradients of each sequence run alone, reversed', () => {
    // Loss on the backward block only: L = Σ w ∗ a←. Per sequence: the runner on the reversed
    // sequence (B = 1) with the reversed output weights must give the same parameter gradients and
    // the same ∂L/∂x (un-reversed), summed over the batch.
    const w = uniformMatrix(new Rng(3), T * B, 7);
    for (let r = 0; r < T * B; r++) for (let j = 0; j < 4; j++) w.set(r, j, 0);
    bidirectionalZeroGrads(layer);
    bidirectionalForward(layer, ws, x, { h0, mask });
    const { dx } = bidirectionalBackward(layer, ws, w);
    const got = Object.fromEntries(Object.entries(bwd.grads).map(([k, g]) => [k, g.clone()]));
    expect(Object.values(fwd.grads).every((g) => g.data.every((v) => v === 0))).toBe(true);

    zeroGrads(bwd);
    const alone = createSequenceWorkspace(bwd, T, 1);
    const dxWant = Matrix.zeros(T * B, D, 'float64');
    LENGTHS.forEach((len, b) => {
      const xr = Matrix.fromArray(sequenceOf(x, b, len).reverse(), 'float64');
      const wr = Matrix.fromArray(Array.from({ length: len }, (_, s) => w.toArray()[(len - 1 - s) * B + b].slice(4)), 'float64');
      sequenceForward(bwd, alone, xr, { h0: [h0.backward[0].rowView(b)] });
      const r = sequenceBackward(bwd, alone, wr);
      for (let s = 0; s < len; s++) for (let c = 0; c < D; c++) dxWant.set((len - 1 - s) * B + b, c, r.dx.get(s, c));
    });
    for (const [k, g] of Object.entries(bwd.grads)) {
      g.data.forEach((v, i) => expect(got[k].data[i]).toBeCloseTo(v, 12));
    }
    (dx as Matrix).data.forEach((v, i) => expect(v).toBeCloseTo(dxWant.data[i], 12));
  });

  it('a shorter batch (T′ < capacity) in the same workspace still reverses each sequence within T′', () => {
    const T2 = 3;
    const x2 = x.rowView(0, T2 * B).clone();
    const m2 = Matrix.fromArray([[1, 1, 1], [1, 1, 0], [1, 0, 0]], 'float64');
    const r = bidirectionalForward(layer, ws, x2, { mask: m2 });
    [3, 2, 1].forEach((len, b) => {
      const ref = refGru(bwd.params, 3, sequenceOf(x2, b, len).reverse(), [0, 0, 0]);
      for (let t = 0; t < len; t++) {
        r.outputs.toArray()[t * B + b].slice(4).forEach((v, j) => expect(v).toBeCloseTo(ref.outputs[len - 1 - t][j], 12));
      }
    });
  });
});

describe('wrappers: bidirectional errors name the op', () => {
  const rng = new Rng(1);
  const layer = createBidirectional(makeCell('rnn', 2, rng), makeCell('lstm', 2, rng));
  const ws = createBidirectionalWorkspace(layer, 4, 2);

  it('rejects cells of different input sizes or the same cell twice', () => {
    const other = createCell({ kind: 'gru', inputSize: D + 1, hiddenSize: 2 }, { rng, dtype: 'float64' });
    expect(() => createBidirectional(layer.forward, other)).toThrow(/createBidirectional: .*D=3.*D=4/);
    expect(() => createBidirectional(layer.forward, layer.forward)).toThrow(/createBidirectional/);
  });

  it('rejects a wrong input shape, a mask that is not right-padded, and backward before forward', () => {
    expect(() => bidirectionalBackward(layer, ws, null)).toThrow(/bidirectionalBackward: expected a bidirectionalForward/);
    expect(() => bidirectionalForward(layer, ws, Matrix.zeros(8, 2, 'float64'))).toThrow(/bidirectionalForward: expected x to be \[T·B, D\].*got \[8, 2\]/);
    const holes = Matrix.fromArray([[1, 1], [0, 1], [1, 1], [0, 0]], 'float64');
    expect(() => bidirectionalForward(layer, ws, Matrix.zeros(8, 3, 'float64'), { mask: holes })).toThrow(/bidirectionalForward: expected a right-padded mask.*column 0/);
    expect(() => bidirectionalForward(layer, ws, Matrix.zeros(8, 3, 'float64'), { mask: Matrix.zeros(3, 2, 'float64') })).toThrow(/bidirectionalForward: expected mask to be \[4, 2\]/);
    bidirectionalForward(layer, ws, Matrix.zeros(8, 3, 'float64'));
    expect(() => bidirectionalBackward(layer, ws, Matrix.zeros(8, 3, 'float64'))).toThrow(/bidirectionalBackward: expected dOutputs to be \[8, 4\]/);
  });

  it('maskLengths reads the lengths of a right-padded mask', () => {
    const out = new Int32Array(3);
    maskLengths('op', out, lengthMask([6, 0, 2]), T, 3);
    expect([...out]).toEqual([6, 0, 2]);
  });
});
