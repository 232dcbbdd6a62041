/**
 * The peephole LSTM (Gers & Schmidhuber 2000): the notes' LSTM (lstm.ts) whose gates also look at
 * the cell state through diagonal weights:
 *
 *   c̃⟨t⟩ = tanh(W_c[a⟨t−1⟩, x⟨t⟩] + b_c)
 *   Γu = σ(W_u[a⟨t−1⟩, x⟨t⟩] + b_u + p_u ∗ c⟨t−1⟩)
 *   Γf = σ(W_f[a⟨t−1⟩, x⟨t⟩] + b_f + p_f ∗ c⟨t−1⟩)
 *   c⟨t⟩ = Γu ∗ c̃⟨t⟩ + Γf ∗ c⟨t−1⟩
 *   Γo = σ(W_o[a⟨t−1⟩, x⟨t⟩] + b_o + p_o ∗ c⟨t⟩)
 *   a⟨t⟩ = Γo ∗ tanh(c⟨t⟩)
 *
 * Layout: the LSTM's (W_x [4H, D], W_a [4H, H], b [1, 4H], gate order [Γu Γf c̃ Γo]) plus
 * p_u, p_f, p_o [1, H] each. Neither PyTorch nor Keras has this cell: seqgrad defines the layout
 * (layers/interchange.ts). State [a, c]; `forgetBias` as for the LSTM.
 *
 * Per step: one GEMM a⟨t−1⟩·W_aᵀ [B, 4H], then the backend seam's `lstmPeepholeGatesForward` /
 * `lstmPeepholeGatesBackward` kernels (engine/kernels/gates-js.ts). Caches as the LSTM's.
 */
import { lstmPeepholeGatesBackwardKernel, lstmPeepholeGatesForwardKernel } from '../../engine/backend.js';
import { gemm, gemmTransAccumulate } from '../../engine/gemm.js';
import type { DType, Matrix } from '../../engine/matrix.js';
import { checkStepShapes, type CellConfig, type RecurrentCell } from './cell.js';
import type { LstmCellOptions, LstmWorkspace } from './lstm.js';
import { createLstmParams, createLstmWorkspace } from './lstm-parts.js';
import type { CreateOptions } from '../../engine/create.js';
import { cellOptionsOf, type CellSettings } from './cell.js';

export class PeepholeLstmCell implements RecurrentCell<LstmWorkspace> {
  readonly kind = 'lstm-peephole' as const;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly gateWidth: number;
  readonly stateCount = 2 as const;
  readonly dtype: DType;
  readonly config: CellConfig;
  readonly params: Record<string, Matrix>;
  readonly grads: Record<string, Matrix>;

  constructor(opts: LstmCellOptions) {
    const H = opts.hiddenSize;
    const { dtype, params, grads } = createLstmParams('createPeepholeLstmCell', opts, { p_u: [1, H], p_f: [1, H], p_o: [1, H] });
    this.inputSize = opts.inputSize;
    this.hiddenSize = H;
    this.gateWidth = 4 * H;
    this.dtype = dtype;
    this.config = { kind: this.kind, inputSize: opts.inputSize, hiddenSize: H, dtype };
    this.params = params;
    this.grads = grads;
  }

  createWorkspace(steps: number, batch: number): LstmWorkspace {
    return createLstmWorkspace(steps, batch, this.hiddenSize, this.dtype);
  }

  /** z = xp⟨t⟩ + a⟨t−1⟩·W_aᵀ  [B, 4H]; gates (with the peephole terms), c⟨t⟩ and a⟨t⟩ as in the header. */
  stepForward(ws: LstmWorkspace, t: number, xp: Matrix, prev: readonly Matrix[], next: readonly Matrix[]): void {
    checkStepShapes('lstm-peephole.stepForward', this, ws, t, xp, prev, next);
    const gates = ws.gates[t];
    const P = this.params;
    gemm(gates, prev[0], P.W_a, false, true, 1, 0);
    lstmPeepholeGatesForwardKernel()(gates.rows, this.hiddenSize, gates, xp, prev[1], next[1], next[0], ws.tanhC[t], P.p_u, P.p_f, P.p_o);
  }

  /**
   * From da⟨t⟩, dc⟨t⟩ (each [B, H]):
   *   dΓo = da ∗ tanh(c);             dz_o = dΓo ∗ Γo(1 − Γo)
   *   dc  = dc⟨t⟩ + da ∗ Γo ∗ (1 − tanh²(c)) + dz_o ∗ p_o
   *   dz_u = dc ∗ c̃ ∗ Γu(1 − Γu);   dz_f = dc ∗ c⟨t−1⟩ ∗ Γf(1 − Γf);   dz_c = dc ∗ Γu ∗ (1 − c̃²)
   *   dc⟨t−1⟩ = dc ∗ Γf + dz_u ∗ p_u + dz_f ∗ p_f
   *   dxp = [dz_u dz_f dz_c dz_o]  [B, 4H];  da⟨t−1⟩ = dxp·W_a   (dW_a: accumulateRecurrentGrads)
   *   dp_u += Σ_b dz_u ∗ c⟨t−1⟩;  dp_f += Σ_b dz_f ∗ c⟨t−1⟩;  dp_o += Σ_b dz_o ∗ c⟨t⟩
   */
  stepBackward(
    ws: LstmWorkspace, t: number, dNext: readonly Matrix[], dxp: Matrix, dPrev: readonly Matrix[],
    prev: readonly Matrix[], next: readonly Matrix[],
  ): void {
    checkStepShapes('lstm-peephole.stepBackward', this, ws, t, dxp, dNext, dPrev, prev, next);
    const gates = ws.gates[t];
    const P = this.params, G = this.grads;
    lstmPeepholeGatesBackwardKernel()(
      gates.rows, this.hiddenSize, gates, ws.tanhC[t], prev[1], next[1], dNext[0], dNext[1], dxp, dPrev[1],
      P.p_u, P.p_f, P.p_o, G.p_u, G.p_f, G.p_o,
    );
    gemm(dPrev[0], dxp, P.W_a, false, false, 1, 0);
  }

  /** dW_a += dXPᵀ·A_prev over all T·B rows (the recurrent pre-activation's gradient is dxp). */
  accumulateRecurrentGrads(_ws: LstmWorkspace, _steps: number, dxp: Matrix, prevStates: readonly Matrix[]): void {
    gemmTransAccumulate(this.grads.W_a, dxp, prevStates[0]);
  }
}

/** A peephole LSTM cell (Gers & Schmidhuber 2000). */
/** `createPeepholeLstmCell({ inputSize, hiddenSize, … }, { rng?, dtype? })` (defaults: engine/create.ts). */
export function createPeepholeLstmCell(config: CellSettings<LstmCellOptions>, options?: CreateOptions): PeepholeLstmCell {
  return new PeepholeLstmCell(cellOptionsOf('createPeepholeLstmCell', config, options));
}
