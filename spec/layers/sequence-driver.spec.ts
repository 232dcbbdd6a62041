/**
 * The runner's step driver (layers/sequence.ts): the same time loop as sequenceForward /
 * sequenceBackward, one step at a time, for inputs that depend on the previous step.
 */
import { describe, expect, it } from 'vitest';
import { gemm } from '../../engine/gemm.js';
import { Matrix, stepView } from '../../engine/matrix.js';
import { add } from '../../engine/ops.js';
import { Rng } from '../../engine/rng.js';
import type { CellKind, RecurrentCell } from '../../layers/cells/cell.js';
import { CELL_KINDS, createCell } from '../../layers/cells/create-cell.js';
import {
  backwardStep, beginBackwardSteps, beginSteps, createSequenceWorkspace, endBackwardSteps, forwardStep,
  projectStepInput, sequenceBackward, sequenceForward, stateAt, stateGradient, zeroGrads,
} from '../../layers/sequence.js';
import { gradCheck } from '../../training/check/gradcheck.js';
import { uniformMatrix } from './cells-reference.js';

const B = 3;

function makeCell(kind: CellKind, D: number, H: number, seed: number): RecurrentCell {
  const rng = new Rng(seed);
  const cell = createCell({ kind, inputSize: D, hiddenSize: H }, { rng, dtype: 'float64' });
  for (const p of Object.values(cell.params)) p.data.set(uniformMatrix(rng, p.rows, p.cols, 0.8).data);
  return cell;
}

function maxDiff(a: Matrix, b: Matrix): number {
  let worst = 0;
  for (let r = 0; r < a.rows; r++) for (let c = 0; c < a.cols; c++) worst = Math.max(worst, Math.abs(a.get(r, c) - b.get(r, c)));
  return worst;
}

describe('step driver: the runner one step at a time', () => {
  for (const kind of CELL_KINDS) {
    it(`${kind}: per-step projection and steps give sequenceForward/sequenceBackward's outputs, state gradients and parameter gradients (ragged mask)`, () => {
      const T = 5, D = 3, H = 4;
      const cell = makeCell(kind, D, H, 7);
      const rng = new Rng(8);
      const x = uniformMatrix(rng, T * B, D);
      const dOut = uniformMatrix(rng, T * B, H);
      const h0 = Array.from({ length: cell.stateCount }, () => uniformMatrix(rng, B, H, 0.5));
      const dFinal = Array.from({ length: cell.stateCount }, () => uniformMatrix(rng, B, H, 0.5));
      const mask = Matrix.zeros(T, B, 'float64');
      mask.data.fill(1);
      mask.set(4, 1, 0); mask.set(3, 1, 0); mask.set(4, 2, 0);

      const runnerWs = createSequenceWorkspace(cell, T, B);
      zeroGrads(cell);
      const f = sequenceForward(cell, runnerWs, x, { h0, mask });
      const outputs = f.outputs.clone(), finals = f.finalState.map((s) => s.clone());
      const dh0Runner = sequenceBackward(cell, runnerWs, dOut, { dFinal, inputGradient: false }).dh0.map((s) => s.clone());
      const gradsRunner = Object.values(cell.grads).map((g) => g.clone());

      const ws = createSequenceWorkspace(cell, T + 2, B); // a larger workspace runs T steps too
      zeroGrads(cell);
      beginSteps(ws, T, { h0, mask });
      for (let t = 0; t < T; t++) {
        projectStepInput(ws, t, stepView(x, t, B));
        const next = forwardStep(ws, t);
        expect(next).toBe(stateAt(ws, t + 1));
        for (let b = 0; b < B; b++) {
          if (mask.get(t, b) === 0) continue; // a padded step's output is 0 in the runner; its state is carried
          for (let j = 0; j < H; j++) expect(next[0].get(b, j)).toBeCloseTo(outputs.get(t * B + b, j), 12);
        }
      }
      stateAt(ws, T).forEach((s, k) => expect(maxDiff(s, finals[k])).toBeLessThan(1e-12));
      beginBackwardSteps(ws, dFinal);
      for (let t = T - 1; t >= 0; t--) {
        const dState = stateGradient(ws)[0];
        for (let b = 0; b < B; b++) {
          if (mask.get(t, b) === 0) continue;
          for (let j = 0; j < H; j++) dState.set(b, j, dState.get(b, j) + dOut.get(t * B + b, j));
        }
        backwardStep(ws, t);
      }
      endBackwardSteps(ws, x);
      stateGradient(ws).forEach((d, k) => expect(maxDiff(d, dh0Runner[k])).toBeLessThan(1e-12));
      Object.values(cell.grads).forEach((g, k) => expect(maxDiff(g, gradsRunner[k])).toBeLessThan(1e-12));
    });
  }

  it('a loop that feeds a⟨t⟩ back as x⟨t+1⟩ (input of step t depends on step t−1) has gradients that pass a gradient check', () => {
    // L = Σ_t Σ_b w⟨t⟩_b · a⟨t+1⟩_b, x⟨0⟩ given, x⟨t⟩ = a⟨t⟩ for t ≥ 1 (D = H).
    const T = 4, H = 3;
    const cell = makeCell('lstm', H, H, 11);
    const rng = new Rng(12);
    const x0 = uniformMatrix(rng, B, H);
    const w = uniformMatrix(rng, T * B, H);
    const ws = createSequenceWorkspace(cell, T, B);
    const inputs = Matrix.zeros(T * B, H, 'float64'); // x⟨0…T−1⟩ as the steps read them
    const forward = (): number => {
      beginSteps(ws, T);
      let loss = 0;
      for (let t = 0; t < T; t++) {
        const xt = stepView(inputs, t, B);
        xt.data.set(t === 0 ? x0.data : stateAt(ws, t)[0].clone().data, xt.offset);
        projectStepInput(ws, t, xt);
        const a = forwardStep(ws, t)[0];
        for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) loss += w.get(t * B + b, j) * a.get(b, j);
      }
      return loss;
    };
    forward();
    zeroGrads(cell);
    beginBackwardSteps(ws);
    const dx = Matrix.zeros(B, H, 'float64');
    for (let t = T - 1; t >= 0; t--) {
      add(stateGradient(ws)[0], stateGradient(ws)[0], stepView(w, t, B)); // ∂L/∂a⟨t+1⟩ from the loss
      const dxp = backwardStep(ws, t);
      if (t > 0) { // x⟨t⟩ = a⟨t⟩: its gradient joins ∂L/∂state⟨t⟩, which stateGradient now holds
        gemm(dx, dxp, cell.params.W_x, false, false);
        add(stateGradient(ws)[0], stateGradient(ws)[0], dx);
      }
    }
    endBackwardSteps(ws, inputs);
    const analytic = Object.fromEntries(Object.entries(cell.grads).map(([k, g]) => [k, g.clone()]));
    const rows = gradCheck({ params: cell.params, loss: forward, gradients: () => analytic });
    expect(rows.map((r) => r.name).sort()).toEqual(['W_a', 'W_x', 'b']);
    for (const row of rows) expect(row.relError, row.name).toBeLessThan(1e-7);
  });

  it('refuses steps out of order, naming the call', () => {
    const cell = makeCell('gru', 2, 3, 1);
    const ws = createSequenceWorkspace(cell, 4, B);
    expect(() => forwardStep(ws, 0)).toThrow(/forwardStep: expected beginSteps \(or sequenceForward\) on this workspace first/);
    expect(() => beginSteps(ws, 5)).toThrow(/beginSteps: expected an integer number of steps in \[1, 4\] \(the workspace's\), got 5/);
    beginSteps(ws, 3);
    expect(() => forwardStep(ws, 1)).toThrow(/forwardStep: expected step 0 \(steps run in order from 0\), got 1/);
    expect(() => projectStepInput(ws, 3, Matrix.zeros(B, 2, 'float64'))).toThrow(/projectStepInput: expected a step in \[0, 2\], got 3/);
    forwardStep(ws, 0);
    expect(() => beginBackwardSteps(ws)).toThrow(/beginBackwardSteps: expected a forward pass of all its steps first, got 1 of 3/);
    forwardStep(ws, 1);
    forwardStep(ws, 2);
    expect(() => backwardStep(ws, 2)).toThrow(/backwardStep: expected step -1 \(beginBackwardSteps first, then T−1 down to 0\), got 2/);
    beginBackwardSteps(ws);
    expect(() => backwardStep(ws, 0)).toThrow(/backwardStep: expected step 2/);
    backwardStep(ws, 2);
    expect(() => endBackwardSteps(ws, Matrix.zeros(3 * B, 2, 'float64'))).toThrow(/endBackwardSteps: expected every backward step first, got step 1 next/);
    expect(() => sequenceBackward(cell, ws, null)).toThrow(/sequenceBackward: expected a sequenceForward on this workspace first/);
  });
});
