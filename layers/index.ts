/**
 * seqgrad layers: cells and wrappers, each with explicit forward and backward passes.
 * Imports only engine/. (Each area adds its `export * from` line here.)
 */
export * from './cell.js';
export * from './sequence.js';
export * from './rnn.js';
export * from './lstm.js';
export * from './gru.js';
export * from './create-cell.js';
export * from './dense.js';
