import { describe, expect, it } from 'vitest';
import { Matrix, Rng } from '../../engine/index.js';
import { sourceMaskFromLengths } from '../../layers/attention/attention.js';
import {
  addPositionalBackward, addPositionalForward, averageAttentionWeights, causalMask, createLearnedPositionalEmbedding,
  createMhaWorkspace, createMultiheadAttention, createSdpaWorkspace, headAttentionWeights,
  multiheadAttentionBackward, multiheadAttentionForward, scaledDotProductAttentionForward,
  sinusoidalPositionalEncoding, zeroMultiheadAttentionGrads,
} from '../../layers/attention/multihead.js';

function random(rng: Rng, rows: number, cols: number): Matrix {
  const m = Matrix.zeros(rows, cols, 'float64');
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.uniformIn(-1, 1);
  return m;
}

function maxDiff(a: number[][], b: number[][]): number {
  let d = 0;
  a.forEach((row, r) => row.forEach((x, c) => { d = Math.max(d, Math.abs(x - b[r][c])); }));
  return d;
}

/** softmax(QKᵀ/√d + mask) V for one batch row, by plain loops; allowed(i, j) says which entries count. */
function naiveAttention(q: number[][], k: number[][], v: number[][], allowed: (i: number, j: number) => boolean): number[][] {
  const d = q[0].length;
  return q.map((qi, i) => {
    const s = k.map((kj, j) => (allowed(i, j) ? qi.reduce((acc, x, c) => acc + x * kj[c], 0) / Math.sqrt(d) : -Infinity));
    const max = Math.max(...s);
    const e = s.map((x) => (x === -Infinity ? 0 : Math.exp(x - max)));
    const sum = e.reduce((a, x) => a + x, 0);
    return v[0].map((_, c) => e.reduce((acc, w, j) => acc + (w / sum) * v[j][c], 0));
  });
}

/** Batch row b of a time-major [T·B, D] matrix as nested arrays. */
function batchRow(m: Matrix, b: number, B: number): number[][] {
  return m.toArray().filter((_, r) => r % B === b);
}

/** X Wᵀ + b by plain loops. */
function linear(x: number[][], w: Matrix, bias: Matrix): number[][] {
  return x.map((row) => Array.from({ length: w.rows }, (_, o) => row.reduce((acc, v, i) => acc + v * w.get(o, i), bias.get(0, o))));
}

describe('scaled dot-product attention', () => {
  it('matches the naive formula with a key padding mask; padded keys get weight exactly 0, rows sum to 1', () => {
    const rng = new Rng(3);
    const B = 3, Tq = 4, Tk = 5;
    const q = random(rng, Tq * B, 3), k = random(rng, Tk * B, 3), v = random(rng, Tk * B, 2);
    const lengths = [5, 2, 4];
    const ws = createSdpaWorkspace({ queryLen: Tq, keyLen: Tk, batch: B }, { dtype: 'float64' });
    const out = scaledDotProductAttentionForward(Matrix.zeros(Tq * B, 2, 'float64'), ws, q, k, v, {
      keyPaddingMask: sourceMaskFromLengths(lengths, Tk, 'float64'),
    });
    for (let b = 0; b < B; b++) {
      const ref = naiveAttention(batchRow(q, b, B), batchRow(k, b, B), batchRow(v, b, B), (_, j) => j < lengths[b]);
      expect(maxDiff(batchRow(out, b, B), ref)).toBeLessThan(1e-14);
      for (let i = 0; i < Tq; i++) {
        const p = ws.attn.toArray()[b * Tq + i];
        expect(p.reduce((a, x) => a + x, 0)).toBeCloseTo(1, 14);
        for (let j = lengths[b]; j < Tk; j++) expect(p[j]).toBe(0);
      }
    }
  });

  it('a query row whose keys are all masked gives weights 0 and output 0 (no NaN)', () => {
    const rng = new Rng(4);
    const ws = createSdpaWorkspace({ queryLen: 2, keyLen: 3, batch: 2 }, { dtype: 'float64' });
    const out = scaledDotProductAttentionForward(
      Matrix.zeros(4, 2, 'float64'), ws, random(rng, 4, 2), random(rng, 6, 2), random(rng, 6, 2),
      { keyPaddingMask: sourceMaskFromLengths([3, 0], 3, 'float64') },
    );
    expect(batchRow(out, 1, 2)).toEqual([[0, 0], [0, 0]]);
    expect(ws.attn.toArray()[2]).toEqual([0, 0, 0]);
  });

  it('rejects mismatched shapes naming the op', () => {
    const ws = createSdpaWorkspace({ queryLen: 2, keyLen: 3, batch: 2 }, { dtype: 'float64' });
    const q = Matrix.zeros(4, 2, 'float64');
    expect(() => scaledDotProductAttentionForward(Matrix.zeros(4, 2, 'float64'), ws, q, Matrix.zeros(6, 3, 'float64'), Matrix.zeros(6, 2, 'float64')))
      .toThrow('scaledDotProductAttentionForward: expected k to be [6, 2], got [6, 3]');
    expect(() => scaledDotProductAttentionForward(Matrix.zeros(4, 2, 'float64'), ws, q, Matrix.zeros(6, 2, 'float64'), Matrix.zeros(6, 2, 'float64'), { attnMask: causalMask(2, { dtype: 'float64' }) }))
      .toThrow('scaledDotProductAttentionForward: expected attnMask to be [2, 3], got [2, 2]');
  });
});

describe('multi-head attention', () => {
  it('the causal mask makes the output at position t independent of inputs after t', () => {
    const rng = new Rng(8);
    const T = 6, B = 2, E = 8;
    const mha = createMultiheadAttention({ embedDim: E, numHeads: 2 }, { rng, dtype: 'float64' });
    const ws = createMhaWorkspace(mha, T, T, B);
    const x = random(rng, T * B, E);
    const mask = { attnMask: causalMask(T, { dtype: 'float64' }) };
    const before = multiheadAttentionForward(Matrix.zeros(T * B, E, 'float64'), ws, x, x, x, mask).toArray();
    const t = 3;
    for (let r = (t + 1) * B; r < T * B; r++) for (let c = 0; c < E; c++) x.set(r, c, x.get(r, c) + rng.uniformIn(-2, 2));
    const after = multiheadAttentionForward(Matrix.zeros(T * B, E, 'float64'), ws, x, x, x, mask).toArray();
    expect(after.slice(0, (t + 1) * B)).toEqual(before.slice(0, (t + 1) * B)); // bit-identical up to t
    expect(maxDiff(after.slice((t + 1) * B), before.slice((t + 1) * B))).toBeGreaterThan(1e-3);
    // without the mask, position 0 does see the future
    const open = multiheadAttentionForward(Matrix.zeros(T * B, E, 'float64'), ws, x, x, x).toArray();
    expect(maxDiff(open.slice(0, B), before.slice(0, B))).toBeGreaterThan(1e-3);
  });

  it('with one head it equals scaled dot-product attention of the projections, then W_o', () => {
    const rng = new Rng(12);
    const Tq = 3, Tk = 4, B = 2, E = 5;
    const mha = createMultiheadAttention({ embedDim: E, numHeads: 1 }, { rng, dtype: 'float64' });
    for (const p of Object.values(mha.params)) for (let i = 0; i < p.data.length; i++) p.data[i] = rng.uniformIn(-1, 1);
    const query = random(rng, Tq * B, E), key = random(rng, Tk * B, E), value = random(rng, Tk * B, E);
    const lengths = [4, 2];
    const ws = createMhaWorkspace(mha, Tq, Tk, B);
    const out = multiheadAttentionForward(Matrix.zeros(Tq * B, E, 'float64'), ws, query, key, value, {
      keyPaddingMask: sourceMaskFromLengths(lengths, Tk, 'float64'),
    });
    const p = mha.params;
    for (let b = 0; b < B; b++) {
      const heads = naiveAttention(
        linear(batchRow(query, b, B), p.W_q, p.b_q), linear(batchRow(key, b, B), p.W_k, p.b_k),
        linear(batchRow(value, b, B), p.W_v, p.b_v), (_, j) => j < lengths[b],
      );
      expect(maxDiff(batchRow(out, b, B), linear(heads, p.W_o, p.b_o))).toBeLessThan(1e-13);
    }
  });

  it('heads split by columns: head j attends with columns [j·d, (j+1)·d) of the projections', () => {
    const rng = new Rng(13);
    const T = 3, B = 2, E = 6, h = 3, d = 2;
    const mha = createMultiheadAttention({ embedDim: E, numHeads: h }, { rng, dtype: 'float64' });
    const x = random(rng, T * B, E);
    const ws = createMhaWorkspace(mha, T, T, B);
    multiheadAttentionForward(Matrix.zeros(T * B, E, 'float64'), ws, x, x, x);
    const p = mha.params;
    for (let b = 0; b < B; b++) {
      const Q = linear(batchRow(x, b, B), p.W_q, p.b_q), K = linear(batchRow(x, b, B), p.W_k, p.b_k);
      for (let j = 0; j < h; j++) {
        const cols = (m: number[][]): number[][] => m.map((row) => row.slice(j * d, (j + 1) * d));
        const Qj = cols(Q), Kj = cols(K);
        const expected = Qj.map((qi) => {
          const s = Kj.map((kk) => (qi[0] * kk[0] + qi[1] * kk[1]) / Math.sqrt(d));
          const m = Math.max(...s), e = s.map((z) => Math.exp(z - m)), sum = e.reduce((a, z) => a + z, 0);
          return e.map((z) => z / sum);
        });
        expect(maxDiff(headAttentionWeights(ws, j, b).toArray(), expected)).toBeLessThan(1e-14);
      }
    }
    const avg = averageAttentionWeights(Matrix.zeros(B * T, T, 'float64'), ws);
    const mean = headAttentionWeights(ws, 0, 1).toArray().map((row, q) => row.map((x0, k) =>
      (x0 + headAttentionWeights(ws, 1, 1).get(q, k) + headAttentionWeights(ws, 2, 1).get(q, k)) / 3));
    expect(maxDiff(avg.rowView(T, T).toArray(), mean)).toBeLessThan(1e-15);
  });

  it('the key bias gets zero gradient (softmax is invariant to a per-row shift)', () => {
    const rng = new Rng(14);
    const T = 4, B = 2, E = 4;
    const mha = createMultiheadAttention({ embedDim: E, numHeads: 2 }, { rng, dtype: 'float64' });
    for (const p of Object.values(mha.params)) for (let i = 0; i < p.data.length; i++) p.data[i] = rng.uniformIn(-1, 1);
    const x = random(rng, T * B, E);
    const ws = createMhaWorkspace(mha, T, T, B);
    zeroMultiheadAttentionGrads(mha);
    multiheadAttentionForward(Matrix.zeros(T * B, E, 'float64'), ws, x, x, x, { attnMask: causalMask(T, { dtype: 'float64' }) });
    multiheadAttentionBackward(null, null, null, ws, random(rng, T * B, E));
    for (const g of mha.grads.b_k.toArray()[0]) expect(Math.abs(g)).toBeLessThan(1e-14);
    expect(mha.grads.b_q.toArray()[0].some((g) => Math.abs(g) > 1e-3)).toBe(true);
  });

  it('bad inputs throw errors naming the op', () => {
    const rng = new Rng(1);
    expect(() => createMultiheadAttention({ embedDim: 6, numHeads: 4 }, { rng })).toThrow(
      'createMultiheadAttention: expected numHeads to divide embedDim, got embedDim 6 and numHeads 4',
    );
    const mha = createMultiheadAttention({ embedDim: 4, numHeads: 2 }, { rng, dtype: 'float64' });
    const ws = createMhaWorkspace(mha, 3, 5, 2);
    const q = Matrix.zeros(6, 4, 'float64');
    expect(() => multiheadAttentionForward(Matrix.zeros(6, 4, 'float64'), ws, q, Matrix.zeros(10, 3, 'float64'), Matrix.zeros(10, 4, 'float64')))
      .toThrow('multiheadAttentionForward: expected key to be [10, 4], got [10, 3]');
    expect(() => multiheadAttentionForward(Matrix.zeros(6, 4), ws, Matrix.zeros(6, 4), Matrix.zeros(10, 4), Matrix.zeros(10, 4)))
      .toThrow('multiheadAttentionForward: expected query to be float64, got float32');
    expect(() => multiheadAttentionBackward(null, null, null, createMhaWorkspace(mha, 3, 5, 2), Matrix.zeros(6, 4, 'float64')))
      .toThrow('multiheadAttentionBackward: call multiheadAttentionForward first');
  });
});

describe('positional encodings', () => {
  it('sinusoidal: PE(pos, 2i) = sin(pos/10000^(2i/d)), PE(pos, 2i+1) = cos(…), checked by hand for d = 4 and 5', () => {
    const pe = sinusoidalPositionalEncoding(Matrix.zeros(3, 4, 'float64')).toArray();
    // d = 4: 10000^(0/4) = 1, 10000^(2/4) = 100
    expect(pe[0]).toEqual([0, 1, 0, 1]);
    const expected = [
      [Math.sin(1), Math.cos(1), Math.sin(0.01), Math.cos(0.01)],
      [Math.sin(2), Math.cos(2), Math.sin(0.02), Math.cos(0.02)],
    ];
    expect(maxDiff(pe.slice(1), expected)).toBeLessThan(1e-15);
    // d = 5 (odd): columns 0–3 use 10000^(0/5) = 1 and 10000^(2/5) = 10^1.6; column 4 is sin(pos/10^3.2)
    const odd = sinusoidalPositionalEncoding(Matrix.zeros(8, 5, 'float64')).toArray()[7];
    expect(maxDiff([odd], [[Math.sin(7), Math.cos(7), Math.sin(7 / 10 ** 1.6), Math.cos(7 / 10 ** 1.6), Math.sin(7 / 10 ** 3.2)]]))
      .toBeLessThan(1e-14);
  });

  it('adding a table broadcasts row t over the batch; the backward sums the batch into the table', () => {
    const T = 3, B = 2, d = 2;
    const x = Matrix.fromArray([[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12]], 'float64');
    const table = Matrix.fromArray([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6], [9, 9]], 'float64'); // a spare row
    const out = addPositionalForward(Matrix.zeros(T * B, d, 'float64'), x, table, B).toArray();
    expect(maxDiff(out, [[1.1, 2.2], [3.1, 4.2], [5.3, 6.4], [7.3, 8.4], [9.5, 10.6], [11.5, 12.6]])).toBeLessThan(1e-14);
    const pe = createLearnedPositionalEmbedding({ maxLength: 4, dim: d }, { rng: new Rng(0), dtype: 'float64' });
    const dx = Matrix.zeros(T * B, d, 'float64');
    addPositionalBackward(pe.grads.weight, dx, x, B);
    expect(pe.grads.weight.toArray()).toEqual([[4, 6], [12, 14], [20, 22], [0, 0]]);
    expect(dx.toArray()).toEqual(x.toArray());
    expect(() => addPositionalForward(Matrix.zeros(8, 2, 'float64'), Matrix.zeros(8, 2, 'float64'), table, 2)).not.toThrow();
    expect(() => addPositionalForward(Matrix.zeros(10, 2, 'float64'), Matrix.zeros(10, 2, 'float64'), table, 2))
      .toThrow('addPositionalForward: expected a positional table of at least [5, 2], got [4, 2]');
  });
});
