/**
 * seqgrad/engine — the dependency-free math core: matrices over Float32Array/Float64Array,
 * GEMM, elementwise ops, activations, the softmax family, clipping, the seeded generator,
 * initialisers and the backend seam. Imports no package and nothing else of seqgrad.
 */
export * from './matrix.js';
export * from './rng.js';
export * from './backend.js';
export * from './gemm.js';
export * from './ops.js';
export * from './activations.js';
export * from './gelu.js';
export * from './softmax.js';
export * from './cross-entropy.js';
export * from './clip.js';
export * from './hierarchical-softmax.js';
export * from './negative-sampling.js';
export * from './init.js';
export * from './create.js';
export * from './wasm/index.js';
