/** Gradient-check cases of the engine's ops (activations, the softmax family, …). */
import { activate, activateBackward, type Activation } from '../../engine/activations.js';
import { Matrix } from '../../engine/matrix.js';
import type { Rng } from '../../engine/rng.js';
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

export const engineCases: GradCheckCase[] = [
  activationCase('sigmoid'),
  activationCase('tanh'),
  activationCase('relu'),
];
