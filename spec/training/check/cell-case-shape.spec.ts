import { describe, expect, it } from 'vitest';
import { Matrix } from '../../../engine/matrix.js';
import type { RecurrentCell } from '../../../layers/cells/cell.js';
import { gradCheck, runGradCheckCases } from '../../../training/check/gradcheck.js';
import { CELL_CASE_SHAPE, cellCase } from '../../../training/check/cases/cells-cases.js';

describe('cell gradient-check cases of any shape', () => {
  it('pass for other sizes, with and without a mask', () => {
    const shape = { steps: 5, batch: 2, inputSize: 2, hidden: 3, lengths: [5, 2] };
    const masked = runGradCheckCases([cellCase('GRU', 'gru', {}, shape)], 7);
    const unmasked = runGradCheckCases([cellCase('LSTM', 'lstm', {}, { ...shape, lengths: null })], 7);
    for (const row of [...masked, ...unmasked]) expect(row.relError, row.name).toBeLessThanOrEqual(1e-7);
    expect(masked.map((r) => r.name)).toEqual(['W_x', 'W_a', 'b', 'x', 'h0']);
    expect(unmasked.map((r) => r.name)).toEqual(['W_x', 'W_a', 'b', 'x', 'h0', 'c0']);
  });

  it('fail where a wrapped cell\'s backward drops ∂L/∂a⟨t−1⟩', () => {
    const dropRecurrentTerm = (cell: RecurrentCell): RecurrentCell => {
      const wrapped = Object.create(cell) as RecurrentCell & { stepBackward: RecurrentCell['stepBackward'] };
      wrapped.stepBackward = (ws, t, dNext, dxp, dPrev, prev, next) => {
        cell.stepBackward(ws, t, dNext, dxp, dPrev, prev, next);
        dPrev[0].data.fill(0);
      };
      return wrapped;
    };
    const rows = runGradCheckCases([cellCase('RNN', 'rnn', {}, CELL_CASE_SHAPE, dropRecurrentTerm)], 7);
    const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
    // h0 reaches the loss only through ∂L/∂a⟨t−1⟩: its analytic gradient is now 0, its numeric one is not.
    expect(byName.h0.analyticNorm).toBe(0);
    expect(byName.h0.numericNorm).toBeGreaterThan(0.01);
    expect(byName.h0.pass).toBe(false);
    expect(byName.W_a.pass).toBe(false);
  });

  it('rejects lengths that do not fit T and B', () => {
    expect(() => cellCase('RNN', 'rnn', {}, { ...CELL_CASE_SHAPE, lengths: [7, 1, 1] })).toThrow(/expected 3 lengths in \[0, 6\], got \[7, 1, 1\]/);
  });
});

describe('gradCheck reports ‖g‖ and ‖n‖', () => {
  it('for L = Σ w·θ both are ‖w‖ (g = w exactly, n = w up to rounding)', () => {
    const theta = Matrix.fromArray([[0.3, -1.2], [2, 0.5]], 'float64');
    const w = Matrix.fromArray([[3, 0], [-4, 12]], 'float64');
    const [result] = gradCheck({
      params: { theta },
      loss: () => theta.toArray().flat().reduce((s, v, i) => s + v * w.toArray().flat()[i], 0),
      gradients: () => ({ theta: w }),
    });
    expect(result.analyticNorm).toBe(13);
    expect(result.numericNorm).toBeCloseTo(13, 8);
  });
});
