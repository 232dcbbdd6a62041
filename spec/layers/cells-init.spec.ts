import { describe, expect, it } from 'vitest';
import { gemm } from '../../engine/gemm.js';
import { Matrix } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import { createCell } from '../../layers/cells/create-cell.js';
import { CELL_KINDS } from '../../layers/cells/create-cell.js';

/** max |QQᵀ − I| of a square block. */
function offIdentity(q: Matrix): number {
  const p = gemm(Matrix.zeros(q.rows, q.rows, 'float64'), q, q, false, true);
  let worst = 0;
  for (let r = 0; r < p.rows; r++) for (let c = 0; c < p.cols; c++) worst = Math.max(worst, Math.abs(p.get(r, c) - (r === c ? 1 : 0)));
  return worst;
}

describe('cell initialisations (createCell)', () => {
  const H = 6, D = 4;

  it("'orthogonal': every gate's [H, H] block of W_a is orthogonal, for every kind", () => {
    for (const kind of CELL_KINDS) {
      const cell = createCell({ kind, inputSize: D, hiddenSize: H, init: 'orthogonal' }, { rng: new Rng(1), dtype: 'float64' });
      const W = cell.params.W_a;
      for (let g = 0; g < W.rows / H; g++) expect(offIdentity(W.rowView(g * H, H)), `${kind} gate ${g}`).toBeLessThan(1e-12);
      // The default U(±1/√H) block is far from orthogonal.
      const plain = createCell({ kind, inputSize: D, hiddenSize: H }, { rng: new Rng(1), dtype: 'float64' });
      expect(offIdentity(plain.params.W_a.rowView(0, H))).toBeGreaterThan(0.3);
    }
  });

  it('recurrentScale multiplies W_a after initialisation (and nothing else)', () => {
    const base = createCell({ kind: 'rnn', inputSize: D, hiddenSize: H }, { rng: new Rng(2), dtype: 'float64' });
    const big = createCell({ kind: 'rnn', inputSize: D, hiddenSize: H, recurrentScale: 3 }, { rng: new Rng(2), dtype: 'float64' });
    expect(big.params.W_a.toArray()).toEqual(base.params.W_a.toArray().map((row) => row.map((v) => 3 * v)));
    expect(big.params.W_x.toArray()).toEqual(base.params.W_x.toArray());
  });

  it("pytorchBiasPair: b drawn as b_ih + b_hh after the weights (the reset-after GRU keeps its two biases)", () => {
    const k = 1 / Math.sqrt(H);
    const cell = createCell({ kind: 'lstm', inputSize: D, hiddenSize: H, pytorchBiasPair: true }, { rng: new Rng(3), dtype: 'float64' });
    const plain = createCell({ kind: 'lstm', inputSize: D, hiddenSize: H }, { rng: new Rng(3), dtype: 'float64' });
    expect(cell.params.W_a.toArray()).toEqual(plain.params.W_a.toArray());
    // Replay the generator: W_x, W_a, b (one draw each, as the plain cell), then two draws per entry of b.
    const r = new Rng(3);
    for (let i = 0; i < 4 * H * (D + H + 1); i++) r.uniformIn(-k, k);
    const want = Array.from({ length: 4 * H }, () => r.uniformIn(-k, k) + r.uniformIn(-k, k));
    expect(Array.from(cell.params.b.data)).toEqual(want);
    const gru = createCell({ kind: 'gru-reset-after', inputSize: D, hiddenSize: H, pytorchBiasPair: true }, { rng: new Rng(3), dtype: 'float64' });
    expect(gru.params.b.toArray()).toEqual(createCell({ kind: 'gru-reset-after', inputSize: D, hiddenSize: H }, { rng: new Rng(3), dtype: 'float64' }).params.b.toArray());
  });

  it('rejects combinations that mean nothing, in one line', () => {
    const opts = { inputSize: D, hiddenSize: H };
    expect(() => createCell({ kind: 'lstm', ...opts, pytorchBiasPair: true, forgetBias: 1 })).toThrow(/createCell: expected either pytorchBiasPair .* or forgetBias, got both/);
    expect(() => createCell({ kind: 'lstm', ...opts, init: 'orthogonal', pytorchBiasPair: true })).toThrow(/createCell: expected pytorchBiasPair only with init 'pytorch', got init 'orthogonal'/);
    expect(() => createCell({ kind: 'gru', ...opts, init: 'irnn' })).toThrow(/createCell: expected init 'irnn' only for kind 'rnn', got kind 'gru'/);
    expect(() => createCell({ kind: 'rnn', ...opts, init: 'he' as never })).toThrow(/createCell: expected init among pytorch, xavier, irnn, orthogonal, got 'he'/);
    expect(() => createCell({ kind: 'rnn', ...opts, recurrentScale: Number.NaN })).toThrow(/createCell: expected a finite recurrentScale, got NaN/);
  });
});
