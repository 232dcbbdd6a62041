/**
 * Gradient checks of whole Models (training/model/): `lossAndGradients` — the model's own batch
 * building, forward and backward through the architectures of layers/architectures.ts — against
 * central differences of `loss` on the same batch, float64, ragged sequences (batch > 1, masks).
 * The pieces have their own checks (check/cases/wrappers-cases.ts); these check their assembly
 * from a config: one-hot inputs, a residual stack and a sigmoid head per step; a bidirectional
 * encoder bridged to its decoder; layer-normalised cells from the config.
 */
import { Rng } from '../../engine/rng.js';
import type { GradCheckCase } from '../check/gradcheck.js';
import type { SequenceData } from './batches.js';
import type { ModelConfig } from './config.js';
import { createModel } from './model.js';

function modelCase(op: string, config: ModelConfig, data: SequenceData, maxEntries?: number): GradCheckCase {
  return {
    group: 'model',
    op,
    maxEntries,
    build(rng) {
      const model = createModel(config, { rng: new Rng(rng.int(1 << 30)), dtype: 'float64' });
      const batch = model.batch(data, data.targets.map((_, i) => i));
      return {
        params: model.parameters,
        loss: () => model.loss(batch),
        gradients: () => {
          model.lossAndGradients(batch);
          return model.gradients;
        },
      };
    },
  };
}

export const modelCases: GradCheckCase[] = [
  modelCase(
    'Model many-to-many: one-hot → GRU + residual GRU → sigmoid per step (mean), ragged',
    { shape: 'many-to-many', vocabSize: 5, embeddingDim: 0, rnn: { cell: 'gru', hidden: 3, layers: 2, residual: true }, head: 'sigmoid', outputSize: 2 },
    { inputs: [[1, 4, 2, 0], [3], [2, 2, 1]], targets: [[[1, 0], [0, 1], [1, 1], [0, 0]], [[0.5, 1]], [[0, 0], [1, 0], [0, 1]]] },
  ),
  modelCase(
    'Model encoder-decoder: embedding → bi-LSTM → [a→, a←] → LSTM (2H) → softmax, ragged source and target',
    { shape: 'encoder-decoder', vocabSize: 6, embeddingDim: 3, rnn: { cell: 'lstm', hidden: 2, bidirectional: true }, outputSize: 5, startToken: 0, decoderEmbeddingDim: 2 },
    { inputs: [[1, 2, 3, 4], [5], [2, 4, 1]], targets: [[4, 3, 2, 1], [3, 1], [1, 2, 3, 4, 1]] },
    60,
  ),
  modelCase(
    'Model many-to-one: embedding → layer-normalised LSTM (rnn.layerNorm) → softmax, ragged',
    { shape: 'many-to-one', vocabSize: 5, embeddingDim: 3, rnn: { cell: 'lstm', hidden: 3, layerNorm: true }, outputSize: 3 },
    { inputs: [[1, 2, 3], [4], [2, 2]], targets: [0, 2, 1] },
  ),
];
