import { describe, expect, it } from 'vitest';
import { gradientFlow, gradientFlowViaRunner } from '../../../training/check/gradflow.js';

describe('gradflow options: recurrent weight scale, activation and initialisation', () => {
  it('scales ∂L/∂a⟨0⟩ of a one-step RNN by |s| (a⟨0⟩ = 0, so a⟨1⟩ does not depend on W_aa)', () => {
    const base = gradientFlow({ cell: 'rnn', steps: 1, hidden: 5, seed: 3 });
    for (const s of [0.5, 3, -2]) {
      const scaled = gradientFlow({ cell: 'rnn', steps: 1, hidden: 5, seed: 3, recurrentScale: s });
      expect(scaled.norms[0]).toBeCloseTo(Math.abs(s) * base.norms[0], 12);
    }
  });

  it('with W_aa scaled to 0 nothing reaches the earlier steps of an RNN or a GRU\'s recurrent path… but the GRU keeps its (1 − Γu) path', () => {
    const rnn = gradientFlow({ cell: 'rnn', steps: 6, hidden: 4, seed: 2, recurrentScale: 0 });
    expect(rnn.norms.slice(0, 6)).toEqual([0, 0, 0, 0, 0, 0]);
    const gru = gradientFlow({ cell: 'gru', steps: 6, hidden: 4, seed: 2, recurrentScale: 0 });
    expect(gru.norms[0]).toBeGreaterThan(0);
  });

  it('a ReLU RNN agrees with the runner-only computation, and differs from the tanh RNN', () => {
    const opts = { cell: 'rnn' as const, steps: 12, hidden: 6, seed: 4, activation: 'relu' as const, recurrentScale: 1.5 };
    const direct = gradientFlow(opts).norms;
    const viaRunner = gradientFlowViaRunner(opts).norms;
    direct.forEach((n, t) => expect(viaRunner[t]).toBeCloseTo(n, 10));
    const tanh = gradientFlow({ ...opts, activation: 'tanh' }).norms;
    expect(tanh[0]).not.toBeCloseTo(direct[0], 6);
  });

  it('explodes with a ReLU IRNN scaled above 1: each step multiplies the gradient by at most s, and it grows by orders of magnitude', () => {
    const s = 1.2, T = 50;
    const { norms } = gradientFlow({ cell: 'rnn', steps: T, hidden: 16, seed: 5, init: 'irnn', activation: 'relu', recurrentScale: s });
    // ∂L/∂a⟨t−1⟩ = ∂L/∂a⟨t⟩·diag(1[z⟨t⟩ > 0])·sI: a step keeps the active units' part, times s.
    for (let t = T; t > 0; t--) expect(norms[t - 1]).toBeLessThanOrEqual(s * norms[t] * (1 + 1e-12));
    expect(norms[0]).toBeGreaterThan(100);
    // The same cell with PyTorch's init and tanh vanishes instead.
    expect(gradientFlow({ cell: 'rnn', steps: T, hidden: 16, seed: 5 }).norms[0]).toBeLessThan(1e-5);
  });

  it('orthogonal init: the step-kernel pass and the runner agree, and it keeps far more of the RNN gradient than U(±1/√H)', () => {
    const opts = { cell: 'rnn' as const, steps: 30, hidden: 16, seed: 6, init: 'orthogonal' as const };
    const direct = gradientFlow(opts).norms;
    gradientFlowViaRunner(opts).norms.forEach((n, t) => expect(n).toBeCloseTo(direct[t], 10));
    expect(direct[0]).toBeGreaterThan(1e3 * gradientFlow({ ...opts, init: 'pytorch' }).norms[0]);
  });

  it('rejects a non-finite scale and an activation for a gated cell, naming them', () => {
    expect(() => gradientFlow({ cell: 'rnn', steps: 3, recurrentScale: NaN })).toThrow(/recurrentScale, got NaN/);
    expect(() => gradientFlow({ cell: 'lstm', steps: 3, activation: 'relu' })).toThrow(/activation only for kind 'rnn'/);
  });
});
