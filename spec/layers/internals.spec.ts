/**
 * The per-step accessors against the notes' equations computed by hand, in plain numbers, for tiny cells
 * (D = 1, H = 1, batch B = 2, T = 3 steps, float64): gates, candidate, states, pre-activations, the per-layer
 * outputs of a stack.
 */
import { describe, expect, it } from 'vitest';
import { Matrix } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import { createCell } from '../../layers/cells/create-cell.js';
import type { CellKind, RecurrentCell } from '../../layers/cells/cell.js';
import { preactivation, stackedLayerOutputs, stackedLayerWorkspaces, stepInternals } from '../../layers/internals.js';
import { createSequenceWorkspace, sequenceBackward, sequenceForward, type SequenceWorkspace } from '../../layers/sequence.js';
import { createStackedRnn, createStackedWorkspace, stackedForward } from '../../layers/stacked.js';

const T = 3, B = 2;
const xs = [[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0]]; // xs[t][b]
const sigma = (v: number): number => 1 / (1 + Math.exp(-v));
const input = (): Matrix => new Matrix(T * B, 1, new Float64Array(xs.flat()));

function cellWith(kind: CellKind, W_x: number[], W_a: number[], b: number[], extra: Record<string, number[]> = {}): RecurrentCell {
  const cell = createCell({ kind, inputSize: 1, hiddenSize: 1 }, { rng: new Rng(1), dtype: 'float64' });
  cell.params.W_x.data.set(W_x);
  cell.params.W_a.data.set(W_a);
  cell.params.b.data.set(b);
  for (const [name, values] of Object.entries(extra)) cell.params[name].data.set(values);
  return cell;
}

/** Row b of preactivation(ws, t), as plain numbers. */
const zRow = (ws: SequenceWorkspace, t: number, b: number): number[] => {
  const z = preactivation(ws, t);
  return Array.from({ length: z.cols }, (_, k) => z.get(b, k));
};

const expectClose = (got: number[], want: number[]): void => {
  expect(got.length).toBe(want.length);
  got.forEach((v, k) => expect(v).toBeCloseTo(want[k], 12));
};

describe('stepInternals and preactivation', () => {
  it('LSTM: Γu, Γf, c̃, Γo, c⟨t⟩, a⟨t⟩ and z⟨t⟩ equal the notes’ equations', () => {
    const [Wx, Wa, bb] = [[0.3, -0.2, 0.8, 0.5], [0.1, 0.4, -0.6, 0.7], [0.05, 1.0, -0.1, 0.2]];
    const cell = cellWith('lstm', Wx, Wa, bb);
    const ws = createSequenceWorkspace(cell, T, B);
    sequenceForward(cell, ws, input());
    for (let b = 0; b < B; b++) {
      let a = 0, c = 0;
      for (let t = 0; t < T; t++) {
        const z = [0, 1, 2, 3].map((k) => Wx[k] * xs[t][b] + Wa[k] * a + bb[k]);
        const [u, f, cc, o] = [sigma(z[0]), sigma(z[1]), Math.tanh(z[2]), sigma(z[3])];
        c = u * cc + f * c;
        a = o * Math.tanh(c);
        const s = stepInternals(ws, t);
        expect(s.update?.get(b, 0)).toBeCloseTo(u, 12);
        expect(s.forget?.get(b, 0)).toBeCloseTo(f, 12);
        expect(s.candidate?.get(b, 0)).toBeCloseTo(cc, 12);
        expect(s.output?.get(b, 0)).toBeCloseTo(o, 12);
        expect(s.c?.get(b, 0)).toBeCloseTo(c, 12);
        expect(s.a.get(b, 0)).toBeCloseTo(a, 12);
        expect(Array.from({ length: 4 }, (_, k) => preactivation(ws, t).get(b, k)).map((v, k) => v - z[k]).every((d) => Math.abs(d) < 1e-12)).toBe(true);
      }
    }
    expect(stepInternals(ws, 0).update?.shape).toEqual([B, 1]);
  });

  it('GRU (the notes’): Γr, Γu, c̃ with Γr ∗ c⟨t−1⟩ inside, c⟨t⟩ = a⟨t⟩, and the c̃ pre-activation', () => {
    const [Wx, Wa, bb] = [[0.6, -0.4, 0.9], [0.3, 0.5, -0.8], [0.1, -0.2, 0.05]];
    const cell = cellWith('gru', Wx, Wa, bb);
    const ws = createSequenceWorkspace(cell, T, B);
    sequenceForward(cell, ws, input());
    for (let b = 0; b < B; b++) {
      let c = 0;
      for (let t = 0; t < T; t++) {
        const r = sigma(Wx[0] * xs[t][b] + Wa[0] * c + bb[0]);
        const u = sigma(Wx[1] * xs[t][b] + Wa[1] * c + bb[1]);
        const zc = Wx[2] * xs[t][b] + Wa[2] * (r * c) + bb[2];
        const cc = Math.tanh(zc);
        const z = preactivation(ws, t);
        c = u * cc + (1 - u) * c;
        const s = stepInternals(ws, t);
        expect(s.reset?.get(b, 0)).toBeCloseTo(r, 12);
        expect(s.update?.get(b, 0)).toBeCloseTo(u, 12);
        expect(s.candidate?.get(b, 0)).toBeCloseTo(cc, 12);
        expect(s.c?.get(b, 0)).toBeCloseTo(c, 12);
        expect(s.a.get(b, 0)).toBeCloseTo(c, 12);
        expect(z.get(b, 2)).toBeCloseTo(zc, 12);
      }
    }
  });

  it('peephole LSTM: z⟨t⟩ carries p_u ∗ c⟨t−1⟩, p_f ∗ c⟨t−1⟩ and p_o ∗ c⟨t⟩ (Gers & Schmidhuber)', () => {
    const [Wx, Wa, bb] = [[0.3, -0.2, 0.8, 0.5], [0.1, 0.4, -0.6, 0.7], [0.05, 1.0, -0.1, 0.2]];
    const [pu, pf, po] = [0.9, -0.7, 1.3];
    const cell = cellWith('lstm-peephole', Wx, Wa, bb, { p_u: [pu], p_f: [pf], p_o: [po] });
    const ws = createSequenceWorkspace(cell, T, B);
    sequenceForward(cell, ws, input());
    for (let b = 0; b < B; b++) {
      let a = 0, c = 0;
      for (let t = 0; t < T; t++) {
        const lin = [0, 1, 2, 3].map((k) => Wx[k] * xs[t][b] + Wa[k] * a + bb[k]);
        const zu = lin[0] + pu * c, zf = lin[1] + pf * c, zc = lin[2];
        const cNext = sigma(zu) * Math.tanh(zc) + sigma(zf) * c;
        const zo = lin[3] + po * cNext;
        expectClose(zRow(ws, t, b), [zu, zf, zc, zo]);
        c = cNext;
        a = sigma(zo) * Math.tanh(c);
        expect(stepInternals(ws, t).a.get(b, 0)).toBeCloseTo(a, 12);
      }
    }
  });

  it('reset-after GRU (PyTorch’s nn.GRU): [r z n] with both biases, n’s recurrent term inside r ∗ (W_hn h + b_hn)', () => {
    const [Wx, Wa, bi, bh] = [[0.6, -0.4, 0.9], [0.3, 0.5, -0.8], [0.1, -0.2, 0.05], [0.15, 0.3, -0.25]];
    const cell = cellWith('gru-reset-after', Wx, Wa, bi, { b_a: bh });
    const ws = createSequenceWorkspace(cell, T, B);
    sequenceForward(cell, ws, input());
    for (let b = 0; b < B; b++) {
      let h = 0;
      for (let t = 0; t < T; t++) {
        const x = xs[t][b];
        const zr = Wx[0] * x + bi[0] + Wa[0] * h + bh[0];
        const zz = Wx[1] * x + bi[1] + Wa[1] * h + bh[1];
        const zn = Wx[2] * x + bi[2] + sigma(zr) * (Wa[2] * h + bh[2]);
        expectClose(zRow(ws, t, b), [zr, zz, zn]);
        h = (1 - sigma(zz)) * Math.tanh(zn) + sigma(zz) * h;
        expect(stepInternals(ws, t).a.get(b, 0)).toBeCloseTo(h, 12);
      }
    }
  });

  it('under a variational recurrent mask z⟨t⟩ reads ã⟨t−1⟩ = a⟨t−1⟩ ∗ m; a layer-normalised cell is refused', () => {
    const cell = cellWith('rnn', [0.7], [-0.5], [0.2]);
    const ws = createSequenceWorkspace(cell, T, B);
    const m = [2, 0];
    sequenceForward(cell, ws, input(), { recurrentMask: new Matrix(B, 1, new Float64Array(m)) });
    for (let b = 0; b < B; b++) {
      let a = 0;
      for (let t = 0; t < T; t++) {
        const z = 0.7 * xs[t][b] - 0.5 * a * m[b] + 0.2;
        a = Math.tanh(z);
        expect(preactivation(ws, t).get(b, 0)).toBeCloseTo(z, 12);
      }
    }
    const normed = createCell({ kind: 'gru-reset-after', inputSize: 1, hiddenSize: 1, layerNorm: true }, { dtype: 'float64' });
    const normedWs = createSequenceWorkspace(normed, T, B);
    sequenceForward(normed, normedWs, input());
    expect(() => preactivation(normedWs, 0)).toThrow("preactivation: expected a cell without layer normalisation, got a layer-normalised 'gru-reset-after'");
  });

  it('token ids (one-hot over D = 2, and through an embedding): z⟨t⟩ = W_x[:, id] + W_a a⟨t−1⟩ + b; read before backward', () => {
    // T·B = 6 ids ≥ D: the runner gathers x⟨t⟩·W_xᵀ per step instead of keeping XP (layers/sequence.ts)
    const ids = new Int32Array([0, 1, 1, 1, 0, 0]);
    const cell = createCell({ kind: 'rnn', inputSize: 2, hiddenSize: 1 }, { rng: new Rng(1), dtype: 'float64' });
    cell.params.W_x.data.set([0.7, -0.3]);
    cell.params.W_a.data.set([-0.5]);
    cell.params.b.data.set([0.2]);
    const E = new Matrix(2, 2, new Float64Array([1, 2, -1, 0.5])); // x = E[id]
    for (const embedding of [null, E]) {
      const ws = createSequenceWorkspace(cell, T, B);
      sequenceForward(cell, ws, ids, { embedding });
      for (let b = 0; b < B; b++) {
        let a = 0;
        for (let t = 0; t < T; t++) {
          const id = ids[t * B + b];
          const wx = embedding === null ? [0.7, -0.3][id] : 0.7 * E.get(id, 0) - 0.3 * E.get(id, 1);
          const z = wx - 0.5 * a + 0.2;
          a = Math.tanh(z);
          expect(preactivation(ws, t).get(b, 0)).toBeCloseTo(z, 12);
        }
      }
      sequenceBackward(cell, ws, Matrix.zeros(T * B, 1, 'float64'), { inputGradient: false });
      expect(() => preactivation(ws, 0)).toThrow('preactivation: expected no backward pass since the forward over token ids');
    }
  });

  it('RNN: z⟨t⟩ = W_x x + W_a a⟨t−1⟩ + b and a⟨t⟩ = tanh(z⟨t⟩); a bad step throws naming the operation', () => {
    const cell = cellWith('rnn', [0.7], [-0.5], [0.2]);
    const ws = createSequenceWorkspace(cell, T, B);
    sequenceForward(cell, ws, input());
    for (let b = 0; b < B; b++) {
      let a = 0;
      for (let t = 0; t < T; t++) {
        const z = 0.7 * xs[t][b] - 0.5 * a + 0.2;
        a = Math.tanh(z);
        expect(preactivation(ws, t).get(b, 0)).toBeCloseTo(z, 12);
        expect(stepInternals(ws, t).a.get(b, 0)).toBeCloseTo(a, 12);
      }
    }
    expect(() => stepInternals(ws, T)).toThrow(/stateAt: expected a step in \[0, 3\], got 4/);
  });
});

describe('a stack’s per-layer outputs', () => {
  it('layer 0 feeds layer 1: y[1] = tanh(W_x y[0] + W_a a + b), and the top layer is the stack’s output', () => {
    const stack = createStackedRnn({ kind: 'rnn', inputSize: 1, hiddenSize: 1, numLayers: 2 }, { rng: new Rng(3), dtype: 'float64' });
    const [l0, l1] = stack.layers.map((layer) => layer.unit as RecurrentCell);
    const ws = createStackedWorkspace(stack, T, B);
    const { outputs } = stackedForward(stack, ws, input());
    const [y0, y1] = stackedLayerOutputs(ws);
    expect(y0.shape).toEqual([T * B, 1]);
    expect(Array.from(y1.data.subarray(y1.offset, y1.offset + T * B))).toEqual(Array.from((outputs as Matrix).data.subarray(0, T * B)));
    const p = (cell: RecurrentCell): number[] => [cell.params.W_x.data[0], cell.params.W_a.data[0], cell.params.b.data[0]];
    const [w0, w1] = [p(l0), p(l1)];
    for (let b = 0; b < B; b++) {
      let a0 = 0, a1 = 0;
      for (let t = 0; t < T; t++) {
        a0 = Math.tanh(w0[0] * xs[t][b] + w0[1] * a0 + w0[2]);
        a1 = Math.tanh(w1[0] * a0 + w1[1] * a1 + w1[2]);
        expect(y0.get(t * B + b, 0)).toBeCloseTo(a0, 12);
        expect(y1.get(t * B + b, 0)).toBeCloseTo(a1, 12);
        expect(stepInternals(stackedLayerWorkspaces(ws, 0)[0], t).a.get(b, 0)).toBeCloseTo(a0, 12);
      }
    }
    expect(() => stackedLayerWorkspaces(ws, 2)).toThrow(/stackedLayerWorkspaces: expected a layer in \[0, 1\], got 2/);
  });
});
