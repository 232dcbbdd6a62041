import { describe, expect, it } from 'vitest';
import { Rng } from '../../../engine/index.js';
import { logSoftmaxRow } from '../../../engine/softmax.js';
import {
  greedyToken, sampleSequence, sampleStream, sampleToken, tokenProbabilitiesInto, type TokenChoiceOptions,
} from '../../../training/decode/sampling.js';

const logits = [1, 2, 0.5, -1, 1.5];

/** softmax(z/τ) restricted to `keep`, written out independently of the code under test. */
function expectedProbs(z: number[], tau: number, keep: (i: number) => boolean): number[] {
  const w = z.map((v, i) => (keep(i) ? Math.exp(v / tau) : 0));
  const total = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / total);
}

/**
 * Draw N tokens and compare each frequency with its expected probability p: the count is
 * Binomial(N, p), so |freq − p| ≤ 5·√(p(1−p)/N) fails by chance with probability < 1e−6 per token.
 * Zero-probability tokens must never appear.
 */
function expectFrequencies(row: number[], opts: TokenChoiceOptions, expected: number[], seed = 1): void {
  const N = 20000;
  const rng = new Rng(seed);
  const counts = new Array(row.length).fill(0);
  const scratch = new Float64Array(row.length);
  for (let n = 0; n < N; n++) counts[sampleToken(row, rng, opts, scratch)]++;
  expected.forEach((p, i) => {
    const freq = counts[i] / N;
    if (p === 0) expect(counts[i], `token ${i} has probability 0`).toBe(0);
    else expect(Math.abs(freq - p), `token ${i}: frequency ${freq} vs p = ${p}`).toBeLessThanOrEqual(5 * Math.sqrt((p * (1 - p)) / N));
  });
}

describe('sampleToken', () => {
  it('τ = 1 draws from softmax(z)', () => {
    expectFrequencies(logits, {}, expectedProbs(logits, 1, () => true));
  });

  it('τ = 0.5 sharpens and τ = 2 flattens: softmax(z/τ)', () => {
    expectFrequencies(logits, { temperature: 0.5 }, expectedProbs(logits, 0.5, () => true), 2);
    expectFrequencies(logits, { temperature: 2 }, expectedProbs(logits, 2, () => true), 3);
  });

  it('with every token kept (no forbid list, or an empty one), the probabilities are those of the general path, bit for bit', () => {
    const rng = new Rng(21);
    for (const temperature of [1, 0.6, 1.5]) {
      for (let n = 0; n < 20; n++) {
        const row = Float32Array.from({ length: 65 }, (_, i) => (i === 7 ? -Infinity : 4 * rng.normal()));
        const fast = tokenProbabilitiesInto(new Float64Array(65), row, { temperature });
        const emptyList = tokenProbabilitiesInto(new Float64Array(65), row, { temperature, forbid: [] });
        // the general path: a forbidden id past the row's end forbids nothing but takes the per-token tests
        const general = tokenProbabilitiesInto(new Float64Array(65), row, { temperature, forbid: [65], topK: 65 });
        expect(Array.from(fast)).toEqual(Array.from(general));
        expect(Array.from(emptyList)).toEqual(Array.from(general));
        expect(fast[7]).toBe(0);
        const expected = expectedProbs(Array.from(row), temperature, () => true);
        fast.forEach((p, i) => expect(Math.abs(p - expected[i])).toBeLessThan(1e-12));
      }
    }
  });

  it('log-probabilities give the same distribution as the logits they come from', () => {
    const lse = Math.log(logits.reduce((a, z) => a + Math.exp(z), 0));
    const logProbs = logits.map((z) => z - lse);
    expectFrequencies(logProbs, { temperature: 0.7 }, expectedProbs(logits, 0.7, () => true), 4);
  });

  it('top-k = 2 keeps the two best tokens (indices 1 and 4) and renormalises', () => {
    expectFrequencies(logits, { topK: 2 }, expectedProbs(logits, 1, (i) => i === 1 || i === 4), 5);
  });

  it('a forbidden token (the notes\' no-<UNK>) is never drawn; top-k then picks among the allowed', () => {
    expectFrequencies(logits, { forbid: 1 }, expectedProbs(logits, 1, (i) => i !== 1), 6);
    // forbid 1 and topK 2: the two best allowed are 4 (1.5) and 0 (1).
    expectFrequencies(logits, { forbid: [1], topK: 2 }, expectedProbs(logits, 1, (i) => i === 4 || i === 0), 7);
  });

  it('tokens tied with the k-th best are all kept', () => {
    const probs = tokenProbabilitiesInto(new Float64Array(4), [3, 1, 3, 3], { topK: 2 });
    expect(Array.from(probs)).toEqual([1 / 3, 0, 1 / 3, 1 / 3]);
  });

  it('top-k threshold agrees with sorting on random rows (quickselect)', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 200; trial++) {
      const V = 1 + rng.int(30);
      const row = Array.from({ length: V }, () => Math.round(rng.normal() * 4) / 2); // many ties
      const k = 1 + rng.int(V);
      const kth = [...row].sort((a, b) => b - a)[k - 1];
      const probs = tokenProbabilitiesInto(new Float64Array(V), row, { topK: k });
      row.forEach((v, i) => expect(probs[i] > 0).toBe(v >= kth));
    }
  });

  it('τ = 0 and greedyToken return the argmax (first on ties), honouring forbid', () => {
    expect(sampleToken(logits, new Rng(0), { temperature: 0 })).toBe(1);
    expect(greedyToken([0, 5, 5, 1])).toBe(1);
    expect(greedyToken(logits, { forbid: 1 })).toBe(4);
    expect(greedyToken(new Float32Array([-Infinity, -3, -2]))).toBe(2);
  });

  it('is deterministic under a seed and uses exactly one uniform per draw', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const drawsA = Array.from({ length: 50 }, () => sampleToken(logits, a, { temperature: 0.8 }));
    const drawsB = Array.from({ length: 50 }, () => sampleToken(logits, b, { temperature: 0.8 }));
    expect(drawsA).toEqual(drawsB);
    const c = new Rng(42);
    for (let i = 0; i < 50; i++) c.uniform();
    expect(a.getState()).toEqual(c.getState());
  });

  it('rejects NaN scores, negative temperature, bad top-k and rows with nothing allowed', () => {
    const rng = new Rng(0);
    expect(() => sampleToken([0, NaN], rng)).toThrow(/NaN at token 1/);
    expect(() => sampleToken([0, 1], rng, { temperature: -1 })).toThrow(/temperature/);
    expect(() => sampleToken([0, 1], rng, { topK: 0 })).toThrow(/topK/);
    expect(() => sampleToken([0, 1], rng, { forbid: [0, 1] })).toThrow(/at least one allowed token/);
    expect(() => sampleToken([], rng)).toThrow(/non-empty row/);
  });
});

describe('sampleSequence', () => {
  // A 3-token "model": state = number of steps taken; token 2 is <EOS>.
  // Row at every step: log-probs of [0.5, 0.3, 0.2].
  const row = [Math.log(0.5), Math.log(0.3), Math.log(0.2)];
  const step = (state: number, _token: number) => ({ logProbs: row, state: state + 1 });

  it('stops at <EOS> (included) or at maxLength, and sums log-probabilities', () => {
    const rng = new Rng(3);
    let sawEos = false;
    let sawCut = false;
    for (let i = 0; i < 200; i++) {
      const s = sampleSequence({ step, initialState: 0, startToken: 2, eosToken: 2, maxLength: 4, rng });
      expect(s.tokens.length).toBeLessThanOrEqual(4);
      expect(s.finished).toBe(s.tokens[s.tokens.length - 1] === 2);
      expect(s.tokens.slice(0, -1)).not.toContain(2);
      const expected = s.tokens.reduce((acc, t) => acc + row[t], 0);
      expect(s.logProb).toBeCloseTo(expected, 12);
      sawEos ||= s.finished;
      sawCut ||= !s.finished;
    }
    expect(sawEos && sawCut).toBe(true);
  });

  it('length follows the geometric law: P(length = 1) = P(EOS) = 0.2', () => {
    const rng = new Rng(9);
    const N = 5000;
    let ones = 0;
    for (let i = 0; i < N; i++) if (sampleSequence({ step, initialState: 0, startToken: 2, eosToken: 2, maxLength: 50, rng }).tokens.length === 1) ones++;
    expect(Math.abs(ones / N - 0.2)).toBeLessThanOrEqual(5 * Math.sqrt((0.2 * 0.8) / N));
  });

  it('greedy follows the argmax and needs no rng; drawing without one throws; forbid keeps a token out of every step', () => {
    const g = sampleSequence({ step, initialState: 0, startToken: 2, eosToken: 2, maxLength: 3, greedy: true });
    expect(g.tokens).toEqual([0, 0, 0]);
    expect(g.finished).toBe(false);
    const f = sampleSequence({ step, initialState: 0, startToken: 2, eosToken: 2, maxLength: 3, rng: new Rng(0), greedy: true, forbid: 0 });
    expect(f.tokens).toEqual([1, 1, 1]);
    expect(() => sampleSequence({ step, initialState: 0, startToken: 2, eosToken: 2, maxLength: 3 }))
      .toThrow('sampleSequence: expected an rng to draw with (or greedy: true), got none');
  });

  it('sums log P of the drawn tokens under the softmax of the row: unnormalised, large and −∞ scores', () => {
    // P = [1/4, 3/4, 0]: greedy draws token 1 twice, log P = 2·log(3/4)
    const step = (s: number) => ({ logProbs: [1000, 1000 + Math.log(3), -Infinity], state: s + 1 });
    const g = sampleSequence({ step, initialState: 0, startToken: 0, eosToken: 9, maxLength: 2, rng: new Rng(0), greedy: true });
    expect(g.tokens).toEqual([1, 1]);
    expect(g.logProb).toBeCloseTo(2 * Math.log(0.75), 10);
  });
});

describe('sampleStream', () => {
  /** 12 rows of 9 scores; token 4 has the largest score of every row (forbidding it moves the maximum). */
  function rows(): Float32Array[] {
    const rng = new Rng(21);
    return Array.from({ length: 12 }, () => {
      const r = Float32Array.from({ length: 9 }, () => 3 * rng.normal());
      r[4] = Math.max(...r) + 0.5;
      return r;
    });
  }

  it('draws what sampleToken draws and sums what logSoftmaxRow gives, bit for bit (τ, top-k, forbidden tokens, greedy)', () => {
    const options: (TokenChoiceOptions & { greedy?: boolean })[] = [
      {}, { forbid: 2 }, { forbid: [4] }, { topK: 3 }, { topK: 3, forbid: [4, 7] }, { temperature: 0.7 }, { temperature: 1.6, forbid: 1 },
      { temperature: 0 }, { greedy: true, forbid: [4] },
    ];
    for (const o of options) {
      const table = rows();
      let t = 0;
      const got = sampleStream(() => table[t++], { ...o, startToken: 0, eosToken: -1, maxLength: table.length, rng: new Rng(5) });
      // the reference: sampleToken (or greedyToken) and logSoftmaxRow on each row
      const rng = new Rng(5);
      const scratch = new Float64Array(9);
      let logProb = 0;
      const tokens = table.map((row) => {
        const token = o.greedy ? greedyToken(row, o) : sampleToken(row, rng, o, scratch);
        logSoftmaxRow(scratch, 0, row, 0, 9);
        logProb += scratch[token];
        return token;
      });
      expect(got.tokens, JSON.stringify(o)).toEqual(tokens);
      expect(Object.is(got.logProb, logProb), `${JSON.stringify(o)}: ${got.logProb} vs ${logProb}`).toBe(true);
    }
  });

  it('feeds each drawn token back to the stream, starting with startToken', () => {
    const fed: number[] = [];
    const row = [0, 0, 5, 0];
    const s = sampleStream((token) => { fed.push(token); return row; }, { startToken: 3, eosToken: -1, maxLength: 3, greedy: true });
    expect(s.tokens).toEqual([2, 2, 2]);
    expect(fed).toEqual([3, 2, 2]);
    expect(() => sampleStream(() => row, { startToken: 0, eosToken: -1, maxLength: 0, greedy: true }))
      .toThrow('sampleStream: expected maxLength to be an integer ≥ 1, got 0');
  });
});
