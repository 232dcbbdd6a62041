/**
 * Hierarchical softmax (Morin & Bengio 2005; Mikolov et al. 2013) over a Huffman tree of the
 * word counts.
 *
 * The V words are the leaves of a binary tree with V − 1 inner nodes; inner node n owns a row
 * θ_n of the output matrix Θ [V − 1, d]. The path of word w from the root visits the inner
 * nodes n(w, 0) (the root), n(w, 1), … n(w, L_w − 1) and at each one takes the branch code_j:
 *
 *   p(w | h) = Π_j σ(s_j · θ_{n(w,j)}ᵀ h),   s_j = 1 − 2·code_j   (code 0 → +1, code 1 → −1)
 *
 * which is word2vec.c's convention (its label is 1 − code_j). The two branches of a node get
 * σ(x) and σ(−x), which sum to 1, so Σ_w p(w | h) = 1 and the cost of a word is its depth
 * instead of V. Frequent words sit near the root, so the expected cost is the Huffman code
 * length, ≈ log₂ V or less.
 *
 * Loss (summed over the batch, rows b of h):
 *   L = Σ_b −log p(w_b | h_b) = Σ_b Σ_j softplus(−s_j·θ_{n(w_b,j)}ᵀ h_b)
 * Backward, with x = θ_nᵀh and ∂L/∂x = −s·σ(−s·x):
 *   dh_b += (∂L/∂x)·θ_n,   dΘ[n] += (∂L/∂x)·h_b   (only the rows on the paths are touched)
 *
 * Stability: σ and softplus are computed from e^(−|x|) only, so scores of ±1000 (or more) give
 * finite losses and gradients (word2vec.c instead skips nodes with |x| ≥ 6).
 */
import { type Matrix, expectSameDType, shapeOf, type FloatArray } from './matrix.js';
import { sigmoidScalar as sigmoid } from './activations.js';
import {
  accumulateRowGradients, checkGradientBuffers, dotRows, dotRowsUnrolled, sgdRowUpdate, softplusScalar,
} from './kernels/vector-kernels.js';

/**
 * A Huffman tree stored as flat arrays: word w's path is entries offsets[w] … offsets[w + 1] − 1
 * of `nodes` (inner-node ids, root first) and `codes` (the branch taken at each of them).
 */
export class HuffmanTree {
  /** V, the number of leaves (words). */
  readonly vocabSize: number;
  /** V − 1 inner nodes: the rows of Θ. The root is node V − 2 (node a is the a-th merge). */
  readonly innerNodes: number;
  /** [V + 1] start of each word's path in `nodes` / `codes`. */
  readonly offsets: Int32Array;
  /** Inner-node ids along every path, root first. */
  readonly nodes: Int32Array;
  /** Branch bits along every path: 0 → σ(+θᵀh), 1 → σ(−θᵀh). */
  readonly codes: Uint8Array;
  /** Length of the longest path. */
  readonly maxDepth: number;

  constructor(vocabSize: number, offsets: Int32Array, nodes: Int32Array, codes: Uint8Array) {
    this.vocabSize = vocabSize;
    this.innerNodes = Math.max(0, vocabSize - 1);
    this.offsets = offsets;
    this.nodes = nodes;
    this.codes = codes;
    let maxDepth = 0;
    for (let w = 0; w < vocabSize; w++) maxDepth = Math.max(maxDepth, offsets[w + 1] - offsets[w]);
    this.maxDepth = maxDepth;
  }

  /** Path length L_w (the code length of word w). */
  depth(w: number): number {
    this.checkWord('HuffmanTree.depth', w);
    return this.offsets[w + 1] - this.offsets[w];
  }

  /** Inner-node ids on the path of w, root first (a view, no copy). */
  path(w: number): Int32Array {
    this.checkWord('HuffmanTree.path', w);
    return this.nodes.subarray(this.offsets[w], this.offsets[w + 1]);
  }

  /** Branch bits on the path of w (a view, no copy). */
  code(w: number): Uint8Array {
    this.checkWord('HuffmanTree.code', w);
    return this.codes.subarray(this.offsets[w], this.offsets[w + 1]);
  }

  /** The code of w as a string of 0/1, root first ("" for a one-word vocabulary). */
  codeString(w: number): string {
    return Array.from(this.code(w)).join('');
  }

  private checkWord(op: string, w: number): void {
    if (!Number.isInteger(w) || w < 0 || w >= this.vocabSize) {
      throw new Error(`${op}: expected a word id in [0, ${this.vocabSize}), got ${w}`);
    }
  }
}

/**
 * Build the Huffman tree of `counts` (one non-negative count per word id).
 *
 * Algorithm (word2vec.c's CreateBinaryTree, generalised to unsorted counts): the leaves are
 * queued by ascending count, ties broken by *descending* id — the order in which word2vec.c
 * walks a vocabulary sorted by descending count, so a vocabulary in that order gives the same
 * tree, node ids and codes as the C code. Inner nodes are queued in creation order (their
 * counts never decrease). Each merge takes the two smallest heads of the two queues; when a
 * leaf and an inner node have equal counts the inner node is taken (word2vec.c's `<`). The
 * first node taken gets code 0, the second code 1; merge a (0-based) creates inner node a, so
 * the root is V − 2. O(V log V) for the sort, O(V) for the merges.
 *
 * A one-word vocabulary has no inner node and an empty path (p = 1).
 */
export function buildHuffmanTree(counts: ArrayLike<number>): HuffmanTree {
  const V = counts.length;
  if (V === 0) throw new Error('buildHuffmanTree: expected at least one count, got an empty array');
  for (let i = 0; i < V; i++) {
    const c = counts[i];
    if (!(c >= 0) || !Number.isFinite(c)) {
      throw new Error(`buildHuffmanTree: expected non-negative finite counts, got ${c} at word ${i}`);
    }
  }
  const leaves = Array.from({ length: V }, (_, i) => i).sort((a, b) => counts[a] - counts[b] || b - a);

  // Node ids 0 … V−1 are leaves, V + a is inner node a.
  const weight = new Float64Array(2 * V - 1);
  const parent = new Int32Array(2 * V - 1).fill(-1);
  const bit = new Uint8Array(2 * V - 1);
  for (let i = 0; i < V; i++) weight[i] = counts[i];
  let leafHead = 0; // next leaf in `leaves`
  let innerHead = V; // next inner node not yet merged
  let innerEnd = V; // one past the last inner node created
  const takeSmallest = (): number => {
    const haveLeaf = leafHead < V;
    const haveInner = innerHead < innerEnd;
    if (haveLeaf && (!haveInner || weight[leaves[leafHead]] < weight[innerHead])) return leaves[leafHead++];
    return innerHead++;
  };
  for (let a = 0; a < V - 1; a++) {
    const first = takeSmallest();
    const second = takeSmallest();
    const node = innerEnd++;
    weight[node] = weight[first] + weight[second];
    parent[first] = node;
    parent[second] = node;
    bit[first] = 0;
    bit[second] = 1;
  }

  // Walk each leaf up to the root, then store the path root first.
  const offsets = new Int32Array(V + 1);
  const depths = new Int32Array(V);
  for (let w = 0; w < V; w++) {
    let d = 0;
    for (let n = w; parent[n] >= 0; n = parent[n]) d++;
    depths[w] = d;
    offsets[w + 1] = offsets[w] + d;
  }
  const nodes = new Int32Array(offsets[V]);
  const codes = new Uint8Array(offsets[V]);
  for (let w = 0; w < V; w++) {
    let j = offsets[w + 1] - 1;
    for (let n = w; parent[n] >= 0; n = parent[n], j--) {
      nodes[j] = parent[n] - V;
      codes[j] = bit[n];
    }
  }
  return new HuffmanTree(V, offsets, nodes, codes);
}

function checkHs(op: string, tree: HuffmanTree, h: Matrix, theta: Matrix, targets: ArrayLike<number>): void {
  if (theta.rows !== tree.innerNodes || theta.cols !== h.cols) {
    throw new Error(
      `${op}: expected theta [V − 1, d] = [${tree.innerNodes}, ${h.cols}] for a tree of ${tree.vocabSize} words and h ${shapeOf(h)}, got ${shapeOf(theta)}`,
    );
  }
  expectSameDType(op, h, theta);
  if (targets.length !== h.rows) {
    throw new Error(`${op}: expected one target per row of h ${shapeOf(h)}, got ${targets.length} targets`);
  }
  for (let b = 0; b < targets.length; b++) {
    const w = targets[b];
    if (!Number.isInteger(w) || w < 0 || w >= tree.vocabSize) {
      throw new Error(`${op}: expected target word ids in [0, ${tree.vocabSize}), got ${w} at row ${b}`);
    }
  }
}

// softplusScalar lives with the shared row kernels; re-exported here, where it was public first.
export { softplusScalar };

/**
 * L = Σ_b −log p(w_b | h_b) = Σ_b Σ_j softplus(−s_j·θ_{n(w_b,j)}ᵀ h_b).
 * Shapes: h [B, d], theta [V − 1, d], targets B word ids in [0, V).
 */
export function hierarchicalSoftmaxLoss(tree: HuffmanTree, h: Matrix, theta: Matrix, targets: ArrayLike<number>): number {
  checkHs('hierarchicalSoftmaxLoss', tree, h, theta, targets);
  const d = h.cols;
  let loss = 0;
  for (let b = 0; b < h.rows; b++) {
    const w = targets[b];
    const hOff = h.offset + b * h.stride;
    for (let p = tree.offsets[w]; p < tree.offsets[w + 1]; p++) {
      const x = dotRows(theta.data, theta.offset + tree.nodes[p] * theta.stride, h.data, hOff, d);
      const s = tree.codes[p] === 0 ? 1 : -1;
      loss += softplusScalar(-s * x);
    }
  }
  return loss;
}

/**
 * Backward of hierarchicalSoftmaxLoss, ACCUMULATING: with x = θ_nᵀh_b and g = ∂L/∂x = −s·σ(−s·x),
 *   dh[b, :] += g·θ_n,   dTheta[n, :] += g·h[b, :]
 * for every node n on the path of w_b. Only the rows of dTheta on those paths change.
 * Shapes: dh [B, d] like h, dTheta [V − 1, d] like theta. dh must not alias h or theta.
 */
export function hierarchicalSoftmaxBackward(
  dh: Matrix, dTheta: Matrix, tree: HuffmanTree, h: Matrix, theta: Matrix, targets: ArrayLike<number>,
): void {
  const op = 'hierarchicalSoftmaxBackward';
  checkHs(op, tree, h, theta, targets);
  checkGradientBuffers(op, dh, dTheta, h, theta);
  const d = h.cols;
  for (let b = 0; b < h.rows; b++) {
    const w = targets[b];
    const hOff = h.offset + b * h.stride;
    const dhOff = dh.offset + b * dh.stride;
    for (let p = tree.offsets[w]; p < tree.offsets[w + 1]; p++) {
      const n = tree.nodes[p];
      const tOff = theta.offset + n * theta.stride;
      const dtOff = dTheta.offset + n * dTheta.stride;
      const x = dotRows(theta.data, tOff, h.data, hOff, d);
      const s = tree.codes[p] === 0 ? 1 : -1;
      const g = -s * sigmoid(-s * x);
      accumulateRowGradients(dh.data, dhOff, dTheta.data, dtOff, theta.data, tOff, h.data, hOff, d, g);
    }
  }
}

/**
 * One fused SGD step for one example, word2vec.c style — the training loop's kernel. For each
 * node n on the path of `word`, with x = θ_nᵀh and g = −lr·∂L/∂x = lr·s·σ(−s·x):
 *   neu1e += g·θ_n   (θ_n before its update),   θ_n += g·h
 * So θ takes its SGD step at once, and neu1e collects −lr·∂L/∂h for the caller to add to the
 * input vector(s). Equal to −lr times hierarchicalSoftmaxBackward for a batch of one.
 * h is read from `h` at `hOffset` (d entries); neu1e[0 … d) is accumulated into; theta is the
 * raw row-major [V − 1, d] buffer. No checks (hot loop): the caller validates once.
 * Returns the example's loss −log p(word | h).
 */
export function hierarchicalSoftmaxSgdStep(
  neu1e: FloatArray, theta: FloatArray, h: FloatArray, hOffset: number, dim: number,
  tree: HuffmanTree, word: number, lr: number,
): number {
  const { offsets, nodes, codes } = tree;
  let loss = 0;
  for (let p = offsets[word]; p < offsets[word + 1]; p++) {
    const tOff = nodes[p] * dim;
    const x = dotRowsUnrolled(theta, tOff, h, hOffset, dim);
    // z = s·x; −log σ(z) = softplus(−z); σ(−z) from e^(−|z|), no overflow.
    const s = codes[p] === 0 ? 1 : -1;
    const z = s * x;
    const e = Math.exp(-Math.abs(z));
    loss += (z < 0 ? -z : 0) + Math.log1p(e);
    const sigmaMinusZ = z >= 0 ? e / (1 + e) : 1 / (1 + e);
    const g = lr * s * sigmaMinusZ;
    sgdRowUpdate(neu1e, theta, tOff, h, hOffset, dim, g); // neu1e += g·θ_n (before its update), θ_n += g·h
  }
  return loss;
}
