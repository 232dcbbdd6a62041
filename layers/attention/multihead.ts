/**
 * Scaled dot-product and multi-head attention (Vaswani et al. 2017), positional encodings.
 *
 * Layout: time-major, like every sequence in seqgrad and like PyTorch's nn.MultiheadAttention with
 * its default batch_first=False: a sequence of T steps of batch B is one [T·B, D] matrix, row t·B + b.
 *
 *   Attention(Q, K, V) = softmax(Q Kᵀ / √d_k + M) V, per batch row b:
 *     Q_b [T_q, d_k], K_b [T_k, d_k], V_b [T_k, d_v] → out_b [T_q, d_v]; P_b = softmax(...) [T_q, T_k]
 *   M is 0 where attention is allowed and −∞ where a mask forbids it; a masked entry of P is exactly 0,
 *   and a query row with every key masked gets P = 0 and output 0 (PyTorch would give NaN there).
 *
 *   MultiHead(Q, K, V) = Concat(head_1 … head_h) W_oᵀ + b_o,
 *     head_j = Attention(Q W_qᵀ + b_q, K W_kᵀ + b_k, V W_vᵀ + b_v) restricted to columns [j·d, (j+1)·d),
 *     d = E / h; W_q, W_k, W_v, W_o [E, E], biases [1, E].
 *
 * Masks are 0/1 matrices (1 = allowed, the seqgrad convention for every mask):
 *   keyPaddingMask [T_k, B]: 1 = a real key, 0 = padding. PyTorch's key_padding_mask (N, S) is its
 *     transposed negation (True = ignore).
 *   attnMask [T_q, T_k]: 1 = query q may attend key k (causalMask(T) for a decoder). PyTorch's boolean
 *     attn_mask is its negation.
 *
 * Backward passes accumulate (+=) into the input gradients and the parameter gradients. The inputs
 * must stay unchanged between forward and backward (the workspace keeps references).
 */
import { gemm, gemmBatched } from '../../engine/gemm.js';
import { initNormal, initUniform } from '../../engine/init.js';
import {
  Matrix, expectSameDType, expectShape, zero, type DType,
} from '../../engine/matrix.js';
import { addBias, sumRows } from '../../engine/ops.js';
import { isRng, resolveCreateOptions, type CreateOptions } from '../../engine/create.js';
import type { Rng } from '../../engine/rng.js';
import { attentionSoftmaxRow, readAttentionMask } from './attention.js';

export interface AttentionMasks {
  /** [T_k, B], 1 = real key, 0 = padding (never attended). */
  keyPaddingMask?: Matrix;
  /** [T_q, T_k], 1 = query q may attend key k. */
  attnMask?: Matrix;
}

/** The [T, T] causal mask: 1 on and below the diagonal (query t sees keys 0 … t), 0 above. */
export function causalMask(steps: number, options?: { dtype?: DType }): Matrix;
/** @deprecated Use `causalMask(steps, { dtype })`. */
export function causalMask(steps: number, dtype: DType): Matrix;
export function causalMask(steps: number, second?: { dtype?: DType } | DType): Matrix {
  const dtype = (typeof second === 'string' ? second : second?.dtype) ?? 'float32';
  const m = Matrix.zeros(steps, steps, dtype);
  for (let q = 0; q < steps; q++) for (let k = 0; k <= q; k++) m.set(q, k, 1);
  return m;
}

// ---------------------------------------------------------------------------------------------
// Scaled dot-product attention, over one or several heads at once
// ---------------------------------------------------------------------------------------------

/**
 * The buffers of scaled dot-product attention for (T_q, T_k, B) and h heads. Head j reads columns
 * [j·d, (j+1)·d) of q, k, v and writes those of out (h = 1: the whole width). Every product of every
 * head and batch row is one batched GEMM (engine/gemm.ts gemmBatched), the softmax one pass over all rows.
 */
export interface SdpaWorkspace {
  readonly queryLen: number;
  readonly keyLen: number;
  readonly batch: number;
  /** h (1 unless made for multi-head attention). */
  readonly heads: number;
  /** P of every head and batch row: rows (j·B + b)·T_q … (j·B + b)·T_q + T_q − 1 hold P of head j, batch row b. [h·B·T_q, T_k] */
  readonly attn: Matrix;
  /** Backward scratch: dL/dP then dL/dScores, laid out as attn. [h·B·T_q, T_k] */
  readonly dProbs: Matrix;
  /** Masks as bytes: key padding (index k·B + b) and attention mask (index q·T_k + k). */
  readonly keyMask: Uint8Array;
  readonly attnMask: Uint8Array;
}

function checkPositive(op: string, name: string, n: number): void {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${op}: expected ${name} to be a positive integer, got ${n}`);
}

/** The sizes of a scaled dot-product workspace; `attn` [h·B·T_q, T_k] may be given (a view of a bigger cache). */
export interface SdpaWorkspaceConfig {
  queryLen: number;
  keyLen: number;
  batch: number;
  /** h, default 1. */
  heads?: number;
  attn?: Matrix;
}

/** Buffers of scaled dot-product attention for (T_q, T_k, B, h), in `options.dtype` (default float32). */
export function createSdpaWorkspace(config: SdpaWorkspaceConfig, options?: { dtype?: DType }): SdpaWorkspace;
/** @deprecated Use `createSdpaWorkspace({ queryLen, keyLen, batch, attn }, { dtype })`. */
export function createSdpaWorkspace(queryLen: number, keyLen: number, batch: number, dtype?: DType, attn?: Matrix): SdpaWorkspace;
export function createSdpaWorkspace(
  first: SdpaWorkspaceConfig | number, second?: { dtype?: DType } | number, oldBatch?: number, oldDType?: DType, oldAttn?: Matrix,
): SdpaWorkspace {
  const op = 'createSdpaWorkspace';
  const { queryLen, keyLen, batch, attn, heads = 1 } = typeof first === 'number'
    ? { queryLen: first, keyLen: second as number, batch: oldBatch as number, attn: oldAttn } : first;
  const dtype = (typeof first === 'number' ? oldDType : (second as { dtype?: DType } | undefined)?.dtype) ?? attn?.dtype ?? 'float32';
  checkPositive(op, 'queryLen (T_q)', queryLen);
  checkPositive(op, 'keyLen (T_k)', keyLen);
  checkPositive(op, 'batch', batch);
  checkPositive(op, 'heads', heads);
  if (attn) expectShape(op, 'attn', attn, heads * batch * queryLen, keyLen);
  return {
    queryLen, keyLen, batch, heads,
    attn: attn ?? Matrix.zeros(heads * batch * queryLen, keyLen, dtype),
    dProbs: Matrix.zeros(heads * batch * queryLen, keyLen, dtype),
    keyMask: new Uint8Array(keyLen * batch),
    attnMask: new Uint8Array(queryLen * keyLen),
  };
}

/** Read the masks into the workspace's bytes (all ones when absent). */
function loadMasks(op: string, ws: SdpaWorkspace, masks: AttentionMasks): void {
  if (masks.keyPaddingMask) readAttentionMask(op, 'keyPaddingMask', masks.keyPaddingMask, ws.keyLen, ws.batch, ws.keyMask);
  else ws.keyMask.fill(1);
  if (masks.attnMask) readAttentionMask(op, 'attnMask', masks.attnMask, ws.queryLen, ws.keyLen, ws.attnMask);
  else ws.attnMask.fill(1);
}

function checkSdpaInputs(op: string, ws: SdpaWorkspace, q: Matrix, k: Matrix, v: Matrix): void {
  const { queryLen: Tq, keyLen: Tk, batch: B, heads } = ws;
  if (q.rows !== Tq * B) throw new Error(`${op}: expected q to have T_q·B = ${Tq * B} rows, got [${q.rows}, ${q.cols}]`);
  expectShape(op, 'k', k, Tk * B, q.cols);
  if (v.rows !== Tk * B) throw new Error(`${op}: expected v to have T_k·B = ${Tk * B} rows, got [${v.rows}, ${v.cols}]`);
  if (q.cols % heads !== 0 || v.cols % heads !== 0) throw new Error(`${op}: expected the widths of q and v to be multiples of the ${heads} heads, got ${q.cols} and ${v.cols}`);
  expectSameDType(op, ws.attn, q);
  expectSameDType(op, ws.attn, k);
  expectSameDType(op, ws.attn, v);
}

/**
 * The [T, d] view of head 0, batch row 0 of a time-major [T·B, h·d] matrix, and the batch steps that move
 * it to head j (j·d columns) and batch row b (b rows of the sequence: one matrix row).
 */
function headView(x: Matrix, batch: number, heads: number): Matrix {
  return new Matrix(x.rows / batch, x.cols / heads, x.data, x.offset, x.stride * batch);
}
const headSteps = (x: Matrix, heads: number): [number, number] => [x.cols / heads, x.stride];
/** P's [T_q, T_k] block of head 0, batch row 0, and its steps (B·T_q rows per head, T_q per batch row). */
function probsView(p: Matrix, ws: SdpaWorkspace): Matrix {
  return new Matrix(ws.queryLen, ws.keyLen, p.data, p.offset, p.stride);
}
const probsSteps = (p: Matrix, ws: SdpaWorkspace): [number, number] => [ws.batch * ws.queryLen * p.stride, ws.queryLen * p.stride];

/**
 * out = softmax(Q Kᵀ/√d_k + M) V per head and batch row, time-major.
 *   out [T_q·B, h·d_v] (written; must not overlap q, k, v), q [T_q·B, h·d_k], k [T_k·B, h·d_k], v [T_k·B, h·d_v];
 *   head j uses column block j of each (ws.heads = h; 1: the whole width).
 * The scores of every head and batch row are one batched GEMM, the products P V another. P is cached
 * in ws.attn for the backward pass (and for inspection).
 */
export function scaledDotProductAttentionForward(
  out: Matrix, ws: SdpaWorkspace, q: Matrix, k: Matrix, v: Matrix, masks: AttentionMasks = {},
): Matrix {
  const op = 'scaledDotProductAttentionForward';
  checkSdpaInputs(op, ws, q, k, v);
  expectShape(op, 'out', out, ws.queryLen * ws.batch, v.cols);
  expectSameDType(op, ws.attn, out);
  loadMasks(op, ws, masks);
  const { batch: B, heads: h } = ws;
  const P = ws.attn;
  const counts: [number, number] = [h, B];
  const scale = 1 / Math.sqrt(q.cols / h);
  // scores Q_jb K_jbᵀ / √d_k for every head j and batch row b
  gemmBatched(probsView(P, ws), headView(q, B, h), headView(k, B, h),
    { counts, c: probsSteps(P, ws), a: headSteps(q, h), b: headSteps(k, h) }, false, true, scale);
  maskedSoftmaxRows(ws);
  // out_jb = P_jb V_jb
  gemmBatched(headView(out, B, h), probsView(P, ws), headView(v, B, h),
    { counts, c: headSteps(out, h), a: probsSteps(P, ws), b: headSteps(v, h) });
  return out;
}

/**
 * Every row of ws.attn: the softmax over its allowed entries, 0 at the masked ones (a fully masked row
 * is all 0) — attentionSoftmaxRow's result with the masked scores at −∞, bit for bit, fused into one
 * pass for the max and one for the exponentials, which skips the masked entries (half of them under a
 * causal mask): the softmax is the largest cost of attention besides its GEMMs.
 */
function maskedSoftmaxRows(ws: SdpaWorkspace): void {
  const { queryLen: Tq, keyLen: Tk, batch: B, keyMask, attnMask } = ws;
  const P = ws.attn, pd = P.data;
  for (let row = 0; row < P.rows; row++) {
    const i = row % Tq, b = Math.floor(row / Tq) % B;
    const o = P.offset + row * P.stride, a = i * Tk;
    let max = -Infinity;
    for (let j = 0; j < Tk; j++) {
      if (keyMask[j * B + b] === 0 || attnMask[a + j] === 0) pd[o + j] = -Infinity;
      else if (pd[o + j] > max) max = pd[o + j];
    }
    if (max === -Infinity) {
      pd.fill(0, o, o + Tk);
      continue;
    }
    let sum = 0;
    for (let j = 0; j < Tk; j++) {
      const x = pd[o + j];
      if (x === -Infinity) {
        pd[o + j] = 0;
      } else {
        const e = Math.exp(x - max);
        pd[o + j] = e;
        sum += e;
      }
    }
    const inv = 1 / sum;
    for (let j = 0; j < Tk; j++) pd[o + j] *= inv;
  }
}

/**
 * Backward of scaledDotProductAttentionForward, given dOut [T_q·B, h·d_v], per head j and batch row b:
 *   dV += Pᵀ dO,  dP = dO Vᵀ,  dS = P ∗ (dP − rowsum(P ∗ dP)) / √d_k,  dQ += dS K,  dK += dSᵀ Q
 * (each product one batched GEMM over every head and batch row). Accumulates into dq, dk, dv (shapes of
 * q, k, v); they may be the same matrix (self-attention) but must not overlap q, k, v or dOut. Masked
 * entries have P = 0 and so get no gradient.
 */
export function scaledDotProductAttentionBackward(
  dq: Matrix, dk: Matrix, dv: Matrix, ws: SdpaWorkspace, dOut: Matrix, q: Matrix, k: Matrix, v: Matrix,
): void {
  const op = 'scaledDotProductAttentionBackward';
  checkSdpaInputs(op, ws, q, k, v);
  expectShape(op, 'dOut', dOut, ws.queryLen * ws.batch, v.cols);
  expectShape(op, 'dq', dq, q.rows, q.cols);
  expectShape(op, 'dk', dk, k.rows, k.cols);
  expectShape(op, 'dv', dv, v.rows, v.cols);
  const { batch: B, heads: h } = ws;
  const counts: [number, number] = [h, B];
  const scale = 1 / Math.sqrt(q.cols / h);
  const P = probsView(ws.attn, ws), dS = probsView(ws.dProbs, ws);
  const pSteps = probsSteps(ws.attn, ws), sSteps = probsSteps(ws.dProbs, ws);
  const dO = headView(dOut, B, h), dOSteps = headSteps(dOut, h);
  gemmBatched(headView(dv, B, h), P, dO, { counts, c: headSteps(dv, h), a: pSteps, b: dOSteps }, true, false, 1, 1);
  gemmBatched(dS, dO, headView(v, B, h), { counts, c: sSteps, a: dOSteps, b: headSteps(v, h) }, false, true);
  softmaxBackwardRows(ws, scale);
  gemmBatched(headView(dq, B, h), dS, headView(k, B, h), { counts, c: headSteps(dq, h), a: sSteps, b: headSteps(k, h) }, false, false, 1, 1);
  gemmBatched(headView(dk, B, h), dS, headView(q, B, h), { counts, c: headSteps(dk, h), a: sSteps, b: headSteps(q, h) }, true, false, 1, 1);
}

/** ws.dProbs row by row: dP → dS = P ∗ (dP − rowsum(P ∗ dP)) · scale. */
function softmaxBackwardRows(ws: SdpaWorkspace, scale: number): void {
  const P = ws.attn, dS = ws.dProbs, Tk = ws.keyLen;
  const pd = P.data, sd = dS.data;
  for (let row = 0; row < P.rows; row++) {
    const p = P.offset + row * P.stride, d = dS.offset + row * dS.stride;
    let weighted = 0;
    for (let j = 0; j < Tk; j++) weighted += pd[p + j] * sd[d + j];
    for (let j = 0; j < Tk; j++) sd[d + j] = pd[p + j] * (sd[d + j] - weighted) * scale;
  }
}

// ---------------------------------------------------------------------------------------------
// Multi-head attention
// ---------------------------------------------------------------------------------------------

export interface MultiheadAttentionOptions {
  /** E: model width (query, key and value inputs and the output all have E columns). */
  embedDim: number;
  /** h: number of heads; must divide E. */
  numHeads: number;
  dtype?: DType;
}

export interface MultiheadAttention {
  readonly embedDim: number;
  readonly numHeads: number;
  /** d = E / h. */
  readonly headDim: number;
  readonly dtype: DType;
  /** W_q, W_k, W_v, W_o [E, E]; b_q, b_k, b_v, b_o [1, E]. Head j uses rows [j·d, (j+1)·d) of W_q, W_k, W_v. */
  readonly params: Record<'W_q' | 'W_k' | 'W_v' | 'W_o' | 'b_q' | 'b_k' | 'b_v' | 'b_o', Matrix>;
  readonly grads: Record<'W_q' | 'W_k' | 'W_v' | 'W_o' | 'b_q' | 'b_k' | 'b_v' | 'b_o', Matrix>;
}

const MHA_NAMES = ['W_q', 'W_k', 'W_v', 'W_o', 'b_q', 'b_k', 'b_v', 'b_o'] as const;

/**
 * A new multi-head attention layer, initialised like PyTorch's nn.MultiheadAttention: the packed
 * [W_q; W_k; W_v] (3E × E) Xavier-uniform, U(±√(6 / 4E)); W_o U(±1/√E) (nn.Linear's default); biases 0.
 */
export function createMultiheadAttention(config: MultiheadAttentionOptions, options?: CreateOptions): MultiheadAttention;
/** @deprecated Use `createMultiheadAttention(config, { rng })`. */
export function createMultiheadAttention(config: MultiheadAttentionOptions, rng: Rng): MultiheadAttention;
export function createMultiheadAttention(config: MultiheadAttentionOptions, second?: CreateOptions | Rng): MultiheadAttention {
  const op = 'createMultiheadAttention';
  const { embedDim: E, numHeads } = config;
  const { rng, dtype } = resolveCreateOptions(op, isRng(second) ? { rng: second } : second, config.dtype);
  checkPositive(op, 'embedDim', E);
  checkPositive(op, 'numHeads', numHeads);
  if (E % numHeads !== 0) throw new Error(`${op}: expected numHeads to divide embedDim, got embedDim ${E} and numHeads ${numHeads}`);
  const inLimit = Math.sqrt(6 / (4 * E));
  const outLimit = 1 / Math.sqrt(E);
  const params = {
    W_q: initUniform(Matrix.zeros(E, E, dtype), rng, -inLimit, inLimit),
    W_k: initUniform(Matrix.zeros(E, E, dtype), rng, -inLimit, inLimit),
    W_v: initUniform(Matrix.zeros(E, E, dtype), rng, -inLimit, inLimit),
    W_o: initUniform(Matrix.zeros(E, E, dtype), rng, -outLimit, outLimit),
    b_q: Matrix.zeros(1, E, dtype),
    b_k: Matrix.zeros(1, E, dtype),
    b_v: Matrix.zeros(1, E, dtype),
    b_o: Matrix.zeros(1, E, dtype),
  };
  const grads = {} as MultiheadAttention['grads'];
  for (const name of MHA_NAMES) grads[name] = Matrix.zeros(params[name].rows, params[name].cols, dtype);
  return { embedDim: E, numHeads, headDim: E / numHeads, dtype, params, grads };
}

export function zeroMultiheadAttentionGrads(mha: MultiheadAttention): void {
  for (const name of MHA_NAMES) zero(mha.grads[name]);
}

export interface MhaWorkspace {
  readonly mha: MultiheadAttention;
  readonly queryLen: number;
  readonly keyLen: number;
  readonly batch: number;
  /** Attention weights of every head: rows (j·B + b)·T_q + q hold P of head j, batch row b. [h·B·T_q, T_k] */
  readonly attn: Matrix;
  /** The scaled dot-product workspace of all h heads at once (its attn is `attn`). */
  readonly sdpa: SdpaWorkspace;
  /** Projections Q W_qᵀ + b_q [T_q·B, E], K W_kᵀ + b_k, V W_vᵀ + b_v [T_k·B, E] and their gradients. */
  readonly qProj: Matrix; readonly kProj: Matrix; readonly vProj: Matrix;
  readonly dqProj: Matrix; readonly dkProj: Matrix; readonly dvProj: Matrix;
  /** Concatenated head outputs [T_q·B, E] and its gradient. */
  readonly concat: Matrix; readonly dConcat: Matrix;
  /** Inputs of the last forward call. */
  inputs: { query: Matrix; key: Matrix; value: Matrix } | null;
}

export function createMhaWorkspace(mha: MultiheadAttention, queryLen: number, keyLen: number, batch: number): MhaWorkspace {
  const op = 'createMhaWorkspace';
  checkPositive(op, 'queryLen (T_q)', queryLen);
  checkPositive(op, 'keyLen (T_k)', keyLen);
  checkPositive(op, 'batch', batch);
  const { embedDim: E, numHeads, dtype } = mha;
  const sdpa = createSdpaWorkspace({ queryLen, keyLen, batch, heads: numHeads }, { dtype });
  const q = (): Matrix => Matrix.zeros(queryLen * batch, E, dtype);
  const k = (): Matrix => Matrix.zeros(keyLen * batch, E, dtype);
  return {
    mha, queryLen, keyLen, batch, attn: sdpa.attn, sdpa,
    qProj: q(), kProj: k(), vProj: k(), dqProj: q(), dkProj: k(), dvProj: k(),
    concat: q(), dConcat: q(), inputs: null,
  };
}

/** The workspace `ws` when it fits (mha, T_q, T_k, B), else a new one. */
export function ensureMhaWorkspace(ws: MhaWorkspace | null, mha: MultiheadAttention, queryLen: number, keyLen: number, batch: number): MhaWorkspace {
  if (ws && ws.mha === mha && ws.queryLen === queryLen && ws.keyLen === keyLen && ws.batch === batch) return ws;
  return createMhaWorkspace(mha, queryLen, keyLen, batch);
}

/**
 * out = Concat(head_1 … head_h) W_oᵀ + b_o with head_j = Attention(Q_j, K_j, V_j) (see the file comment).
 *   out [T_q·B, E] (written; must not overlap the inputs), query [T_q·B, E], key and value [T_k·B, E].
 * For self-attention pass the same matrix three times.
 */
export function multiheadAttentionForward(
  out: Matrix, ws: MhaWorkspace, query: Matrix, key: Matrix, value: Matrix, masks: AttentionMasks = {},
): Matrix {
  const op = 'multiheadAttentionForward';
  const { mha, queryLen: Tq, keyLen: Tk, batch: B } = ws;
  const { embedDim: E, params } = mha;
  expectShape(op, 'query', query, Tq * B, E);
  expectShape(op, 'key', key, Tk * B, E);
  expectShape(op, 'value', value, Tk * B, E);
  expectShape(op, 'out', out, Tq * B, E);
  for (const [name, m] of [['query', query], ['key', key], ['value', value], ['out', out]] as const) {
    if (m.dtype !== mha.dtype) throw new Error(`${op}: expected ${name} to be ${mha.dtype}, got ${m.dtype}`);
  }
  project(ws.qProj, query, params.W_q, params.b_q);
  project(ws.kProj, key, params.W_k, params.b_k);
  project(ws.vProj, value, params.W_v, params.b_v);
  scaledDotProductAttentionForward(ws.concat, ws.sdpa, ws.qProj, ws.kProj, ws.vProj, masks); // every head at once
  project(out, ws.concat, params.W_o, params.b_o);
  ws.inputs = { query, key, value };
  return out;
}

/** Y = X Wᵀ + b */
function project(y: Matrix, x: Matrix, w: Matrix, b: Matrix): void {
  gemm(y, x, w, false, true);
  addBias(y, y, b);
}

/**
 * Backward of multiheadAttentionForward, given dOut [T_q·B, E]:
 *   dW_o += dOutᵀ C, db_o += Σ dOut, dC = dOut W_o; per head the scaled dot-product backward gives
 *   dQ_p, dK_p, dV_p; then dW_q += dQ_pᵀ query, db_q += Σ dQ_p, dQuery += dQ_p W_q (likewise k, v).
 * Accumulates into dQuery, dKey, dValue (any may be null; they may be the same matrix for
 * self-attention) and the layer's grads.
 */
export function multiheadAttentionBackward(
  dQuery: Matrix | null, dKey: Matrix | null, dValue: Matrix | null, ws: MhaWorkspace, dOut: Matrix,
): void {
  const op = 'multiheadAttentionBackward';
  if (!ws.inputs) throw new Error(`${op}: call multiheadAttentionForward first`);
  const { mha, queryLen: Tq, keyLen: Tk, batch: B } = ws;
  const { embedDim: E, params, grads } = mha;
  const { query, key, value } = ws.inputs;
  expectShape(op, 'dOut', dOut, Tq * B, E);
  if (dQuery) expectShape(op, 'dQuery', dQuery, Tq * B, E);
  if (dKey) expectShape(op, 'dKey', dKey, Tk * B, E);
  if (dValue) expectShape(op, 'dValue', dValue, Tk * B, E);
  gemm(grads.W_o, dOut, ws.concat, true, false, 1, 1);
  sumRows(grads.b_o, dOut, true);
  gemm(ws.dConcat, dOut, params.W_o);
  zero(ws.dqProj);
  zero(ws.dkProj);
  zero(ws.dvProj);
  scaledDotProductAttentionBackward(ws.dqProj, ws.dkProj, ws.dvProj, ws.sdpa, ws.dConcat, ws.qProj, ws.kProj, ws.vProj);
  projectBackward(dQuery, grads.W_q, grads.b_q, ws.dqProj, query, params.W_q);
  projectBackward(dKey, grads.W_k, grads.b_k, ws.dkProj, key, params.W_k);
  projectBackward(dValue, grads.W_v, grads.b_v, ws.dvProj, value, params.W_v);
}

/** Backward of Y = X Wᵀ + b: dW += dYᵀ X, db += Σ dY, dX += dY W. */
function projectBackward(dx: Matrix | null, dw: Matrix, db: Matrix, dy: Matrix, x: Matrix, w: Matrix): void {
  gemm(dw, dy, x, true, false, 1, 1);
  sumRows(db, dy, true);
  if (dx) gemm(dx, dy, w, false, false, 1, 1);
}

/** P of head j for batch row b, a [T_q, T_k] view of ws.attn. */
export function headAttentionWeights(ws: MhaWorkspace, head: number, b: number): Matrix {
  if (!Number.isInteger(head) || head < 0 || head >= ws.mha.numHeads) {
    throw new Error(`headAttentionWeights: expected head in [0, ${ws.mha.numHeads}), got ${head}`);
  }
  if (!Number.isInteger(b) || b < 0 || b >= ws.batch) {
    throw new Error(`headAttentionWeights: expected batch row in [0, ${ws.batch}), got ${b}`);
  }
  return ws.attn.rowView((head * ws.batch + b) * ws.queryLen, ws.queryLen);
}

/**
 * The head-averaged weights PyTorch returns by default (average_attn_weights=True):
 * out [B·T_q, T_k], row b·T_q + q = (1/h) Σ_j P_j,b[q, :].
 */
export function averageAttentionWeights(out: Matrix, ws: MhaWorkspace): Matrix {
  const { numHeads } = ws.mha;
  expectShape('averageAttentionWeights', 'out', out, ws.batch * ws.queryLen, ws.keyLen);
  zero(out);
  for (let j = 0; j < numHeads; j++) {
    const block = ws.attn.rowView(j * ws.batch * ws.queryLen, ws.batch * ws.queryLen);
    for (let r = 0; r < out.rows; r++) {
      for (let c = 0; c < out.cols; c++) out.set(r, c, out.get(r, c) + block.get(r, c) / numHeads);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// PyTorch interchange
// ---------------------------------------------------------------------------------------------

/** nn.MultiheadAttention's state_dict (with kdim = vdim = embed_dim) as nested arrays. */
export interface MhaStateDict {
  /** (3E, E) = [W_q; W_k; W_v] */
  in_proj_weight: number[][];
  /** (3E) = [b_q; b_k; b_v] */
  in_proj_bias: number[];
  'out_proj.weight': number[][];
  'out_proj.bias': number[];
}

function expectArray2D(op: string, name: string, value: unknown, rows: number, cols: number): number[][] {
  const ok = Array.isArray(value) && value.length === rows
    && value.every((row) => Array.isArray(row) && row.length === cols && row.every((x) => typeof x === 'number'));
  if (!ok) {
    const got = Array.isArray(value) ? `${value.length} rows${Array.isArray(value[0]) ? ` of ${value[0].length}` : ''}` : typeof value;
    throw new Error(`${op}: expected '${name}' to be a (${rows}, ${cols}) array of numbers, got ${got}`);
  }
  return value as number[][];
}

function expectArray1D(op: string, name: string, value: unknown, n: number): number[] {
  if (!Array.isArray(value) || value.length !== n || !value.every((x) => typeof x === 'number')) {
    const got = Array.isArray(value) ? `${value.length} entries` : typeof value;
    throw new Error(`${op}: expected '${name}' to be ${n} numbers, got ${got}`);
  }
  return value as number[];
}

/** Copy PyTorch's nn.MultiheadAttention weights into `mha` (shapes are checked). */
export function loadMultiheadAttentionStateDict(mha: MultiheadAttention, state: MhaStateDict): void {
  const op = 'loadMultiheadAttentionStateDict';
  const E = mha.embedDim;
  const inW = expectArray2D(op, 'in_proj_weight', state.in_proj_weight, 3 * E, E);
  const inB = expectArray1D(op, 'in_proj_bias', state.in_proj_bias, 3 * E);
  const outW = expectArray2D(op, 'out_proj.weight', state['out_proj.weight'], E, E);
  const outB = expectArray1D(op, 'out_proj.bias', state['out_proj.bias'], E);
  const { params } = mha;
  (['W_q', 'W_k', 'W_v'] as const).forEach((name, part) => {
    for (let r = 0; r < E; r++) for (let c = 0; c < E; c++) params[name].set(r, c, inW[part * E + r][c]);
  });
  (['b_q', 'b_k', 'b_v'] as const).forEach((name, part) => {
    for (let c = 0; c < E; c++) params[name].set(0, c, inB[part * E + c]);
  });
  for (let r = 0; r < E; r++) for (let c = 0; c < E; c++) params.W_o.set(r, c, outW[r][c]);
  for (let c = 0; c < E; c++) params.b_o.set(0, c, outB[c]);
}

/** `mha`'s weights in PyTorch's nn.MultiheadAttention state_dict layout. */
export function multiheadAttentionStateDict(mha: MultiheadAttention): MhaStateDict {
  const { params } = mha;
  return {
    in_proj_weight: [...params.W_q.toArray(), ...params.W_k.toArray(), ...params.W_v.toArray()],
    in_proj_bias: [...params.b_q.toArray()[0], ...params.b_k.toArray()[0], ...params.b_v.toArray()[0]],
    'out_proj.weight': params.W_o.toArray(),
    'out_proj.bias': params.b_o.toArray()[0],
  };
}

// ---------------------------------------------------------------------------------------------
// Positional encodings
// ---------------------------------------------------------------------------------------------

/**
 * The sinusoidal table (Vaswani et al. 2017, §3.5) into out [T, d]:
 *   PE(pos, 2i) = sin(pos / 10000^(2i/d)),  PE(pos, 2i+1) = cos(pos / 10000^(2i/d)).
 * No parameters; with an odd d the last column is a sine.
 */
export function sinusoidalPositionalEncoding(out: Matrix): Matrix {
  const d = out.cols;
  for (let pos = 0; pos < out.rows; pos++) {
    for (let col = 0; col < d; col++) {
      const i2 = col - (col % 2); // 2i
      const angle = pos / Math.pow(10000, i2 / d);
      out.set(pos, col, col % 2 === 0 ? Math.sin(angle) : Math.cos(angle));
    }
  }
  return out;
}

/**
 * out[t·B + b, :] = x[t·B + b, :] + table[t, :], time-major, for t < T (the table may have more rows).
 *   out, x [T·B, d]; table [≥ T, d] (sinusoidal or learned). out may alias x.
 */
export function addPositionalForward(out: Matrix, x: Matrix, table: Matrix, batch: number): Matrix {
  const op = 'addPositionalForward';
  checkPositional(op, x, table, batch);
  expectShape(op, 'out', out, x.rows, x.cols);
  expectSameDType(op, out, x);
  expectSameDType(op, table, x);
  for (let r = 0; r < x.rows; r++) {
    const t = Math.floor(r / batch);
    const o = out.offset + r * out.stride, s = x.offset + r * x.stride, p = table.offset + t * table.stride;
    for (let c = 0; c < x.cols; c++) out.data[o + c] = x.data[s + c] + table.data[p + c];
  }
  return out;
}

/**
 * Backward of addPositionalForward: dTable[t, :] += Σ_b dOut[t·B + b, :] (learned table; null for the
 * sinusoidal one, which has no parameters), dx += dOut (null to skip).
 */
export function addPositionalBackward(dTable: Matrix | null, dx: Matrix | null, dOut: Matrix, batch: number): void {
  const op = 'addPositionalBackward';
  if (dTable) {
    checkPositional(op, dOut, dTable, batch);
    for (let r = 0; r < dOut.rows; r++) {
      const t = Math.floor(r / batch);
      const g = dOut.offset + r * dOut.stride, p = dTable.offset + t * dTable.stride;
      for (let c = 0; c < dOut.cols; c++) dTable.data[p + c] += dOut.data[g + c];
    }
  }
  if (dx) {
    expectShape(op, 'dx', dx, dOut.rows, dOut.cols);
    for (let r = 0; r < dOut.rows; r++) {
      const g = dOut.offset + r * dOut.stride, o = dx.offset + r * dx.stride;
      for (let c = 0; c < dOut.cols; c++) dx.data[o + c] += dOut.data[g + c];
    }
  }
}

function checkPositional(op: string, x: Matrix, table: Matrix, batch: number): void {
  checkPositive(op, 'batch', batch);
  if (x.rows % batch !== 0) throw new Error(`${op}: expected T·B rows with B = ${batch}, got [${x.rows}, ${x.cols}]`);
  const steps = x.rows / batch;
  if (table.cols !== x.cols || table.rows < steps) {
    throw new Error(`${op}: expected a positional table of at least [${steps}, ${x.cols}], got [${table.rows}, ${table.cols}]`);
  }
}

/** A learned positional embedding (as in BERT/GPT): one trainable row per position, nn.Embedding-style `weight`. */
export interface LearnedPositionalEmbedding {
  readonly maxLength: number;
  readonly dim: number;
  readonly params: { weight: Matrix };
  readonly grads: { weight: Matrix };
}

/** The structure of a learned positional embedding: maxLength rows of dim entries, N(0, std²) (std default 0.02). */
export interface LearnedPositionalEmbeddingConfig {
  maxLength: number;
  dim: number;
  std?: number;
}

/** weight [maxLength, dim] ~ N(0, std²) from `options.rng` (std 0.02 by default, as in GPT-2). */
export function createLearnedPositionalEmbedding(config: LearnedPositionalEmbeddingConfig, options?: CreateOptions): LearnedPositionalEmbedding;
/** @deprecated Use `createLearnedPositionalEmbedding({ maxLength, dim, std }, { rng, dtype })`. */
export function createLearnedPositionalEmbedding(maxLength: number, dim: number, rng: Rng, options?: { dtype?: DType; std?: number }): LearnedPositionalEmbedding;
export function createLearnedPositionalEmbedding(
  first: LearnedPositionalEmbeddingConfig | number, second?: CreateOptions | number, oldRng?: Rng, oldOptions: { dtype?: DType; std?: number } = {},
): LearnedPositionalEmbedding {
  const op = 'createLearnedPositionalEmbedding';
  const config = typeof first === 'number' ? { maxLength: first, dim: second as number, std: oldOptions.std } : first;
  const { maxLength, dim } = config;
  checkPositive(op, 'maxLength', maxLength);
  checkPositive(op, 'dim', dim);
  const { rng, dtype } = resolveCreateOptions(op, typeof first === 'number' ? { rng: oldRng, dtype: oldOptions.dtype } : second as CreateOptions | undefined);
  const weight = initNormal(Matrix.zeros(maxLength, dim, dtype), rng, 0, config.std ?? 0.02);
  return { maxLength, dim, params: { weight }, grads: { weight: Matrix.zeros(maxLength, dim, dtype) } };
}

// ---------------------------------------------------------------------------------------------
// One new position per call: attention over cached keys and values (incremental decoding)
// ---------------------------------------------------------------------------------------------

/**
 * The buffers of multi-head attention for one new query per row, R rows, over at most `maxKeys`
 * cached keys (layers/transformer/incremental.ts drives it). Allocated once; a call allocates nothing.
 */
export interface MhaStepWorkspace {
  readonly mha: MultiheadAttention;
  readonly rows: number;
  readonly maxKeys: number;
  /** q = x W_qᵀ + b_q; k, v likewise (self-attention: appended to the cache) [R, E]. */
  readonly q: Matrix; readonly k: Matrix; readonly v: Matrix;
  /** Concatenated head outputs [R, E]. */
  readonly concat: Matrix;
  /** Row r's keys: rows keyBase[r] + i·keyStride of the key matrix, i < keyCount[r]. */
  readonly keyBase: Int32Array; readonly keyCount: Int32Array;
  /** One row's scores then weights (float64), and one head's output accumulator. */
  readonly scores: Float64Array; readonly acc: Float64Array;
}

export function createMhaStepWorkspace(mha: MultiheadAttention, rows: number, maxKeys: number): MhaStepWorkspace {
  const op = 'createMhaStepWorkspace';
  checkPositive(op, 'rows', rows);
  checkPositive(op, 'maxKeys', maxKeys);
  const m = (): Matrix => Matrix.zeros(rows, mha.embedDim, mha.dtype);
  return {
    mha, rows, maxKeys, q: m(), k: m(), v: m(), concat: m(),
    keyBase: new Int32Array(rows), keyCount: new Int32Array(rows),
    scores: new Float64Array(maxKeys), acc: new Float64Array(mha.headDim),
  };
}

/** K = M W_kᵀ + b_k, V = M W_vᵀ + b_v (the keys and values of a fixed memory, projected once): keys, values, memory [N, E]. */
export function projectKeysValues(keys: Matrix, values: Matrix, mha: MultiheadAttention, memory: Matrix): void {
  const op = 'projectKeysValues';
  expectShape(op, 'keys', keys, memory.rows, mha.embedDim);
  expectShape(op, 'values', values, memory.rows, mha.embedDim);
  project(keys, memory, mha.params.W_k, mha.params.b_k);
  project(values, memory, mha.params.W_v, mha.params.b_v);
}

/**
 * Self-attention of one new position per row over a key/value cache. For r < n, with slot = rowSlots[r]:
 *   q, k, v = x W_{q,k,v}ᵀ + b;  K[slot·T + t] ← k_r, V[slot·T + t] ← v_r  (T = slotSteps, t = position);
 *   head j: o_rj = softmax(q_rj K_j[slot·T + 0 … t]ᵀ / √d) V_j[slot·T + 0 … t];  out = Concat(o) W_oᵀ + b_o.
 * This is row t of the teacher-forced forward under the causal mask (query t sees keys 0 … t).
 *   out, x [R, E] (out written, must not overlap x); keys, values [slots·T, E] (the cache, slot-major);
 *   rows r ≥ n are padding: their output is finite and meaningless, and they touch no cache row.
 */
export function multiheadAttentionSelfStep(
  out: Matrix, ws: MhaStepWorkspace, x: Matrix, keys: Matrix, values: Matrix,
  rowSlots: Int32Array, n: number, position: number, slotSteps: number,
): Matrix {
  const op = 'multiheadAttentionSelfStep';
  const { mha, rows: R } = ws;
  const E = mha.embedDim;
  expectShape(op, 'x', x, R, E);
  expectShape(op, 'out', out, R, E);
  if (keys.rows % slotSteps !== 0 || keys.cols !== E) throw new Error(`${op}: expected a key cache of slots·${slotSteps} rows and ${E} columns, got [${keys.rows}, ${keys.cols}]`);
  expectShape(op, 'values', values, keys.rows, E);
  if (!(position >= 0 && position < slotSteps && position < ws.maxKeys)) throw new Error(`${op}: expected a position in [0, ${Math.min(slotSteps, ws.maxKeys)}), got ${position}`);
  if (!(n >= 0 && n <= R)) throw new Error(`${op}: expected n in [0, ${R}], got ${n}`);
  const { params } = mha;
  project(ws.q, x, params.W_q, params.b_q);
  project(ws.k, x, params.W_k, params.b_k);
  project(ws.v, x, params.W_v, params.b_v);
  for (let r = 0; r < n; r++) {
    const slot = rowSlots[r];
    if (!((slot + 1) * slotSteps <= keys.rows && slot >= 0)) throw new Error(`${op}: expected slots in [0, ${keys.rows / slotSteps}), got ${slot} for row ${r}`);
    copyRowInto(keys, slot * slotSteps + position, ws.k, r);
    copyRowInto(values, slot * slotSteps + position, ws.v, r);
    ws.keyBase[r] = slot * slotSteps;
    ws.keyCount[r] = position + 1;
  }
  attendRows(ws, keys, values, 1, n);
  project(out, ws.concat, params.W_o, params.b_o);
  return out;
}

/**
 * Cross-attention of one new position per row over a projected memory (projectKeysValues), time-major
 * over `sources` sources: row r < n reads source s = rowSources[r], its keys K[i·S + s] for i < lengths[s]
 * (the padding after a source's length is never attended: the key padding mask of the teacher-forced pass).
 *   out, x [R, E]; keys, values [T_x·S, E].
 */
export function multiheadAttentionCrossStep(
  out: Matrix, ws: MhaStepWorkspace, x: Matrix, keys: Matrix, values: Matrix,
  rowSources: Int32Array, lengths: Int32Array, n: number,
): Matrix {
  const op = 'multiheadAttentionCrossStep';
  const { mha, rows: R } = ws;
  const E = mha.embedDim;
  const S = lengths.length;
  expectShape(op, 'x', x, R, E);
  expectShape(op, 'out', out, R, E);
  if (keys.rows % S !== 0 || keys.cols !== E) throw new Error(`${op}: expected keys of T_x·${S} rows and ${E} columns, got [${keys.rows}, ${keys.cols}]`);
  expectShape(op, 'values', values, keys.rows, E);
  const steps = keys.rows / S;
  project(ws.q, x, mha.params.W_q, mha.params.b_q);
  for (let r = 0; r < n; r++) {
    const s = rowSources[r];
    if (!(s >= 0 && s < S) || !(lengths[s] >= 1 && lengths[s] <= steps && lengths[s] <= ws.maxKeys)) {
      throw new Error(`${op}: expected row ${r} to read a source in [0, ${S}) of 1 to ${Math.min(steps, ws.maxKeys)} steps, got source ${s} of ${lengths[s]}`);
    }
    ws.keyBase[r] = s;
    ws.keyCount[r] = lengths[s];
  }
  attendRows(ws, keys, values, S, n);
  project(out, ws.concat, mha.params.W_o, mha.params.b_o);
  return out;
}

/** out[row, :] = src[srcRow, :] (same widths). */
function copyRowInto(out: Matrix, row: number, src: Matrix, srcRow: number): void {
  const od = out.data, sd = src.data, o = out.offset + row * out.stride, p = src.offset + srcRow * src.stride;
  for (let c = 0; c < out.cols; c++) od[o + c] = sd[p + c];
}

/**
 * ws.concat row r (r < n), head j = softmax(q_rj K_jᵀ / √d) V_j over keys keyBase[r] + i·keyStride,
 * i < keyCount[r] (scores, softmax and the weighted sum in float64); padding rows r ≥ n get 0.
 */
function attendRows(ws: MhaStepWorkspace, keys: Matrix, values: Matrix, keyStride: number, n: number): void {
  const { numHeads, headDim: d } = ws.mha;
  const { q, concat, scores, acc } = ws;
  const scale = 1 / Math.sqrt(d);
  const qd = q.data, kd = keys.data, vd = values.data, od = concat.data;
  for (let r = 0; r < n; r++) {
    const count = ws.keyCount[r], base = ws.keyBase[r];
    for (let j = 0; j < numHeads; j++) {
      const qo = q.offset + r * q.stride + j * d;
      for (let i = 0; i < count; i++) {
        const ko = keys.offset + (base + i * keyStride) * keys.stride + j * d;
        let s = 0;
        for (let c = 0; c < d; c++) s += qd[qo + c] * kd[ko + c];
        scores[i] = s * scale;
      }
      attentionSoftmaxRow(scores, 0, count);
      acc.fill(0);
      for (let i = 0; i < count; i++) {
        const p = scores[i], vo = values.offset + (base + i * keyStride) * values.stride + j * d;
        for (let c = 0; c < d; c++) acc[c] += p * vd[vo + c];
      }
      const oo = concat.offset + r * concat.stride + j * d;
      for (let c = 0; c < d; c++) od[oo + c] = acc[c];
    }
  }
  for (let r = n; r < concat.rows; r++) od.fill(0, concat.offset + r * concat.stride, concat.offset + r * concat.stride + concat.cols);
}
