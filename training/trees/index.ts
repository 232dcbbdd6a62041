/**
 * seqgrad/trees — recursive nets over parse trees (the net itself is `createRecursiveNet` of seqgrad/layers).
 */
import '../../engine/wasm/index.js'; // offers the default wasm backend on import
export * from './trees.js';
export * from './treenet.js';
