import { describe, expect, it } from 'vitest';
import type { Matrix } from '../../../engine/matrix.js';
import { Rng } from '../../../engine/rng.js';
import {
  createRecursiveNet, createRecursiveWorkspace, packTrees, recursiveBackward, recursiveForward, recursivePredict,
  recursiveZeroGrad, type IndexedTree, type RecursiveNet,
} from '../../../layers/recursive.js';
import { generateSentimentTrees, parseTree, treeToString } from '../../../training/trees/trees.js';
import {
  bagPhrases, buildTreeVocabulary, compareTreeVsBag, inferClasses, predictTreeNet, treeModelsFromJSON, treeModelsToJSON,
  treeToIndexed, type TreeModelsJSON,
} from '../../../training/trees/treenet.js';

function setAll(m: Matrix, values: number[][]): void {
  values.forEach((row, r) => row.forEach((v, c) => m.set(r, c, v)));
}

/** (1 (0 w0) (1 w1)) in the layer's numbering: two leaves, then the root. */
const TINY: IndexedTree = { word: [0, 1, -1], left: [-1, -1, 0], right: [-1, -1, 1], label: [0, 1, 1] };

function tinyNet(): RecursiveNet {
  const net = createRecursiveNet({ vocabSize: 2, dim: 2, classes: 2 }, { rng: new Rng(0), dtype: 'float64' });
  setAll(net.params.E, [[0.5, -0.2], [0.1, 0.4]]);
  setAll(net.params.W, [[0.3, -0.1, 0.2, 0.5], [-0.4, 0.2, 0.1, -0.3]]);
  setAll(net.params.b, [[0.05, -0.1]]);
  setAll(net.params.Ws, [[1, -1], [0.5, 0.2]]);
  setAll(net.params.bs, [[0.1, -0.2]]);
  return net;
}

/** −log softmax(Ws·h + bs)[y], written out for 2 classes. */
function nodeLoss(h: number[], y: number): number {
  const z = [1 * h[0] - 1 * h[1] + 0.1, 0.5 * h[0] + 0.2 * h[1] - 0.2];
  return Math.log(Math.exp(z[0]) + Math.exp(z[1])) - z[y];
}

describe('recursive net forward: the notes\' equations by hand', () => {
  // p = tanh(W·[h_a; h_b] + b): W·[0.5, −0.2, 0.1, 0.4] = [0.39, −0.35]; + b = [0.44, −0.45]
  const hRoot = [Math.tanh(0.44), Math.tanh(-0.45)];

  it('node vectors: leaves are rows of E, the parent is tanh(W[c_l; c_r] + b)', () => {
    const net = tinyNet();
    const ws = createRecursiveWorkspace(net);
    const batch = packTrees([TINY], 2, 2);
    recursiveForward(ws, net, batch);
    const rows = batch.rowOf[0];
    expect(ws.H.rowView(rows[0]).toArray()[0]).toEqual([0.5, -0.2]);
    expect(ws.H.rowView(rows[1]).toArray()[0]).toEqual([0.1, 0.4]);
    const root = ws.H.rowView(rows[2]).toArray()[0];
    expect(root[0]).toBeCloseTo(hRoot[0], 14);
    expect(root[1]).toBeCloseTo(hRoot[1], 14);
  });

  it('loss at every labelled node vs at the root only', () => {
    const net = tinyNet();
    const ws = createRecursiveWorkspace(net);
    const batch = packTrees([TINY], 2, 2);
    const all = nodeLoss([0.5, -0.2], 0) + nodeLoss([0.1, 0.4], 1) + nodeLoss(hRoot, 1);
    expect(recursiveForward(ws, net, batch, 'all')).toBeCloseTo(all, 13);
    expect(recursiveForward(ws, net, batch, 'root')).toBeCloseTo(nodeLoss(hRoot, 1), 13);
    // Unlabelled nodes (−1) are not counted.
    const partly = packTrees([{ ...TINY, label: [-1, 1, -1] }], 2, 2);
    expect(recursiveForward(ws, net, partly, 'all')).toBeCloseTo(nodeLoss([0.1, 0.4], 1), 13);
    expect(recursiveForward(ws, net, partly, 'root')).toBe(0);
  });

  it('the bias gradient of the root-only loss, by hand: db = (1 − h²) ∗ W_sᵀ(ŷ − y)', () => {
    const net = tinyNet();
    const ws = createRecursiveWorkspace(net);
    recursiveZeroGrad(net);
    recursiveForward(ws, net, packTrees([TINY], 2, 2), 'root');
    recursiveBackward(net, ws);
    const z = [hRoot[0] - hRoot[1] + 0.1, 0.5 * hRoot[0] + 0.2 * hRoot[1] - 0.2];
    const p1 = Math.exp(z[1]) / (Math.exp(z[0]) + Math.exp(z[1]));
    const dz = [1 - p1, p1 - 1]; // ŷ − onehot(1)
    const dh = [1 * dz[0] + 0.5 * dz[1], -1 * dz[0] + 0.2 * dz[1]];
    const db = [dh[0] * (1 - hRoot[0] ** 2), dh[1] * (1 - hRoot[1] ** 2)];
    expect(net.grads.b.get(0, 0)).toBeCloseTo(db[0], 13);
    expect(net.grads.b.get(0, 1)).toBeCloseTo(db[1], 13);
    expect(net.grads.bs.toArray()[0].map((v) => +v.toFixed(12))).toEqual(dz.map((v) => +v.toFixed(12)));
  });
});

describe('batching over a list of trees', () => {
  const texts = [
    '(1 (0 a) (2 (1 b) (0 (2 c) (1 (0 d) (2 e)))))',
    '(2 (1 (0 (2 a) (1 b)) (0 c)) (2 d))',
    '(0 e)',
    '(2 (1 a) (0 b) (2 c) (1 d))',
  ];
  const trees = texts.map((t) => parseTree(t));
  const vocab = buildTreeVocabulary(trees);
  const items = trees.map((t) => treeToIndexed(t, vocab, 3));

  function lossAndGrads(net: RecursiveNet, list: IndexedTree[]): { loss: number; grads: number[][] } {
    const ws = createRecursiveWorkspace(net, 1);
    recursiveZeroGrad(net);
    const loss = recursiveForward(ws, net, packTrees(list, vocab.size, 3));
    recursiveBackward(net, ws);
    return { loss, grads: Object.values(net.grads).map((g) => Array.from(g.data)) };
  }

  it('the loss and gradients of a forest are the sums over its trees', () => {
    const net = createRecursiveNet({ vocabSize: vocab.size, dim: 3, classes: 3 }, { rng: new Rng(4), dtype: 'float64' });
    const together = lossAndGrads(net, items);
    const separate = items.map((item) => lossAndGrads(net, [item]));
    expect(together.loss).toBeCloseTo(separate.reduce((s, x) => s + x.loss, 0), 12);
    together.grads.forEach((g, p) => {
      g.forEach((v, i) => expect(v).toBeCloseTo(separate.reduce((s, x) => s + x.grads[p][i], 0), 12));
    });
  });

  it('backward accumulates (+=): two calls give twice the gradient', () => {
    const net = createRecursiveNet({ vocabSize: vocab.size, dim: 3, classes: 3 }, { rng: new Rng(4), dtype: 'float64' });
    const once = lossAndGrads(net, items).grads;
    const ws = createRecursiveWorkspace(net);
    recursiveForward(ws, net, packTrees(items, vocab.size, 3));
    recursiveBackward(net, ws); // on top of the first call's gradients
    Object.values(net.grads).forEach((g, p) => g.data.forEach((v, i) => expect(v).toBeCloseTo(2 * once[p][i], 12)));
  });

  it('packTrees: leaves first, then internal nodes by height; children always before parents', () => {
    const batch = packTrees(items, vocab.size, 3);
    // leaves: 5 + 4 + 1 + 4; internal nodes: 4 + 3 + 0 + 3 (the 4-ary node binarised into 3)
    expect([batch.nodes, batch.leaves]).toEqual([24, 14]);
    // height 1: (d e), (a b), (c d); height 2: (c (d e)), ((a b) c), (b (c d)); height 3: (b …) and
    // two roots; height 4: the first root. Ends counted in internal rows: 3, 6, 9, 10.
    expect(Array.from(batch.levelEnd)).toEqual([3, 6, 9, 10]);
    for (let j = 0; j < batch.nodes - batch.leaves; j++) {
      expect(batch.left[j]).toBeLessThan(batch.leaves + j);
      expect(batch.right[j]).toBeLessThan(batch.leaves + j);
    }
    // roots map back to the last node of each tree; a one-word tree's root is its leaf
    batch.roots.forEach((r, t) => expect(r).toBe(batch.rowOf[t][items[t].word.length - 1]));
    expect(batch.roots[2]).toBeLessThan(batch.leaves);
  });

  it('packTrees rejects malformed trees with the tree and node', () => {
    const bad = (tree: Partial<IndexedTree>, message: string): void => {
      expect(() => packTrees([items[0], { ...TINY, ...tree }], 6, 3)).toThrow(message);
    };
    bad({ left: [-1, -1, 2] }, 'packTrees: trees[1] node 2: expected children numbered before their parent (in [0, 2)), got 2, 1');
    bad({ word: [0, 9, -1] }, 'packTrees: trees[1] node 1: expected a word id in [0, 6), got 9');
    bad({ label: [0, 3, 1] }, 'packTrees: trees[1] node 1: expected a label −1 or in [0, 3), got 3');
    const four = { word: [0, 1, 2, -1], left: [-1, -1, -1, 0], right: [-1, -1, -1, 1], label: [0, 0, 0, 0] };
    bad(four, 'packTrees: trees[1] node 2: expected exactly one parent (the root is the last node), got 0');
    bad({ ...four, word: [0, 1, -1, -1], left: [-1, -1, 0, 0], right: [-1, -1, 1, 2] }, 'packTrees: trees[1] node 0: expected exactly one parent (the root is the last node), got 2');
    bad({ word: [0, 1, 2] }, 'packTrees: trees[1] node 2: a leaf (word 2) must have children −1, got 0, 1');
    bad({ label: [0, 1] }, 'packTrees: trees[1]: expected word, left, right and label of equal length, got 3, 3, 3, 2');
    bad({ left: [-1, -1, 1] }, 'packTrees: trees[1] node 2: both children are node 1');
    expect(() => packTrees([], 5, 2)).toThrow('packTrees: expected at least one tree, got none');
    const net = createRecursiveNet({ vocabSize: 3, dim: 2, classes: 2 }, { rng: new Rng(0) });
    expect(() => recursiveForward(createRecursiveWorkspace(net), net, packTrees([TINY], 9, 2), 'middle' as 'all'))
      .toThrow("recursiveForward: expected lossAt 'all' or 'root', got 'middle'");
    expect(() => recursiveBackward(net, createRecursiveWorkspace(net))).toThrow('recursiveBackward: expected a recursiveForward on this workspace first');
  });
});

describe('trees → indexed trees', () => {
  it('post-order, <UNK> for unseen words, binarised n-ary nodes unlabelled', () => {
    const vocab = buildTreeVocabulary([parseTree('(1 (0 a) (1 b))')]);
    const item = treeToIndexed(parseTree('(3 (2 a) (4 zebra) (1 b))'), vocab, 5);
    // (3 a (null zebra b)): a, zebra, b, (zebra b), root
    expect(item).toEqual({
      word: [vocab.id('a'), vocab.id('<UNK>'), vocab.id('b'), -1, -1],
      left: [-1, -1, -1, 1, 0], right: [-1, -1, -1, 2, 3], label: [2, 4, 1, -1, 3],
    });
    expect(() => treeToIndexed(parseTree('(7 a)'), vocab, 5, 'tree 3')).toThrow("tree 3: expected a class label 0 … 4, got '7'");
    expect(() => treeToIndexed(parseTree('(NP a)'), vocab, 5)).toThrow("expected a class label 0 … 4, got 'NP'");
    expect(inferClasses([parseTree('(1 (0 a) (3 b))')])).toBe(4);
  });

  it('bag phrases are the leaf spans of the labelled nodes', () => {
    const vocab = buildTreeVocabulary([parseTree('(1 (0 a) (1 b))')]);
    const phrases = bagPhrases([treeToIndexed(parseTree('(1 (0 a) (2 (1 b) (0 a)))'), vocab, 3)], 'all');
    const a = vocab.id('a'), b = vocab.id('b');
    expect(Array.from(phrases.ids)).toEqual([a, b, a, b, a, a, b, a]);
    expect(Array.from(phrases.offsets)).toEqual([0, 1, 2, 3, 5, 8]);
    expect(Array.from(phrases.targets)).toEqual([0, 1, 0, 2, 1]);
  });
});

describe('tree net vs bag of embeddings on generated sentiment trees', () => {
  const train = generateSentimentTrees(new Rng(1), 500);
  const test = generateSentimentTrees(new Rng(2), 200);
  const { tree, bag, result } = compareTreeVsBag(train, test, { dim: 16, epochs: 12 }, 3);

  it('the tree net learns the composition; the bag fails on negation', () => {
    // 5 classes: chance is about 0.2. Full-size numbers (2000 trees, d = 25, 20 epochs): 0.98 vs 0.63.
    expect(result.tree.rootAccuracy).toBeGreaterThan(0.75);
    expect(result.tree.rootAccuracy).toBeGreaterThan(result.bag.rootAccuracy + 0.2);
    expect(result.tree.negated.trees).toBeGreaterThan(50);
    expect(result.tree.negated.rootAccuracy).toBeGreaterThan(result.bag.negated.rootAccuracy + 0.3);
    expect(result.tree.nodeAccuracy).toBeGreaterThan(result.tree.rootAccuracy);
  });

  it('predictions at the root agree with a forward of the layer, and survive save/load', () => {
    const predictions = predictTreeNet(tree, test.slice(0, 20));
    const net = tree.net;
    const ws = createRecursiveWorkspace(net);
    const items = test.slice(0, 20).map((t) => treeToIndexed(t, tree.vocab, tree.classes));
    recursiveForward(ws, net, packTrees(items, tree.vocab.size, tree.classes), 'root');
    const all = recursivePredict(new Int32Array(ws.logits.rows), ws);
    const json = JSON.parse(JSON.stringify(treeModelsToJSON(tree, bag))) as TreeModelsJSON;
    const restored = treeModelsFromJSON(json);
    expect(predictTreeNet(restored.tree, test.slice(0, 20))).toEqual(predictions);
    predictions.forEach((p, t) => expect(p[p.length - 1]).toBe(all[ws.batch!.roots[t]]));
    expect(restored.bag).not.toBeNull();
    const broken = { ...json, tree: { ...json.tree, dim: 5 } };
    expect(() => treeModelsFromJSON(broken, 'm.json')).toThrow('treeModelsFromJSON: m.json: expected tree.E to be');
    expect(() => treeModelsFromJSON({ kind: 'other' } as unknown as TreeModelsJSON, 'm.json')).toThrow('expected { kind: "seqgrad.treenet", version: 1 }');
  });

  it('training is deterministic for a seed', () => {
    const again = compareTreeVsBag(train.slice(0, 50), test.slice(0, 20), { dim: 4, epochs: 1 }, 7);
    const twice = compareTreeVsBag(train.slice(0, 50), test.slice(0, 20), { dim: 4, epochs: 1 }, 7);
    expect(Array.from(again.tree.net.params.W.data)).toEqual(Array.from(twice.tree.net.params.W.data));
    expect(treeToString(train[0])).toBe(treeToString(generateSentimentTrees(new Rng(1), 1)[0]));
  });
});
