/**
 * Gradient-check cases of the sequence-to-sequence model (training/seq2seq.ts): the full
 * teacher-forced cross-entropy through output layer, decoder BPTT, attention, bridge, encoder BPTT
 * and both embeddings. Every case: B = 3, T_x = 6 with ragged source lengths [6, 4, 2], T_y = 5 with
 * ragged target lengths [5, 3, 4] (the <EOS> included), every parameter checked, every bias and
 * attention weight non-zero; the workspace is larger than the batch (as in training).
 *   Cho form (no attention): 2-layer GRU encoder, a dense bridge (n_h = 3 ≠ H_dec = 4)
 *   Bahdanau: bidirectional LSTM encoder, copied state (H_dec = 2H = 4)
 *   dot: unidirectional RNN encoder, copied state (H_dec = H = 4)
 *   general: bidirectional GRU encoder, 2 layers, a dense bridge (2H = 6 ≠ H_dec = 4)
 *   captioning: LSTM decoder conditioned on a feature vector f (∂L/∂f checked too)
 */
import type { Rng } from '../../engine/rng.js';
import type { CellKind } from '../../layers/cells/cell.js';
import type { GradCheckCase } from '../check/gradcheck.js';
import {
  createSeq2Seq, createSeq2SeqWorkspace, makeSeq2SeqBatch, seq2seqBackward, seq2seqForward, seq2seqParameters,
  seq2seqZeroGrad, buildSourceVocabulary, buildTargetVocabulary, type Seq2SeqAttention, type Seq2SeqExample,
  type Seq2SeqOptions,
} from './model.js';

const SOURCE_LENGTHS = [6, 4, 2];
const TARGET_LENGTHS = [4, 2, 3]; // + <EOS> → T_y = 5

interface CaseSpec {
  op: string;
  options: Seq2SeqOptions;
}

function buildCase(spec: CaseSpec): GradCheckCase {
  return {
    group: 'seq2seq',
    op: spec.op,
    build(rng: Rng) {
      const captioning = spec.options.form === 'captioning';
      const sourceVocab = captioning ? null : buildSourceVocabulary(['a', 'b', 'c', 'd', 'e']);
      const targetVocab = buildTargetVocabulary(['x', 'y', 'z']);
      const model = createSeq2Seq({ ...spec.options, embeddingDim: 3, sourceVocab, targetVocab }, { rng, dtype: 'float64' });
      const { params, grads } = seq2seqParameters(model);
      // Non-zero everywhere (attention b starts at 0), entries of order 1; the attention weights
      // larger, so that α varies enough for its gradients to stand well above the round-off of L.
      for (const [name, p] of Object.entries(params)) {
        const scale = name.startsWith('attention.') ? 2 : 0.8;
        for (let i = 0; i < p.data.length; i++) p.data[i] = rng.uniformIn(-scale, scale);
      }
      const examples: Seq2SeqExample[] = SOURCE_LENGTHS.map((len, b) => {
        const target = Array.from({ length: TARGET_LENGTHS[b] }, () => 4 + rng.int(3)); // x, y, z, never a special
        if (captioning) return { features: Array.from({ length: 5 }, () => rng.uniformIn(-1, 1)), target };
        return { source: Array.from({ length: len }, () => 2 + rng.int(5)), target };
      });
      const batch = makeSeq2SeqBatch(model, examples);
      // A workspace larger than the batch (T_x + 2, T_y + 1): the shorter-batch paths (padded
      // attention positions, partial decoder buffers) are the ones training uses.
      const ws = createSeq2SeqWorkspace(model, batch.srcSteps + 2, batch.tgtSteps + 1, batch.batch);
      const checked = { ...params };
      if (batch.features) checked.features = batch.features;
      return {
        params: checked,
        loss: () => seq2seqForward(model, ws, batch),
        gradients: () => {
          seq2seqZeroGrad(model);
          seq2seqForward(model, ws, batch);
          seq2seqBackward(model, ws);
          const out = { ...grads };
          if (ws.dFeatures) out.features = ws.dFeatures;
          return out;
        },
      };
    },
  };
}

function encoderDecoder(
  op: string, cell: CellKind, attention: Seq2SeqAttention, sizes: { hidden: number; layers: number; bidirectional: boolean; decoder: number },
): CaseSpec {
  return {
    op,
    options: {
      cell, attention, encoderHidden: sizes.hidden, encoderLayers: sizes.layers, bidirectional: sizes.bidirectional,
      decoderHidden: sizes.decoder, attentionSize: 3,
    },
  };
}

const specs: CaseSpec[] = [
  encoderDecoder('encoder-decoder, Cho form (no attention), 2-layer GRU encoder, dense bridge, ragged', 'gru', 'none', { hidden: 3, layers: 2, bidirectional: false, decoder: 4 }),
  encoderDecoder('encoder-decoder, Bahdanau attention, bidirectional LSTM encoder, ragged', 'lstm', 'bahdanau', { hidden: 2, layers: 1, bidirectional: true, decoder: 4 }),
  encoderDecoder('encoder-decoder, Luong dot attention, RNN encoder, ragged', 'rnn', 'dot', { hidden: 4, layers: 1, bidirectional: false, decoder: 4 }),
  encoderDecoder('encoder-decoder, Luong general attention, 2-layer bidirectional GRU, bridge, ragged', 'gru', 'general', { hidden: 3, layers: 2, bidirectional: true, decoder: 4 }),
  { op: 'captioning (one-to-many from a feature vector), LSTM decoder, ragged targets', options: { form: 'captioning', cell: 'lstm', featureSize: 5, decoderHidden: 4 } },
];

export const seq2seqCases: GradCheckCase[] = specs.map(buildCase);
