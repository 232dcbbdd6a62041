/**
 * The kernel types of the backend seam (engine/backend.ts): what every backend implements. The js
 * reference kernels (gemm-js.ts, gates-js.ts), the WebAssembly ones (engine/wasm/) and the gpu.js
 * ones (engine/gpu/) import these types; nothing here imports an implementation.
 */
import type { FloatArray } from '../matrix.js';

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
