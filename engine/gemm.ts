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
export const ACCUMULATE_ROWS = 512; // = DEFAULT_KC of engine/wasm/wasm-gemm.ts (a spec checks the bits)

/**
 * C += Aᵀ·B for A [k, m], B [k, n], C [m, n] — a weight gradient summed over k = T·B rows (dW += dZᵀ·X) —
 * as a sequence of products over ACCUMULATE_ROWS rows at a time. Why: the wasm driver packs op(A)
 * over the whole depth k at once; with k in the thousands the packed block falls out of the cache,
 * and chunks of one k-block measured 15–20% faster (the char-LM's dW_a, k = 3200: 49 → 40 ms, when the
 * driver's k-block was 256; it is 512 since the 5 × 8 tile). Each
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

/**
 * Where the products of a batched GEMM lie: counts[0] × counts[1] products; product (i, l) reads each
 * operand X ∈ {a, b, c} at X's offset + i·X[0] + l·X[1] (entries, ≥ 0), with X's shape and row stride.
 * (Multi-head attention: i = head, l = batch row of a time-major sequence.)
 */
export interface GemmBatch {
  counts: readonly [number, number];
  a: readonly [number, number];
  b: readonly [number, number];
  c: readonly [number, number];
}

/**
 * The batched GEMM: C_il = α·op(A_il)·op(B_il) + β·C_il for every product (i, l) of `batch`, where `c`, `a`,
 * `b` are the views of product (0, 0) and product (i, l) is the same view moved by the batch steps.
 * One validation for the whole batch (shapes, dtypes, every product inside its array, C's span apart
 * from A's and B's), then one backend GEMM per product with no view or check in between: the many
 * small products of attention (per head and batch row) pay the call overhead of one. The products
 * of C must not overlap each other (they may interleave, as column blocks do).
 */
export function gemmBatched(
  c: Matrix, a: Matrix, b: Matrix, batch: GemmBatch,
  transA = false, transB = false, alpha = 1, beta = 0,
): Matrix {
  const op = 'gemmBatched';
  const m = transA ? a.cols : a.rows;
  const k = transA ? a.rows : a.cols;
  const n = transB ? b.rows : b.cols;
  if (k !== (transB ? b.cols : b.rows) || c.rows !== m || c.cols !== n) {
    throw new Error(`${op}: expected op(A) [m, k], op(B) [k, n] and C [m, n]; got A ${shapeOf(a)}${transA ? 'ᵀ' : ''}, B ${shapeOf(b)}${transB ? 'ᵀ' : ''}, C ${shapeOf(c)}`);
  }
  expectSameDType(op, c, a);
  expectSameDType(op, c, b);
  const [n0, n1] = batch.counts;
  if (!(Number.isInteger(n0) && n0 >= 0 && Number.isInteger(n1) && n1 >= 0)) throw new Error(`${op}: expected counts of non-negative integers, got [${n0}, ${n1}]`);
  if (n0 === 0 || n1 === 0) return c;
  const spanC = batchSpan(op, 'C', c, batch.c, n0, n1);
  const spanA = batchSpan(op, 'A', a, batch.a, n0, n1);
  const spanB = batchSpan(op, 'B', b, batch.b, n0, n1);
  if ((c.data === a.data && spansMeet(spanC, spanA)) || (c.data === b.data && spansMeet(spanC, spanB))) {
    throw new Error(`${op}: C must not overlap A or B (write the products to a separate buffer)`);
  }
  const kernel = getBackend().gemm;
  const [a0, a1] = batch.a, [b0, b1] = batch.b, [c0, c1] = batch.c;
  for (let i = 0; i < n0; i++) {
    for (let l = 0; l < n1; l++) {
      kernel(
        m, n, k, alpha,
        a.data, a.offset + i * a0 + l * a1, a.stride, transA,
        b.data, b.offset + i * b0 + l * b1, b.stride, transB,
        beta, c.data, c.offset + i * c0 + l * c1, c.stride,
      );
    }
  }
  return c;
}

/** [first, last) entries the batch's products of X touch; throws when one lies outside X's array. */
function batchSpan(op: string, name: string, x: Matrix, steps: readonly [number, number], n0: number, n1: number): [number, number] {
  const [s0, s1] = steps;
  if (!(Number.isInteger(s0) && s0 >= 0 && Number.isInteger(s1) && s1 >= 0)) throw new Error(`${op}: expected non-negative integer steps for ${name}, got [${s0}, ${s1}]`);
  const last = x.offset + (n0 - 1) * s0 + (n1 - 1) * s1 + (x.rows === 0 ? 0 : (x.rows - 1) * x.stride + x.cols);
  if (last > x.data.length) throw new Error(`${op}: the last product of ${name} (${shapeOf(x)}) ends at entry ${last}, past its array of ${x.data.length}`);
  return [x.offset, last];
}

const spansMeet = (p: [number, number], q: [number, number]): boolean => p[0] < q[1] && q[0] < p[1];
