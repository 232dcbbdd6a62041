/**
 * Inverted dropout (Srivastava et al. 2014), PyTorch's nn.Dropout(p):
 *   training:   y = x ∗ m,  m_ij = 1/(1 − p) with probability 1 − p, else 0 (one Bernoulli draw per entry);
 *   evaluation: y = x (the 1/(1 − p) scaling at training time keeps E[y] = x, so nothing changes here).
 * Backward: dx += dy ∗ m (dx += dy at evaluation).
 *
 * The mask lives in the workspace, so one forward call chooses how it is obtained (`DropoutMode`):
 *   'off'    evaluation (and p = 0): identity;
 *   'sample' training: draw a new mask from the seeded Rng passed in (never an unseeded source);
 *   'fixed'  reuse the mask already in the workspace (gradient checks perturb inputs and weights with the
 *            mask held fixed; `sampleDropoutMask` draws it once).
 */
import { Matrix, expectSameShape, type DType } from '../engine/matrix.js';
import type { Rng } from '../engine/rng.js';

export type DropoutMode = { kind: 'off' } | { kind: 'sample'; rng: Rng } | { kind: 'fixed' };

export const DROPOUT_OFF: DropoutMode = { kind: 'off' };
export const DROPOUT_FIXED: DropoutMode = { kind: 'fixed' };

export interface DropoutWorkspace {
  readonly p: number;
  /** m [N, D]: 0 or 1/(1 − p). */
  readonly mask: Matrix;
  /** False after an 'off' forward call: the backward pass is then the identity too. */
  active: boolean;
}

export function checkDropoutProbability(op: string, p: number): void {
  if (!(p >= 0 && p < 1)) throw new Error(`${op}: expected a dropout probability in [0, 1), got ${p}`);
}

/** The sizes of a dropout workspace: probability p and the [rows, cols] of the masked matrix. */
export interface DropoutWorkspaceConfig {
  p: number;
  rows: number;
  cols: number;
}

/** A workspace whose mask starts all ones (dtype default float32). */
export function createDropoutWorkspace(config: DropoutWorkspaceConfig, options?: { dtype?: DType }): DropoutWorkspace;
/** @deprecated Use `createDropoutWorkspace({ p, rows, cols }, { dtype })`. */
export function createDropoutWorkspace(p: number, rows: number, cols: number, dtype?: DType): DropoutWorkspace;
export function createDropoutWorkspace(
  first: DropoutWorkspaceConfig | number, second?: { dtype?: DType } | number, oldCols?: number, oldDType?: DType,
): DropoutWorkspace {
  const { p, rows, cols } = typeof first === 'number' ? { p: first, rows: second as number, cols: oldCols as number } : first;
  const dtype = (typeof first === 'number' ? oldDType : (second as { dtype?: DType } | undefined)?.dtype) ?? 'float32';
  checkDropoutProbability('createDropoutWorkspace', p);
  const mask = Matrix.zeros(rows, cols, dtype);
  mask.data.fill(1);
  return { p, mask, active: false };
}

/**
 * Draw a new mask into ws.mask from `rng` (entries 1/(1 − p) with probability 1 − p, else 0): one 32-bit
 * draw per entry (keep when u < (1 − p)·2³²), half the cost of a 53-bit uniform on the hot path.
 */
export function sampleDropoutMask(ws: DropoutWorkspace, rng: Rng): void {
  const keep = 1 - ws.p, scale = 1 / keep;
  const threshold = keep * 4294967296;
  const m = ws.mask, d = m.data;
  for (let r = 0; r < m.rows; r++) { // row by row: the mask may be a row view of a larger buffer
    const o = m.offset + r * m.stride;
    for (let c = 0; c < m.cols; c++) d[o + c] = rng.nextUint32() < threshold ? scale : 0;
  }
}

/** y = x ∗ m (or y = x when off or p = 0): x, y [N, D] like the mask; y may alias x. */
export function dropoutForward(y: Matrix, ws: DropoutWorkspace, x: Matrix, mode: DropoutMode): Matrix {
  const op = 'dropoutForward';
  expectSameShape(op, 'mask', ws.mask, 'x', x);
  expectSameShape(op, 'mask', ws.mask, 'y', y);
  ws.active = mode.kind !== 'off' && ws.p > 0;
  if (mode.kind === 'sample' && ws.active) sampleDropoutMask(ws, mode.rng);
  const m = ws.mask;
  for (let r = 0; r < x.rows; r++) {
    const o = y.offset + r * y.stride, s = x.offset + r * x.stride, k = r * m.cols;
    if (ws.active) for (let c = 0; c < x.cols; c++) y.data[o + c] = x.data[s + c] * m.data[k + c];
    else if (y !== x) for (let c = 0; c < x.cols; c++) y.data[o + c] = x.data[s + c];
  }
  return y;
}

/** dx += dy ∗ m, with the mode of the last forward call; dx must not overlap dy. */
export function dropoutBackward(dx: Matrix, ws: DropoutWorkspace, dy: Matrix): void {
  const op = 'dropoutBackward';
  expectSameShape(op, 'mask', ws.mask, 'dy', dy);
  expectSameShape(op, 'mask', ws.mask, 'dx', dx);
  const m = ws.mask;
  for (let r = 0; r < dy.rows; r++) {
    const o = dx.offset + r * dx.stride, g = dy.offset + r * dy.stride, k = r * m.cols;
    if (ws.active) for (let c = 0; c < dy.cols; c++) dx.data[o + c] += dy.data[g + c] * m.data[k + c];
    else for (let c = 0; c < dy.cols; c++) dx.data[o + c] += dy.data[g + c];
  }
}
