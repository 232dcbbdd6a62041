/**
 * seqgrad/ndarray — the adapter between seqgrad matrices and scijs `ndarray` (its own package
 * entry: the engine never imports ndarray).
 *
 * A seqgrad Matrix is already an ndarray in disguise: entry (r, c) lives at
 * data[offset + r·stride + c], which is an ndarray of shape [rows, cols] and stride [stride, 1].
 * So `toNdarray` never copies (writes through the ndarray change the matrix), and `fromNdarray`
 * copies only when the ndarray's layout is not row-major with unit column stride (a transposed,
 * stepped or reversed view) — a row stride larger than the number of columns (a column block) is
 * kept as a view.
 */
import ndarray from 'ndarray';
import type { NdArray } from 'ndarray';
import { Matrix } from '../engine/matrix.js';

type FloatNdArray = NdArray<Float32Array> | NdArray<Float64Array>;

/** A zero-copy [rows, cols] ndarray view of `m` (stride [m.stride, 1], offset m.offset). */
export function toNdarray(m: Matrix): FloatNdArray {
  return ndarray(m.data, [m.rows, m.cols], [m.stride, 1], m.offset) as FloatNdArray;
}

/**
 * A Matrix with the entries of a 2-D float32 or float64 ndarray: a view of the same buffer (no
 * copy) when the ndarray is row-major with stride [s, 1] and s ≥ cols; otherwise a contiguous copy
 * with the same dtype. Throws for other dimensions or dtypes.
 */
export function fromNdarray(arr: NdArray): Matrix {
  if (arr.dimension !== 2) {
    throw new Error(`fromNdarray: expected a 2-D ndarray, got ${arr.dimension}-D with shape [${arr.shape.join(', ')}]`);
  }
  const data = arr.data;
  if (!(data instanceof Float32Array) && !(data instanceof Float64Array)) {
    throw new Error(`fromNdarray: expected dtype float32 or float64, got ${arr.dtype}`);
  }
  const [rows, cols] = arr.shape;
  const [rowStride, colStride] = arr.stride;
  if (rows === 0 || cols === 0) return Matrix.zeros(rows, cols, data instanceof Float64Array ? 'float64' : 'float32');
  // A single row (column) has no meaningful row (column) stride: [1, n] and [n, 1] views of any
  // layout are row-major.
  const stride = rows === 1 ? cols : rowStride;
  const unitColumns = cols === 1 || colStride === 1;
  if (unitColumns && stride >= cols) return new Matrix(rows, cols, data, arr.offset, stride);
  const out = Matrix.zeros(rows, cols, data instanceof Float64Array ? 'float64' : 'float32');
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out.data[r * cols + c] = data[arr.offset + r * rowStride + c * colStride];
  }
  return out;
}
