import { describe, expect, it } from 'vitest';
import { Matrix } from '../../../engine/matrix.js';
import { Rng } from '../../../engine/rng.js';
import { logSoftmax } from '../../../engine/softmax.js';
import { DROPOUT_OFF } from '../../../layers/dropout.js';
import { buildSourceVocabulary, buildTargetVocabulary, makeSeq2SeqBatch } from '../../../training/seq2seq/model.js';
import { reversalPairs } from '../../../training/seq2seq/tasks.js';
import { prepareSeq2SeqData } from '../../../training/seq2seq/train.js';
import {
  TransformerSeq2SeqDecoder, batchView, createTransformerSeq2Seq, createTransformerSeq2SeqWorkspace, transformerAttentionMaps,
  transformerSeq2SeqForward, transformerSeq2SeqFromJSON, transformerSeq2SeqToJSON, transformerTranslateIds,
} from '../../../training/seq2seq/transformer-model.js';
import { TransformerSeq2SeqTrainer, padSeq2SeqBatch } from '../../../training/seq2seq/transformer-train.js';

function smallModel(normFirst = false) {
  const sourceVocab = buildSourceVocabulary(['a', 'b', 'c']);
  const targetVocab = buildTargetVocabulary(['x', 'y', 'z']);
  const model = createTransformerSeq2Seq({ dModel: 8, numHeads: 2, encoderLayers: 2, decoderLayers: 2, maxLength: 12, normFirst, dtype: 'float64', seed: 3, sourceVocab, targetVocab });
  return { model, s: (t: string) => sourceVocab.encode(t.split('')), y: (t: string) => targetVocab.encode(t.split('')) };
}

describe('Transformer encoder-decoder', () => {
  for (const normFirst of [false, true]) {
    it(`${normFirst ? 'pre' : 'post'}-norm: step-by-step decoding gives the teacher-forced batch's log-probabilities, padding changes nothing`, () => {
      const { model, s, y } = smallModel(normFirst);
      const examples = [{ source: s('abc'), target: y('zx') }, { source: s('cabba'), target: y('xyzzy') }];
      const batch = padSeq2SeqBatch(makeSeq2SeqBatch(batchView(model), examples), 8, 8, model.sourceVocab.id('<PAD>'), model.ids.pad);
      const ws = createTransformerSeq2SeqWorkspace(model, 8, 8, 2);
      transformerSeq2SeqForward(model, ws, batch, DROPOUT_OFF);
      const logProbs = logSoftmax(Matrix.zeros(ws.logits.rows, ws.logits.cols, 'float64'), ws.logits);
      const decoder = new TransformerSeq2SeqDecoder(model);
      examples.forEach((ex, b) => {
        const stepper = decoder.prepare(ex.source);
        let state = stepper.initialState;
        [model.ids.sos, ...ex.target].forEach((token, t) => {
          const out = stepper.step(state, token);
          const row = logProbs.toArray()[t * 2 + b];
          for (let j = 0; j < row.length; j++) expect(Math.abs(out.logProbs[j] - row[j])).toBeLessThan(1e-12);
          state = out.state;
        });
      });
    });
  }

  it('learns to reverse short sequences: validation loss from > 1.5 to < 0.6 nats/token, greedy exact match from 0 to > 25%', () => {
    const pairs = reversalPairs(600, new Rng(2), { minLength: 2, maxLength: 4, vocabSize: 4 });
    const data = prepareSeq2SeqData(pairs, { level: 'word', valFraction: 0.1 });
    const model = createTransformerSeq2Seq({
      level: 'word', dModel: 16, numHeads: 2, encoderLayers: 1, decoderLayers: 1, dimFeedforward: 32, dropout: 0, maxLength: 8, normFirst: true,
      sourceVocab: data.sourceVocab, targetVocab: data.targetVocab,
    });
    const trainer = new TransformerSeq2SeqTrainer(model, data, { batch: 16, optimizer: { kind: 'adam', lr: 0.01 }, clipNorm: 1 });
    const before = trainer.evaluate(60);
    expect(before.exactMatch).toBe(0);
    expect(before.loss).toBeGreaterThan(1.5); // ≈ ln 8 untrained
    const after = trainer.run({ maxSteps: 80, evalEvery: 1000, maxEvalExamples: 60 }).lastEvaluation!;
    expect(after.loss).toBeLessThan(0.6);
    expect(after.exactMatch).toBeGreaterThan(0.25);
  });

  it('the model file round-trips; attention maps have one row per output step and sum to 1 over the source', () => {
    const { model, s, y } = smallModel();
    const back = transformerSeq2SeqFromJSON(JSON.parse(JSON.stringify(transformerSeq2SeqToJSON(model))));
    const [a] = transformerTranslateIds(new TransformerSeq2SeqDecoder(model), s('abca'), { beamWidth: 3 });
    const [b] = transformerTranslateIds(new TransformerSeq2SeqDecoder(back), s('abca'), { beamWidth: 3 });
    expect(b).toEqual(a);
    const maps = transformerAttentionMaps(new TransformerSeq2SeqDecoder(model), s('abca'), y('xy'));
    expect(maps.length).toBe(2); // decoder layers
    for (const heads of maps) {
      expect(heads.length).toBe(2);
      for (const rows of heads) {
        expect(rows.length).toBe(3); // x, y, <EOS>
        for (const row of rows) {
          expect(row.length).toBe(4);
          expect(row.reduce((p, q) => p + q, 0)).toBeCloseTo(1, 12);
        }
      }
    }
  });
});
