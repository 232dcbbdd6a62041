import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import type { CellKind } from '../../layers/cells/cell.js';
import { runGradCheckCases } from '../../training/check/gradcheck.js';
import { CELL_CASE_SHAPE, cellCase } from '../../training/check/cases/cells-cases.js';
import { dropRecurrentTerm } from '../../playground/broken-backward.js';

const KINDS: [string, CellKind, { activation?: 'tanh' | 'relu' }][] = [
  ['RNN (tanh)', 'rnn', { activation: 'tanh' }],
  ['RNN (relu)', 'rnn', { activation: 'relu' }],
  ['GRU', 'gru', {}],
  ['GRU (simplified)', 'gru-simple', {}],
  ['GRU (reset-after)', 'gru-reset-after', {}],
  ['LSTM', 'lstm', {}],
  ['LSTM (peephole)', 'lstm-peephole', {}],
];

describe('the playground\'s broken backward pass (drops ∂L/∂a⟨t−1⟩)', () => {
  for (const [op, kind, extra] of KINDS) {
    it(`${op}: every row passes as written; broken, h0 gets no gradient and the check fails`, () => {
      const good = runGradCheckCases([cellCase(op, kind, extra)], 11);
      expect(good.filter((r) => !r.pass).map((r) => r.name)).toEqual([]);
      const broken = runGradCheckCases([cellCase(op, kind, extra, CELL_CASE_SHAPE, dropRecurrentTerm)], 11);
      const h0 = broken.find((r) => r.name === 'h0')!;
      // h0 reaches the loss only through a⟨0⟩'s successors: with the term gone its analytic gradient is 0.
      expect(h0.analyticNorm).toBe(0);
      expect(h0.numericNorm).toBeGreaterThan(1e-3);
      expect(h0.pass).toBe(false);
    });
  }

  it('leaves the forward pass alone: the loss is the unbroken cell\'s', () => {
    const plain = cellCase('LSTM', 'lstm').build(new Rng(5));
    const broken = cellCase('LSTM', 'lstm', {}, CELL_CASE_SHAPE, dropRecurrentTerm).build(new Rng(5));
    expect(broken.loss()).toBe(plain.loss());
  });
});
