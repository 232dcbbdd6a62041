/**
 * Row kernels shared by the word-embedding output layers (hierarchical softmax, negative
 * sampling): dot products and the paired "accumulate into the input gradient, update the output
 * row" loops on raw row-major buffers. Internal to engine/ (not re-exported from the index).
 *
 * All of them work on (buffer, offset) pairs with a length d, allocate nothing and check nothing:
 * they sit in the innermost training loop, and their callers validate shapes once
 * (checkGradientBuffers is the check both Backward functions share).
 */
import { expectSameDType, shapeOf, type FloatArray, type Matrix } from '../matrix.js';

/** softplus(z) = log(1 + e^z), without overflow: max(z, 0) + log1p(e^−|z|). */
export function softplusScalar(z: number): number {
  return (z > 0 ? z : 0) + Math.log1p(Math.exp(-Math.abs(z)));
}

/** x = a[aOff … aOff + d)ᵀ · b[bOff … bOff + d), summed left to right (the reference order). */
export function dotRows(a: FloatArray, aOff: number, b: FloatArray, bOff: number, d: number): number {
  let s = 0;
  for (let c = 0; c < d; c++) s += a[aOff + c] * b[bOff + c];
  return s;
}

/**
 * The same dot product with four partial sums (independent adds pipeline better): the SGD
 * kernels' version. Rounds differently from dotRows, so each caller keeps the one it had.
 */
export function dotRowsUnrolled(a: FloatArray, aOff: number, b: FloatArray, bOff: number, d: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let c = 0;
  for (; c + 3 < d; c += 4) {
    s0 += a[aOff + c] * b[bOff + c];
    s1 += a[aOff + c + 1] * b[bOff + c + 1];
    s2 += a[aOff + c + 2] * b[bOff + c + 2];
    s3 += a[aOff + c + 3] * b[bOff + c + 3];
  }
  for (; c < d; c++) s0 += a[aOff + c] * b[bOff + c];
  return (s0 + s1) + (s2 + s3);
}

/**
 * The backward pair of one output row θ and one input row h, with g = ∂L/∂(θᵀh):
 *   dh += g·θ,   dθ += g·h        (both ACCUMULATE; d entries from each offset)
 */
export function accumulateRowGradients(
  dh: FloatArray, dhOff: number, dTheta: FloatArray, dtOff: number,
  theta: FloatArray, tOff: number, h: FloatArray, hOff: number, d: number, g: number,
): void {
  for (let c = 0; c < d; c++) {
    dh[dhOff + c] += g * theta[tOff + c];
    dTheta[dtOff + c] += g * h[hOff + c];
  }
}

/**
 * The fused SGD pair of word2vec.c, with g = −lr·∂L/∂(θᵀh):
 *   neu1e[0 … d) += g·θ   (θ before its update),   θ += g·h
 * Unrolled by 4 like dotRowsUnrolled. neu1e must not alias theta or h.
 */
export function sgdRowUpdate(
  neu1e: FloatArray, theta: FloatArray, tOff: number, h: FloatArray, hOff: number, d: number, g: number,
): void {
  let i = 0;
  for (; i + 3 < d; i += 4) {
    const t0 = theta[tOff + i], t1 = theta[tOff + i + 1], t2 = theta[tOff + i + 2], t3 = theta[tOff + i + 3];
    neu1e[i] += g * t0;
    neu1e[i + 1] += g * t1;
    neu1e[i + 2] += g * t2;
    neu1e[i + 3] += g * t3;
    theta[tOff + i] = t0 + g * h[hOff + i];
    theta[tOff + i + 1] = t1 + g * h[hOff + i + 1];
    theta[tOff + i + 2] = t2 + g * h[hOff + i + 2];
    theta[tOff + i + 3] = t3 + g * h[hOff + i + 3];
  }
  for (; i < d; i++) {
    const t = theta[tOff + i];
    neu1e[i] += g * t;
    theta[tOff + i] = t + g * h[hOff + i];
  }
}

/** Throws (naming `op`) unless dh is shaped like h and dTheta like theta, with the same dtypes. */
export function checkGradientBuffers(op: string, dh: Matrix, dTheta: Matrix, h: Matrix, theta: Matrix): void {
  if (dh.rows !== h.rows || dh.cols !== h.cols) throw new Error(`${op}: expected dh to be ${shapeOf(h)} like h, got ${shapeOf(dh)}`);
  if (dTheta.rows !== theta.rows || dTheta.cols !== theta.cols) {
    throw new Error(`${op}: expected dTheta to be ${shapeOf(theta)} like theta, got ${shapeOf(dTheta)}`);
  }
  expectSameDType(op, dh, h);
  expectSameDType(op, dTheta, theta);
}
