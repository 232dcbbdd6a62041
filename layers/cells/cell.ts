/**
 * The contract between a recurrent cell and the sequence runner (`layers/sequence.ts`).
 *
 * A cell owns its parameters in the notes' fused layout and two paired step kernels. The runner
 * does everything that is the same for every cell:
 *   1. projects the inputs of all T steps with one GEMM: XP = X·W_xᵀ + b  ([T·B, G], G = gateWidth);
 *   2. calls `stepForward` for t = 0 … T−1 with the step's slice of XP and the previous state;
 *   3. applies the [T, B] mask (a masked row keeps its previous state; its output is 0);
 *   4. in backward, calls `stepBackward` for t = T−1 … 0, then `accumulateRecurrentGrads` (the
 *      recurrent weight gradient dW_a = Σ_t dZ⟨t⟩ᵀ·state⟨t−1⟩ as one GEMM over all T·B rows, not T
 *      products of K = B rows that each read and write the whole [G, H] gradient), then forms
 *      dW_x = dXPᵀ·X, db = Σ dXP and dX = dXP·W_x with one GEMM each over all T steps.
 *
 * Names and shapes (H = hiddenSize, D = inputSize, B = batch):
 *   params.W_x  [G, D]  input weights of all gates, fused (rows in the cell's documented gate order)
 *   params.b    [1, G]  the gate biases, fused
 *   other params (recurrent weights, peepholes, …) are the cell's own; `grads` mirrors `params`.
 * A state is a list of [B, H] matrices: [a] for RNN and GRU, [a, c] for LSTM.
 *
 * One class per cell kind, each in its own file with its equations at the top: rnn.ts, gru.ts (the
 * notes' full GRU), gru-simple.ts, gru-reset-after.ts, lstm.ts, lstm-peephole.ts. A cell's
 * elementwise step loops are kernels of the backend seam (engine/backend.ts); the cell does the
 * GEMMs and the bookkeeping around them.
 */
import { initPytorchDefault, initXavierUniform } from '../../engine/init.js';
import { Matrix, zero, type DType } from '../../engine/matrix.js';
import { resolveCreateOptions, type CreateOptions } from '../../engine/create.js';
import type { Rng } from '../../engine/rng.js';

export type CellKind =
  | 'rnn'
  | 'gru'            // the notes' full GRU (reset before the matmul)
  | 'gru-simple'     // the notes' simplified GRU (update gate only)
  | 'gru-reset-after' // PyTorch/Keras GRU: n = tanh(W_in x + b_in + r ∗ (W_hn h + b_hn))
  | 'lstm'
  | 'lstm-peephole';

/** Per-(T, B) workspace of one cell: the caches of every step, allocated once and reused. */
export interface CellWorkspace {
  readonly steps: number;
  readonly batch: number;
}

/**
 * A recurrent cell whose per-(T, B) caches have the type W. Code that holds cells of any kind
 * (the runner, the wrappers, the models) uses `RecurrentCell` = `RecurrentCell<CellWorkspace>`: a
 * cell of any W is one (its step methods take the workspace its own `createWorkspace` made, and
 * that is the only workspace the runner ever hands it), and the cell itself sees its W without a
 * downcast.
 */
export interface RecurrentCell<W extends CellWorkspace = CellWorkspace> {
  readonly kind: CellKind;
  readonly inputSize: number;
  readonly hiddenSize: number;
  /** Fused gate width G: H (RNN), 2H (simplified GRU), 3H (GRU), 4H (LSTM). */
  readonly gateWidth: number;
  /** Number of state tensors: 1 ([a]) or 2 ([a, c]). */
  readonly stateCount: 1 | 2;
  readonly dtype: DType;
  /** Structure of the cell (kind, sizes, dtype, activation), enough to rebuild it. */
  readonly config: CellConfig;
  /**
   * All parameters by name; always includes W_x [G, D] and b [1, G]. Load weights by copying into
   * these matrices (copyInto), never by replacing the entries: cells keep views of them.
   */
  readonly params: Record<string, Matrix>;
  /** Gradient buffers with the keys and shapes of params; backward accumulates into them. */
  readonly grads: Record<string, Matrix>;
  /**
   * True when the cell adds b itself after its own transformation of XP (the layer-normalised
   * cells: b comes after the normalisation). The runner then forms XP = X·W_xᵀ without b and
   * leaves db to the cell's stepBackward. Absent or false: XP = X·W_xᵀ + b, db += Σ dXP (runner).
   */
  readonly ownsBias?: boolean;

  /** Allocate the caches for T steps of batch B (done once per (T, B), reused across calls). */
  createWorkspace(steps: number, batch: number): W;

  /**
   * One forward step at time t: from xp = (x⟨t⟩·W_xᵀ + b) [B, G] and the previous state, write the
   * new state into `next` (each [B, H]) and keep in `ws` what the backward step needs (and what
   * accumulateRecurrentGrads needs beyond the runner's state history).
   * `next` never aliases `prev`.
   */
  stepForward(ws: W, t: number, xp: Matrix, prev: readonly Matrix[], next: readonly Matrix[]): void;

  /**
   * One backward step at time t: given dNext (∂L/∂ state⟨t⟩, each [B, H], already including the
   * output's gradient), write ∂L/∂xp into `dxp` [B, G] and ∂L/∂ state⟨t−1⟩ into `dPrev`. Gradients
   * of per-unit parameters (peepholes) may be accumulated (+=) here; the recurrent weights' (W_a,
   * b_a) are not — the cell keeps in `ws` whatever of ∂L/∂(recurrent pre-activation) of step t
   * differs from dxp, and accumulateRecurrentGrads forms them once after the time loop.
   * `prev` and `next` are the states the forward step read and wrote (the runner keeps the state
   * history, so cells need not cache it); for rows the runner masked, `next` holds the carried
   * state, not the cell's output, and dNext is 0 there.
   * Rows of dNext that are zero contribute nothing (the runner uses this for masked rows).
   * dNext is read-only; dPrev never aliases dNext, prev or next.
   */
  stepBackward(
    ws: W, t: number, dNext: readonly Matrix[], dxp: Matrix, dPrev: readonly Matrix[],
    prev: readonly Matrix[], next: readonly Matrix[],
  ): void;

  /**
   * After stepBackward ran for t = T−1 … 0 (steps = T): accumulate (+=) the recurrent parameters'
   * gradients of all T steps, one GEMM over the T·B rows — e.g. dW_a += dXPᵀ·A_prev for LSTM and
   * RNN, where the recurrent pre-activation's gradient is dxp itself.
   *   dxp        [T·B, G]  ∂L/∂XP of the T steps, as stepBackward wrote them (row block t = step t)
   *   prevStates per state tensor, [T·B, H]: state⟨0…T−1⟩ (row block t = the `prev` of step t)
   * Rows the runner masked are zero in dxp (and in the cell's own per-step gradient rows), so they
   * add nothing. Both are the runner's views, stable per T; nothing is allocated once warm.
   */
  accumulateRecurrentGrads(ws: W, steps: number, dxp: Matrix, prevStates: readonly Matrix[]): void;
}

/**
 * The cheap shape check of one stepForward / stepBackward call (the cell contract is public): t
 * within the workspace, xp (or dxp) [B, G] with B the workspace's batch, and every state tensor
 * of the state groups `s0` … `s3` (prev/next, or dNext/dPrev/prev/next) [B, H]. A wrong width
 * would read past a buffer on wasm; name it instead. Fixed parameters, not an array of groups:
 * nothing is allocated per step.
 */
export function checkStepShapes(
  op: string, cell: RecurrentCell, ws: CellWorkspace, t: number, xp: Matrix,
  s0: readonly Matrix[], s1: readonly Matrix[], s2?: readonly Matrix[], s3?: readonly Matrix[],
): void {
  if (!Number.isInteger(t) || t < 0 || t >= ws.steps) throw new Error(`${op}: expected step t in [0, ${ws.steps}) of the workspace, got ${t}`);
  if (xp.rows !== ws.batch || xp.cols !== cell.gateWidth) {
    throw new Error(`${op}: expected xp [${ws.batch}, ${cell.gateWidth}] (the workspace's batch, G), got [${xp.rows}, ${xp.cols}]`);
  }
  checkStateGroup(op, cell, xp.rows, s0);
  checkStateGroup(op, cell, xp.rows, s1);
  if (s2) checkStateGroup(op, cell, xp.rows, s2);
  if (s3) checkStateGroup(op, cell, xp.rows, s3);
}

function checkStateGroup(op: string, cell: RecurrentCell, B: number, group: readonly Matrix[]): void {
  for (let k = 0; k < cell.stateCount; k++) {
    const s = group[k];
    if (!s || s.rows !== B || s.cols !== cell.hiddenSize) {
      throw new Error(`${op}: expected state tensor ${k} to be [${B}, ${cell.hiddenSize}] (xp's batch, H), got ${s ? `[${s.rows}, ${s.cols}]` : 'none'}`);
    }
  }
}

/** What `createCell(config, { rng })` needs to rebuild a cell's structure (for saving). */
export interface CellConfig {
  kind: CellKind;
  inputSize: number;
  hiddenSize: number;
  dtype: DType;
  /** RNN only: the non-linearity g. */
  activation?: 'tanh' | 'relu';
  /** LSTM and reset-after GRU: layer-normalised (Ba et al. 2016); absent = false. */
  layerNorm?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Shared by the cell files: options, parameter allocation and initialisation.

/** Options every cell takes. */
export interface CellOptions {
  inputSize: number;
  hiddenSize: number;
  /** The generator every random initial weight comes from. */
  rng: Rng;
  /** 'float32' (default) or 'float64' (gradient checks). */
  dtype?: DType;
  /**
   * 'pytorch' (default): every weight and bias U(−1/√H, 1/√H), as torch.nn.RNN/GRU/LSTM.
   * 'xavier': each gate's [H, D] block of W_x and [H, H] block of W_a Xavier-uniform, biases 0.
   */
  init?: 'pytorch' | 'xavier';
}

/**
 * The options of a cell as its public constructor takes them: the structure, without the rng (which
 * belongs in the `{ rng, dtype }` argument; inside the config it is still read, deprecated).
 */
export type CellSettings<O extends { rng: Rng }> = Omit<O, 'rng'> & {
  /** @deprecated Give the generator in the constructor's options: `createX(config, { rng })`. */
  rng?: Rng;
};

/** A cell's full options from `createX(config, { rng?, dtype? })`: the defaults of engine/create.ts filled in. */
export function cellOptionsOf<O extends { rng: Rng; dtype?: DType }>(op: string, config: CellSettings<O>, options?: CreateOptions): O {
  const { rng, dtype } = resolveCreateOptions(op, { rng: options?.rng ?? config.rng, dtype: options?.dtype }, config.dtype);
  return { ...config, rng, dtype } as O;
}

/** Throws unless the sizes are positive integers; returns the dtype. */
export function checkCellOptions(op: string, opts: CellOptions): DType {
  const { inputSize, hiddenSize } = opts;
  if (!Number.isInteger(inputSize) || inputSize < 1 || !Number.isInteger(hiddenSize) || hiddenSize < 1) {
    throw new Error(`${op}: expected positive integer inputSize and hiddenSize, got ${inputSize} and ${hiddenSize}`);
  }
  const dtype = opts.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float64') throw new Error(`${op}: expected dtype float32 or float64, got '${dtype as string}'`);
  if (!opts.rng || typeof opts.rng.uniform !== 'function') throw new Error(`${op}: expected an Rng in opts.rng, got ${typeof opts.rng}`);
  return dtype;
}

/**
 * The row prefix [0, T·B) of a buffer of per-step row blocks ([capacity·B, n]), made once per T and
 * kept in `cache[T]` (so a cell's accumulateRecurrentGrads allocates nothing once warm).
 */
export function stepPrefix(cache: (Matrix | undefined)[], all: Matrix, steps: number, batch: number): Matrix {
  return cache[steps] ?? (cache[steps] = steps * batch === all.rows ? all : all.rowView(0, steps * batch));
}

/** Zero parameters and matching zero gradients from a table of shapes. */
export function allocateParams(
  shapes: Record<string, [number, number]>, dtype: DType,
): { params: Record<string, Matrix>; grads: Record<string, Matrix> } {
  const params: Record<string, Matrix> = {};
  const grads: Record<string, Matrix> = {};
  for (const [name, [rows, cols]] of Object.entries(shapes)) {
    params[name] = Matrix.zeros(rows, cols, dtype);
    grads[name] = Matrix.zeros(rows, cols, dtype);
  }
  return { params, grads };
}

/**
 * Initialise a cell's parameters in place, in the order of `params`' keys. Weight matrices are
 * the names in `gateBlockWeights` (fused, H rows per gate); everything else (biases, peepholes)
 * is "bias-like".
 */
export function initCellParams(
  params: Record<string, Matrix>, gateBlockWeights: string[], hiddenSize: number,
  init: 'pytorch' | 'xavier', rng: Rng, op: string,
): void {
  if (init !== 'pytorch' && init !== 'xavier') throw new Error(`${op}: expected init 'pytorch' or 'xavier', got '${init as string}'`);
  for (const [name, p] of Object.entries(params)) {
    if (init === 'pytorch') {
      initPytorchDefault(p, rng, hiddenSize);
    } else if (gateBlockWeights.includes(name)) {
      for (let g = 0; g < p.rows / hiddenSize; g++) initXavierUniform(p.rowView(g * hiddenSize, hiddenSize), rng);
    } else {
      zero(p);
    }
  }
}
