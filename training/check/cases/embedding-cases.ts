/**
 * Gradient-check cases of the embedding utilities: the lookup's scatter-add backward (repeated
 * ids, ragged mask with a padding row), the t-SNE objective KL(P‖Q) w.r.t. Y, and sentiment
 * model (a) (average of embeddings → softmax) end to end.
 */
import { Matrix } from '../../../engine/matrix.js';
import type { Rng } from '../../../engine/rng.js';
import { createEmbedding, embeddingBackward, embeddingForward, embeddingZeroGrad } from '../../../layers/embedding.js';
import type { GradCheckCase } from '../gradcheck.js';
import { averageModelFactory, makeSentimentBatch } from '../../sentiment/sentiment.js';
import { createTsneWorkspace, jointProbabilities, tsneKlBackward, tsneKlForward } from '../../embeddings/tsne.js';
import { Vocabulary } from '../../text/vocab.js';
import { randomMatrix } from './engine-cases.js';
import { sentimentObjective } from '../../sentiment/gradcheck-cases.js';

const T = 5, B = 3, V = 6, D = 4;

/** Time-major ids [T·B] in which several words repeat (ids 1 and 2 appear many times). */
function repeatedIds(rng: Rng, padding: number[][] = []): Int32Array {
  const ids = new Int32Array(T * B);
  for (let i = 0; i < ids.length; i++) ids[i] = i % 4 === 0 ? 1 : i % 3 === 0 ? 2 : 1 + rng.int(V - 1);
  for (const [t, b] of padding) ids[t * B + b] = 0;
  return ids;
}

/** L = Σ_{t,b} m⟨t⟩_b Σ_c w_ic tanh(X_ic), X = E[ids]: a non-linear loss so dL/dE depends on E. */
function lookupCase(op: string, masked: boolean): GradCheckCase {
  return {
    group: 'embeddings',
    op,
    build(rng) {
      const lengths = masked ? [5, 3, 1] : [T, T, T];
      const padding: number[][] = [];
      for (let b = 0; b < B; b++) for (let t = lengths[b]; t < T; t++) padding.push([t, b]);
      const emb = createEmbedding(V, D, rng, { dtype: 'float64', paddingIdx: masked ? 0 : undefined });
      const ids = repeatedIds(rng, padding);
      const w = randomMatrix(rng, T * B, D);
      const x = Matrix.zeros(T * B, D, 'float64');
      const dx = Matrix.zeros(T * B, D, 'float64');
      const maskOf = (i: number): number => (Math.floor(i / B) < lengths[i % B] ? 1 : 0);
      const loss = (): number => {
        embeddingForward(x, emb, ids);
        let s = 0;
        for (let i = 0; i < T * B; i++) for (let c = 0; c < D; c++) s += maskOf(i) * w.get(i, c) * Math.tanh(x.get(i, c));
        return s;
      };
      return {
        params: { E: emb.weight },
        loss,
        gradients: () => {
          embeddingZeroGrad(emb);
          embeddingForward(x, emb, ids);
          for (let i = 0; i < T * B; i++) {
            for (let c = 0; c < D; c++) dx.set(i, c, maskOf(i) * w.get(i, c) * (1 - Math.tanh(x.get(i, c)) ** 2));
          }
          embeddingBackward(emb, ids, dx);
          return { E: emb.grad };
        },
      };
    },
  };
}

/** KL(P‖Q) of t-SNE w.r.t. the low-dimensional points Y [n, 2], P from random 5-D data. */
const tsneCase: GradCheckCase = {
  group: 'embeddings',
  op: 't-SNE KL(P‖Q) w.r.t. Y',
  build(rng) {
    const n = 9;
    const p = jointProbabilities(randomMatrix(rng, n, 5, 2), 3);
    const y = randomMatrix(rng, n, 2, 1.5);
    const ws = createTsneWorkspace(n);
    const dY = Matrix.zeros(n, 2, 'float64');
    return {
      params: { Y: y },
      loss: () => tsneKlForward(p, y, ws),
      gradients: () => {
        dY.data.fill(0);
        tsneKlForward(p, y, ws);
        return { Y: tsneKlBackward(dY, p, y, ws) };
      },
    };
  },
};

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

export const embeddingCases: GradCheckCase[] = [
  lookupCase('embedding lookup, repeated ids', false),
  lookupCase('embedding lookup, ragged mask + padding row', true),
  tsneCase,
  sentimentAverageCase,
];
