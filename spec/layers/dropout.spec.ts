import { describe, expect, it } from 'vitest';
import { Matrix } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import {
  DROPOUT_FIXED, DROPOUT_OFF, createDropoutWorkspace, dropoutBackward, dropoutForward,
} from '../../layers/dropout.js';

describe('inverted dropout', () => {
  it('training keeps about 1 − p of the entries, scaled by 1/(1 − p); the same seed gives the same mask', () => {
    const p = 0.3, rows = 200, cols = 50;
    const x = Matrix.zeros(rows, cols, 'float64');
    x.data.fill(2);
    const a = createDropoutWorkspace({ p, rows, cols }, { dtype: 'float64' });
    const y = dropoutForward(Matrix.zeros(rows, cols, 'float64'), a, x, { kind: 'sample', rng: new Rng(7) });
    let kept = 0, other = 0;
    for (const v of y.data) {
      if (v !== 0) kept++;
      if (v !== 0 && Math.abs(v - 2 / 0.7) > 1e-15) other++;
    }
    expect(other).toBe(0);
    const share = kept / (rows * cols); // binomial: sd √(0.21 / 10000) ≈ 0.0046
    expect(Math.abs(share - 0.7)).toBeLessThan(0.02);
    const b = createDropoutWorkspace({ p, rows, cols }, { dtype: 'float64' });
    dropoutForward(Matrix.zeros(rows, cols, 'float64'), b, x, { kind: 'sample', rng: new Rng(7) });
    expect(b.mask.data).toEqual(a.mask.data);
  });

  it('evaluation is the identity, forward and backward; a fixed mask is reused as is', () => {
    const ws = createDropoutWorkspace({ p: 0.5, rows: 1, cols: 3 }, { dtype: 'float64' });
    ws.mask.data.set([2, 0, 2]);
    const x = Matrix.fromArray([[1, 2, 3]], 'float64');
    expect(dropoutForward(Matrix.zeros(1, 3, 'float64'), ws, x, DROPOUT_OFF).toArray()).toEqual([[1, 2, 3]]);
    const dx = Matrix.fromArray([[1, 1, 1]], 'float64');
    dropoutBackward(dx, ws, Matrix.fromArray([[1, 2, 3]], 'float64'));
    expect(dx.toArray()).toEqual([[2, 3, 4]]);
    expect(dropoutForward(Matrix.zeros(1, 3, 'float64'), ws, x, DROPOUT_FIXED).toArray()).toEqual([[2, 0, 6]]);
    dropoutBackward(dx, ws, Matrix.fromArray([[1, 2, 3]], 'float64'));
    expect(dx.toArray()).toEqual([[4, 3, 10]]);
  });

  it('rejects p outside [0, 1) naming the op', () => {
    expect(() => createDropoutWorkspace({ p: 1, rows: 2, cols: 2 })).toThrow('createDropoutWorkspace: expected a dropout probability in [0, 1), got 1');
  });
});
