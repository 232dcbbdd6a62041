/**
 * A residual sublayer with its layer norm and dropout, in either order PyTorch offers:
 *   post-norm (the paper, PyTorch's default):  y = LayerNorm(x + drop(Sublayer(x)))
 *   pre-norm (norm_first=True):                y = x + drop(Sublayer(LayerNorm(x)))
 * Sublayer is self-attention, cross-attention or the feed-forward block; the layer that owns this
 * workspace runs it between the two halves, so this file holds only the norm, the skip and the dropout:
 *
 *   forward:  s = residualInput(ws, x)            (x, or LN(x) pre-norm)
 *             ws.subOut ← Sublayer(s)             (the caller writes it)
 *             residualOutput(y, ws, x, mode)
 *   backward: dSub = residualOutputBackward(dx, ws, dy)  (adds the skip path into dx)
 *             target = residualInputGradient(ws, dx)     (dx itself post-norm, a zeroed buffer pre-norm)
 *             Sublayer backward: target += ∂Sublayer/∂s ᵀ dSub
 *             residualInputBackward(dx, ws)              (pre-norm: dx += LN backward of target)
 * All buffers are [N, E] and allocated once per N. x must stay unchanged between forward and backward.
 */
import { Matrix, zero, type DType } from '../../engine/matrix.js';
import { add } from '../../engine/ops.js';
import { createDropoutWorkspace, dropoutBackward, dropoutForward, type DropoutMode, type DropoutWorkspace } from '../dropout.js';
import { createLayerNormWorkspace, layerNormBackward, layerNormForward, type LayerNorm, type LayerNormWorkspace } from '../norm.js';

export interface ResidualWorkspace {
  readonly normFirst: boolean;
  readonly norm: LayerNormWorkspace;
  readonly dropout: DropoutWorkspace;
  /** Pre-norm: LN(x), the sublayer's input. */
  readonly normed: Matrix;
  /** The sublayer's output (written by the owner), dropped in place. */
  readonly subOut: Matrix;
  /** Post-norm: x + drop(Sublayer(x)), the norm's input. */
  readonly sum: Matrix;
  /** Gradients of normed, subOut and sum. */
  readonly dNormed: Matrix; readonly dSubOut: Matrix; readonly dSum: Matrix;
}

export function createResidualWorkspace(norm: LayerNorm, normFirst: boolean, dropout: number, rows: number): ResidualWorkspace {
  const dtype: DType = norm.dtype, E = norm.dim;
  const m = (): Matrix => Matrix.zeros(rows, E, dtype);
  return {
    normFirst, norm: createLayerNormWorkspace(norm, rows), dropout: createDropoutWorkspace({
      p: dropout, rows, cols: E,
    }, { dtype }),
    normed: m(), subOut: m(), sum: m(), dNormed: m(), dSubOut: m(), dSum: m(),
  };
}

/** The sublayer's input: x (post-norm) or LN(x) (pre-norm). */
export function residualInput(ws: ResidualWorkspace, x: Matrix): Matrix {
  return ws.normFirst ? layerNormForward(ws.normed, ws.norm, x) : x;
}

/** y = LN(x + drop(subOut)) post-norm, x + drop(subOut) pre-norm. y [N, E] must not overlap x. */
export function residualOutput(y: Matrix, ws: ResidualWorkspace, x: Matrix, mode: DropoutMode): Matrix {
  dropoutForward(ws.subOut, ws.dropout, ws.subOut, mode);
  if (ws.normFirst) return add(y, x, ws.subOut);
  add(ws.sum, x, ws.subOut);
  return layerNormForward(y, ws.norm, ws.sum);
}

/** Adds the skip path of dy into dx and returns dSub = ∂L/∂subOut (ws.dSubOut, written). */
export function residualOutputBackward(dx: Matrix, ws: ResidualWorkspace, dy: Matrix): Matrix {
  let dSum = dy;
  if (!ws.normFirst) {
    zero(ws.dSum);
    layerNormBackward(ws.dSum, ws.norm, dy);
    dSum = ws.dSum;
  }
  add(dx, dx, dSum);
  zero(ws.dSubOut);
  dropoutBackward(ws.dSubOut, ws.dropout, dSum);
  return ws.dSubOut;
}

/** Where the sublayer's backward accumulates its input gradient: dx (post-norm) or a zeroed ws.dNormed. */
export function residualInputGradient(ws: ResidualWorkspace, dx: Matrix): Matrix {
  if (!ws.normFirst) return dx;
  return zero(ws.dNormed);
}

/** Pre-norm: dx += LN backward of ws.dNormed (post-norm: nothing left to do). */
export function residualInputBackward(dx: Matrix, ws: ResidualWorkspace): void {
  if (ws.normFirst) layerNormBackward(dx, ws.norm, ws.dNormed);
}
