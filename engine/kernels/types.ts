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

// ---- the vector kernels: bias add, row sums, softmax / cross-entropy rows, optimizer updates, norms ----
// The js references are in vector-js.ts (float32 and float64, arithmetic in float64 as the engine always
// did); the wasm ones in engine/wasm/wasm-vector.ts. `rows × cols` entries of each StridedBuffer.

/** out[r, :] = x[r, :] + bias[0, :] (bias one row, broadcast). out may alias x. */
export type AddBiasKernel = (rows: number, cols: number, out: StridedBuffer, x: StridedBuffer, bias: StridedBuffer) => void;

/** out[0, c] (+)= Σ_r x[r, c], summed in row order r = 0, 1, …; without `accumulate` out is zeroed first. */
export type SumRowsKernel = (rows: number, cols: number, out: StridedBuffer, x: StridedBuffer, accumulate: boolean) => void;

/**
 * out[r, :] = table[ids[r], :] (+ bias[0, :] when given), r = 0 … rows−1: an embedding lookup, or
 * the one-hot input projection XP[r] = W_xᵀ[id_r] + b. Ids in [0, table rows) (the caller checks).
 * Each entry is one f32 copy or one f32 add, so every backend gives the same bits.
 */
export type GatherRowsKernel = (
  rows: number, cols: number, out: StridedBuffer, table: StridedBuffer, ids: ArrayLike<number>, bias: StridedBuffer | null,
) => void;

/**
 * table[ids[r], :] += x[r, :] for r = 0 … rows−1 in that order (so the same bits everywhere),
 * leaving out the rows whose id is `skip` (−1: none): the gradient of a gather (an embedding's, or
 * one-hot W_xᵀ's). Ids in [0, table rows); table must not overlap x.
 */
export type ScatterAddRowsKernel = (
  rows: number, cols: number, table: StridedBuffer, ids: ArrayLike<number>, x: StridedBuffer, skip: number,
) => void;

/** out += x entry by entry (one f32 add each: the same bits everywhere); out must not overlap x. */
export type AddRowsKernel = (rows: number, cols: number, out: StridedBuffer, x: StridedBuffer) => void;

/** out[r, :] = softmax(x[r, :]·invT) with the row max subtracted first (cols ≥ 1). out may alias x. */
export type SoftmaxRowsKernel = (rows: number, cols: number, out: StridedBuffer, x: StridedBuffer, invTemperature: number) => void;

/**
 * Categorical cross-entropy from logits, row by row (targets already validated by the caller):
 * with w_r = (weights ? weights[r] : 1)·scale, m = max_j x_rj, ŷ = softmax(x_r),
 *   returns Σ_r w_r·(log Σ_j e^(x_rj − m) − (x_r,y − m))   (rows with w_r = 0 skipped)
 *   dlogits (when given) [r, j] (+)= w_r·(ŷ_j − [j = y_r]);  rows with w_r = 0 get 0 (or are left, accumulating)
 * dlogits may alias logits unless `accumulate`.
 */
export type CrossEntropyRowsKernel = (
  rows: number, cols: number, logits: StridedBuffer, targets: ArrayLike<number>,
  weights: Float64Array | null, scale: number, dlogits: StridedBuffer | null, accumulate: boolean,
) => number;

/** Σ x² over the entries (a float64 sum). */
export type SumSquaresKernel = (rows: number, cols: number, x: StridedBuffer) => number;

/** x ← x·factor in place (the product in float64, stored in x's type). */
export type ScaleKernel = (rows: number, cols: number, x: StridedBuffer, factor: number) => void;

/** x ← clamp(x, −m, m) in place; returns how many entries changed (|x| > m); NaN stays NaN, uncounted. */
export type ClampKernel = (rows: number, cols: number, x: StridedBuffer, maxValue: number) => number;

/**
 * The per-update constants of one optimizer rule (training/core/optimizers.ts has the formulas),
 * filled once per update and shared by every parameter. `kind`: 0 sgd, 1 momentum, 2 rmsprop, 3 adam,
 * 4 adagrad.
 */
export interface UpdateRule {
  kind: number;
  /** η_t, the L2 weight decay λ (0 when decoupled) and the decoupled shrink 1 − η_t·λ (else 1). */
  lr: number;
  l2: number;
  shrink: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  /** The update index t (1 for the first). */
  t: number;
  alpha: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Adam's bias corrections 1 − β₁ᵗ and √(1 − β₂ᵗ). */
  c1: number;
  sqrtC2: number;
}

/**
 * One optimizer update of a [rows, cols] parameter from its gradient (only read): θ, g are strided;
 * the rule's state buffers slotA, slotB (velocity; square average; m, v; sum of squares — null where
 * the rule has none) are contiguous [rows·cols]. Arithmetic in float64, stored in θ's type.
 */
export type ParameterUpdateKernel = (
  rows: number, cols: number, param: StridedBuffer, grad: StridedBuffer,
  slotA: FloatArray | null, slotB: FloatArray | null, rule: UpdateRule,
) => void;

/**
 * The additive (Bahdanau) attention score, fused: `rows` query rows against `count` key rows,
 *   scores[r, i] = Σ_j v_j·tanh(q[r, j] + k[i, j])   (j < n; the sum in float64 on js)
 *   hidden[r·count + i, j] = tanh(q[r, j] + k[i, j])  (only when hidden is given: the backward's cache)
 * q [rows, n] (the query projection W s⟨t−1⟩), k [count, n] (the keys U h⟨i⟩ + b), v [1, n],
 * scores [rows, count], hidden [rows·count, n] or null. The strides let one call read the keys of one
 * batch row out of a time-major [T_x·B, n] matrix (stride B rows). Outputs must not overlap the inputs.
 */
export type AdditiveScoresKernel = (
  rows: number, count: number, n: number,
  query: StridedBuffer, keys: StridedBuffer, v: StridedBuffer,
  hidden: StridedBuffer | null, scores: StridedBuffer,
) => void;

/**
 * Its backward, from the cached hidden = tanh(q + k) and dScores = ∂L/∂scores [rows, count]:
 *   dz[r, i, j] = dScores[r, i]·v_j·(1 − hidden[r·count + i, j]²)
 *   ADDS dv[0, j] += Σ_{r,i} dScores[r, i]·hidden[r·count + i, j],  dKeys[i, j] += Σ_r dz[r, i, j],
 *   dQuery[r, j] += Σ_i dz[r, i, j]   (a (r, i) whose dScores entry is 0 adds nothing)
 * dv [1, n], dKeys [count, n], dQuery [rows, n]; they must not overlap each other or the inputs.
 */
export type AdditiveScoresBackwardKernel = (
  rows: number, count: number, n: number,
  hidden: StridedBuffer, dScores: StridedBuffer, v: StridedBuffer,
  dv: StridedBuffer, dKeys: StridedBuffer, dQuery: StridedBuffer,
) => void;

export interface Backend extends CellKernelSlots {
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
  /** The additive attention score and its backward (optional: the js ones otherwise). */
  readonly additiveScores?: AdditiveScoresKernel;
  readonly additiveScoresBackward?: AdditiveScoresBackwardKernel;
  /**
   * Optional: run `fn` with `arrays` declared constant for its duration, so the backend may keep
   * copies of them (e.g. resident in WebAssembly memory) instead of copying them at every call.
   * Use `withConstantOperands`, which falls back to plain `fn()`.
   */
  readonly runWithConstants?: <T>(arrays: readonly FloatArray[], fn: () => T) => T;
  /** Optional: the token step of batch-1 sampling (the js kernels otherwise). */
  readonly tokenSteps?: TokenStepKernels;

  // ---- storage and the vector kernels (bias add, row sums, softmax / cross-entropy rows,
  //      optimizer updates, norms): the slots below; absent slots get the js kernels ----

  /**
   * Optional: zeroed float32 storage where this backend's kernels work in place (the wasm
   * backend's WebAssembly memory), or null to use a plain array. While the backend is selected,
   * `Matrix.zeros` takes float32 storage from here.
   */
  readonly allocateFloat32?: (n: number) => Float32Array | null;
  readonly addBias?: AddBiasKernel;
  readonly sumRows?: SumRowsKernel;
  readonly gatherRows?: GatherRowsKernel;
  readonly scatterAddRows?: ScatterAddRowsKernel;
  readonly addRows?: AddRowsKernel;
  readonly softmaxRows?: SoftmaxRowsKernel;
  readonly crossEntropyRows?: CrossEntropyRowsKernel;
  readonly sumSquares?: SumSquaresKernel;
  readonly scale?: ScaleKernel;
  readonly clamp?: ClampKernel;
  readonly parameterUpdate?: ParameterUpdateKernel;
}

// ---- The other cells' elementwise steps ---------------------------------------------------------
// The full and the simplified GRU, the peephole LSTM, and the RNN's ReLU forward and backward:
// each fused loop of a cell step is a kernel here too (so every cell reaches its arithmetic through
// the seam). Only the js reference (gates-js.ts) implements them so far. Shapes as above: `rows`
// rows of H units; the formulas are in gates-js.ts. Outputs must not overlap each other or the
// inputs, except where a kernel says it updates an operand in place.

/**
 * The notes' full GRU, first half of the step, gate order [Γr Γu c̃] (H columns each):
 *   in:  gates [rows, 3H] whose first 2H columns hold c⟨t−1⟩·[W_ra; W_ua]ᵀ, xp [rows, 3H], cPrev [rows, H]
 *   out: gates[:, 0:2H] ← [Γr Γu] = σ(· + xp[:, 0:2H]) (in place);  resetState [rows, H] = Γr ∗ cPrev
 */
export type GruFullGatesForwardKernel = (
  rows: number, H: number,
  gates: StridedBuffer, xp: StridedBuffer, cPrev: StridedBuffer, resetState: StridedBuffer,
) => void;

/**
 * Its second half, after the cell's GEMM (Γr ∗ c⟨t−1⟩)·W_caᵀ into gates[:, 2H:3H]:
 *   gates[:, 2H:3H] ← c̃ = tanh(· + xp[:, 2H:3H]) (in place);  c [rows, H] = Γu ∗ c̃ + (1 − Γu) ∗ cPrev
 */
export type GruFullCandidateForwardKernel = (
  rows: number, H: number,
  gates: StridedBuffer, xp: StridedBuffer, cPrev: StridedBuffer, c: StridedBuffer,
) => void;

/**
 * Full GRU backward, first half: from gates [Γr Γu c̃], cPrev and dc = ∂L/∂c⟨t⟩ [rows, H], WRITE
 * dzC [rows, H] = ∂L/∂z_c, the Γu half dzRU[:, H:2H] = ∂L/∂z_u (dzRU [rows, 2H]) and
 * dcPrev [rows, H] = dc ∗ (1 − Γu) (the direct path).
 */
export type GruFullCandidateBackwardKernel = (
  rows: number, H: number,
  gates: StridedBuffer, cPrev: StridedBuffer, dc: StridedBuffer,
  dzRU: StridedBuffer, dzC: StridedBuffer, dcPrev: StridedBuffer,
) => void;

/**
 * Its second half, after the cell's GEMM dResetState = ∂L/∂(Γr ∗ c⟨t−1⟩) = dzC·W_ca [rows, H]:
 * WRITE the Γr half dzRU[:, 0:H] = ∂L/∂z_r and dxp [rows, 3H] = [dz_r dz_u dz_c]; ADD
 * dResetState ∗ Γr into dcPrev.
 */
export type GruFullGatesBackwardKernel = (
  rows: number, H: number,
  gates: StridedBuffer, cPrev: StridedBuffer, dResetState: StridedBuffer,
  dzRU: StridedBuffer, dzC: StridedBuffer, dxp: StridedBuffer, dcPrev: StridedBuffer,
) => void;

/**
 * The notes' simplified GRU (Γr ≡ 1), gate order [Γu c̃]:
 *   in:  z [rows, 2H] = c⟨t−1⟩·W_aᵀ, xp [rows, 2H], cPrev [rows, H]
 *   out: z ← [Γu c̃] = [σ tanh](z + xp) (in place);  c [rows, H] = Γu ∗ c̃ + (1 − Γu) ∗ cPrev
 */
export type GruSimpleGatesForwardKernel = (
  rows: number, H: number, z: StridedBuffer, xp: StridedBuffer, cPrev: StridedBuffer, c: StridedBuffer,
) => void;

/**
 * Its backward: from gates [Γu c̃], cPrev and dc = ∂L/∂c⟨t⟩ [rows, H], WRITE dz [rows, 2H] =
 * [dz_u dz_c] and dcPrev = dc ∗ (1 − Γu) (the direct path; the cell adds dz·W_a).
 */
export type GruSimpleGatesBackwardKernel = (
  rows: number, H: number,
  gates: StridedBuffer, cPrev: StridedBuffer, dc: StridedBuffer, dz: StridedBuffer, dcPrev: StridedBuffer,
) => void;

/**
 * The peephole LSTM (Gers & Schmidhuber 2000): LstmGatesForwardKernel's operands plus the diagonal
 * peephole weights pu, pf, po [1, H] (one row, broadcast); Γu and Γf also see p ∗ c⟨t−1⟩, Γo sees
 * po ∗ c⟨t⟩.
 */
export type LstmPeepholeGatesForwardKernel = (
  rows: number, H: number,
  z: StridedBuffer, xp: StridedBuffer, cPrev: StridedBuffer,
  c: StridedBuffer, a: StridedBuffer, tanhC: StridedBuffer,
  pu: StridedBuffer, pf: StridedBuffer, po: StridedBuffer,
) => void;

/**
 * Its backward: LstmGatesBackwardKernel's operands plus c = c⟨t⟩ [rows, H] and the peepholes;
 * WRITES dz and dcPrev (peephole paths included) and ADDS the peepholes' gradients into dpu, dpf,
 * dpo [1, H].
 */
export type LstmPeepholeGatesBackwardKernel = (
  rows: number, H: number,
  gates: StridedBuffer, tanhC: StridedBuffer, cPrev: StridedBuffer, c: StridedBuffer,
  da: StridedBuffer, dc: StridedBuffer, dz: StridedBuffer, dcPrev: StridedBuffer,
  pu: StridedBuffer, pf: StridedBuffer, po: StridedBuffer,
  dpu: StridedBuffer, dpf: StridedBuffer, dpo: StridedBuffer,
) => void;

/** The ReLU RNN's nonlinearity, in place: a [rows, H] ← max(0, a + xp) (a holds a⟨t−1⟩·W_aᵀ). */
export type RnnReluForwardKernel = (rows: number, H: number, a: StridedBuffer, xp: StridedBuffer) => void;

/**
 * The RNN's backward through g, read off the output a = a⟨t⟩ [rows, H]: WRITE dz [rows, H] =
 * da ∗ g′ with tanh′ = 1 − a² (RnnTanhBackwardKernel) or ReLU′ = [a > 0] (RnnReluBackwardKernel).
 */
export type RnnTanhBackwardKernel = (rows: number, H: number, a: StridedBuffer, da: StridedBuffer, dz: StridedBuffer) => void;
export type RnnReluBackwardKernel = (rows: number, H: number, a: StridedBuffer, da: StridedBuffer, dz: StridedBuffer) => void;

/** The slots of these kernels in `Backend` (optional: a backend without one gets the js kernel). */
export interface CellKernelSlots {
  readonly gruFullGatesForward?: GruFullGatesForwardKernel;
  readonly gruFullCandidateForward?: GruFullCandidateForwardKernel;
  readonly gruFullCandidateBackward?: GruFullCandidateBackwardKernel;
  readonly gruFullGatesBackward?: GruFullGatesBackwardKernel;
  readonly gruSimpleGatesForward?: GruSimpleGatesForwardKernel;
  readonly gruSimpleGatesBackward?: GruSimpleGatesBackwardKernel;
  readonly lstmPeepholeGatesForward?: LstmPeepholeGatesForwardKernel;
  readonly lstmPeepholeGatesBackward?: LstmPeepholeGatesBackwardKernel;
  readonly rnnReluForward?: RnnReluForwardKernel;
  readonly rnnTanhBackward?: RnnTanhBackwardKernel;
  readonly rnnReluBackward?: RnnReluBackwardKernel;
}

// ---- The token step of batch-1 sampling ---------------------------------------------------------

/**
 * One recurrent layer of one stream advanced by one token, its state updated in place, and the
 * dense rows around it (training/lm/token-sampler.ts). Vectors are contiguous from their `offset`
 * (their stride is not read); a weight W is row-major with row stride W.stride. A step reads W_a as
 * `recurrentWeights` gave it (taken once per sampler). `work` is scratch of at least 8H floats (the js
 * kernels keep their gate and tanh caches there). Nothing may overlap except as stated. A backend
 * that cannot run a call (float64, an operand outside its memory, H not a multiple of 4) hands it to
 * the js kernels (kernels/token-js.ts) itself. The js kernels are the GEMM and gate kernels of a cell
 * step with one row; a backend may sum the products in another order (float32 rounding apart, the
 * same numbers).
 */
export interface TokenStepKernels {
  /**
   * W_a [rows, cols] in the form this backend's steps read: the js kernels read W_a itself; wasm a
   * copy packed for one sequential pass (so made again after W_a changes).
   */
  recurrentWeights(wa: StridedBuffer, rows: number, cols: number): StridedBuffer;
  /** y [n] = W·x + b (b null: W·x), W [n, k], x [k], b [n]. */
  denseRow(n: number, k: number, w: StridedBuffer, x: StridedBuffer, b: StridedBuffer | null, y: StridedBuffer): void;
  /** LSTM: z = W_a·a [4H], then LstmGatesForwardKernel with xp [4H] and cPrev = c: a, c [H] ← a⟨t⟩, c⟨t⟩. */
  lstmStep(H: number, wa: StridedBuffer, xp: StridedBuffer, a: StridedBuffer, c: StridedBuffer, work: StridedBuffer): void;
  /** Reset-after GRU: hp = W_a·s [3H], then GruGatesForwardKernel with b_a [3H] and xp [3H]: s [H] ← s⟨t⟩. */
  gruStep(H: number, wa: StridedBuffer, ba: StridedBuffer, xp: StridedBuffer, s: StridedBuffer, work: StridedBuffer): void;
  /** RNN: a [H] ← g(W_a·a + xp), g = tanh, or ReLU when `relu`. */
  rnnStep(H: number, wa: StridedBuffer, xp: StridedBuffer, a: StridedBuffer, work: StridedBuffer, relu: boolean): void;
  /**
   * `layer`'s step (lstmStep, gruStep or rnnStep of its operands) bound once, for a stream stepped
   * token after token: the returned function takes the input row xp. The same numbers as the per-call
   * step; a backend finds where the fixed operands live once instead of at every token. Lifetime: the
   * operands must keep their storage (not be released) while the function is used.
   */
  bindStep(layer: TokenLayer): (xp: StridedBuffer) => void;
  /** denseRow with W, b and y fixed (bound once, as bindStep): the returned function takes x. */
  bindDenseRow(n: number, k: number, w: StridedBuffer, b: StridedBuffer | null, y: StridedBuffer): (x: StridedBuffer) => void;
}

/** One stream's recurrent layer as its token step reads it: W_a (from recurrentWeights), the state, the scratch. */
export type TokenLayer =
  | { readonly kind: 'lstm'; readonly H: number; readonly wa: StridedBuffer; readonly a: StridedBuffer; readonly c: StridedBuffer; readonly work: StridedBuffer }
  | { readonly kind: 'gru'; readonly H: number; readonly wa: StridedBuffer; readonly ba: StridedBuffer; readonly s: StridedBuffer; readonly work: StridedBuffer }
  | { readonly kind: 'rnn'; readonly H: number; readonly wa: StridedBuffer; readonly a: StridedBuffer; readonly work: StridedBuffer; readonly relu: boolean };
