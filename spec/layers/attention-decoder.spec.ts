import { describe, expect, it } from 'vitest';
import { Matrix, Rng, stepView } from '../../engine/index.js';
import {
  attentionKeysBackward, attentionKeysForward, attentionStepBackward, attentionStepForward, attentionWeights,
  createAttention, createAttentionWorkspace, sourceMaskFromLengths, zeroAttentionGrads,
  type Attention, type AttentionScore,
} from '../../layers/attention/attention.js';

function random(rng: Rng, rows: number, cols: number, dtype: 'float32' | 'float64' = 'float64'): Matrix {
  const m = Matrix.zeros(rows, cols, dtype);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.uniformIn(-1, 1);
  return m;
}

/**
 * The reference: the formulas of layers/attention.ts written out naively for one batch row
 * (plain arrays, no workspace, no GEMM): e_i, α = softmax over i < length, c = Σ α_i h_i.
 */
function reference(layer: Attention, H: Matrix, s: Matrix, b: number, B: number, length: number): { alpha: number[]; c: number[] } {
  const Tx = H.rows / B;
  const h = (i: number): number[] => H.toArray()[i * B + b];
  const q = s.toArray()[b];
  const p = layer.params;
  const score = (i: number): number => {
    const hi = h(i);
    if (layer.score === 'dot') return q.reduce((acc, x, j) => acc + x * hi[j], 0);
    if (layer.score === 'general') {
      let e = 0;
      for (let r = 0; r < q.length; r++) for (let c = 0; c < hi.length; c++) e += q[r] * p.W_a.get(r, c) * hi[c];
      return e;
    }
    let e = 0;
    for (let k = 0; k < layer.attentionSize; k++) {
      let z = p.b.get(0, k);
      for (let j = 0; j < q.length; j++) z += p.W.get(k, j) * q[j];
      for (let j = 0; j < hi.length; j++) z += p.U.get(k, j) * hi[j];
      e += p.v.get(0, k) * Math.tanh(z);
    }
    return e;
  };
  const scores = Array.from({ length: Tx }, (_, i) => (i < length ? score(i) : -Infinity));
  const max = Math.max(...scores);
  const ex = scores.map((e) => (e === -Infinity ? 0 : Math.exp(e - max)));
  const sum = ex.reduce((a, x) => a + x, 0);
  const alpha = ex.map((x) => (sum === 0 ? 0 : x / sum));
  const c = new Array<number>(H.cols).fill(0);
  alpha.forEach((a, i) => h(i).forEach((x, j) => { c[j] += a * x; }));
  return { alpha, c };
}

const scores: AttentionScore[] = ['additive', 'dot', 'general'];

describe('decoder attention (Bahdanau additive, Luong dot and general)', () => {
  for (const score of scores) {
    it(`${score}: α sums to 1 over the valid positions, is exactly 0 on padded ones, and matches the naive formula`, () => {
      const rng = new Rng(11);
      const Tx = 6, Ty = 3, B = 4, nh = 4, ns = score === 'general' ? 3 : 4;
      const lengths = [6, 4, 1, 0]; // the last row has no source at all
      const layer = createAttention({ score, querySize: ns, encoderSize: nh, attentionSize: 5 }, { rng, dtype: 'float64' });
      if (layer.params.b) for (let j = 0; j < 5; j++) layer.params.b.set(0, j, rng.uniformIn(-1, 1));
      const H = random(rng, Tx * B, nh);
      const ws = createAttentionWorkspace(layer, Tx, Ty, B);
      attentionKeysForward(ws, H, sourceMaskFromLengths(lengths, Tx, 'float64'));
      const c = Matrix.zeros(B, nh, 'float64');
      for (let t = 0; t < Ty; t++) {
        const s = random(rng, B, ns);
        attentionStepForward(c, ws, t, s);
        const alpha = attentionWeights(ws, t);
        for (let b = 0; b < B; b++) {
          const row = alpha.toArray()[b];
          const valid = row.slice(0, lengths[b]);
          if (lengths[b] > 0) expect(valid.reduce((a, x) => a + x, 0)).toBeCloseTo(1, 14);
          for (const x of valid) expect(x).toBeGreaterThan(0);
          for (const x of row.slice(lengths[b])) expect(x).toBe(0);
          const ref = reference(layer, H, s, b, B, lengths[b]);
          row.forEach((x, i) => expect(Math.abs(x - ref.alpha[i])).toBeLessThan(1e-14));
          c.toArray()[b].forEach((x, j) => expect(Math.abs(x - ref.c[j])).toBeLessThan(1e-14));
        }
        expect(c.toArray()[3]).toEqual([0, 0, 0, 0]); // no valid source: c = 0, no NaN
      }
    });
  }

  it('dot attention on a hand-computed 2 × 2 example', () => {
    // B = 2, T_x = 2, n = 2; H is time-major: row i·B + b.
    // row 0: h0 = [1, 0], h1 = [0, 1], s = [ln 3, 0] → e = [ln 3, 0], α = [3/4, 1/4], c = [3/4, 1/4]
    // row 1: h0 = [2, 1], h1 = [1, 1], s = [1, −1] → e = [1, 0], α0 = e/(e + 1), c = [1 + α0, 1]
    const layer = createAttention({ score: 'dot', querySize: 2, encoderSize: 2 }, { rng: new Rng(0), dtype: 'float64' });
    const H = Matrix.fromArray([[1, 0], [2, 1], [0, 1], [1, 1]], 'float64');
    const s = Matrix.fromArray([[Math.log(3), 0], [1, -1]], 'float64');
    const ws = createAttentionWorkspace(layer, 2, 1, 2);
    attentionKeysForward(ws, H, sourceMaskFromLengths([2, 2], 2, 'float64'));
    const c = attentionStepForward(Matrix.zeros(2, 2, 'float64'), ws, 0, s);
    const a0 = Math.E / (Math.E + 1);
    const alpha = attentionWeights(ws, 0).toArray();
    expect(alpha[0][0]).toBeCloseTo(0.75, 15);
    expect(alpha[0][1]).toBeCloseTo(0.25, 15);
    expect(alpha[1][0]).toBeCloseTo(a0, 15);
    expect(c.get(0, 0)).toBeCloseTo(0.75, 15);
    expect(c.get(0, 1)).toBeCloseTo(0.25, 15);
    expect(c.get(1, 0)).toBeCloseTo(1 + a0, 15);
    expect(c.get(1, 1)).toBeCloseTo(1, 15);
  });

  it('padded encoder outputs change nothing and get no gradient', () => {
    const rng = new Rng(5);
    const Tx = 5, B = 2;
    const layer = createAttention({
      score: 'additive', querySize: 3, encoderSize: 4, attentionSize: 3,
    }, { rng, dtype: 'float64' });
    const H = random(rng, Tx * B, 4);
    const s = random(rng, B, 3);
    const mask = sourceMaskFromLengths([5, 2], Tx, 'float64');
    const ws = createAttentionWorkspace(layer, Tx, 1, B);
    const run = (): number[][] => {
      attentionKeysForward(ws, H, mask);
      return attentionStepForward(Matrix.zeros(B, 4, 'float64'), ws, 0, s).toArray();
    };
    const before = run();
    for (let i = 2; i < Tx; i++) for (let j = 0; j < 4; j++) H.set(i * B + 1, j, 100 * rng.uniformIn(-1, 1));
    expect(run()).toEqual(before);
    const dH = Matrix.zeros(Tx * B, 4, 'float64');
    attentionStepBackward(null, dH, ws, 0, Matrix.fromArray([[1, 2, 3, 4], [1, 2, 3, 4]], 'float64'));
    attentionKeysBackward(dH, ws);
    for (let i = 2; i < Tx; i++) expect(dH.toArray()[i * B + 1]).toEqual([0, 0, 0, 0]);
    expect(dH.toArray()[1].some((x) => x !== 0)).toBe(true);
  });

  it('backward accumulates: two identical backward passes give twice the gradients', () => {
    const rng = new Rng(9);
    const layer = createAttention({
      score: 'additive', querySize: 3, encoderSize: 2, attentionSize: 4,
    }, { rng, dtype: 'float64' });
    const H = random(rng, 5 * 2, 2);
    const S = random(rng, 3 * 2, 3);
    const dc = random(rng, 3 * 2, 2);
    const ws = createAttentionWorkspace(layer, 5, 3, 2);
    const pass = (dH: Matrix, dS: Matrix): void => {
      attentionKeysForward(ws, H, sourceMaskFromLengths([5, 3], 5, 'float64'));
      for (let t = 0; t < 3; t++) attentionStepForward(Matrix.zeros(2, 2, 'float64'), ws, t, stepView(S, t, 2));
      for (let t = 2; t >= 0; t--) attentionStepBackward(stepView(dS, t, 2), dH, ws, t, stepView(dc, t, 2));
      attentionKeysBackward(dH, ws);
    };
    zeroAttentionGrads(layer);
    const dH1 = Matrix.zeros(10, 2, 'float64'), dS1 = Matrix.zeros(6, 3, 'float64');
    pass(dH1, dS1);
    const once = Object.fromEntries(Object.entries(layer.grads).map(([k, g]) => [k, g.toArray()]));
    const dH2 = Matrix.zeros(10, 2, 'float64'), dS2 = Matrix.zeros(6, 3, 'float64');
    pass(dH2, dS2);
    pass(dH2, dS2);
    for (const [name, g] of Object.entries(layer.grads)) {
      g.toArray().forEach((row, r) => row.forEach((x, c) => expect(x).toBeCloseTo(3 * once[name][r][c], 12)));
    }
    dH2.toArray().forEach((row, r) => row.forEach((x, c) => expect(x).toBeCloseTo(2 * dH1.get(r, c), 12)));
    dS2.toArray().forEach((row, r) => row.forEach((x, c) => expect(x).toBeCloseTo(2 * dS1.get(r, c), 12)));
  });

  it('float32 agrees with float64', () => {
    const run = (dtype: 'float32' | 'float64'): number[][] => {
      const rng = new Rng(21);
      const layer = createAttention({ score: 'additive', querySize: 4, encoderSize: 6, attentionSize: 5 }, { rng, dtype });
      const H = random(rng, 7 * 3, 6, dtype);
      const s = random(rng, 3, 4, dtype);
      const ws = createAttentionWorkspace(layer, 7, 1, 3);
      attentionKeysForward(ws, H, sourceMaskFromLengths([7, 5, 2], 7, dtype));
      return attentionStepForward(Matrix.zeros(3, 6, dtype), ws, 0, s).toArray();
    };
    const a = run('float32'), b = run('float64');
    a.forEach((row, r) => row.forEach((x, c) => expect(Math.abs(x - b[r][c])).toBeLessThan(1e-5)));
  });

  it('bad inputs throw errors naming the op, the expectation and what came', () => {
    const rng = new Rng(1);
    expect(() => createAttention({ score: 'dot', querySize: 3, encoderSize: 4 }, { rng })).toThrow(
      'createAttention: the dot score needs querySize = encoderSize, got 3 and 4',
    );
    expect(() => createAttention({ score: 'cosine' as AttentionScore, querySize: 3, encoderSize: 4 }, { rng })).toThrow(
      "createAttention: expected score 'additive', 'dot' or 'general', got 'cosine'",
    );
    const layer = createAttention({ score: 'additive', querySize: 3, encoderSize: 4 }, { rng, dtype: 'float64' });
    const ws = createAttentionWorkspace(layer, 5, 2, 2);
    const c = Matrix.zeros(2, 4, 'float64');
    expect(() => attentionStepForward(c, ws, 0, Matrix.zeros(2, 3, 'float64'))).toThrow(
      'attentionStepForward: call attentionKeysForward before the decoder steps',
    );
    expect(() => attentionKeysForward(ws, Matrix.zeros(8, 4, 'float64'), sourceMaskFromLengths([5, 5], 5))).toThrow(
      'attentionKeysForward: expected encoder outputs H to be [10, 4], got [8, 4]',
    );
    const badMask = sourceMaskFromLengths([5, 5], 5, 'float64');
    badMask.set(1, 1, 0.5);
    expect(() => attentionKeysForward(ws, Matrix.zeros(10, 4, 'float64'), badMask)).toThrow(
      'attentionKeysForward: expected source mask entries to be 0 or 1, got 0.5 at [1, 1]',
    );
    attentionKeysForward(ws, Matrix.zeros(10, 4, 'float64'), sourceMaskFromLengths([5, 5], 5));
    expect(() => attentionStepForward(c, ws, 0, Matrix.zeros(2, 5, 'float64'))).toThrow(
      'attentionStepForward: expected query to be [2, 3], got [2, 5]',
    );
    expect(() => attentionStepForward(c, ws, 2, Matrix.zeros(2, 3, 'float64'))).toThrow(
      'attentionStepForward: expected decoder step t in [0, 2), got 2',
    );
    expect(() => attentionStepForward(c, ws, 0, Matrix.zeros(2, 3, 'float32'))).toThrow(
      'attentionStepForward: expected matching dtypes, got float64 and float32',
    );
    expect(() => sourceMaskFromLengths([3, 7], 5)).toThrow('sourceMaskFromLengths: expected lengths in [0, 5], got 7 for row 1');
  });
});
