/**
 * The recurrent models' regularisation options refuse dropout that could not act: mode 'between' drops only
 * between stacked layers, so on one layer it would do nothing (PyTorch's nn.LSTM warns and trains without it;
 * seqgrad refuses, see inertDropoutProblem). One InputError line naming the operation, the field, what was
 * expected and what came — for every application that builds a stack from these options. Model files saved
 * with it before the refusal keep loading, as the same model (withoutInertDropout).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RnnDropoutMode } from '../../../layers/stacked-dropout.js';
import { InputError } from '../../../training/core/errors.js';
import { resolveRnnRegularization, withoutInertDropout } from '../../../training/core/rnn-regularization.js';
import { sequenceNetTensors } from '../../../training/io/sequence-net.js';
import { languageModelFromTensors, lmExportable, lmSequenceNet } from '../../../training/lm/export.js';
import { loadLanguageModel } from '../../../training/lm/model-file.js';
import {
  createLanguageModel, createLmWorkspace, languageModelFromJSON, languageModelToJSON, lmForward, type LanguageModel,
} from '../../../training/lm/model.js';
import { createLmTrainer, prepareLmCorpus, readLmCheckpoint, resumeLmTrainer, type LmTrainConfig } from '../../../training/lm/train.js';
import { modelDocument, modelFromTensors, modelTensors } from '../../../training/model/export.js';
import { loadCheckpoint } from '../../../training/model/model-file.js';
import { createModel, modelFromJSON } from '../../../training/model/model.js';
import { seq2seqDocument, seq2seqFromTensors, seq2seqTensors } from '../../../training/seq2seq/export.js';
import {
  buildSourceVocabulary, buildTargetVocabulary, createSeq2Seq, createSeq2SeqWorkspace, encodeSource, encodeTarget, makeSeq2SeqBatch, seq2seqForward,
  seq2seqFromJSON, seq2seqToJSON, type Seq2SeqModel,
} from '../../../training/seq2seq/model.js';
import { createLstmSentimentModel, lstmModelFactory, type LstmSentimentModel } from '../../../training/sentiment/lstm.js';
import { buildSentimentVocabulary, predictSentiment } from '../../../training/sentiment/sentiment.js';
import {
  buildTaggerVocabulary, createTagger, predictTagger, taggerFromJSON, taggerToJSON, type LegacyTaggerJSON,
} from '../../../training/tagger/tagger.js';
import { Vocabulary } from '../../../training/text/vocab.js';

const TAGGER_FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/tagger');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-inert-dropout-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The error `build` throws (it must throw). */
function errorOf(build: () => unknown): Error {
  try {
    build();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw, got none');
}

const oneLayer = (op: string, field: string): RegExp =>
  new RegExp(`^${op}: dropout mode 'between' acts only between stacked layers, so dropout 0\\.3 on one layer would do nothing: expected ${field} ≥ 2 or dropout mode 'variational', got ${field} 1$`);

describe("dropout mode 'between' on one layer", () => {
  it('is refused by resolveRnnRegularization; two layers, variational, or p = 0 are kept as before', () => {
    expect(() => resolveRnnRegularization('op', { dropout: 0.3 }, 'lstm', 1)).toThrow(oneLayer('op', 'layers'));
    expect(errorOf(() => resolveRnnRegularization('op', { dropout: 0.3, dropoutMode: 'between' }, 'gru', 1, 'numLayers'))).toBeInstanceOf(InputError);
    expect(resolveRnnRegularization('op', { dropout: 0.3 }, 'lstm', 2)).toEqual({ dropout: 0.3, dropoutMode: 'between' });
    expect(resolveRnnRegularization('op', { dropout: 0.3, dropoutMode: 'variational' }, 'lstm', 1)).toEqual({ dropout: 0.3, dropoutMode: 'variational' });
    expect(resolveRnnRegularization('op', { dropout: 0, dropoutMode: 'between' }, 'lstm', 1)).toEqual({});
  });

  it('is refused by every application that builds a stack from the options, before allocating', () => {
    const vocab = Vocabulary.build('a b c'.split(' '));
    const sourceVocab = buildSourceVocabulary('ab'.split('')), targetVocab = buildTargetVocabulary('xy'.split(''));
    const cases: [() => unknown, RegExp][] = [
      [() => createLanguageModel({ vocab, hidden: 3, dropout: 0.3 }), oneLayer('createLanguageModel', 'layers')],
      [() => createSeq2Seq({ sourceVocab, targetVocab, encoderHidden: 3, dropout: 0.3 }), oneLayer('createSeq2Seq', 'encoderLayers')],
      [() => createTagger({ vocab: buildTaggerVocabulary([{ tokens: ['a'], labels: [0] }], 1), hidden: 3, dropout: 0.3 }), oneLayer('createTagger', 'layers')],
      [() => createLstmSentimentModel({ vocab, classes: ['neg', 'pos'], dim: 2, hidden: 3, dropout: 0.3 }), oneLayer('createLstmSentimentModel', 'layers')],
      [
        () => createSeq2Seq({ form: 'captioning', featureSize: 3, targetVocab, dropout: 0.3, dropoutMode: 'variational' }),
        /^createSeq2Seq: dropout acts in the encoder's stack and the captioning form has none: expected no dropout, got 0\.3$/,
      ],
    ];
    for (const [build, message] of cases) {
      const e = errorOf(build);
      expect(e).toBeInstanceOf(InputError);
      expect(e.message).toMatch(message);
    }
    expect(createSeq2Seq({ sourceVocab, targetVocab, encoderHidden: 3, encoderLayers: 2, dropout: 0.3 }).config.dropout).toBe(0.3);
  });
});

/**
 * Files saved before the refusal (a 'between' dropout on one layer was accepted then, and did nothing) keep
 * loading: every file reader drops that setting first (withoutInertDropout), so the model is the one the same
 * file without it gives — same config, same weights, same predictions. Resumed training goes on as before.
 */
describe("files with dropout mode 'between' on one layer (saved before the refusal)", () => {
  const INERT = [{ dropout: 0.3 }, { dropout: 0.3, dropoutMode: 'between' as const }];
  const copy = <T>(json: T): T => JSON.parse(JSON.stringify(json)) as T;

  it('withoutInertDropout drops only dropout that never acted; anything else is left for the checks', () => {
    expect(withoutInertDropout({ dropout: 0.3, layerNorm: true }, 1)).toEqual({ layerNorm: true });
    expect(withoutInertDropout({ dropout: 0.3, dropoutMode: 'between' as const }, 1)).toEqual({});
    expect(withoutInertDropout({ dropout: 0.3, dropoutMode: 'variational' as const }, 0)).toEqual({}); // no stack
    const kept = [
      [{ dropout: 0.3 }, 2], [{ dropout: 0.3, dropoutMode: 'variational' as const }, 1], [{ dropout: 0 }, 1],
      [{ dropout: 1.5 }, 1], [{ dropout: '0.3' as unknown as number }, 1], [{ dropout: 0.3, dropoutMode: 'zoneout' as RnnDropoutMode }, 1],
      [{ dropout: 0.3 }, Number.NaN],
    ] as const;
    for (const [config, layers] of kept) expect(withoutInertDropout(config, layers)).toBe(config);
    expect(() => resolveRnnRegularization('op', withoutInertDropout({ dropout: 1.5 }, 1), 'lstm', 1)).toThrow(/^op: expected dropout to be a number in \[0, 1\), got 1\.5$/);
  });

  it('language model: model file, checkpoint and safetensors load as the same model', () => {
    const vocab = Vocabulary.build('a b c a b'.split(' '));
    const lm = createLanguageModel({ vocab, level: 'word', hidden: 3, embeddingDim: 2 });
    const plain = languageModelToJSON(lm);
    const logits = (m: LanguageModel): number[] => {
      const ws = createLmWorkspace(m, 3, 2);
      ws.inputIds.set([0, 1, 2, 3, 1, 0]);
      return Array.from(lmForward(m, ws).data);
    };
    for (const inert of INERT) {
      const file = { ...copy(plain), config: { ...plain.config, ...inert } };
      const loaded = languageModelFromJSON(file, 'model file m.json');
      expect(languageModelToJSON(loaded)).toEqual(plain);
      expect(loaded.stack.dropout).toBeNull();
      expect(logits(loaded)).toEqual(logits(lm));
      const checkpoint = path.join(dir, 'lm-ckpt.json');
      fs.writeFileSync(checkpoint, JSON.stringify({ kind: 'seqgrad.lm-checkpoint', model: file }));
      expect(languageModelToJSON(loadLanguageModel(checkpoint))).toEqual(plain);
      const doc = lmExportable(lm).document;
      const fromTensors = languageModelFromTensors(sequenceNetTensors(lmSequenceNet(lm)), { ...doc, app: { ...doc.app, config: { ...plain.config, ...inert } } }, 'm.safetensors');
      expect(languageModelToJSON(fromTensors)).toEqual(plain);
    }
    expect(() => createLanguageModel({ vocab, level: 'word', hidden: 3, ...INERT[0] })).toThrow(oneLayer('createLanguageModel', 'layers'));
  });

  it('language model: a run resumed from such a checkpoint trains exactly as the one without the setting', () => {
    const text = Array.from({ length: 300 }, (_, i) => ['apple', 'pear', 'salad'][(i * 7) % 3]).join('\n') + '\n';
    const data = prepareLmCorpus(text, { level: 'word', valFraction: 0.1 });
    const config: LmTrainConfig = { seqLen: 6, batch: 4, optimizer: { kind: 'adam', lr: 0.01 }, clip: { mode: 'norm', max: 1 } };
    const file = path.join(dir, 'ckpt.json');
    createLmTrainer(createLanguageModel({ vocab: data.vocab, level: 'word', hidden: 4, embeddingDim: 3, seed: 3 }), data, config)
      .run({ maxSteps: 4, checkpointPath: file });
    const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
    const withInert = path.join(dir, 'ckpt-inert.json');
    fs.writeFileSync(withInert, JSON.stringify({ ...saved, model: { ...saved.model, config: { ...saved.model.config, dropout: 0.3 } } }));
    const [a, b] = [file, withInert].map((f) => {
      const checkpoint = readLmCheckpoint(f);
      const t = resumeLmTrainer(checkpoint, prepareLmCorpus(text, { level: 'word', valFraction: 0.1, vocab: checkpoint.model.vocab }));
      t.run({ maxSteps: 9 });
      return t;
    });
    expect(b.lossHistory).toHaveLength(9);
    expect(b.lossHistory).toEqual(a.lossHistory);
    expect(b.rng.getState()).toEqual(a.rng.getState());
    expect(languageModelToJSON(b.model)).toEqual(languageModelToJSON(a.model));
  });

  it('seq2seq: model file and safetensors (encoder-decoder, and any dropout on the captioning form) load as the same model', () => {
    const sourceVocab = buildSourceVocabulary('ab'.split('')), targetVocab = buildTargetVocabulary('xy'.split(''));
    const models = [
      createSeq2Seq({ sourceVocab, targetVocab, encoderHidden: 3, embeddingDim: 2 }),
      createSeq2Seq({ form: 'captioning', featureSize: 3, targetVocab, decoderHidden: 3, embeddingDim: 2 }),
    ];
    const loss = (m: Seq2SeqModel): number => {
      const target = encodeTarget(m, 'xyx');
      const batch = makeSeq2SeqBatch(m, [m.config.form === 'captioning' ? { features: [0.5, -1, 2], target } : { source: encodeSource(m, 'ab'), target }]);
      return seq2seqForward(m, createSeq2SeqWorkspace(m, batch.srcSteps, batch.tgtSteps, 1), batch);
    };
    for (const model of models) {
      const plain = seq2seqToJSON(model);
      const inerts = model.config.form === 'captioning' ? [...INERT, { dropout: 0.3, dropoutMode: 'variational' as const }] : INERT;
      for (const inert of inerts) {
        const loaded = seq2seqFromJSON({ ...copy(plain), config: { ...plain.config, ...inert } }, 'model file s.json');
        expect(seq2seqToJSON(loaded)).toEqual(plain);
        expect(loss(loaded)).toBe(loss(model));
        const doc = seq2seqDocument(model);
        const fromTensors = seq2seqFromTensors(seq2seqTensors(model), { ...doc, app: { ...doc.app, config: { ...plain.config, ...inert } } }, 's.safetensors');
        expect(seq2seqToJSON(fromTensors)).toEqual(plain);
      }
    }
  });

  it('tagger: Model API file and the former format load as the same tagger', () => {
    const sentences = [{ tokens: ['a', 'b', 'a'], labels: [0, 1, 0] }, { tokens: ['b', 'a'], labels: [1, 0] }];
    const tagger = createTagger({ vocab: buildTaggerVocabulary(sentences, 1), hidden: 3, embeddingDim: 2 });
    const plain = taggerToJSON(tagger);
    const tokens = sentences.map((s) => s.tokens);
    for (const inert of INERT) {
      const loaded = taggerFromJSON({ ...copy(plain), config: { ...plain.config, rnn: { ...plain.config.rnn, ...inert } } }, 'tagger file t.json');
      expect(taggerToJSON(loaded)).toEqual(plain);
      expect(predictTagger(loaded, tokens)).toEqual(predictTagger(tagger, tokens));
      const former = JSON.parse(fs.readFileSync(path.join(TAGGER_FIXTURES, 'tagset-uni.json'), 'utf8')) as LegacyTaggerJSON;
      const reference = taggerFromJSON(copy(former), 'old');
      const old = taggerFromJSON({ ...former, config: { ...former.config, ...inert } }, 'old tagger file');
      expect(taggerToJSON(old)).toEqual(taggerToJSON(reference));
    }
  });

  it('sentiment LSTM: model file loads as the same model', () => {
    const examples = ['good food', 'bad food'].map((text, i) => ({ text, label: i, source: 'toy' }));
    const model = createLstmSentimentModel({ vocab: buildSentimentVocabulary(examples), classes: ['neg', 'pos'], dim: 2, hidden: 3 });
    const plain = copy(model.toJSON());
    for (const inert of INERT) {
      const loaded = lstmModelFactory.fromJSON({ ...copy(plain), rnn: inert }) as LstmSentimentModel;
      expect(loaded.regularization).toEqual({});
      expect(copy(loaded.toJSON())).toEqual(plain);
      expect(predictSentiment(loaded, ['good food', 'bad'])).toEqual(predictSentiment(model, ['good food', 'bad']));
    }
  });

  it('Model API: model file, checkpoint and safetensors load as the same model; createModel refuses', () => {
    const config = { shape: 'many-to-one' as const, vocabSize: 5, embeddingDim: 2, rnn: { cell: 'gru' as const, hidden: 3 }, outputSize: 2 };
    const model = createModel(config);
    const plain = copy(model.toJSON());
    const inputs = [[1, 2, 3], [4, 0]];
    for (const inert of INERT) {
      const file = { ...copy(plain), config: { ...plain.config, rnn: { ...plain.config.rnn, ...inert } } };
      const loaded = modelFromJSON(file, 'model file m.json');
      expect(copy(loaded.toJSON())).toEqual(plain);
      expect(loaded.predict(inputs)).toEqual(model.predict(inputs));
      const checkpoint = path.join(dir, 'model-ckpt.json');
      fs.writeFileSync(checkpoint, JSON.stringify({ ...file, training: { step: 0 } }));
      expect(copy(loadCheckpoint(checkpoint).model.toJSON())).toEqual(plain);
      const doc = modelDocument(model);
      const fromTensors = modelFromTensors(modelTensors(model), { ...doc, app: { ...doc.app, config: file.config } }, 'm.safetensors');
      expect(copy(fromTensors.toJSON())).toEqual(plain);
    }
    const e = errorOf(() => createModel({ ...config, rnn: { ...config.rnn, ...INERT[0] } }));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toMatch(/^createModel: config: rnn: dropout mode 'between' acts only between stacked layers/);
  });
});
