/**
 * The Transformer decoder layer (Vaswani et al. 2017, §3.1), nn.TransformerDecoderLayer: masked
 * self-attention over the target, cross-attention from the target to the encoder's output m (memory),
 * then the feed-forward block, each a residual sublayer (residual.ts):
 *   post-norm (default):  h₁ = LN₁(x + drop₁(SelfAttn(x))),  h₂ = LN₂(h₁ + drop₂(CrossAttn(h₁, m))),
 *                         y = LN₃(h₂ + drop₃(FFN(h₂)))
 *   pre-norm (normFirst): h₁ = x + drop₁(SelfAttn(LN₁(x))),  h₂ = h₁ + drop₂(CrossAttn(LN₂(h₁), m)),
 *                         y = h₂ + drop₃(FFN(LN₃(h₂)))
 * CrossAttn(q, m) is multi-head attention with query q and key = value = m (the memory is not normalised
 * here, as in PyTorch).
 *
 * Shapes, time-major: x, y [T·B, E]; memory [S·B, E];
 *   tgtMasks: keyPaddingMask [T, B], attnMask [T, T] (causalMask(T) for teacher forcing);
 *   memoryMasks: keyPaddingMask [S, B] (the source padding), attnMask [T, S] (rarely used).
 * Backward ACCUMULATES into dx, dMemory and every parameter gradient. Workspaces: once per (T, S, B).
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
import { resolveTransformerLayerOptions, type ResolvedTransformerLayerOptions, type TransformerLayerOptions } from './options.js';
import { collectParameters, denseNamed, type NamedParameters } from './parameters.js';
import {
  createResidualWorkspace, residualInput, residualInputBackward, residualInputGradient, residualOutput,
  residualOutputBackward, type ResidualWorkspace,
} from './residual.js';

export interface TransformerDecoderLayer {
  readonly options: ResolvedTransformerLayerOptions;
  readonly selfAttn: MultiheadAttention;
  /** PyTorch's `multihead_attn`. */
  readonly crossAttn: MultiheadAttention;
  readonly ffn: FeedForward;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly norm3: LayerNorm;
}

export function createTransformerDecoderLayer(config: TransformerLayerOptions, options?: CreateOptions): TransformerDecoderLayer;
/** @deprecated Use `createTransformerDecoderLayer(config, { rng, dtype })`. */
export function createTransformerDecoderLayer(config: TransformerLayerOptions, rng: Rng): TransformerDecoderLayer;
export function createTransformerDecoderLayer(config: TransformerLayerOptions, second?: CreateOptions | Rng): TransformerDecoderLayer {
  const { rng, dtype } = resolveCreateOptions('createTransformerDecoderLayer', isRng(second) ? { rng: second } : second, config.dtype);
  const o = resolveTransformerLayerOptions('createTransformerDecoderLayer', { ...config, dtype });
  const attention = (): MultiheadAttention => createMultiheadAttention({ embedDim: o.dModel, numHeads: o.numHeads }, { rng, dtype: o.dtype });
  const norm = (): LayerNorm => createLayerNorm({ dim: o.dModel, eps: o.layerNormEps }, { dtype: o.dtype });
  const selfAttn = attention();
  const crossAttn = attention();
  return {
    options: o, selfAttn, crossAttn,
    ffn: createFeedForward({ dModel: o.dModel, dimFeedforward: o.dimFeedforward, activation: o.activation, dropout: o.dropout }, { rng, dtype: o.dtype }),
    norm1: norm(), norm2: norm(), norm3: norm(),
  };
}

export function zeroTransformerDecoderLayerGrads(layer: TransformerDecoderLayer): void {
  zeroMultiheadAttentionGrads(layer.selfAttn);
  zeroMultiheadAttentionGrads(layer.crossAttn);
  zeroFeedForwardGrads(layer.ffn);
  for (const norm of [layer.norm1, layer.norm2, layer.norm3]) zeroLayerNormGrads(norm);
}

export interface DecoderLayerWorkspace {
  readonly layer: TransformerDecoderLayer;
  readonly steps: number;
  readonly memorySteps: number;
  readonly batch: number;
  readonly selfAttn: MhaWorkspace;
  readonly crossAttn: MhaWorkspace;
  readonly ffn: FeedForwardWorkspace;
  readonly res1: ResidualWorkspace;
  readonly res2: ResidualWorkspace;
  readonly res3: ResidualWorkspace;
  /** h₁, h₂ [T·B, E] and their gradients. */
  readonly hidden1: Matrix; readonly hidden2: Matrix;
  readonly dHidden1: Matrix; readonly dHidden2: Matrix;
  readonly dropouts: DropoutWorkspace[];
}

export function createDecoderLayerWorkspace(
  layer: TransformerDecoderLayer, steps: number, memorySteps: number, batch: number,
): DecoderLayerWorkspace {
  const { dModel: E, normFirst, dropout, dtype } = layer.options;
  const rows = steps * batch;
  const residual = (norm: LayerNorm): ResidualWorkspace => createResidualWorkspace(norm, normFirst, dropout, rows);
  const res1 = residual(layer.norm1), res2 = residual(layer.norm2), res3 = residual(layer.norm3);
  const ffn = createFeedForwardWorkspace(layer.ffn, rows);
  const m = (): Matrix => Matrix.zeros(rows, E, dtype);
  return {
    layer, steps, memorySteps, batch,
    selfAttn: createMhaWorkspace(layer.selfAttn, steps, steps, batch),
    crossAttn: createMhaWorkspace(layer.crossAttn, steps, memorySteps, batch),
    ffn, res1, res2, res3,
    hidden1: m(), hidden2: m(), dHidden1: m(), dHidden2: m(),
    dropouts: [res1.dropout, res2.dropout, ffn.dropout, res3.dropout],
  };
}

/** y = DecoderLayer(x, memory) (see the file comment); y [T·B, E] is written and must not overlap x. */
export function decoderLayerForward(
  y: Matrix, ws: DecoderLayerWorkspace, x: Matrix, memory: Matrix,
  tgtMasks: AttentionMasks, memoryMasks: AttentionMasks, mode: DropoutMode,
): Matrix {
  const s1 = residualInput(ws.res1, x);
  multiheadAttentionForward(ws.res1.subOut, ws.selfAttn, s1, s1, s1, tgtMasks);
  residualOutput(ws.hidden1, ws.res1, x, mode);
  const s2 = residualInput(ws.res2, ws.hidden1);
  multiheadAttentionForward(ws.res2.subOut, ws.crossAttn, s2, memory, memory, memoryMasks);
  residualOutput(ws.hidden2, ws.res2, ws.hidden1, mode);
  const s3 = residualInput(ws.res3, ws.hidden2);
  feedForwardForward(ws.res3.subOut, ws.ffn, s3, mode);
  return residualOutput(y, ws.res3, ws.hidden2, mode);
}

/**
 * Backward of decoderLayerForward given dy [T·B, E]: dx += ∂L/∂x, dMemory += ∂L/∂memory [S·B, E]
 * (null to skip). Neither may overlap x, memory or dy.
 */
export function decoderLayerBackward(dx: Matrix, dMemory: Matrix | null, ws: DecoderLayerWorkspace, dy: Matrix): void {
  zero(ws.dHidden2);
  const dFfn = residualOutputBackward(ws.dHidden2, ws.res3, dy);
  feedForwardBackward(residualInputGradient(ws.res3, ws.dHidden2), ws.ffn, dFfn);
  residualInputBackward(ws.dHidden2, ws.res3);

  zero(ws.dHidden1);
  const dCross = residualOutputBackward(ws.dHidden1, ws.res2, ws.dHidden2);
  multiheadAttentionBackward(residualInputGradient(ws.res2, ws.dHidden1), dMemory, dMemory, ws.crossAttn, dCross);
  residualInputBackward(ws.dHidden1, ws.res2);

  const dSelf = residualOutputBackward(dx, ws.res1, ws.dHidden1);
  const target = residualInputGradient(ws.res1, dx);
  multiheadAttentionBackward(target, target, target, ws.selfAttn, dSelf);
  residualInputBackward(dx, ws.res1);
}

/** Parameters and gradients under seqgrad names ('self_attn.W_q', 'multihead_attn.W_k', 'norm3.bias', …). */
export function decoderLayerParameters(layer: TransformerDecoderLayer, prefix = ''): NamedParameters {
  return collectParameters(prefix, [
    ['self_attn.', layer.selfAttn], ['multihead_attn.', layer.crossAttn],
    ['linear1.', denseNamed(layer.ffn.linear1)], ['linear2.', denseNamed(layer.ffn.linear2)],
    ['norm1.', layer.norm1], ['norm2.', layer.norm2], ['norm3.', layer.norm3],
  ]);
}
