/**
 * The embedding matrix E [V, d] (the notes' "Natural language processing & word embeddings"):
 * row j is the vector e_j of word j, and looking it up is the product with the one-hot o_j,
 *   e_jᵀ = o_jᵀ·E   ([1, V]·[V, d] = [1, d]),
 * done here as a row gather instead of a GEMM with a vector that is all zeros but one entry.
 *
 * A batch of sequences is time-major: `ids` holds T·B token ids (row t·B + b is step t of
 * sequence b) and the lookup is the [T·B, d] matrix X with X[i, :] = E[ids[i], :].
 *
 * Backward: ∂L/∂E[j, :] = Σ_{i : ids[i] = j} ∂L/∂X[i, :] — a scatter-add into the rows that were
 * looked up. Only those rows of the gradient can be non-zero, so the layer keeps the list of
 * touched rows: an optimizer can update (and zero) just those instead of all V·d entries.
 *
 * Transfer learning as in the notes: (1) learn E or load pretrained vectors (`loadPretrained`),
 * (2) transfer it to the new task, (3) optionally fine-tune: with `frozen = true` the backward
 * pass is a no-op and E stays as loaded.
 */
import { gatherRowsKernel, scatterAddRowsKernel } from '../engine/backend.js';
import { Matrix, shapeOf, type DType } from '../engine/matrix.js';
import { resolveCreateOptions, type CreateOptions } from '../engine/create.js';
import type { Rng } from '../engine/rng.js';
import { skipsInit } from '../engine/init.js';

export interface Embedding {
  /** E [V, d]: row j is e_j. */
  readonly weight: Matrix;
  /** ∂L/∂E [V, d]; backward accumulates into the touched rows only. */
  readonly grad: Matrix;
  /** When true, embeddingBackward does nothing (a loaded E that is not fine-tuned). */
  frozen: boolean;
  /** A row that is never updated (PyTorch's padding_idx): its gradient stays 0. −1 for none. */
  readonly paddingIdx: number;
  /** The distinct rows touched since the last zeroing, in first-touched order: touched.rows[0 … count). */
  readonly touched: TouchedRows;
}

/** The set of rows of E with a (possibly) non-zero gradient. Preallocated: no allocation per step. */
export interface TouchedRows {
  /** rows[0 … count) are the touched row ids. */
  readonly rows: Int32Array;
  count: number;
  /** mark[j] = 1 when row j is in the list. */
  readonly mark: Uint8Array;
}

export interface EmbeddingOptions {
  dtype?: DType;
  /** Initial entries: N(0, std²) (PyTorch nn.Embedding: std = 1) or U(±0.5/d) (word2vec.c). Default 'normal'. */
  init?: 'normal' | 'uniform' | 'zeros';
  /** Standard deviation of the 'normal' init (default 1, as PyTorch). */
  std?: number;
  frozen?: boolean;
  /** Row that stays 0 and gets no gradient (padding token), default none. */
  paddingIdx?: number;
}

/** The structure of an embedding: V rows of d entries and the options above. */
export interface EmbeddingConfig extends EmbeddingOptions {
  vocabSize: number;
  dim: number;
}

/** A new [V, d] embedding initialised from `options.rng` (default seed, see engine/create.ts). */
export function createEmbedding(config: EmbeddingConfig, options?: CreateOptions): Embedding;
/** @deprecated Use `createEmbedding({ vocabSize, dim, ...opts }, { rng, dtype })`. */
export function createEmbedding(vocabSize: number, dim: number, rng: Rng, opts?: EmbeddingOptions): Embedding;
export function createEmbedding(first: EmbeddingConfig | number, second?: CreateOptions | number, oldRng?: Rng, oldOpts: EmbeddingOptions = {}): Embedding {
  const opts: EmbeddingConfig = typeof first === 'number' ? { ...oldOpts, vocabSize: first, dim: second as number } : first;
  const { vocabSize, dim } = opts;
  const { rng, dtype } = resolveCreateOptions('createEmbedding', typeof first === 'number' ? { rng: oldRng } : second as CreateOptions | undefined, opts.dtype);
  if (!Number.isInteger(vocabSize) || vocabSize <= 0 || !Number.isInteger(dim) || dim <= 0) {
    throw new Error(`createEmbedding: expected positive integer V and d, got V=${vocabSize}, d=${dim}`);
  }
  const paddingIdx = opts.paddingIdx ?? -1;
  if (paddingIdx !== -1 && (!Number.isInteger(paddingIdx) || paddingIdx < 0 || paddingIdx >= vocabSize)) {
    throw new Error(`createEmbedding: expected paddingIdx in [0, ${vocabSize}), got ${paddingIdx}`);
  }
  const weight = Matrix.zeros(vocabSize, dim, dtype);
  const init = opts.init ?? 'normal';
  const w = weight.data;
  const draw = !skipsInit(rng); // NO_INIT: E is loaded right after, leave it at zero
  if (init === 'normal') {
    const std = opts.std ?? 1;
    if (draw) for (let i = 0; i < w.length; i++) w[i] = rng.normal(0, std);
  } else if (init === 'uniform') {
    const limit = 0.5 / dim;
    if (draw) for (let i = 0; i < w.length; i++) w[i] = rng.uniformIn(-limit, limit);
  } else if (init !== 'zeros') {
    throw new Error(`createEmbedding: expected init 'normal', 'uniform' or 'zeros', got '${String(init)}'`);
  }
  if (paddingIdx >= 0) w.fill(0, paddingIdx * dim, (paddingIdx + 1) * dim);
  return wrapEmbedding(weight, { frozen: opts.frozen, paddingIdx });
}

/** An Embedding around an existing E (no copy), e.g. vectors read from a file. */
export function wrapEmbedding(weight: Matrix, opts: { frozen?: boolean; paddingIdx?: number } = {}): Embedding {
  if (!weight.isContiguous) throw new Error(`wrapEmbedding: expected a contiguous E, got a strided view ${shapeOf(weight)}`);
  const paddingIdx = opts.paddingIdx ?? -1;
  if (paddingIdx !== -1 && (!Number.isInteger(paddingIdx) || paddingIdx < 0 || paddingIdx >= weight.rows)) {
    throw new Error(`wrapEmbedding: expected paddingIdx in [0, ${weight.rows}), got ${paddingIdx}`);
  }
  return {
    weight,
    grad: Matrix.zeros(weight.rows, weight.cols, weight.dtype),
    frozen: opts.frozen ?? false,
    paddingIdx,
    touched: { rows: new Int32Array(weight.rows), count: 0, mark: new Uint8Array(weight.rows) },
  };
}

function checkIds(op: string, ids: ArrayLike<number>, vocabSize: number): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new Error(`${op}: expected token ids in [0, ${vocabSize}), got ${id} at position ${i}`);
    }
  }
}

/**
 * Lookup X = E[ids]: out[i, :] = E[ids[i], :] = o_{ids[i]}ᵀ·E.
 * Shapes: ids [N] (N = T·B for a time-major batch), E [V, d], out [N, d]. out must not share
 * memory with E. Returns out.
 */
export function embeddingForward(out: Matrix, emb: Embedding, ids: ArrayLike<number>): Matrix {
  const E = emb.weight;
  if (out.rows !== ids.length || out.cols !== E.cols) {
    throw new Error(`embeddingForward: expected out to be [${ids.length}, ${E.cols}] (ids × d), got ${shapeOf(out)}`);
  }
  if (out.data.constructor !== E.data.constructor) {
    throw new Error(`embeddingForward: expected out to have E's dtype ${E.dtype}, got ${out.dtype}`);
  }
  checkIds('embeddingForward', ids, E.rows);
  gatherRowsKernel()(ids.length, E.cols, out, E, ids, null);
  return out;
}

/**
 * Backward of the lookup, accumulating: dE[ids[i], :] += dOut[i, :] for every i (a word that
 * occurs several times in the batch gets the sum of its gradients). Shapes: ids [N], dOut [N, d],
 * dE = emb.grad [V, d]. Marks the rows it touches. A no-op when emb.frozen; the padding row
 * gets nothing.
 */
export function embeddingBackward(emb: Embedding, ids: ArrayLike<number>, dOut: Matrix): void {
  const G = emb.grad;
  if (dOut.rows !== ids.length || dOut.cols !== G.cols) {
    throw new Error(`embeddingBackward: expected dOut to be [${ids.length}, ${G.cols}] (ids × d), got ${shapeOf(dOut)}`);
  }
  if (dOut.data.constructor !== G.data.constructor) {
    throw new Error(`embeddingBackward: expected dOut to have E's dtype ${G.dtype}, got ${dOut.dtype}`);
  }
  if (emb.frozen) return;
  checkIds('embeddingBackward', ids, G.rows);
  const touched = emb.touched;
  for (let i = 0; i < ids.length; i++) {
    const row = ids[i];
    if (row === emb.paddingIdx || touched.mark[row] === 1) continue;
    touched.mark[row] = 1;
    touched.rows[touched.count++] = row;
  }
  scatterAddRowsKernel()(ids.length, G.cols, G, ids, dOut, emb.paddingIdx);
}

/**
 * The same backward from ∂L/∂E already summed per row — dE [V, d] (written by a layer that folded
 * the lookup into its own product, layers/sequence.ts' `dEmbedding`; only the rows of `ids` are
 * read): dE_grad[v, :] += dE[v, :] once for each distinct v in ids (not the padding row), marking it
 * touched. A no-op when emb.frozen.
 */
export function embeddingBackwardFromRows(emb: Embedding, ids: ArrayLike<number>, dE: Matrix): void {
  const G = emb.grad;
  if (dE.rows !== G.rows || dE.cols !== G.cols || dE.data.constructor !== G.data.constructor) {
    throw new Error(`embeddingBackwardFromRows: expected dE to be [${G.rows}, ${G.cols}] ${G.dtype} like E, got ${shapeOf(dE)} ${dE.dtype}`);
  }
  if (emb.frozen) return;
  checkIds('embeddingBackwardFromRows', ids, G.rows);
  const { mark } = emb.touched;
  const d = G.cols;
  for (let i = 0; i < ids.length; i++) {
    const row = ids[i];
    if (row === emb.paddingIdx || mark[row] === 2) continue; // 2: added in this call
    if (mark[row] === 0) emb.touched.rows[emb.touched.count++] = row;
    mark[row] = 2;
    const dst = G.offset + row * G.stride, src = dE.offset + row * dE.stride;
    for (let c = 0; c < d; c++) G.data[dst + c] += dE.data[src + c];
  }
  for (let i = 0; i < ids.length; i++) if (mark[ids[i]] === 2) mark[ids[i]] = 1;
}

/** The touched rows as a view (valid until the next zeroGrad). */
export function touchedRows(emb: Embedding): Int32Array {
  return emb.touched.rows.subarray(0, emb.touched.count);
}

/** Zero the gradient: only the touched rows (cost O(touched·d), not O(V·d)), then forget them. */
export function embeddingZeroGrad(emb: Embedding): void {
  const { rows, mark } = emb.touched;
  const d = emb.grad.cols;
  for (let k = 0; k < emb.touched.count; k++) {
    const row = rows[k];
    emb.grad.data.fill(0, row * d, (row + 1) * d);
    mark[row] = 0;
  }
  emb.touched.count = 0;
}

/**
 * Sparse SGD: E[j, :] −= lr·dE[j, :] for the touched rows j only (a row no word of the batch
 * used has a zero gradient, so skipping it changes nothing). Does nothing when frozen.
 * Does not zero the gradient (call embeddingZeroGrad).
 */
export function embeddingSgdStep(emb: Embedding, lr: number): void {
  if (emb.frozen) return;
  const d = emb.weight.cols;
  const w = emb.weight.data, g = emb.grad.data;
  for (let k = 0; k < emb.touched.count; k++) {
    const base = emb.touched.rows[k] * d;
    for (let c = 0; c < d; c++) w[base + c] -= lr * g[base + c];
  }
}

/**
 * Copy pretrained vectors into E (step 1 of the notes' transfer learning).
 * `vectors` is [n, d]; `rows[i]` is the row of E that receives vectors[i, :] (default: i, then
 * n must equal V). Rows of E without a pretrained vector keep their values. Returns the number
 * of rows copied.
 */
export function loadPretrained(emb: Embedding, vectors: Matrix, rows?: ArrayLike<number>): number {
  const E = emb.weight;
  if (vectors.cols !== E.cols) {
    throw new Error(`loadPretrained: expected vectors of dimension d=${E.cols}, got ${shapeOf(vectors)}`);
  }
  if (rows === undefined && vectors.rows !== E.rows) {
    throw new Error(`loadPretrained: expected ${E.rows} vectors (one per row of E) when no row map is given, got ${shapeOf(vectors)}`);
  }
  if (rows !== undefined && rows.length !== vectors.rows) {
    throw new Error(`loadPretrained: expected a row map of ${vectors.rows} entries (one per vector), got ${rows.length}`);
  }
  if (rows !== undefined) checkIds('loadPretrained', rows, E.rows);
  const d = E.cols;
  for (let i = 0; i < vectors.rows; i++) {
    const dst = (rows === undefined ? i : rows[i]) * d;
    const src = vectors.offset + i * vectors.stride;
    for (let c = 0; c < d; c++) E.data[dst + c] = vectors.data[src + c];
  }
  return vectors.rows;
}
