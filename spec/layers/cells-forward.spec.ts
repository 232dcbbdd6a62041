import { describe, expect, it } from 'vitest';
import { Matrix } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import type { CellKind, RecurrentCell } from '../../layers/cells/cell.js';
import { createCell, CELL_KINDS } from '../../layers/cells/create-cell.js';
import { createSequenceWorkspace, sequenceForward } from '../../layers/sequence.js';
import {
  maxDiff, refGru, refGruResetAfter, refGruSimple, refLstm, refRnn, rowOf, uniformMatrix,
  type RefResult, type Vec,
} from './cells-reference.js';

const T = 5, B = 3, D = 3, H = 4;

interface Variant { label: string; kind: CellKind; activation?: 'tanh' | 'relu' }
const VARIANTS: Variant[] = [
  { label: 'rnn tanh', kind: 'rnn', activation: 'tanh' },
  { label: 'rnn relu', kind: 'rnn', activation: 'relu' },
  { label: 'gru (notes)', kind: 'gru' },
  { label: 'gru-simple', kind: 'gru-simple' },
  { label: 'gru-reset-after', kind: 'gru-reset-after' },
  { label: 'lstm', kind: 'lstm' },
  { label: 'lstm-peephole', kind: 'lstm-peephole' },
];

function reference(v: Variant, cell: RecurrentCell, xs: Vec[], s0: Vec[]): RefResult {
  const p = cell.params;
  switch (v.kind) {
    case 'rnn': return refRnn(p, H, v.activation ?? 'tanh', xs, s0[0]);
    case 'gru': return refGru(p, H, xs, s0[0]);
    case 'gru-simple': return refGruSimple(p, H, xs, s0[0]);
    case 'gru-reset-after': return refGruResetAfter(p, H, xs, s0[0]);
    case 'lstm': return refLstm(p, H, false, xs, s0[0], s0[1]);
    case 'lstm-peephole': return refLstm(p, H, true, xs, s0[0], s0[1]);
  }
}

/** Runner vs reference, sample by sample; returns the largest absolute difference. */
function compare(v: Variant, dtype: 'float32' | 'float64', seed: number): number {
  const rng = new Rng(seed);
  const cell = createCell({ kind: v.kind, inputSize: D, hiddenSize: H, activation: v.activation }, { rng, dtype });
  for (const p of Object.values(cell.params)) p.data.set(uniformMatrix(rng, p.rows, p.cols, 0.9).data);
  const x = uniformMatrix(rng, T * B, D, 1.5, dtype);
  const h0 = Array.from({ length: cell.stateCount }, () => uniformMatrix(rng, B, H, 0.9, dtype));
  const { outputs, finalState } = sequenceForward(cell, createSequenceWorkspace(cell, T, B), x, { h0 });
  let worst = 0;
  for (let b = 0; b < B; b++) {
    const xs = Array.from({ length: T }, (_, t) => rowOf(x, t, b, B));
    const ref = reference(v, cell, xs, h0.map((s) => s.toArray()[b]));
    const got = Array.from({ length: T }, (_, t) => rowOf(outputs, t, b, B));
    worst = Math.max(worst, maxDiff(got, ref.outputs));
    worst = Math.max(worst, maxDiff(finalState.map((s) => s.toArray()[b]), ref.final));
  }
  return worst;
}

describe('cells: forward values against straightforward per-sample implementations of the equations', () => {
  for (const v of VARIANTS) {
    it(`${v.label}: float64 matches to 1e-12`, () => {
      expect(compare(v, 'float64', 11)).toBeLessThan(1e-12);
    });
    it(`${v.label}: float32 matches to 1e-5`, () => {
      expect(compare(v, 'float32', 12)).toBeLessThan(1e-5);
    });
  }

  it('a hand-computed RNN step: H = D = 1, tanh(0.5·0.2 + 2·1 + 0.1)', () => {
    const cell = createCell({ kind: 'rnn', inputSize: 1, hiddenSize: 1 }, { rng: new Rng(0), dtype: 'float64' });
    cell.params.W_a.set(0, 0, 0.5);
    cell.params.W_x.set(0, 0, 2);
    cell.params.b.set(0, 0, 0.1);
    const x = Matrix.fromArray([[1], [-1]], 'float64');
    const { outputs } = sequenceForward(cell, createSequenceWorkspace(cell, 2, 1), x, {
      h0: [Matrix.fromArray([[0.2]], 'float64')],
    });
    const a1 = Math.tanh(0.5 * 0.2 + 2 * 1 + 0.1);
    expect(outputs.get(0, 0)).toBeCloseTo(a1, 14);
    expect(outputs.get(1, 0)).toBeCloseTo(Math.tanh(0.5 * a1 - 2 + 0.1), 14);
  });

  it('a hand-computed LSTM step with zero weights: gates 0.5, c = 0.5·tanh(0) + 0.5·c0', () => {
    const cell = createCell({ kind: 'lstm', inputSize: 1, hiddenSize: 1 }, { rng: new Rng(0), dtype: 'float64' });
    for (const p of Object.values(cell.params)) p.data.fill(0);
    cell.params.b.set(0, 2, 1); // b_c = 1: c̃ = tanh(1)
    const { finalState } = sequenceForward(cell, createSequenceWorkspace(cell, 1, 1), Matrix.zeros(1, 1, 'float64'), {
      h0: [Matrix.fromArray([[0]], 'float64'), Matrix.fromArray([[0.4]], 'float64')],
    });
    const c = 0.5 * Math.tanh(1) + 0.5 * 0.4;
    expect(finalState[1].get(0, 0)).toBeCloseTo(c, 14);
    expect(finalState[0].get(0, 0)).toBeCloseTo(0.5 * Math.tanh(c), 14);
  });
});

describe('cells: construction and initialisation', () => {
  const widths: Record<CellKind, number> = {
    rnn: H, gru: 3 * H, 'gru-simple': 2 * H, 'gru-reset-after': 3 * H, lstm: 4 * H, 'lstm-peephole': 4 * H,
  };
  for (const kind of CELL_KINDS) {
    it(`${kind}: fused shapes, gradient buffers and config`, () => {
      const cell = createCell({ kind, inputSize: D, hiddenSize: H }, { rng: new Rng(1) });
      expect(cell.kind).toBe(kind);
      expect(cell.gateWidth).toBe(widths[kind]);
      expect(cell.params.W_x.shape).toEqual([widths[kind], D]);
      expect(cell.params.W_a.shape).toEqual([widths[kind], H]);
      expect(cell.params.b.shape).toEqual([1, widths[kind]]);
      expect(cell.stateCount).toBe(kind.startsWith('lstm') ? 2 : 1);
      expect(Object.keys(cell.grads)).toEqual(Object.keys(cell.params));
      expect(cell.config).toMatchObject({ kind, inputSize: D, hiddenSize: H, dtype: 'float32' });
      const rebuilt = createCell(cell.config, { rng: new Rng(99) });
      expect(rebuilt.config).toEqual(cell.config);
      expect(Object.values(rebuilt.params).map((p) => p.shape)).toEqual(Object.values(cell.params).map((p) => p.shape));
      // 'pytorch' init: every entry in U(−1/√H, 1/√H), and not all zero.
      for (const p of Object.values(cell.params)) {
        for (const v of p.data) expect(Math.abs(v)).toBeLessThanOrEqual(1 / Math.sqrt(H));
        expect(p.data.some((v) => v !== 0)).toBe(true);
      }
    });
  }

  it('peephole weights exist only for lstm-peephole, b_a only for gru-reset-after', () => {
    const rng = new Rng(2);
    expect(Object.keys(createCell({ kind: 'lstm-peephole', inputSize: 2, hiddenSize: 3 }, { rng }).params).sort())
      .toEqual(['W_a', 'W_x', 'b', 'p_f', 'p_o', 'p_u']);
    expect(Object.keys(createCell({ kind: 'lstm', inputSize: 2, hiddenSize: 3 }, { rng }).params).sort()).toEqual(['W_a', 'W_x', 'b']);
    expect(createCell({ kind: 'gru-reset-after', inputSize: 2, hiddenSize: 3 }, { rng }).params.b_a.shape).toEqual([1, 9]);
  });

  it('IRNN: W_aa = I, b = 0, W_ax small Gaussian (std 0.001)', () => {
    const cell = createCell({
      kind: 'rnn', inputSize: 50, hiddenSize: 40, init: 'irnn', activation: 'relu',
    }, { rng: new Rng(3) });
    for (let i = 0; i < 40; i++) for (let j = 0; j < 40; j++) expect(cell.params.W_a.get(i, j)).toBe(i === j ? 1 : 0);
    expect(cell.params.b.data.every((v) => v === 0)).toBe(true);
    const w = Array.from(cell.params.W_x.data);
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(std).toBeGreaterThan(0.0009);
    expect(std).toBeLessThan(0.0011);
  });

  it('forgetBias sets exactly the Γf block of b (second block of [i f g o])', () => {
    const cell = createCell({ kind: 'lstm', inputSize: 2, hiddenSize: 3, forgetBias: 1 }, { rng: new Rng(4) });
    const b = cell.params.b.toArray()[0];
    expect(b.slice(3, 6)).toEqual([1, 1, 1]);
    for (const v of [...b.slice(0, 3), ...b.slice(6)]) expect(Math.abs(v)).toBeLessThan(1);
  });

  it("'xavier': each gate block within ±√(6/(fan_in + fan_out)), biases 0", () => {
    const cell = createCell({ kind: 'gru', inputSize: 6, hiddenSize: 10, init: 'xavier' }, { rng: new Rng(5) });
    const limitX = Math.sqrt(6 / (10 + 6)), limitA = Math.sqrt(6 / (10 + 10));
    for (const v of cell.params.W_x.data) expect(Math.abs(v)).toBeLessThanOrEqual(limitX);
    for (const v of cell.params.W_a.data) expect(Math.abs(v)).toBeLessThanOrEqual(limitA);
    expect(Math.max(...cell.params.W_a.data.map(Math.abs))).toBeGreaterThan(0.8 * limitA);
    expect(cell.params.b.data.every((v) => v === 0)).toBe(true);
  });

  it('the same seed gives the same weights', () => {
    const a = createCell({ kind: 'lstm', inputSize: 3, hiddenSize: 4 }, { rng: new Rng(9) });
    const b = createCell({ kind: 'lstm', inputSize: 3, hiddenSize: 4 }, { rng: new Rng(9) });
    expect(Array.from(a.params.W_a.data)).toEqual(Array.from(b.params.W_a.data));
  });
});
