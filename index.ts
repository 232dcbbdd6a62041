/**
 * seqgrad — sequence models with hand-written forward and backward passes.
 * The math core is also importable alone as `seqgrad/engine`.
 */
export * from './engine/index.js';
export * from './training/gradcheck.js';
