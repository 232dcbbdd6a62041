/**
 * Gradient check of the causal Transformer language model's whole backward pass
 * (training/lm/transformer-model.ts): embedding + positions → 2 encoder layers with the causal mask and
 * the final norm → dense → softmax cross-entropy summed over T·B predictions, dropout 0.1 with fixed masks.
 */
import { crossEntropy, crossEntropyBackward } from '../../engine/cross-entropy.js';
import { Matrix } from '../../engine/matrix.js';
import type { Rng } from '../../engine/rng.js';
import { DROPOUT_FIXED, sampleDropoutMask } from '../../layers/dropout.js';
import type { PositionKind } from '../../layers/transformer/positions.js';
import type { GradCheckCase } from '../check/gradcheck.js';
import { Vocabulary } from '../text/vocab.js';
import {
  createTransformerLanguageModel, createTransformerLmWorkspace, transformerLmBackward, transformerLmForward,
  transformerLmParameters, transformerLmZeroGrad,
} from './transformer-model.js';

function transformerLmCase(normFirst: boolean, positions: PositionKind): GradCheckCase {
  return {
    group: 'training',
    op: `LM: embedding + ${positions} positions → 2-layer causal Transformer (${normFirst ? 'pre' : 'post'}-norm) → dense → CE`,
    maxEntries: 25,
    build(rng: Rng) {
      const T = 5, B = 2;
      const vocab = new Vocabulary(['<EOS>', '<UNK>', 'a', 'b', 'c', 'd'], [1, 0, 1, 1, 1, 1]);
      const model = createTransformerLanguageModel({
        dModel: 6, numHeads: 2, layers: 2, dimFeedforward: 8, dropout: 0.1, normFirst, positions,
        activation: normFirst ? 'gelu' : 'relu', maxLength: 7, vocab,
      }, { rng, dtype: 'float64' });
      const ws = createTransformerLmWorkspace(model, T, B);
      for (const d of ws.encoder.dropouts) sampleDropoutMask(d, rng);
      const inputs = Array.from({ length: T * B }, () => rng.int(vocab.size));
      const targets = Int32Array.from({ length: T * B }, () => rng.int(vocab.size));
      const dLogits = Matrix.zeros(T * B, vocab.size, 'float64');
      ws.inputIds.set(inputs);
      const { params, grads } = transformerLmParameters(model);
      // The key biases b_k get an exactly-zero gradient (softmax ignores a per-row shift): see attention-cases.ts.
      for (const name of Object.keys(params)) if (name.endsWith('.b_k')) delete params[name];
      return {
        params,
        loss: () => crossEntropy(transformerLmForward(model, ws, DROPOUT_FIXED), targets),
        gradients: () => {
          transformerLmZeroGrad(model);
          const logits = transformerLmForward(model, ws, DROPOUT_FIXED);
          crossEntropyBackward(dLogits, logits, targets);
          transformerLmBackward(model, ws, dLogits);
          return grads;
        },
      };
    },
  };
}

export const transformerLmCases: GradCheckCase[] = [
  transformerLmCase(false, 'sinusoidal'),
  transformerLmCase(true, 'learned'),
];
