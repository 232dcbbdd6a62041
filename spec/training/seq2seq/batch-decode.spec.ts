/**
 * Batched decoding (Seq2SeqBatchDecoder + beamSearchBatch, behind translateIds / translateManyIds)
 * against the per-hypothesis decoder: beamSearch over Seq2SeqDecoder's one-row step function, one
 * hypothesis and one source at a time. Same n-best lists, same scores up to float rounding.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../engine/index.js';
import { beamSearch, type Hypothesis } from '../../../training/decode/beam.js';
import { generateDatePairs } from '../../../training/seq2seq/dates.js';
import {
  Seq2SeqDecoder, buildTargetVocabulary, createSeq2Seq, encodeSource, forbiddenTargets, translateIds, translateManyIds,
  type Seq2SeqModel, type Seq2SeqOptions, type Translation,
} from '../../../training/seq2seq/model.js';
import { Seq2SeqTrainer, prepareSeq2SeqData } from '../../../training/seq2seq/train.js';

/** The reference: beamSearch over the batch-1 step function of Seq2SeqDecoder. */
function perHypothesis(model: Seq2SeqModel, source: readonly number[] | ArrayLike<number>, beamWidth: number, nBest: number, maxLength: number): Hypothesis[] {
  const stepper = new Seq2SeqDecoder(model).prepare(source);
  return beamSearch({
    step: stepper.step, initialState: stepper.initialState, startToken: model.ids.sos, eosToken: model.ids.eos,
    beamWidth, nBest, maxLength, forbid: forbiddenTargets(model),
  });
}

function expectSameLists(batched: Translation[], reference: Hypothesis[], tolerance: number): void {
  expect(batched.length).toBe(reference.length);
  batched.forEach((t, i) => {
    const ref = reference[i];
    expect(t.finished).toBe(ref.finished);
    expect(t.finished ? [...t.ids, -1] : t.ids).toEqual(ref.finished ? [...ref.tokens.slice(0, -1), -1] : ref.tokens);
    expect(Math.abs(t.logProb - ref.logProb)).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(ref.logProb)));
    expect(Math.abs(t.score - ref.score)).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(ref.score)));
  });
}

function trainedDateModel(opts: Seq2SeqOptions, seed: number): { model: Seq2SeqModel; sources: number[][] } {
  const pairs = generateDatePairs(400, new Rng(seed));
  const data = prepareSeq2SeqData(pairs, { level: 'char', valFraction: 0 });
  const model = createSeq2Seq({ embeddingDim: 8, encoderHidden: 12, seed, ...opts, sourceVocab: data.sourceVocab, targetVocab: data.targetVocab });
  new Seq2SeqTrainer(model, data, { batch: 16, optimizer: { kind: 'adam', lr: 0.01 }, clipNorm: 5 }).run({ maxSteps: 25, maxEvalExamples: 0 });
  const held = generateDatePairs(24, new Rng(seed + 100));
  return { model, sources: held.map((p) => encodeSource(model, p.source)) };
}

describe('batched decoding gives the per-hypothesis decoder\'s n-best lists', () => {
  const cases: [string, Seq2SeqOptions, number][] = [
    ['biGRU encoder, Bahdanau attention, GRU decoder (float64)', { cell: 'gru', bidirectional: true, attention: 'bahdanau', decoderHidden: 16, dtype: 'float64' }, 1e-10],
    ['LSTM, no attention, dense bridge (float64)', { cell: 'lstm', attention: 'none', decoderHidden: 10, dtype: 'float64' }, 1e-10],
    ['reset-after GRU, general attention (float32)', { cell: 'gru-reset-after', attention: 'general', decoderHidden: 12, dtype: 'float32' }, 1e-4],
    // float32 on the default backend (wasm): the fused SIMD additive score against the per-hypothesis js loops
    ['biGRU encoder, Bahdanau attention n_att 16, GRU decoder (float32)', { cell: 'gru', bidirectional: true, attention: 'bahdanau', attentionSize: 16, decoderHidden: 16, dtype: 'float32' }, 1e-4],
  ];
  for (const [name, opts, tolerance] of cases) {
    it(`${name}: beam 5 (3-best) and greedy over many sources, chunked and padded`, () => {
      const { model, sources } = trainedDateModel(opts, 3);
      const maxLength = 14;
      for (const [beamWidth, nBest] of [[5, 3], [1, 1]]) {
        const batched = translateManyIds(model, sources, { beamWidth, nBest, maxLength }, 7); // chunks of 7: padding and a short last chunk
        sources.forEach((source, i) => expectSameLists(batched[i], perHypothesis(model, source, beamWidth, nBest, maxLength), tolerance));
      }
      // translateIds (one source) with the default maxLength 2·T_x + 10
      const one = translateIds(new Seq2SeqDecoder(model), sources[0], { beamWidth: 4, nBest: 2 });
      expectSameLists(one, perHypothesis(model, sources[0], 4, 2, 2 * sources[0].length + 10), tolerance);
    });
  }

  it('captioning: feature vectors decoded together', () => {
    const tgt = buildTargetVocabulary(['x', 'y', 'z', 'w']);
    const model = createSeq2Seq({ form: 'captioning', featureSize: 3, decoderHidden: 5, embeddingDim: 4, cell: 'gru', dtype: 'float64', targetVocab: tgt }, { rng: new Rng(9) });
    const rng = new Rng(10);
    const features = Array.from({ length: 5 }, () => Float64Array.from({ length: 3 }, () => rng.uniformIn(-2, 2)));
    const batched = translateManyIds(model, features, { beamWidth: 3, nBest: 3, maxLength: 6 });
    features.forEach((f, i) => expectSameLists(batched[i], perHypothesis(model, f, 3, 3, 6), 1e-10));
  });
});
