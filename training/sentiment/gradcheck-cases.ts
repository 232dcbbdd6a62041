/**
 * Gradient-check cases of the sentiment models, with the shared training loop's loss
 * −(1/B) Σ_b log softmax(z_b)[y_b]:
 *   (a) mean embedding → softmax (training/classify/sentence-classifier.ts), a ragged batch of
 *       lengths 6, 4, 2, 1 with repeated words;
 *   (b) embedding → LSTM many-to-one → softmax (training/sentiment/lstm.ts), a ragged batch of
 *       lengths 6, 4, 2, 1, 0 → T = 6, B = 5 (words repeated so E's scatter-add sums; the empty
 *       sentence's summary is the zero initial state). Every parameter is checked: E (the padding
 *       row stays 0 on both sides: padded steps are never read), each layer's W_x, W_a, b, and the
 *       head's W, b.
 */
import { crossEntropy, crossEntropyBackward } from '../../engine/cross-entropy.js';
import { Matrix } from '../../engine/matrix.js';
import type { GradCheckCase, GradCheckProblem } from '../check/gradcheck.js';
import {
  averageModelFactory, makeSentimentBatch, type SentimentBatch, type SentimentModel,
} from '../classify/sentence-classifier.js';
import { lstmModelFactory } from './lstm.js';
import { Vocabulary } from '../text/vocab.js';

/**
 * The shared training loop's objective on one batch, L = −(1/B) Σ_b log softmax(z_b)[y_b], and its
 * gradient: zero the model's buffers, forward, backward; `grads` are those buffers (model.grads()).
 */
export function sentimentObjective(
  model: SentimentModel, batch: SentimentBatch, grads: Record<string, Matrix>,
): Pick<GradCheckProblem, 'loss' | 'gradients'> {
  return {
    loss: () => crossEntropy(model.forward(batch), batch.labels, { reduction: 'mean' }),
    gradients: () => {
      model.zeroGrad();
      const logits = model.forward(batch);
      const dLogits = crossEntropyBackward(Matrix.zeros(logits.rows, logits.cols, 'float64'), logits, batch.labels, { reduction: 'mean' });
      model.backward(batch, dLogits);
      return grads;
    },
  };
}

/** Sentiment model (a): average of the embeddings → dense → softmax cross-entropy, ragged batch. */
const sentimentAverageCase: GradCheckCase = {
  group: 'embeddings',
  op: 'sentiment (a): mean embedding → softmax',
  build(rng) {
    const words = ['<PAD>', '<UNK>', 'good', 'bad', 'food', 'not', 'very'];
    const vocab = new Vocabulary(words, words.map(() => 1));
    const model = averageModelFactory.create(vocab, ['neg', 'pos', 'neutral'], rng, { dim: 4, dtype: 'float64', freeze: false });
    // Re-draw E so no row is special (the factory zeroes <UNK>), then keep the padding row at 0.
    for (let i = 0; i < model.embedding.weight.data.length; i++) model.embedding.weight.data[i] = rng.uniformIn(-1, 1);
    model.embedding.weight.data.fill(0, 0, 4);
    // Four sentences of lengths 6, 4, 2, 1 with repeated words (T = 6, B = 4).
    const sentences = [[2, 2, 5, 6, 2, 4], [3, 4, 3, 1], [6, 6], [5]];
    const batch = makeSentimentBatch(sentences, [1, 0, 2, 1], 0, 'float64');
    const params = { E: model.embedding.weight, W: model.params().W, b: model.params().b };
    const g = model.grads();
    return { params, ...sentimentObjective(model, batch, { E: g.E, W: g.W, b: g.b }) };
  },
};

function lstmSentimentCase(op: string, layers: number, bidirectional: boolean): GradCheckCase {
  return {
    group: 'embeddings',
    op,
    build(rng) {
      const words = ['<PAD>', '<UNK>', 'good', 'bad', 'food', 'not', 'very'];
      const vocab = new Vocabulary(words, words.map(() => 1));
      const model = lstmModelFactory.create(vocab, ['neg', 'pos', 'neutral'], rng, {
        dim: 3, hidden: 3, layers, bidirectional, dtype: 'float64', freeze: false,
      });
      // Re-draw every weight in ±0.8 so gates sit away from their linear regions (and <UNK> is
      // not special); keep the padding row at 0 as training does.
      const params = model.params();
      for (const m of Object.values(params)) for (let i = 0; i < m.data.length; i++) m.data[i] = rng.uniformIn(-0.8, 0.8);
      model.embedding.weight.data.fill(0, 0, 3);
      const sentences = [[2, 5, 2, 6, 4, 3], [3, 4, 3, 1], [6, 6], [5], []];
      const batch = makeSentimentBatch(sentences, [1, 0, 2, 1, 0], 0, 'float64');
      return { params, ...sentimentObjective(model, batch, model.grads()) };
    },
  };
}

export const sentimentCases: GradCheckCase[] = [
  lstmSentimentCase('sentiment (b): embedding → LSTM → last valid state → softmax, ragged', 1, false),
  lstmSentimentCase('sentiment (b): embedding → 2-layer bi-LSTM → [a→⟨T_b⟩, a←⟨1⟩] → softmax, ragged', 2, true),
];

/** Model (a); the suite lists it with the embedding cases, before the word-vector trainers'. */
export const sentimentAverageCases: GradCheckCase[] = [sentimentAverageCase];
