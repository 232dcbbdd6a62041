import { describe, expect, it } from 'vitest';
import { Matrix } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import { createGruCell } from '../../layers/cells/gru.js';
import { createSequenceWorkspace, sequenceForward } from '../../layers/sequence.js';
import { uniformMatrix } from './cells-reference.js';

/**
 * Keras 3's GRUCell with reset_after=False, transcribed from its source (kernel (D, 3U) and
 * recurrent_kernel (U, 3U) with columns [z r h], one bias (3U)):
 *   z = σ(x·K_z + b_z + h·R_z);  r = σ(x·K_r + b_r + h·R_r)
 *   hh = tanh(x·K_h + b_h + (r ∗ h)·R_h);  h′ = z ∗ h + (1 − z) ∗ hh
 */
function kerasGruResetBefore(kernel: number[][], recurrent: number[][], bias: number[], xs: number[][], h0: number[]): number[][] {
  const U = h0.length;
  const sig = (v: number): number => 1 / (1 + Math.exp(-v));
  const dot = (v: number[], m: number[][], col: number): number => v.reduce((s, vi, i) => s + vi * m[i][col], 0);
  let h = h0;
  const out: number[][] = [];
  for (const x of xs) {
    const z = h.map((_, j) => sig(dot(x, kernel, j) + bias[j] + dot(h, recurrent, j)));
    const r = h.map((_, j) => sig(dot(x, kernel, U + j) + bias[U + j] + dot(h, recurrent, U + j)));
    const rh = h.map((v, j) => r[j] * v);
    const hh = h.map((_, j) => Math.tanh(dot(x, kernel, 2 * U + j) + bias[2 * U + j] + dot(rh, recurrent, 2 * U + j)));
    h = h.map((v, j) => z[j] * v + (1 - z[j]) * hh[j]);
    out.push(h);
  }
  return out;
}

describe("cells: the notes' GRU is Keras' GRU(reset_after=False) with Γu = 1 − z", () => {
  it('loading Keras weights with the z block negated and moved to the Γu rows gives the same outputs', () => {
    const D = 3, U = 4, T = 6;
    const rng = new Rng(31);
    const kernel = uniformMatrix(rng, D, 3 * U, 0.9).toArray();
    const recurrent = uniformMatrix(rng, U, 3 * U, 0.9).toArray();
    const bias = uniformMatrix(rng, 1, 3 * U, 0.5).toArray()[0];
    const xs = uniformMatrix(rng, T, D, 1).toArray();
    const h0 = uniformMatrix(rng, 1, U, 0.8).toArray()[0];

    const cell = createGruCell({ inputSize: D, hiddenSize: U }, { rng, dtype: 'float64' });
    // Ours: rows [Γr; Γu; c̃] of W = Kᵀ. Keras columns [z r h]. Γu = 1 − z = σ(−(…)): negate z.
    const kerasBlock = { r: 1, u: 0, c: 2 } as const;
    (['r', 'u', 'c'] as const).forEach((gate, g) => {
      const sign = gate === 'u' ? -1 : 1;
      const col0 = kerasBlock[gate] * U;
      for (let i = 0; i < U; i++) {
        for (let k = 0; k < D; k++) cell.params.W_x.set(g * U + i, k, sign * kernel[k][col0 + i]);
        for (let k = 0; k < U; k++) cell.params.W_a.set(g * U + i, k, sign * recurrent[k][col0 + i]);
        cell.params.b.set(0, g * U + i, sign * bias[col0 + i]);
      }
    });

    const expected = kerasGruResetBefore(kernel, recurrent, bias, xs, h0);
    const { outputs } = sequenceForward(cell, createSequenceWorkspace(cell, T, 1), Matrix.fromArray(xs, 'float64'), {
      h0: [Matrix.fromArray([h0], 'float64')],
    });
    for (let t = 0; t < T; t++) for (let j = 0; j < U; j++) expect(outputs.get(t, j)).toBeCloseTo(expected[t][j], 13);
  });

  it('without the negation the outputs differ (the mapping is not trivially satisfied)', () => {
    const D = 2, U = 3, T = 4;
    const rng = new Rng(32);
    const kernel = uniformMatrix(rng, D, 3 * U, 0.9).toArray();
    const recurrent = uniformMatrix(rng, U, 3 * U, 0.9).toArray();
    const bias = uniformMatrix(rng, 1, 3 * U, 0.5).toArray()[0];
    const xs = uniformMatrix(rng, T, D, 1).toArray();
    const h0 = [0.3, -0.2, 0.5];
    const cell = createGruCell({ inputSize: D, hiddenSize: U }, { rng, dtype: 'float64' });
    const order = [1, 0, 2]; // our [r u c] ← Keras [z r h] blocks, z NOT negated
    order.forEach((kb, g) => {
      for (let i = 0; i < U; i++) {
        for (let k = 0; k < D; k++) cell.params.W_x.set(g * U + i, k, kernel[k][kb * U + i]);
        for (let k = 0; k < U; k++) cell.params.W_a.set(g * U + i, k, recurrent[k][kb * U + i]);
        cell.params.b.set(0, g * U + i, bias[kb * U + i]);
      }
    });
    const expected = kerasGruResetBefore(kernel, recurrent, bias, xs, h0);
    const { outputs } = sequenceForward(cell, createSequenceWorkspace(cell, T, 1), Matrix.fromArray(xs, 'float64'), {
      h0: [Matrix.fromArray([h0], 'float64')],
    });
    expect(Math.abs(outputs.get(T - 1, 0) - expected[T - 1][0])).toBeGreaterThan(1e-3);
  });
});
