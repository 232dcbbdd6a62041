import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Matrix } from '../../../engine/matrix.js';
import { Rng } from '../../../engine/rng.js';
import type { AttentionMasks } from '../../../layers/attention/multihead.js';
import { DROPOUT_OFF } from '../../../layers/dropout.js';
import {
  createLayerNorm, createLayerNormWorkspace, layerNormBackward, layerNormForward, layerNormStateDict, loadLayerNormStateDict,
} from '../../../layers/norm.js';
import {
  createDecoderLayerWorkspace, createTransformerDecoderLayer, decoderLayerBackward, decoderLayerForward,
} from '../../../layers/transformer/decoder-layer.js';
import {
  createTransformerDecoder, createTransformerDecoderWorkspace, transformerDecoderBackward, transformerDecoderForward,
} from '../../../layers/transformer/decoder.js';
import {
  createEncoderLayerWorkspace, createTransformerEncoderLayer, encoderLayerBackward, encoderLayerForward,
} from '../../../layers/transformer/encoder-layer.js';
import {
  createTransformerEncoder, createTransformerEncoderWorkspace, transformerEncoderBackward, transformerEncoderForward,
} from '../../../layers/transformer/encoder.js';
import type { TransformerLayerOptions } from '../../../layers/transformer/options.js';
import {
  decoderLayerStateDict, decoderStateDict, encoderLayerStateDict, encoderStateDict, loadDecoderLayerStateDict,
  loadDecoderStateDict, loadEncoderLayerStateDict, loadEncoderStateDict, type NestedStateDict,
} from '../../../layers/transformer/state-dict.js';

// Reference values from PyTorch 1.13 in float64, written by spec/fixtures/gen_transformer.py (layout described
// there): nn.LayerNorm, nn.TransformerEncoderLayer / DecoderLayer (both norm orders, ReLU and GELU) and the
// stacks with a final norm. Loaded by PyTorch's state_dict names; everything must match to 1e−10.

type Grid = number[][];
interface TorchCase {
  name: string;
  kind: 'layer_norm' | 'encoder_layer' | 'decoder_layer' | 'encoder' | 'decoder';
  config: Record<string, number | string | boolean | null>;
  state_dict: NestedStateDict;
  inputs: Record<string, Grid>;
  masks?: Record<string, boolean[][] | null>;
  output: Grid;
  upstream: Grid;
  grads: Record<string, Grid | number[]>;
}

const fixture = JSON.parse(readFileSync(new URL('../../fixtures/transformer.json', import.meta.url), 'utf8')) as {
  dtype: string; cases: TorchCase[];
};

const TOLERANCE = 1e-10;

function maxDiff(actual: Grid | number[], expected: Grid | number[]): number {
  const a = (Array.isArray(actual[0]) ? actual : [actual]) as Grid;
  const e = (Array.isArray(expected[0]) ? expected : [expected]) as Grid;
  expect(a.length).toBe(e.length);
  let d = 0;
  a.forEach((row, r) => {
    expect(row.length).toBe(e[r].length);
    row.forEach((x, c) => { d = Math.max(d, Math.abs(x - e[r][c])); });
  });
  return d;
}

/** PyTorch key_padding_mask (N, T), True = padding → seqgrad's [T, N], 1 = real step. */
function keyPadding(mask: boolean[][]): Matrix {
  const N = mask.length, T = mask[0].length;
  const m = Matrix.zeros(T, N, 'float64');
  for (let b = 0; b < N; b++) for (let t = 0; t < T; t++) m.set(t, b, mask[b][t] ? 0 : 1);
  return m;
}

/** PyTorch boolean attn_mask (L, S), True = not allowed → seqgrad's [L, S], 1 = allowed. */
function attnMask(mask: boolean[][]): Matrix {
  return Matrix.fromArray(mask.map((row) => row.map((v) => (v ? 0 : 1))), 'float64');
}

function layerOptions(c: TorchCase): TransformerLayerOptions {
  const k = c.config;
  return {
    dModel: k.d_model as number, numHeads: k.nhead as number, dimFeedforward: k.dim_feedforward as number,
    dropout: k.dropout as number, activation: k.activation as 'relu' | 'gelu', layerNormEps: k.layer_norm_eps as number,
    normFirst: k.norm_first as boolean, dtype: 'float64',
  };
}

interface Run { output: Matrix; inputGrads: Record<string, Matrix>; paramGrads: NestedStateDict; loaded: NestedStateDict }

/** Build the seqgrad module of a case from its state_dict, run forward and backward with the case's upstream. */
function run(c: TorchCase): Run {
  const input = (name: string): Matrix => Matrix.fromArray(c.inputs[name], 'float64');
  const upstream = Matrix.fromArray(c.upstream, 'float64');
  const zerosLike = (m: Matrix): Matrix => Matrix.zeros(m.rows, m.cols, 'float64');
  const rng = new Rng(0);
  const masks = c.masks ?? {};
  if (c.kind === 'layer_norm') {
    const norm = createLayerNorm({ dim: c.config.normalized_shape as number, eps: c.config.eps as number }, { dtype: 'float64' });
    loadLayerNormStateDict(norm, c.state_dict as unknown as { weight: number[]; bias: number[] });
    const x = input('x');
    const ws = createLayerNormWorkspace(norm, x.rows);
    const output = layerNormForward(zerosLike(x), ws, x);
    const dx = zerosLike(x);
    layerNormBackward(dx, ws, upstream);
    return { output, inputGrads: { x: dx }, paramGrads: { ...layerNormStateDict(norm, 'grads') }, loaded: { ...layerNormStateDict(norm) } };
  }
  if (c.kind === 'encoder_layer' || c.kind === 'encoder') {
    const T = c.config.T as number, N = c.config.N as number;
    const src = input('src');
    const m: AttentionMasks = { keyPaddingMask: keyPadding(masks.src_key_padding_mask!) };
    if (masks.src_mask) m.attnMask = attnMask(masks.src_mask);
    const output = zerosLike(src), dSrc = zerosLike(src);
    if (c.kind === 'encoder_layer') {
      const layer = createTransformerEncoderLayer(layerOptions(c), { rng });
      loadEncoderLayerStateDict(layer, c.state_dict);
      const ws = createEncoderLayerWorkspace(layer, T, N);
      encoderLayerForward(output, ws, src, m, DROPOUT_OFF);
      encoderLayerBackward(dSrc, ws, upstream);
      return { output, inputGrads: { src: dSrc }, paramGrads: encoderLayerStateDict(layer, 'grads'), loaded: encoderLayerStateDict(layer) };
    }
    const encoder = createTransformerEncoder({ ...layerOptions(c), numLayers: c.config.num_layers as number }, { rng });
    loadEncoderStateDict(encoder, c.state_dict);
    const ws = createTransformerEncoderWorkspace(encoder, T, N);
    transformerEncoderForward(output, ws, src, m, DROPOUT_OFF);
    transformerEncoderBackward(dSrc, ws, upstream);
    return { output, inputGrads: { src: dSrc }, paramGrads: encoderStateDict(encoder, 'grads'), loaded: encoderStateDict(encoder) };
  }
  const T = c.config.T as number, S = c.config.S as number, N = c.config.N as number;
  const tgt = input('tgt'), memory = input('memory');
  const tgtMasks: AttentionMasks = { keyPaddingMask: keyPadding(masks.tgt_key_padding_mask!), attnMask: attnMask(masks.tgt_mask!) };
  const memoryMasks: AttentionMasks = { keyPaddingMask: keyPadding(masks.memory_key_padding_mask!) };
  const output = zerosLike(tgt), dTgt = zerosLike(tgt), dMemory = zerosLike(memory);
  if (c.kind === 'decoder_layer') {
    const layer = createTransformerDecoderLayer(layerOptions(c), { rng });
    loadDecoderLayerStateDict(layer, c.state_dict);
    const ws = createDecoderLayerWorkspace(layer, T, S, N);
    decoderLayerForward(output, ws, tgt, memory, tgtMasks, memoryMasks, DROPOUT_OFF);
    decoderLayerBackward(dTgt, dMemory, ws, upstream);
    return { output, inputGrads: { tgt: dTgt, memory: dMemory }, paramGrads: decoderLayerStateDict(layer, 'grads'), loaded: decoderLayerStateDict(layer) };
  }
  const decoder = createTransformerDecoder({ ...layerOptions(c), numLayers: c.config.num_layers as number }, { rng });
  loadDecoderStateDict(decoder, c.state_dict);
  const ws = createTransformerDecoderWorkspace(decoder, T, S, N);
  transformerDecoderForward(output, ws, tgt, memory, tgtMasks, memoryMasks, DROPOUT_OFF);
  transformerDecoderBackward(dTgt, dMemory, ws, upstream);
  return { output, inputGrads: { tgt: dTgt, memory: dMemory }, paramGrads: decoderStateDict(decoder, 'grads'), loaded: decoderStateDict(decoder) };
}

describe('Transformer layers match PyTorch (float64 fixture, state_dict names)', () => {
  it('the fixture is float64 with every kind, both norm orders and both activations', () => {
    expect(fixture.dtype).toBe('float64');
    const kinds = new Set(fixture.cases.map((c) => c.kind));
    expect([...kinds].sort()).toEqual(['decoder', 'decoder_layer', 'encoder', 'encoder_layer', 'layer_norm']);
    for (const kind of ['encoder_layer', 'decoder_layer']) {
      const combos = fixture.cases.filter((c) => c.kind === kind).map((c) => `${c.config.norm_first}/${c.config.activation}`);
      expect(combos.sort()).toEqual(['false/gelu', 'false/relu', 'true/gelu', 'true/relu']);
    }
  });

  for (const c of fixture.cases) {
    it(`${c.name}: the state_dict round-trips under PyTorch's names`, () => {
      const { loaded } = run(c);
      expect(Object.keys(loaded).sort()).toEqual(Object.keys(c.state_dict).sort());
      for (const [name, value] of Object.entries(c.state_dict)) expect(loaded[name], name).toEqual(value);
    });

    it(`${c.name}: output, input gradients and every parameter gradient within ${TOLERANCE}`, () => {
      const { output, inputGrads, paramGrads } = run(c);
      expect(maxDiff(output.toArray(), c.output)).toBeLessThanOrEqual(TOLERANCE);
      for (const [name, grad] of Object.entries(inputGrads)) {
        expect(maxDiff(grad.toArray(), c.grads[name]), name).toBeLessThanOrEqual(TOLERANCE);
      }
      const paramNames = Object.keys(c.grads).filter((n) => !(n in inputGrads));
      expect(paramNames.sort()).toEqual(Object.keys(paramGrads).sort());
      for (const name of paramNames) expect(maxDiff(paramGrads[name], c.grads[name]), name).toBeLessThanOrEqual(TOLERANCE);
    });
  }

  it('a missing or misshapen entry is named', () => {
    const c = fixture.cases.find((k) => k.kind === 'encoder_layer')!;
    const layer = createTransformerEncoderLayer(layerOptions(c), { rng: new Rng(0) });
    const { 'linear1.weight': _dropped, ...missing } = c.state_dict;
    expect(() => loadEncoderLayerStateDict(layer, missing)).toThrow("loadEncoderLayerStateDict: expected the state_dict to have 'linear1.weight', it does not");
    const bad = { ...c.state_dict, 'linear2.bias': [1, 2] };
    expect(() => loadEncoderLayerStateDict(layer, bad)).toThrow(`loadEncoderLayerStateDict: expected 'linear2.bias' to be ${c.config.d_model} numbers, got 2 entries`);
  });
});
