/**
 * The Transformer encoder layer (Vaswani et al. 2017, §3.1), nn.TransformerEncoderLayer:
 *   post-norm (default):  h = LN₁(x + drop₁(SelfAttn(x))),        y = LN₂(h + drop₂(FFN(h)))
 *   pre-norm (normFirst): h = x + drop₁(SelfAttn(LN₁(x))),        y = h + drop₂(FFN(LN₂(h)))
 * SelfAttn is the multi-head attention of layers/attention/multihead.ts with query = key = value, FFN
 * the block of feedforward.ts (with its own dropout after the activation).
 *
 * Shapes, time-major as every sequence in seqgrad (and PyTorch's batch_first=False):
 *   x, y [T·B, E] (row t·B + b); masks.keyPaddingMask [T, B] (1 = real step), masks.attnMask [T, T]
 *   (1 = allowed; causalMask(T) for a causal encoder). A padded step still gets an output row (it
 *   attends to the real steps), as in PyTorch; the caller ignores it.
 * Backward ACCUMULATES into dx and every parameter gradient. Workspaces are allocated once per (T, B).
 */
import { Matrix, zero } from '../../engine/matrix.js';
import { isRng, resolveCreateOptions, type CreateOptions } from '../../engine/create.js';
import type { Rng } from '../../engine/rng.js';
import {
  createMhaWorkspace, createMultiheadAttention, multiheadAttentionBackward, multiheadAttentionForward,
  zeroMultiheadAttentionGrads, type AttentionMasks, type MhaWorkspace, type MultiheadAttention,
} from '../attention/multihead.js';
import type { DropoutMode, DropoutWorkspace } from '../dropout.js';
import { createLayerNorm, zeroLayerNormGrads, type LayerNorm } from '../norm.js';
import {
  createFeedForward, createFeedForwardWorkspace, feedForwardBackward, feedForwardForward, zeroFeedForwardGrads,
  type FeedForward, type FeedForwardWorkspace,
} from './feedforward.js';
import { collectParameters, denseNamed, type NamedParameters } from './parameters.js';
import { resolveTransformerLayerOptions, type ResolvedTransformerLayerOptions, type TransformerLayerOptions } from './options.js';
import {
  createResidualWorkspace, residualInput, residualInputBackward, residualInputGradient, residualOutput,
  residualOutputBackward, type ResidualWorkspace,
} from './residual.js';

export interface TransformerEncoderLayer {
  readonly options: ResolvedTransformerLayerOptions;
  readonly selfAttn: MultiheadAttention;
  readonly ffn: FeedForward;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
}

/** Initialised as PyTorch does: attention as nn.MultiheadAttention, linears as nn.Linear, norms γ = 1, β = 0. */
export function createTransformerEncoderLayer(config: TransformerLayerOptions, options?: CreateOptions): TransformerEncoderLayer;
/** @deprecated Use `createTransformerEncoderLayer(config, { rng, dtype })`. */
export function createTransformerEncoderLayer(config: TransformerLayerOptions, rng: Rng): TransformerEncoderLayer;
export function createTransformerEncoderLayer(config: TransformerLayerOptions, second?: CreateOptions | Rng): TransformerEncoderLayer {
  const { rng, dtype } = resolveCreateOptions('createTransformerEncoderLayer', isRng(second) ? { rng: second } : second, config.dtype);
  const o = resolveTransformerLayerOptions('createTransformerEncoderLayer', { ...config, dtype });
  const norm = (): LayerNorm => createLayerNorm({ dim: o.dModel, eps: o.layerNormEps }, { dtype: o.dtype });
  return {
    options: o,
    selfAttn: createMultiheadAttention({ embedDim: o.dModel, numHeads: o.numHeads }, { rng, dtype: o.dtype }),
    ffn: createFeedForward({ dModel: o.dModel, dimFeedforward: o.dimFeedforward, activation: o.activation, dropout: o.dropout }, { rng, dtype: o.dtype }),
    norm1: norm(),
    norm2: norm(),
  };
}

export function zeroTransformerEncoderLayerGrads(layer: TransformerEncoderLayer): void {
  zeroMultiheadAttentionGrads(layer.selfAttn);
  zeroFeedForwardGrads(layer.ffn);
  zeroLayerNormGrads(layer.norm1);
  zeroLayerNormGrads(layer.norm2);
}

export interface EncoderLayerWorkspace {
  readonly layer: TransformerEncoderLayer;
  readonly steps: number;
  readonly batch: number;
  readonly attn: MhaWorkspace;
  readonly ffn: FeedForwardWorkspace;
  readonly res1: ResidualWorkspace;
  readonly res2: ResidualWorkspace;
  /** h, the output of the attention sublayer [T·B, E], and its gradient. */
  readonly hidden: Matrix;
  readonly dHidden: Matrix;
  /** Every dropout of the layer (to draw fixed masks for gradient checks). */
  readonly dropouts: DropoutWorkspace[];
}

export function createEncoderLayerWorkspace(layer: TransformerEncoderLayer, steps: number, batch: number): EncoderLayerWorkspace {
  const { dModel: E, normFirst, dropout, dtype } = layer.options;
  const rows = steps * batch;
  const res1 = createResidualWorkspace(layer.norm1, normFirst, dropout, rows);
  const res2 = createResidualWorkspace(layer.norm2, normFirst, dropout, rows);
  const ffn = createFeedForwardWorkspace(layer.ffn, rows);
  return {
    layer, steps, batch,
    attn: createMhaWorkspace(layer.selfAttn, steps, steps, batch),
    ffn, res1, res2,
    hidden: Matrix.zeros(rows, E, dtype),
    dHidden: Matrix.zeros(rows, E, dtype),
    dropouts: [res1.dropout, ffn.dropout, res2.dropout],
  };
}

/** y = EncoderLayer(x) (see the file comment); y [T·B, E] is written and must not overlap x. */
export function encoderLayerForward(
  y: Matrix, ws: EncoderLayerWorkspace, x: Matrix, masks: AttentionMasks, mode: DropoutMode,
): Matrix {
  const s1 = residualInput(ws.res1, x);
  multiheadAttentionForward(ws.res1.subOut, ws.attn, s1, s1, s1, masks);
  residualOutput(ws.hidden, ws.res1, x, mode);
  const s2 = residualInput(ws.res2, ws.hidden);
  feedForwardForward(ws.res2.subOut, ws.ffn, s2, mode);
  return residualOutput(y, ws.res2, ws.hidden, mode);
}

/** Backward of encoderLayerForward given dy [T·B, E]: dx += ∂L/∂x (dx must not overlap x or dy). */
export function encoderLayerBackward(dx: Matrix, ws: EncoderLayerWorkspace, dy: Matrix): void {
  zero(ws.dHidden);
  const dFfn = residualOutputBackward(ws.dHidden, ws.res2, dy);
  feedForwardBackward(residualInputGradient(ws.res2, ws.dHidden), ws.ffn, dFfn);
  residualInputBackward(ws.dHidden, ws.res2);
  const dAttn = residualOutputBackward(dx, ws.res1, ws.dHidden);
  const target = residualInputGradient(ws.res1, dx);
  multiheadAttentionBackward(target, target, target, ws.attn, dAttn); // self-attention: three paths, one input
  residualInputBackward(dx, ws.res1);
}

/** Parameters and gradients under seqgrad names ('self_attn.W_q', 'linear1.weight', 'norm1.weight', …). */
export function encoderLayerParameters(layer: TransformerEncoderLayer, prefix = ''): NamedParameters {
  return collectParameters(prefix, [
    ['self_attn.', layer.selfAttn], ['linear1.', denseNamed(layer.ffn.linear1)], ['linear2.', denseNamed(layer.ffn.linear2)],
    ['norm1.', layer.norm1], ['norm2.', layer.norm2],
  ]);
}
