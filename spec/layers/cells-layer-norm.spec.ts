/**
 * The layer-normalised cells against Ba, Kiros & Hinton (2016)'s LSTM equations written out here with
 * plain arrays (nothing shared with layers/), against a hand computation, and their guards.
 *   (i f g o) = LN(W_h h⟨t−1⟩; α1, β1) + LN(W_x x⟨t⟩; α2, β2) + b
 *   c⟨t⟩ = σ(f) ⊙ c⟨t−1⟩ + σ(i) ⊙ tanh(g),   h⟨t⟩ = σ(o) ⊙ tanh(LN(c⟨t⟩; α3, β3))
 */
import { describe, expect, it } from 'vitest';
import { Matrix } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import { createCell } from '../../layers/cells/create-cell.js';
import { createSequenceWorkspace, sequenceForward } from '../../layers/sequence.js';
import { createStackedRnn } from '../../layers/stacked.js';
import { add, matVec, mul, type Vec } from './cells-reference.js';

const sigma = (v: number): number => 1 / (1 + Math.exp(-v));

/** LN(v; α, β) with the biased variance and ε = 1e−5 (the paper's and PyTorch's). */
function ln(v: Vec, alpha: Vec, beta: Vec): Vec {
  const mu = v.reduce((s, x) => s + x, 0) / v.length;
  const variance = v.reduce((s, x) => s + (x - mu) ** 2, 0) / v.length;
  return v.map((x, j) => (alpha[j] * (x - mu)) / Math.sqrt(variance + 1e-5) + beta[j]);
}

const rows = (m: Matrix): number[][] => m.toArray();
const row = (m: Matrix): Vec => m.toArray()[0];

function randomize(params: Record<string, Matrix>, rng: Rng): void {
  for (const p of Object.values(params)) for (let i = 0; i < p.data.length; i++) p.data[i] = rng.uniformIn(-1, 1);
}

const T = 4, B = 2, D = 3, H = 2;

function inputs(rng: Rng): Matrix {
  const x = Matrix.zeros(T * B, D, 'float64');
  for (let i = 0; i < x.data.length; i++) x.data[i] = rng.uniformIn(-1.5, 1.5);
  return x;
}

describe('layer-normalised LSTM (Ba et al. 2016)', () => {
  it("matches the paper's equations (written out with arrays) on every output and the final c", () => {
    const rng = new Rng(5);
    const cell = createCell({ kind: 'lstm', inputSize: D, hiddenSize: H, layerNorm: true }, { rng, dtype: 'float64' });
    randomize(cell.params, rng);
    const x = inputs(rng);
    const { outputs, finalState } = sequenceForward(cell, createSequenceWorkspace(cell, T, B), x);
    const P = cell.params;
    for (let b = 0; b < B; b++) {
      let h: Vec = [0, 0], c: Vec = [0, 0];
      for (let t = 0; t < T; t++) {
        const xt = x.toArray()[t * B + b];
        const pre = add(
          ln(matVec(rows(P.W_a), h), row(P['layernorm_h.weight']), row(P['layernorm_h.bias'])),
          ln(matVec(rows(P.W_x), xt), row(P['layernorm_i.weight']), row(P['layernorm_i.bias'])),
          row(P.b),
        );
        const i = pre.slice(0, H).map(sigma), f = pre.slice(H, 2 * H).map(sigma);
        const g = pre.slice(2 * H, 3 * H).map(Math.tanh), o = pre.slice(3 * H).map(sigma);
        c = add(mul(f, c), mul(i, g));
        h = mul(o, ln(c, row(P['layernorm_c.weight']), row(P['layernorm_c.bias'])).map(Math.tanh));
        for (let j = 0; j < H; j++) expect(outputs.get(t * B + b, j)).toBeCloseTo(h[j], 12);
      }
      for (let j = 0; j < H; j++) expect(finalState[1].get(b, j)).toBeCloseTo(c[j], 12);
    }
  });

  it('by hand, H = 1: LN of one value is its bias, so a⟨t⟩ = Γo · tanh(β_c) whatever c⟨t⟩ is', () => {
    const cell = createCell({ kind: 'lstm', inputSize: 1, hiddenSize: 1, layerNorm: true }, { rng: new Rng(1), dtype: 'float64' });
    // With one unit per gate block the LN of the 4 gate pre-activations still mixes them; pin them:
    // W_x = 0, W_a = 0 → both LNs see (0, 0, 0, 0) → x̂ = 0, so z = β_i + β_h + b.
    cell.params.W_x.data.fill(0);
    cell.params.W_a.data.fill(0);
    cell.params.b.data.set([0.5, -1, 2, 1]); // [u f c o]
    cell.params['layernorm_c.bias'].data[0] = 0.3;
    const ws = createSequenceWorkspace(cell, 1, 1);
    const h0 = [Matrix.fromArray([[0]], 'float64'), Matrix.fromArray([[0.7]], 'float64')];
    const { outputs, finalState } = sequenceForward(cell, ws, Matrix.fromArray([[1]], 'float64'), { h0 });
    const c = sigma(-1) * 0.7 + sigma(0.5) * Math.tanh(2); // c = Γf c⟨0⟩ + Γu c̃
    expect(finalState[1].get(0, 0)).toBeCloseTo(c, 14);
    expect(outputs.get(0, 0)).toBeCloseTo(sigma(1) * Math.tanh(0.3), 14);
  });

  it('has its own gain/bias parameters under PyTorch-style names, gains 1 and biases 0 at the start', () => {
    const cell = createCell({ kind: 'lstm', inputSize: D, hiddenSize: H, layerNorm: true, forgetBias: 1 }, { rng: new Rng(1) });
    expect(Object.keys(cell.params)).toEqual([
      'W_x', 'W_a', 'b', 'layernorm_i.weight', 'layernorm_i.bias', 'layernorm_h.weight', 'layernorm_h.bias', 'layernorm_c.weight', 'layernorm_c.bias',
    ]);
    expect(Array.from(cell.params['layernorm_i.weight'].data)).toEqual(new Array(4 * H).fill(1));
    expect(Array.from(cell.params['layernorm_c.bias'].data)).toEqual(new Array(H).fill(0));
    expect(Array.from(cell.params.b.data.subarray(H, 2 * H))).toEqual([1, 1]);
    expect(cell.config.layerNorm).toBe(true);
  });
});

describe('layer-normalised GRU (reset-after)', () => {
  it('matches u = LN(W_x x) + b, v = LN(W_a a) + b_a, r, z = σ(u + v), n = tanh(u_n + r ∗ v_n), a = (1 − z) n + z a', () => {
    const rng = new Rng(8);
    const cell = createCell({ kind: 'gru-reset-after', inputSize: D, hiddenSize: H, layerNorm: true }, { rng, dtype: 'float64' });
    randomize(cell.params, rng);
    const x = inputs(rng);
    const { outputs } = sequenceForward(cell, createSequenceWorkspace(cell, T, B), x);
    const P = cell.params;
    for (let b = 0; b < B; b++) {
      let a: Vec = [0, 0];
      for (let t = 0; t < T; t++) {
        const xt = x.toArray()[t * B + b];
        const u = add(ln(matVec(rows(P.W_x), xt), row(P['layernorm_i.weight']), row(P['layernorm_i.bias'])), row(P.b));
        const v = add(ln(matVec(rows(P.W_a), a), row(P['layernorm_h.weight']), row(P['layernorm_h.bias'])), row(P.b_a));
        const r = add(u.slice(0, H), v.slice(0, H)).map(sigma);
        const z = add(u.slice(H, 2 * H), v.slice(H, 2 * H)).map(sigma);
        const n = add(u.slice(2 * H), mul(r, v.slice(2 * H))).map(Math.tanh);
        a = a.map((aj, j) => (1 - z[j]) * n[j] + z[j] * aj);
        for (let j = 0; j < H; j++) expect(outputs.get(t * B + b, j)).toBeCloseTo(a[j], 12);
      }
    }
  });

  it('is offered for lstm and gru-reset-after only; token ids run the same as one-hot rows', () => {
    expect(() => createCell({ kind: 'gru', inputSize: D, hiddenSize: H, layerNorm: true }, { rng: new Rng(1) })).toThrow(/layerNorm only for kinds lstm, gru-reset-after, got kind 'gru'/);
    const stack = createStackedRnn({ kind: 'lstm', inputSize: 5, hiddenSize: H, rng: new Rng(2), dtype: 'float64', layerNorm: true });
    const cell = stack.layers[0].unit as ReturnType<typeof createCell>;
    randomize(cell.params, new Rng(3));
    const ids = Int32Array.from([0, 4, 2, 2, 1, 3]);
    const oneHot = Matrix.zeros(ids.length, 5, 'float64');
    ids.forEach((id, r) => oneHot.set(r, id, 1));
    const viaIds = sequenceForward(cell, createSequenceWorkspace(cell, 3, 2), ids).outputs.clone();
    const viaRows = sequenceForward(cell, createSequenceWorkspace(cell, 3, 2), oneHot).outputs;
    expect(Array.from(viaIds.data)).toEqual(Array.from(viaRows.data));
  });
});
