/**
 * PyTorch interchange for the Transformer layers: load and write the state_dicts of
 * nn.TransformerEncoderLayer, nn.TransformerDecoderLayer, nn.TransformerEncoder and nn.TransformerDecoder
 * under PyTorch's own names, as nested arrays:
 *   self_attn.in_proj_weight (3E, E) = [W_q; W_k; W_v], self_attn.in_proj_bias, self_attn.out_proj.weight/bias,
 *   multihead_attn.* (decoder), linear1.weight (F, E), linear1.bias, linear2.weight (E, F), linear2.bias,
 *   norm1.weight, norm1.bias, norm2.*, norm3.* (decoder); stacks prefix 'layers.i.' and add 'norm.weight/bias'.
 * The writers take 'params' or 'grads', so gradients can be compared with PyTorch's .grad under the same names.
 */
import type { Matrix } from '../../engine/matrix.js';
import {
  loadMultiheadAttentionStateDict, multiheadAttentionStateDict, type MhaStateDict, type MultiheadAttention,
} from '../attention/multihead.js';
import type { DenseLayer } from '../dense.js';
import { layerNormStateDict, loadLayerNormStateDict, type LayerNorm, type LayerNormStateDict } from '../norm.js';
import type { TransformerDecoderLayer } from './decoder-layer.js';
import type { TransformerDecoder } from './decoder.js';
import type { TransformerEncoderLayer } from './encoder-layer.js';
import type { TransformerEncoder } from './encoder.js';

/** A flat PyTorch state_dict: name → (rows, cols) or (n) nested array. */
export type NestedStateDict = Record<string, number[][] | number[]>;
type Which = 'params' | 'grads';

function entry(op: string, state: NestedStateDict, name: string): unknown {
  if (!(name in state)) throw new Error(`${op}: expected the state_dict to have '${name}', it does not`);
  return state[name];
}

function loadMatrix(op: string, name: string, value: unknown, target: Matrix, asVector: boolean): void {
  const { rows, cols } = target;
  const grid = asVector ? [value] : value;
  const ok = Array.isArray(grid) && grid.length === rows && grid.every(
    (row) => Array.isArray(row) && row.length === cols && row.every((x) => typeof x === 'number'));
  if (!ok) {
    const got = Array.isArray(value) ? `${value.length} entries` : typeof value;
    const want = asVector ? `${cols} numbers` : `a (${rows}, ${cols}) array of numbers`;
    throw new Error(`${op}: expected '${name}' to be ${want}, got ${got}`);
  }
  const g = grid as number[][];
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) target.set(r, c, g[r][c]);
}

function loadAttention(op: string, mha: MultiheadAttention, state: NestedStateDict, prefix: string): void {
  const names = ['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias'] as const;
  const sub = {} as Record<(typeof names)[number], unknown>;
  for (const n of names) sub[n] = entry(op, state, prefix + n);
  loadMultiheadAttentionStateDict(mha, sub as unknown as MhaStateDict);
}

function loadLinear(op: string, dense: DenseLayer, state: NestedStateDict, prefix: string): void {
  loadMatrix(op, `${prefix}weight`, entry(op, state, `${prefix}weight`), dense.params.W, false);
  if (dense.params.b) loadMatrix(op, `${prefix}bias`, entry(op, state, `${prefix}bias`), dense.params.b, true);
}

function loadNorm(op: string, norm: LayerNorm, state: NestedStateDict, prefix: string): void {
  loadLayerNormStateDict(norm, {
    weight: entry(op, state, `${prefix}weight`), bias: entry(op, state, `${prefix}bias`),
  } as LayerNormStateDict, prefix);
}

function writeAttention(out: NestedStateDict, mha: MultiheadAttention, which: Which, prefix: string): void {
  const sd = multiheadAttentionStateDict(which === 'params' ? mha : { ...mha, params: mha.grads });
  for (const [k, v] of Object.entries(sd)) out[prefix + k] = v;
}

function writeLinear(out: NestedStateDict, dense: DenseLayer, which: Which, prefix: string): void {
  const p = dense[which];
  out[`${prefix}weight`] = p.W.toArray();
  if (p.b) out[`${prefix}bias`] = p.b.toArray()[0];
}

function writeNorm(out: NestedStateDict, norm: LayerNorm, which: Which, prefix: string): void {
  const sd = layerNormStateDict(norm, which);
  out[`${prefix}weight`] = sd.weight;
  out[`${prefix}bias`] = sd.bias;
}

/** Copy an nn.TransformerEncoderLayer state_dict (keys under `prefix`) into `layer`; shapes are checked. */
export function loadEncoderLayerStateDict(layer: TransformerEncoderLayer, state: NestedStateDict, prefix = ''): void {
  const op = 'loadEncoderLayerStateDict';
  loadAttention(op, layer.selfAttn, state, `${prefix}self_attn.`);
  loadLinear(op, layer.ffn.linear1, state, `${prefix}linear1.`);
  loadLinear(op, layer.ffn.linear2, state, `${prefix}linear2.`);
  loadNorm(op, layer.norm1, state, `${prefix}norm1.`);
  loadNorm(op, layer.norm2, state, `${prefix}norm2.`);
}

export function encoderLayerStateDict(layer: TransformerEncoderLayer, which: Which = 'params', prefix = '', out: NestedStateDict = {}): NestedStateDict {
  writeAttention(out, layer.selfAttn, which, `${prefix}self_attn.`);
  writeLinear(out, layer.ffn.linear1, which, `${prefix}linear1.`);
  writeLinear(out, layer.ffn.linear2, which, `${prefix}linear2.`);
  writeNorm(out, layer.norm1, which, `${prefix}norm1.`);
  writeNorm(out, layer.norm2, which, `${prefix}norm2.`);
  return out;
}

/** Copy an nn.TransformerDecoderLayer state_dict (keys under `prefix`) into `layer`. */
export function loadDecoderLayerStateDict(layer: TransformerDecoderLayer, state: NestedStateDict, prefix = ''): void {
  const op = 'loadDecoderLayerStateDict';
  loadAttention(op, layer.selfAttn, state, `${prefix}self_attn.`);
  loadAttention(op, layer.crossAttn, state, `${prefix}multihead_attn.`);
  loadLinear(op, layer.ffn.linear1, state, `${prefix}linear1.`);
  loadLinear(op, layer.ffn.linear2, state, `${prefix}linear2.`);
  loadNorm(op, layer.norm1, state, `${prefix}norm1.`);
  loadNorm(op, layer.norm2, state, `${prefix}norm2.`);
  loadNorm(op, layer.norm3, state, `${prefix}norm3.`);
}

export function decoderLayerStateDict(layer: TransformerDecoderLayer, which: Which = 'params', prefix = '', out: NestedStateDict = {}): NestedStateDict {
  writeAttention(out, layer.selfAttn, which, `${prefix}self_attn.`);
  writeAttention(out, layer.crossAttn, which, `${prefix}multihead_attn.`);
  writeLinear(out, layer.ffn.linear1, which, `${prefix}linear1.`);
  writeLinear(out, layer.ffn.linear2, which, `${prefix}linear2.`);
  writeNorm(out, layer.norm1, which, `${prefix}norm1.`);
  writeNorm(out, layer.norm2, which, `${prefix}norm2.`);
  writeNorm(out, layer.norm3, which, `${prefix}norm3.`);
  return out;
}

/** nn.TransformerEncoder: 'layers.i.…' and, with a final norm, 'norm.weight' and 'norm.bias'. */
export function loadEncoderStateDict(encoder: TransformerEncoder, state: NestedStateDict, prefix = ''): void {
  encoder.layers.forEach((layer, i) => loadEncoderLayerStateDict(layer, state, `${prefix}layers.${i}.`));
  if (encoder.norm) loadNorm('loadEncoderStateDict', encoder.norm, state, `${prefix}norm.`);
}

export function encoderStateDict(encoder: TransformerEncoder, which: Which = 'params', prefix = '', out: NestedStateDict = {}): NestedStateDict {
  encoder.layers.forEach((layer, i) => encoderLayerStateDict(layer, which, `${prefix}layers.${i}.`, out));
  if (encoder.norm) writeNorm(out, encoder.norm, which, `${prefix}norm.`);
  return out;
}

/** nn.TransformerDecoder: 'layers.i.…' and, with a final norm, 'norm.weight' and 'norm.bias'. */
export function loadDecoderStateDict(decoder: TransformerDecoder, state: NestedStateDict, prefix = ''): void {
  decoder.layers.forEach((layer, i) => loadDecoderLayerStateDict(layer, state, `${prefix}layers.${i}.`));
  if (decoder.norm) loadNorm('loadDecoderStateDict', decoder.norm, state, `${prefix}norm.`);
}

export function decoderStateDict(decoder: TransformerDecoder, which: Which = 'params', prefix = '', out: NestedStateDict = {}): NestedStateDict {
  decoder.layers.forEach((layer, i) => decoderLayerStateDict(layer, which, `${prefix}layers.${i}.`, out));
  if (decoder.norm) writeNorm(out, decoder.norm, which, `${prefix}norm.`);
  return out;
}
