import { describe, expect, it } from 'vitest';
import { Rng } from '../../../engine/index.js';
import { beamSearch, lengthNormalizedScore, scoreSequence, type LengthPenalty } from '../../../training/decode/beam.js';

const V = 4;
const L = 4;
const EOS = 3;
const START = 0;

/**
 * A small random "model": log P(next | position t, previous token) from a seeded table, each row
 * a log-softmax of N(0, 1.5²) logits. State = the position.
 */
function randomTable(seed: number): number[][][] {
  const rng = new Rng(seed);
  return Array.from({ length: L }, () =>
    Array.from({ length: V }, () => {
      const z = Array.from({ length: V }, () => rng.normal(0, 1.5));
      const lse = Math.log(z.reduce((a, v) => a + Math.exp(v), 0));
      return z.map((v) => v - lse);
    }),
  );
}

function tableStep(table: number[][][]) {
  return (t: number, prev: number) => ({ logProbs: table[t][prev], state: t + 1 });
}

interface Candidate {
  tokens: number[];
  logProb: number;
}

/**
 * Brute force: every output the decoder can produce — w·EOS with w ∈ {0,1,2}^k, k < L, and
 * w ∈ {0,1,2}^L cut at maxLength — with Σ log P summed straight from the table.
 */
function enumerate(table: number[][][]): Candidate[] {
  const out: Candidate[] = [];
  const walk = (prefix: number[], logProb: number): void => {
    const t = prefix.length;
    const prev = t === 0 ? START : prefix[t - 1];
    if (t === L) {
      out.push({ tokens: prefix, logProb });
      return;
    }
    for (let tok = 0; tok < V; tok++) {
      const lp = logProb + table[t][prev][tok];
      if (tok === EOS) out.push({ tokens: [...prefix, tok], logProb: lp });
      else walk([...prefix, tok], lp);
    }
  };
  walk([], 0);
  return out;
}

const penalties: LengthPenalty[] = [
  { kind: 'none' },
  { kind: 'notes', alpha: 0.7 },
  { kind: 'notes', alpha: 1 },
  { kind: 'gnmt', alpha: 0.6 },
];

describe('beamSearch', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    for (const penalty of penalties) {
      it(`width ≥ V^L = 256 finds the exhaustive argmax (seed ${seed}, ${penalty.kind} α=${penalty.alpha})`, () => {
        const table = randomTable(seed);
        const all = enumerate(table);
        // 3 + 9 + 27 EOS-terminated (lengths 1..3... plus 81 length-4 without EOS) + 27 length-4 with EOS last
        expect(all.length).toBe(1 + 3 + 9 + 27 + 81);
        const score = (c: Candidate): number => {
          const T = c.tokens.length; // EOS counted
          if (penalty.kind === 'none') return c.logProb;
          if (penalty.kind === 'notes') return c.logProb / Math.pow(T, penalty.alpha!);
          return c.logProb / Math.pow((5 + T) / 6, penalty.alpha!);
        };
        const ranked = [...all].sort((a, b) => score(b) - score(a));
        const result = beamSearch({ step: tableStep(table), initialState: 0, startToken: START, eosToken: EOS, beamWidth: 256, maxLength: L, lengthPenalty: penalty, nBest: 10 });
        expect(result[0].tokens).toEqual(ranked[0].tokens);
        expect(result[0].score).toBeCloseTo(score(ranked[0]), 12);
        // The whole 10-best list, in order.
        expect(result.map((h) => h.tokens)).toEqual(ranked.slice(0, 10).map((c) => c.tokens));
        for (let i = 1; i < result.length; i++) expect(result[i - 1].score).toBeGreaterThanOrEqual(result[i].score);
      });
    }
  }

  it('width 1 equals greedy decoding (argmax at each step until EOS or maxLength)', () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const table = randomTable(seed);
      const greedy: number[] = [];
      let logProb = 0;
      let prev = START;
      for (let t = 0; t < L; t++) {
        const row = table[t][prev];
        const best = row.indexOf(Math.max(...row));
        greedy.push(best);
        logProb += row[best];
        if (best === EOS) break;
        prev = best;
      }
      const [h] = beamSearch({ step: tableStep(table), initialState: 0, startToken: START, eosToken: EOS, beamWidth: 1, maxLength: L });
      expect(h.tokens).toEqual(greedy);
      expect(h.logProb).toBeCloseTo(logProb, 12);
      expect(h.finished).toBe(greedy[greedy.length - 1] === EOS);
    }
  });

  /**
   * Hand-built: tokens a = 0, b = 1, EOS = 2, start = 0.
   * First step: P(EOS) = 0.4, P(a) = 0.6, P(b) = 0. After a: P(a) = 0.5, P(EOS) = 0.5.
   *   [EOS]       log 0.4  = −0.9163, T = 1
   *   [a, EOS]    log 0.3  = −1.2040, T = 2
   *   [a, a, EOS] log 0.15 = −1.8971, T = 3
   * none:          [EOS] wins (−0.916 > −1.204).
   * notes, α = 1:  −0.916/1 vs −1.204/2 = −0.602 vs −1.897/3 = −0.632 → [a, EOS] wins.
   * notes, α = 0.7: −1.204/2^0.7 = −0.741 > −0.916 → [a, EOS] wins.
   * gnmt, α = 0.6: −1.204/(7/6)^0.6 = −1.121 < −0.916 → [EOS] still wins (a milder penalty).
   * gnmt, α = 2:   −1.204/(7/6)² = −0.8845 > −0.9163 → [a, EOS] wins.
   */
  const first = [Math.log(0.6), -Infinity, Math.log(0.4)];
  const afterA = [Math.log(0.5), -Infinity, Math.log(0.5)];
  const handStep = (t: number, _tok: number) => ({ logProbs: t === 0 ? first : afterA, state: t + 1 });
  const decode = (lengthPenalty: LengthPenalty) =>
    beamSearch({ step: handStep, initialState: 0, startToken: 0, eosToken: 2, beamWidth: 3, maxLength: 5, lengthPenalty, nBest: 3 });

  it('length normalisation changes the winner where it must', () => {
    expect(decode({ kind: 'none' })[0].tokens).toEqual([2]);
    expect(decode({ kind: 'notes', alpha: 1 })[0].tokens).toEqual([0, 2]);
    expect(decode({ kind: 'notes', alpha: 0.7 })[0].tokens).toEqual([0, 2]);
    expect(decode({ kind: 'gnmt', alpha: 0.6 })[0].tokens).toEqual([2]);
    expect(decode({ kind: 'gnmt', alpha: 2 })[0].tokens).toEqual([0, 2]);
  });

  it('scores count the EOS in T_y and follow each formula', () => {
    const [best] = decode({ kind: 'notes', alpha: 1 });
    expect(best.logProb).toBeCloseTo(Math.log(0.3), 14);
    expect(best.score).toBeCloseTo(Math.log(0.3) / 2, 14);
    const [g] = decode({ kind: 'gnmt', alpha: 2 });
    expect(g.score).toBeCloseTo(Math.log(0.3) / (7 / 6) ** 2, 14);
    expect(lengthNormalizedScore(-6, 3, { kind: 'notes', alpha: 0.5 })).toBeCloseTo(-6 / Math.sqrt(3), 14);
    expect(lengthNormalizedScore(-6, 3, { kind: 'gnmt' })).toBeCloseTo(-6 / (8 / 6) ** 0.6, 14);
  });

  it('n-best lists are sorted by score and hold distinct hypotheses', () => {
    const list = decode({ kind: 'none' });
    // Under none: [EOS] −0.916, [a,EOS] −1.204, [a,a,EOS] −1.897
    expect(list.map((h) => h.tokens)).toEqual([[2], [0, 2], [0, 0, 2]]);
    expect(list.map((h) => h.logProb)).toEqual([Math.log(0.4), Math.log(0.6) + Math.log(0.5), Math.log(0.6) + Math.log(0.5) + Math.log(0.5)]);
  });

  it('hypotheses cut at maxLength are returned unfinished; forbid removes a token', () => {
    // Only a continues forever if EOS is forbidden.
    const [h] = beamSearch({ step: handStep, initialState: 0, startToken: 0, eosToken: 2, beamWidth: 2, maxLength: 3, forbid: 2 });
    expect(h.tokens).toEqual([0, 0, 0]);
    expect(h.finished).toBe(false);
    expect(h.logProb).toBeCloseTo(Math.log(0.6 * 0.5 * 0.5), 14);
  });

  it('scoreSequence agrees with the decoder to the bit and gives per-token log-probs', () => {
    const table = randomTable(9);
    for (const penalty of penalties) {
      const [h] = beamSearch({ step: tableStep(table), initialState: 0, startToken: START, eosToken: EOS, beamWidth: 3, maxLength: L, lengthPenalty: penalty });
      const s = scoreSequence({ step: tableStep(table), initialState: 0, startToken: START, tokens: h.tokens, lengthPenalty: penalty });
      expect(s.logProb).toBe(h.logProb);
      expect(s.score).toBe(h.score);
    }
    const s = scoreSequence({ step: handStep, initialState: 0, startToken: 0, tokens: [0, 0, 2] });
    expect(s.tokenLogProbs).toEqual([Math.log(0.6), Math.log(0.5), Math.log(0.5)]);
  });

  it('rejects bad options with clear messages', () => {
    const base = { step: handStep, initialState: 0, startToken: 0, eosToken: 2, beamWidth: 2, maxLength: 3 };
    expect(() => beamSearch({ ...base, beamWidth: 0 })).toThrow(/beamWidth to be an integer in \[1, 1000\], got 0/);
    expect(() => beamSearch({ ...base, beamWidth: 1_000_000 })).toThrow(/beamWidth to be an integer in \[1, 1000\], got 1000000/);
    expect(() => beamSearch({ ...base, maxLength: 0 })).toThrow(/maxLength/);
    expect(() => beamSearch({ ...base, eosToken: 7 })).toThrow(/eosToken to be an id in \[0, 3\), got 7/);
    expect(() => beamSearch({ ...base, lengthPenalty: { kind: 'bogus' as 'none' } })).toThrow(/none\|notes\|gnmt/);
    expect(() => scoreSequence({ step: handStep, initialState: 0, startToken: 0, tokens: [] })).toThrow(/at least one token/);
    expect(() => scoreSequence({ step: handStep, initialState: 0, startToken: 0, tokens: [5] })).toThrow(/got 5/);
  });
});
