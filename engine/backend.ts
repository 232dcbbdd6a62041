/**
 * The backend seam: the hot kernels are looked up here, per backend, so a faster
 * implementation (WebAssembly SIMD, gpu.js) can replace one op without touching its callers.
 *
 * A kernel works on raw buffers with offsets and strides (BLAS style) and does no checking:
 * the public functions in `gemm.ts` and friends check shapes, dtypes and aliasing first.
 * Every backend must pass the same parity tests as the plain-JS one.
 */
import type { FloatArray } from './matrix.js';
import { gemmJs } from './kernels/gemm-js.js';
import {
  gruGatesBackwardJs, gruGatesForwardJs, lstmGatesBackwardJs, lstmGatesForwardJs, rnnTanhForwardJs,
} from './kernels/gates-js.js';

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

/**
 * A row-major operand of an elementwise kernel: entry (r, c) at data[offset + r·stride + c].
 * A `Matrix` is one; the kernels only read these three fields.
 */
export interface StridedBuffer {
  readonly data: FloatArray;
  readonly offset: number;
  readonly stride: number;
}

/**
 * The elementwise part of one LSTM step (no peepholes), fused, for `rows` rows of H units, gate
 * order [Γu Γf c̃ Γo]:
 *   in:  z [rows, 4H] = a⟨t−1⟩·W_aᵀ, xp [rows, 4H] = x⟨t⟩·W_xᵀ + b, cPrev [rows, H]
 *   out: z ← [Γu Γf c̃ Γo] = [σ σ tanh σ](z + xp);  c = Γu ∗ c̃ + Γf ∗ cPrev;  tanhC = tanh(c);
 *        a = Γo ∗ tanhC   (c, a, tanhC [rows, H])
 * Outputs must not overlap each other or the inputs (z is updated in place).
 */
export type LstmGatesForwardKernel = (
  rows: number, H: number,
  z: StridedBuffer, xp: StridedBuffer, cPrev: StridedBuffer,
  c: StridedBuffer, a: StridedBuffer, tanhC: StridedBuffer,
) => void;

/**
 * Its backward: from the forward's gates [rows, 4H] and tanhC, cPrev, and da, dc = ∂L/∂a⟨t⟩,
 * ∂L/∂c⟨t⟩ [rows, H], WRITE dz [rows, 4H] = ∂L/∂(z + xp) and dcPrev = ∂L/∂c⟨t−1⟩ [rows, H]
 * (the formulas are in gates-js.ts). Outputs must not overlap each other or the inputs.
 */
export type LstmGatesBackwardKernel = (
  rows: number, H: number,
  gates: StridedBuffer, tanhC: StridedBuffer, cPrev: StridedBuffer,
  da: StridedBuffer, dc: StridedBuffer,
  dz: StridedBuffer, dcPrev: StridedBuffer,
) => void;

/**
 * The elementwise part of one reset-after GRU step (PyTorch's nn.GRU), gate order [r z n]:
 *   in:  hp [rows, 3H] = h⟨t−1⟩·W_aᵀ, bias b_a [1, 3H] (one row, broadcast), xp [rows, 3H], hPrev [rows, H]
 *   out: gates [rows, 3H] = [r z n], hpn [rows, H] = hp_n + b_an, h [rows, H]
 *   r = σ(xp_r + hp_r + b_ar), z = σ(xp_z + hp_z + b_az), n = tanh(xp_n + r ∗ hpn), h = (1 − z) ∗ n + z ∗ hPrev
 * Outputs must not overlap each other or the inputs.
 */
export type GruGatesForwardKernel = (
  rows: number, H: number,
  hp: StridedBuffer, bias: StridedBuffer, xp: StridedBuffer, hPrev: StridedBuffer,
  gates: StridedBuffer, hpn: StridedBuffer, h: StridedBuffer,
) => void;

/**
 * Its backward: from gates, hpn, hPrev and dh = ∂L/∂h⟨t⟩ [rows, H], WRITE dxp [rows, 3H] =
 * ∂L/∂xp, dhp [rows, 3H] = ∂L/∂(hp + b_a) and dhPrev = dh ∗ z (the direct path; the cell adds
 * dhp·W_a). Formulas in gates-js.ts. Outputs must not overlap each other or the inputs.
 */
export type GruGatesBackwardKernel = (
  rows: number, H: number,
  gates: StridedBuffer, hpn: StridedBuffer, hPrev: StridedBuffer, dh: StridedBuffer,
  dxp: StridedBuffer, dhp: StridedBuffer, dhPrev: StridedBuffer,
) => void;

/** The tanh RNN's nonlinearity, in place: a [rows, H] ← tanh(a + xp) (a holds a⟨t−1⟩·W_aᵀ). */
export type RnnTanhForwardKernel = (rows: number, H: number, a: StridedBuffer, xp: StridedBuffer) => void;

export interface Backend {
  /** 'js', 'wasm', 'gpu', … */
  readonly name: string;
  /** True when the kernels accept Float64Array (needed for gradient checks). */
  readonly supportsFloat64: boolean;
  readonly gemm: GemmKernel;
  /**
   * Fused gate kernels (optional: a backend without them gets the js ones from `lstmGatesKernels`).
   * A backend that only runs float32 hands float64 calls to the js kernels itself.
   */
  readonly lstmGatesForward?: LstmGatesForwardKernel;
  readonly lstmGatesBackward?: LstmGatesBackwardKernel;
  readonly gruGatesForward?: GruGatesForwardKernel;
  readonly gruGatesBackward?: GruGatesBackwardKernel;
  readonly rnnTanhForward?: RnnTanhForwardKernel;
  /**
   * Optional: run `fn` with `arrays` declared constant for its duration, so the backend may keep
   * copies of them (e.g. resident in WebAssembly memory) instead of copying them at every call.
   * Use `withConstantOperands`, which falls back to plain `fn()`.
   */
  readonly runWithConstants?: <T>(arrays: readonly FloatArray[], fn: () => T) => T;
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

/**
 * Run `fn` with the buffers in `arrays` declared CONSTANT while it runs — typically the weights,
 * around a forward + backward pass (the optimizer step outside) or a sampling loop. A backend
 * that copies operands (wasm) copies these once and reuses the copy for every kernel call inside
 * fn; leaving fn drops the copies, so nothing is stale afterwards. The caller's promise: no code
 * inside fn writes these arrays (a kernel asked to write one throws; a JS write would go unseen).
 * On backends without the slot this is just `fn()`. Returns fn's result.
 */
export function withConstantOperands<T>(arrays: readonly FloatArray[], fn: () => T): T {
  const backend = getBackend();
  return backend.runWithConstants ? backend.runWithConstants(arrays, fn) : fn();
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
export const jsBackend: Backend = {
  name: 'js',
  supportsFloat64: true,
  gemm: gemmJs,
  lstmGatesForward: lstmGatesForwardJs,
  lstmGatesBackward: lstmGatesBackwardJs,
  gruGatesForward: gruGatesForwardJs,
  gruGatesBackward: gruGatesBackwardJs,
  rnnTanhForward: rnnTanhForwardJs,
};
registerBackend(jsBackend);

/** The current backend's LSTM gate kernels, or the js ones where it has none. */
export function lstmGatesForwardKernel(): LstmGatesForwardKernel {
  return getBackend().lstmGatesForward ?? lstmGatesForwardJs;
}

export function lstmGatesBackwardKernel(): LstmGatesBackwardKernel {
  return getBackend().lstmGatesBackward ?? lstmGatesBackwardJs;
}

export function gruGatesForwardKernel(): GruGatesForwardKernel {
  return getBackend().gruGatesForward ?? gruGatesForwardJs;
}

export function gruGatesBackwardKernel(): GruGatesBackwardKernel {
  return getBackend().gruGatesBackward ?? gruGatesBackwardJs;
}

export function rnnTanhForwardKernel(): RnnTanhForwardKernel {
  return getBackend().rnnTanhForward ?? rnnTanhForwardJs;
}
