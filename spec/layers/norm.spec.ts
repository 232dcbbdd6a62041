import { describe, expect, it } from 'vitest';
import { Matrix } from '../../engine/index.js';
import {
  createLayerNorm, createLayerNormWorkspace, layerNormBackward, layerNormForward, loadLayerNormStateDict,
} from '../../layers/norm.js';

describe('layer norm', () => {
  it('normalises each row by hand: [1, 2, 3] → [−√1.5, 0, √1.5] (ε = 0), then γ ∗ x̂ + β', () => {
    const norm = createLayerNorm({ dim: 3, eps: 0 }, { dtype: 'float64' });
    loadLayerNormStateDict(norm, { weight: [2, 1, 0.5], bias: [0, 1, -1] });
    const ws = createLayerNormWorkspace(norm, 2);
    const x = Matrix.fromArray([[1, 2, 3], [5, 5, 8]], 'float64');
    const y = layerNormForward(Matrix.zeros(2, 3, 'float64'), ws, x);
    // row 2: μ = 6, σ² = (1 + 1 + 4)/3 = 2, x̂ = [−1, −1, 2]/√2
    const s = Math.sqrt(1.5);
    const expected = [[-2 * s, 1, 0.5 * s - 1], [-2 / Math.SQRT2, 1 - 1 / Math.SQRT2, 1 / Math.SQRT2 - 1]];
    y.toArray().forEach((row, r) => row.forEach((v, c) => expect(v).toBeCloseTo(expected[r][c], 14)));
  });

  it('ε enters under the square root: a constant row gives β, and x̂ = (x − μ)/√(σ² + ε)', () => {
    const norm = createLayerNorm({ dim: 2, eps: 0.25 }, { dtype: 'float64' });
    const ws = createLayerNormWorkspace(norm, 2);
    const x = Matrix.fromArray([[3, 3], [0, 1]], 'float64');
    const y = layerNormForward(Matrix.zeros(2, 2, 'float64'), ws, x).toArray();
    expect(y[0]).toEqual([0, 0]);
    // σ² = 0.25, √(0.25 + 0.25) = √0.5
    expect(y[1][0]).toBeCloseTo(-0.5 / Math.sqrt(0.5), 14);
    expect(y[1][1]).toBeCloseTo(0.5 / Math.sqrt(0.5), 14);
  });

  it('backward accumulates; the input gradient of a pure shift is 0 (dx sums to 0 per row)', () => {
    const norm = createLayerNorm({ dim: 4 }, { dtype: 'float64' });
    const ws = createLayerNormWorkspace(norm, 1);
    const x = Matrix.fromArray([[0.3, -1, 2, 0.5]], 'float64');
    layerNormForward(Matrix.zeros(1, 4, 'float64'), ws, x);
    const dy = Matrix.fromArray([[1, 1, 1, 1]], 'float64');
    const dx = Matrix.fromArray([[7, 7, 7, 7]], 'float64');
    layerNormBackward(dx, ws, dy);
    for (const v of dx.toArray()[0]) expect(v).toBeCloseTo(7, 12); // dy ∝ 1 ⇒ g − mean(g) = 0, Σ x̂ = 0
    layerNormBackward(null, ws, dy);
    expect(norm.grads.bias.toArray()[0]).toEqual([2, 2, 2, 2]);
  });

  it('rejects bad shapes and state dicts naming the op', () => {
    const norm = createLayerNorm({ dim: 3 });
    const ws = createLayerNormWorkspace(norm, 2);
    expect(() => layerNormForward(Matrix.zeros(2, 3), ws, Matrix.zeros(2, 4))).toThrow('layerNormForward: expected x to be [2, 3], got [2, 4]');
    expect(() => loadLayerNormStateDict(norm, { weight: [1, 2], bias: [0, 0, 0] }, 'norm1.')).toThrow(
      "loadLayerNormStateDict: expected 'norm1.weight' to be 3 numbers, got 2 entries",
    );
    expect(() => createLayerNorm({ dim: 0 })).toThrow('createLayerNorm: expected dim to be a positive integer, got 0');
  });
});
