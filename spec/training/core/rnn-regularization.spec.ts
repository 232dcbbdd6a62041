/**
 * The recurrent models' regularisation options refuse dropout that could not act: mode 'between' drops only
 * between stacked layers, so on one layer it would do nothing (PyTorch's nn.LSTM warns and trains without it;
 * seqgrad refuses, see inertDropoutProblem). One InputError line naming the operation, the field, what was
 * expected and what came — for every application that builds a stack from these options.
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../training/core/errors.js';
import { resolveRnnRegularization } from '../../../training/core/rnn-regularization.js';
import { createLanguageModel } from '../../../training/lm/model.js';
import { buildSourceVocabulary, buildTargetVocabulary, createSeq2Seq } from '../../../training/seq2seq/model.js';
import { createLstmSentimentModel } from '../../../training/sentiment/lstm.js';
import { buildTaggerVocabulary, createTagger } from '../../../training/tagger/tagger.js';
import { Vocabulary } from '../../../training/text/vocab.js';

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
