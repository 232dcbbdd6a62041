/**
 * The notes' full GRU (Cho et al. 2014; reset before the matmul). The notes write the state as
 * c⟨t⟩ (= a⟨t⟩, the output); here it is the single state a.
 *
 *   Γr = σ(W_r[c⟨t−1⟩, x⟨t⟩] + b_r)
 *   Γu = σ(W_u[c⟨t−1⟩, x⟨t⟩] + b_u)
 *   c̃⟨t⟩ = tanh(W_c[Γr ∗ c⟨t−1⟩, x⟨t⟩] + b_c)
 *   c⟨t⟩ = Γu ∗ c̃⟨t⟩ + (1 − Γu) ∗ c⟨t−1⟩
 *
 * Fused layout, rows in blocks of H: W_x [3H, D] = [W_rx; W_ux; W_cx], W_a [3H, H] =
 * [W_ra; W_ua; W_ca], b [1, 3H] = [b_r, b_u, b_c] (block positions of PyTorch's [r z n]).
 * This is Keras' GRU with reset_after=False under Γu = 1 − z: since 1 − σ(v) = σ(−v), load
 * Keras' z block negated (kernel, recurrent_kernel and bias); Keras orders columns [z r h].
 * The other GRUs: gru-simple.ts (Γr ≡ 1) and gru-reset-after.ts (PyTorch's and Keras' default).
 *
 * Each step: a GEMM with [W_ra; W_ua] for the gates that see c⟨t−1⟩ and a second one with W_ca
 * for c̃, which sees Γr ∗ c⟨t−1⟩; the elementwise loops around them are the backend seam's
 * `gruFullGatesForward` / `gruFullCandidateForward` (backward `gruFullCandidateBackward` /
 * `gruFullGatesBackward`) kernels, engine/kernels/gates-js.ts. Caches are allocated once per (T, B).
 */
import {
  gruFullCandidateBackwardKernel, gruFullCandidateForwardKernel, gruFullGatesBackwardKernel, gruFullGatesForwardKernel,
} from '../../engine/backend.js';
import { gemm, gemmTransAccumulate } from '../../engine/gemm.js';
import { Matrix, stepView, type DType } from '../../engine/matrix.js';
import {
  allocateParams, checkCellOptions, checkStepShapes, initCellParams, stepPrefix,
  type CellConfig, type CellOptions, type CellWorkspace, type RecurrentCell,
} from './cell.js';
import type { CreateOptions } from '../../engine/create.js';
import { cellOptionsOf, type CellSettings } from './cell.js';

export interface GruWorkspace extends CellWorkspace {
  /** Activated gates [Γr Γu c̃] of step t, [B, 3H] each. */
  readonly gates: Matrix[];
  /** Γr ∗ c⟨t−1⟩ of step t, [B, H] each: row blocks of resetAll [T·B, H]. */
  readonly resetState: Matrix[];
  readonly resetAll: Matrix;
  /** Per T (made on first use): rows [0, T·B) of resetAll, and the [Γr Γu] and c̃ columns of the runner's dXP. */
  readonly resetPrefix: (Matrix | undefined)[];
  readonly dxpRU: (Matrix | undefined)[];
  readonly dxpC: (Matrix | undefined)[];
  /** Per-step views of the gates' [Γr Γu] columns and c̃ column (precomputed: no allocation per step). */
  readonly gatesRU: Matrix[];
  readonly gatesC: Matrix[];
  /** One-step scratch: ∂L/∂(Γr ∗ c⟨t−1⟩) [B, H], dz for [Γr Γu] [B, 2H] and for c̃ [B, H]. */
  readonly dResetState: Matrix;
  readonly dzRU: Matrix;
  readonly dzC: Matrix;
}

export class GruCell implements RecurrentCell<GruWorkspace> {
  readonly kind = 'gru' as const;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly gateWidth: number;
  readonly stateCount = 1 as const;
  readonly dtype: DType;
  readonly config: CellConfig;
  readonly params: Record<string, Matrix>;
  readonly grads: Record<string, Matrix>;
  /** Row blocks of W_a (and of its gradient) for [Γr Γu] and for c̃. */
  private readonly wGates: Matrix;
  private readonly wCand: Matrix;
  private readonly dwGates: Matrix;
  private readonly dwCand: Matrix;

  constructor(opts: CellOptions) {
    const op = 'createGruCell';
    const dtype = checkCellOptions(op, opts);
    const { inputSize: D, hiddenSize: H } = opts;
    this.inputSize = D;
    this.hiddenSize = H;
    this.gateWidth = 3 * H;
    this.dtype = dtype;
    this.config = { kind: this.kind, inputSize: D, hiddenSize: H, dtype };
    const { params, grads } = allocateParams({ W_x: [3 * H, D], W_a: [3 * H, H], b: [1, 3 * H] }, dtype);
    this.params = params;
    this.grads = grads;
    initCellParams(params, ['W_x', 'W_a'], H, opts.init ?? 'pytorch', opts.rng, op);
    this.wGates = params.W_a.rowView(0, 2 * H);
    this.dwGates = grads.W_a.rowView(0, 2 * H);
    this.wCand = params.W_a.rowView(2 * H, H);
    this.dwCand = grads.W_a.rowView(2 * H, H);
  }

  createWorkspace(steps: number, batch: number): GruWorkspace {
    const H = this.hiddenSize;
    const gatesAll = Matrix.zeros(steps * batch, 3 * H, this.dtype);
    const resetAll = Matrix.zeros(steps * batch, H, this.dtype);
    const gates: Matrix[] = [];
    const resetState: Matrix[] = [];
    const gatesRU: Matrix[] = [];
    const gatesC: Matrix[] = [];
    for (let t = 0; t < steps; t++) {
      const g = stepView(gatesAll, t, batch);
      gates.push(g);
      resetState.push(stepView(resetAll, t, batch));
      gatesRU.push(g.colView(0, 2 * H));
      gatesC.push(g.colView(2 * H, H));
    }
    return {
      steps, batch, gates, resetState, gatesRU, gatesC, resetAll, resetPrefix: [], dxpRU: [], dxpC: [],
      dResetState: Matrix.zeros(batch, H, this.dtype),
      dzRU: Matrix.zeros(batch, 2 * H, this.dtype),
      dzC: Matrix.zeros(batch, H, this.dtype),
    };
  }

  /**
   * [z_r z_u] = xp[:, 0:2H] + c⟨t−1⟩·[W_ra; W_ua]ᵀ;  Γr, Γu = σ(…);  rc = Γr ∗ c⟨t−1⟩ [B, H]
   * z_c = xp[:, 2H:3H] + rc·W_caᵀ;  c̃ = tanh(z_c);  c⟨t⟩ = Γu ∗ c̃ + (1 − Γu) ∗ c⟨t−1⟩
   */
  stepForward(ws: GruWorkspace, t: number, xp: Matrix, prev: readonly Matrix[], next: readonly Matrix[]): void {
    checkStepShapes('gru.stepForward', this, ws, t, xp, prev, next);
    const H = this.hiddenSize;
    const gates = ws.gates[t], rc = ws.resetState[t], cPrev = prev[0];
    gemm(ws.gatesRU[t], cPrev, this.wGates, false, true, 1, 0);
    gruFullGatesForwardKernel()(gates.rows, H, gates, xp, cPrev, rc);
    gemm(ws.gatesC[t], rc, this.wCand, false, true, 1, 0);
    gruFullCandidateForwardKernel()(gates.rows, H, gates, xp, cPrev, next[0]);
  }

  /**
   * From dc = ∂L/∂c⟨t⟩:  dz_c = dc ∗ Γu ∗ (1 − c̃²);  dz_u = dc ∗ (c̃ − c⟨t−1⟩) ∗ Γu(1 − Γu)
   * drc = dz_c·W_ca;  dz_r = drc ∗ c⟨t−1⟩ ∗ Γr(1 − Γr);  dxp = [dz_r dz_u dz_c]
   * dc⟨t−1⟩ = dc ∗ (1 − Γu) + drc ∗ Γr + [dz_r dz_u]·[W_ra; W_ua]   (dW_a: accumulateRecurrentGrads)
   */
  stepBackward(
    ws: GruWorkspace, t: number, dNext: readonly Matrix[], dxp: Matrix, dPrev: readonly Matrix[],
    prev: readonly Matrix[], _next: readonly Matrix[],
  ): void {
    checkStepShapes('gru.stepBackward', this, ws, t, dxp, dNext, dPrev, prev, _next);
    const H = this.hiddenSize;
    const gates = ws.gates[t], drc = ws.dResetState, dzRU = ws.dzRU, dzC = ws.dzC;
    const cPrev = prev[0], dcPrev = dPrev[0];
    gruFullCandidateBackwardKernel()(gates.rows, H, gates, cPrev, dNext[0], dzRU, dzC, dcPrev);
    gemm(drc, dzC, this.wCand, false, false, 1, 0);
    gruFullGatesBackwardKernel()(gates.rows, H, gates, cPrev, drc, dzRU, dzC, dxp, dcPrev);
    gemm(dcPrev, dzRU, this.wGates, false, false, 1, 1);
  }

  /**
   * Over all T·B rows, from dXP = [dZ_r dZ_u dZ_c]:  d[W_ra; W_ua] += [dZ_r dZ_u]ᵀ·C_prev  (the gates
   * see c⟨t−1⟩);  dW_ca += dZ_cᵀ·(Γr ∗ C_prev)  (c̃ sees the reset state, cached per step).
   */
  accumulateRecurrentGrads(ws: GruWorkspace, steps: number, dxp: Matrix, prevStates: readonly Matrix[]): void {
    const H = this.hiddenSize;
    const dxpRU = ws.dxpRU[steps] ?? (ws.dxpRU[steps] = dxp.colView(0, 2 * H));
    const dxpC = ws.dxpC[steps] ?? (ws.dxpC[steps] = dxp.colView(2 * H, H));
    gemmTransAccumulate(this.dwGates, dxpRU, prevStates[0]);
    gemmTransAccumulate(this.dwCand, dxpC, stepPrefix(ws.resetPrefix, ws.resetAll, steps, ws.batch));
  }
}

/** The notes' full GRU cell. */
/** `createGruCell({ inputSize, hiddenSize, … }, { rng?, dtype? })` (defaults: engine/create.ts). */
export function createGruCell(config: CellSettings<CellOptions>, options?: CreateOptions): GruCell {
  return new GruCell(cellOptionsOf('createGruCell', config, options));
}
