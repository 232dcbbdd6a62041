import { describe, expect, it } from 'vitest';
import { Matrix, Rng } from '../../../engine/index.js';
import { averageModelFactory, createSentimentEmbedding, makeSentimentBatch } from '../../../training/classify/sentence-classifier.js';
import { makeWordVectors } from '../../../training/io/vectors.js';
import { Vocabulary } from '../../../training/text/vocab.js';

describe('sentence classifiers: batches, the average-of-embeddings model, pretrained embeddings', () => {
  const words = ['<PAD>', '<UNK>', 'good', 'bad', 'food'];
  const vocab = new Vocabulary(words, words.map(() => 1));

  it('lays a batch out time-major with a [T, B] mask', () => {
    const batch = makeSentimentBatch([[2, 3, 4], [4]], [1, 0], 0);
    expect(batch.steps).toBe(3);
    expect(Array.from(batch.ids)).toEqual([2, 4, 3, 0, 4, 0]);
    expect(batch.mask.toArray()).toEqual([[1, 1], [1, 0], [1, 0]]);
    expect(Array.from(batch.lengths)).toEqual([3, 1]);
  });

  it('computes z = mean(E[ids])·Wᵀ + b (hand example)', () => {
    const model = averageModelFactory.create(vocab, ['neg', 'pos'], new Rng(1), { dim: 2, dtype: 'float64' });
    model.embedding.weight.data.set([0, 0, 0, 0, 1, 2, -3, 1, 0.5, 0.5]);
    const { W, b } = model.params();
    W.data.set([1, 0, 0, 1]);
    b.data.set([0.25, -0.25]);
    // "good good bad": (2·(1, 2) + (−3, 1)) / 3 = (−1/3, 5/3); "food": (0.5, 0.5)
    const z = model.forward(makeSentimentBatch([[2, 2, 3], [4]], [0, 1], 0, 'float64'));
    expect(z.get(0, 0)).toBeCloseTo(-1 / 3 + 0.25, 14);
    expect(z.get(0, 1)).toBeCloseTo(5 / 3 - 0.25, 14);
    expect(z.toArray()[1]).toEqual([0.75, 0.25]);
  });

  it('initialises from pretrained vectors (case-insensitive), frozen by default; <UNK> and <PAD> at 0', () => {
    const vectors = makeWordVectors(['Good', 'bad'], Matrix.fromArray([[1, 2, 3], [4, 5, 6]]));
    const { embedding, matched } = createSentimentEmbedding({ vocab, dim: 50, vectors }, { rng: new Rng(1) });
    expect(matched).toBe(2);
    expect(embedding.frozen).toBe(true);
    expect(embedding.weight.cols).toBe(3);
    expect(embedding.weight.toArray()[2]).toEqual([1, 2, 3]);
    expect(embedding.weight.toArray()[3]).toEqual([4, 5, 6]);
    expect(embedding.weight.toArray()[0]).toEqual([0, 0, 0]);
    expect(embedding.weight.toArray()[1]).toEqual([0, 0, 0]);
    expect(embedding.weight.toArray()[4]).toEqual([0, 0, 0]); // 'food' has no vector and E is frozen
  });
});
