/**
 * The Transformer's cached batched decoding (transformerTranslateManyIds: a key/value cache, beamSearchBatch)
 * against the reference decoder that re-runs the whole prefix every step (transformerTranslateIdsUncached,
 * beamSearch over decoder.prepare): the same tokens, and the same log-probabilities (float64 to 1e−10,
 * float32 to float32 rounding), greedy and beam 5, many sources of ragged lengths decoded together.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../engine/rng.js';
import { sampleSequence } from '../../../training/decode/sampling.js';
import { buildSourceVocabulary, buildTargetVocabulary, type Translation } from '../../../training/seq2seq/model.js';
import {
  TransformerSeq2SeqDecoder, createTransformerSeq2Seq, transformerSourceIds, transformerTranslateIds, transformerTranslateIdsUncached, transformerTranslateManyIds,
} from '../../../training/seq2seq/transformer-model.js';
import { evaluateTransformerSeq2Seq } from '../../../training/seq2seq/transformer-train.js';

function model(dtype: 'float32' | 'float64', normFirst: boolean, positions: 'sinusoidal' | 'learned' = 'sinusoidal') {
  const sourceVocab = buildSourceVocabulary('abcdef'.split(''));
  const targetVocab = buildTargetVocabulary('uvwxyz'.split(''));
  const m = createTransformerSeq2Seq({
    dModel: 16, numHeads: 4, encoderLayers: 2, decoderLayers: 2, dimFeedforward: 24, maxLength: 24, normFirst, positions, dtype, seed: 5,
  }, sourceVocab, targetVocab);
  m.output.params.b!.data[m.ids.eos] = -2; // untrained, <EOS> would come first: make the outputs a few tokens long
  return m;
}

/** 6 sources of 1 to 7 tokens, in no particular order of length. */
function sources(vocabSize: number): number[][] {
  const rng = new Rng(7);
  return [5, 1, 7, 3, 2, 6].map((len) => Array.from({ length: len }, () => 1 + Math.floor(rng.uniform() * (vocabSize - 1))));
}

function expectSame(got: Translation[], want: Translation[], tolerance: number): void {
  expect(got.map((h) => h.ids)).toEqual(want.map((h) => h.ids));
  expect(got.map((h) => h.finished)).toEqual(want.map((h) => h.finished));
  got.forEach((h, i) => {
    expect(Math.abs(h.logProb - want[i].logProb)).toBeLessThanOrEqual(tolerance);
    expect(Math.abs(h.score - want[i].score)).toBeLessThanOrEqual(tolerance);
  });
}

describe('Transformer seq2seq decoding with the key/value cache', () => {
  for (const [dtype, normFirst, positions, tolerance] of [
    ['float64', false, 'sinusoidal', 1e-10], ['float64', true, 'learned', 1e-10], ['float32', false, 'sinusoidal', 1e-4],
  ] as const) {
    it(`${dtype}, ${normFirst ? 'pre' : 'post'}-norm, ${positions} positions: greedy and beam 5 give the reference decoder's n-best lists, batched in chunks`, () => {
      const m = model(dtype, normFirst, positions);
      const srcs = sources(m.sourceVocab.size);
      const decoder = new TransformerSeq2SeqDecoder(m);
      for (const opts of [{ beamWidth: 1 }, { beamWidth: 5, nBest: 3, lengthPenalty: { kind: 'gnmt' as const } }]) {
        const want = srcs.map((src) => transformerTranslateIdsUncached(decoder, src, opts));
        expect(want.some((hyps) => hyps[0].ids.length >= 3)).toBe(true); // the search runs several steps
        const all = transformerTranslateManyIds(decoder, srcs, opts, 4); // chunks of 4: two batches, of 4 and 2 sources
        srcs.forEach((_, i) => expectSame(all[i], want[i], tolerance));
        expectSame(transformerTranslateIds(decoder, srcs[2], opts), want[2], tolerance);
      }
    });
  }

  it('evaluateTransformerSeq2Seq decodes every pair at once and scores what the per-source reference decoder outputs', () => {
    const m = model('float64', false);
    const decoder = new TransformerSeq2SeqDecoder(m);
    // the sources as text (plain letters: ids of the letters a–f only), read back as the evaluation reads them
    const texts = sources(m.sourceVocab.size).map((src) => src.map((id) => 'abcdef'[id % 6]).join(m.config.sourceLevel === 'char' ? '' : ' '));
    const srcs = texts.map((t) => transformerSourceIds(m, t));
    expect(srcs.map((src) => src.length)).toEqual([5, 1, 7, 3, 2, 6]);
    for (const beamWidth of [1, 3]) {
      const want = srcs.map((src) => transformerTranslateIdsUncached(decoder, src, { beamWidth })[0]);
      // one reference pair equal to the decoder's own output (an exact match), the others not
      const pairs = texts.map((source, i) => ({ source, target: i === 3 ? want[i].text : 'uvw' }));
      const r = evaluateTransformerSeq2Seq(m, pairs, { beamWidth });
      expect(r.items.map((it) => it.output)).toEqual(want.map((h) => h.text));
      expect(r.items.map((it) => it.sourceLength)).toEqual(srcs.map((src) => src.length));
      expect(r.items[3].correct).toBe(want[3].finished);
      expect(r.exactMatch).toBe(r.items.filter((it) => it.correct).length / srcs.length);
    }
  });

  it('sampling: prepareCached draws the reference step function\'s tokens with the same log-probabilities, source after source', () => {
    const m = model('float64', true);
    const decoder = new TransformerSeq2SeqDecoder(m);
    for (const [i, src] of sources(m.sourceVocab.size).entries()) {
      const opts = { startToken: m.ids.sos, eosToken: m.ids.eos, maxLength: 12, temperature: 1.3, forbid: [m.ids.pad, m.ids.sos] };
      const cached = decoder.prepareCached(src);
      const a = sampleSequence({ ...opts, step: cached.step, initialState: cached.initialState, rng: new Rng(i) });
      const reference = decoder.prepare(src);
      const b = sampleSequence({ ...opts, step: reference.step, initialState: reference.initialState, rng: new Rng(i) });
      expect(a.tokens).toEqual(b.tokens);
      expect(Math.abs(a.logProb - b.logProb)).toBeLessThan(1e-10);
    }
  });

  it('maxLength cuts the hypotheses as the reference does; decoding after release() allocates afresh and agrees', () => {
    const m = model('float64', false);
    const srcs = sources(m.sourceVocab.size);
    const decoder = new TransformerSeq2SeqDecoder(m);
    const opts = { beamWidth: 3, maxLength: 2 };
    const first = transformerTranslateManyIds(decoder, srcs, opts);
    srcs.forEach((src, i) => {
      expectSame(first[i], transformerTranslateIdsUncached(decoder, src, opts), 1e-10);
      expect(first[i][0].ids.length).toBeLessThanOrEqual(2);
    });
    decoder.release();
    const again = transformerTranslateManyIds(decoder, srcs, opts);
    srcs.forEach((_, i) => expectSame(again[i], first[i], 0));
  });
});
