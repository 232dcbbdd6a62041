/**
 * seqgrad layers: cells and wrappers, each with explicit forward and backward passes.
 * Imports only engine/. (Each area adds its `export * from` line here.)
 */
export * from './cells/cell.js';
export * from './sequence.js';
export * from './cells/rnn.js';
export * from './cells/lstm.js';
export * from './cells/gru.js';
export * from './cells/create-cell.js';
export * from './dense.js';
export * from './norm.js';
