/** Gradient-check cases of the engine's ops (activations, the softmax family, …). */
import { activate, activateBackward, type Activation } from '../../../engine/activations.js';
import {
  binaryCrossEntropyWithLogits, binaryCrossEntropyWithLogitsBackward, crossEntropy, crossEntropyBackward,
  type LossReduction,
} from '../../../engine/cross-entropy.js';
import {
  logSoftmax, logSoftmaxBackward, softmax, softmaxBackward, softmaxWithTemperature, softmaxWithTemperatureBackward,
} from '../../../engine/softmax.js';
import { createDense, denseBackward, denseForward, denseZeroGrad } from '../../../layers/dense.js';
import { Matrix } from '../../../engine/matrix.js';
import type { Rng } from '../../../engine/rng.js';
import type { GradCheckCase } from '../gradcheck.js';

/** A random float64 matrix with entries in (−scale, scale). */
export function randomMatrix(rng: Rng, rows: number, cols: number, scale = 1): Matrix {
  const m = Matrix.zeros(rows, cols, 'float64');
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.uniformIn(-scale, scale);
  return m;
}

/** Σ w ∗ y: a scalar loss with random weights w, so every output entry matters differently. */
export function weightedSum(y: Matrix, w: Matrix): number {
  let s = 0;
  for (let r = 0; r < y.rows; r++) for (let c = 0; c < y.cols; c++) s += y.get(r, c) * w.get(r, c);
  return s;
}

function activationCase(kind: Activation): GradCheckCase {
  return {
    group: 'engine',
    op: kind,
    build(rng) {
      const x = randomMatrix(rng, 4, 5, 2);
      if (kind === 'relu') {
        // keep inputs away from the kink at 0, where the derivative is undefined
        for (let i = 0; i < x.data.length; i++) if (Math.abs(x.data[i]) < 0.1) x.data[i] += 0.3;
      }
      const w = randomMatrix(rng, 4, 5);
      const y = Matrix.zeros(4, 5, 'float64');
      const dx = Matrix.zeros(4, 5, 'float64');
      return {
        params: { x },
        loss: () => weightedSum(activate(kind, y, x), w),
        gradients: () => {
          activate(kind, y, x);
          return { x: activateBackward(kind, dx, w, y) };
        },
      };
    },
  };
}

/** The softmax family, row-wise: loss Σ w ∗ f(x) over a [B, V] batch of logits. */
function softmaxCase(op: string, forward: (y: Matrix, x: Matrix) => Matrix, backward: (dx: Matrix, dy: Matrix, y: Matrix) => Matrix): GradCheckCase {
  return {
    group: 'engine',
    op,
    build(rng) {
      const x = randomMatrix(rng, 4, 7, 3);
      const w = randomMatrix(rng, 4, 7);
      const y = Matrix.zeros(4, 7, 'float64');
      const dx = Matrix.zeros(4, 7, 'float64');
      return {
        params: { x },
        loss: () => weightedSum(forward(y, x), w),
        gradients: () => ({ x: backward(dx, w, forward(y, x)) }),
      };
    },
  };
}

/**
 * A learnable temperature: loss Σ w ∗ softmax(x / T) with T a parameter ([1, 1]); checks ∂L/∂x and
 * ∂L/∂T (softmaxWithTemperatureBackward's dTemperature) over a [4, 7] batch.
 */
const learnableTemperatureCase: GradCheckCase = {
  group: 'engine',
  op: 'softmax with a learnable temperature',
  build(rng) {
    const x = randomMatrix(rng, 4, 7, 3);
    const w = randomMatrix(rng, 4, 7);
    const T = Matrix.fromArray([[0.8]], 'float64');
    const y = Matrix.zeros(4, 7, 'float64');
    const dx = Matrix.zeros(4, 7, 'float64');
    const dT = Matrix.zeros(1, 1, 'float64');
    return {
      params: { x, T },
      loss: () => weightedSum(softmaxWithTemperature(y, x, T.data[0]), w),
      gradients: () => {
        dT.data[0] = 0;
        softmaxWithTemperature(y, x, T.data[0]);
        softmaxWithTemperatureBackward(dx, w, y, T.data[0], false, dT.data);
        return { x: dx, T: dT };
      },
    };
  },
};

/**
 * A ragged [T, B] mask: sequence b has length lengths[b] (time-major, 1 = counts, 0 = padded), as
 * a float64 matrix.
 */
export function raggedMask(lengths: number[], steps: number): Matrix {
  const mask = Matrix.zeros(steps, lengths.length, 'float64');
  for (let t = 0; t < steps; t++) lengths.forEach((len, b) => mask.set(t, b, t < len ? 1 : 0));
  return mask;
}

/** Per-step cross-entropy summed over T = 6 steps, batch 3, ragged lengths; padded targets are −1. */
function crossEntropyCase(reduction: LossReduction): GradCheckCase {
  return {
    group: 'engine',
    op: `cross-entropy over time (${reduction}), ragged mask`,
    build(rng) {
      const T = 6, B = 3, V = 7;
      const mask = raggedMask([6, 4, 2], T);
      const logits = randomMatrix(rng, T * B, V, 3);
      const targets = new Int32Array(T * B);
      for (let r = 0; r < T * B; r++) targets[r] = mask.get(Math.floor(r / B), r % B) ? rng.int(V) : -1;
      const dlogits = Matrix.zeros(T * B, V, 'float64');
      const options = { mask, reduction };
      return {
        params: { logits },
        loss: () => crossEntropy(logits, targets, options),
        gradients: () => ({ logits: crossEntropyBackward(dlogits, logits, targets, options) }),
      };
    },
  };
}

/** Sigmoid + BCE from logits, soft targets; a per-row [T, B] mask (sum) or a per-entry mask (mean). */
function bceCase(maskKind: 'rows' | 'entries'): GradCheckCase {
  return {
    group: 'engine',
    op: `sigmoid + BCE, ${maskKind === 'rows' ? '[T, B] mask (sum)' : 'per-entry mask (mean)'}`,
    build(rng) {
      const T = 5, B = 2, K = 4;
      const logits = randomMatrix(rng, T * B, K, 4);
      const targets = Matrix.zeros(T * B, K, 'float64');
      for (let i = 0; i < targets.data.length; i++) targets.data[i] = i % 3 === 0 ? rng.uniform() : rng.int(2);
      let mask: Matrix;
      if (maskKind === 'rows') {
        mask = raggedMask([5, 3], T);
      } else {
        mask = Matrix.zeros(T * B, K, 'float64');
        for (let i = 0; i < mask.data.length; i++) mask.data[i] = rng.uniform() < 0.7 ? 1 : 0;
      }
      const options = { mask, reduction: (maskKind === 'rows' ? 'sum' : 'mean') as LossReduction };
      const dlogits = Matrix.zeros(T * B, K, 'float64');
      return {
        params: { logits },
        loss: () => binaryCrossEntropyWithLogits(logits, targets, options),
        gradients: () => ({ logits: binaryCrossEntropyWithLogitsBackward(dlogits, logits, targets, options) }),
      };
    },
  };
}

/** The dense layer Y = X·Wᵀ + b over all T·B rows of a sequence (T = 5, B = 2): W, b and x. */
const denseCase: GradCheckCase = {
  group: 'layers',
  op: 'dense',
  build(rng) {
    const T = 5, B = 2, inputSize = 4, outputSize = 3;
    const layer = createDense({ inputSize, outputSize }, { rng, dtype: 'float64' });
    const x = randomMatrix(rng, T * B, inputSize);
    const w = randomMatrix(rng, T * B, outputSize);
    const y = Matrix.zeros(T * B, outputSize, 'float64');
    const dx = Matrix.zeros(T * B, inputSize, 'float64');
    return {
      params: { W: layer.params.W, b: layer.params.b!, x },
      loss: () => weightedSum(denseForward(y, layer, x), w),
      gradients: () => {
        denseZeroGrad(layer);
        denseBackward(layer, x, w, dx);
        return { W: layer.grads.W, b: layer.grads.b!, x: dx };
      },
    };
  },
};

export const engineCases: GradCheckCase[] = [
  activationCase('sigmoid'),
  activationCase('tanh'),
  activationCase('relu'),
  softmaxCase('softmax', softmax, softmaxBackward),
  softmaxCase('log-softmax', logSoftmax, logSoftmaxBackward),
  softmaxCase(
    'softmax with temperature 0.7',
    (y, x) => softmaxWithTemperature(y, x, 0.7),
    (dx, dy, y) => softmaxWithTemperatureBackward(dx, dy, y, 0.7),
  ),
  learnableTemperatureCase,
  crossEntropyCase('sum'),
  crossEntropyCase('mean'),
  bceCase('rows'),
  bceCase('entries'),
  denseCase,
];
