/**
 * Model API models in and out of the formats of training/io (issue 13): safetensors under
 * PyTorch's state_dict names, and — for the models that are the one architecture of
 * training/io/sequence-net.ts — the PyTorch folder and ONNX.
 *
 * Tensors (training/io/torch-state.ts): a single-stack model is a module with submodules
 * `embedding` (nn.Embedding; none for one-hot inputs), `rnn` (nn.RNN/GRU/LSTM names: weight_ih_l0,
 * bias_hh_l1_reverse, …; cells PyTorch lacks keep seqgrad's layout under those names) and `linear`
 * (nn.Linear) — exactly sequenceNetTensors; an encoder-decoder has `encoder.embedding`,
 * `encoder.rnn`, `decoder.embedding`, `decoder.rnn`, `decoder.linear`. `__metadata__` holds the
 * document { model: 'model-api', net (when the model is a SequenceNet), app: { config } } whose
 * config rebuilds the model (training/model/config.ts).
 *
 * PyTorch folder and ONNX (training/io/pytorch-export.ts, onnx.ts) take a SequenceNet: many-to-one
 * (readout 'last-step', whole unpadded sequences), many-to-many ('every-step') and one-to-many with
 * a start token (an LM reading [start, y⟨1⟩, …, y⟨T−1⟩] at every step), each with a uniform,
 * non-residual stack. The others (encoder-decoder, ∅ first input, residual stacks) export as
 * safetensors only.
 */
import { Rng } from '../../engine/rng.js';
import { InputError } from '../core/errors.js';
import {
  describeNet, exportable, saveModelSafetensors, sequenceNetShapes, sequenceNetTensors, loadSequenceNetTensors,
  documentMetadata, type ExportableModel, type ModelDocument, type SequenceNet,
} from '../io/sequence-net.js';
import { writeSafetensorsFile, type SafeTensor } from '../io/safetensors.js';
import {
  checkTensorNames, embeddingTensors, linearTensors, loadEmbeddingTensors, loadLinearTensors, loadRecurrentTensors,
  recurrentShapes, recurrentTensors,
} from '../io/torch-state.js';
import { configSummary, minimumWeights, resolveModelFileConfig } from './config.js';
import { DEFAULT_SEED } from '../../engine/create.js';
import { Model } from './model.js';
import type { Network } from './network.js';

export const MODEL_API_KIND = 'model-api';

/** The net of a single-stack model, as sequence-net.ts sees it (null for an encoder-decoder). */
function sequenceNet(net: Network): SequenceNet | null {
  if (net.shape === 'encoder-decoder') return null;
  return { embedding: net.model.embedding, rnn: net.model.rnn, head: net.model.head, readout: net.shape === 'many-to-one' ? 'last-step' : 'every-step' };
}

/** The document that rebuilds the model; `net` when sequence-net.ts can describe it. */
export function modelDocument(model: Model): ModelDocument {
  const doc: ModelDocument = { model: MODEL_API_KIND, app: { config: { ...model.config, rnn: { ...model.config.rnn } } } };
  const net = sequenceNet(model.network);
  if (net && !model.config.rnn.residual) doc.net = describeNet(net);
  return doc;
}

/** Every weight under PyTorch's names (see the file's comment). */
export function modelTensors(model: Model): Record<string, SafeTensor> {
  const net = model.network;
  const single = sequenceNet(net);
  if (single) return sequenceNetTensors(single);
  if (net.shape !== 'encoder-decoder') throw new Error('modelTensors: unreachable');
  return {
    ...(net.encoder.embedding ? embeddingTensors(net.encoder.embedding, 'encoder.embedding.') : {}),
    ...recurrentTensors(net.encoder.rnn, 'encoder.rnn.'),
    ...embeddingTensors(net.decoder.embedding, 'decoder.embedding.'),
    ...recurrentTensors(net.decoder.rnn, 'decoder.rnn.'),
    ...linearTensors(net.decoder.head.dense, 'decoder.linear.'),
  };
}

function modelShapes(model: Model): Record<string, number[]> {
  const net = model.network;
  const single = sequenceNet(net);
  if (single) return sequenceNetShapes(single);
  if (net.shape !== 'encoder-decoder') throw new Error('modelShapes: unreachable');
  const shapes: Record<string, number[]> = {};
  const { encoder, decoder } = net;
  if (encoder.embedding) shapes['encoder.embedding.weight'] = [encoder.embedding.weight.rows, encoder.embedding.weight.cols];
  Object.assign(shapes, recurrentShapes(encoder.rnn, 'encoder.rnn.'));
  shapes['decoder.embedding.weight'] = [decoder.embedding.weight.rows, decoder.embedding.weight.cols];
  Object.assign(shapes, recurrentShapes(decoder.rnn, 'decoder.rnn.'));
  const { W, b } = decoder.head.dense.params;
  shapes['decoder.linear.weight'] = [W.rows, W.cols];
  if (b) shapes['decoder.linear.bias'] = [b.cols];
  return shapes;
}

/** Write the model as safetensors: PyTorch names, the document in `__metadata__`. */
export function saveModelApiSafetensors(path: string, model: Model): void {
  const exported = modelExportable(model);
  if (exported) saveModelSafetensors(path, exported);
  else writeSafetensorsFile(path, modelTensors(model), documentMetadata(modelDocument(model)));
}

/** The model as sequence-net.ts's ExportableModel (PyTorch folder, ONNX), or null when it is not one (see above). */
export function modelExportable(model: Model): ExportableModel | null {
  const net = sequenceNet(model.network);
  if (!net || model.config.rnn.residual) return null;
  if (model.config.shape === 'one-to-many' && model.config.startToken === undefined) return null;
  return exportable(MODEL_API_KIND, net, modelDocument(model).app);
}

/** Rebuild a model from a document and tensors; every problem is an InputError naming `source`. */
export function modelFromTensors(tensors: Record<string, SafeTensor>, doc: ModelDocument, source: string): Model {
  const fail = (what: string): never => { throw new InputError(`${source}: ${what}`); };
  if (doc.model !== MODEL_API_KIND) fail(`expected a '${MODEL_API_KIND}' model, got '${doc.model}'`);
  const config = resolveModelFileConfig(doc.app.config, `${source}: app.config`);
  let stored = 0;
  for (const [name, t] of Object.entries(tensors)) {
    stored += t.data.length;
    // As in a model file (matrixFromJSON): a NaN or ±∞ weight would poison every output.
    const bad = t.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) fail(`tensor '${name}': expected finite values, got ${t.data[bad]} at entry ${bad}`);
  }
  if (minimumWeights(config) > stored) fail(`its config (${configSummary(config)}) needs at least ${minimumWeights(config)} weights, the file holds ${stored}`);
  const model = new Model(config, new Rng(DEFAULT_SEED));
  if (doc.net) {
    const built = modelDocument(model).net;
    if (JSON.stringify(built) !== JSON.stringify(doc.net)) fail(`the net config ${JSON.stringify(doc.net)} does not match the model config, which builds ${JSON.stringify(built ?? null)}`);
  }
  checkTensorNames(tensors, modelShapes(model), source, `a ${configSummary(config)}`);
  const net = model.network;
  const single = sequenceNet(net);
  if (single) loadSequenceNetTensors(single, tensors, source, `a ${configSummary(config)}`);
  else if (net.shape === 'encoder-decoder') {
    if (net.encoder.embedding) loadEmbeddingTensors(net.encoder.embedding, tensors, 'encoder.embedding.');
    loadRecurrentTensors(net.encoder.rnn, tensors, 'encoder.rnn.', source);
    loadEmbeddingTensors(net.decoder.embedding, tensors, 'decoder.embedding.');
    loadRecurrentTensors(net.decoder.rnn, tensors, 'decoder.rnn.', source);
    loadLinearTensors(net.decoder.head.dense, tensors, 'decoder.linear.');
  }
  return model;
}
