/**
 * The notes' simplified GRU (update gate only; the full GRU of gru.ts with Γr ≡ 1). The state
 * c⟨t⟩ is the output a⟨t⟩.
 *
 *   Γu = σ(W_u[c⟨t−1⟩, x⟨t⟩] + b_u)
 *   c̃⟨t⟩ = tanh(W_c[c⟨t−1⟩, x⟨t⟩] + b_c)
 *   c⟨t⟩ = Γu ∗ c̃⟨t⟩ + (1 − Γu) ∗ c⟨t−1⟩
 *
 * Fused layout (no framework has it): W_x [2H, D] = [W_ux; W_cx], W_a [2H, H] = [W_ua; W_ca],
 * b [1, 2H] = [b_u, b_c].
 *
 * Each step: one GEMM c⟨t−1⟩·W_aᵀ [B, 2H], then the backend seam's `gruSimpleGatesForward` /
 * `gruSimpleGatesBackward` kernel (engine/kernels/gates-js.ts). Cache per step (allocated once per
 * (T, B)): the activated gates [Γu c̃] [B, 2H].
 */
import { gruSimpleGatesBackwardKernel, gruSimpleGatesForwardKernel } from '../../engine/backend.js';
import { gemm, gemmTransAccumulate } from '../../engine/gemm.js';
import { Matrix, stepView, type DType } from '../../engine/matrix.js';
import {
  allocateParams, checkCellOptions, checkStepShapes, initCellParams,
  type CellConfig, type CellOptions, type CellWorkspace, type RecurrentCell,
} from './cell.js';
import type { CreateOptions } from '../../engine/create.js';
import { cellOptionsOf, type CellSettings } from './cell.js';

export interface SimpleGruWorkspace extends CellWorkspace {
  /** Activated gates [Γu c̃] of step t, [B, 2H] each. */
  readonly gates: Matrix[];
}

export class SimpleGruCell implements RecurrentCell<SimpleGruWorkspace> {
  readonly kind = 'gru-simple' as const;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly gateWidth: number;
  readonly stateCount = 1 as const;
  readonly dtype: DType;
  readonly config: CellConfig;
  readonly params: Record<string, Matrix>;
  readonly grads: Record<string, Matrix>;

  constructor(opts: CellOptions) {
    const op = 'createSimpleGruCell';
    const dtype = checkCellOptions(op, opts);
    const { inputSize: D, hiddenSize: H } = opts;
    this.inputSize = D;
    this.hiddenSize = H;
    this.gateWidth = 2 * H;
    this.dtype = dtype;
    this.config = { kind: this.kind, inputSize: D, hiddenSize: H, dtype };
    const { params, grads } = allocateParams({ W_x: [2 * H, D], W_a: [2 * H, H], b: [1, 2 * H] }, dtype);
    this.params = params;
    this.grads = grads;
    initCellParams(params, ['W_x', 'W_a'], H, opts.init ?? 'pytorch', opts.rng, op);
  }

  createWorkspace(steps: number, batch: number): SimpleGruWorkspace {
    const gatesAll = Matrix.zeros(steps * batch, 2 * this.hiddenSize, this.dtype);
    const gates: Matrix[] = [];
    for (let t = 0; t < steps; t++) gates.push(stepView(gatesAll, t, batch));
    return { steps, batch, gates };
  }

  /** [z_u z_c] = xp + c⟨t−1⟩·W_aᵀ;  Γu = σ(z_u), c̃ = tanh(z_c);  c⟨t⟩ = Γu ∗ c̃ + (1 − Γu) ∗ c⟨t−1⟩ */
  stepForward(ws: SimpleGruWorkspace, t: number, xp: Matrix, prev: readonly Matrix[], next: readonly Matrix[]): void {
    checkStepShapes('gru-simple.stepForward', this, ws, t, xp, prev, next);
    const gates = ws.gates[t];
    gemm(gates, prev[0], this.params.W_a, false, true, 1, 0);
    gruSimpleGatesForwardKernel()(gates.rows, this.hiddenSize, gates, xp, prev[0], next[0]);
  }

  /**
   * dz_u = dc ∗ (c̃ − c⟨t−1⟩) ∗ Γu(1 − Γu);  dz_c = dc ∗ Γu ∗ (1 − c̃²)
   * dc⟨t−1⟩ = dc ∗ (1 − Γu) + [dz_u dz_c]·W_a   (dW_a: accumulateRecurrentGrads)
   */
  stepBackward(
    ws: SimpleGruWorkspace, t: number, dNext: readonly Matrix[], dxp: Matrix, dPrev: readonly Matrix[],
    prev: readonly Matrix[], _next: readonly Matrix[],
  ): void {
    checkStepShapes('gru-simple.stepBackward', this, ws, t, dxp, dNext, dPrev, prev, _next);
    const gates = ws.gates[t], cPrev = prev[0], dcPrev = dPrev[0];
    gruSimpleGatesBackwardKernel()(gates.rows, this.hiddenSize, gates, cPrev, dNext[0], dxp, dcPrev);
    gemm(dcPrev, dxp, this.params.W_a, false, false, 1, 1);
  }

  /** dW_a += dXPᵀ·A_prev over all T·B rows (the recurrent pre-activation's gradient is dxp). */
  accumulateRecurrentGrads(_ws: SimpleGruWorkspace, _steps: number, dxp: Matrix, prevStates: readonly Matrix[]): void {
    gemmTransAccumulate(this.grads.W_a, dxp, prevStates[0]);
  }
}

/** The notes' simplified GRU cell (update gate only). */
/** `createSimpleGruCell({ inputSize, hiddenSize, … }, { rng?, dtype? })` (defaults: engine/create.ts). */
export function createSimpleGruCell(config: CellSettings<CellOptions>, options?: CreateOptions): SimpleGruCell {
  return new SimpleGruCell(cellOptionsOf('createSimpleGruCell', config, options));
}
