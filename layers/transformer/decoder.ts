/**
 * The decoder stack, nn.TransformerDecoder: L decoder layers over the same memory, then an optional
 * final layer norm:
 *   x⁽⁰⁾ = x,  x⁽ˡ⁾ = DecoderLayer_l(x⁽ˡ⁻¹⁾, m),  y = LN(x⁽ᴸ⁾) (or x⁽ᴸ⁾ without the norm).
 * Shapes and masks as decoder-layer.ts: x, y [T·B, E], memory [S·B, E].
 * Backward ACCUMULATES into dx, dMemory (the sum over the layers) and every gradient.
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
  createDecoderLayerWorkspace, createTransformerDecoderLayer, decoderLayerBackward, decoderLayerForward,
  decoderLayerParameters, zeroTransformerDecoderLayerGrads, type DecoderLayerWorkspace, type TransformerDecoderLayer,
} from './decoder-layer.js';
import { checkLayerCount } from './encoder.js';
import type { TransformerLayerOptions } from './options.js';
import { collectParameters, type NamedParameters } from './parameters.js';

export interface TransformerDecoder {
  readonly layers: TransformerDecoderLayer[];
  readonly norm: LayerNorm | null;
}

export function createTransformerDecoder(config: TransformerLayerOptions & { numLayers: number; finalNorm?: boolean }, options?: CreateOptions): TransformerDecoder;
/** @deprecated Use `createTransformerDecoder(config, { rng, dtype })`. */
export function createTransformerDecoder(config: TransformerLayerOptions & { numLayers: number; finalNorm?: boolean }, rng: Rng): TransformerDecoder;
export function createTransformerDecoder(
  config: TransformerLayerOptions & { numLayers: number; finalNorm?: boolean }, second?: CreateOptions | Rng,
): TransformerDecoder {
  checkLayerCount('createTransformerDecoder', config.numLayers);
  const options = resolveCreateOptions('createTransformerDecoder', isRng(second) ? { rng: second } : second, config.dtype);
  const layers = Array.from({ length: config.numLayers }, () => createTransformerDecoderLayer(config, options));
  const { dModel, layerNormEps, dtype } = layers[0].options;
  return { layers, norm: config.finalNorm === false ? null : createLayerNorm({ dim: dModel, eps: layerNormEps }, { dtype }) };
}

export function zeroTransformerDecoderGrads(decoder: TransformerDecoder): void {
  for (const layer of decoder.layers) zeroTransformerDecoderLayerGrads(layer);
  if (decoder.norm) zeroLayerNormGrads(decoder.norm);
}

/** 'layers.0.self_attn.W_q', 'layers.0.multihead_attn.W_k', …, 'norm.weight' (PyTorch's prefixes). */
export function transformerDecoderParameters(decoder: TransformerDecoder, prefix = ''): NamedParameters {
  const out = collectParameters(prefix, decoder.norm ? [['norm.', decoder.norm]] : []);
  decoder.layers.forEach((layer, i) => {
    const part = decoderLayerParameters(layer, `${prefix}layers.${i}.`);
    Object.assign(out.params, part.params);
    Object.assign(out.grads, part.grads);
  });
  return out;
}

export interface TransformerDecoderWorkspace {
  readonly decoder: TransformerDecoder;
  readonly steps: number;
  readonly memorySteps: number;
  readonly batch: number;
  readonly layers: DecoderLayerWorkspace[];
  readonly outputs: Matrix[];
  readonly dOutputs: Matrix[];
  readonly dInputScratch: Matrix;
  readonly norm: LayerNormWorkspace | null;
  readonly dropouts: DropoutWorkspace[];
}

export function createTransformerDecoderWorkspace(decoder: TransformerDecoder, steps: number, memorySteps: number, batch: number): TransformerDecoderWorkspace {
  const { dModel: E, dtype } = decoder.layers[0].options;
  const m = (): Matrix => Matrix.zeros(steps * batch, E, dtype);
  const layers = decoder.layers.map((layer) => createDecoderLayerWorkspace(layer, steps, memorySteps, batch));
  return {
    decoder, steps, memorySteps, batch, layers,
    outputs: layers.map(m), dOutputs: layers.map(m), dInputScratch: m(),
    norm: decoder.norm ? createLayerNormWorkspace(decoder.norm, steps * batch) : null,
    dropouts: layers.flatMap((l) => l.dropouts),
  };
}

export function ensureTransformerDecoderWorkspace(
  ws: TransformerDecoderWorkspace | null, decoder: TransformerDecoder, steps: number, memorySteps: number, batch: number,
): TransformerDecoderWorkspace {
  if (ws && ws.decoder === decoder && ws.steps === steps && ws.memorySteps === memorySteps && ws.batch === batch) return ws;
  return createTransformerDecoderWorkspace(decoder, steps, memorySteps, batch);
}

/** y [T·B, E] = Decoder(x, memory); y must not overlap x; x and memory must stay unchanged until backward. */
export function transformerDecoderForward(
  y: Matrix, ws: TransformerDecoderWorkspace, x: Matrix, memory: Matrix,
  tgtMasks: AttentionMasks, memoryMasks: AttentionMasks, mode: DropoutMode,
): Matrix {
  let input = x;
  ws.layers.forEach((layerWs, i) => {
    input = decoderLayerForward(ws.outputs[i], layerWs, input, memory, tgtMasks, memoryMasks, mode);
  });
  if (ws.norm) return layerNormForward(y, ws.norm, input);
  return copyInto(y, input);
}

/** Backward of transformerDecoderForward given dy: dx += ∂L/∂x, dMemory += ∂L/∂memory (either null to skip). */
export function transformerDecoderBackward(dx: Matrix | null, dMemory: Matrix | null, ws: TransformerDecoderWorkspace, dy: Matrix): void {
  const L = ws.layers.length;
  let upstream = dy;
  if (ws.norm) {
    zero(ws.dOutputs[L - 1]);
    layerNormBackward(ws.dOutputs[L - 1], ws.norm, dy);
    upstream = ws.dOutputs[L - 1];
  }
  for (let i = L - 1; i >= 0; i--) {
    const dInput = i > 0 ? zero(ws.dOutputs[i - 1]) : dx ?? zero(ws.dInputScratch);
    decoderLayerBackward(dInput, dMemory, ws.layers[i], upstream);
    upstream = dInput;
  }
}
