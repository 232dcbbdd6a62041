/**
 * Incremental decoding of the Transformer stacks with a key/value cache: each step feeds ONE new position
 * per row and computes only its queries, keys and values; the keys and values of the earlier positions
 * are kept (the cache) instead of re-running the whole prefix every step.
 *
 * A step at position t for R rows (row r < n is the hypothesis in slot rowSlots[r]; rows r ≥ n pad a
 * batch to a kept size and are ignored), per layer l, with s the sublayer's input (residual.ts):
 *   self-attention:  k_r, v_r = s_r W_{k,v}ᵀ + b appended at K_l[slot·T + t], V_l[slot·T + t];
 *                    the query attends keys 0 … t of its slot (multiheadAttentionSelfStep)
 *   cross-attention (decoder layers): the memory M [T_x·S, E] of S sources projected once per source
 *                    batch (CrossMemory: K_mem = M W_kᵀ + b_k, V_mem likewise), row r reading its source's
 *                    first len(s) positions (multiheadAttentionCrossStep)
 *   then the feed-forward block; residuals, norms and the final norm as the layers (dropout off).
 * Every sublayer but attention works row by row and the self-attention is causal (position t reads
 * positions ≤ t), so the step's output is row t of the teacher-forced forward with the causal mask
 * (encoder.ts / decoder.ts) — to rounding: spec/layers/transformer/incremental.spec.ts checks it in float64.
 *
 * The cache (KvCache) holds `slots` sequences of up to T = maxSteps positions, slot-major: rows
 * slot·T … slot·T + T − 1 of K_l, V_l [slots·T, E]. Beam search reorders it by the surviving hypotheses'
 * parents (reorderKvCache). Every buffer is allocated once; a step and a reorder allocate nothing.
 * `release*` give the buffers back at once (engine/matrix.ts releaseMatrix) when a shape is done with.
 */
import { Matrix, copyInto } from '../../engine/matrix.js';
import {
  createMhaStepWorkspace, multiheadAttentionCrossStep, multiheadAttentionSelfStep, projectKeysValues,
  type MhaStepWorkspace, type MultiheadAttention,
} from '../attention/multihead.js';
import { DROPOUT_OFF } from '../dropout.js';
import { createLayerNormWorkspace, layerNormForward, type LayerNorm, type LayerNormWorkspace } from '../norm.js';
import type { TransformerDecoder } from './decoder.js';
import type { TransformerDecoderLayer } from './decoder-layer.js';
import type { TransformerEncoder } from './encoder.js';
import type { TransformerEncoderLayer } from './encoder-layer.js';
import { createFeedForwardWorkspace, feedForwardForward, type FeedForwardWorkspace } from './feedforward.js';
import { createResidualWorkspace, residualInput, residualOutput, type ResidualWorkspace } from './residual.js';
import { releaseFeedForwardWorkspace, releaseLayerNormWorkspace, releaseMatrices, releaseResidualWorkspace } from './release.js';

/** A causal encoder stack (a decoder-only language model) or a decoder stack (self- and cross-attention). */
export type TransformerStack = TransformerEncoder | TransformerDecoder;

type AnyLayer = TransformerEncoderLayer | TransformerDecoderLayer;

const crossOf = (layer: AnyLayer): MultiheadAttention | null => ('crossAttn' in layer ? layer.crossAttn : null);
/** The layer's norms in sublayer order: self-attention, (cross-attention,) feed-forward. */
const normsOf = (layer: AnyLayer): LayerNorm[] => ('norm3' in layer ? [layer.norm1, layer.norm2, layer.norm3] : [layer.norm1, layer.norm2]);

// ---- the caches --------------------------------------------------------------------------------

export interface KvCache {
  readonly slots: number;
  /** T: the most positions a slot holds. */
  readonly maxSteps: number;
  /** Per layer: the keys and values of every slot, row slot·T + i = position i [slots·T, E]. */
  readonly keys: Matrix[];
  readonly values: Matrix[];
  /** Where reorderKvCache gathers the parents' rows [slots·T, E]. */
  readonly scratch: Matrix;
}

/** The cache of `slots` sequences of up to `maxSteps` positions for every layer of `stack`. */
export function createKvCache(stack: TransformerStack, config: { slots: number; maxSteps: number }): KvCache {
  const { slots, maxSteps } = config;
  for (const [name, v] of [['slots', slots], ['maxSteps', maxSteps]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`createKvCache: expected ${name} to be a positive integer, got ${v}`);
  }
  const { dModel: E, dtype } = stack.layers[0].options;
  const m = (): Matrix => Matrix.zeros(slots * maxSteps, E, dtype);
  return { slots, maxSteps, keys: stack.layers.map(m), values: stack.layers.map(m), scratch: m() };
}

/**
 * After a step: slot i takes the first `length` positions of slot parents[i], for the slots
 * i < parents.length (≤ cache.slots; the others keep theirs). A slot that is its own parent is not
 * copied; the others go through the scratch, so a parent overwritten by another slot's move is read
 * before it changes.
 */
export function reorderKvCache(cache: KvCache, parents: Int32Array, length: number): void {
  const { maxSteps: T } = cache;
  const count = parents.length;
  if (count > cache.slots) throw new Error(`reorderKvCache: expected at most ${cache.slots} parents, got ${count}`);
  if (!(length >= 0 && length <= T)) throw new Error(`reorderKvCache: expected a length in [0, ${T}], got ${length}`);
  let moved = false;
  for (let i = 0; i < count; i++) {
    const p = parents[i];
    if (!(Number.isInteger(p) && p >= 0 && p < count)) throw new Error(`reorderKvCache: expected parents in [0, ${count}), got ${p} for slot ${i}`);
    if (p !== i) moved = true;
  }
  if (!moved || length === 0) return;
  const all = cache.keys.length;
  for (let m = 0; m < 2 * all; m++) {
    const buffer = m < all ? cache.keys[m] : cache.values[m - all];
    for (let i = 0; i < count; i++) if (parents[i] !== i) copySlot(cache.scratch, i, buffer, parents[i], T, length);
    for (let i = 0; i < count; i++) if (parents[i] !== i) copySlot(buffer, i, cache.scratch, i, T, length);
  }
}

/** Positions 0 … length − 1 of slot `from` of src into slot `to` of out (contiguous [slots·T, E] matrices). */
function copySlot(out: Matrix, to: number, src: Matrix, from: number, T: number, length: number): void {
  const E = out.cols;
  const o = out.offset + to * T * out.stride, s = src.offset + from * T * src.stride;
  const od = out.data, sd = src.data;
  for (let f = 0; f < length * E; f++) od[o + f] = sd[s + f];
}

/**
 * The cross-attention keys and values of S sources for every decoder layer: memory [T_x·S, E]
 * (time-major, right-padded) projected once; lengths[s] = real positions of source s.
 */
export interface CrossMemory {
  readonly sources: number;
  readonly steps: number;
  readonly lengths: Int32Array;
  readonly keys: Matrix[];
  readonly values: Matrix[];
}

export function createCrossMemory(decoder: TransformerDecoder, memory: Matrix, lengths: ArrayLike<number>): CrossMemory {
  const S = lengths.length;
  const cross = allocateCrossMemory(decoder, { sources: S, steps: S > 0 ? Math.floor(memory.rows / S) : 0 });
  return loadCrossMemory(cross, decoder, memory, lengths);
}

/** The buffers of a CrossMemory of S sources of up to T_x steps (filled by loadCrossMemory; kept for a shape). */
export function allocateCrossMemory(decoder: TransformerDecoder, config: { sources: number; steps: number }): CrossMemory {
  const { sources: S, steps } = config;
  if (!(Number.isInteger(S) && S >= 1 && Number.isInteger(steps) && steps >= 1)) {
    throw new Error(`allocateCrossMemory: expected positive integer sources and steps, got ${S} and ${steps}`);
  }
  const { dModel: E, dtype } = decoder.layers[0].options;
  const m = (): Matrix => Matrix.zeros(steps * S, E, dtype);
  return { sources: S, steps, lengths: new Int32Array(S), keys: decoder.layers.map(m), values: decoder.layers.map(m) };
}

/** Project memory [T_x·S, E] into `cross` (its shape) for every decoder layer; lengths[s] = real positions of source s. */
export function loadCrossMemory(cross: CrossMemory, decoder: TransformerDecoder, memory: Matrix, lengths: ArrayLike<number>): CrossMemory {
  const op = 'loadCrossMemory';
  const { sources: S, steps } = cross;
  const E = decoder.layers[0].options.dModel;
  if (lengths.length !== S || memory.rows !== steps * S || memory.cols !== E) {
    throw new Error(`${op}: expected ${S} lengths and a memory of [${steps * S}, ${E}], got ${lengths.length} lengths and [${memory.rows}, ${memory.cols}]`);
  }
  for (let s = 0; s < S; s++) {
    const len = lengths[s];
    if (!(Number.isInteger(len) && len >= 1 && len <= steps)) throw new Error(`${op}: expected source ${s} to have 1 to ${steps} positions, got ${len}`);
    cross.lengths[s] = len;
  }
  decoder.layers.forEach((layer, l) => projectKeysValues(cross.keys[l], cross.values[l], layer.crossAttn, memory));
  return cross;
}

// ---- the step --------------------------------------------------------------------------------

interface LayerStepWorkspace {
  readonly self: MhaStepWorkspace;
  readonly cross: MhaStepWorkspace | null;
  readonly ffn: FeedForwardWorkspace;
  /** One per sublayer (self, cross, feed-forward). */
  readonly residuals: ResidualWorkspace[];
  /** The outputs of the sublayers before the last [R, E]. */
  readonly hidden: Matrix[];
}

/** The buffers of one step of R rows through a stack (its layers' and the final norm's). */
export interface TransformerStepWorkspace {
  readonly stack: TransformerStack;
  readonly rows: number;
  readonly layers: LayerStepWorkspace[];
  /** Each layer's output [R, E]. */
  readonly outputs: Matrix[];
  readonly norm: LayerNormWorkspace | null;
}

/**
 * Step buffers for R rows; maxKeys bounds the keys one query reads (the cache's maxSteps, and for a
 * decoder the longest source as well).
 */
export function createTransformerStepWorkspace(stack: TransformerStack, rows: number, maxKeys: number): TransformerStepWorkspace {
  const { dModel: E, dtype, normFirst, dropout } = stack.layers[0].options;
  const m = (): Matrix => Matrix.zeros(rows, E, dtype);
  const layers = (stack.layers as AnyLayer[]).map((layer): LayerStepWorkspace => {
    const norms = normsOf(layer);
    const cross = crossOf(layer);
    return {
      self: createMhaStepWorkspace(layer.selfAttn, rows, maxKeys),
      cross: cross ? createMhaStepWorkspace(cross, rows, maxKeys) : null,
      ffn: createFeedForwardWorkspace(layer.ffn, rows),
      residuals: norms.map((norm) => createResidualWorkspace(norm, normFirst, dropout, rows)),
      hidden: norms.slice(1).map(m),
    };
  });
  return {
    stack, rows, layers, outputs: layers.map(m),
    norm: stack.norm ? createLayerNormWorkspace(stack.norm, rows) : null,
  };
}

/** Where the rows of a step read and write: their slots in the cache, and (decoder) their sources in the memory. */
export interface StepRows {
  /** Rows r < n are real. */
  n: number;
  /** The position t fed this step (0 for the first token). */
  position: number;
  /** rowSlots[r]: the cache slot of row r. */
  rowSlots: Int32Array;
  /** rowSources[r]: the memory source of row r (decoder only). */
  rowSources?: Int32Array;
}

/**
 * y [R, E] = the stack's output at position `rows.position` for the inputs x [R, E] (embedded, positions
 * added), appending each real row's keys and values to its slot of the cache. A decoder needs the memory.
 * y must not overlap x. Allocates nothing.
 */
export function transformerStackStep(
  y: Matrix, ws: TransformerStepWorkspace, x: Matrix, cache: KvCache, rows: StepRows, memory: CrossMemory | null = null,
): Matrix {
  const op = 'transformerStackStep';
  const { stack } = ws;
  if (cache.keys.length !== stack.layers.length) throw new Error(`${op}: expected a cache of ${stack.layers.length} layers, got ${cache.keys.length}`);
  const isDecoder = 'crossAttn' in stack.layers[0];
  if (isDecoder && (!memory || !rows.rowSources)) throw new Error(`${op}: a decoder stack needs the cross memory and rowSources, got ${memory ? 'no rowSources' : 'no memory'}`);
  let input = x;
  for (let l = 0; l < ws.layers.length; l++) input = layerStep(ws.outputs[l], ws.layers[l], input, cache, l, rows, memory);
  if (ws.norm) return layerNormForward(y, ws.norm, input);
  return copyInto(y, input);
}

function layerStep(
  y: Matrix, lw: LayerStepWorkspace, x: Matrix, cache: KvCache, l: number, rows: StepRows, memory: CrossMemory | null,
): Matrix {
  const resSelf = lw.residuals[0];
  const s1 = residualInput(resSelf, x);
  multiheadAttentionSelfStep(resSelf.subOut, lw.self, s1, cache.keys[l], cache.values[l], rows.rowSlots, rows.n, rows.position, cache.maxSteps);
  let h = residualOutput(lw.hidden[0], resSelf, x, DROPOUT_OFF);
  if (lw.cross && memory) {
    const resCross = lw.residuals[1];
    const s2 = residualInput(resCross, h);
    multiheadAttentionCrossStep(resCross.subOut, lw.cross, s2, memory.keys[l], memory.values[l], rows.rowSources!, memory.lengths, rows.n);
    h = residualOutput(lw.hidden[1], resCross, h, DROPOUT_OFF);
  }
  const resFfn = lw.residuals[lw.residuals.length - 1];
  feedForwardForward(resFfn.subOut, lw.ffn, residualInput(resFfn, h), DROPOUT_OFF);
  return residualOutput(y, resFfn, h, DROPOUT_OFF);
}

// ---- explicit release ----------------------------------------------------------------------------

/** Give a cache's storage back now (the wasm heap; see engine/matrix.ts releaseMatrix). Not usable afterwards. */
export function releaseKvCache(cache: KvCache): void {
  releaseMatrices(cache, [...cache.keys, ...cache.values, cache.scratch]);
}

export function releaseCrossMemory(memory: CrossMemory): void {
  releaseMatrices(memory, [...memory.keys, ...memory.values]);
}

export function releaseTransformerStepWorkspace(ws: TransformerStepWorkspace): void {
  for (const lw of ws.layers) {
    for (const a of lw.cross ? [lw.self, lw.cross] : [lw.self]) releaseMatrices(a, [a.q, a.k, a.v, a.concat]);
    releaseFeedForwardWorkspace(lw.ffn);
    lw.residuals.forEach(releaseResidualWorkspace);
    releaseMatrices(lw, lw.hidden);
  }
  releaseMatrices(ws, ws.outputs);
  if (ws.norm) releaseLayerNormWorkspace(ws.norm);
}
