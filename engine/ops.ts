/**
 * Elementwise and reduction ops, gl-matrix style: the output comes first, is returned, and
 * may alias an input where the doc says so. Every op checks shapes and dtypes and names
 * itself in the error. All honour strided views.
 */
import { addBiasKernel, sumRowsKernel, sumSquaresKernel } from './backend.js';
import { type Matrix, expectSameDType, expectSameShape, expectShape, shapeOf } from './matrix.js';

function checkBinary(op: string, out: Matrix, a: Matrix, b: Matrix): void {
  expectSameShape(op, 'a', a, 'b', b);
  expectSameShape(op, 'a', a, 'out', out);
  expectSameDType(op, out, a);
  expectSameDType(op, out, b);
}

/** out = a + b. out may alias a or b. */
export function add(out: Matrix, a: Matrix, b: Matrix): Matrix {
  checkBinary('add', out, a, b);
  const { rows, cols } = out;
  const od = out.data, ad = a.data, bd = b.data;
  for (let r = 0; r < rows; r++) {
    const o = out.offset + r * out.stride, x = a.offset + r * a.stride, y = b.offset + r * b.stride;
    for (let c = 0; c < cols; c++) od[o + c] = ad[x + c] + bd[y + c];
  }
  return out;
}

/** out = a − b. out may alias a or b. */
export function sub(out: Matrix, a: Matrix, b: Matrix): Matrix {
  checkBinary('sub', out, a, b);
  const { rows, cols } = out;
  const od = out.data, ad = a.data, bd = b.data;
  for (let r = 0; r < rows; r++) {
    const o = out.offset + r * out.stride, x = a.offset + r * a.stride, y = b.offset + r * b.stride;
    for (let c = 0; c < cols; c++) od[o + c] = ad[x + c] - bd[y + c];
  }
  return out;
}

/** out = a ∗ b (Hadamard, elementwise product). out may alias a or b. */
export function hadamard(out: Matrix, a: Matrix, b: Matrix): Matrix {
  checkBinary('hadamard', out, a, b);
  const { rows, cols } = out;
  const od = out.data, ad = a.data, bd = b.data;
  for (let r = 0; r < rows; r++) {
    const o = out.offset + r * out.stride, x = a.offset + r * a.stride, y = b.offset + r * b.stride;
    for (let c = 0; c < cols; c++) od[o + c] = ad[x + c] * bd[y + c];
  }
  return out;
}

/** y += α·x (BLAS axpy). y and x must not be distinct overlapping views. */
export function axpy(y: Matrix, alpha: number, x: Matrix): Matrix {
  expectSameShape('axpy', 'y', y, 'x', x);
  expectSameDType('axpy', y, x);
  const { rows, cols } = y;
  const yd = y.data, xd = x.data;
  for (let r = 0; r < rows; r++) {
    const o = y.offset + r * y.stride, s = x.offset + r * x.stride;
    for (let c = 0; c < cols; c++) yd[o + c] += alpha * xd[s + c];
  }
  return y;
}

/** out = α·x. out may alias x. */
export function scale(out: Matrix, x: Matrix, alpha: number): Matrix {
  expectSameShape('scale', 'x', x, 'out', out);
  expectSameDType('scale', out, x);
  const { rows, cols } = out;
  const od = out.data, xd = x.data;
  for (let r = 0; r < rows; r++) {
    const o = out.offset + r * out.stride, s = x.offset + r * x.stride;
    for (let c = 0; c < cols; c++) od[o + c] = alpha * xd[s + c];
  }
  return out;
}

/**
 * out[r, :] = x[r, :] + bias[0, :] — the row-broadcast bias add (bias is [1, cols]). out may alias x.
 * Runs the backend seam's `addBias` kernel (wasm SIMD on 'wasm', bit-identical to js for float32).
 */
export function addBias(out: Matrix, x: Matrix, bias: Matrix): Matrix {
  expectSameShape('addBias', 'x', x, 'out', out);
  expectShape('addBias', 'bias', bias, 1, x.cols);
  expectSameDType('addBias', out, x);
  expectSameDType('addBias', out, bias);
  addBiasKernel()(out.rows, out.cols, out, x, bias);
  return out;
}

/**
 * Sum over rows: out[0, c] (+)= Σ_r x[r, c]; out is [1, cols]. With `accumulate` the sums are
 * added to out (the bias gradient of a batch, db += Σ_r dZ[r, :]). Rows are added in order, so the
 * seam's `sumRows` kernel (wasm SIMD across columns) gives the js bits.
 */
export function sumRows(out: Matrix, x: Matrix, accumulate = false): Matrix {
  expectShape('sumRows', 'out', out, 1, x.cols);
  expectSameDType('sumRows', out, x);
  sumRowsKernel()(x.rows, x.cols, out, x, accumulate);
  return out;
}

/** Sum over columns: out[r, 0] (+)= Σ_c x[r, c]; out is [rows, 1]. */
export function sumCols(out: Matrix, x: Matrix, accumulate = false): Matrix {
  expectShape('sumCols', 'out', out, x.rows, 1);
  expectSameDType('sumCols', out, x);
  for (let r = 0; r < x.rows; r++) {
    const s = x.offset + r * x.stride;
    let sum = 0;
    for (let c = 0; c < x.cols; c++) sum += x.data[s + c];
    const o = out.offset + r * out.stride;
    out.data[o] = accumulate ? out.data[o] + sum : sum;
  }
  return out;
}

/** Σ of all entries. */
export function sumAll(x: Matrix): number {
  let sum = 0;
  for (let r = 0; r < x.rows; r++) {
    const s = x.offset + r * x.stride;
    for (let c = 0; c < x.cols; c++) sum += x.data[s + c];
  }
  return sum;
}

/**
 * Σ of squared entries (‖x‖² in the Frobenius sense), summed in float64 (the seam's `sumSquares`:
 * in row order on js; on wasm in SIMD lanes, so the last bits may differ).
 */
export function sumSquares(x: Matrix): number {
  return sumSquaresKernel()(x.rows, x.cols, x);
}

/**
 * Column concatenation out = [a | b] — the notes' [a⟨t−1⟩, x⟨t⟩] stacking, and
 * W_a = [W_aa | W_ax]. out must not overlap a or b.
 */
export function concatCols(out: Matrix, parts: Matrix[]): Matrix {
  let total = 0;
  for (const p of parts) {
    if (p.rows !== out.rows) {
      throw new Error(`concatCols: expected every part to have ${out.rows} rows, got ${shapeOf(p)}`);
    }
    expectSameDType('concatCols', out, p);
    total += p.cols;
  }
  if (total !== out.cols) {
    throw new Error(`concatCols: expected out to have ${total} columns (sum of the parts), got ${shapeOf(out)}`);
  }
  let col = 0;
  for (const p of parts) {
    const dst = out.colView(col, p.cols);
    for (let r = 0; r < p.rows; r++) {
      const o = dst.offset + r * dst.stride, s = p.offset + r * p.stride;
      for (let c = 0; c < p.cols; c++) dst.data[o + c] = p.data[s + c];
    }
    col += p.cols;
  }
  return out;
}

/**
 * Column split: views (no copy) of consecutive column blocks of `x` with the given widths —
 * e.g. W_a → [W_aa, W_ax]. The widths must add up to x.cols.
 */
export function splitCols(x: Matrix, widths: number[]): Matrix[] {
  const total = widths.reduce((s, w) => s + w, 0);
  if (total !== x.cols) {
    throw new Error(`splitCols: expected widths summing to ${x.cols} columns, got ${widths.join(' + ')} = ${total}`);
  }
  const out: Matrix[] = [];
  let col = 0;
  for (const w of widths) {
    out.push(x.colView(col, w));
    col += w;
  }
  return out;
}

/** Transpose into out (out is [x.cols, x.rows]; must not overlap x). */
export function transpose(out: Matrix, x: Matrix): Matrix {
  expectShape('transpose', 'out', out, x.cols, x.rows);
  expectSameDType('transpose', out, x);
  for (let r = 0; r < x.rows; r++) {
    for (let c = 0; c < x.cols; c++) out.data[out.offset + c * out.stride + r] = x.data[x.offset + r * x.stride + c];
  }
  return out;
}

/** Largest |entry| (0 for an empty matrix). */
export function maxAbs(x: Matrix): number {
  let m = 0;
  for (let r = 0; r < x.rows; r++) {
    const s = x.offset + r * x.stride;
    for (let c = 0; c < x.cols; c++) {
      const v = Math.abs(x.data[s + c]);
      if (v > m || Number.isNaN(v)) m = v;
    }
  }
  return m;
}

/** True when every entry is finite; otherwise the first bad (row, col). */
export function firstNonFinite(x: Matrix): [number, number] | null {
  for (let r = 0; r < x.rows; r++) {
    const s = x.offset + r * x.stride;
    for (let c = 0; c < x.cols; c++) if (!Number.isFinite(x.data[s + c])) return [r, c];
  }
  return null;
}
