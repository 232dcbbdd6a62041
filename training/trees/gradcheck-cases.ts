/**
 * Gradient-check cases of the recursive (tree) network (its bag-of-embeddings baseline is the
 * average model of training/classify/sentence-classifier.ts, checked in
 * training/sentiment/gradcheck-cases.ts): several trees of different shapes in one batch (a right
 * chain of depth 5, a left chain, a balanced tree, a one-word tree, a 4-ary node binarised into
 * unlabelled intermediate nodes, a word used at several leaves), with the loss at every labelled
 * node or at the roots only.
 */
import type { Matrix } from '../../engine/matrix.js';
import type { Rng } from '../../engine/rng.js';
import { createRecursiveNet, createRecursiveWorkspace, packTrees, recursiveBackward, recursiveForward, recursiveZeroGrad, type RecursiveLossAt } from '../../layers/recursive.js';
import type { GradCheckCase } from '../check/gradcheck.js';
import { parseTree } from './trees.js';
import { buildTreeVocabulary, treeToIndexed } from './treenet.js';

const CASE_TREES = [
  '(1 (0 a) (2 (1 b) (0 (2 c) (1 (0 d) (2 (1 e) (0 a))))))', // right chain, depth 5
  '(2 (1 (0 (2 (1 a) (1 b)) (0 c)) (2 d)) (1 a))',           // left chain, 'a' twice
  '(0 (1 (2 a) (0 b)) (2 (1 c) (0 d)))',                       // balanced
  '(1 f)',                                                     // one word
  '(2 (1 a) (0 b) (2 c) (1 g))',                               // 4-ary → unlabelled @ nodes
].map((text) => parseTree(text));

const CLASSES = 3;

/** Overwrite every entry with U(−scale, scale) (biases included, so none starts at 0). */
function randomize(m: Matrix, rng: Rng, scale: number): void {
  for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) m.set(r, c, rng.uniformIn(-scale, scale));
}

function recursiveCase(lossAt: RecursiveLossAt): GradCheckCase {
  return {
    group: 'trees',
    op: `recursive net (5 trees, depth ≤ 6), loss at ${lossAt === 'all' ? 'every node' : 'the roots'}`,
    build(rng) {
      const vocab = buildTreeVocabulary(CASE_TREES);
      const items = CASE_TREES.map((t) => treeToIndexed(t, vocab, CLASSES));
      const net = createRecursiveNet({ vocabSize: vocab.size, dim: 4, classes: CLASSES }, { rng, dtype: 'float64' });
      for (const [name, p] of Object.entries(net.params)) randomize(p, rng, name === 'W' ? 0.6 : 0.8);
      const batch = packTrees(items, vocab.size, CLASSES);
      const ws = createRecursiveWorkspace(net, 4); // small on purpose: the forward must grow it
      return {
        params: net.params,
        loss: () => recursiveForward(ws, net, batch, lossAt),
        gradients: () => {
          recursiveZeroGrad(net);
          recursiveForward(ws, net, batch, lossAt);
          recursiveBackward(net, ws);
          return net.grads;
        },
      };
    },
  };
}

export const recursiveCases: GradCheckCase[] = [recursiveCase('all'), recursiveCase('root')];
