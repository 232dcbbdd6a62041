/**
 * seqgrad/layers — cells and wrappers, each with explicit forward and backward passes: the recurrent
 * cells and their BPTT runner, bidirectional and stacked RNNs, dense and output heads, embeddings,
 * attention (additive/dot/general and multi-head), layer norm, dropout, the Transformer blocks,
 * recursive nets, the architectures (many-to-one, many-to-many, one-to-many, encoder) and the
 * PyTorch/Keras weight interchange. Imports only engine/. (Each area adds its `export * from` line here.)
 */
import '../engine/wasm/index.js'; // offers the default wasm backend on import
export * from './cells/cell.js';
export * from './sequence.js';
export * from './cells/rnn.js';
export * from './cells/lstm.js';
export * from './cells/gru.js';
export * from './cells/gru-simple.js';
export * from './cells/gru-reset-after.js';
export * from './cells/lstm-peephole.js';
export * from './cells/create-cell.js';
export * from './dense.js';
export * from './norm.js';
export * from './dropout.js';
export * from './transformer/options.js';
export * from './transformer/parameters.js';
export * from './transformer/feedforward.js';
export * from './transformer/residual.js';
export * from './transformer/encoder-layer.js';
export * from './transformer/decoder-layer.js';
export * from './transformer/encoder.js';
export * from './transformer/decoder.js';
export * from './transformer/positions.js';
export * from './transformer/state-dict.js';
export * from './transformer/incremental.js';
export * from './transformer/release.js';
export * from './bidirectional.js';
export * from './stacked.js';
export * from './heads.js';
export * from './embedding.js';
export * from './architectures.js';
export * from './recursive.js';
export * from './interchange.js';
export * from './attention/attention.js';
export * from './attention/multihead.js';
export * from './internals.js';
