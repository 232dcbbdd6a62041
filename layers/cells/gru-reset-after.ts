/**
 * The reset-after GRU — PyTorch's nn.GRU and Keras' default (reset_after=True) — gate order [r z n]:
 *
 *   r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r ∗ (W_hn h + b_hn)),  h′ = (1 − z) ∗ n + z ∗ h
 *
 * (The notes' GRU, gru.ts, resets before the matmul; there is no exact mapping between the two.)
 * Fused layout = PyTorch's, so interchange is a copy: W_x [3H, D] rows [r z n] = weight_ih_l0,
 * W_a [3H, H] rows [r z n] = weight_hh_l0, b [1, 3H] = bias_ih_l0, b_a [1, 3H] = bias_hh_l0
 * (two biases: b_hn sits inside r ∗ (…), so it cannot be merged into b_in). Keras reset_after=True:
 * columns [z r h] → reorder to [r z n]; bias row 0 → b, row 1 → b_a; no negation (z is z).
 *
 * Each step: one GEMM h·W_aᵀ [B, 3H], then the backend seam's `gruGatesForward` /
 * `gruGatesBackward` kernels (engine/kernels/gates-js.ts; WebAssembly SIMD on 'wasm'). Caches per
 * step (allocated once per (T, B)): the gates [r z n] [B, 3H] and W_hn h + b_hn [B, H].
 */
import { gruGatesBackwardKernel, gruGatesForwardKernel } from '../../engine/backend.js';
import { gemm, gemmTransAccumulate } from '../../engine/gemm.js';
import { Matrix, stepView, type DType } from '../../engine/matrix.js';
import { sumRows } from '../../engine/ops.js';
import {
  allocateParams, checkCellOptions, checkStepShapes, initCellParams, stepPrefix,
  type CellConfig, type CellOptions, type CellWorkspace, type RecurrentCell,
} from './cell.js';
import type { CreateOptions } from '../../engine/create.js';
import { cellOptionsOf, type CellSettings } from './cell.js';

export interface ResetAfterGruWorkspace extends CellWorkspace {
  /** Activated gates [r z n] of step t, [B, 3H] each. */
  readonly gates: Matrix[];
  /** W_hn h + b_hn of step t, [B, H] each. */
  readonly hpn: Matrix[];
  /** One-step scratch [B, 3H]: the recurrent pre-activation h·W_aᵀ (forward). */
  readonly scratch: Matrix;
  /** dhp = ∂L/∂(h·W_aᵀ + b_a) of step t, [B, 3H] each: row blocks of dhpAll [T·B, 3H] (backward). */
  readonly dhp: Matrix[];
  readonly dhpAll: Matrix;
  /** Rows [0, T·B) of dhpAll per T (made on first use). */
  readonly dhpPrefix: (Matrix | undefined)[];
}

export class ResetAfterGruCell implements RecurrentCell<ResetAfterGruWorkspace> {
  readonly kind = 'gru-reset-after' as const;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly gateWidth: number;
  readonly stateCount = 1 as const;
  readonly dtype: DType;
  readonly config: CellConfig;
  readonly params: Record<string, Matrix>;
  readonly grads: Record<string, Matrix>;

  constructor(opts: CellOptions) {
    const op = 'createResetAfterGruCell';
    const dtype = checkCellOptions(op, opts);
    const { inputSize: D, hiddenSize: H } = opts;
    this.inputSize = D;
    this.hiddenSize = H;
    this.gateWidth = 3 * H;
    this.dtype = dtype;
    this.config = { kind: this.kind, inputSize: D, hiddenSize: H, dtype };
    const { params, grads } = allocateParams({ W_x: [3 * H, D], W_a: [3 * H, H], b: [1, 3 * H], b_a: [1, 3 * H] }, dtype);
    this.params = params;
    this.grads = grads;
    initCellParams(params, ['W_x', 'W_a'], H, opts.init ?? 'pytorch', opts.rng, op);
  }

  createWorkspace(steps: number, batch: number): ResetAfterGruWorkspace {
    const H = this.hiddenSize;
    const gatesAll = Matrix.zeros(steps * batch, 3 * H, this.dtype);
    const hpnAll = Matrix.zeros(steps * batch, H, this.dtype);
    const gates: Matrix[] = [];
    const hpn: Matrix[] = [];
    const dhpAll = Matrix.zeros(steps * batch, 3 * H, this.dtype);
    const dhp: Matrix[] = [];
    for (let t = 0; t < steps; t++) {
      gates.push(stepView(gatesAll, t, batch));
      hpn.push(stepView(hpnAll, t, batch));
      dhp.push(stepView(dhpAll, t, batch));
    }
    return { steps, batch, gates, hpn, scratch: Matrix.zeros(batch, 3 * H, this.dtype), dhp, dhpAll, dhpPrefix: [] };
  }

  /**
   * hp = h·W_aᵀ + b_a [B, 3H];  r = σ(xp_r + hp_r), z = σ(xp_z + hp_z);
   * n = tanh(xp_n + r ∗ hp_n);  h′ = (1 − z) ∗ n + z ∗ h.  Caches r, z, n and hp_n.
   */
  stepForward(ws: ResetAfterGruWorkspace, t: number, xp: Matrix, prev: readonly Matrix[], next: readonly Matrix[]): void {
    checkStepShapes('gru-reset-after.stepForward', this, ws, t, xp, prev, next);
    const hp = ws.scratch;
    gemm(hp, prev[0], this.params.W_a, false, true, 1, 0);
    gruGatesForwardKernel()(hp.rows, this.hiddenSize, hp, this.params.b_a, xp, prev[0], ws.gates[t], ws.hpn[t], next[0]);
  }

  /**
   * dz_n = dh′ ∗ (1 − z) ∗ (1 − n²);  dz_z = dh′ ∗ (h − n) ∗ z(1 − z);  dz_r = dz_n ∗ hp_n ∗ r(1 − r)
   * dxp = [dz_r dz_z dz_n];  dhp = [dz_r dz_z dz_n ∗ r]  [B, 3H]
   * dh = dh′ ∗ z + dhp·W_a   (dhp kept per step; dW_a and db_a: accumulateRecurrentGrads)
   */
  stepBackward(
    ws: ResetAfterGruWorkspace, t: number, dNext: readonly Matrix[], dxp: Matrix, dPrev: readonly Matrix[],
    prev: readonly Matrix[], _next: readonly Matrix[],
  ): void {
    checkStepShapes('gru-reset-after.stepBackward', this, ws, t, dxp, dNext, dPrev, prev, _next);
    const dhp = ws.dhp[t], hPrev = prev[0], dhPrev = dPrev[0];
    gruGatesBackwardKernel()(dhp.rows, this.hiddenSize, ws.gates[t], ws.hpn[t], hPrev, dNext[0], dxp, dhp, dhPrev);
    gemm(dhPrev, dhp, this.params.W_a, false, false, 1, 1);
  }

  /** Over all T·B rows:  dW_a += dHPᵀ·H_prev;  db_a += Σ_rows dHP  (dHP: the steps' dhp). */
  accumulateRecurrentGrads(ws: ResetAfterGruWorkspace, steps: number, _dxp: Matrix, prevStates: readonly Matrix[]): void {
    const dhp = stepPrefix(ws.dhpPrefix, ws.dhpAll, steps, ws.batch);
    gemmTransAccumulate(this.grads.W_a, dhp, prevStates[0]);
    sumRows(this.grads.b_a, dhp, true);
  }
}

/** PyTorch's GRU cell (reset after the matmul). */
/** `createResetAfterGruCell({ inputSize, hiddenSize, … }, { rng?, dtype? })` (defaults: engine/create.ts). */
export function createResetAfterGruCell(config: CellSettings<CellOptions>, options?: CreateOptions): ResetAfterGruCell {
  return new ResetAfterGruCell(cellOptionsOf('createResetAfterGruCell', config, options));
}
