/**
 * The encoder stack, nn.TransformerEncoder: L encoder layers, then an optional final layer norm
 * (nn.Transformer always has one; a pre-norm stack needs it, since its layers end un-normalised):
 *   x⁽⁰⁾ = x,  x⁽ˡ⁾ = EncoderLayer_l(x⁽ˡ⁻¹⁾),  y = LN(x⁽ᴸ⁾) (or x⁽ᴸ⁾ without the norm).
 * Shapes and masks as encoder-layer.ts: x, y [T·B, E]; the same masks for every layer.
 * Backward ACCUMULATES into dx and every gradient. Workspaces: once per (T, B).
 */
import { Matrix, copyInto, zero } from '../../engine/matrix.js';
import { isRng, resolveCreateOptions, type CreateOptions } from '../../engine/create.js';
import type { Rng } from '../../engine/rng.js';
import type { AttentionMasks } from '../attention/multihead.js';
import type { DropoutMode, DropoutWorkspace } from '../dropout.js';
import {
  createLayerNorm, createLayerNormWorkspace, layerNormBackward, layerNormForward, zeroLayerNormGrads,
  type LayerNorm, type LayerNormWorkspace,
} from '../norm.js';
import {
  createEncoderLayerWorkspace, createTransformerEncoderLayer, encoderLayerBackward, encoderLayerForward,
  encoderLayerParameters, zeroTransformerEncoderLayerGrads, type EncoderLayerWorkspace, type TransformerEncoderLayer,
} from './encoder-layer.js';
import type { TransformerLayerOptions } from './options.js';
import { collectParameters, type NamedParameters } from './parameters.js';

export interface TransformerEncoder {
  readonly layers: TransformerEncoderLayer[];
  /** The final norm (PyTorch's `norm`), or null. */
  readonly norm: LayerNorm | null;
}

export function checkLayerCount(op: string, numLayers: number): void {
  if (!Number.isInteger(numLayers) || numLayers <= 0) throw new Error(`${op}: expected numLayers to be a positive integer, got ${numLayers}`);
}

/** numLayers layers with their own weights (drawn in order from rng) and a final norm unless finalNorm is false. */
export function createTransformerEncoder(config: TransformerLayerOptions & { numLayers: number; finalNorm?: boolean }, options?: CreateOptions): TransformerEncoder;
/** @deprecated Use `createTransformerEncoder(config, { rng, dtype })`. */
export function createTransformerEncoder(config: TransformerLayerOptions & { numLayers: number; finalNorm?: boolean }, rng: Rng): TransformerEncoder;
export function createTransformerEncoder(
  config: TransformerLayerOptions & { numLayers: number; finalNorm?: boolean }, second?: CreateOptions | Rng,
): TransformerEncoder {
  checkLayerCount('createTransformerEncoder', config.numLayers);
  const options = resolveCreateOptions('createTransformerEncoder', isRng(second) ? { rng: second } : second, config.dtype);
  const layers = Array.from({ length: config.numLayers }, () => createTransformerEncoderLayer(config, options));
  const { dModel, layerNormEps, dtype } = layers[0].options;
  return { layers, norm: config.finalNorm === false ? null : createLayerNorm({ dim: dModel, eps: layerNormEps }, { dtype }) };
}

export function zeroTransformerEncoderGrads(encoder: TransformerEncoder): void {
  for (const layer of encoder.layers) zeroTransformerEncoderLayerGrads(layer);
  if (encoder.norm) zeroLayerNormGrads(encoder.norm);
}

/** 'layers.0.self_attn.W_q', …, 'norm.weight', 'norm.bias' (PyTorch's prefixes). */
export function transformerEncoderParameters(encoder: TransformerEncoder, prefix = ''): NamedParameters {
  const out = collectParameters(prefix, encoder.norm ? [['norm.', encoder.norm]] : []);
  encoder.layers.forEach((layer, i) => {
    const part = encoderLayerParameters(layer, `${prefix}layers.${i}.`);
    Object.assign(out.params, part.params);
    Object.assign(out.grads, part.grads);
  });
  return out;
}

export interface TransformerEncoderWorkspace {
  readonly encoder: TransformerEncoder;
  readonly steps: number;
  readonly batch: number;
  readonly layers: EncoderLayerWorkspace[];
  /** x⁽ˡ⁾ for l = 1 … L and their gradients [T·B, E]; a scratch input gradient when dx is null. */
  readonly outputs: Matrix[];
  readonly dOutputs: Matrix[];
  readonly dInputScratch: Matrix;
  readonly norm: LayerNormWorkspace | null;
  readonly dropouts: DropoutWorkspace[];
}

export function createTransformerEncoderWorkspace(encoder: TransformerEncoder, steps: number, batch: number): TransformerEncoderWorkspace {
  const { dModel: E, dtype } = encoder.layers[0].options;
  const m = (): Matrix => Matrix.zeros(steps * batch, E, dtype);
  const layers = encoder.layers.map((layer) => createEncoderLayerWorkspace(layer, steps, batch));
  return {
    encoder, steps, batch, layers,
    outputs: layers.map(m), dOutputs: layers.map(m), dInputScratch: m(),
    norm: encoder.norm ? createLayerNormWorkspace(encoder.norm, steps * batch) : null,
    dropouts: layers.flatMap((l) => l.dropouts),
  };
}

/** The workspace `ws` when it fits (encoder, T, B), else a new one. */
export function ensureTransformerEncoderWorkspace(ws: TransformerEncoderWorkspace | null, encoder: TransformerEncoder, steps: number, batch: number): TransformerEncoderWorkspace {
  if (ws && ws.encoder === encoder && ws.steps === steps && ws.batch === batch) return ws;
  return createTransformerEncoderWorkspace(encoder, steps, batch);
}

/** y [T·B, E] = Encoder(x [T·B, E]); y is written and must not overlap x; x must stay unchanged until backward. */
export function transformerEncoderForward(y: Matrix, ws: TransformerEncoderWorkspace, x: Matrix, masks: AttentionMasks, mode: DropoutMode): Matrix {
  let input = x;
  ws.layers.forEach((layerWs, i) => {
    input = encoderLayerForward(ws.outputs[i], layerWs, input, masks, mode);
  });
  if (ws.norm) return layerNormForward(y, ws.norm, input);
  return copyInto(y, input);
}

/** Backward of transformerEncoderForward given dy: dx += ∂L/∂x (null to skip). */
export function transformerEncoderBackward(dx: Matrix | null, ws: TransformerEncoderWorkspace, dy: Matrix): void {
  const L = ws.layers.length;
  let upstream = dy;
  if (ws.norm) {
    zero(ws.dOutputs[L - 1]);
    layerNormBackward(ws.dOutputs[L - 1], ws.norm, dy);
    upstream = ws.dOutputs[L - 1];
  }
  for (let i = L - 1; i >= 0; i--) {
    const dInput = i > 0 ? zero(ws.dOutputs[i - 1]) : dx ?? zero(ws.dInputScratch);
    encoderLayerBackward(dInput, ws.layers[i], upstream);
    upstream = dInput;
  }
}

