/**
 * Gradient-check cases of the Transformer pieces: layer norm, dropout with a fixed mask, GELU, the
 * position-wise feed-forward block, encoder and decoder layers (post-norm and pre-norm, ReLU and GELU,
 * ragged key padding masks, causal masks, fixed dropout masks) and the stacks with positions.
 */
import { Matrix } from '../../../engine/matrix.js';
import type { Rng } from '../../../engine/rng.js';
import {
  createLayerNorm, createLayerNormWorkspace, layerNormBackward, layerNormForward, zeroLayerNormGrads,
} from '../../../layers/norm.js';
import { gelu, geluBackward } from '../../../engine/gelu.js';
import { sourceMaskFromLengths } from '../../../layers/attention/attention.js';
import { causalMask, type AttentionMasks } from '../../../layers/attention/multihead.js';
import {
  DROPOUT_FIXED, createDropoutWorkspace, dropoutBackward, dropoutForward, sampleDropoutMask, type DropoutWorkspace,
} from '../../../layers/dropout.js';
import {
  createEncoderLayerWorkspace, createTransformerEncoderLayer, encoderLayerBackward, encoderLayerForward,
  encoderLayerParameters, zeroTransformerEncoderLayerGrads,
} from '../../../layers/transformer/encoder-layer.js';
import {
  createFeedForward, createFeedForwardWorkspace, feedForwardBackward, feedForwardForward, zeroFeedForwardGrads,
  type FeedForwardActivation,
} from '../../../layers/transformer/feedforward.js';
import type { NamedParameters } from '../../../layers/transformer/parameters.js';
import {
  createDecoderLayerWorkspace, createTransformerDecoderLayer, decoderLayerBackward, decoderLayerForward,
  decoderLayerParameters, zeroTransformerDecoderLayerGrads,
} from '../../../layers/transformer/decoder-layer.js';
import {
  createTransformerEncoderWorkspace, createTransformerEncoder, transformerEncoderBackward, transformerEncoderForward, transformerEncoderParameters,
  zeroTransformerEncoderGrads,
} from '../../../layers/transformer/encoder.js';
import {
  createTransformerDecoderWorkspace, createTransformerDecoder, transformerDecoderBackward, transformerDecoderForward, transformerDecoderParameters,
  zeroTransformerDecoderGrads,
} from '../../../layers/transformer/decoder.js';
import {
  createTransformerPositions, positionsBackward, positionsForward, type PositionKind,
} from '../../../layers/transformer/positions.js';
import type { GradCheckCase, GradCheckProblem } from '../gradcheck.js';
import { randomMatrix, weightedSum } from './engine-cases.js';

function randomize(m: Matrix, rng: Rng, scale = 1): void {
  for (let i = 0; i < m.rows; i++) for (let c = 0; c < m.cols; c++) m.set(i, c, rng.uniformIn(-scale, scale));
}

/** LayerNorm over D = 6 of a [T·B, D] sequence, T = 4, B = 3, random γ and β. */
const layerNormCase: GradCheckCase = {
  group: 'transformer',
  op: 'layer norm (last axis, ε = 1e−5)',
  build(rng) {
    const T = 4, B = 3, D = 6;
    const norm = createLayerNorm({ dim: D }, { dtype: 'float64' });
    randomize(norm.params.weight, rng, 1.5);
    randomize(norm.params.bias, rng, 0.5);
    const x = randomMatrix(rng, T * B, D, 2);
    const w = randomMatrix(rng, T * B, D);
    const ws = createLayerNormWorkspace(norm, T * B);
    const y = Matrix.zeros(T * B, D, 'float64');
    const dx = Matrix.zeros(T * B, D, 'float64');
    return {
      params: { ...norm.params, x },
      loss: () => weightedSum(layerNormForward(y, ws, x), w),
      gradients: () => {
        zeroLayerNormGrads(norm);
        dx.data.fill(0);
        layerNormForward(y, ws, x);
        layerNormBackward(dx, ws, w);
        return { ...norm.grads, x: dx };
      },
    };
  },
};

/** GELU (exact, erf) on inputs spread over [−4, 4]. */
const geluCase: GradCheckCase = {
  group: 'transformer',
  op: 'GELU (exact erf form)',
  build(rng) {
    const x = randomMatrix(rng, 6, 7, 4);
    const w = randomMatrix(rng, 6, 7);
    const y = Matrix.zeros(6, 7, 'float64');
    const dx = Matrix.zeros(6, 7, 'float64');
    return {
      params: { x },
      loss: () => weightedSum(gelu(y, x), w),
      gradients: () => ({ x: geluBackward(dx, w, x) }),
    };
  },
};

/** Draw every dropout mask once: the problem then holds them fixed (DROPOUT_FIXED). */
function drawMasks(dropouts: DropoutWorkspace[], rng: Rng): void {
  for (const d of dropouts) sampleDropoutMask(d, rng);
}

/** tanh-free dropout check: y = drop(x) ∗ x (so the gradient depends on x too), fixed mask p = 0.3. */
const dropoutCase: GradCheckCase = {
  group: 'transformer',
  op: 'dropout p = 0.3, fixed mask',
  build(rng) {
    const ws = createDropoutWorkspace({ p: 0.3, rows: 8, cols: 5 }, { dtype: 'float64' });
    drawMasks([ws], rng);
    const x = randomMatrix(rng, 8, 5);
    const w = randomMatrix(rng, 8, 5);
    const y = Matrix.zeros(8, 5, 'float64');
    const dx = Matrix.zeros(8, 5, 'float64');
    return {
      params: { x },
      loss: () => weightedSum(dropoutForward(y, ws, x, DROPOUT_FIXED), w),
      gradients: () => {
        dx.data.fill(0);
        dropoutForward(y, ws, x, DROPOUT_FIXED);
        dropoutBackward(dx, ws, w);
        return { x: dx };
      },
    };
  },
};

/** The feed-forward block E = 5 → F = 7 → E over T·B = 4·3 rows, dropout 0.25 with a fixed mask. */
function feedForwardCase(activation: FeedForwardActivation): GradCheckCase {
  return {
    group: 'transformer',
    op: `position-wise feed-forward (${activation === 'relu' ? 'ReLU' : 'GELU'}), fixed dropout mask`,
    build(rng) {
      const N = 12, E = 5, F = 7;
      const ffn = createFeedForward({ dModel: E, dimFeedforward: F, activation, dropout: 0.25 }, { rng, dtype: 'float64' });
      const ws = createFeedForwardWorkspace(ffn, N);
      drawMasks([ws.dropout], rng);
      const x = randomMatrix(rng, N, E, 1.5);
      const w = randomMatrix(rng, N, E);
      const out = Matrix.zeros(N, E, 'float64');
      const dx = Matrix.zeros(N, E, 'float64');
      const named = { 'linear1.weight': ffn.linear1.params.W, 'linear1.bias': ffn.linear1.params.b!, 'linear2.weight': ffn.linear2.params.W, 'linear2.bias': ffn.linear2.params.b! };
      return {
        params: { ...named, x },
        loss: () => weightedSum(feedForwardForward(out, ws, x, DROPOUT_FIXED), w),
        gradients: () => {
          zeroFeedForwardGrads(ffn);
          dx.data.fill(0);
          feedForwardForward(out, ws, x, DROPOUT_FIXED);
          feedForwardBackward(dx, ws, w);
          return {
            'linear1.weight': ffn.linear1.grads.W, 'linear1.bias': ffn.linear1.grads.b!,
            'linear2.weight': ffn.linear2.grads.W, 'linear2.bias': ffn.linear2.grads.b!, x: dx,
          };
        },
      };
    },
  };
}

/**
 * Random weights (biases and norm gains too, so every term matters) and the checked set: every parameter
 * except the key biases b_k of the attention blocks, whose true gradient is exactly 0 (q·b_k shifts a whole
 * score row, which softmax ignores; see attention-cases.ts), so a central difference there is round-off.
 */
function randomizedChecked(named: NamedParameters, rng: Rng): NamedParameters {
  const params: Record<string, Matrix> = {};
  const grads: Record<string, Matrix> = {};
  for (const [name, p] of Object.entries(named.params)) {
    randomize(p, rng, name.includes('norm') && name.endsWith('.weight') ? 1.5 : 0.6);
    if (name.endsWith('.b_k')) continue;
    params[name] = p;
    grads[name] = named.grads[name];
  }
  return { params, grads };
}

/** The problem of a layer or stack: loss Σ w ∗ y over every output row (padded steps included). */
function layerProblem(
  checked: NamedParameters, inputs: Record<string, Matrix>, inputGrads: Record<string, Matrix>,
  zeroGrads: () => void, forward: () => Matrix, backward: (dy: Matrix) => void, w: Matrix,
): GradCheckProblem {
  return {
    params: { ...checked.params, ...inputs },
    loss: () => weightedSum(forward(), w),
    gradients: () => {
      zeroGrads();
      for (const g of Object.values(inputGrads)) g.data.fill(0);
      forward();
      backward(w);
      return { ...checked.grads, ...inputGrads };
    },
  };
}

/** Encoder layer E = 6, h = 2, F = 10, T = 5, B = 3, ragged lengths [5, 2, 4], dropout 0.2 with fixed masks. */
function encoderLayerCase(normFirst: boolean, activation: FeedForwardActivation, causal: boolean): GradCheckCase {
  return {
    group: 'transformer',
    op: `encoder layer, ${normFirst ? 'pre-norm' : 'post-norm'}, ${activation === 'relu' ? 'ReLU' : 'GELU'}, padding${causal ? ' + causal' : ''} mask, fixed dropout`,
    maxEntries: 40,
    build(rng) {
      const T = 5, B = 3, E = 6;
      const layer = createTransformerEncoderLayer({
        dModel: E, numHeads: 2, dimFeedforward: 10, dropout: 0.2, activation, normFirst,
      }, { rng, dtype: 'float64' });
      const checked = randomizedChecked(encoderLayerParameters(layer), rng);
      const ws = createEncoderLayerWorkspace(layer, T, B);
      drawMasks(ws.dropouts, rng);
      const masks: AttentionMasks = { keyPaddingMask: sourceMaskFromLengths([5, 2, 4], T, 'float64') };
      if (causal) masks.attnMask = causalMask(T, { dtype: 'float64' });
      const x = randomMatrix(rng, T * B, E);
      const w = randomMatrix(rng, T * B, E);
      const y = Matrix.zeros(T * B, E, 'float64');
      const dx = Matrix.zeros(T * B, E, 'float64');
      return layerProblem(
        checked, { x }, { x: dx }, () => zeroTransformerEncoderLayerGrads(layer),
        () => encoderLayerForward(y, ws, x, masks, DROPOUT_FIXED),
        (dy) => encoderLayerBackward(dx, ws, dy), w,
      );
    },
  };
}

/**
 * Decoder layer E = 6, h = 3, F = 8, T = 4, S = 5, B = 3: causal self-attention with target lengths
 * [4, 2, 3], cross-attention over a memory with source lengths [5, 3, 1]; dropout 0.15, fixed masks.
 */
function decoderLayerCase(normFirst: boolean, activation: FeedForwardActivation): GradCheckCase {
  return {
    group: 'transformer',
    op: `decoder layer, ${normFirst ? 'pre-norm' : 'post-norm'}, ${activation === 'relu' ? 'ReLU' : 'GELU'}, causal + ragged masks, fixed dropout`,
    maxEntries: 30,
    build(rng) {
      const T = 4, S = 5, B = 3, E = 6;
      const layer = createTransformerDecoderLayer({
        dModel: E, numHeads: 3, dimFeedforward: 8, dropout: 0.15, activation, normFirst,
      }, { rng, dtype: 'float64' });
      const checked = randomizedChecked(decoderLayerParameters(layer), rng);
      const ws = createDecoderLayerWorkspace(layer, T, S, B);
      drawMasks(ws.dropouts, rng);
      const tgtMasks: AttentionMasks = { keyPaddingMask: sourceMaskFromLengths([4, 2, 3], T, 'float64'), attnMask: causalMask(T, { dtype: 'float64' }) };
      const memoryMasks: AttentionMasks = { keyPaddingMask: sourceMaskFromLengths([5, 3, 1], S, 'float64') };
      const x = randomMatrix(rng, T * B, E);
      const memory = randomMatrix(rng, S * B, E);
      const w = randomMatrix(rng, T * B, E);
      const y = Matrix.zeros(T * B, E, 'float64');
      const dx = Matrix.zeros(T * B, E, 'float64');
      const dMemory = Matrix.zeros(S * B, E, 'float64');
      return layerProblem(
        checked, { x, memory }, { x: dx, memory: dMemory }, () => zeroTransformerDecoderLayerGrads(layer),
        () => decoderLayerForward(y, ws, x, memory, tgtMasks, memoryMasks, DROPOUT_FIXED),
        (dy) => decoderLayerBackward(dx, dMemory, ws, dy), w,
      );
    },
  };
}

/**
 * Encoder stack (2 layers and the final norm) over x + P, P sinusoidal or learned (7 positions):
 * E = 6, h = 2, F = 8, T = 5, B = 2, lengths [5, 3], dropout 0.1 with fixed masks.
 */
function encoderStackCase(normFirst: boolean, positionKind: PositionKind): GradCheckCase {
  return {
    group: 'transformer',
    op: `encoder stack (2 layers + final norm), ${normFirst ? 'pre-norm' : 'post-norm'}, ${positionKind} positions`,
    maxEntries: 20,
    build(rng) {
      const T = 5, B = 2, E = 6;
      const encoder = createTransformerEncoder({
        dModel: E, numHeads: 2, dimFeedforward: 8, dropout: 0.1, normFirst, numLayers: 2,
      }, { rng, dtype: 'float64' });
      const named = transformerEncoderParameters(encoder);
      const positions = createTransformerPositions({ kind: positionKind, maxLength: 7, dim: E }, { rng, dtype: 'float64' });
      if (positions.kind === 'learned') {
        named.params['positions.weight'] = positions.embedding.params.weight;
        named.grads['positions.weight'] = positions.embedding.grads.weight;
      }
      const checked = randomizedChecked(named, rng);
      const ws = createTransformerEncoderWorkspace(encoder, T, B);
      drawMasks(ws.dropouts, rng);
      const masks: AttentionMasks = { keyPaddingMask: sourceMaskFromLengths([5, 3], T, 'float64') };
      const x = randomMatrix(rng, T * B, E);
      const w = randomMatrix(rng, T * B, E);
      const positioned = Matrix.zeros(T * B, E, 'float64');
      const dPositioned = Matrix.zeros(T * B, E, 'float64');
      const y = Matrix.zeros(T * B, E, 'float64');
      const dx = Matrix.zeros(T * B, E, 'float64');
      return layerProblem(
        checked, { x }, { x: dx }, () => {
          zeroTransformerEncoderGrads(encoder);
          if (positions.kind === 'learned') positions.embedding.grads.weight.data.fill(0);
        },
        () => transformerEncoderForward(y, ws, positionsForward(positioned, positions, x, B), masks, DROPOUT_FIXED),
        (dy) => {
          dPositioned.data.fill(0);
          transformerEncoderBackward(dPositioned, ws, dy);
          positionsBackward(dx, positions, dPositioned, B);
        }, w,
      );
    },
  };
}

/** Decoder stack (2 layers + final norm): E = 4, h = 2, F = 6, T = 4, S = 3, B = 2, causal + ragged masks. */
function decoderStackCase(normFirst: boolean): GradCheckCase {
  return {
    group: 'transformer',
    op: `decoder stack (2 layers + final norm), ${normFirst ? 'pre-norm' : 'post-norm'}, causal + ragged masks`,
    maxEntries: 20,
    build(rng) {
      const T = 4, S = 3, B = 2, E = 4;
      const decoder = createTransformerDecoder({
        dModel: E, numHeads: 2, dimFeedforward: 6, dropout: 0.1, normFirst, activation: 'gelu', numLayers: 2,
      }, { rng, dtype: 'float64' });
      const checked = randomizedChecked(transformerDecoderParameters(decoder), rng);
      const ws = createTransformerDecoderWorkspace(decoder, T, S, B);
      drawMasks(ws.dropouts, rng);
      const tgtMasks: AttentionMasks = { keyPaddingMask: sourceMaskFromLengths([4, 2], T, 'float64'), attnMask: causalMask(T, { dtype: 'float64' }) };
      const memoryMasks: AttentionMasks = { keyPaddingMask: sourceMaskFromLengths([2, 3], S, 'float64') };
      const x = randomMatrix(rng, T * B, E);
      const memory = randomMatrix(rng, S * B, E);
      const w = randomMatrix(rng, T * B, E);
      const y = Matrix.zeros(T * B, E, 'float64');
      const dx = Matrix.zeros(T * B, E, 'float64');
      const dMemory = Matrix.zeros(S * B, E, 'float64');
      return layerProblem(
        checked, { x, memory }, { x: dx, memory: dMemory }, () => zeroTransformerDecoderGrads(decoder),
        () => transformerDecoderForward(y, ws, x, memory, tgtMasks, memoryMasks, DROPOUT_FIXED),
        (dy) => transformerDecoderBackward(dx, dMemory, ws, dy), w,
      );
    },
  };
}

export const transformerCases: GradCheckCase[] = [
  layerNormCase,
  geluCase,
  dropoutCase,
  feedForwardCase('relu'),
  feedForwardCase('gelu'),
  encoderLayerCase(false, 'relu', false),
  encoderLayerCase(true, 'gelu', true),
  decoderLayerCase(false, 'relu'),
  decoderLayerCase(true, 'gelu'),
  encoderStackCase(true, 'sinusoidal'),
  encoderStackCase(false, 'learned'),
  decoderStackCase(false),
  decoderStackCase(true),
];
