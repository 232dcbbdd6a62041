/**
 * A worker's copy of a model whose parameters ARE the main thread's: the same float32 arrays of the
 * shared WebAssembly memory, read in place (the main thread's optimizer step is seen by every worker
 * at its next step, with no copy).
 *
 * A model is built by its own constructor (cells keep views of their parameters, so the parameter
 * matrices cannot be swapped afterwards): `buildOnSharedWeights` runs the builder twice under a
 * float32 allocator of its own. The first build, in the worker's heap, tells which allocation (by
 * number: a builder allocates in a fixed order) became which parameter; the second build receives, at
 * those allocations, views of the main thread's arrays — everything else (gradients, workspaces) in
 * the worker's heap. The builder's initialisation writes into those arrays: the main thread keeps a
 * copy of its weights while the workers start and puts it back after (`WeightSnapshot`).
 */
import { getBackend } from '../../engine/backend.js';
import { Matrix, setFloat32Allocator, type FloatArray } from '../../engine/matrix.js';
import type { WasmHeap } from '../../engine/wasm/heap.js';

/** Where each parameter lies in the shared memory (float index, length). */
export type SharedLayout = Record<string, { offset: number; length: number }>;

/** The layout of `params` in `heap` (each must be a whole array of it: see threadsRefusal). */
export function sharedLayout(params: Record<string, Matrix>, heap: WasmHeap): SharedLayout {
  const layout: SharedLayout = {};
  for (const [name, p] of Object.entries(params)) layout[name] = { offset: heap.offsetOf(p.data), length: p.data.length };
  return layout;
}

/** The allocator the backend had: put back after a build. */
function restoreAllocator(): void {
  setFloat32Allocator(getBackend().allocateFloat32 ?? null);
}

/**
 * `build()` with its parameters (as named by `parameters`) placed on the arrays of `layout` in
 * `heap`'s memory. Throws when the builder does not allocate each parameter as one whole array.
 */
export function buildOnSharedWeights<M>(
  build: () => M, parameters: (model: M) => Record<string, Matrix>, layout: SharedLayout, heap: WasmHeap,
): M {
  const fresh = (n: number): Float32Array => heap.allocArray(n) ?? new Float32Array(n);
  const log: Float32Array[] = [];
  let first: M;
  setFloat32Allocator((n) => {
    const a = fresh(n);
    log.push(a);
    return a;
  });
  try {
    first = build();
  } finally {
    restoreAllocator();
  }
  const nameAt = new Map<number, string>();
  for (const [name, p] of Object.entries(parameters(first))) {
    const at = log.indexOf(p.data as Float32Array);
    const place = layout[name];
    if (at < 0 || p.offset !== 0 || p.data.length !== p.size || !place || place.length !== p.size) {
      throw new Error(`threads: parameter ${name} is not one whole array of the model, or not the main thread's shape`);
    }
    nameAt.set(at, name);
  }
  for (const a of log) heap.release(a);
  let count = 0;
  setFloat32Allocator((n) => {
    const name = nameAt.get(count++);
    if (name === undefined) return fresh(n);
    return new Float32Array(heap.f32.buffer, 4 * layout[name].offset, n);
  });
  try {
    return build();
  } finally {
    restoreAllocator();
  }
}

/** A copy of the main thread's weights, kept while workers build over them (their initialisation writes there). */
export class WeightSnapshot {
  private readonly copies: FloatArray[];
  constructor(private readonly params: readonly Matrix[]) {
    this.copies = params.map((p) => p.data.slice());
  }

  restore(): void {
    this.params.forEach((p, i) => p.data.set(this.copies[i]));
  }
}

/** A matrix over floats [offset, offset + rows·cols) of `heap`'s memory. */
export function sharedMatrix(heap: WasmHeap, offset: number, rows: number, cols: number): Matrix {
  return new Matrix(rows, cols, new Float32Array(heap.f32.buffer, 4 * offset, rows * cols));
}
