/**
 * The sequence-to-sequence model in and out of safetensors, under PyTorch-style names:
 *   source_embedding.weight (nn.Embedding), encoder.weight_ih_l0 … (nn.RNN/GRU/LSTM names,
 *   `_reverse`, `_l1`; training/io/torch-state.ts), bridge.a.weight / .bias and bridge.c.* (nn.Linear,
 *   when the encoder's width differs from the decoder's), target_embedding.weight,
 *   decoder.weight_ih / weight_hh / bias_ih / bias_hh (nn.LSTMCell / nn.GRUCell / nn.RNNCell names:
 *   the decoder reads x⟨t⟩ = [e(y⟨t−1⟩), c⟨t⟩]), attention.W, .U, .b, .v (Bahdanau) or attention.W_a
 *   (general) in seqgrad's own layout (layers/attention/attention.ts), output.weight / .bias (nn.Linear
 *   over [h′⟨t⟩, e(y⟨t−1⟩), c⟨t⟩]),
 * with model 'seq2seq' and app = { config, sourceVocabulary, targetVocabulary } in `__metadata__`.
 * The round trip is bit-identical. (The PyTorch folder and ONNX exports cover the single-stack
 * models only; an encoder-decoder with attention is exchanged as safetensors.)
 */
import { Rng } from '../../engine/rng.js';
import { InputError } from '../core/errors.js';
import { readModelSafetensors, documentMetadata, type ModelDocument } from '../io/sequence-net.js';
import { writeSafetensorsFile, type SafeTensor } from '../io/safetensors.js';
import {
  checkTensorNames, embeddingTensors, fillMatrix, linearTensors, loadEmbeddingTensors, loadLinearTensors,
  loadRecurrentTensors, matrixTensor, recurrentShapes, recurrentTensors,
} from '../io/torch-state.js';
import { Vocabulary, type VocabularyJSON } from '../text/vocab.js';
import { createSeq2Seq, resolveSeq2SeqFileConfig, type Seq2SeqConfig, type Seq2SeqModel } from './model.js';

export const SEQ2SEQ_MODEL_KIND = 'seq2seq';

const bridgePrefix = (k: number): string => (k === 0 ? 'bridge.a.' : 'bridge.c.');

/** The decoder cell's names: nn.LSTMCell's 'weight_ih' for the layer-0 'weight_ih_l0'. */
const cellName = (key: string): string => key.replace(/_l0$/, '');

/** Every weight of the model under the names above. */
export function seq2seqTensors(model: Seq2SeqModel): Record<string, SafeTensor> {
  const out: Record<string, SafeTensor> = {};
  if (model.encoder) {
    Object.assign(out, embeddingTensors(model.encoder.embedding!, 'source_embedding.'), recurrentTensors(model.encoder.rnn, 'encoder.'));
  }
  model.bridge?.forEach((dense, k) => Object.assign(out, linearTensors(dense, bridgePrefix(k))));
  Object.assign(out, embeddingTensors(model.targetEmbedding, 'target_embedding.'));
  for (const [key, t] of Object.entries(recurrentTensors(model.decoder, 'decoder.'))) out[cellName(key)] = t;
  for (const [name, m] of Object.entries(model.attention?.params ?? {})) out[`attention.${name}`] = matrixTensor(m, name === 'b' || name === 'v');
  Object.assign(out, linearTensors(model.output, 'output.'));
  return out;
}

/** The document of a model: its config and both vocabularies. */
export function seq2seqDocument(model: Seq2SeqModel): ModelDocument {
  return {
    model: SEQ2SEQ_MODEL_KIND,
    app: { config: { ...model.config }, sourceVocabulary: model.sourceVocab?.toJSON() ?? null, targetVocabulary: model.targetVocab.toJSON() },
  };
}

export function saveSeq2SeqSafetensors(path: string, model: Seq2SeqModel): void {
  writeSafetensorsFile(path, seq2seqTensors(model), documentMetadata(seq2seqDocument(model)));
}

/** Rebuild a model from a document and tensors; every problem is an InputError naming `source`. */
export function seq2seqFromTensors(tensors: Record<string, SafeTensor>, doc: ModelDocument, source: string): Seq2SeqModel {
  if (doc.model !== SEQ2SEQ_MODEL_KIND) throw new InputError(`${source}: expected a '${SEQ2SEQ_MODEL_KIND}' model, got '${doc.model}'`);
  let model: Seq2SeqModel;
  try {
    const config = resolveSeq2SeqFileConfig(doc.app.config as Seq2SeqConfig, 'app.config');
    const sourceVocab = doc.app.sourceVocabulary ? Vocabulary.fromJSON(doc.app.sourceVocabulary as VocabularyJSON) : null;
    model = createSeq2Seq({ ...config, sourceVocab, targetVocab: Vocabulary.fromJSON(doc.app.targetVocabulary as VocabularyJSON) }, { rng: new Rng(0) });
  } catch (err) {
    throw new InputError(`${source}: bad seq2seq config or vocabularies: ${(err as Error).message}`);
  }
  const expected = Object.fromEntries(Object.entries(seq2seqTensors(model)).map(([k, t]) => [k, t.shape]));
  checkTensorNames(tensors, expected, source, `this ${model.config.cell} seq2seq model (attention ${model.config.attention})`);
  if (model.encoder) {
    loadEmbeddingTensors(model.encoder.embedding!, tensors, 'source_embedding.');
    loadRecurrentTensors(model.encoder.rnn, tensors, 'encoder.', source);
  }
  model.bridge?.forEach((dense, k) => loadLinearTensors(dense, tensors, bridgePrefix(k)));
  loadEmbeddingTensors(model.targetEmbedding, tensors, 'target_embedding.');
  const decoderTensors: Record<string, SafeTensor> = {};
  for (const key of Object.keys(recurrentShapes(model.decoder, 'decoder.'))) decoderTensors[key] = tensors[cellName(key)];
  loadRecurrentTensors(model.decoder, decoderTensors, 'decoder.', source);
  for (const [name, m] of Object.entries(model.attention?.params ?? {})) fillMatrix(m, tensors[`attention.${name}`]);
  loadLinearTensors(model.output, tensors, 'output.');
  return model;
}

export function loadSeq2SeqSafetensors(path: string, configPath?: string): Seq2SeqModel {
  const { tensors, document, source } = readModelSafetensors(path, configPath);
  return seq2seqFromTensors(tensors, document, source);
}
