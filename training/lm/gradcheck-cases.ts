/**
 * Gradient checks of the language model's whole backward pass (training/language-model.ts):
 * input (embedding lookup or one-hot) → L stacked cells → dense → softmax cross-entropy summed
 * over T·B predictions, from a non-zero carried state (truncated BPTT's h0, a constant).
 */
import { crossEntropy, crossEntropyBackward } from '../../engine/cross-entropy.js';
import { Matrix } from '../../engine/matrix.js';
import type { Rng } from '../../engine/rng.js';
import type { CellKind } from '../../layers/cells/cell.js';
import {
  createLanguageModel, createLmWorkspace, lmBackward, lmForward, lmGradients, lmParameters, lmSetState, lmZeroGrad,
} from './model.js';
import type { GradCheckCase } from '../check/gradcheck.js';
import { Vocabulary } from '../text/vocab.js';
import { randomMatrix } from '../check/cases/engine-cases.js';

const T = 5, H = 4;

/** B = 3: T·B = 15 rows ≥ 2V, so an embedding is folded into the first layer's input projection (model.ts). */
function lmCase(op: string, cell: CellKind, layers: number, embeddingDim: number, B = 2): GradCheckCase {
  return {
    group: 'training',
    op,
    build(rng: Rng) {
      const vocab = new Vocabulary(['<EOS>', '<UNK>', 'a', 'b', 'c', 'd'], [1, 0, 1, 1, 1, 1]);
      const V = vocab.size;
      const model = createLanguageModel({ cell, hidden: H, layers, embeddingDim, seed: 0, vocab }, { rng, dtype: 'float64' });
      const ws = createLmWorkspace(model, T, B);
      const h0 = model.cells.map((c) => Array.from({ length: c.stateCount }, () => randomMatrix(rng, B, H, 0.8)));
      const inputs = Array.from({ length: T * B }, () => rng.int(V));
      const targets = Int32Array.from({ length: T * B }, () => rng.int(V));
      const dLogits = Matrix.zeros(T * B, V, 'float64');
      const forward = (): Matrix => {
        lmSetState(ws, h0);
        ws.inputIds.set(inputs);
        return lmForward(model, ws);
      };
      return {
        params: lmParameters(model),
        loss: () => crossEntropy(forward(), targets),
        gradients: () => {
          lmZeroGrad(model);
          const logits = forward();
          crossEntropyBackward(dLogits, logits, targets);
          lmBackward(model, ws, dLogits);
          return lmGradients(model);
        },
      };
    },
  };
}

export const lmCases: GradCheckCase[] = [
  lmCase('LM: embedding → LSTM → dense → CE', 'lstm', 1, 3),
  lmCase('LM: one-hot → 2-layer GRU → dense → CE', 'gru', 2, 0),
  lmCase('LM: embedding → RNN → dense → CE', 'rnn', 1, 3),
  lmCase('LM: embedding folded into the input projection → LSTM → dense → CE', 'lstm', 1, 3, 3),
];
