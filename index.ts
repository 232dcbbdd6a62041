/**
 * seqgrad — sequence models with hand-written forward and backward passes (BPTT).
 *
 * The root holds the few names most programs start with; everything is in the namespaced entries:
 *   seqgrad/engine      matrices, GEMM, elementwise ops, activations, softmax, clipping, Rng, backends
 *   seqgrad/layers      cells and the BPTT runner, bidirectional/stacked RNNs, dense, heads, embeddings,
 *                       attention, layer norm, dropout, Transformer blocks, recursive nets, interchange
 *   seqgrad/training    the shared layer: training loop, optimizers, gradient checks, formats, vocabularies,
 *                       decoding (sampling, beam search), metrics, SVG plots
 *   seqgrad/lm, seqgrad/embeddings, seqgrad/sentiment, seqgrad/seq2seq, seqgrad/trigger, seqgrad/tagger,
 *   seqgrad/trees       one per application
 *   seqgrad/node        file and process I/O (model files, corpora, checkpoints): Node only
 *   seqgrad/gpu         the optional gpu.js backend;  seqgrad/ndarray  the scijs ndarray adapter
 * Every entry but seqgrad/node bundles for the browser.
 *
 * Constructors: `createX(config, { rng?, dtype? })` (rng default `new Rng(DEFAULT_SEED)`, dtype 'float32').
 */
// the default wasm backend is offered to the seam on import (engine/wasm/index.ts)
export { Matrix, stepView, type DType } from './engine/matrix.js';
export { Rng } from './engine/rng.js';
export { DEFAULT_SEED, type CreateOptions } from './engine/create.js';
export { backendName, setBackend } from './engine/backend.js';
export { initWasmBackend } from './engine/wasm/index.js';
export { CELL_KINDS, createCell, type CellSpec } from './layers/cells/create-cell.js';
export type { CellKind, RecurrentCell } from './layers/cells/cell.js';
export {
  createSequenceWorkspace, sequenceBackward, sequenceForward, zeroGrads, type SequenceWorkspace,
} from './layers/sequence.js';
export { createStackedRnn, createStackedWorkspace, stackedBackward, stackedForward } from './layers/stacked.js';
export { createDense, denseBackward, denseForward } from './layers/dense.js';
export { createEmbedding } from './layers/embedding.js';
export { createOutputHead } from './layers/heads.js';
export { gradCheck, type GradCheckProblem, type GradCheckResult } from './training/check/gradcheck.js';
export { createOptimizer, optimizerStep, type OptimizerConfig } from './training/core/optimizers.js';
export { Vocabulary } from './training/text/vocab.js';
export { createModel, type Model } from './training/model/model.js';
export type { ModelConfig } from './training/model/config.js';
