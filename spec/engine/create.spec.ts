/**
 * The constructor convention `createX(config, { rng?, dtype? })`: the defaults (rng = new Rng(DEFAULT_SEED),
 * dtype float32), the options winning over a dtype in the config, and the deprecated positional forms building
 * the same weights as the new form from the same seed.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_SEED, resolveCreateOptions } from '../../engine/create.js';
import { Rng } from '../../engine/rng.js';
import { createAttention } from '../../layers/attention/attention.js';
import { causalMask } from '../../layers/attention/multihead.js';
import { createCell } from '../../layers/cells/create-cell.js';
import { createDense } from '../../layers/dense.js';
import { createEmbedding } from '../../layers/embedding.js';
import { createSentimentEmbedding } from '../../training/classify/sentence-classifier.js';
import { createSequenceNet, type NetDescription } from '../../training/io/sequence-net.js';
import { createLanguageModel } from '../../training/lm/model.js';
import { createTransformerLanguageModel } from '../../training/lm/transformer-model.js';
import { buildSourceVocabulary, buildTargetVocabulary, createSeq2Seq } from '../../training/seq2seq/model.js';
import { createTransliteration } from '../../training/seq2seq/tasks.js';
import { createTransformerSeq2Seq } from '../../training/seq2seq/transformer-model.js';
import { Vocabulary } from '../../training/text/vocab.js';
import { createTriggerModel } from '../../training/trigger/trigger.js';

const values = (m: { data: ArrayLike<number> }): number[] => Array.from(m.data);

describe('createX(config, { rng?, dtype? })', () => {
  it('defaults: a fresh Rng(DEFAULT_SEED) per call and float32; options.dtype wins over the config’s', () => {
    expect(DEFAULT_SEED).toBe(1);
    const a = createDense({ inputSize: 3, outputSize: 2 });
    expect(a.dtype).toBe('float32');
    expect(values(a.params.W)).toEqual(values(createDense({ inputSize: 3, outputSize: 2 }, { rng: new Rng(1) }).params.W));
    expect(values(a.params.W)).not.toEqual(values(createDense({ inputSize: 3, outputSize: 2 }, { rng: new Rng(2) }).params.W));
    expect(createCell({ kind: 'gru', inputSize: 2, hiddenSize: 3, dtype: 'float32' }, { dtype: 'float64' }).dtype).toBe('float64');
    expect(causalMask(3, { dtype: 'float64' }).dtype).toBe('float64');
    expect(() => resolveCreateOptions('createThing', { dtype: 'float16' as 'float32' })).toThrow("createThing: expected dtype float32 or float64, got 'float16'");
    expect(() => resolveCreateOptions('createThing', { rng: {} as Rng })).toThrow('createThing: expected options.rng to be an Rng, got object');
  });

  it('the deprecated positional forms build the same weights from the same seed', () => {
    expect(values(createDense(4, 3, new Rng(5), { dtype: 'float64' }).params.W))
      .toEqual(values(createDense({ inputSize: 4, outputSize: 3 }, { rng: new Rng(5), dtype: 'float64' }).params.W));
    expect(values(createEmbedding(6, 2, new Rng(5)).weight)).toEqual(values(createEmbedding({ vocabSize: 6, dim: 2 }, { rng: new Rng(5) }).weight));
    expect(values(createCell('lstm', { inputSize: 2, hiddenSize: 3, rng: new Rng(5) }).params.W_a))
      .toEqual(values(createCell({ kind: 'lstm', inputSize: 2, hiddenSize: 3 }, { rng: new Rng(5) }).params.W_a));
    const config = { score: 'additive' as const, querySize: 3, encoderSize: 4 };
    expect(values(createAttention(config, new Rng(5)).params.U)).toEqual(values(createAttention(config, { rng: new Rng(5) }).params.U));
    expect(causalMask(3, 'float64').dtype).toBe('float64');
    const vocab = Vocabulary.build('a b c'.split(' '));
    expect(values(createLanguageModel({ hidden: 3 }, vocab, new Rng(5)).output.params.W))
      .toEqual(values(createLanguageModel({ hidden: 3, vocab }, { rng: new Rng(5) }).output.params.W));
  });

  it('so do those of the application models (vocabularies, statistics and tables now in the config)', () => {
    const vocab = Vocabulary.build('a b c'.split(' '));
    const sourceVocab = buildSourceVocabulary('abc'.split(''));
    const targetVocab = buildTargetVocabulary('xy'.split(''));
    const seq2seq = { embeddingDim: 2, encoderHidden: 3, attention: 'bahdanau' as const };
    expect(values(createSeq2Seq(seq2seq, sourceVocab, targetVocab, new Rng(5)).output.params.W))
      .toEqual(values(createSeq2Seq({ ...seq2seq, sourceVocab, targetVocab }, { rng: new Rng(5) }).output.params.W));
    const captioning = { form: 'captioning' as const, featureSize: 3, decoderHidden: 2, embeddingDim: 2 };
    expect(values(createSeq2Seq(captioning, null, targetVocab, new Rng(5)).output.params.W))
      .toEqual(values(createSeq2Seq({ ...captioning, targetVocab }, { rng: new Rng(5) }).output.params.W));
    const layers = { dModel: 4, numHeads: 2, dimFeedforward: 4, maxLength: 6 };
    expect(values(createTransformerLanguageModel({ ...layers, layers: 1 }, vocab, new Rng(5)).output.params.W))
      .toEqual(values(createTransformerLanguageModel({ ...layers, layers: 1, vocab }, { rng: new Rng(5) }).output.params.W));
    const sizes = { ...layers, encoderLayers: 1, decoderLayers: 1 };
    expect(values(createTransformerSeq2Seq(sizes, sourceVocab, targetVocab, new Rng(5)).output.params.W))
      .toEqual(values(createTransformerSeq2Seq({ ...sizes, sourceVocab, targetVocab }, { rng: new Rng(5) }).output.params.W));
    const stats = { mean: Float32Array.of(1, 2), std: Float32Array.of(3, 4) };
    const oldTrigger = createTriggerModel({ bands: 2, hidden: 3 }, new Rng(5), stats);
    const trigger = createTriggerModel({ bands: 2, hidden: 3, stats }, { rng: new Rng(5) });
    expect(values(oldTrigger.net.head.dense.params.W)).toEqual(values(trigger.net.head.dense.params.W));
    expect([oldTrigger.mean, oldTrigger.std]).toEqual([trigger.mean, trigger.std]);
    expect(values(createSentimentEmbedding(vocab, new Rng(5), { dim: 2 }).embedding.weight))
      .toEqual(values(createSentimentEmbedding({ vocab, dim: 2 }, { rng: new Rng(5) }).embedding.weight));
    expect(createTransliteration(new Rng(5), 4)).toEqual(createTransliteration({ vocabSize: 4 }, { rng: new Rng(5) }));
    const desc: NetDescription = {
      cell: 'gru', vocabSize: 4, embeddingDim: 2, hidden: 3, layers: 1, bidirectional: false, outputSize: 2, head: 'sigmoid', readout: 'every-step', dtype: 'float64',
    };
    const oldNet = createSequenceNet(desc, new Rng(5));
    expect(oldNet.head.dense.params.W.dtype).toBe('float64');
    expect(values(oldNet.head.dense.params.W)).toEqual(values(createSequenceNet(desc, { rng: new Rng(5) }).head.dense.params.W));
  });
});
