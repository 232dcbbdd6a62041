/**
 * Training and evaluating the recursive (tree) network of layers/recursive.ts on labelled parse
 * trees, next to the baseline the notes compare it with: a softmax over the average of the word
 * embeddings ("bag of embeddings"), which ignores order and structure.
 *
 *   const train = generateSentimentTrees(new Rng(1), 2000), test = generateSentimentTrees(new Rng(2), 500);
 *   const tree = trainTreeNet(train, { dim: 25, epochs: 20 }, new Rng(3));
 *   const bag = trainBagOfEmbeddings(train, { dim: 25, epochs: 20 }, new Rng(3));
 *   evaluateTreeNet(tree, test).rootAccuracy;  evaluateBag(bag, test).rootAccuracy;
 *
 * Both models see the same supervision: every labelled node (phrase) of the training trees
 * (lossAt 'all', as Socher et al. 2013), or only the roots (lossAt 'root'). Both use AdaGrad by
 * default, as Socher et al. did, with L2 weight decay λ.
 */
import { crossEntropy, crossEntropyForwardBackward } from '../../engine/cross-entropy.js';
import { Matrix } from '../../engine/matrix.js';
import { scale } from '../../engine/ops.js';
import { Rng } from '../../engine/rng.js';
import {
  createRecursiveNet, createRecursiveWorkspace, packTrees, recursiveBackward, recursiveForward, recursivePredict,
  recursiveZeroGrad, type IndexedTree, type RecursiveLossAt, type RecursiveNet,
} from '../../layers/recursive.js';
import { createUpdate, runTrainingLoop, type LoopControls } from '../core/loop.js';
import { createOptimizer, type OptimizerKind } from '../core/optimizers.js';
import { matrixFromJSON, matrixToJSON, type MatrixJSON } from '../io/tensors.js';
import { checkModelSize, storedWeightCount } from '../io/weights-json.js';
import { averageModelFactory, makeSentimentBatch, type AverageSentimentModel, type SentimentBatch, type SentimentModelJSON } from '../classify/sentence-classifier.js';
import { binarize, isLeaf, treeLeaves, type Tree } from './trees.js';
import { PAD, UNK, Vocabulary, type VocabularyJSON } from '../text/vocab.js';

// ───────────────────────── trees → the layer's indexed form ─────────────────────────

/** The class of a node label ('0' … 'C−1'), −1 for an unlabelled node; throws on anything else. */
export function labelClass(label: string | null, classes: number, where: string): number {
  if (label === null) return -1;
  const y = Number(label);
  if (!/^\d+$/.test(label) || !(y < classes)) {
    throw new Error(`${where}: expected a class label 0 … ${classes - 1}, got '${label}'`);
  }
  return y;
}

/**
 * Number the nodes of a tree in post-order for the recursive net: words → vocabulary ids
 * (unknown words → <UNK>), labels → classes. N-ary trees are binarised first (right-factored,
 * unary nodes collapsed, the new nodes unlabelled; see trees.ts `binarize`).
 */
export function treeToIndexed(tree: Tree, vocab: Vocabulary, classes: number, where = 'treeToIndexed'): IndexedTree {
  const binary = binarize(tree);
  const word: number[] = [], left: number[] = [], right: number[] = [], label: number[] = [];
  const visit = (t: Tree): number => {
    let l = -1, r = -1;
    if (!isLeaf(t)) {
      l = visit(t.children[0]);
      r = visit(t.children[1]);
    }
    word.push(isLeaf(t) ? vocab.id(t.word as string) : -1);
    left.push(l);
    right.push(r);
    label.push(labelClass(t.label, classes, where));
    return word.length - 1;
  };
  visit(binary);
  return { word, left, right, label };
}

/** The vocabulary of the training trees' leaves, with <UNK> (id 0) for words first seen later. */
export function buildTreeVocabulary(trees: readonly Tree[]): Vocabulary {
  return Vocabulary.build(trees.flatMap(treeLeaves), { specials: [UNK] });
}

/** The largest label + 1 over all nodes (the number of classes a tree file implies), at least 2. */
export function inferClasses(trees: readonly Tree[]): number {
  let max = 1;
  const visit = (t: Tree, i: number): void => {
    if (t.label !== null) max = Math.max(max, labelClass(t.label, Infinity, `tree ${i + 1}`));
    t.children.forEach((c) => visit(c, i));
  };
  trees.forEach(visit);
  return max + 1;
}

/** Index every tree; a bad label names the operation and the tree (1-based). */
function indexAll(op: string, trees: readonly Tree[], vocab: Vocabulary, classes: number): IndexedTree[] {
  return trees.map((t, i) => treeToIndexed(t, vocab, classes, `${op}: tree ${i + 1}`));
}

// ───────────────────────── common training options ─────────────────────────

/**
 * The shared loop's controls (time limit, stop signal, progress: loss per counted node of each
 * batch) and the models' training. The models are returned whatever stopped the run; onEpoch
 * tells which epochs finished.
 */
export interface TreeTrainOptions extends LoopControls {
  /** Embedding (and node vector) size d (default 25). */
  dim?: number;
  /** Classes C (default: inferred from the labels). */
  classes?: number;
  epochs?: number;
  /** Trees per update (default 25). */
  batchSize?: number;
  /** 'adagrad' (default, as Socher et al.) or 'adam'. */
  optimizer?: Extract<OptimizerKind, 'adagrad' | 'adam'>;
  /** Learning rate (default 0.05 for AdaGrad, 0.005 for Adam). */
  lr?: number;
  /** L2 weight decay λ (default 1e−4). */
  weightDecay?: number;
  /** Train on every labelled node (default) or the roots only. */
  lossAt?: RecursiveLossAt;
  /** Called after every epoch. */
  onEpoch?: (epoch: number, meanLoss: number) => void;
}

interface Resolved {
  dim: number; epochs: number; batchSize: number; optimizer: 'adagrad' | 'adam'; lr: number;
  weightDecay: number; lossAt: RecursiveLossAt;
}

function resolveOptions(op: string, o: TreeTrainOptions): Resolved {
  const optimizer = o.optimizer ?? 'adagrad';
  if (optimizer !== 'adagrad' && optimizer !== 'adam') throw new Error(`${op}: expected optimizer adagrad|adam, got '${String(optimizer)}'`);
  const r: Resolved = {
    dim: o.dim ?? 25, epochs: o.epochs ?? 20, batchSize: o.batchSize ?? 25, optimizer,
    lr: o.lr ?? (optimizer === 'adagrad' ? 0.05 : 0.005), weightDecay: o.weightDecay ?? 1e-4, lossAt: o.lossAt ?? 'all',
  };
  for (const k of ['dim', 'epochs', 'batchSize'] as const) {
    if (!Number.isInteger(r[k]) || r[k] <= 0) throw new Error(`${op}: expected ${k} to be a positive integer, got ${r[k]}`);
  }
  if (!(r.lr > 0)) throw new Error(`${op}: expected lr > 0, got ${r.lr}`);
  if (!(r.weightDecay >= 0)) throw new Error(`${op}: expected weightDecay ≥ 0, got ${r.weightDecay}`);
  if (r.lossAt !== 'all' && r.lossAt !== 'root') throw new Error(`${op}: expected lossAt all|root, got '${String(r.lossAt)}'`);
  return r;
}

function countedNodes(items: readonly IndexedTree[], lossAt: RecursiveLossAt): number {
  let n = 0;
  for (const t of items) {
    if (lossAt === 'root') n += t.label[t.label.length - 1] >= 0 ? 1 : 0;
    else for (let i = 0; i < t.label.length; i++) n += t.label[i] >= 0 ? 1 : 0;
  }
  return n;
}

/** Mini-batches of a fresh permutation each epoch. */
function* batches<T>(items: readonly T[], batchSize: number, rng: Rng): Generator<T[]> {
  const order = rng.permutation(items.length);
  for (let i = 0; i < order.length; i += batchSize) yield order.slice(i, i + batchSize).map((k) => items[k]);
}

/**
 * The epochs of either model through the shared training loop (training/core/loop.ts): batches of
 * a fresh permutation each epoch; `trainBatch` makes one update (its number is `step`) and returns
 * the batch's summed loss and the nodes it counted; the loss reported is their quotient.
 */
function trainInBatches(
  items: readonly IndexedTree[], o: Resolved, rng: Rng, options: TreeTrainOptions,
  trainBatch: (batch: IndexedTree[], step: number) => { loss: number; n: number },
): void {
  const perEpoch = Math.ceil(items.length / o.batchSize);
  let epochBatches: IndexedTree[][] = [];
  let epoch = 0, k = perEpoch, epochLoss = 0, epochCount = 0, done = 0;
  runTrainingLoop({
    startStep: 0, totalSteps: o.epochs * perEpoch, budgetReason: 'epochs',
    timeLimitSeconds: options.timeLimitSeconds, signal: options.signal, now: options.now, onProgress: options.onProgress,
    step: () => {
      if (k === perEpoch) {
        epochBatches = [...batches(items, o.batchSize, rng)];
        epoch++;
        k = 0;
        epochLoss = 0;
        epochCount = 0;
      }
      const batch = epochBatches[k];
      const { loss, n } = trainBatch(batch, done + 1);
      done++;
      k++;
      epochLoss += loss;
      epochCount += n;
      return { loss: loss / Math.max(1, n), epoch: epoch - 1 + k / perEpoch, units: batch.length };
    },
    afterStep: () => {
      if (k === perEpoch) options.onEpoch?.(epoch, epochLoss / Math.max(1, epochCount));
    },
  });
}

// ───────────────────────── the tree net ─────────────────────────

export interface TreeNetModel {
  kind: 'treenet';
  vocab: Vocabulary;
  classes: number;
  net: RecursiveNet;
}

/** Train a recursive net on labelled trees. Same data, options and seed → same model. */
export function trainTreeNet(trees: readonly Tree[], options: TreeTrainOptions, rng: Rng): TreeNetModel {
  const op = 'trainTreeNet';
  if (trees.length === 0) throw new Error(`${op}: expected training trees, got none`);
  const o = resolveOptions(op, options);
  const classes = options.classes ?? inferClasses(trees);
  const vocab = buildTreeVocabulary(trees);
  const items = indexAll('trainTreeNet', trees, vocab, classes);
  checkModelSize(op, vocab.size * o.dim + 2 * o.dim * o.dim + classes * o.dim, `a recursive net of dim ${o.dim} over ${vocab.size} words`);
  const net = createRecursiveNet({ vocabSize: vocab.size, dim: o.dim, classes }, { rng });
  const ws = createRecursiveWorkspace(net);
  const opt = createOptimizer({ kind: o.optimizer, lr: o.lr, weightDecay: o.weightDecay }, net.params);
  const update = createUpdate(net.params, net.grads, opt);
  trainInBatches(items, o, rng, options, (batch, step) => {
    const packed = packTrees(batch, vocab.size, classes);
    recursiveZeroGrad(net);
    const loss = recursiveForward(ws, net, packed, o.lossAt);
    recursiveBackward(net, ws);
    // The mean over the batch's counted nodes, so the step size does not grow with the batch.
    const n = Math.max(1, countedNodes(batch, o.lossAt));
    for (const g of Object.values(net.grads)) scale(g, g, 1 / n);
    update(step, loss / n);
    return { loss, n };
  });
  return { kind: 'treenet', vocab, classes, net };
}

/** Accuracy of a classifier on a tree set: at the roots, at every labelled node, and by group. */
export interface TreeEvaluation {
  trees: number;
  /** Fraction of labelled roots classified right. */
  rootAccuracy: number;
  /** Fraction of all labelled nodes (roots, phrases, words) classified right. */
  nodeAccuracy: number;
  /** Mean cross-entropy per labelled root. */
  rootLoss: number;
  /** Root accuracy on the trees that contain "not" (negation), and on those that do not. */
  negated: { trees: number; rootAccuracy: number };
  plain: { trees: number; rootAccuracy: number };
}

/** Predicted class of every node of every tree (post-order of the binarised tree, as treeToIndexed). */
export function predictTreeNet(model: TreeNetModel, trees: readonly Tree[]): number[][] {
  const items = indexAll('predictTreeNet', trees, model.vocab, model.classes);
  const ws = createRecursiveWorkspace(model.net);
  const out: number[][] = [];
  for (let start = 0; start < items.length; start += 256) {
    const chunk = items.slice(start, start + 256);
    const packed = packTrees(chunk, model.vocab.size, model.classes);
    recursiveForward(ws, model.net, packed, 'root');
    const predicted = recursivePredict(new Int32Array(packed.nodes), ws);
    for (const rows of packed.rowOf) out.push(Array.from(rows, (r) => predicted[r]));
  }
  return out;
}

export function evaluateTreeNet(model: TreeNetModel, trees: readonly Tree[]): TreeEvaluation {
  const items = indexAll('evaluateTreeNet', trees, model.vocab, model.classes);
  const predictions = predictTreeNet(model, trees);
  const rootLoss = meanRootLoss(model, items);
  return scorePredictions(trees, items, predictions, rootLoss);
}

function meanRootLoss(model: TreeNetModel, items: IndexedTree[]): number {
  const ws = createRecursiveWorkspace(model.net);
  let loss = 0, roots = 0;
  for (let start = 0; start < items.length; start += 256) {
    const chunk = items.slice(start, start + 256);
    loss += recursiveForward(ws, model.net, packTrees(chunk, model.vocab.size, model.classes), 'root');
    roots += countedNodes(chunk, 'root');
  }
  return roots === 0 ? 0 : loss / roots;
}

function scorePredictions(
  trees: readonly Tree[], items: IndexedTree[], predictions: number[][], rootLoss: number,
): TreeEvaluation {
  let rootRight = 0, roots = 0, nodeRight = 0, nodes = 0;
  const group = { negated: [0, 0], plain: [0, 0] };
  items.forEach((item, t) => {
    const p = predictions[t];
    for (let i = 0; i < item.label.length; i++) {
      if (item.label[i] < 0) continue;
      nodes++;
      if (p[i] === item.label[i]) nodeRight++;
    }
    const root = item.label.length - 1;
    if (item.label[root] < 0) return;
    const right = p[root] === item.label[root] ? 1 : 0;
    roots++;
    rootRight += right;
    const g = treeLeaves(trees[t]).includes('not') ? group.negated : group.plain;
    g[0] += right;
    g[1]++;
  });
  const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);
  return {
    trees: trees.length,
    rootAccuracy: ratio(rootRight, roots),
    nodeAccuracy: ratio(nodeRight, nodes),
    rootLoss,
    negated: { trees: group.negated[1], rootAccuracy: ratio(group.negated[0], group.negated[1]) },
    plain: { trees: group.plain[1], rootAccuracy: ratio(group.plain[0], group.plain[1]) },
  };
}

// ───────────────────────── the bag-of-embeddings baseline ─────────────────────────

/**
 * The order-blind baseline, the notes' average-of-embeddings classifier (AverageSentimentModel of
 * training/classify/sentence-classifier.ts, shared with sentiment): a phrase's vector is the
 * average of its words' embeddings,
 *   x = (1/n)·Σ_{w ∈ phrase} E[w, :]  [d],   ŷ = softmax(W·x + b)  W [C, d], b [1, C]
 * so "not good" and "good not", "good but bad" and "bad but good" get the same vector. Trained on
 * the leaf spans of the same labelled nodes the tree net learns from.
 */
export interface BagModel {
  kind: 'bag';
  /** The vocabulary of the training leaves with <PAD> (padding) and <UNK>. */
  vocab: Vocabulary;
  classes: number;
  model: AverageSentimentModel;
}

/** Phrases for the bag: the word ids of each phrase (a leaf span) and its class. */
export interface BagPhrases {
  /** Phrase p has the words ids[offsets[p] … offsets[p + 1]). */
  ids: Int32Array;
  offsets: Int32Array;
  targets: Int32Array;
}

/** The leaf span of every labelled node of indexed trees (or of the labelled roots only). */
export function bagPhrases(items: readonly IndexedTree[], lossAt: RecursiveLossAt): BagPhrases {
  const ids: number[] = [], offsets: number[] = [0], targets: number[] = [];
  for (const item of items) {
    const n = item.label.length;
    const span: number[][] = [];
    for (let i = 0; i < n; i++) {
      span.push(item.word[i] >= 0 ? [item.word[i]] : [...span[item.left[i]], ...span[item.right[i]]]);
      const counted = lossAt === 'all' ? item.label[i] >= 0 : i === n - 1 && item.label[i] >= 0;
      if (!counted) continue;
      ids.push(...span[i]);
      offsets.push(ids.length);
      targets.push(item.label[i]);
    }
  }
  return { ids: Int32Array.from(ids), offsets: Int32Array.from(offsets), targets: Int32Array.from(targets) };
}

/** Phrases [from, to) as a padded sentence batch of the average model. */
function phraseBatch(model: BagModel, phrases: BagPhrases, from: number, to: number): SentimentBatch {
  const encoded: number[][] = [];
  for (let p = from; p < to; p++) encoded.push(Array.from(phrases.ids.subarray(phrases.offsets[p], phrases.offsets[p + 1])));
  return makeSentimentBatch(encoded, phrases.targets.subarray(from, to), model.vocab.id(PAD), model.model.dtype);
}

const classNames = (classes: number): string[] => Array.from({ length: classes }, (_, c) => String(c));

/** Train the bag baseline on the same trees, supervision, optimizer and batches as the tree net. */
export function trainBagOfEmbeddings(trees: readonly Tree[], options: TreeTrainOptions, rng: Rng): BagModel {
  const op = 'trainBagOfEmbeddings';
  if (trees.length === 0) throw new Error(`${op}: expected training trees, got none`);
  const o = resolveOptions(op, options);
  const classes = options.classes ?? inferClasses(trees);
  const vocab = Vocabulary.build(trees.flatMap(treeLeaves), { specials: [PAD, UNK] });
  const items = indexAll('trainBagOfEmbeddings', trees, vocab, classes);
  const model = averageModelFactory.create(vocab, classNames(classes), rng, { dim: o.dim }) as AverageSentimentModel;
  const bag: BagModel = { kind: 'bag', vocab, classes, model };
  const params = model.params(), grads = model.grads();
  const opt = createOptimizer({ kind: o.optimizer, lr: o.lr, weightDecay: o.weightDecay }, params);
  const update = createUpdate(params, grads, opt);
  trainInBatches(items, o, rng, options, (batch, step) => {
    const phrases = bagPhrases(batch, o.lossAt);
    const n = phrases.targets.length;
    model.zeroGrad();
    let loss = 0;
    if (n > 0) {
      const sentences = phraseBatch(bag, phrases, 0, n);
      const logits = model.forward(sentences);
      const dlogits = Matrix.zeros(logits.rows, logits.cols, logits.dtype);
      // The mean over the batch's phrases, as the tree net's mean over its counted nodes.
      loss = n * crossEntropyForwardBackward(dlogits, logits, sentences.labels, { reduction: 'mean' });
      model.backward(sentences, dlogits);
    }
    update(step, loss / Math.max(1, n));
    return { loss, n };
  });
  return bag;
}

/** Logits of every phrase, in chunks of 256. */
function bagLogits(bag: BagModel, phrases: BagPhrases, visit: (logits: Matrix, first: number) => void): void {
  const P = phrases.targets.length;
  for (let from = 0; from < P; from += 256) {
    const to = Math.min(P, from + 256);
    visit(bag.model.forward(phraseBatch(bag, phrases, from, to)), from);
  }
}

/** Predicted class of every node of every tree (same order as predictTreeNet). */
export function predictBag(bag: BagModel, trees: readonly Tree[]): number[][] {
  const items = indexAll('predictBag', trees, bag.vocab, bag.classes);
  // Every node is a phrase here, labelled or not: give each a dummy target 0.
  const all = items.map((item) => ({ ...item, label: Array.from(item.label, () => 0) }));
  const predicted: number[] = [];
  bagLogits(bag, bagPhrases(all, 'all'), (logits) => {
    for (let r = 0; r < logits.rows; r++) predicted.push(argmaxRow(logits, r));
  });
  let next = 0;
  return items.map((item) => predicted.slice(next, (next += item.label.length)));
}

function argmaxRow(m: Matrix, r: number): number {
  let best = 0;
  for (let c = 1; c < m.cols; c++) if (m.get(r, c) > m.get(r, best)) best = c;
  return best;
}

export function evaluateBag(bag: BagModel, trees: readonly Tree[]): TreeEvaluation {
  const items = indexAll('evaluateBag', trees, bag.vocab, bag.classes);
  const predictions = predictBag(bag, trees);
  // Root loss of the bag: cross-entropy of the root phrases.
  const roots = bagPhrases(items, 'root');
  let rootLoss = 0;
  bagLogits(bag, roots, (logits, first) => {
    rootLoss += crossEntropy(logits, roots.targets.subarray(first, first + logits.rows));
  });
  return scorePredictions(trees, items, predictions, roots.targets.length === 0 ? 0 : rootLoss / roots.targets.length);
}

// ───────────────────────── tree net vs bag, and saving ─────────────────────────

export interface TreeComparison {
  tree: TreeEvaluation;
  bag: TreeEvaluation;
}

/** Train both models on `train` with the same options and seed, evaluate both on `test`. */
export function compareTreeVsBag(
  train: readonly Tree[], test: readonly Tree[], options: TreeTrainOptions, seed: number,
): { tree: TreeNetModel; bag: BagModel; result: TreeComparison } {
  const tree = trainTreeNet(train, options, new Rng(seed));
  const bag = trainBagOfEmbeddings(train, options, new Rng(seed));
  return { tree, bag, result: { tree: evaluateTreeNet(tree, test), bag: evaluateBag(bag, test) } };
}

export interface TreeModelsJSON {
  kind: 'seqgrad.treenet';
  version: 1;
  classes: number;
  vocab: VocabularyJSON;
  tree: { dim: number; params: Record<'E' | 'W' | 'b' | 'Ws' | 'bs', MatrixJSON> };
  /** The bag baseline as a sentiment model file (training/classify/sentence-classifier.ts), or null. */
  bag: SentimentModelJSON | null;
}

export function treeModelsToJSON(tree: TreeNetModel, bag: BagModel | null): TreeModelsJSON {
  const p = tree.net.params;
  return {
    kind: 'seqgrad.treenet', version: 1, classes: tree.classes, vocab: tree.vocab.toJSON(),
    tree: { dim: tree.net.dim, params: { E: matrixToJSON(p.E), W: matrixToJSON(p.W), b: matrixToJSON(p.b), Ws: matrixToJSON(p.Ws), bs: matrixToJSON(p.bs) } },
    bag: bag ? bag.model.toJSON() : null,
  };
}

/** Restore the models saved by treeModelsToJSON; `source` names the file in errors. */
export function treeModelsFromJSON(json: TreeModelsJSON, source = 'model'): { tree: TreeNetModel; bag: BagModel | null } {
  const op = 'treeModelsFromJSON';
  if (json?.kind !== 'seqgrad.treenet' || json.version !== 1) {
    throw new Error(`${op}: ${source}: expected { kind: "seqgrad.treenet", version: 1 }, got kind ${JSON.stringify(json?.kind)}`);
  }
  const vocab = Vocabulary.fromJSON(json.vocab);
  const classes = json.classes;
  // E [V, d], W [d, 2d] and W_s [C, d] at least: sizes the file's weights cannot fill are refused before allocating.
  const dim = json.tree?.dim;
  const needed = vocab.size * dim + 2 * dim * dim + classes * dim;
  const stored = storedWeightCount(json.tree?.params);
  if (Number.isFinite(needed) && needed > stored) {
    throw new Error(`${op}: ${source}: its config (dim ${dim}, ${classes} classes, ${vocab.size} words) needs at least ${needed} weights, the file holds ${stored}`);
  }
  const net = createRecursiveNet({ vocabSize: vocab.size, dim, classes }, { rng: new Rng(0) });
  for (const name of ['E', 'W', 'b', 'Ws', 'bs'] as const) copyParam(op, source, `tree.${name}`, net.params[name], json.tree.params[name]);
  let bag: BagModel | null = null;
  if (json.bag) {
    let model: AverageSentimentModel;
    try {
      model = averageModelFactory.fromJSON(json.bag) as AverageSentimentModel;
    } catch (err) {
      throw new Error(`${op}: ${source}: the bag model: ${(err as Error).message}`);
    }
    if (model.classes.length !== classes) {
      throw new Error(`${op}: ${source}: expected a bag model of ${classes} classes, got ${model.classes.length}`);
    }
    bag = { kind: 'bag', vocab: model.vocab, classes, model };
  }
  return { tree: { kind: 'treenet', vocab, classes, net }, bag };
}

function copyParam(op: string, source: string, name: string, into: Matrix, json: MatrixJSON | undefined): void {
  if (!json) throw new Error(`${op}: ${source}: parameter ${name} is missing`);
  const m = matrixFromJSON(json);
  if (m.rows !== into.rows || m.cols !== into.cols) {
    throw new Error(`${op}: ${source}: expected ${name} to be [${into.rows}, ${into.cols}], got [${m.rows}, ${m.cols}]`);
  }
  for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) into.set(r, c, m.get(r, c));
}
