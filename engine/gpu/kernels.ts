/**
 * The gpu.js kernel functions of the `gpu` backend. gpu.js translates each one to a GLSL fragment
 * shader (WebGL), a WebAssembly module or plain JS (its fallbacks) from its *source text*, so:
 *   - every kernel is a `function` expression (no arrow, no closure over outer variables, no
 *     calls to anything but `Math.*` and the helper functions listed with it);
 *   - sizes come in as arguments or `this.constants`;
 *   - a loop bounded by an argument is capped at `loopMaxIterations` iterations — silently, at 1000
 *     by default — so every kernel with such a loop is created with a cap above its largest bound.
 *
 * One thread computes one output entry: `this.thread.x` is the column, `this.thread.y` the row of
 * an output declared as `[cols, rows]`. Every 2-D input is read as `t[r][c]`: host matrices go in
 * as gpu.js `input(data, [cols, rows])`, results that stay on the device as pipelined textures
 * (or, in gpu.js' CPU/WebAssembly fallbacks, arrays of rows).
 *
 * Gate order of the LSTM kernels: PyTorch's [i f g o] = [Γu Γf c̃ Γo] in blocks of H columns, as in
 * layers/cells/lstm.ts. The recurrent state lives in one [B, 2H] grid: columns [0, H) are c, [H, 2H) are a.
 */

/** What gpu.js gives a kernel function as `this` (the part these kernels use). */
export interface KernelThis {
  readonly thread: { readonly x: number; readonly y: number; readonly z: number };
  readonly constants: { readonly [name: string]: number };
}

/** A 2-D input that lives on the device: a texture in WebGL, rows of a Float32Array elsewhere. */
export type Grid = ArrayLike<ArrayLike<number>>;

/** σ(z) without overflow: exp of a non-positive number only. */
export function sigmoidStable(z: number): number {
  const e = Math.exp(-Math.abs(z));
  if (z >= 0) {
    return 1 / (1 + e);
  }
  return e / (1 + e);
}

/** tanh(z) = sign(z)·(1 − e^{−2|z|})/(1 + e^{−2|z|}) (GLSL ES 1.0 has no tanh; this never overflows). */
export function tanhStable(z: number): number {
  const e = Math.exp(-2 * Math.abs(z));
  const t = (1 - e) / (1 + e);
  if (z >= 0) {
    return t;
  }
  return -t;
}

/** The helper functions the LSTM kernels call (passed to gpu.js as `functions`). */
export const lstmHelperFunctions = [sigmoidStable, tanhStable];

/**
 * GEMM for the backend seam, one kernel per transposition: out[i][j] = Σ_p op(A)[i][p]·op(B)[p][j],
 * p < k (`this.constants.k`). A and B come as 2-D inputs in their stored orientation (A is [m, k],
 * or [k, m] when transposed; B is [k, n], or [n, k]). Output [n, m] (columns, rows); α and β are
 * applied by the host. gpu.js compiles a loop bounded by a constant with that exact bound; the
 * kernels are still created with `loopMaxIterations` above k (the cap applies to argument bounds).
 */
export const gemmNNKernel = function (this: KernelThis, a: Grid, b: Grid): number {
  let sum = 0;
  for (let p = 0; p < this.constants.k; p++) {
    sum += a[this.thread.y][p] * b[p][this.thread.x];
  }
  return sum;
};

export const gemmNTKernel = function (this: KernelThis, a: Grid, b: Grid): number {
  let sum = 0;
  for (let p = 0; p < this.constants.k; p++) {
    sum += a[this.thread.y][p] * b[this.thread.x][p];
  }
  return sum;
};

export const gemmTNKernel = function (this: KernelThis, a: Grid, b: Grid): number {
  let sum = 0;
  for (let p = 0; p < this.constants.k; p++) {
    sum += a[p][this.thread.y] * b[p][this.thread.x];
  }
  return sum;
};

export const gemmTTKernel = function (this: KernelThis, a: Grid, b: Grid): number {
  let sum = 0;
  for (let p = 0; p < this.constants.k; p++) {
    sum += a[p][this.thread.y] * b[this.thread.x][p];
  }
  return sum;
};

/** Upload: out[r][c] = src[r][c]  (a host matrix becomes a device grid that stays). Output [cols, rows]. */
export const uploadKernel = function (this: KernelThis, src: Grid): number {
  return src[this.thread.y][this.thread.x];
};

/**
 * Initial recurrent state: state[b] = [c0[b] | a0[b]]  [B, 2H]; c0, a0: [B, H]. Output [2H, B].
 */
export const lstmInitStateKernel = function (this: KernelThis, c0: Grid, a0: Grid): number {
  const hidden = this.constants.hidden;
  const b = this.thread.y;
  const x = this.thread.x;
  if (x < hidden) {
    return c0[b][x];
  }
  return a0[b][x - hidden];
};

/**
 * Input projection of all T steps at once: XP = X·W_xᵀ + b  [T·B, 4H].
 * x: [T·B, D], wx: [4H, D], bias: [1, 4H]. Output [4H, T·B].
 */
export const lstmInputProjectionKernel = function (this: KernelThis, x: Grid, wx: Grid, bias: Grid): number {
  const r = this.thread.y;
  const j = this.thread.x;
  let sum = bias[0][j];
  for (let d = 0; d < this.constants.inputSize; d++) {
    sum += x[r][d] * wx[j][d];
  }
  return sum;
};

/**
 * Pre-activations of step t: z = XP⟨t⟩ + a⟨t−1⟩·W_aᵀ  [B, 4H], where XP⟨t⟩ is rows [row0, row0 + B)
 * of xp [T·B, 4H] and a⟨t−1⟩ is columns [H, 2H) of state [B, 2H]; wa: [4H, H]. Output [4H, B].
 */
export const lstmRecurrentKernel = function (
  this: KernelThis, xp: Grid, row0: number, state: Grid, wa: Grid,
): number {
  const hidden = this.constants.hidden;
  const b = this.thread.y;
  const j = this.thread.x;
  let sum = xp[row0 + b][j];
  for (let h = 0; h < this.constants.hidden; h++) {
    sum += state[b][hidden + h] * wa[j][h];
  }
  return sum;
};

/**
 * The activated gates from z [B, 4H]: [Γu Γf c̃ Γo] = [σ(z_i) σ(z_f) tanh(z_g) σ(z_o)]. Output [4H, B].
 */
export const lstmGatesKernel = function (this: KernelThis, z: Grid): number {
  const hidden = this.constants.hidden;
  const j = this.thread.x;
  const v = z[this.thread.y][j];
  if (j >= 2 * hidden && j < 3 * hidden) {
    return tanhStable(v);
  }
  return sigmoidStable(v);
};

/**
 * The new state [c⟨t⟩ | a⟨t⟩]  [B, 2H] from z [B, 4H] and the previous state [c⟨t−1⟩ | a⟨t−1⟩]:
 *   c⟨t⟩ = Γu ∗ c̃ + Γf ∗ c⟨t−1⟩,   a⟨t⟩ = Γo ∗ tanh(c⟨t⟩).
 * Each thread recomputes the gates it needs (cheaper than a round trip through another texture).
 * Output [2H, B].
 */
export const lstmStateKernel = function (this: KernelThis, z: Grid, prev: Grid): number {
  const hidden = this.constants.hidden;
  const b = this.thread.y;
  let j = this.thread.x;
  if (j >= hidden) {
    j = j - hidden;
  }
  const gu = sigmoidStable(z[b][j]);
  const gf = sigmoidStable(z[b][hidden + j]);
  const cc = tanhStable(z[b][2 * hidden + j]);
  const c = gu * cc + gf * prev[b][j];
  if (this.thread.x < hidden) {
    return c;
  }
  return sigmoidStable(z[b][3 * hidden + j]) * tanhStable(c);
};
