/**
 * seqgrad — sequence models with hand-written forward and backward passes.
 * The math core is also importable alone as `seqgrad/engine`.
 */
export * from './engine/index.js';
export * from './engine/wasm/index.js';
export * from './layers/index.js';
export * from './layers/attention.js';
export * from './layers/multihead-attention.js';
export * from './training/gradcheck.js';
export * from './training/io.js';
export * from './training/vocab.js';
export * from './training/optimizers.js';
export * from './training/sampling.js';
export * from './training/beam.js';
export * from './training/bleu.js';
export * from './training/plot.js';
export * from './layers/embedding.js';
export * from './training/vectors.js';
export * from './training/embeddings.js';
export * from './training/tsne.js';
export * from './training/debias.js';
export * from './training/sentiment.js';
export * from './training/corpus.js';
export * from './training/word2vec.js';
export * from './training/glove.js';
export * from './training/nplm.js';
export * from './layers/recursive.js';
export * from './training/trees.js';
export * from './training/treenet.js';
export * from './training/audio/fft.js';
export * from './training/audio/wav.js';
export * from './training/audio/spectrogram.js';
export * from './training/audio/synth.js';
