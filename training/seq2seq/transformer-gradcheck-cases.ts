/**
 * Gradient check of the Transformer encoder-decoder's whole backward pass (transformer-model.ts):
 * source and target embeddings with positions → encoder stack (source padding) → decoder stack (causal
 * self-attention, cross-attention over the padded memory) → dense → masked mean cross-entropy, on a
 * ragged batch of 3 pairs, dropout 0.1 with fixed masks.
 */
import type { Rng } from '../../engine/rng.js';
import { DROPOUT_FIXED, sampleDropoutMask } from '../../layers/dropout.js';
import type { PositionKind } from '../../layers/transformer/positions.js';
import type { GradCheckCase } from '../check/gradcheck.js';
import { makeSeq2SeqBatch, buildSourceVocabulary, buildTargetVocabulary } from './model.js';
import {
  batchView, createTransformerSeq2Seq, createTransformerSeq2SeqWorkspace, transformerSeq2SeqBackward,
  transformerSeq2SeqForward, transformerSeq2SeqParameters, transformerSeq2SeqZeroGrad,
} from './transformer-model.js';

function transformerSeq2SeqCase(normFirst: boolean, positions: PositionKind): GradCheckCase {
  return {
    group: 'training',
    op: `seq2seq: Transformer encoder-decoder (${normFirst ? 'pre' : 'post'}-norm, ${positions} positions), ragged batch → CE`,
    maxEntries: 15,
    build(rng: Rng) {
      const sourceVocab = buildSourceVocabulary(['a', 'b', 'c', 'd']);
      const targetVocab = buildTargetVocabulary(['x', 'y', 'z']);
      const model = createTransformerSeq2Seq({
        dModel: 6, numHeads: 2, encoderLayers: 1, decoderLayers: 2, dimFeedforward: 8, dropout: 0.1, normFirst, positions,
        activation: normFirst ? 'gelu' : 'relu', maxLength: 8, sourceVocab, targetVocab,
      }, { rng, dtype: 'float64' });
      const s = (t: string): number[] => sourceVocab.encode(t.split(''));
      const y = (t: string): number[] => targetVocab.encode(t.split(''));
      const batch = makeSeq2SeqBatch(batchView(model), [
        { source: s('abcd'), target: y('xy') }, { source: s('db'), target: y('zzyx') }, { source: s('cab'), target: y('y') },
      ]);
      const ws = createTransformerSeq2SeqWorkspace(model, batch.srcSteps, batch.tgtSteps, batch.batch);
      for (const d of [...ws.encoder.dropouts, ...ws.decoder.dropouts]) sampleDropoutMask(d, rng);
      const { params, grads } = transformerSeq2SeqParameters(model);
      // The key biases b_k get an exactly-zero gradient (softmax ignores a per-row shift): see attention-cases.ts.
      for (const name of Object.keys(params)) if (name.endsWith('.b_k')) delete params[name];
      return {
        params,
        loss: () => transformerSeq2SeqForward(model, ws, batch, DROPOUT_FIXED),
        gradients: () => {
          transformerSeq2SeqZeroGrad(model);
          transformerSeq2SeqForward(model, ws, batch, DROPOUT_FIXED);
          transformerSeq2SeqBackward(model, ws);
          return grads;
        },
      };
    },
  };
}

export const transformerSeq2SeqCases: GradCheckCase[] = [
  transformerSeq2SeqCase(false, 'learned'),
  transformerSeq2SeqCase(true, 'sinusoidal'),
];
