/**
 * GEMM, the hot path of everything: C = α·op(A)·op(B) + β·C.
 *
 * Shapes: op(A) is [m, k], op(B) is [k, n], C is [m, n]; op(X) = Xᵀ when the matching
 * `trans*` flag is set (then X is stored [k, m] or [n, k]). Any operand may be a strided view.
 *
 * Aliasing: C must not overlap A or B (the kernel reads A and B while writing C) — an
 * overlapping call throws. The check compares memory spans, so two column blocks of one matrix
 * (which interleave) count as overlapping. A and B may alias each other (e.g. XᵀX).
 * β = 0 overwrites C without reading it (NaNs in C do not propagate), as in BLAS.
 */
import { getBackend } from './backend.js';
import { Matrix, expectSameDType, overlaps, shapeOf } from './matrix.js';

export function gemm(
  c: Matrix, a: Matrix, b: Matrix,
  transA = false, transB = false, alpha = 1, beta = 0,
): Matrix {
  const m = transA ? a.cols : a.rows;
  const k = transA ? a.rows : a.cols;
  const kb = transB ? b.cols : b.rows;
  const n = transB ? b.rows : b.cols;
  if (k !== kb || c.rows !== m || c.cols !== n) {
    const opA = transA ? `Aᵀ ${shapeOf(a)}ᵀ` : `A ${shapeOf(a)}`;
    const opB = transB ? `Bᵀ ${shapeOf(b)}ᵀ` : `B ${shapeOf(b)}`;
    throw new Error(
      `gemm: expected op(A) [m, k], op(B) [k, n] and C [m, n]; got ${opA}, ${opB}, C ${shapeOf(c)}`,
    );
  }
  expectSameDType('gemm', c, a);
  expectSameDType('gemm', c, b);
  if (overlaps(c, a) || overlaps(c, b)) {
    throw new Error('gemm: C must not overlap A or B (write the product to a separate buffer)');
  }
  getBackend().gemm(
    m, n, k, alpha,
    a.data, a.offset, a.stride, transA,
    b.data, b.offset, b.stride, transB,
    beta, c.data, c.offset, c.stride,
  );
  return c;
}

/** out = A·B (a fresh matrix), for code outside hot loops. */
export function matmul(a: Matrix, b: Matrix, transA = false, transB = false): Matrix {
  const out = Matrix.zeros(transA ? a.cols : a.rows, transB ? b.rows : b.cols, a.dtype);
  return gemm(out, a, b, transA, transB);
}

/**
 * Rows of A and B per partial product in `gemmTransAccumulate`: the depth one macro pass of the
 * wasm driver covers (its k-chunk), so the sums come out in the same order as one long product.
 */
export const ACCUMULATE_ROWS = 256;

/**
 * C += Aᵀ·B for A [k, m], B [k, n], C [m, n] — a weight gradient summed over k = T·B rows (dW += dZᵀ·X) —
 * as a sequence of products over ACCUMULATE_ROWS rows at a time. Why: the wasm driver packs op(A)
 * over the whole depth k at once; with k in the thousands the packed block falls out of the cache,
 * and chunks of 256 rows measured 15–20% faster (the char-LM's dW_a, k = 3200: 49 → 40 ms). Each
 * chunk adds into C (β = 1), the order one long product sums in. Checks as `gemm`; no allocation.
 */
export function gemmTransAccumulate(c: Matrix, a: Matrix, b: Matrix): Matrix {
  if (a.rows !== b.rows || c.rows !== a.cols || c.cols !== b.cols) {
    throw new Error(`gemmTransAccumulate: expected A [k, m], B [k, n] and C [m, n]; got A ${shapeOf(a)}, B ${shapeOf(b)}, C ${shapeOf(c)}`);
  }
  if (a.rows <= ACCUMULATE_ROWS) return gemm(c, a, b, true, false, 1, 1);
  expectSameDType('gemmTransAccumulate', c, a);
  expectSameDType('gemmTransAccumulate', c, b);
  if (overlaps(c, a) || overlaps(c, b)) {
    throw new Error('gemmTransAccumulate: C must not overlap A or B (write the product to a separate buffer)');
  }
  const kernel = getBackend().gemm;
  for (let p = 0; p < a.rows; p += ACCUMULATE_ROWS) {
    const k = Math.min(ACCUMULATE_ROWS, a.rows - p);
    kernel(
      c.rows, c.cols, k, 1,
      a.data, a.offset + p * a.stride, a.stride, true,
      b.data, b.offset + p * b.stride, b.stride, false,
      1, c.data, c.offset, c.stride,
    );
  }
  return c;
}
