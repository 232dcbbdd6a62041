/**
 * Gradient-check cases of every recurrent cell, through the BPTT runner (layers/sequence.ts):
 * T = 6 steps, batch 3 with ragged lengths [6, 4, 1] (a [T, B] mask), non-zero h0 (and c0), and a
 * loss on every output AND on the final state(s):
 *   L = Σ_t Σ_b w_t,b · a⟨t⟩_b + Σ_k w_k · state_k⟨T⟩
 * Checked: every parameter of the cell, the inputs x and the initial state(s).
 */
import { Matrix, type DType } from '../../../engine/matrix.js';
import type { Rng } from '../../../engine/rng.js';
import type { CellKind, RecurrentCell } from '../../../layers/cells/cell.js';
import { createCell, type CreateCellOptions } from '../../../layers/cells/create-cell.js';
import {
  createSequenceWorkspace, sequenceBackward, sequenceForward, zeroGrads,
} from '../../../layers/sequence.js';
import type { GradCheckCase } from '../gradcheck.js';
import { randomMatrix, weightedSum } from './engine-cases.js';

/** The sizes of a cell case and its mask (the playground lets the user choose them). */
export interface CellCaseShape {
  /** T */
  steps: number;
  /** B */
  batch: number;
  /** D */
  inputSize: number;
  /** H */
  hidden: number;
  /** Valid steps of each of the B sequences (a [T, B] mask), or null for no mask. */
  lengths: number[] | null;
}

/** The suite's shape: T = 6, B = 3, D = 3, H = 4, ragged lengths [6, 4, 1]. */
export const CELL_CASE_SHAPE: CellCaseShape = { steps: 6, batch: 3, inputSize: 3, hidden: 4, lengths: [6, 4, 1] };

/** [T, B] mask with 1 for the first lengths[b] steps of column b. */
export function lengthMask(lengths: number[], steps: number, dtype: DType = 'float64'): Matrix {
  const mask = Matrix.zeros(steps, lengths.length, dtype);
  lengths.forEach((len, b) => { for (let t = 0; t < len; t++) mask.set(t, b, 1); });
  return mask;
}

/**
 * Smallest |pre-activation| of a ReLU RNN over the valid steps, computed directly from
 * z⟨t⟩ = W_ax x⟨t⟩ + W_aa a⟨t−1⟩ + b: the central difference is wrong within ε of ReLU's kink.
 */
function minReluPreactivation(cell: RecurrentCell, x: Matrix, a0: Matrix, lengths: number[]): number {
  const { W_x, W_a, b } = cell.params;
  const B = lengths.length, D = cell.inputSize, H = cell.hiddenSize;
  let smallest = Infinity;
  lengths.forEach((len, r) => {
    let a = Array.from({ length: H }, (_, j) => a0.get(r, j));
    for (let t = 0; t < len; t++) {
      const next: number[] = [];
      for (let i = 0; i < H; i++) {
        let z = b.get(0, i);
        for (let k = 0; k < D; k++) z += W_x.get(i, k) * x.get(t * B + r, k);
        for (let k = 0; k < H; k++) z += W_a.get(i, k) * a[k];
        smallest = Math.min(smallest, Math.abs(z));
        next.push(Math.max(0, z));
      }
      a = next;
    }
  });
  return smallest;
}

/**
 * The case of one cell kind. `wrap` replaces the cell the loss and gradients run through (the same
 * parameters): the playground wraps a cell whose backward drops a term, to show the check failing.
 */
export function cellCase(
  op: string, kind: CellKind, extra: Partial<CreateCellOptions> = {}, shape: CellCaseShape = CELL_CASE_SHAPE,
  wrap?: (cell: RecurrentCell) => RecurrentCell,
): GradCheckCase {
  const { steps: T, batch: B, inputSize: D, hidden: H } = shape;
  const lengths = shape.lengths ?? new Array<number>(B).fill(T);
  if (lengths.length !== B || lengths.some((len) => !Number.isInteger(len) || len < 0 || len > T)) {
    throw new Error(`cellCase: expected ${B} lengths in [0, ${T}], got [${lengths.join(', ')}]`);
  }
  return {
    group: 'cells',
    op,
    build(rng: Rng) {
      const created = createCell({ inputSize: D, hiddenSize: H, ...extra, kind }, { rng, dtype: 'float64' });
      const cell = wrap ? wrap(created) : created;
      // Random parameters of order 1 (peepholes too), so every path carries gradient.
      for (const p of Object.values(cell.params)) p.data.set(randomMatrix(rng, p.rows, p.cols, 0.8).data);
      const x = randomMatrix(rng, T * B, D, 1);
      const h0 = [randomMatrix(rng, B, H, 0.8)];
      if (cell.stateCount === 2) h0.push(randomMatrix(rng, B, H, 0.8));
      if (extra.activation === 'relu') {
        // Redraw until every valid pre-activation is clearly away from the kink at 0.
        for (let tries = 0; minReluPreactivation(cell, x, h0[0], lengths) < 0.01; tries++) {
          if (tries > 100) throw new Error(`${op}: could not draw pre-activations away from 0`);
          for (const p of Object.values(cell.params)) p.data.set(randomMatrix(rng, p.rows, p.cols, 0.8).data);
        }
      }
      const mask = shape.lengths ? lengthMask(lengths, T) : undefined;
      const wOut = randomMatrix(rng, T * B, H);
      const wFinal = h0.map(() => randomMatrix(rng, B, H));
      const ws = createSequenceWorkspace(cell, T, B);

      const loss = (): number => {
        const { outputs, finalState } = sequenceForward(cell, ws, x, { h0, mask });
        let sum = weightedSum(outputs, wOut);
        finalState.forEach((s, k) => { sum += weightedSum(s, wFinal[k]); });
        return sum;
      };
      const gradients = (): Record<string, Matrix> => {
        zeroGrads(cell);
        sequenceForward(cell, ws, x, { h0, mask });
        const { dx, dh0 } = sequenceBackward(cell, ws, wOut, { dFinal: wFinal });
        const out: Record<string, Matrix> = { ...cell.grads, x: dx, h0: dh0[0] };
        if (cell.stateCount === 2) out.c0 = dh0[1];
        return out;
      };
      const params: Record<string, Matrix> = { ...cell.params, x, h0: h0[0] };
      if (cell.stateCount === 2) params.c0 = h0[1];
      return { params, loss, gradients };
    },
  };
}

export const cellsCases: GradCheckCase[] = [
  cellCase('RNN (tanh), masked', 'rnn', { activation: 'tanh' }),
  cellCase('RNN (relu), masked', 'rnn', { activation: 'relu' }),
  cellCase('GRU (notes, full), masked', 'gru'),
  cellCase('GRU (simplified), masked', 'gru-simple'),
  cellCase('GRU (reset-after), masked', 'gru-reset-after'),
  cellCase('LSTM, masked', 'lstm'),
  cellCase('LSTM (peephole), masked', 'lstm-peephole'),
  cellCase('LSTM, layer-normalised (Ba et al.), masked', 'lstm', { layerNorm: true }),
  cellCase('GRU (reset-after), layer-normalised, masked', 'gru-reset-after', { layerNorm: true }),
];
