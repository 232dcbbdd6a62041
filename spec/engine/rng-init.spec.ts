import { describe, expect, it } from 'vitest';
import {
  Matrix, Rng, gemm, initIdentity, initNormal, initOrthogonal, initPytorchBiasPair, initPytorchDefault, initUniform, initXavierNormal,
  initXavierUniform, NO_INIT, skipsInit, type RngState,
} from '../../engine/index.js';
import { createCell } from '../../layers/cells/create-cell.js';
import { createEmbedding } from '../../layers/embedding.js';

const N = 100_000;

/** A stream of draws of every kind, for bit-identity comparisons. */
function draws(rng: Rng): number[] {
  const out: number[] = [];
  for (let i = 0; i < 50; i++) out.push(rng.nextUint32(), rng.uniform(), rng.normal(), rng.normal(2, 3), rng.int(7), rng.int(1000003));
  for (let i = 0; i < 20; i++) out.push(rng.categorical([0.1, 0, 2, 5, 0.7]));
  out.push(...rng.shuffle(Array.from({ length: 30 }, (_, i) => i)));
  out.push(...rng.shuffle(new Float64Array([1, 2, 3, 4, 5, 6, 7, 8])));
  out.push(...rng.permutation(25));
  return out;
}

describe('Rng: reproducibility', () => {
  it('the same seed gives identical bits for uniform, normal, int, categorical and shuffle', () => {
    const a = draws(new Rng(42)), b = draws(new Rng(42));
    expect(a.length).toBeGreaterThan(300);
    for (let i = 0; i < a.length; i++) expect(Object.is(a[i], b[i]), `draw ${i}`).toBe(true);
  });

  it('different seeds (even neighbours) give different streams', () => {
    const a = draws(new Rng(1)), b = draws(new Rng(2));
    let same = 0;
    for (let i = 0; i < 300; i++) if (a[i] === b[i]) same++;
    expect(same).toBeLessThan(60); // only small ints and categoricals may coincide
    expect(new Rng(0).nextUint32()).not.toBe(new Rng(1).nextUint32());
  });

  it('reseed restarts the stream of that seed', () => {
    const rng = new Rng(5);
    const first = draws(rng);
    rng.reseed(5);
    expect(draws(rng)).toEqual(first);
  });

  it('getState/setState resumes bit-identically, including the Box–Muller spare', () => {
    const rng = new Rng(9);
    rng.uniform();
    rng.normal(); // leaves the second value of the pair as the spare
    const state = rng.getState();
    expect(state.spare).not.toBeNull();
    const spare = state.spare!;
    const expected = [rng.normal(), ...draws(rng)];
    // the first normal after the save is the spare itself
    expect(expected[0]).toBe(spare);

    const restored = new Rng(12345);
    restored.setState(state);
    expect([restored.normal(), ...draws(restored)]).toEqual(expected);

    // through JSON (checkpoints), too
    const viaJson = new Rng();
    viaJson.setState(JSON.parse(JSON.stringify(state)) as RngState);
    expect([viaJson.normal(), ...draws(viaJson)]).toEqual(expected);
  });

  it('a state without a spare resumes too, and a restored spare is not reused twice', () => {
    const rng = new Rng(3);
    const state = rng.getState();
    expect(state.spare).toBeNull();
    const a = [rng.normal(), rng.normal(), rng.normal()];
    rng.setState(state);
    expect([rng.normal(), rng.normal(), rng.normal()]).toEqual(a);
  });

  it('getState returns a copy (drawing later does not change a saved state)', () => {
    const rng = new Rng(8);
    const state = rng.getState();
    const saved = JSON.stringify(state);
    draws(rng);
    expect(JSON.stringify(state)).toBe(saved);
  });

  it('setState rejects malformed states with a named error', () => {
    expect(() => new Rng().setState({ s: [1, 2, 3], spare: null } as unknown as RngState)).toThrow(/^Rng.setState: /);
  });
});

describe('Rng: distributions (1e5 draws, bounds of about 5 standard errors)', () => {
  it('uniform(): in [0, 1), mean 1/2, variance 1/12', () => {
    const rng = new Rng(11);
    let sum = 0, sum2 = 0, min = 1, max = 0;
    for (let i = 0; i < N; i++) {
      const u = rng.uniform();
      sum += u;
      sum2 += u * u;
      min = Math.min(min, u);
      max = Math.max(max, u);
    }
    const mean = sum / N, variance = sum2 / N - mean * mean;
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / N));
    // Var of (u − 1/2)² is 1/180
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(5 * Math.sqrt(1 / 180 / N));
  });

  it('uniformIn(low, high) stays in [low, high)', () => {
    const rng = new Rng(12);
    for (let i = 0; i < 1000; i++) {
      const v = rng.uniformIn(-3, -1);
      expect(v).toBeGreaterThanOrEqual(-3);
      expect(v).toBeLessThan(-1);
    }
  });

  it('normal(): mean 0 and variance 1; normal(μ, σ) shifts and scales', () => {
    const rng = new Rng(13);
    let sum = 0, sum2 = 0, sum4 = 0;
    for (let i = 0; i < N; i++) {
      const z = rng.normal();
      sum += z;
      sum2 += z * z;
      sum4 += z ** 4;
    }
    const mean = sum / N, variance = sum2 / N - mean * mean;
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(N));
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / N));
    expect(Math.abs(sum4 / N - 3)).toBeLessThan(5 * Math.sqrt(96 / N)); // kurtosis of a Gaussian: E z⁴ = 3
    let s = 0, s2 = 0;
    for (let i = 0; i < N; i++) {
      const z = rng.normal(4, 0.5);
      s += z;
      s2 += z * z;
    }
    expect(Math.abs(s / N - 4)).toBeLessThan(5 * 0.5 / Math.sqrt(N));
    expect(Math.abs(s2 / N - 16 - 0.25)).toBeLessThan(0.02);
  });

  it('int(n) is uniform over 0 … n−1 and rejects bad n', () => {
    const rng = new Rng(14);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < N; i++) counts[rng.int(10)]++;
    const sd = Math.sqrt(N * 0.1 * 0.9);
    for (const c of counts) expect(Math.abs(c - N / 10)).toBeLessThan(5 * sd);
    for (const bad of [0, -1, 2.5, NaN]) expect(() => rng.int(bad)).toThrow(/^Rng.int: expected an integer n/);
  });

  it('categorical(weights) draws i with probability weights[i] / Σ weights; zero weights never', () => {
    const rng = new Rng(15);
    const weights = [1, 0, 2, 3, 4];
    const counts = new Array(weights.length).fill(0);
    for (let i = 0; i < N; i++) counts[rng.categorical(weights)]++;
    expect(counts[1]).toBe(0);
    weights.forEach((w, i) => {
      const p = w / 10;
      expect(Math.abs(counts[i] - N * p)).toBeLessThanOrEqual(5 * Math.sqrt(N * p * (1 - p)));
    });
  });

  it('categorical honours length and offset, and rejects weights without a positive sum', () => {
    const rng = new Rng(16);
    const buf = new Float64Array([100, 0, 1, 0, 100]);
    for (let i = 0; i < 200; i++) expect(rng.categorical(buf, 3, 1)).toBe(1); // only [0, 1, 0] counts
    expect(() => rng.categorical([0, 0])).toThrow(/^Rng.categorical: expected weights with a positive finite sum, got 0/);
    expect(() => rng.categorical([1, NaN])).toThrow(/^Rng.categorical: /);
  });

  it('shuffle is a permutation and every position sees every item about equally often', () => {
    const rng = new Rng(17);
    const n = 5, trials = 20_000;
    const counts = Array.from({ length: n }, () => new Array(n).fill(0));
    for (let t = 0; t < trials; t++) {
      const p = rng.shuffle([0, 1, 2, 3, 4]);
      expect([...p].sort()).toEqual([0, 1, 2, 3, 4]);
      p.forEach((item, pos) => counts[pos][item]++);
    }
    const sd = Math.sqrt(trials * 0.2 * 0.8);
    for (const row of counts) for (const c of row) expect(Math.abs(c - trials / n)).toBeLessThan(5 * sd);
  });
});

describe('initialisers', () => {
  it('initUniform and initNormal fill from the generator (same seed, same weights)', () => {
    const a = initUniform(Matrix.zeros(30, 40, 'float64'), new Rng(1), -0.2, 0.3);
    const b = initUniform(Matrix.zeros(30, 40, 'float64'), new Rng(1), -0.2, 0.3);
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    for (const v of a.data) {
      expect(v).toBeGreaterThanOrEqual(-0.2);
      expect(v).toBeLessThan(0.3);
    }
    const n = initNormal(Matrix.zeros(200, 500, 'float64'), new Rng(2), 1, 0.1);
    let s = 0, s2 = 0;
    for (const v of n.data) {
      s += v;
      s2 += v * v;
    }
    const mean = s / n.size, std = Math.sqrt(s2 / n.size - mean * mean);
    expect(Math.abs(mean - 1)).toBeLessThan(5 * 0.1 / Math.sqrt(n.size));
    expect(Math.abs(std - 0.1)).toBeLessThan(0.002);
  });

  it('Xavier uniform stays within ±gain·√(6 / (fan_in + fan_out)) and fills it out', () => {
    const w = initXavierUniform(Matrix.zeros(50, 150, 'float64'), new Rng(3), 2);
    const limit = 2 * Math.sqrt(6 / 200);
    let max = 0;
    for (const v of w.data) max = Math.max(max, Math.abs(v));
    expect(max).toBeLessThanOrEqual(limit);
    expect(max).toBeGreaterThan(0.99 * limit);
  });

  it('Xavier normal has std gain·√(2 / (fan_in + fan_out))', () => {
    const w = initXavierNormal(Matrix.zeros(300, 500, 'float64'), new Rng(4));
    let s2 = 0;
    for (const v of w.data) s2 += v * v;
    expect(Math.abs(Math.sqrt(s2 / w.size) - Math.sqrt(2 / 800))).toBeLessThan(0.01 * Math.sqrt(2 / 800));
  });

  it("PyTorch's default is U(−1/√H, 1/√H)", () => {
    const H = 64;
    const w = initPytorchDefault(Matrix.zeros(4 * H, H, 'float64'), new Rng(5), H);
    const bound = 1 / Math.sqrt(H); // 0.125
    let max = 0, sum = 0;
    for (const v of w.data) {
      max = Math.max(max, Math.abs(v));
      sum += v;
    }
    expect(max).toBeLessThanOrEqual(bound);
    expect(max).toBeGreaterThan(0.99 * bound);
    expect(Math.abs(sum / w.size)).toBeLessThan(5 * bound / Math.sqrt(3 * w.size));
  });

  it("PyTorch's bias pair b_ih + b_hh: the sum of two U(±1/√H) draws (triangular on ±2/√H, variance 2/(3H))", () => {
    const H = 16, k = 1 / Math.sqrt(H);
    const b = initPytorchBiasPair(Matrix.zeros(1, 20000, 'float64'), new Rng(4), H);
    let sum2 = 0, beyondOne = 0;
    for (const v of b.data) {
      expect(Math.abs(v)).toBeLessThan(2 * k);
      sum2 += v * v;
      if (Math.abs(v) > k) beyondOne++;
    }
    expect(sum2 / b.size).toBeCloseTo(2 / (3 * H), 3); // one draw: 1/(3H)
    expect(beyondOne / b.size).toBeCloseTo(0.25, 1); // P(|u + v| > k) = 1/4 for u, v ~ U(±k)
    // The same draws in the same order as two initPytorchDefault calls interleaved entry by entry.
    const r = new Rng(4), first = [r.uniformIn(-k, k), r.uniformIn(-k, k)];
    expect(b.data[0]).toBe(first[0] + first[1]);
  });

  it('identity (IRNN trick): scale on the diagonal, 0 elsewhere, also for non-square', () => {
    expect(initIdentity(Matrix.zeros(3, 3, 'float64')).toArray()).toEqual([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    expect(initIdentity(Matrix.zeros(2, 3, 'float64'), 0.5).toArray()).toEqual([[0.5, 0, 0], [0, 0.5, 0]]);
  });

  function expectIdentity(m: Matrix, tol: number): void {
    for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) expect(Math.abs(m.get(r, c) - (r === c ? 1 : 0))).toBeLessThan(tol);
  }

  it('orthogonal: QQᵀ = I for wide, QᵀQ = I for tall, Q orthogonal when square (to 1e−5)', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const wide = initOrthogonal(Matrix.zeros(8, 20, dtype), new Rng(6));
      expectIdentity(gemm(Matrix.zeros(8, 8, dtype), wide, wide, false, true), 1e-5);
      const tall = initOrthogonal(Matrix.zeros(20, 8, dtype), new Rng(7));
      expectIdentity(gemm(Matrix.zeros(8, 8, dtype), tall, tall, true, false), 1e-5);
      const square = initOrthogonal(Matrix.zeros(16, 16, dtype), new Rng(8));
      expectIdentity(gemm(Matrix.zeros(16, 16, dtype), square, square, false, true), 1e-5);
      expectIdentity(gemm(Matrix.zeros(16, 16, dtype), square, square, true, false), 1e-5);
    }
  });

  it('orthogonal with gain g: QQᵀ = g²·I; same seed, same matrix', () => {
    const q = initOrthogonal(Matrix.zeros(6, 6, 'float64'), new Rng(9), 2);
    const qqt = gemm(Matrix.zeros(6, 6, 'float64'), q, q, false, true);
    for (let r = 0; r < 6; r++) for (let c = 0; c < 6; c++) expect(Math.abs(qqt.get(r, c) - (r === c ? 4 : 0))).toBeLessThan(1e-12);
    expect(initOrthogonal(Matrix.zeros(6, 6, 'float64'), new Rng(9), 2).toArray()).toEqual(q.toArray());
  });
});

describe('NO_INIT: constructors whose weights are loaded right after draw nothing', () => {
  it('every initialiser leaves its matrix as allocated (zeros) when given NO_INIT, and draws with any other generator', () => {
    const inits: [string, (m: Matrix, rng: Rng) => Matrix][] = [
      ['uniform', (m, rng) => initUniform(m, rng, -1, 1)], ['normal', (m, rng) => initNormal(m, rng)],
      ['xavier uniform', (m, rng) => initXavierUniform(m, rng)], ['xavier normal', (m, rng) => initXavierNormal(m, rng)],
      ['pytorch', (m, rng) => initPytorchDefault(m, rng, 4)], ['pytorch bias pair', (m, rng) => initPytorchBiasPair(m, rng, 4)],
      ['orthogonal', (m, rng) => initOrthogonal(m, rng)],
    ];
    for (const [name, init] of inits) {
      expect(init(Matrix.zeros(5, 4, 'float64'), NO_INIT).toArray().flat().every((v) => v === 0), name).toBe(true);
      expect(init(Matrix.zeros(5, 4, 'float64'), new Rng(3)).toArray().flat().some((v) => v !== 0), name).toBe(true);
    }
    expect(skipsInit(NO_INIT)).toBe(true);
    expect(skipsInit(new Rng(0))).toBe(false);
  });

  it('createEmbedding and createCell with NO_INIT: zero weights (the LSTM forget-gate bias still 1)', () => {
    const embedding = createEmbedding({ vocabSize: 6, dim: 3 }, { rng: NO_INIT });
    expect(embedding.weight.toArray().flat().every((v) => v === 0)).toBe(true);
    const cell = createCell({ kind: 'lstm', inputSize: 3, hiddenSize: 4, forgetBias: 1 }, { rng: NO_INIT });
    const values = Object.values(cell.params).flatMap((p) => p.toArray().flat());
    expect(values.filter((v) => v !== 0)).toEqual([1, 1, 1, 1]);
  });
});
