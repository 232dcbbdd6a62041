/**
 * The backend seam: the hot kernels are looked up here, per backend, so a faster
 * implementation (WebAssembly SIMD, gpu.js) can replace one op without touching its callers.
 *
 * A kernel works on raw buffers with offsets and strides (BLAS style) and does no checking:
 * the public functions in `gemm.ts` and friends check shapes, dtypes and aliasing first.
 * Every backend must pass the same parity tests as the plain-JS one.
 */
import type { FloatArray } from './matrix.js';
import { gemmJs } from './gemm-js.js';

/**
 * C[m×n] = α·op(A)·op(B) + β·C, op(A) is m×k, op(B) is k×n; `ld*` are row strides.
 * `transA` means A is stored k×m and op(A) = Aᵀ (likewise B).
 */
export type GemmKernel = (
  m: number, n: number, k: number,
  alpha: number,
  a: FloatArray, aOffset: number, lda: number, transA: boolean,
  b: FloatArray, bOffset: number, ldb: number, transB: boolean,
  beta: number,
  c: FloatArray, cOffset: number, ldc: number,
) => void;

export interface Backend {
  /** 'js', 'wasm', 'gpu', … */
  readonly name: string;
  /** True when the kernels accept Float64Array (needed for gradient checks). */
  readonly supportsFloat64: boolean;
  readonly gemm: GemmKernel;
}

let current: Backend | null = null;
const registry = new Map<string, Backend>();

export function registerBackend(backend: Backend): void {
  registry.set(backend.name, backend);
  if (current === null) current = backend;
}

/** The backend the engine dispatches to now. */
export function getBackend(): Backend {
  if (current === null) throw new Error('getBackend: no backend is registered');
  return current;
}

/** Switch the engine to a registered backend by name; returns the previous one's name. */
export function setBackend(name: string): string {
  const next = registry.get(name);
  if (!next) {
    throw new Error(`setBackend: expected one of ${[...registry.keys()].join(', ')}, got '${name}'`);
  }
  const previous = current?.name ?? '';
  current = next;
  return previous;
}

export function listBackends(): string[] {
  return [...registry.keys()];
}

/** The reference backend: plain TypeScript, float32 and float64. Always present. */
export const jsBackend: Backend = { name: 'js', supportsFloat64: true, gemm: gemmJs };
registerBackend(jsBackend);
