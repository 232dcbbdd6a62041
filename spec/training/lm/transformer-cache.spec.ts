/**
 * The Transformer language model's cached step function (a key/value cache, training/decode/incremental.ts)
 * against the reference step function that re-runs the whole context every token
 * (createTransformerLmStepperUncached): the same samples from the same seed, the same beam, the same
 * log-probabilities (float64 to 1e−12, float32 to float32 rounding), also past maxLength where the
 * context slides.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../engine/rng.js';
import { beamSearch } from '../../../training/decode/beam.js';
import { sampleSequence } from '../../../training/decode/sampling.js';
import {
  createTransformerLanguageModel, createTransformerLmStepper, createTransformerLmStepperUncached,
} from '../../../training/lm/transformer-model.js';
import { Vocabulary } from '../../../training/text/vocab.js';

const vocab = new Vocabulary('abcdefgh'.split(''), new Array(8).fill(1));

function model(dtype: 'float32' | 'float64', normFirst: boolean) {
  return createTransformerLanguageModel({ dModel: 16, numHeads: 4, layers: 2, dimFeedforward: 24, maxLength: 10, normFirst, dtype, seed: 8, positions: normFirst ? 'learned' : 'sinusoidal' }, vocab);
}

describe('Transformer LM generation with the key/value cache', () => {
  for (const [dtype, normFirst, tolerance] of [['float64', false, 1e-12], ['float64', true, 1e-12], ['float32', false, 2e-5]] as const) {
    it(`${dtype} ${normFirst ? 'pre' : 'post'}-norm: sampling past maxLength and beam search agree with the reference step function`, () => {
      const m = model(dtype, normFirst);
      const cached = createTransformerLmStepper(m), reference = createTransformerLmStepperUncached(m);
      // 25 tokens from a context of 10: the last 16 steps slide the window (the cached stepper hands them to the reference)
      for (const seed of [1, 2]) {
        const opts = { startToken: 1, eosToken: vocab.size, maxLength: 25, temperature: 1.5 };
        const a = sampleSequence({ ...opts, step: cached.step, initialState: cached.initialState(), rng: new Rng(seed) });
        const b = sampleSequence({ ...opts, step: reference.step, initialState: reference.initialState(), rng: new Rng(seed) });
        expect(a.tokens).toEqual(b.tokens);
        expect(a.tokens.length).toBe(25);
        expect(Math.abs(a.logProb - b.logProb)).toBeLessThan(25 * tolerance);
      }
      // every row, step by step, while the cache holds the context
      let sa = cached.initialState(), sb = reference.initialState();
      for (const token of [3, 1, 4, 1, 5, 2, 6, 5, 3]) {
        const ra = cached.step(sa, token), rb = reference.step(sb, token);
        for (let j = 0; j < vocab.size; j++) expect(Math.abs(ra.logProbs[j] - rb.logProbs[j])).toBeLessThan(tolerance);
        sa = ra.state;
        sb = rb.state;
      }
      // beam search switches states every step: the cache replays them
      const beam = (s: typeof cached) => beamSearch({ step: s.step, initialState: s.initialState(), startToken: 2, eosToken: 0, beamWidth: 4, maxLength: 7, nBest: 4 });
      const ba = beam(cached), bb = beam(reference);
      expect(ba.map((h) => h.tokens)).toEqual(bb.map((h) => h.tokens));
      ba.forEach((h, i) => expect(Math.abs(h.logProb - bb[i].logProb)).toBeLessThan(7 * tolerance));
    });
  }

  it('rejects a token outside the vocabulary', () => {
    const s = createTransformerLmStepper(model('float64', false));
    expect(() => s.step(s.initialState(), vocab.size)).toThrow(/token id in \[0, \d+\)/);
  });
});
