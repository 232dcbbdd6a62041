/**
 * The LSTM cell as in the notes (Hochreiter & Schmidhuber 1997, with a forget gate):
 *
 *   c̃⟨t⟩ = tanh(W_c[a⟨t−1⟩, x⟨t⟩] + b_c)
 *   Γu = σ(W_u[a⟨t−1⟩, x⟨t⟩] + b_u)
 *   Γf = σ(W_f[a⟨t−1⟩, x⟨t⟩] + b_f)
 *   Γo = σ(W_o[a⟨t−1⟩, x⟨t⟩] + b_o)
 *   c⟨t⟩ = Γu ∗ c̃⟨t⟩ + Γf ∗ c⟨t−1⟩
 *   a⟨t⟩ = Γo ∗ tanh(c⟨t⟩)
 * (lstm-peephole.ts adds Gers & Schmidhuber's peepholes on the same layout.)
 *
 * Fused layout — PyTorch's nn.LSTM gate order [i f g o] = [Γu Γf c̃ Γo], so loading a state_dict
 * is a copy (H = hidden size, D = input size, rows in blocks of H):
 *   W_x  [4H, D]  rows [W_ux; W_fx; W_cx; W_ox]     = weight_ih_l0
 *   W_a  [4H, H]  rows [W_ua; W_fa; W_ca; W_oa]     = weight_hh_l0
 *   b    [1, 4H]  [b_u, b_f, b_c, b_o]              = bias_ih_l0 + bias_hh_l0 (one bias: they only appear summed)
 * The notes' W_u = [W_ua | W_ux] (columns [a⟨t−1⟩, x⟨t⟩]).
 * State: [a, c], each [B, H]. `forgetBias` (e.g. 1, Jozefowicz et al. 2015) sets b_f after init.
 *
 * Per step: one GEMM a⟨t−1⟩·W_aᵀ [B, 4H] for all four gates, then one fused loop over the gates —
 * the backend seam's `lstmGatesForward` / `lstmGatesBackward` kernels (engine/kernels/gates-js.ts;
 * WebAssembly SIMD on 'wasm').
 * Cache per step (allocated once per (T, B)): the activated gates [B, 4H] and tanh(c⟨t⟩) [B, H].
 */
import { lstmGatesBackwardKernel, lstmGatesForwardKernel } from '../../engine/backend.js';
import { gemm, gemmTransAccumulate } from '../../engine/gemm.js';
import type { Matrix, DType } from '../../engine/matrix.js';
import { checkStepShapes, type CellConfig, type CellOptions, type CellWorkspace, type RecurrentCell } from './cell.js';
import { createLstmParams, createLstmWorkspace } from './lstm-parts.js';
import type { CreateOptions } from '../../engine/create.js';
import { cellOptionsOf, type CellSettings } from './cell.js';

export interface LstmCellOptions extends CellOptions {
  /** When given, b_f is set to this value after initialisation (1 is the usual choice). */
  forgetBias?: number;
}

/** The caches of both LSTM cells. */
export interface LstmWorkspace extends CellWorkspace {
  /** Activated gates [Γu Γf c̃ Γo] of step t, [B, 4H] each. */
  readonly gates: Matrix[];
  /** tanh(c⟨t⟩) of step t, [B, H] each. */
  readonly tanhC: Matrix[];
}

export class LstmCell implements RecurrentCell<LstmWorkspace> {
  readonly kind = 'lstm' as const;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly gateWidth: number;
  readonly stateCount = 2 as const;
  readonly dtype: DType;
  readonly config: CellConfig;
  readonly params: Record<string, Matrix>;
  readonly grads: Record<string, Matrix>;

  constructor(opts: LstmCellOptions) {
    const { dtype, params, grads } = createLstmParams('createLstmCell', opts);
    const { inputSize: D, hiddenSize: H } = opts;
    this.inputSize = D;
    this.hiddenSize = H;
    this.gateWidth = 4 * H;
    this.dtype = dtype;
    this.config = { kind: this.kind, inputSize: D, hiddenSize: H, dtype };
    this.params = params;
    this.grads = grads;
  }

  createWorkspace(steps: number, batch: number): LstmWorkspace {
    return createLstmWorkspace(steps, batch, this.hiddenSize, this.dtype);
  }

  /**
   * z = xp⟨t⟩ + a⟨t−1⟩·W_aᵀ  [B, 4H]; gates, c⟨t⟩ and a⟨t⟩ as in the header, one loop over
   * (row, unit) computing all four gates.
   */
  stepForward(ws: LstmWorkspace, t: number, xp: Matrix, prev: readonly Matrix[], next: readonly Matrix[]): void {
    checkStepShapes('lstm.stepForward', this, ws, t, xp, prev, next);
    const gates = ws.gates[t];
    gemm(gates, prev[0], this.params.W_a, false, true, 1, 0);
    lstmGatesForwardKernel()(gates.rows, this.hiddenSize, gates, xp, prev[1], next[1], next[0], ws.tanhC[t]);
  }

  /**
   * From da⟨t⟩, dc⟨t⟩ (each [B, H]):
   *   dΓo = da ∗ tanh(c);             dz_o = dΓo ∗ Γo(1 − Γo)
   *   dc  = dc⟨t⟩ + da ∗ Γo ∗ (1 − tanh²(c))
   *   dz_u = dc ∗ c̃ ∗ Γu(1 − Γu);   dz_f = dc ∗ c⟨t−1⟩ ∗ Γf(1 − Γf);   dz_c = dc ∗ Γu ∗ (1 − c̃²)
   *   dc⟨t−1⟩ = dc ∗ Γf
   *   dxp = [dz_u dz_f dz_c dz_o]  [B, 4H];  da⟨t−1⟩ = dxp·W_a   (dW_a: accumulateRecurrentGrads)
   */
  stepBackward(
    ws: LstmWorkspace, t: number, dNext: readonly Matrix[], dxp: Matrix, dPrev: readonly Matrix[],
    prev: readonly Matrix[], _next: readonly Matrix[],
  ): void {
    checkStepShapes('lstm.stepBackward', this, ws, t, dxp, dNext, dPrev, prev, _next);
    const gates = ws.gates[t];
    lstmGatesBackwardKernel()(gates.rows, this.hiddenSize, gates, ws.tanhC[t], prev[1], dNext[0], dNext[1], dxp, dPrev[1]);
    gemm(dPrev[0], dxp, this.params.W_a, false, false, 1, 0);
  }

  /** dW_a += dXPᵀ·A_prev over all T·B rows (the recurrent pre-activation's gradient is dxp). */
  accumulateRecurrentGrads(_ws: LstmWorkspace, _steps: number, dxp: Matrix, prevStates: readonly Matrix[]): void {
    gemmTransAccumulate(this.grads.W_a, dxp, prevStates[0]);
  }
}

/** An LSTM cell (the notes' equations; createPeepholeLstmCell for Gers & Schmidhuber's variant). */
/** `createLstmCell({ inputSize, hiddenSize, … }, { rng?, dtype? })` (defaults: engine/create.ts). */
export function createLstmCell(config: CellSettings<LstmCellOptions>, options?: CreateOptions): LstmCell {
  return new LstmCell(cellOptionsOf('createLstmCell', config, options));
}
