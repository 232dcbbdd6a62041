/**
 * The Model API (training/model/): compose the notes' architectures from a JSON config, then
 * fit / evaluate / predict, and save / load them in one file format.
 */
export * from './config.js';
export * from './batches.js';
export * from './model.js';
export * from './model-file.js';
