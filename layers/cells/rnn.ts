/**
 * The basic RNN cell (the notes' "recurrent neural network"):
 *
 *   a⟨t⟩ = g(W_aa·a⟨t−1⟩ + W_ax·x⟨t⟩ + b_a),   g = tanh or ReLU
 *
 * batched as rows: a⟨t⟩ [B, H] = g(a⟨t−1⟩·W_aaᵀ + x⟨t⟩·W_axᵀ + b_a).
 * Parameters (PyTorch's nn.RNN layout, so interchange is a copy):
 *   W_x = W_ax  [H, D]   (weight_ih_l0)
 *   W_a = W_aa  [H, H]   (weight_hh_l0)
 *   b   = b_a   [1, H]   (bias_ih_l0 + bias_hh_l0: PyTorch's two biases always appear summed)
 * The runner supplies xp⟨t⟩ = x⟨t⟩·W_axᵀ + b_a; the cell adds the recurrent term and applies g.
 * The cell caches nothing: g′ is read off a⟨t⟩ itself (tanh′ = 1 − a², ReLU′ = [a > 0]).
 * Per step: one GEMM a⟨t−1⟩·W_aaᵀ, then the backend seam's kernel for g (`rnnTanhForward` /
 * `rnnReluForward`; backward `rnnTanhBackward` / `rnnReluBackward`, engine/kernels/gates-js.ts).
 *
 * Initialisations: 'pytorch' U(±1/√H); 'xavier' (Xavier-uniform weights, zero bias); 'irnn'
 * (Le, Jaitly & Hinton 2015): W_aa = I, b_a = 0, W_ax ~ N(0, irnnStd²) with irnnStd = 0.001.
 */
import {
  rnnReluBackwardKernel, rnnReluForwardKernel, rnnTanhBackwardKernel, rnnTanhForwardKernel,
  type RnnTanhBackwardKernel, type RnnTanhForwardKernel,
} from '../../engine/backend.js';
import { gemm, gemmTransAccumulate } from '../../engine/gemm.js';
import { initIdentity, initNormal } from '../../engine/init.js';
import { zero, type DType, type Matrix } from '../../engine/matrix.js';
import {
  allocateParams, checkCellOptions, checkStepShapes, initCellParams,
  type CellConfig, type CellOptions, type CellWorkspace, type RecurrentCell,
} from './cell.js';
import type { CreateOptions } from '../../engine/create.js';
import { cellOptionsOf, type CellSettings } from './cell.js';

export type RnnActivation = 'tanh' | 'relu';

export interface RnnCellOptions extends Omit<CellOptions, 'init'> {
  /** g: 'tanh' (default) or 'relu'. */
  activation?: RnnActivation;
  /** 'pytorch' (default), 'xavier' or 'irnn' (identity recurrence; use with relu). */
  init?: 'pytorch' | 'xavier' | 'irnn';
  /** Standard deviation of W_ax under 'irnn' (default 0.001, as Le et al.). */
  irnnStd?: number;
}

export class RnnCell implements RecurrentCell {
  readonly kind = 'rnn' as const;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly gateWidth: number;
  readonly stateCount = 1 as const;
  readonly dtype: DType;
  readonly activation: RnnActivation;
  readonly config: CellConfig;
  readonly params: Record<string, Matrix>;
  readonly grads: Record<string, Matrix>;
  /** The seam's lookups for g and g′ (chosen once: the activation is fixed, the backend is not). */
  private readonly forwardKernel: () => RnnTanhForwardKernel;
  private readonly backwardKernel: () => RnnTanhBackwardKernel;

  constructor(opts: RnnCellOptions) {
    const op = 'createRnnCell';
    const dtype = checkCellOptions(op, opts as CellOptions);
    const activation = opts.activation ?? 'tanh';
    if (activation !== 'tanh' && activation !== 'relu') {
      throw new Error(`${op}: expected activation 'tanh' or 'relu', got '${activation as string}'`);
    }
    const { inputSize: D, hiddenSize: H } = opts;
    this.inputSize = D;
    this.hiddenSize = H;
    this.gateWidth = H;
    this.dtype = dtype;
    this.activation = activation;
    this.forwardKernel = activation === 'tanh' ? rnnTanhForwardKernel : rnnReluForwardKernel;
    this.backwardKernel = activation === 'tanh' ? rnnTanhBackwardKernel : rnnReluBackwardKernel;
    this.config = { kind: 'rnn', inputSize: D, hiddenSize: H, dtype, activation };
    const { params, grads } = allocateParams({ W_x: [H, D], W_a: [H, H], b: [1, H] }, dtype);
    this.params = params;
    this.grads = grads;
    const init = opts.init ?? 'pytorch';
    if (init === 'irnn') {
      initNormal(params.W_x, opts.rng, 0, opts.irnnStd ?? 0.001);
      initIdentity(params.W_a);
      zero(params.b);
    } else {
      initCellParams(params, ['W_x', 'W_a'], H, init, opts.rng, op);
    }
  }

  createWorkspace(steps: number, batch: number): CellWorkspace {
    return { steps, batch };
  }

  /** a⟨t⟩ = g(xp⟨t⟩ + a⟨t−1⟩·W_aaᵀ)   xp [B, H], a⟨t−1⟩ [B, H] → a⟨t⟩ [B, H] */
  stepForward(_ws: CellWorkspace, _t: number, xp: Matrix, prev: readonly Matrix[], next: readonly Matrix[]): void {
    checkStepShapes('rnn.stepForward', this, _ws, _t, xp, prev, next);
    const a = next[0];
    gemm(a, prev[0], this.params.W_a, false, true, 1, 0);
    this.forwardKernel()(a.rows, this.hiddenSize, a, xp);
  }

  /**
   * dz = da⟨t⟩ ∗ g′  (→ dxp [B, H]);  da⟨t−1⟩ = dz·W_aa   (dW_aa: accumulateRecurrentGrads).
   */
  stepBackward(
    _ws: CellWorkspace, _t: number, dNext: readonly Matrix[], dxp: Matrix, dPrev: readonly Matrix[],
    _prev: readonly Matrix[], next: readonly Matrix[],
  ): void {
    checkStepShapes('rnn.stepBackward', this, _ws, _t, dxp, dNext, dPrev, _prev, next);
    const a = next[0];
    this.backwardKernel()(a.rows, this.hiddenSize, a, dNext[0], dxp);
    gemm(dPrev[0], dxp, this.params.W_a, false, false, 1, 0);
  }

  /** dW_a += dXPᵀ·A_prev over all T·B rows (the recurrent pre-activation's gradient is dxp). */
  accumulateRecurrentGrads(_ws: CellWorkspace, _steps: number, dxp: Matrix, prevStates: readonly Matrix[]): void {
    gemmTransAccumulate(this.grads.W_a, dxp, prevStates[0]);
  }
}

/** An RNN cell: a⟨t⟩ = g(W_aa a⟨t−1⟩ + W_ax x⟨t⟩ + b_a). */
/** `createRnnCell({ inputSize, hiddenSize, … }, { rng?, dtype? })` (defaults: engine/create.ts). */
export function createRnnCell(config: CellSettings<RnnCellOptions>, options?: CreateOptions): RnnCell {
  return new RnnCell(cellOptionsOf('createRnnCell', config, options));
}
