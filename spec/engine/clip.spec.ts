import { describe, expect, it } from 'vitest';
import { Matrix, clipByGlobalNorm, clipByValue, clipGradNorm, globalNorm, type DType } from '../../engine/index.js';

// Hand-computed: ‖[3, 4]‖² + ‖[0, 12]‖² = 9 + 16 + 0 + 144 = 169 → norm 13.
function grads(dtype: DType): Matrix[] {
  return [Matrix.fromArray([[3, 4]], dtype), Matrix.fromArray([[0], [12]], dtype)];
}

describe('globalNorm', () => {
  it('is √(Σ over all buffers of Σ g²)', () => {
    expect(globalNorm(grads('float64'))).toBe(13);
    expect(globalNorm(grads('float32'))).toBe(13);
    expect(globalNorm([])).toBe(0);
    expect(globalNorm([Matrix.fromArray([[1, -1], [1, -1]])])).toBe(2);
  });

  it('reads only the entries of a strided view', () => {
    const big = Matrix.fromArray([[100, 3, 100], [100, 4, 100]], 'float64');
    expect(globalNorm([big.colView(1, 1)])).toBe(5);
  });

  it('is NaN or Infinity when an entry is', () => {
    expect(globalNorm([Matrix.fromArray([[1, NaN]], 'float64')])).toBeNaN();
    expect(globalNorm([Matrix.fromArray([[1, Infinity]], 'float64')])).toBe(Infinity);
  });
});

describe('clipGradNorm (PyTorch clip_grad_norm_ rule)', () => {
  for (const dtype of ['float32', 'float64'] as DType[]) {
    it(`${dtype}: above maxNorm scales every buffer by maxNorm / (norm + 1e−6) and returns the norm before`, () => {
      const g = grads(dtype);
      const factor = 6.5 / (13 + 1e-6);
      expect(clipGradNorm(g, 6.5)).toBe(13);
      const tol = dtype === 'float64' ? 1e-15 : 1e-6;
      expect(Math.abs(g[0].get(0, 0) - 3 * factor)).toBeLessThan(tol);
      expect(Math.abs(g[0].get(0, 1) - 4 * factor)).toBeLessThan(tol);
      expect(g[1].get(0, 0)).toBe(0);
      expect(Math.abs(g[1].get(1, 0) - 12 * factor)).toBeLessThan(tol * 4);
      // the new norm is just below maxNorm: 6.5 · 13 / (13 + 1e−6)
      expect(Math.abs(globalNorm(g) - 13 * factor)).toBeLessThan(tol * 13);
      expect(globalNorm(g)).toBeLessThan(6.5);
    });
  }

  it('at or below maxNorm leaves the gradients unchanged (norm == maxNorm is not clipped)', () => {
    for (const maxNorm of [13, 20, 1e9]) {
      const g = grads('float64');
      expect(clipGradNorm(g, maxNorm)).toBe(13);
      expect(g[0].toArray()).toEqual([[3, 4]]);
      expect(g[1].toArray()).toEqual([[0], [12]]);
    }
  });

  it('scales only the entries of strided views', () => {
    const big = Matrix.fromArray([[100, 3, 100], [100, 4, 100]], 'float64');
    expect(clipGradNorm([big.colView(1, 1)], 1)).toBe(5);
    const f = 1 / (5 + 1e-6);
    expect(big.toArray()).toEqual([[100, 3 * f, 100], [100, 4 * f, 100]]);
  });

  it('a non-finite norm is returned and the gradients are left untouched', () => {
    const g = [Matrix.fromArray([[1, NaN, 3]], 'float64')];
    expect(clipGradNorm(g, 1)).toBeNaN();
    expect(g[0].get(0, 0)).toBe(1);
    expect(g[0].get(0, 2)).toBe(3);
    const h = [Matrix.fromArray([[1, Infinity]], 'float64')];
    expect(clipGradNorm(h, 1)).toBe(Infinity);
    expect(h[0].get(0, 0)).toBe(1);
  });

  it('rejects maxNorm ≤ 0 or NaN, and clipByGlobalNorm is the same function', () => {
    for (const bad of [0, -1, NaN]) expect(() => clipGradNorm(grads('float64'), bad)).toThrow(/clipGradNorm: expected maxNorm > 0/);
    expect(clipByGlobalNorm).toBe(clipGradNorm);
  });
});

describe('clipByValue (the notes: clamp to [−m, m])', () => {
  it('clamps and counts the entries beyond ±m (|g| = m is not clipped)', () => {
    const a = Matrix.fromArray([[-7, 2, 5, 5.5], [-5, -5.01, 0, 1e30]], 'float32');
    const b = Matrix.fromArray([[6]], 'float64');
    expect(clipByValue([a, b], 5)).toBe(5); // −7, 5.5, −5.01, 1e30 and 6
    expect(a.toArray()).toEqual([[-5, 2, 5, 5], [-5, -5, 0, 5]]);
    expect(b.get(0, 0)).toBe(5);
  });

  it('touches only the entries of a strided view and leaves NaN alone', () => {
    const big = Matrix.fromArray([[100, -100, 100], [100, NaN, -100]], 'float64');
    expect(clipByValue([big.colView(1, 1)], 1)).toBe(1);
    expect(big.get(0, 1)).toBe(-1);
    expect(big.get(1, 1)).toBeNaN();
    expect(big.get(0, 0)).toBe(100);
    expect(big.get(1, 2)).toBe(-100);
  });

  it('m = 0 zeroes everything; negative or non-finite m throws', () => {
    const g = Matrix.fromArray([[1, -2, 0]], 'float64');
    expect(clipByValue([g], 0)).toBe(2);
    expect(g.toArray()).toEqual([[0, 0, 0]]);
    for (const bad of [-1, NaN, Infinity]) expect(() => clipByValue([g], bad)).toThrow(/clipByValue: expected a finite clip value m ≥ 0/);
  });
});
