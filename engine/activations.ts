/**
 * Activations and their backward functions.
 *
 * Forward: out = f(x) elementwise; out may alias x.
 * Backward: dx = dy ∗ f′ expressed through the forward *output* y (that is what the cells
 * keep in their caches): σ′ = y(1 − y), tanh′ = 1 − y², ReLU′ = [y > 0]. dx may alias dy.
 * Backward writes dx (it is the gradient of an intermediate, not of a parameter); pass
 * `accumulate = true` to add into dx instead.
 *
 * Stable for |x| up to 1e4 and beyond: sigmoid never evaluates exp of a positive number, and
 * Math.tanh saturates cleanly to ±1.
 */
import { type Matrix, expectSameDType, expectSameShape } from './matrix.js';

/** σ(x) = 1 / (1 + e^(−x)), computed without overflow for any finite x. */
export function sigmoidScalar(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

export type Activation = 'sigmoid' | 'tanh' | 'relu' | 'identity';

function checkUnary(op: string, out: Matrix, x: Matrix): void {
  expectSameShape(op, 'x', x, 'out', out);
  expectSameDType(op, out, x);
}

function checkBackward(op: string, dx: Matrix, dy: Matrix, y: Matrix): void {
  expectSameShape(op, 'y', y, 'dy', dy);
  expectSameShape(op, 'y', y, 'dx', dx);
  expectSameDType(op, dx, dy);
  expectSameDType(op, dx, y);
}

/** out = σ(x) */
export function sigmoid(out: Matrix, x: Matrix): Matrix {
  checkUnary('sigmoid', out, x);
  for (let r = 0; r < x.rows; r++) {
    const o = out.offset + r * out.stride, s = x.offset + r * x.stride;
    for (let c = 0; c < x.cols; c++) out.data[o + c] = sigmoidScalar(x.data[s + c]);
  }
  return out;
}

/** dx (+)= dy ∗ y ∗ (1 − y), y = σ(x) */
export function sigmoidBackward(dx: Matrix, dy: Matrix, y: Matrix, accumulate = false): Matrix {
  checkBackward('sigmoidBackward', dx, dy, y);
  for (let r = 0; r < y.rows; r++) {
    const o = dx.offset + r * dx.stride, g = dy.offset + r * dy.stride, s = y.offset + r * y.stride;
    for (let c = 0; c < y.cols; c++) {
      const v = y.data[s + c];
      const d = dy.data[g + c] * v * (1 - v);
      dx.data[o + c] = accumulate ? dx.data[o + c] + d : d;
    }
  }
  return dx;
}

/** out = tanh(x) */
export function tanh(out: Matrix, x: Matrix): Matrix {
  checkUnary('tanh', out, x);
  for (let r = 0; r < x.rows; r++) {
    const o = out.offset + r * out.stride, s = x.offset + r * x.stride;
    for (let c = 0; c < x.cols; c++) out.data[o + c] = Math.tanh(x.data[s + c]);
  }
  return out;
}

/** dx (+)= dy ∗ (1 − y²), y = tanh(x) */
export function tanhBackward(dx: Matrix, dy: Matrix, y: Matrix, accumulate = false): Matrix {
  checkBackward('tanhBackward', dx, dy, y);
  for (let r = 0; r < y.rows; r++) {
    const o = dx.offset + r * dx.stride, g = dy.offset + r * dy.stride, s = y.offset + r * y.stride;
    for (let c = 0; c < y.cols; c++) {
      const v = y.data[s + c];
      const d = dy.data[g + c] * (1 - v * v);
      dx.data[o + c] = accumulate ? dx.data[o + c] + d : d;
    }
  }
  return dx;
}

/** out = max(0, x) */
export function relu(out: Matrix, x: Matrix): Matrix {
  checkUnary('relu', out, x);
  for (let r = 0; r < x.rows; r++) {
    const o = out.offset + r * out.stride, s = x.offset + r * x.stride;
    for (let c = 0; c < x.cols; c++) {
      const v = x.data[s + c];
      out.data[o + c] = v > 0 ? v : 0;
    }
  }
  return out;
}

/** dx (+)= dy ∗ [y > 0], y = relu(x) */
export function reluBackward(dx: Matrix, dy: Matrix, y: Matrix, accumulate = false): Matrix {
  checkBackward('reluBackward', dx, dy, y);
  for (let r = 0; r < y.rows; r++) {
    const o = dx.offset + r * dx.stride, g = dy.offset + r * dy.stride, s = y.offset + r * y.stride;
    for (let c = 0; c < y.cols; c++) {
      const d = y.data[s + c] > 0 ? dy.data[g + c] : 0;
      dx.data[o + c] = accumulate ? dx.data[o + c] + d : d;
    }
  }
  return dx;
}

/** out = f(x) for a named activation. */
export function activate(kind: Activation, out: Matrix, x: Matrix): Matrix {
  switch (kind) {
    case 'sigmoid': return sigmoid(out, x);
    case 'tanh': return tanh(out, x);
    case 'relu': return relu(out, x);
    case 'identity': {
      checkUnary('activate', out, x);
      if (out !== x) for (let r = 0; r < x.rows; r++) for (let c = 0; c < x.cols; c++) out.set(r, c, x.get(r, c));
      return out;
    }
    default: throw new Error(`activate: expected sigmoid, tanh, relu or identity, got '${kind as string}'`);
  }
}

/** dx (+)= dy ∗ f′ through the output y, for a named activation. */
export function activateBackward(kind: Activation, dx: Matrix, dy: Matrix, y: Matrix, accumulate = false): Matrix {
  switch (kind) {
    case 'sigmoid': return sigmoidBackward(dx, dy, y, accumulate);
    case 'tanh': return tanhBackward(dx, dy, y, accumulate);
    case 'relu': return reluBackward(dx, dy, y, accumulate);
    case 'identity': {
      checkBackward('activateBackward', dx, dy, y);
      for (let r = 0; r < y.rows; r++) {
        for (let c = 0; c < y.cols; c++) dx.set(r, c, (accumulate ? dx.get(r, c) : 0) + dy.get(r, c));
      }
      return dx;
    }
    default: throw new Error(`activateBackward: expected sigmoid, tanh, relu or identity, got '${kind as string}'`);
  }
}
