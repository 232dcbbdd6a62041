/**
 * The contract between a recurrent cell and the sequence runner (`layers/sequence.ts`).
 *
 * A cell owns its parameters in the notes' fused layout and two paired step kernels. The runner
 * does everything that is the same for every cell:
 *   1. projects the inputs of all T steps with one GEMM: XP = X·W_xᵀ + b  ([T·B, G], G = gateWidth);
 *   2. calls `stepForward` for t = 0 … T−1 with the step's slice of XP and the previous state;
 *   3. applies the [T, B] mask (a masked row keeps its previous state; its output is 0);
 *   4. in backward, calls `stepBackward` for t = T−1 … 0, then forms dW_x = dXPᵀ·X, db = Σ dXP and
 *      dX = dXP·W_x with one GEMM each over all T steps.
 *
 * Names and shapes (H = hiddenSize, D = inputSize, B = batch):
 *   params.W_x  [G, D]  input weights of all gates, fused (rows in the cell's documented gate order)
 *   params.b    [1, G]  the gate biases, fused
 *   other params (recurrent weights, peepholes, …) are the cell's own; `grads` mirrors `params`.
 * A state is a list of [B, H] matrices: [a] for RNN and GRU, [a, c] for LSTM.
 */
import type { DType, Matrix } from '../engine/matrix.js';

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

export interface RecurrentCell {
  readonly kind: CellKind;
  readonly inputSize: number;
  readonly hiddenSize: number;
  /** Fused gate width G: H (RNN), 2H (simplified GRU), 3H (GRU), 4H (LSTM). */
  readonly gateWidth: number;
  /** Number of state tensors: 1 ([a]) or 2 ([a, c]). */
  readonly stateCount: 1 | 2;
  readonly dtype: DType;
  /** All parameters by name; always includes W_x [G, D] and b [1, G]. */
  readonly params: Record<string, Matrix>;
  /** Gradient buffers with the keys and shapes of params; backward accumulates into them. */
  readonly grads: Record<string, Matrix>;

  /** Allocate the caches for T steps of batch B (done once per (T, B), reused across calls). */
  createWorkspace(steps: number, batch: number): CellWorkspace;

  /**
   * One forward step at time t: from xp = (x⟨t⟩·W_xᵀ + b) [B, G] and the previous state, write the
   * new state into `next` (each [B, H]) and keep in `ws` what the backward step needs.
   * `next` never aliases `prev`.
   */
  stepForward(ws: CellWorkspace, t: number, xp: Matrix, prev: readonly Matrix[], next: readonly Matrix[]): void;

  /**
   * One backward step at time t: given dNext (∂L/∂ state⟨t⟩, each [B, H], already including the
   * output's gradient), write ∂L/∂xp into `dxp` [B, G], write ∂L/∂ state⟨t−1⟩ into `dPrev`, and
   * accumulate (+=) the gradients of the recurrent parameters into `grads`.
   * Rows of dNext that are zero contribute nothing (the runner uses this for masked rows).
   */
  stepBackward(ws: CellWorkspace, t: number, dNext: readonly Matrix[], dxp: Matrix, dPrev: readonly Matrix[]): void;
}
