/**
 * seqgrad/training — the shared layer of training: the training loop and optimizers, gradient checks and
 * gradient flow, model and weight formats (JSON, safetensors, ONNX, PyTorch state dicts) as bytes and objects,
 * vocabularies and text, decoding (sampling, beam search), metrics and SVG plots. Browser-safe: reading and
 * writing files is `seqgrad/node`.
 */
import '../engine/wasm/index.js'; // offers the default wasm backend on import
export * from './core/loop.js';
export * from './core/optimizers.js';
export * from './core/errors.js';
export * from './core/stop.js';
export * from './core/divergence.js';
export * from './check/gradcheck.js';
export * from './check/gradflow.js';
export * from './io/tensors.js';
export {
  MAX_MODEL_WEIGHTS, checkConfigAgainstWeights, checkModelSize, copyWeightsFromJSON, optimizerWithCurrentNames,
  withCurrentNames,
} from './io/model-file.js';
export { LAYER_FORMAT, layerFromJSON, layerParameters, layerToJSON, structureFromJSON } from './io/layer-json.js';
export type { LayerJSON, StackedLayerConfig } from './io/layer-json.js';
export { LAYER_MODEL_KIND, layerDocument, layerFromTensors } from './io/layer-safetensors.js';
export { decodeSafetensors, encodeSafetensors, shapeSize } from './io/safetensors.js';
export type { SafeTensor, SafetensorsFile, SafetensorsFloat } from './io/safetensors.js';
export {
  NET_METADATA_KEY, createSequenceNet, describeNet, documentFromMetadata, documentMetadata, exportable,
  loadNetFromFile, loadSequenceNetTensors, metadataJSON, netMetadata, netSummary, parseNetDescription,
  sequenceNetLogits, sequenceNetShapes, sequenceNetTensors,
} from './io/sequence-net.js';
export type {
  ExportableModel, LoadedSequenceNet, ModelDocument, NetDescription, Readout, SequenceNet,
} from './io/sequence-net.js';
export * from './io/torch-state.js';
export * from './io/onnx.js';
export * from './io/weights-json.js';
export { formatVectorValue, formatVectors, makeWordVectors, parseVectors } from './io/vectors.js';
export type { ReadVectorsOptions, ReadVectorsResult, VectorsFormat, WordVectors } from './io/vectors.js';
export * from './io/base64.js';
export * from './text/vocab.js';
export { stripGutenberg, tokenizeCorpusWords } from './text/corpus.js';
export type { Corpus, CorpusDocument } from './text/corpus.js';
export * from './decode/sampling.js';
export * from './decode/beam.js';
export * from './decode/incremental.js';
export * from './metrics/bleu.js';
export * from './metrics/detection.js';
export * from './plot/charts.js';
export * from './plot/smoothing.js';
export * from './classify/sentence-classifier.js';
// The Model API (its file functions, saveModel / loadModel / checkpointFile / loadCheckpoint, are in seqgrad/node).
export * from './model/config.js';
export * from './model/batches.js';
export * from './model/model.js';
