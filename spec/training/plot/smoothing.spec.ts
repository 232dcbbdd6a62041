import { describe, expect, it } from 'vitest';
import { smoothedCurve } from '../../../training/plot/smoothing.js';

describe('smoothedCurve', () => {
  it('is the moving average s⟨i⟩ = 0.95·s⟨i−1⟩ + 0.05·L⟨i⟩ from s⟨1⟩ = L⟨1⟩, by step from 1', () => {
    // 2 → 0.95·2 + 0.05·4 = 2.1 → 0.95·2.1 + 0.05·0 = 1.995
    const points = smoothedCurve([2, 4, 0]);
    expect(points.map(([step]) => step)).toEqual([1, 2, 3]);
    expect(points.map(([, s]) => s)).toEqual([2, expect.closeTo(2.1, 14), expect.closeTo(1.995, 14)]);
    // w = 0.5: 4 → 2 → 1
    expect(smoothedCurve([4, 0, 0], { weight: 0.5 })).toEqual([[1, 4], [2, 2], [3, 1]]);
  });

  it('keeps every ⌊n / maxPoints⌋-th step and the last one', () => {
    const steps = smoothedCurve(new Array<number>(1001).fill(1)).map(([step]) => step);
    // ⌊1001 / 400⌋ = 2: steps 2, 4, …, 1000 and the last, 1001
    expect(steps).toHaveLength(501);
    expect(steps.slice(0, 3)).toEqual([2, 4, 6]);
    expect(steps.slice(-2)).toEqual([1000, 1001]);
    expect(smoothedCurve([1, 2, 3, 4, 5], { maxPoints: 2 }).map(([step]) => step)).toEqual([2, 4, 5]);
  });

  it('restarts after a NaN loss; nothing in, nothing out; refuses a bad weight', () => {
    const points = smoothedCurve([1, NaN, 3, 5], { weight: 0.5 });
    expect(points[1][1]).toBeNaN();
    expect(points.slice(2)).toEqual([[3, 3], [4, 4]]);
    expect(smoothedCurve([])).toEqual([]);
    expect(() => smoothedCurve([1], { weight: 0 })).toThrow('smoothedCurve: expected weight in (0, 1], got 0');
  });
});
