/**
 * What both LSTM cells (lstm.ts, lstm-peephole.ts) build the same way: their parameters and their caches.
 * Internal to the cells — not re-exported by any entry: a user builds a cell with `createLstmCell(config)`
 * / `createCell(config)` and its caches with `cell.createWorkspace(steps, batch)`.
 */
import { Matrix, stepView, type DType } from '../../engine/matrix.js';
import { allocateParams, checkCellOptions, initCellParams } from './cell.js';
import type { LstmCellOptions, LstmWorkspace } from './lstm.js';

/**
 * The parameters of an LSTM cell: W_x [4H, D], W_a [4H, H], b [1, 4H], then `extra` (e.g. the
 * peepholes), initialised in that order; b_f = forgetBias when given. Shared by both LSTM cells.
 */
export function createLstmParams(
  op: string, opts: LstmCellOptions, extra: Record<string, [number, number]> = {},
): { dtype: DType; params: Record<string, Matrix>; grads: Record<string, Matrix> } {
  const dtype = checkCellOptions(op, opts);
  const { inputSize: D, hiddenSize: H } = opts;
  const { params, grads } = allocateParams({ W_x: [4 * H, D], W_a: [4 * H, H], b: [1, 4 * H], ...extra }, dtype);
  initCellParams(params, ['W_x', 'W_a'], H, opts.init ?? 'pytorch', opts.rng, op);
  if (opts.forgetBias !== undefined) {
    if (!Number.isFinite(opts.forgetBias)) throw new Error(`${op}: expected a finite forgetBias, got ${opts.forgetBias}`);
    params.b.data.fill(opts.forgetBias, params.b.offset + H, params.b.offset + 2 * H); // the Γf block
  }
  return { dtype, params, grads };
}

/** The gate and tanh(c) caches of T steps of batch B (shared by both LSTM cells). */
export function createLstmWorkspace(steps: number, batch: number, H: number, dtype: DType): LstmWorkspace {
  const gatesAll = Matrix.zeros(steps * batch, 4 * H, dtype);
  const tanhAll = Matrix.zeros(steps * batch, H, dtype);
  const gates: Matrix[] = [];
  const tanhC: Matrix[] = [];
  for (let t = 0; t < steps; t++) {
    gates.push(stepView(gatesAll, t, batch));
    tanhC.push(stepView(tanhAll, t, batch));
  }
  return { steps, batch, gates, tanhC };
}
