/**
 * The hyper-parameters shared by the Transformer's encoder and decoder layers, with PyTorch's names and
 * defaults (nn.TransformerEncoderLayer / nn.TransformerDecoderLayer) where they have one.
 */
import type { DType } from '../../engine/matrix.js';
import { checkDropoutProbability } from '../dropout.js';
import { checkFeedForwardActivation, type FeedForwardActivation } from './feedforward.js';

export interface TransformerLayerOptions {
  /** E (d_model). */
  dModel: number;
  /** h (nhead); must divide E. */
  numHeads: number;
  /** F (dim_feedforward); PyTorch's default is 2048. */
  dimFeedforward?: number;
  /** p of every dropout of the layer (default 0.1, PyTorch's); not applied to attention weights here. */
  dropout?: number;
  /** 'relu' (default) or the exact 'gelu'. */
  activation?: FeedForwardActivation;
  /** ε of the layer norms (default 1e−5). */
  layerNormEps?: number;
  /** false (default): post-norm as the paper; true: pre-norm. */
  normFirst?: boolean;
  dtype?: DType;
}

export type ResolvedTransformerLayerOptions = Required<TransformerLayerOptions>;

export function resolveTransformerLayerOptions(op: string, options: TransformerLayerOptions): ResolvedTransformerLayerOptions {
  const resolved: ResolvedTransformerLayerOptions = {
    dModel: options.dModel,
    numHeads: options.numHeads,
    dimFeedforward: options.dimFeedforward ?? 2048,
    dropout: options.dropout ?? 0.1,
    activation: options.activation ?? 'relu',
    layerNormEps: options.layerNormEps ?? 1e-5,
    normFirst: options.normFirst ?? false,
    dtype: options.dtype ?? 'float32',
  };
  for (const name of ['dModel', 'numHeads', 'dimFeedforward'] as const) {
    const v = resolved[name];
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${op}: expected ${name} to be a positive integer, got ${v}`);
  }
  if (resolved.dModel % resolved.numHeads !== 0) {
    throw new Error(`${op}: expected numHeads to divide dModel, got dModel ${resolved.dModel} and numHeads ${resolved.numHeads}`);
  }
  checkDropoutProbability(op, resolved.dropout);
  checkFeedForwardActivation(op, resolved.activation);
  return resolved;
}
