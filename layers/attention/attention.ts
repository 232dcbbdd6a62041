/**
 * Attention of an RNN decoder over the encoder outputs (the notes' "attention model"): Bahdanau's
 * additive score and Luong's dot and general scores, batched, with a ragged source mask.
 *
 * At decoder step t, with the query s = s⟨t−1⟩ [B, n_s] (the decoder state before step t) and the
 * encoder outputs h⟨i⟩ [B, n_h] for source positions i < T_x (n_h = 2n_a for a bidirectional encoder):
 *   additive (Bahdanau et al. 2014): e⟨t,i⟩ = vᵀ tanh(W s + U h⟨i⟩ + b)
 *                                     W [n_att, n_s], U [n_att, n_h], b [1, n_att], v [1, n_att]
 *   dot      (Luong et al. 2015):    e⟨t,i⟩ = s · h⟨i⟩                      (needs n_s = n_h)
 *   general  (Luong et al. 2015):    e⟨t,i⟩ = sᵀ W_a h⟨i⟩                   W_a [n_s, n_h]
 *   α⟨t,i⟩ = exp(e⟨t,i⟩) / Σ_{j valid} exp(e⟨t,j⟩) over the valid source positions of the row,
 *            exactly 0 where the source mask is 0 (a row with no valid position gets α = 0, c = 0)
 *   c⟨t⟩   = Σ_i α⟨t,i⟩ h⟨i⟩                                                 [B, n_h]
 *
 * The part of the score that depends on h alone is projected for all source positions with one GEMM
 * per sequence: the keys K = H·Uᵀ + b (additive) or K = H·W_aᵀ (general); dot uses H itself. Its
 * gradient dK is accumulated over the decoder steps and backpropagated once at the end.
 *
 * Calls for one batch (the workspace is made once per (T_x, T_y, B) and reused):
 *   attentionKeysForward(ws, H, srcMask)                 H [T_x·B, n_h] time-major, srcMask [T_x, B]
 *   for t = 0 … : attentionStepForward(c⟨t⟩, ws, t, s⟨t−1⟩)
 *   backward: for t = … 0: attentionStepBackward(dS⟨t−1⟩, dH, ws, t, dc⟨t⟩)   (accumulates)
 *             attentionKeysBackward(dH, ws)                                     (once, accumulates)
 * H and every query must stay unchanged between the forward and the backward calls (the workspace
 * keeps a reference to H and copies of the queries). The steps allocate nothing.
 *
 * The additive score, tanh and the dot with v fused, runs as a backend kernel (additiveScoresKernel:
 * js reference, wasm SIMD), one call per batch row and step; so does its backward (dv, dK, dW s).
 * Inference over many sources (batched greedy / beam decoding) has its own entry without caches:
 * createAttentionMemory (keys projected once per batch of sources) and attentionDecodeStep (rows of
 * one source scored against that source's keys only, up to its length).
 */
import { additiveScoresBackwardKernel, additiveScoresKernel, getBackend } from '../../engine/backend.js';
import { gemm } from '../../engine/gemm.js';
import { initXavierUniform } from '../../engine/init.js';
import {
  Matrix, expectSameDType, expectShape, shapeOf, zero, type DType, type FloatArray,
} from '../../engine/matrix.js';
import { sumRows } from '../../engine/ops.js';
import { isRng, resolveCreateOptions, type CreateOptions } from '../../engine/create.js';
import type { Rng } from '../../engine/rng.js';

export type AttentionScore = 'additive' | 'dot' | 'general';

export interface AttentionOptions {
  score: AttentionScore;
  /** n_s: size of the decoder state that queries the source. */
  querySize: number;
  /** n_h: size of an encoder output h⟨i⟩ (2n_a for a bidirectional encoder). */
  encoderSize: number;
  /** n_att: width of the additive score's hidden layer (additive only; default querySize). */
  attentionSize?: number;
  /** Prefer `options.dtype` of createAttention; used when that is absent. */
  dtype?: DType;
}

export interface Attention {
  readonly score: AttentionScore;
  readonly querySize: number;
  readonly encoderSize: number;
  /** n_att for additive; 0 for dot and general. */
  readonly attentionSize: number;
  readonly dtype: DType;
  /** additive: W [n_att, n_s], U [n_att, n_h], b [1, n_att], v [1, n_att]; general: W_a [n_s, n_h]; dot: none. */
  readonly params: Record<string, Matrix>;
  /** Same keys and shapes as params; the backward passes accumulate into them. */
  readonly grads: Record<string, Matrix>;
}

function checkSize(op: string, name: string, n: number): void {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${op}: expected ${name} to be a positive integer, got ${n}`);
}

/**
 * A new attention layer. Initialisation: W, U, v and W_a Xavier-uniform (Glorot & Bengio 2010) from `rng`, b = 0.
 */
export function createAttention(config: AttentionOptions, options?: CreateOptions): Attention;
/** @deprecated Use `createAttention(config, { rng })`. */
export function createAttention(config: AttentionOptions, rng: Rng): Attention;
export function createAttention(config: AttentionOptions, second?: CreateOptions | Rng): Attention {
  const op = 'createAttention';
  const { score, querySize, encoderSize } = config;
  const { rng, dtype } = resolveCreateOptions(op, isRng(second) ? { rng: second } : second, config.dtype);
  checkSize(op, 'querySize', querySize);
  checkSize(op, 'encoderSize', encoderSize);
  const params: Record<string, Matrix> = {};
  let attentionSize = 0;
  if (score === 'additive') {
    attentionSize = config.attentionSize ?? querySize;
    checkSize(op, 'attentionSize', attentionSize);
    params.W = initXavierUniform(Matrix.zeros(attentionSize, querySize, dtype), rng);
    params.U = initXavierUniform(Matrix.zeros(attentionSize, encoderSize, dtype), rng);
    params.b = Matrix.zeros(1, attentionSize, dtype);
    params.v = initXavierUniform(Matrix.zeros(1, attentionSize, dtype), rng);
  } else if (score === 'general') {
    params.W_a = initXavierUniform(Matrix.zeros(querySize, encoderSize, dtype), rng);
  } else if (score === 'dot') {
    if (querySize !== encoderSize) {
      throw new Error(`${op}: the dot score needs querySize = encoderSize, got ${querySize} and ${encoderSize}`);
    }
  } else {
    throw new Error(`${op}: expected score 'additive', 'dot' or 'general', got '${score as string}'`);
  }
  const grads: Record<string, Matrix> = {};
  for (const [name, p] of Object.entries(params)) grads[name] = Matrix.zeros(p.rows, p.cols, dtype);
  return { score, querySize, encoderSize, attentionSize, dtype, params, grads };
}

/** Zero every gradient buffer of the layer (backward passes accumulate). */
export function zeroAttentionGrads(layer: Attention): void {
  for (const g of Object.values(layer.grads)) zero(g);
}

/** Buffers of one (T_x, T_y, B): the caches of every decoder step and the scratch of the backward pass. */
export interface AttentionWorkspace {
  readonly layer: Attention;
  readonly srcSteps: number;
  readonly tgtSteps: number;
  readonly batch: number;
  /** α of every decoder step: row t·B + b holds α⟨t, 0…T_x−1⟩ of batch row b. [T_y·B, T_x] */
  readonly alpha: Matrix;
  /** K = H·Uᵀ + b [T_x·B, n_att] (additive), H·W_aᵀ [T_x·B, n_s] (general); [0, 0] for dot. */
  readonly keys: Matrix;
  /** dL/dK accumulated over the decoder steps (same shape as keys). */
  readonly dKeys: Matrix;
  /** Copies of the queries s⟨t−1⟩, one [B, n_s] view per decoder step. */
  readonly querySteps: Matrix[];
  /** Additive only: tanh(W s⟨t−1⟩ + K⟨i⟩), rows (t·T_x + i)·B + b. [T_y·T_x·B, n_att] */
  readonly hidden: Matrix;
  /** Additive scratch: W s [B, n_att] in forward, dL/d(W s) in backward. */
  readonly queryProj: Matrix;
  /** Scratch dL/de of one step, [B, T_x] (row b: batch row b over the source positions). */
  readonly dScores: Matrix;
  /** Additive: the strided views one batch row's score kernel call reads and writes (refilled, never reallocated). */
  readonly rowViews: AdditiveRowViews;
  /** Source mask as bytes, index i·B + b (1 = valid). */
  readonly mask: Uint8Array;
  /** The encoder outputs of the current sequence (set by attentionKeysForward). */
  encoder: Matrix | null;
}

export function createAttentionWorkspace(layer: Attention, srcSteps: number, tgtSteps: number, batch: number): AttentionWorkspace {
  const op = 'createAttentionWorkspace';
  checkSize(op, 'srcSteps (T_x)', srcSteps);
  checkSize(op, 'tgtSteps (T_y)', tgtSteps);
  checkSize(op, 'batch', batch);
  const { dtype } = layer;
  const keyWidth = layer.score === 'additive' ? layer.attentionSize : layer.score === 'general' ? layer.querySize : 0;
  const keyRows = keyWidth === 0 ? 0 : srcSteps * batch;
  const queries = Matrix.zeros(tgtSteps * batch, layer.querySize, dtype);
  const querySteps: Matrix[] = [];
  for (let t = 0; t < tgtSteps; t++) querySteps.push(queries.rowView(t * batch, batch));
  const additive = layer.score === 'additive';
  return {
    layer, srcSteps, tgtSteps, batch,
    alpha: Matrix.zeros(tgtSteps * batch, srcSteps, dtype),
    keys: Matrix.zeros(keyRows, keyWidth, dtype),
    dKeys: Matrix.zeros(keyRows, keyWidth, dtype),
    querySteps,
    hidden: additive ? Matrix.zeros(tgtSteps * srcSteps * batch, layer.attentionSize, dtype) : Matrix.zeros(0, 0, dtype),
    queryProj: additive ? Matrix.zeros(batch, layer.attentionSize, dtype) : Matrix.zeros(0, 0, dtype),
    dScores: Matrix.zeros(batch, srcSteps, dtype),
    rowViews: {
      query: { data: queries.data, offset: 0, stride: 0 }, keys: { data: queries.data, offset: 0, stride: 0 },
      hidden: { data: queries.data, offset: 0, stride: 0 }, scores: { data: queries.data, offset: 0, stride: 0 },
    },
    mask: new Uint8Array(srcSteps * batch),
    encoder: null,
  };
}

/** The workspace `ws` when it fits (layer, T_x, T_y, B), else a new one. */
export function ensureAttentionWorkspace(
  ws: AttentionWorkspace | null, layer: Attention, srcSteps: number, tgtSteps: number, batch: number,
): AttentionWorkspace {
  if (ws && ws.layer === layer && ws.srcSteps === srcSteps && ws.tgtSteps === tgtSteps && ws.batch === batch) return ws;
  return createAttentionWorkspace(layer, srcSteps, tgtSteps, batch);
}

/** A [T, B] 0/1 mask (1 = valid) from per-row lengths: mask[t, b] = t < lengths[b]. */
export function sourceMaskFromLengths(lengths: readonly number[], steps: number, dtype: DType = 'float32'): Matrix {
  const mask = Matrix.zeros(steps, lengths.length, dtype);
  lengths.forEach((len, b) => {
    if (!Number.isInteger(len) || len < 0 || len > steps) {
      throw new Error(`sourceMaskFromLengths: expected lengths in [0, ${steps}], got ${len} for row ${b}`);
    }
    for (let t = 0; t < len; t++) mask.set(t, b, 1);
  });
  return mask;
}

/** Copy a 0/1 matrix into bytes, checking every entry. */
export function readAttentionMask(op: string, name: string, mask: Matrix, rows: number, cols: number, out: Uint8Array): void {
  expectShape(op, name, mask, rows, cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = mask.get(r, c);
      if (v !== 0 && v !== 1) throw new Error(`${op}: expected ${name} entries to be 0 or 1, got ${v} at [${r}, ${c}]`);
      out[r * cols + c] = v;
    }
  }
}

/**
 * Sequence-level forward, once per batch before the decoder steps: remembers H and the source mask,
 * projects the keys with one GEMM (K = H·Uᵀ + b, or H·W_aᵀ) and zeroes their gradient accumulator.
 *   H [T_x·B, n_h] time-major (row i·B + b is h⟨i⟩ of batch row b); srcMask [T_x, B], 1 = valid, 0 = padding.
 */
export function attentionKeysForward(ws: AttentionWorkspace, encoderOutputs: Matrix, srcMask: Matrix): void {
  const op = 'attentionKeysForward';
  const { layer, srcSteps, batch } = ws;
  expectShape(op, 'encoder outputs H', encoderOutputs, srcSteps * batch, layer.encoderSize);
  expectSameDType(op, ws.alpha, encoderOutputs);
  readAttentionMask(op, 'source mask', srcMask, srcSteps, batch, ws.mask);
  ws.encoder = encoderOutputs;
  if (layer.score === 'additive') {
    gemm(ws.keys, encoderOutputs, layer.params.U, false, true);
    addRowVector(ws.keys, layer.params.b);
  } else if (layer.score === 'general') {
    gemm(ws.keys, encoderOutputs, layer.params.W_a, false, true);
  }
  zero(ws.dKeys);
}

function addRowVector(x: Matrix, row: Matrix): void {
  for (let r = 0; r < x.rows; r++) {
    const o = x.offset + r * x.stride;
    for (let c = 0; c < x.cols; c++) x.data[o + c] += row.data[row.offset + c];
  }
}

function checkStep(op: string, ws: AttentionWorkspace, t: number): Matrix {
  if (!Number.isInteger(t) || t < 0 || t >= ws.tgtSteps) {
    throw new Error(`${op}: expected decoder step t in [0, ${ws.tgtSteps}), got ${t}`);
  }
  if (ws.encoder === null) throw new Error(`${op}: call attentionKeysForward before the decoder steps`);
  return ws.encoder;
}

/**
 * Softmax of one row in place, where −Infinity marks a masked entry: masked entries get exactly 0;
 * a row with no unmasked entry becomes all zeros.
 */
export function attentionSoftmaxRow(data: FloatArray, offset: number, length: number): void {
  let max = -Infinity;
  for (let i = 0; i < length; i++) if (data[offset + i] > max) max = data[offset + i];
  if (max === -Infinity) {
    data.fill(0, offset, offset + length);
    return;
  }
  let sum = 0;
  for (let i = 0; i < length; i++) {
    const e = Math.exp(data[offset + i] - max); // exp(−∞) = 0 exactly
    data[offset + i] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let i = 0; i < length; i++) data[offset + i] *= inv;
}

/**
 * Decoder step t forward: α⟨t⟩ = softmax_i(e⟨t,i⟩) over valid i, c⟨t⟩ = Σ_i α⟨t,i⟩ h⟨i⟩.
 *   context [B, n_h] (written; must not alias query or H), query s⟨t−1⟩ [B, n_s].
 * Caches α (ws.alpha), a copy of the query and, for additive, the tanh layer. Returns context.
 */
export function attentionStepForward(context: Matrix, ws: AttentionWorkspace, t: number, query: Matrix): Matrix {
  const op = 'attentionStepForward';
  const H = checkStep(op, ws, t);
  const { layer, batch: B, srcSteps: Tx } = ws;
  expectShape(op, 'query', query, B, layer.querySize);
  expectShape(op, 'context', context, B, layer.encoderSize);
  expectSameDType(op, ws.alpha, query);
  expectSameDType(op, ws.alpha, context);
  const s = ws.querySteps[t];
  copyRows(s, query);
  const alpha = ws.alpha.data;
  const alphaBase = ws.alpha.offset + t * B * ws.alpha.stride;
  const mask = ws.mask;

  // 1. scores e⟨t,i⟩ into the α rows (−∞ where masked)
  if (layer.score === 'additive') {
    gemm(ws.queryProj, s, layer.params.W, false, true); // W s  [B, n_att]
    const scores = additiveScoresKernel(), views = ws.rowViews, v = layer.params.v;
    for (let b = 0; b < B; b++) {
      // batch row b: its query against its T_x keys (rows i·B + b of K), the tanh rows into the cache
      setRowViews(ws, t, b, ws.queryProj, ws.keys, ws.hidden);
      views.scores.data = alpha;
      views.scores.offset = alphaBase + b * ws.alpha.stride;
      scores(1, Tx, layer.attentionSize, views.query, views.keys, v, views.hidden, views.scores);
      for (let i = 0; i < Tx; i++) if (mask[i * B + b] === 0) alpha[alphaBase + b * ws.alpha.stride + i] = -Infinity;
    }
  } else {
    const K = layer.score === 'dot' ? H : ws.keys; // dot: e = s·h; general: e = s·(W_a h)
    const n = layer.querySize;
    for (let i = 0; i < Tx; i++) {
      for (let b = 0; b < B; b++) {
        const at = alphaBase + b * ws.alpha.stride + i;
        if (mask[i * B + b] === 0) { alpha[at] = -Infinity; continue; }
        const q = s.offset + b * s.stride, k = K.offset + (i * B + b) * K.stride;
        let e = 0;
        for (let j = 0; j < n; j++) e += s.data[q + j] * K.data[k + j];
        alpha[at] = e;
      }
    }
  }

  // 2. α = masked softmax per batch row; 3. c = Σ_i α_i h⟨i⟩
  const n = layer.encoderSize;
  for (let b = 0; b < B; b++) {
    const row = alphaBase + b * ws.alpha.stride;
    attentionSoftmaxRow(alpha, row, Tx);
    const c = context.offset + b * context.stride;
    context.data.fill(0, c, c + n);
    for (let i = 0; i < Tx; i++) {
      const w = alpha[row + i];
      if (w === 0) continue;
      const h = H.offset + (i * B + b) * H.stride;
      for (let j = 0; j < n; j++) context.data[c + j] += w * H.data[h + j];
    }
  }
  return context;
}

/** Batch row b's views for the score kernels: the query row b of Q, the keys rows i·B + b of K, the cache rows of step t. */
function setRowViews(ws: AttentionWorkspace, t: number, b: number, Q: Matrix, K: Matrix, A: Matrix): void {
  const { query, keys, hidden } = ws.rowViews, B = ws.batch;
  query.data = Q.data; query.offset = Q.offset + b * Q.stride; query.stride = Q.stride;
  keys.data = K.data; keys.offset = K.offset + b * K.stride; keys.stride = B * K.stride;
  hidden.data = A.data; hidden.offset = A.offset + (t * ws.srcSteps * B + b) * A.stride; hidden.stride = B * A.stride;
}

/** The mutable strided views of AttentionWorkspace.rowViews. */
interface AdditiveRowViews {
  query: { data: FloatArray; offset: number; stride: number };
  keys: { data: FloatArray; offset: number; stride: number };
  hidden: { data: FloatArray; offset: number; stride: number };
  scores: { data: FloatArray; offset: number; stride: number };
}

function copyRows(out: Matrix, src: Matrix): void {
  for (let r = 0; r < out.rows; r++) {
    const o = out.offset + r * out.stride, s = src.offset + r * src.stride;
    for (let c = 0; c < out.cols; c++) out.data[o + c] = src.data[s + c];
  }
}

/**
 * Decoder step t backward, given dc = dL/dc⟨t⟩ [B, n_h]:
 *   dα_i = dc·h⟨i⟩,  de_i = α_i (dα_i − Σ_j α_j dα_j),  dH⟨i⟩ += α_i dc
 *   additive: dz = de_i v ∗ (1 − tanh²), dK⟨i⟩ += dz, dv += Σ de_i tanh, dW += (Σ_i dz)ᵀ s, dS += (Σ_i dz) W
 *   dot:      dS += Σ_i de_i h⟨i⟩,  dH⟨i⟩ += de_i s
 *   general:  dS += Σ_i de_i K⟨i⟩,  dK⟨i⟩ += de_i s
 * Accumulates (+=) into dQuery [B, n_s] (may be null), dH [T_x·B, n_h] and the layer's grads (W, v);
 * the key projection's gradients (U, b, W_a and the rest of dH) come from attentionKeysBackward.
 */
export function attentionStepBackward(
  dQuery: Matrix | null, dEncoder: Matrix, ws: AttentionWorkspace, t: number, dContext: Matrix,
): void {
  const op = 'attentionStepBackward';
  const H = checkStep(op, ws, t);
  const { layer, batch: B, srcSteps: Tx } = ws;
  expectShape(op, 'dContext', dContext, B, layer.encoderSize);
  expectShape(op, 'dH', dEncoder, Tx * B, layer.encoderSize);
  if (dQuery) {
    expectShape(op, 'dQuery', dQuery, B, layer.querySize);
    expectSameDType(op, ws.alpha, dQuery);
  }
  expectSameDType(op, ws.alpha, dContext);
  expectSameDType(op, ws.alpha, dEncoder);
  const s = ws.querySteps[t];
  const alpha = ws.alpha.data;
  const alphaBase = ws.alpha.offset + t * B * ws.alpha.stride;
  const de = ws.dScores.data;
  const n = layer.encoderSize;

  // dα, the direct part of dH, and the softmax backward → de [B, T_x]
  for (let b = 0; b < B; b++) {
    const row = alphaBase + b * ws.alpha.stride;
    const g = dContext.offset + b * dContext.stride;
    let weighted = 0;
    for (let i = 0; i < Tx; i++) {
      const w = alpha[row + i];
      if (w === 0) { de[b * Tx + i] = 0; continue; }
      const h = H.offset + (i * B + b) * H.stride, dh = dEncoder.offset + (i * B + b) * dEncoder.stride;
      let dAlpha = 0;
      for (let j = 0; j < n; j++) {
        dAlpha += dContext.data[g + j] * H.data[h + j];
        dEncoder.data[dh + j] += w * dContext.data[g + j];
      }
      de[b * Tx + i] = dAlpha;
      weighted += w * dAlpha;
    }
    for (let i = 0; i < Tx; i++) de[b * Tx + i] = alpha[row + i] * (de[b * Tx + i] - weighted);
  }

  if (layer.score === 'additive') {
    const dqp = ws.queryProj, views = ws.rowViews;
    const scoresBackward = additiveScoresBackwardKernel();
    zero(dqp);
    for (let b = 0; b < B; b++) {
      setRowViews(ws, t, b, dqp, ws.dKeys, ws.hidden);
      views.scores.data = de;
      views.scores.offset = ws.dScores.offset + b * ws.dScores.stride;
      scoresBackward(1, Tx, layer.attentionSize, views.hidden, views.scores, layer.params.v, layer.grads.v, views.keys, views.query);
    }
    gemm(layer.grads.W, dqp, s, true, false, 1, 1); // dW += dQPᵀ s
    if (dQuery) gemm(dQuery, dqp, layer.params.W, false, false, 1, 1); // dS += dQP W
  } else {
    const dot = layer.score === 'dot';
    const K = dot ? H : ws.keys;
    const dK = dot ? dEncoder : ws.dKeys;
    const m = layer.querySize;
    for (let i = 0; i < Tx; i++) {
      for (let b = 0; b < B; b++) {
        const d = de[b * Tx + i];
        if (d === 0) continue;
        const q = s.offset + b * s.stride, k = K.offset + (i * B + b) * K.stride;
        const dk = dK.offset + (i * B + b) * dK.stride;
        const dq = dQuery ? dQuery.offset + b * dQuery.stride : 0;
        for (let j = 0; j < m; j++) {
          if (dQuery) dQuery.data[dq + j] += d * K.data[k + j];
          dK.data[dk + j] += d * s.data[q + j];
        }
      }
    }
  }
}

/**
 * Sequence-level backward, once after the last attentionStepBackward: backpropagates the accumulated
 * key gradient dK through the key projection.
 *   additive: dU += dKᵀ H, db += Σ_rows dK, dH += dK U;   general: dW_a += dKᵀ H, dH += dK W_a;   dot: nothing.
 * Accumulates into dH [T_x·B, n_h] and the layer's grads.
 */
export function attentionKeysBackward(dEncoder: Matrix, ws: AttentionWorkspace): void {
  const op = 'attentionKeysBackward';
  const { layer, srcSteps, batch } = ws;
  if (ws.encoder === null) throw new Error(`${op}: call attentionKeysForward first`);
  expectShape(op, 'dH', dEncoder, srcSteps * batch, layer.encoderSize);
  expectSameDType(op, ws.alpha, dEncoder);
  const H = ws.encoder;
  if (layer.score === 'additive') {
    gemm(layer.grads.U, ws.dKeys, H, true, false, 1, 1);
    sumRows(layer.grads.b, ws.dKeys, true);
    gemm(dEncoder, ws.dKeys, layer.params.U, false, false, 1, 1);
  } else if (layer.score === 'general') {
    gemm(layer.grads.W_a, ws.dKeys, H, true, false, 1, 1);
    gemm(dEncoder, ws.dKeys, layer.params.W_a, false, false, 1, 1);
  }
}

/** α of decoder step t as a [B, T_x] view (row b: weights of batch row b over the source positions). */
export function attentionWeights(ws: AttentionWorkspace, t: number): Matrix {
  if (!Number.isInteger(t) || t < 0 || t >= ws.tgtSteps) {
    throw new Error(`attentionWeights: expected decoder step t in [0, ${ws.tgtSteps}), got ${t}`);
  }
  return ws.alpha.rowView(t * ws.batch, ws.batch);
}


// ---- inference: many decoder rows over sources kept source-major --------------------------------

/**
 * The encoder side of batched decoding (no backward): S sources as the encoder gives them,
 * time-major (row i·S + s is h⟨i⟩ of source s), each read with a stride of S rows and only up to its
 * length (no padding work, no mask). Made once per batch of sources by `createAttentionMemory`.
 */
export interface AttentionMemory {
  readonly layer: Attention;
  readonly sources: number;
  /** T_x: the padded source length. */
  readonly srcSteps: number;
  readonly lengths: Int32Array;
  /** H [T_x·S, n_h], time-major: the caller's matrix itself (it must not change while the memory is used). */
  readonly encoder: Matrix;
  /** The keys, rows as H: U h + b (additive), W_a h (general); H itself for dot. */
  readonly keys: Matrix;
}

/**
 * The memory of S sources from time-major encoder outputs H [T_x·S, n_h] (row i·S + s) and their
 * lengths (1 ≤ length ≤ T_x): keeps H (no copy) and projects the keys with one GEMM. With `reuse`
 * (an earlier memory of this layer, no longer read) its key storage is taken where it is large
 * enough, so decoding chunk after chunk allocates once.
 */
export function createAttentionMemory(
  layer: Attention, encoderOutputs: Matrix, lengths: readonly number[], reuse: AttentionMemory | null = null,
): AttentionMemory {
  const op = 'createAttentionMemory';
  const S = lengths.length;
  checkSize(op, 'the number of sources', S);
  const Tx = encoderOutputs.rows / S;
  if (!Number.isInteger(Tx) || Tx < 1) throw new Error(`${op}: expected encoder outputs with T_x·${S} rows, got ${encoderOutputs.rows}`);
  expectShape(op, 'encoder outputs H', encoderOutputs, Tx * S, layer.encoderSize);
  lengths.forEach((len, s) => {
    if (!Number.isInteger(len) || len < 1 || len > Tx) throw new Error(`${op}: expected source lengths in [1, ${Tx}], got ${len} for source ${s}`);
  });
  const dtype = encoderOutputs.dtype;
  // a reused matrix is a view of its whole buffer (an earlier, smaller memory took only its first rows)
  const storage = (cols: number): Matrix => {
    const old = reuse?.layer === layer && reuse.keys !== reuse.encoder ? reuse.keys : null;
    return old && old.dtype === dtype && old.cols === cols && old.stride === cols && old.data.length >= S * Tx * cols
      ? new Matrix(S * Tx, cols, old.data) : Matrix.zeros(S * Tx, cols, dtype);
  };
  let keys = encoderOutputs;
  if (layer.score === 'additive') {
    keys = storage(layer.attentionSize);
    gemm(keys, encoderOutputs, layer.params.U, false, true);
    addRowVector(keys, layer.params.b);
  } else if (layer.score === 'general') {
    keys = storage(layer.querySize);
    gemm(keys, encoderOutputs, layer.params.W_a, false, true);
  }
  return { layer, sources: S, srcSteps: Tx, lengths: Int32Array.from(lengths), encoder: encoderOutputs, keys };
}

/** Buffers of `attentionDecodeStep` for up to `rows` decoder rows (made once, reused every step). */
export interface AttentionDecodeScratch {
  readonly rows: number;
  /** W s of every row (additive). [rows, n_att] */
  readonly queryProj: Matrix;
  /** e, then α, of every row over its source's positions. [rows, T_x] */
  readonly alpha: Matrix;
  readonly views: AdditiveRowViews;
}

/** Scratch for up to `rows` decoder rows over memories of up to `srcSteps` positions per source. */
export function createAttentionDecodeScratch(layer: Attention, rows: number, srcSteps: number): AttentionDecodeScratch {
  checkSize('createAttentionDecodeScratch', 'rows', rows);
  checkSize('createAttentionDecodeScratch', 'srcSteps', srcSteps);
  const dtype = layer.dtype;
  const queryProj = Matrix.zeros(layer.score === 'additive' ? rows : 0, layer.attentionSize, dtype);
  const view = () => ({ data: queryProj.data, offset: 0, stride: 0 });
  return {
    rows, queryProj, alpha: Matrix.zeros(rows, srcSteps, dtype),
    views: { query: view(), keys: view(), hidden: view(), scores: view() },
  };
}

/**
 * One decoder step of attention for `rows` rows, row r attending to source rowSources[r] of the
 * memory (rows of one source consecutive, as a beam's hypotheses are): the same α and c as
 * attentionStepForward over that source alone (its positions i < length), without the backward's
 * caches. The additive score runs as one kernel call per source (its rows against its keys), the
 * context c = α·H_s as one GEMM per source.
 *   context [≥ rows, n_h] (rows 0 … rows−1 written), query s⟨t−1⟩ [≥ rows, n_s]; α stays in scratch.alpha.
 */
export function attentionDecodeStep(
  context: Matrix, memory: AttentionMemory, query: Matrix, rowSources: Int32Array, rows: number, scratch: AttentionDecodeScratch,
): void {
  const op = 'attentionDecodeStep';
  const { layer, lengths } = memory;
  if (!Number.isInteger(rows) || rows < 0 || rows > scratch.rows || rows > query.rows || rows > context.rows || rows > rowSources.length) {
    throw new Error(`${op}: expected rows in [0, ${Math.min(scratch.rows, query.rows, context.rows, rowSources.length)}], got ${rows}`);
  }
  if (memory.srcSteps > scratch.alpha.cols) throw new Error(`${op}: expected a scratch for ≥ ${memory.srcSteps} source positions, got ${scratch.alpha.cols}`);
  if (query.cols !== layer.querySize || context.cols !== layer.encoderSize) {
    throw new Error(`${op}: expected query [·, ${layer.querySize}] and context [·, ${layer.encoderSize}], got ${shapeOf(query)} and ${shapeOf(context)}`);
  }
  expectSameDType(op, memory.encoder, query);
  expectSameDType(op, memory.encoder, context);
  const additive = layer.score === 'additive';
  const alpha = scratch.alpha, views = scratch.views, K = memory.keys, H = memory.encoder, qp = scratch.queryProj;
  const S = memory.sources; // source s: rows s, S + s, 2S + s, … of H and K
  const scores = additiveScoresKernel(), product = getBackend().gemm; // raw kernels: no Matrix views per step
  if (additive && rows > 0) {
    const W = layer.params.W; // W s  [rows, n_att]
    product(rows, layer.attentionSize, layer.querySize, 1, query.data, query.offset, query.stride, false,
      W.data, W.offset, W.stride, true, 0, qp.data, qp.offset, qp.stride);
  }
  for (let r0 = 0; r0 < rows;) {
    const s = rowSources[r0];
    if (!Number.isInteger(s) || s < 0 || s >= memory.sources) throw new Error(`${op}: expected row sources in [0, ${memory.sources}), got ${s} for row ${r0}`);
    let r1 = r0 + 1;
    while (r1 < rows && rowSources[r1] === s) r1++;
    const L = lengths[s], keyRow = K.offset + s * K.stride, keyStride = S * K.stride;
    if (additive) {
      const q = views.query, k = views.keys, e = views.scores;
      q.data = qp.data; q.offset = qp.offset + r0 * qp.stride; q.stride = qp.stride;
      k.data = K.data; k.offset = keyRow; k.stride = keyStride;
      e.data = alpha.data; e.offset = alpha.offset + r0 * alpha.stride; e.stride = alpha.stride;
      scores(r1 - r0, L, layer.attentionSize, q, k, layer.params.v, null, e);
    } else {
      for (let r = r0; r < r1; r++) {
        const q = query.offset + r * query.stride, a = alpha.offset + r * alpha.stride;
        for (let i = 0; i < L; i++) {
          const k = keyRow + i * keyStride;
          let e = 0;
          for (let j = 0; j < layer.querySize; j++) e += query.data[q + j] * K.data[k + j];
          alpha.data[a + i] = e;
        }
      }
    }
    for (let r = r0; r < r1; r++) attentionSoftmaxRow(alpha.data, alpha.offset + r * alpha.stride, L);
    // c = α·H_s for the group's rows: [r1 − r0, L]·[L, n_h]
    product(r1 - r0, layer.encoderSize, L, 1, alpha.data, alpha.offset + r0 * alpha.stride, alpha.stride, false,
      H.data, H.offset + s * H.stride, S * H.stride, false, 0, context.data, context.offset + r0 * context.stride, context.stride);
    r0 = r1;
  }
}
