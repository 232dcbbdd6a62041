/**
 * The recursive neural network (Goodfellow et al. §10.6; Socher et al. 2011): one composition
 * function applied at every internal node of a binary parse tree, bottom-up,
 *   leaf i:          h_i = E[word_i, :]                                   [d]
 *   internal node p: h_p = tanh(W·[h_left; h_right] + b)                  W [d, 2d], b [1, d]
 *   every node:      ŷ_i = softmax(W_s·h_i + b_s)                         W_s [C, d], b_s [1, C]
 *   loss:            L = −Σ_{i counted} log ŷ_i[y_i]
 * counted = every labelled node ('all', Socher et al. 2013's node-level training) or only the
 * labelled roots ('root'). A tree of depth D shares W across its D levels the way an RNN shares
 * its weights across time steps, and its depth (O(log n) for a balanced tree, n − 1 for a chain)
 * replaces the sequence length in how far gradients must travel.
 *
 * Backpropagation through structure (hand-written), top-down:
 *   dlogits_i = ∂L/∂(W_s h_i + b_s) = ŷ_i − onehot(y_i) (counted nodes; 0 elsewhere)
 *   dh_i      = W_sᵀ·dlogits_i + (the share of dz_parent that reaches it, below)
 *   dz_p      = dh_p ∗ (1 − h_p²)
 *   dW += dz_p·[h_left; h_right]ᵀ,  db += dz_p,  [dh_left; dh_right] += Wᵀ·dz_p
 *   dE[word_i, :] += dh_i at every leaf (only the rows of words in the batch are touched).
 *
 * Batching: a list of trees is packed (`packTrees`) into one forest whose nodes are ordered
 * leaves first, then internal nodes by height (1 + the larger height of the children). Nodes of
 * the same height never depend on each other, so each height is one GEMM over all trees:
 *   X_k = [H[left]; H[right]] (rows of height k) [m_k, 2d],  H_k = tanh(X_k·Wᵀ + b)  [m_k, d]
 * and the classifier is one GEMM over all N nodes. Backward walks the heights from the top.
 */
import { tanh, tanhBackward } from '../engine/activations.js';
import { crossEntropy, crossEntropyBackward } from '../engine/cross-entropy.js';
import { gemm } from '../engine/gemm.js';
import { initUniform, initXavierUniform } from '../engine/init.js';
import { Matrix, zero, type DType } from '../engine/matrix.js';
import { addBias, sumRows } from '../engine/ops.js';
import { resolveCreateOptions, type CreateOptions } from '../engine/create.js';
import type { Rng } from '../engine/rng.js';
import { createDense, denseBackward, denseForward, denseZeroGrad, type DenseLayer } from './dense.js';
import { createEmbedding, embeddingBackward, embeddingForward, embeddingZeroGrad, type Embedding } from './embedding.js';

/**
 * One binary tree in the layer's terms, nodes numbered so that children come before their
 * parent (post-order, say) and the root is the last node. Node i is a leaf when word[i] ≥ 0
 * (then left[i] = right[i] = −1) and an internal node otherwise (word[i] = −1, both children
 * given). label[i] is the node's class in [0, C), or −1 for a node without a target.
 */
export interface IndexedTree {
  word: ArrayLike<number>;
  left: ArrayLike<number>;
  right: ArrayLike<number>;
  label: ArrayLike<number>;
}

/** A list of trees packed into one forest: rows of H are leaves, then internal nodes by height. */
export interface TreeBatch {
  readonly trees: number;
  /** N, all nodes of all trees. */
  readonly nodes: number;
  /** Rows [0, leaves) of H are the leaves. */
  readonly leaves: number;
  /** Word id of leaf row r, r < leaves. */
  readonly leafWords: Int32Array;
  /** Rows of the children of internal row leaves + j, j < nodes − leaves. */
  readonly left: Int32Array;
  readonly right: Int32Array;
  /**
   * The internal rows by height: height 1 is rows leaves + [0, levelEnd[0]), height k + 1 is
   * rows leaves + [levelEnd[k − 1], levelEnd[k]).
   */
  readonly levelEnd: Int32Array;
  /** Class of row r, or −1. */
  readonly labels: Int32Array;
  /** Row of the root of tree t. */
  readonly roots: Int32Array;
  /** rowOf[t][i]: the row of node i of tree t (to read per-node results back in the tree's numbering). */
  readonly rowOf: Int32Array[];
}

export type RecursiveLossAt = 'all' | 'root';

export interface RecursiveNet {
  readonly vocabSize: number;
  readonly dim: number;
  readonly classes: number;
  readonly dtype: DType;
  /** E [V, d] with its sparse gradient (touched rows). */
  readonly embedding: Embedding;
  /** The classifier W_s [C, d], b_s [1, C]. */
  readonly classifier: DenseLayer;
  /** All parameters by name: E [V, d], W [d, 2d], b [1, d], Ws [C, d], bs [1, C]. */
  readonly params: { E: Matrix; W: Matrix; b: Matrix; Ws: Matrix; bs: Matrix };
  /** Same keys and shapes; recursiveBackward adds into them. */
  readonly grads: { E: Matrix; W: Matrix; b: Matrix; Ws: Matrix; bs: Matrix };
}

export interface RecursiveNetOptions {
  dtype?: DType;
  /** Leaf vectors start U(−r, r) (default r = 0.1; Socher et al. 2013 used U(−0.0001, 0.0001)). */
  embeddingRange?: number;
}

/** The structure of a recursive net: V words of d entries, C classes, and the leaf range. */
export interface RecursiveNetConfig extends RecursiveNetOptions {
  vocabSize: number;
  dim: number;
  classes: number;
}

/**
 * A new net: E ~ U(±embeddingRange), W = ½[I I] + Glorot noise·0.5 (a parent starts near the
 * average of its children, so signals pass up deep trees at the start of training), b = 0,
 * W_s Glorot uniform, b_s = 0.
 */
export function createRecursiveNet(config: RecursiveNetConfig, options?: CreateOptions): RecursiveNet;
/** @deprecated Use `createRecursiveNet({ vocabSize, dim, classes, embeddingRange }, { rng, dtype })`. */
export function createRecursiveNet(vocabSize: number, dim: number, classes: number, rng: Rng, options?: RecursiveNetOptions): RecursiveNet;
export function createRecursiveNet(
  first: RecursiveNetConfig | number, second?: CreateOptions | number, oldClasses?: number, oldRng?: Rng, oldOptions: RecursiveNetOptions = {},
): RecursiveNet {
  const config: RecursiveNetConfig = typeof first === 'number'
    ? { ...oldOptions, vocabSize: first, dim: second as number, classes: oldClasses as number } : first;
  const { vocabSize, dim, classes } = config;
  for (const [name, v] of [['vocabSize', vocabSize], ['dim', dim], ['classes', classes]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`createRecursiveNet: expected a positive integer ${name}, got ${v}`);
  }
  const { rng, dtype } = resolveCreateOptions('createRecursiveNet', typeof first === 'number' ? { rng: oldRng } : second as CreateOptions | undefined, config.dtype);
  const range = config.embeddingRange ?? 0.1;
  const embedding = createEmbedding({ vocabSize, dim, init: 'zeros' }, { rng, dtype });
  initUniform(embedding.weight, rng, -range, range);
  const W = Matrix.zeros(dim, 2 * dim, dtype);
  initXavierUniform(W, rng, 0.5);
  for (let i = 0; i < dim; i++) {
    W.set(i, i, W.get(i, i) + 0.5);
    W.set(i, dim + i, W.get(i, dim + i) + 0.5);
  }
  const b = Matrix.zeros(1, dim, dtype);
  const classifier = createDense({ inputSize: dim, outputSize: classes, init: 'xavier' }, { rng, dtype });
  const Ws = classifier.params.W, bs = classifier.params.b as Matrix;
  return {
    vocabSize, dim, classes, dtype, embedding, classifier,
    params: { E: embedding.weight, W, b, Ws, bs },
    grads: {
      E: embedding.grad, W: Matrix.zeros(dim, 2 * dim, dtype), b: Matrix.zeros(1, dim, dtype),
      Ws: classifier.grads.W, bs: classifier.grads.b as Matrix,
    },
  };
}

/** Zero every gradient (E only on its touched rows). */
export function recursiveZeroGrad(net: RecursiveNet): void {
  embeddingZeroGrad(net.embedding);
  zero(net.grads.W);
  zero(net.grads.b);
  denseZeroGrad(net.classifier);
}

/**
 * Pack trees into one forest (see TreeBatch). Checks each tree: lengths agree, children come
 * before their parent, every node but the root has exactly one parent, leaves have a word id in
 * [0, vocabSize) and labels are −1 or in [0, classes).
 */
export function packTrees(trees: readonly IndexedTree[], vocabSize: number, classes: number): TreeBatch {
  const op = 'packTrees';
  if (trees.length === 0) throw new Error(`${op}: expected at least one tree, got none`);
  let nodes = 0, leaves = 0;
  const heights: Int32Array[] = [];
  let maxHeight = 0;
  trees.forEach((tree, t) => {
    const n = checkTree(op, tree, t, vocabSize, classes);
    const h = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      if (tree.word[i] >= 0) leaves++;
      else h[i] = 1 + Math.max(h[tree.left[i]], h[tree.right[i]]);
      if (h[i] > maxHeight) maxHeight = h[i];
    }
    heights.push(h);
    nodes += n;
  });
  // Counting sort by height: leaves (height 0) first, then height 1, 2, …
  const countAt = new Int32Array(maxHeight + 2);
  for (const h of heights) for (let i = 0; i < h.length; i++) countAt[h[i] + 1]++;
  for (let k = 1; k < countAt.length; k++) countAt[k] += countAt[k - 1];
  // End of each height ≥ 1, counted in internal rows.
  const levelEnd = new Int32Array(maxHeight);
  for (let k = 1; k <= maxHeight; k++) levelEnd[k - 1] = countAt[k + 1] - leaves;
  const next = countAt.slice(0, maxHeight + 1); // next free row of each height
  const rowOf = heights.map((h) => {
    const rows = new Int32Array(h.length);
    for (let i = 0; i < h.length; i++) rows[i] = next[h[i]]++;
    return rows;
  });
  const leafWords = new Int32Array(leaves);
  const left = new Int32Array(nodes - leaves), right = new Int32Array(nodes - leaves);
  const labels = new Int32Array(nodes);
  const roots = new Int32Array(trees.length);
  trees.forEach((tree, t) => {
    const rows = rowOf[t];
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      labels[r] = tree.label[i];
      if (tree.word[i] >= 0) leafWords[r] = tree.word[i];
      else {
        left[r - leaves] = rows[tree.left[i]];
        right[r - leaves] = rows[tree.right[i]];
      }
    }
    roots[t] = rows[rows.length - 1];
  });
  return { trees: trees.length, nodes, leaves, leafWords, left, right, levelEnd, labels, roots, rowOf };
}

function checkTree(op: string, tree: IndexedTree, t: number, vocabSize: number, classes: number): number {
  const n = tree.word.length;
  if (n === 0) throw new Error(`${op}: trees[${t}] has no nodes`);
  if (tree.left.length !== n || tree.right.length !== n || tree.label.length !== n) {
    throw new Error(
      `${op}: trees[${t}]: expected word, left, right and label of equal length, got ${n}, ${tree.left.length}, ${tree.right.length}, ${tree.label.length}`,
    );
  }
  const parents = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const w = tree.word[i], l = tree.left[i], r = tree.right[i], y = tree.label[i];
    if (!(Number.isInteger(y) && y >= -1 && y < classes)) {
      throw new Error(`${op}: trees[${t}] node ${i}: expected a label −1 or in [0, ${classes}), got ${y}`);
    }
    if (w >= 0) {
      if (!Number.isInteger(w) || w >= vocabSize) {
        throw new Error(`${op}: trees[${t}] node ${i}: expected a word id in [0, ${vocabSize}), got ${w}`);
      }
      if (l !== -1 || r !== -1) throw new Error(`${op}: trees[${t}] node ${i}: a leaf (word ${w}) must have children −1, got ${l}, ${r}`);
      continue;
    }
    if (w !== -1) throw new Error(`${op}: trees[${t}] node ${i}: expected a word id ≥ 0 or −1, got ${w}`);
    for (const c of [l, r]) {
      if (!(Number.isInteger(c) && c >= 0 && c < i)) {
        throw new Error(`${op}: trees[${t}] node ${i}: expected children numbered before their parent (in [0, ${i})), got ${l}, ${r}`);
      }
      parents[c]++;
    }
    if (l === r) throw new Error(`${op}: trees[${t}] node ${i}: both children are node ${l}`);
  }
  for (let i = 0; i < n - 1; i++) {
    if (parents[i] !== 1) {
      throw new Error(`${op}: trees[${t}] node ${i}: expected exactly one parent (the root is the last node), got ${parents[i]}`);
    }
  }
  if (parents[n - 1] !== 0) throw new Error(`${op}: trees[${t}]: the last node must be the root, it has a parent`);
  return n;
}

/** The buffers of one forward/backward pass; they grow to the largest batch seen and are reused. */
export interface RecursiveWorkspace {
  /** H [N, d]: the vector of every node (views over the buffers below, valid after a forward). */
  H: Matrix;
  /** logits [N, C] = H·W_sᵀ + b_s. */
  logits: Matrix;
  /** The counted nodes' targets and [N, 1] mask of the last forward. */
  targets: Int32Array;
  mask: Matrix;
  /** The last forward's batch and loss mode. */
  batch: TreeBatch | null;
  lossAt: RecursiveLossAt;
  capacity: number;
  dtype: DType;
  buffers: { H: Matrix; X: Matrix; logits: Matrix; dH: Matrix; dX: Matrix; dlogits: Matrix; mask: Matrix; targets: Int32Array };
}

export function createRecursiveWorkspace(net: RecursiveNet, capacity = 256): RecursiveWorkspace {
  const ws: RecursiveWorkspace = {
    H: Matrix.zeros(0, net.dim, net.dtype), logits: Matrix.zeros(0, net.classes, net.dtype),
    targets: new Int32Array(0), mask: Matrix.zeros(0, 1, net.dtype),
    batch: null, lossAt: 'all', capacity: 0, dtype: net.dtype,
    buffers: undefined as unknown as RecursiveWorkspace['buffers'],
  };
  reserve(ws, net, capacity);
  return ws;
}

function reserve(ws: RecursiveWorkspace, net: RecursiveNet, nodes: number): void {
  if (nodes <= ws.capacity && ws.dtype === net.dtype && ws.buffers.H.cols === net.dim && ws.buffers.logits.cols === net.classes) return;
  const cap = Math.max(nodes, 2 * ws.capacity);
  const { dim: d, classes: C, dtype } = net;
  ws.buffers = {
    H: Matrix.zeros(cap, d, dtype), X: Matrix.zeros(cap, 2 * d, dtype),
    logits: Matrix.zeros(cap, C, dtype), dH: Matrix.zeros(cap, d, dtype), dX: Matrix.zeros(cap, 2 * d, dtype),
    dlogits: Matrix.zeros(cap, C, dtype), mask: Matrix.zeros(cap, 1, dtype), targets: new Int32Array(cap),
  };
  ws.capacity = cap;
  ws.dtype = dtype;
}

function checkBatch(op: string, net: RecursiveNet, batch: TreeBatch): void {
  for (let r = 0; r < batch.leaves; r++) {
    if (batch.leafWords[r] >= net.vocabSize) {
      throw new Error(`${op}: expected word ids in [0, ${net.vocabSize}), got ${batch.leafWords[r]} (batch packed for another vocabulary?)`);
    }
  }
  for (let r = 0; r < batch.nodes; r++) {
    if (batch.labels[r] >= net.classes) {
      throw new Error(`${op}: expected labels in [0, ${net.classes}), got ${batch.labels[r]}`);
    }
  }
}

/**
 * Forward over a packed forest: fills ws.H [N, d] (node vectors) and ws.logits [N, C] and returns
 * the summed loss L = −Σ_{counted i} log softmax(logits_i)[y_i] (0 when no node is counted).
 */
export function recursiveForward(
  ws: RecursiveWorkspace, net: RecursiveNet, batch: TreeBatch, lossAt: RecursiveLossAt = 'all',
): number {
  const op = 'recursiveForward';
  if (lossAt !== 'all' && lossAt !== 'root') throw new Error(`${op}: expected lossAt 'all' or 'root', got '${String(lossAt)}'`);
  checkBatch(op, net, batch);
  reserve(ws, net, batch.nodes);
  const { nodes: N, leaves } = batch;
  const d = net.dim;
  const buf = ws.buffers;
  const H = buf.H.rowView(0, N);
  ws.H = H;
  ws.batch = batch;
  ws.lossAt = lossAt;

  // Leaves: h_i = E[word_i, :].
  embeddingForward(H.rowView(0, leaves), net.embedding, batch.leafWords);
  // Internal nodes, one height at a time: X_k = [H[left]; H[right]], H_k = tanh(X_k·Wᵀ + b).
  let start = 0;
  for (const end of batch.levelEnd) {
    const m = end - start;
    const Xk = buf.X.rowView(start, m);
    gatherChildren(Xk, H, batch, start, d);
    const Hk = H.rowView(leaves + start, m);
    gemm(Hk, Xk, net.params.W, false, true);
    addBias(Hk, Hk, net.params.b);
    tanh(Hk, Hk);
    start = end;
  }
  // Classifier on every node, then the loss over the counted ones.
  const logits = buf.logits.rowView(0, N);
  ws.logits = logits;
  denseForward(logits, net.classifier, H);
  const mask = buf.mask.rowView(0, N);
  ws.mask = mask;
  ws.targets = buf.targets.subarray(0, N);
  let counted = 0;
  for (let r = 0; r < N; r++) {
    const y = batch.labels[r];
    ws.targets[r] = y < 0 ? 0 : y;
    mask.data[mask.offset + r] = y >= 0 ? 1 : 0;
  }
  if (lossAt === 'root') {
    zero(mask);
    for (const r of batch.roots) if (batch.labels[r] >= 0) mask.data[mask.offset + r] = 1;
  }
  for (let r = 0; r < N; r++) counted += mask.data[mask.offset + r];
  return counted === 0 ? 0 : crossEntropy(logits, ws.targets, { mask });
}

/** Xk[j, :] = [H[left_j]; H[right_j]] for the internal rows start … start + Xk.rows − 1. */
function gatherChildren(Xk: Matrix, H: Matrix, batch: TreeBatch, start: number, d: number): void {
  const x = Xk.data, h = H.data;
  for (let j = 0; j < Xk.rows; j++) {
    const o = Xk.offset + j * Xk.stride;
    const l = H.offset + batch.left[start + j] * H.stride;
    const r = H.offset + batch.right[start + j] * H.stride;
    for (let c = 0; c < d; c++) {
      x[o + c] = h[l + c];
      x[o + d + c] = h[r + c];
    }
  }
}

/**
 * Backpropagation through structure for the last recursiveForward(ws, net, batch): ACCUMULATES
 * (+=) into net.grads — E (touched rows only), W, b, Ws, bs. Call recursiveZeroGrad between updates.
 */
export function recursiveBackward(net: RecursiveNet, ws: RecursiveWorkspace): void {
  const batch = ws.batch;
  if (!batch) throw new Error('recursiveBackward: expected a recursiveForward on this workspace first, got none');
  const { nodes: N, leaves } = batch;
  const d = net.dim;
  const buf = ws.buffers;
  const H = ws.H;
  const dH = buf.dH.rowView(0, N);
  const dlogits = buf.dlogits.rowView(0, N);
  crossEntropyBackward(dlogits, ws.logits, ws.targets, { mask: ws.mask });
  // dW_s += dlogitsᵀ·H, db_s += Σ dlogits, dH = dlogits·W_s.
  denseBackward(net.classifier, H, dlogits, dH);
  // Heights from the top: a node's dh is complete once every node above it is done.
  const levels = batch.levelEnd;
  for (let k = levels.length - 1; k >= 0; k--) {
    const start = k === 0 ? 0 : levels[k - 1];
    const m = levels[k] - start;
    const Hk = H.rowView(leaves + start, m);
    const dZk = dH.rowView(leaves + start, m);
    tanhBackward(dZk, dZk, Hk); // dz = dh ∗ (1 − h²), in place
    const Xk = buf.X.rowView(start, m);
    gemm(net.grads.W, dZk, Xk, true, false, 1, 1);
    sumRows(net.grads.b, dZk, true);
    const dXk = buf.dX.rowView(start, m);
    gemm(dXk, dZk, net.params.W);
    scatterChildren(dH, dXk, batch, start, d);
  }
  embeddingBackward(net.embedding, batch.leafWords, dH.rowView(0, leaves));
}

/** dH[left_j] += dXk[j, :d], dH[right_j] += dXk[j, d:]. */
function scatterChildren(dH: Matrix, dXk: Matrix, batch: TreeBatch, start: number, d: number): void {
  const g = dH.data, x = dXk.data;
  for (let j = 0; j < dXk.rows; j++) {
    const o = dXk.offset + j * dXk.stride;
    const l = dH.offset + batch.left[start + j] * dH.stride;
    const r = dH.offset + batch.right[start + j] * dH.stride;
    for (let c = 0; c < d; c++) {
      g[l + c] += x[o + c];
      g[r + c] += x[o + d + c];
    }
  }
}

/** out[r] = argmax_c logits[r, c] for every row of the last forward (the predicted class of each node). */
export function recursivePredict(out: Int32Array, ws: RecursiveWorkspace): Int32Array {
  const logits = ws.logits;
  if (out.length !== logits.rows) {
    throw new Error(`recursivePredict: expected out of length ${logits.rows} (nodes of the last forward), got ${out.length}`);
  }
  for (let r = 0; r < logits.rows; r++) {
    const s = logits.offset + r * logits.stride;
    let best = 0;
    for (let c = 1; c < logits.cols; c++) if (logits.data[s + c] > logits.data[s + best]) best = c;
    out[r] = best;
  }
  return out;
}
