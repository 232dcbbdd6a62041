/**
 * Gradient-check cases of the word-vector trainers' losses: the full-softmax skip-gram and CBOW losses,
 * hierarchical softmax over a Huffman tree, negative sampling with fixed drawn negatives (a
 * repeated one and one equal to the target, which is skipped), the GloVe objective (entries on
 * both sides of x_max) and Bengio's neural language model end to end. Batches > 1 with repeated
 * words, so accumulation into shared rows is checked too. The cosine's backward inside an analogy objective. Also t-SNE's objective KL(P‖Q) w.r.t. Y.
 */
import {
  buildHuffmanTree, hierarchicalSoftmaxBackward, hierarchicalSoftmaxLoss,
} from '../../engine/hierarchical-softmax.js';
import { Matrix, zero } from '../../engine/matrix.js';
import { negativeSamplingBackward, negativeSamplingLoss } from '../../engine/negative-sampling.js';
import type { Rng } from '../../engine/rng.js';
import type { GradCheckCase } from '../check/gradcheck.js';
import { countCooccurrences, gloveBackward, gloveLoss, type GloveParams } from './glove.js';
import { createNplm, createNplmWorkspace, nplmBackward, nplmForward, nplmZeroGrad } from './nplm.js';
import { createTsneWorkspace, jointProbabilities, tsneKlBackward, tsneKlForward } from './tsne.js';
import { cosineSimilarity, cosineSimilarityBackward } from './similarity.js';
import { cbowSoftmaxBackward, cbowSoftmaxLoss, skipGramSoftmaxBackward, skipGramSoftmaxLoss } from './word2vec.js';
import { randomMatrix } from '../check/cases/engine-cases.js';

const skipGramSoftmaxCase: GradCheckCase = {
  group: 'embeddings',
  op: 'word2vec full softmax (skip-gram)',
  build(rng) {
    const V = 7, d = 4;
    const E = randomMatrix(rng, V, d);
    const theta = randomMatrix(rng, V, d);
    const contexts = [1, 3, 1, 5, 0];
    const targets = [2, 2, 6, 1, 4];
    const dE = Matrix.zeros(V, d, 'float64');
    const dTheta = Matrix.zeros(V, d, 'float64');
    return {
      params: { E, theta },
      loss: () => skipGramSoftmaxLoss(E, theta, contexts, targets),
      gradients: () => {
        zero(dE);
        zero(dTheta);
        skipGramSoftmaxBackward(dE, dTheta, E, theta, contexts, targets);
        return { E: dE, theta: dTheta };
      },
    };
  },
};

const cbowSoftmaxCase: GradCheckCase = {
  group: 'embeddings',
  op: 'word2vec full softmax (CBOW)',
  build(rng) {
    const V = 7, d = 4;
    const E = randomMatrix(rng, V, d);
    const theta = randomMatrix(rng, V, d);
    const contexts = [[1, 3, 5, 0], [2, 2, 6], [4, 1], [0, 6, 3, 3]]; // windows of different sizes, repeated words
    const targets = [2, 5, 6, 1];
    const dE = Matrix.zeros(V, d, 'float64');
    const dTheta = Matrix.zeros(V, d, 'float64');
    return {
      params: { E, theta },
      loss: () => cbowSoftmaxLoss(E, theta, contexts, targets),
      gradients: () => {
        zero(dE);
        zero(dTheta);
        cbowSoftmaxBackward(dE, dTheta, E, theta, contexts, targets);
        return { E: dE, theta: dTheta };
      },
    };
  },
};

const hierarchicalSoftmaxCase: GradCheckCase = {
  group: 'embeddings',
  op: 'hierarchical softmax (Huffman tree)',
  build(rng) {
    const counts = [40, 3, 17, 9, 9, 1, 25, 6];
    const tree = buildHuffmanTree(counts);
    const d = 5, B = 5;
    const h = randomMatrix(rng, B, d, 1.5);
    const theta = randomMatrix(rng, tree.innerNodes, d);
    const targets = [5, 0, 3, 5, 7]; // a deep word twice, the root's shallow word once
    const dh = Matrix.zeros(B, d, 'float64');
    const dTheta = Matrix.zeros(tree.innerNodes, d, 'float64');
    return {
      params: { h, theta },
      loss: () => hierarchicalSoftmaxLoss(tree, h, theta, targets),
      gradients: () => {
        zero(dh);
        zero(dTheta);
        hierarchicalSoftmaxBackward(dh, dTheta, tree, h, theta, targets);
        return { h: dh, theta: dTheta };
      },
    };
  },
};

const negativeSamplingCase: GradCheckCase = {
  group: 'embeddings',
  op: 'negative sampling (k = 4, fixed negatives)',
  build(rng) {
    const V = 8, d = 5, B = 3, k = 4;
    const h = randomMatrix(rng, B, d, 1.5);
    const theta = randomMatrix(rng, V, d);
    const targets = [2, 5, 2];
    // row 0 draws word 7 twice; row 1 drew its own target (skipped); row 2 overlaps row 0
    const negatives = [7, 1, 7, 4, 0, 5, 3, 6, 1, 3, 4, 0];
    const dh = Matrix.zeros(B, d, 'float64');
    const dTheta = Matrix.zeros(V, d, 'float64');
    return {
      params: { h, theta },
      loss: () => negativeSamplingLoss(h, theta, targets, negatives, k),
      gradients: () => {
        zero(dh);
        zero(dTheta);
        negativeSamplingBackward(dh, dTheta, h, theta, targets, negatives, k);
        return { h: dh, theta: dTheta };
      },
    };
  },
};

const gloveCase: GradCheckCase = {
  group: 'embeddings',
  op: 'GloVe weighted least squares',
  build(rng) {
    const V = 6, d = 4;
    const doc = Array.from({ length: 40 }, () => rng.int(V));
    const X = countCooccurrences([doc], V, 3);
    const xMax = 3; // small, so some entries are above x_max (f = 1) and some below
    const params: GloveParams = {
      theta: randomMatrix(rng, V, d, 0.5),
      e: randomMatrix(rng, V, d, 0.5),
      b: randomMatrix(rng, V, 1, 0.5),
      bPrime: randomMatrix(rng, V, 1, 0.5),
    };
    const grads: GloveParams = {
      theta: Matrix.zeros(V, d, 'float64'),
      e: Matrix.zeros(V, d, 'float64'),
      b: Matrix.zeros(V, 1, 'float64'),
      bPrime: Matrix.zeros(V, 1, 'float64'),
    };
    return {
      params: { ...params },
      loss: () => gloveLoss(params, X, xMax, 0.75),
      gradients: () => {
        for (const g of Object.values(grads)) zero(g);
        gloveBackward(grads, params, X, xMax, 0.75);
        return { ...grads };
      },
    };
  },
};

const nplmCase: GradCheckCase = {
  group: 'embeddings',
  op: 'neural LM (Bengio 2003, n = 3)',
  build(rng: Rng) {
    const V = 9, n = 3, B = 4;
    const model = createNplm({ vocabSize: V, contextSize: n, dim: 4, hidden: 5 }, { rng, dtype: 'float64' });
    // Larger weights than the init, so tanh is in its non-linear range.
    for (const m of [model.embedding.weight, model.hiddenLayer.params.W, model.outputLayer.params.W]) {
      for (let i = 0; i < m.data.length; i++) m.data[i] = rng.uniformIn(-0.8, 0.8);
    }
    for (const b of [model.hiddenLayer.params.b!, model.outputLayer.params.b!]) {
      for (let i = 0; i < b.data.length; i++) b.data[i] = rng.uniformIn(-0.3, 0.3);
    }
    const ws = createNplmWorkspace(model, B);
    const contexts = [1, 2, 3, 2, 3, 4, 3, 4, 1, 8, 8, 0]; // words repeat across and within rows
    const targets = [4, 1, 5, 8];
    return {
      params: {
        E: model.embedding.weight,
        H: model.hiddenLayer.params.W,
        d: model.hiddenLayer.params.b!,
        U: model.outputLayer.params.W,
        b: model.outputLayer.params.b!,
      },
      loss: () => nplmForward(ws, model, contexts, targets),
      gradients: () => {
        nplmZeroGrad(model);
        nplmForward(ws, model, contexts, targets);
        nplmBackward(model, ws, contexts, targets);
        return {
          E: model.embedding.grad,
          H: model.hiddenLayer.grads.W,
          d: model.hiddenLayer.grads.b!,
          U: model.outputLayer.grads.W,
          b: model.outputLayer.grads.b!,
        };
      },
    };
  },
};

/**
 * cosineSimilarityBackward inside an analogy objective over a batch of quadruples a : b :: c : d,
 * L = Σ_k w_k · cos(e_b − e_a + e_c, e_d), with words shared between quadruples and within one
 * (so the gradients of rows used twice add up).
 */
const cosineAnalogyCase: GradCheckCase = {
  group: 'embeddings',
  op: 'cosine similarity (analogy objective)',
  build(rng: Rng) {
    const V = 6, d = 4;
    const E = randomMatrix(rng, V, d);
    const quads = [[0, 1, 2, 3], [1, 4, 5, 0], [2, 2, 3, 5]];
    const w = quads.map(() => rng.uniformIn(-1, 1));
    const dE = Matrix.zeros(V, d, 'float64');
    const target = new Float64Array(d), dTarget = new Float64Array(d);
    const rowOf = (m: Matrix, r: number): Float64Array => m.data.subarray(r * d, (r + 1) * d) as Float64Array;
    const formTarget = ([a, b, c]: number[]): void => {
      for (let j = 0; j < d; j++) target[j] = E.get(b, j) - E.get(a, j) + E.get(c, j);
    };
    return {
      params: { E },
      loss: () => quads.reduce((L, q, k) => {
        formTarget(q);
        return L + w[k] * cosineSimilarity(target, rowOf(E, q[3]));
      }, 0),
      gradients: () => {
        zero(dE);
        quads.forEach(([a, b, c, dd], k) => {
          formTarget([a, b, c]);
          dTarget.fill(0);
          cosineSimilarityBackward(dTarget, rowOf(dE, dd), target, rowOf(E, dd), w[k]);
          for (let j = 0; j < d; j++) {
            dE.data[a * d + j] -= dTarget[j];
            dE.data[b * d + j] += dTarget[j];
            dE.data[c * d + j] += dTarget[j];
          }
        });
        return { E: dE };
      },
    };
  },
};

export const embeddingsTrainingCases: GradCheckCase[] = [
  cosineAnalogyCase,
  skipGramSoftmaxCase,
  cbowSoftmaxCase,
  hierarchicalSoftmaxCase,
  negativeSamplingCase,
  gloveCase,
  nplmCase,
];

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

/** Listed before the trainers' cases (in the suite, right after the embedding lookup's). */
export const tsneCases: GradCheckCase[] = [tsneCase];
