/**
 * Gradient-check cases of sentiment model (b) (training/sentiment-lstm.ts): embedding → LSTM
 * many-to-one → softmax, with the shared training loop's loss −(1/B) Σ_b log softmax(z_b)[y_b],
 * on a ragged batch (lengths 6, 4, 2, 1, 0 → T = 6, B = 5; words repeated so E's scatter-add sums;
 * the empty sentence's summary is the zero initial state).
 * Every parameter is checked: E (the padding row stays 0 on both sides: padded steps are never
 * read), each layer's W_x, W_a, b, and the head's W, b. Model (a) is checked in embedding-cases.ts.
 */
import { crossEntropy, crossEntropyBackward } from '../../engine/cross-entropy.js';
import { Matrix } from '../../engine/matrix.js';
import type { GradCheckCase, GradCheckProblem } from '../check/gradcheck.js';
import { makeSentimentBatch, type SentimentBatch, type SentimentModel } from './sentiment.js';
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
