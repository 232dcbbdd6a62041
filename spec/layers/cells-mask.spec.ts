import { describe, expect, it } from 'vitest';
import { Matrix } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import type { CellKind, RecurrentCell } from '../../layers/cells/cell.js';
import { createCell, CELL_KINDS } from '../../layers/cells/create-cell.js';
import {
  createSequenceWorkspace, sequenceBackward, sequenceForward, zeroGrads,
} from '../../layers/sequence.js';
import { uniformMatrix } from './cells-reference.js';

const T = 6, D = 3, H = 4;
const LENGTHS = [6, 4, 1, 3];
const B = LENGTHS.length;

function lengthMask(lengths: number[], steps: number): Matrix {
  const m = Matrix.zeros(steps, lengths.length, 'float64');
  lengths.forEach((len, b) => { for (let t = 0; t < len; t++) m.set(t, b, 1); });
  return m;
}

/** Rows of sample b (steps 0 … len−1) of a time-major [T·B, n] matrix, as a [len, n] matrix. */
function sampleRows(m: Matrix, b: number, len: number, batch: number): Matrix {
  const out = Matrix.zeros(len, m.cols, 'float64');
  for (let t = 0; t < len; t++) for (let j = 0; j < m.cols; j++) out.set(t, j, m.get(t * batch + b, j));
  return out;
}

function rowOfMatrix(m: Matrix, r: number): Matrix {
  return Matrix.fromArray([m.toArray()[r]], 'float64');
}

function setup(kind: CellKind, seed: number) {
  const rng = new Rng(seed);
  const cell = createCell({ kind, inputSize: D, hiddenSize: H }, { rng, dtype: 'float64' });
  for (const p of Object.values(cell.params)) p.data.set(uniformMatrix(rng, p.rows, p.cols, 0.8).data);
  const x = uniformMatrix(rng, T * B, D, 1);
  const h0 = Array.from({ length: cell.stateCount }, () => uniformMatrix(rng, B, H, 0.8));
  const dOut = uniformMatrix(rng, T * B, H, 1);
  const dFinal = Array.from({ length: cell.stateCount }, () => uniformMatrix(rng, B, H, 1));
  return { cell, x, h0, dOut, dFinal };
}

function snapshotGrads(cell: RecurrentCell): Record<string, number[]> {
  return Object.fromEntries(Object.entries(cell.grads).map(([k, g]) => [k, Array.from(g.data)]));
}

describe('cells: masks (variable-length sequences in one batch)', () => {
  for (const kind of CELL_KINDS) {
    it(`${kind}: a ragged batch equals each sequence run alone (outputs, final state, all gradients)`, () => {
      const { cell, x, h0, dOut, dFinal } = setup(kind, 21);
      const mask = lengthMask(LENGTHS, T);
      const ws = createSequenceWorkspace(cell, T, B);
      zeroGrads(cell);
      const { outputs, finalState } = sequenceForward(cell, ws, x, { h0, mask });
      const outputsBatch = outputs.clone();
      const finalBatch = finalState.map((s) => s.clone());
      const { dx, dh0 } = sequenceBackward(cell, ws, dOut, { dFinal });
      const dxBatch = dx.clone();
      const dh0Batch = dh0.map((s) => s.clone());
      const gradsBatch = snapshotGrads(cell);

      // Alone: each sample with its own length, no mask; the parameter gradients add up.
      zeroGrads(cell);
      LENGTHS.forEach((len, b) => {
        const wsAlone = createSequenceWorkspace(cell, len, 1);
        const alone = sequenceForward(cell, wsAlone, sampleRows(x, b, len, B), { h0: h0.map((s) => rowOfMatrix(s, b)) });
        for (let t = 0; t < len; t++) {
          for (let j = 0; j < H; j++) expect(outputsBatch.get(t * B + b, j)).toBeCloseTo(alone.outputs.get(t, j), 13);
        }
        alone.finalState.forEach((s, k) => {
          for (let j = 0; j < H; j++) expect(finalBatch[k].get(b, j)).toBeCloseTo(s.get(0, j), 13);
        });
        const back = sequenceBackward(cell, wsAlone, sampleRows(dOut, b, len, B), { dFinal: dFinal.map((s) => rowOfMatrix(s, b)) });
        for (let t = 0; t < len; t++) {
          for (let j = 0; j < D; j++) expect(dxBatch.get(t * B + b, j)).toBeCloseTo(back.dx.get(t, j), 12);
        }
        back.dh0.forEach((s, k) => {
          for (let j = 0; j < H; j++) expect(dh0Batch[k].get(b, j)).toBeCloseTo(s.get(0, j), 12);
        });
      });
      const gradsAlone = snapshotGrads(cell);
      for (const name of Object.keys(gradsBatch)) {
        gradsBatch[name].forEach((v, i) => expect(v).toBeCloseTo(gradsAlone[name][i], 12));
      }
    });
  }

  it('masked steps: outputs 0, final state = state at the last valid step, padded inputs get 0 gradient', () => {
    const { cell, x, h0, dOut, dFinal } = setup('lstm', 22);
    const ws = createSequenceWorkspace(cell, T, B);
    const { outputs, finalState } = sequenceForward(cell, ws, x, { h0, mask: lengthMask(LENGTHS, T) });
    LENGTHS.forEach((len, b) => {
      for (let t = len; t < T; t++) for (let j = 0; j < H; j++) expect(outputs.get(t * B + b, j)).toBe(0);
      // a⟨len⟩ of sample b is its output at step len − 1 (not 0, not a later value)
      for (let j = 0; j < H; j++) expect(finalState[0].get(b, j)).toBe(outputs.get((len - 1) * B + b, j));
    });
    const { dx } = sequenceBackward(cell, ws, dOut, { dFinal });
    LENGTHS.forEach((len, b) => {
      for (let t = len; t < T; t++) for (let j = 0; j < D; j++) expect(dx.get(t * B + b, j)).toBe(0);
      expect(Math.abs(dx.get((len - 1) * B + b, 0))).toBeGreaterThan(0);
    });
  });

  it('gradients ignore dOutputs at masked steps and padded inputs do not change anything', () => {
    const { cell, x, h0, dOut, dFinal } = setup('gru', 23);
    const mask = lengthMask(LENGTHS, T);
    const ws = createSequenceWorkspace(cell, T, B);
    zeroGrads(cell);
    const first = sequenceForward(cell, ws, x, { h0, mask }).finalState.map((s) => s.clone());
    const dxFirst = sequenceBackward(cell, ws, dOut, { dFinal }).dx.clone();
    const gradsFirst = snapshotGrads(cell);

    const x2 = x.clone();
    const dOut2 = dOut.clone();
    LENGTHS.forEach((len, b) => {
      for (let t = len; t < T; t++) {
        for (let j = 0; j < D; j++) x2.set(t * B + b, j, 1e3); // garbage in the padding
        for (let j = 0; j < H; j++) dOut2.set(t * B + b, j, 7);
      }
    });
    zeroGrads(cell);
    const second = sequenceForward(cell, ws, x2, { h0, mask }).finalState;
    const dxSecond = sequenceBackward(cell, ws, dOut2, { dFinal }).dx;
    expect(second.map((s) => s.toArray())).toEqual(first.map((s) => s.toArray()));
    expect(dxSecond.toArray()).toEqual(dxFirst.toArray());
    expect(snapshotGrads(cell)).toEqual(gradsFirst);
  });

  it('a gap in the middle keeps the state across it (the state skips the masked step)', () => {
    const { cell, x, h0 } = setup('rnn', 24);
    const mask = Matrix.zeros(T, B, 'float64');
    for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) mask.set(t, b, t === 2 && b === 0 ? 0 : 1);
    const ws = createSequenceWorkspace(cell, T, B);
    const { outputs } = sequenceForward(cell, ws, x, { h0, mask });
    const withGap = outputs.clone();
    // Same as sample 0 alone with step 2 removed.
    const rows = [0, 1, 3, 4, 5].map((t) => x.toArray()[t * B]);
    const alone = sequenceForward(cell, createSequenceWorkspace(cell, 5, 1), Matrix.fromArray(rows, 'float64'), {
      h0: [rowOfMatrix(h0[0], 0)],
    }).outputs;
    [0, 1, 3, 4, 5].forEach((t, i) => {
      for (let j = 0; j < H; j++) expect(withGap.get(t * B, j)).toBeCloseTo(alone.get(i, j), 13);
    });
    for (let j = 0; j < H; j++) expect(withGap.get(2 * B, j)).toBe(0);
  });

  it('a mask that is all ones equals no mask; a sequence of length 0 returns h0 and passes dFinal to dh0', () => {
    const { cell, x, h0, dOut, dFinal } = setup('lstm-peephole', 25);
    const ws = createSequenceWorkspace(cell, T, B);
    const noMask = sequenceForward(cell, ws, x, { h0 }).outputs.clone();
    const ones = Matrix.zeros(T, B, 'float64');
    ones.data.fill(1);
    expect(sequenceForward(cell, ws, x, { h0, mask: ones }).outputs.toArray()).toEqual(noMask.toArray());

    const empty = lengthMask([T, 0, 2, 0], T);
    const { finalState } = sequenceForward(cell, ws, x, { h0, mask: empty });
    for (const k of [0, 1]) for (const b of [1, 3]) expect(finalState[k].toArray()[b]).toEqual(h0[k].toArray()[b]);
    const { dh0 } = sequenceBackward(cell, ws, dOut, { dFinal });
    for (const k of [0, 1]) for (const b of [1, 3]) expect(dh0[k].toArray()[b]).toEqual(dFinal[k].toArray()[b]);
  });

  it('rejects a mask of the wrong shape or with entries other than 0 and 1', () => {
    const { cell, x } = setup('rnn', 26);
    const ws = createSequenceWorkspace(cell, T, B);
    expect(() => sequenceForward(cell, ws, x, { mask: Matrix.zeros(T, B + 1, 'float64') }))
      .toThrow(/sequenceForward: expected mask to be \[6, 4\], got \[6, 5\]/);
    const half = Matrix.zeros(T, B, 'float64');
    half.data.fill(0.5);
    expect(() => sequenceForward(cell, ws, x, { mask: half })).toThrow(/sequenceForward: expected mask entries 0 or 1, got 0.5/);
  });
});
