/**
 * The softmax family, row-wise over a [B, V] matrix of logits (one distribution per row).
 *
 * Forward: out = f(x); out may alias x (each row is read fully before it is written).
 * Backward: like the activations, it works through the forward *output* y and WRITES dx (the
 * gradient of an intermediate, not of a parameter); pass `accumulate = true` to add into dx
 * instead. dx may alias dy; dx must not alias y.
 *
 * Stability: every row is shifted by its maximum before exp (softmax(x) = softmax(x − max x)), so
 * exp never sees a positive argument; log-softmax uses log-sum-exp,
 * log ŷ_j = (x_j − m) − log Σ_k e^(x_k − m) with m = max_k x_k. Finite logits of any size (±1000,
 * ±1e30) give finite results: probabilities may underflow to 0, but log-probabilities stay exact
 * (logSoftmax([1000, −1000]) = [0, −2000]).
 */
import { softmaxRowsKernel } from './backend.js';
import { rowLogSumExpShifted, rowMax } from './kernels/vector-js.js';
import { type Matrix, expectSameDType, expectSameShape, type FloatArray } from './matrix.js';

export { rowLogSumExpShifted, rowMax } from './kernels/vector-js.js';

function checkForward(op: string, out: Matrix, x: Matrix): void {
  expectSameShape(op, 'x', x, 'out', out);
  expectSameDType(op, out, x);
  if (x.cols === 0 && x.rows > 0) throw new Error(`${op}: expected at least one column (class), got [${x.rows}, 0]`);
}

function checkBackward(op: string, dx: Matrix, dy: Matrix, y: Matrix): void {
  expectSameShape(op, 'y', y, 'dy', dy);
  expectSameShape(op, 'y', y, 'dx', dx);
  expectSameDType(op, dx, dy);
  expectSameDType(op, dx, y);
}

function checkTemperature(op: string, temperature: number): void {
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new Error(`${op}: expected a positive finite temperature, got ${temperature}`);
  }
}

/**
 * out[r, :] = softmax(x[r, :] / T): ŷ_j = e^((x_j − m)/T) / Σ_k e^((x_k − m)/T), m = max_k x_k.
 * The max is subtracted *before* dividing by T, so a tiny T never overflows (T → 0 gives the
 * one-hot of the argmax, ties shared equally; T → ∞ gives the uniform distribution).
 */
function softmaxRows(out: Matrix, x: Matrix, invTemperature: number): Matrix {
  softmaxRowsKernel()(x.rows, x.cols, out, x, invTemperature); // the seam's kernel (wasm: SIMD exp, float32 accuracy)
  return out;
}

/**
 * dx (+)= (1/T)·y ∗ (dy − ⟨dy, y⟩) per row — the softmax Jacobian diag(y) − y yᵀ applied to dy,
 * times 1/T for the temperature.
 */
function softmaxRowsBackward(dx: Matrix, dy: Matrix, y: Matrix, invTemperature: number, accumulate: boolean): Matrix {
  const { rows, cols } = y;
  for (let r = 0; r < rows; r++) {
    const o = dx.offset + r * dx.stride, g = dy.offset + r * dy.stride, s = y.offset + r * y.stride;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += dy.data[g + j] * y.data[s + j];
    for (let j = 0; j < cols; j++) {
      const d = invTemperature * y.data[s + j] * (dy.data[g + j] - dot);
      dx.data[o + j] = accumulate ? dx.data[o + j] + d : d;
    }
  }
  return dx;
}

/** out[r, :] = softmax(x[r, :]), x and out [B, V]; every row of out sums to 1. out may alias x. */
export function softmax(out: Matrix, x: Matrix): Matrix {
  checkForward('softmax', out, x);
  return softmaxRows(out, x, 1);
}

/**
 * dx (+)= y ∗ (dy − Σ_j dy_j·y_j) per row, y = softmax(x) [B, V], dy = ∂L/∂y [B, V].
 * dx may alias dy.
 */
export function softmaxBackward(dx: Matrix, dy: Matrix, y: Matrix, accumulate = false): Matrix {
  checkBackward('softmaxBackward', dx, dy, y);
  return softmaxRowsBackward(dx, dy, y, 1, accumulate);
}

/**
 * out[r, :] = softmax(x[r, :] / T) — sampling with temperature: T < 1 sharpens, T > 1 flattens.
 * T must be positive and finite. out may alias x.
 */
export function softmaxWithTemperature(out: Matrix, x: Matrix, temperature: number): Matrix {
  checkForward('softmaxWithTemperature', out, x);
  checkTemperature('softmaxWithTemperature', temperature);
  return softmaxRows(out, x, 1 / temperature);
}

/**
 * dx (+)= (1/T)·y ∗ (dy − Σ_j dy_j·y_j) per row, y = softmax(x / T) [B, V]. dx may alias dy.
 *
 * A learnable temperature: given `dTemperature` (a buffer of length ≥ 1), also ACCUMULATES
 *   ∂L/∂T = −(1/T) Σ_r Σ_j g_rj·z_rj,   g_r = y_r ∗ (dy_r − ⟨dy_r, y_r⟩),  z = x/T,
 * summed over the rows (one T shared by the batch) into dTemperature[0]. It needs only y: Σ_j g_rj = 0,
 * so z_rj may be replaced by log y_rj = z_rj − log Σ_k e^(z_rk) (a term with y_rj = 0 has g_rj = 0 and
 * is skipped). dTemperature is read before dx is written, so dx may still alias dy.
 */
export function softmaxWithTemperatureBackward(
  dx: Matrix, dy: Matrix, y: Matrix, temperature: number, accumulate = false, dTemperature?: FloatArray,
): Matrix {
  checkBackward('softmaxWithTemperatureBackward', dx, dy, y);
  checkTemperature('softmaxWithTemperatureBackward', temperature);
  if (dTemperature) {
    if (dTemperature.length < 1) throw new Error('softmaxWithTemperatureBackward: expected a dTemperature buffer of length ≥ 1, got length 0');
    dTemperature[0] += temperatureGradient(dy, y, temperature);
  }
  return softmaxRowsBackward(dx, dy, y, 1 / temperature, accumulate);
}

/** ∂L/∂T = −(1/T) Σ_r Σ_j y_rj (dy_rj − ⟨dy_r, y_r⟩) log y_rj (see softmaxWithTemperatureBackward). */
function temperatureGradient(dy: Matrix, y: Matrix, temperature: number): number {
  let sum = 0;
  for (let r = 0; r < y.rows; r++) {
    const g = dy.offset + r * dy.stride, s = y.offset + r * y.stride;
    let dot = 0;
    for (let j = 0; j < y.cols; j++) dot += dy.data[g + j] * y.data[s + j];
    for (let j = 0; j < y.cols; j++) {
      const p = y.data[s + j];
      if (p > 0) sum += p * (dy.data[g + j] - dot) * Math.log(p);
    }
  }
  return -sum / temperature;
}

/**
 * out[r, :] = log softmax(x[r, :]) = (x − m) − log Σ_k e^(x_k − m), m = max_k x_k (log-sum-exp);
 * x and out [B, V]. out may alias x.
 */
export function logSoftmax(out: Matrix, x: Matrix): Matrix {
  checkForward('logSoftmax', out, x);
  const { rows, cols } = x;
  for (let r = 0; r < rows; r++) logSoftmaxRow(out.data, out.offset + r * out.stride, x.data, x.offset + r * x.stride, cols);
  return out;
}

/**
 * One row of logSoftmax on raw buffers — the one log-softmax of seqgrad, for rows that are not a
 * whole Matrix of matching dtype (float32 logits into a float64 row, scores computed on the fly,
 * a plain array of scores):
 *   out[o + j] = (x_j − m) − log Σ_k e^(x_k − m),  m = max_k x_k,  x_j = x[s + j], j < cols.
 * out may be x at the same offset (in place: the row is read fully before it is written). No
 * checks (cols ≥ 1; an entry of −∞ gets −∞ as long as some entry is finite).
 */
export function logSoftmaxRow(out: FloatArray, o: number, x: ArrayLike<number>, s: number, cols: number): void {
  const m = rowMax(x, s, cols);
  const logSum = rowLogSumExpShifted(x, s, cols, m);
  for (let j = 0; j < cols; j++) out[o + j] = (x[s + j] - m) - logSum;
}

/**
 * dx (+)= dy − e^y ∗ Σ_j dy_j per row, y = logSoftmax(x) [B, V] (e^y = softmax(x)).
 * dx may alias dy.
 */
export function logSoftmaxBackward(dx: Matrix, dy: Matrix, y: Matrix, accumulate = false): Matrix {
  checkBackward('logSoftmaxBackward', dx, dy, y);
  const { rows, cols } = y;
  for (let r = 0; r < rows; r++) {
    const o = dx.offset + r * dx.stride, g = dy.offset + r * dy.stride, s = y.offset + r * y.stride;
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += dy.data[g + j];
    for (let j = 0; j < cols; j++) {
      const d = dy.data[g + j] - Math.exp(y.data[s + j]) * sum;
      dx.data[o + j] = accumulate ? dx.data[o + j] + d : d;
    }
  }
  return dx;
}
