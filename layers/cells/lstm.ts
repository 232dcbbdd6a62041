/**
 * The LSTM cell as in the notes (Hochreiter & Schmidhuber 1997, with a forget gate), and its
 * peephole variant (Gers & Schmidhuber 2000):
 *
 *   c̃⟨t⟩ = tanh(W_c[a⟨t−1⟩, x⟨t⟩] + b_c)
 *   Γu = σ(W_u[a⟨t−1⟩, x⟨t⟩] + b_u  (+ p_u ∗ c⟨t−1⟩))
 *   Γf = σ(W_f[a⟨t−1⟩, x⟨t⟩] + b_f  (+ p_f ∗ c⟨t−1⟩))
 *   c⟨t⟩ = Γu ∗ c̃⟨t⟩ + Γf ∗ c⟨t−1⟩
 *   Γo = σ(W_o[a⟨t−1⟩, x⟨t⟩] + b_o  (+ p_o ∗ c⟨t⟩))
 *   a⟨t⟩ = Γo ∗ tanh(c⟨t⟩)
 * (the terms in parentheses only with `peephole: true`).
 *
 * Fused layout — PyTorch's nn.LSTM gate order [i f g o] = [Γu Γf c̃ Γo], so loading a state_dict
 * is a copy (H = hidden size, D = input size, rows in blocks of H):
 *   W_x  [4H, D]  rows [W_ux; W_fx; W_cx; W_ox]     = weight_ih_l0
 *   W_a  [4H, H]  rows [W_ua; W_fa; W_ca; W_oa]     = weight_hh_l0
 *   b    [1, 4H]  [b_u, b_f, b_c, b_o]              = bias_ih_l0 + bias_hh_l0 (one bias: they only appear summed)
 *   peephole only (no PyTorch equivalent): p_u, p_f, p_o  [1, H] each, diagonal weights.
 * The notes' W_u = [W_ua | W_ux] (columns [a⟨t−1⟩, x⟨t⟩]).
 * State: [a, c], each [B, H]. `forgetBias` (e.g. 1, Jozefowicz et al. 2015) sets b_f after init.
 *
 * Per step: one GEMM a⟨t−1⟩·W_aᵀ [B, 4H] for all four gates, then one fused loop over the gates —
 * the backend seam's `lstmGatesForward` / `lstmGatesBackward` kernels (WebAssembly SIMD on 'wasm';
 * js elsewhere) for the plain LSTM, `lstmPeepholeGates*Js` in engine/gates-js.ts for the peephole variant.
 * Cache per step (allocated once per (T, B)): the activated gates [B, 4H] and tanh(c⟨t⟩) [B, H].
 */
import { lstmGatesBackwardKernel, lstmGatesForwardKernel } from '../../engine/backend.js';
import { lstmPeepholeGatesBackwardJs, lstmPeepholeGatesForwardJs } from '../../engine/kernels/gates-js.js';
import { gemm } from '../../engine/gemm.js';
import { Matrix, stepView, type DType } from '../../engine/matrix.js';
import {
  allocateParams, checkCellOptions, checkStepShapes, initCellParams,
  type CellConfig, type CellOptions, type CellWorkspace, type RecurrentCell,
} from './cell.js';

export interface LstmCellOptions extends CellOptions {
  /** Gers & Schmidhuber's peephole connections p_u, p_f (see c⟨t−1⟩) and p_o (sees c⟨t⟩). */
  peephole?: boolean;
  /** When given, b_f is set to this value after initialisation (1 is the usual choice). */
  forgetBias?: number;
}

interface LstmWorkspace extends CellWorkspace {
  /** Activated gates [Γu Γf c̃ Γo] of step t, [B, 4H] each. */
  readonly gates: Matrix[];
  /** tanh(c⟨t⟩) of step t, [B, H] each. */
  readonly tanhC: Matrix[];
}

export class LstmCell implements RecurrentCell {
  readonly kind: 'lstm' | 'lstm-peephole';
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly gateWidth: number;
  readonly stateCount = 2 as const;
  readonly dtype: DType;
  readonly peephole: boolean;
  readonly config: CellConfig;
  readonly params: Record<string, Matrix>;
  readonly grads: Record<string, Matrix>;

  constructor(opts: LstmCellOptions) {
    const op = 'createLstmCell';
    const dtype = checkCellOptions(op, opts);
    const { inputSize: D, hiddenSize: H } = opts;
    this.peephole = opts.peephole === true;
    this.kind = this.peephole ? 'lstm-peephole' : 'lstm';
    this.inputSize = D;
    this.hiddenSize = H;
    this.gateWidth = 4 * H;
    this.dtype = dtype;
    this.config = { kind: this.kind, inputSize: D, hiddenSize: H, dtype };
    const shapes: Record<string, [number, number]> = { W_x: [4 * H, D], W_a: [4 * H, H], b: [1, 4 * H] };
    if (this.peephole) Object.assign(shapes, { p_u: [1, H], p_f: [1, H], p_o: [1, H] });
    const { params, grads } = allocateParams(shapes, dtype);
    this.params = params;
    this.grads = grads;
    initCellParams(params, ['W_x', 'W_a'], H, opts.init ?? 'pytorch', opts.rng, op);
    if (opts.forgetBias !== undefined) {
      if (!Number.isFinite(opts.forgetBias)) throw new Error(`${op}: expected a finite forgetBias, got ${opts.forgetBias}`);
      params.b.data.fill(opts.forgetBias, params.b.offset + H, params.b.offset + 2 * H); // the Γf block
    }
  }

  createWorkspace(steps: number, batch: number): LstmWorkspace {
    const H = this.hiddenSize;
    const gatesAll = Matrix.zeros(steps * batch, 4 * H, this.dtype);
    const tanhAll = Matrix.zeros(steps * batch, H, this.dtype);
    const gates: Matrix[] = [];
    const tanhC: Matrix[] = [];
    for (let t = 0; t < steps; t++) {
      gates.push(stepView(gatesAll, t, batch));
      tanhC.push(stepView(tanhAll, t, batch));
    }
    return { steps, batch, gates, tanhC };
  }

  /**
   * z = xp⟨t⟩ + a⟨t−1⟩·W_aᵀ  [B, 4H]; gates, c⟨t⟩ and a⟨t⟩ as in the header, one loop over
   * (row, unit) computing all four gates.
   */
  stepForward(wsIn: CellWorkspace, t: number, xp: Matrix, prev: readonly Matrix[], next: readonly Matrix[]): void {
    checkStepShapes('lstm.stepForward', this, wsIn, t, xp, [prev, next]);
    const ws = wsIn as LstmWorkspace;
    const gates = ws.gates[t], tanhC = ws.tanhC[t];
    gemm(gates, prev[0], this.params.W_a, false, true, 1, 0);
    const H = this.hiddenSize;
    if (!this.peephole) {
      lstmGatesForwardKernel()(gates.rows, H, gates, xp, prev[1], next[1], next[0], tanhC);
      return;
    }
    const P = this.params;
    lstmPeepholeGatesForwardJs(gates.rows, H, gates, xp, prev[1], next[1], next[0], tanhC, P.p_u, P.p_f, P.p_o);
  }

  /**
   * From da⟨t⟩, dc⟨t⟩ (each [B, H]):
   *   dΓo = da ∗ tanh(c);             dz_o = dΓo ∗ Γo(1 − Γo)
   *   dc  = dc⟨t⟩ + da ∗ Γo ∗ (1 − tanh²(c)) (+ dz_o ∗ p_o)
   *   dz_u = dc ∗ c̃ ∗ Γu(1 − Γu);   dz_f = dc ∗ c⟨t−1⟩ ∗ Γf(1 − Γf);   dz_c = dc ∗ Γu ∗ (1 − c̃²)
   *   dc⟨t−1⟩ = dc ∗ Γf (+ dz_u ∗ p_u + dz_f ∗ p_f)
   *   dxp = [dz_u dz_f dz_c dz_o]  [B, 4H];  da⟨t−1⟩ = dxp·W_a;  dW_a += dxpᵀ·a⟨t−1⟩
   *   dp_u += Σ_b dz_u ∗ c⟨t−1⟩;  dp_f += Σ_b dz_f ∗ c⟨t−1⟩;  dp_o += Σ_b dz_o ∗ c⟨t⟩
   */
  stepBackward(
    wsIn: CellWorkspace, t: number, dNext: readonly Matrix[], dxp: Matrix, dPrev: readonly Matrix[],
    prev: readonly Matrix[], next: readonly Matrix[],
  ): void {
    checkStepShapes('lstm.stepBackward', this, wsIn, t, dxp, [dNext, dPrev, prev, next]);
    const ws = wsIn as LstmWorkspace;
    const gates = ws.gates[t], tanhC = ws.tanhC[t];
    const H = this.hiddenSize;
    const P = this.params, G = this.grads;
    if (!this.peephole) {
      lstmGatesBackwardKernel()(gates.rows, H, gates, tanhC, prev[1], dNext[0], dNext[1], dxp, dPrev[1]);
      gemm(dPrev[0], dxp, P.W_a, false, false, 1, 0);
      gemm(G.W_a, dxp, prev[0], true, false, 1, 1);
      return;
    }
    lstmPeepholeGatesBackwardJs(
      gates.rows, H, gates, tanhC, prev[1], next[1], dNext[0], dNext[1], dxp, dPrev[1],
      P.p_u, P.p_f, P.p_o, G.p_u, G.p_f, G.p_o,
    );
    gemm(dPrev[0], dxp, P.W_a, false, false, 1, 0);
    gemm(G.W_a, dxp, prev[0], true, false, 1, 1);
  }
}

/** An LSTM cell (the notes' equations; `peephole: true` for Gers & Schmidhuber's variant). */
export function createLstmCell(opts: LstmCellOptions): LstmCell {
  return new LstmCell(opts);
}
