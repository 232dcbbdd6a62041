/**
 * seqgrad/embeddings — word embeddings: word2vec (skip-gram, CBOW; negative sampling, hierarchical softmax),
 * GloVe, the neural probabilistic LM, similarity and analogies, debiasing, t-SNE.
 */
import '../../engine/wasm/index.js'; // offers the default wasm backend on import
export * from './word2vec.js';
export * from './glove.js';
export * from './nplm.js';
export * from './similarity.js';
export * from './debias.js';
export * from './tsne.js';
