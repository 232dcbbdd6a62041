// Every op of engine/ops.ts and engine/matrix.ts against scijs ndarray-ops as an independent
// reference, on contiguous matrices and on strided views, in both dtypes; every shape mismatch
// must throw an error that names the op and both shapes.
import ndarray, { type NdArray } from 'ndarray';
import ops from 'ndarray-ops';
import { describe, expect, it } from 'vitest';
import {
  Matrix, Rng, add, addBias, allocArray, axpy, concatCols, copyInto, expectSameDType, expectSameShape, expectShape,
  fill, firstNonFinite, hadamard, maxAbs, overlaps, scale, shapeOf, splitCols, stepView, sub, sumAll, sumCols,
  sumRows, sumSquares, transpose, zero, type DType,
} from '../../engine/index.js';

const dtypes: DType[] = ['float32', 'float64'];
const SENTINEL = 777;

/** The ndarray view of a matrix, built here from the documented layout (not with the interop adapter). */
function nd(m: Matrix): NdArray {
  return ndarray(m.data, [m.rows, m.cols], [m.stride, 1], m.offset);
}

function refArray(rows: number, cols: number): NdArray {
  return ndarray(new Float64Array(rows * cols), [rows, cols]);
}

/** A random operand: contiguous, or a strided block inside a larger buffer filled with SENTINEL. */
function operand(rng: Rng, rows: number, cols: number, dtype: DType, strided: boolean): Matrix {
  let m: Matrix;
  if (strided) {
    const parent = Matrix.zeros(rows + 3, cols + 5, dtype);
    parent.data.fill(SENTINEL);
    m = parent.rowView(1, rows).colView(2, cols);
  } else {
    m = Matrix.zeros(rows, cols, dtype);
  }
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) m.set(r, c, rng.uniformIn(-2, 2));
  return m;
}

/** Entries of the buffer outside the view of `m` must still be SENTINEL (only for strided operands). */
function expectOutsideUntouched(m: Matrix): void {
  if (m.isContiguous && m.offset === 0 && m.data.length === m.size) return;
  const inside = new Set<number>();
  for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) inside.add(m.offset + r * m.stride + c);
  for (let i = 0; i < m.data.length; i++) if (!inside.has(i)) expect(m.data[i], `buffer index ${i}`).toBe(SENTINEL);
}

function expectMatches(m: Matrix, ref: NdArray, tol: number): void {
  expect([m.rows, m.cols]).toEqual(ref.shape);
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < m.cols; c++) {
      const want = ref.get(r, c) as number;
      expect(Math.abs(m.get(r, c) - want), `[${r}, ${c}]: ${m.get(r, c)} vs ${want}`).toBeLessThanOrEqual(tol * (1 + Math.abs(want)));
    }
  }
}

const tolOf = (dtype: DType): number => (dtype === 'float32' ? 1e-6 : 1e-15);

/** Runs `body` for both dtypes and both layouts. */
function eachLayout(name: string, body: (dtype: DType, strided: boolean, rng: Rng) => void): void {
  for (const dtype of dtypes) {
    for (const strided of [false, true]) {
      it(`${name} (${dtype}, ${strided ? 'strided views' : 'contiguous'})`, () => body(dtype, strided, new Rng(dtype.length * 10 + (strided ? 1 : 0))));
    }
  }
}

type Binary = (out: Matrix, a: Matrix, b: Matrix) => Matrix;
const binaries: [string, Binary, (out: NdArray, a: NdArray, b: NdArray) => unknown][] = [
  ['add', add, ops.add],
  ['sub', sub, ops.sub],
  ['hadamard', hadamard, ops.mul],
];

describe('elementwise binary ops: add, sub, hadamard', () => {
  for (const [name, op, ref] of binaries) {
    eachLayout(`${name} matches ndarray-ops`, (dtype, strided, rng) => {
      const a = operand(rng, 5, 7, dtype, strided), b = operand(rng, 5, 7, dtype, strided), out = operand(rng, 5, 7, dtype, strided);
      const want = refArray(5, 7);
      ref(want, nd(a), nd(b));
      expect(op(out, a, b)).toBe(out);
      expectMatches(out, want, tolOf(dtype));
      expectOutsideUntouched(out);
    });

    eachLayout(`${name}: out may alias a, b, or both`, (dtype, strided, rng) => {
      const a = operand(rng, 4, 3, dtype, strided), b = operand(rng, 4, 3, dtype, strided);
      const want = refArray(4, 3);
      ref(want, nd(a), nd(b));
      const a2 = a.clone(), b2 = b.clone();
      op(a, a, b);
      expectMatches(a, want, tolOf(dtype));
      op(b2, a2, b2);
      expectMatches(b2, want, tolOf(dtype));
      const self = refArray(4, 3);
      ref(self, nd(a2), nd(a2));
      op(a2, a2, a2);
      expectMatches(a2, self, tolOf(dtype));
      expectOutsideUntouched(a);
    });

    it(`${name}: shape and dtype mismatches name the op and both shapes`, () => {
      expect(() => op(Matrix.zeros(2, 3), Matrix.zeros(2, 3), Matrix.zeros(3, 2))).toThrow(new RegExp(`^${name}: .*\\[2, 3\\].*\\[3, 2\\]`));
      expect(() => op(Matrix.zeros(2, 2), Matrix.zeros(2, 3), Matrix.zeros(2, 3))).toThrow(new RegExp(`^${name}: .*\\[2, 3\\].*\\[2, 2\\]`));
      expect(() => op(Matrix.zeros(2, 3), Matrix.zeros(2, 3, 'float64'), Matrix.zeros(2, 3))).toThrow(new RegExp(`^${name}: expected matching dtypes, got float32 and float64`));
    });
  }
});

describe('axpy and scale', () => {
  eachLayout('axpy y += α·x matches ndarray-ops (muls + addeq)', (dtype, strided, rng) => {
    const y = operand(rng, 6, 4, dtype, strided), x = operand(rng, 6, 4, dtype, strided);
    const want = refArray(6, 4), tmp = refArray(6, 4);
    ops.assign(want, nd(y));
    ops.muls(tmp, nd(x), -1.75);
    ops.addeq(want, tmp);
    expect(axpy(y, -1.75, x)).toBe(y);
    expectMatches(y, want, tolOf(dtype));
    expectOutsideUntouched(y);
  });

  it('axpy with y === x doubles-plus (y += α·y)', () => {
    const y = Matrix.fromArray([[1, -2], [3, 4]], 'float64');
    axpy(y, 0.5, y);
    expect(y.toArray()).toEqual([[1.5, -3], [4.5, 6]]);
  });

  eachLayout('scale out = α·x matches ndarray-ops muls, and out may alias x', (dtype, strided, rng) => {
    const x = operand(rng, 3, 8, dtype, strided), out = operand(rng, 3, 8, dtype, strided);
    const want = refArray(3, 8);
    ops.muls(want, nd(x), 0.3);
    expect(scale(out, x, 0.3)).toBe(out);
    expectMatches(out, want, tolOf(dtype));
    scale(x, x, 0.3);
    expectMatches(x, want, tolOf(dtype));
    expectOutsideUntouched(out);
    expectOutsideUntouched(x);
  });

  it('shape and dtype mismatches name the op and both shapes', () => {
    expect(() => axpy(Matrix.zeros(2, 3), 1, Matrix.zeros(3, 3))).toThrow(/^axpy: .*\[2, 3\].*\[3, 3\]/);
    expect(() => axpy(Matrix.zeros(2, 3), 1, Matrix.zeros(2, 3, 'float64'))).toThrow(/^axpy: expected matching dtypes/);
    expect(() => scale(Matrix.zeros(1, 3), Matrix.zeros(2, 3), 2)).toThrow(/^scale: .*\[2, 3\].*\[1, 3\]/);
    expect(() => scale(Matrix.zeros(2, 3, 'float64'), Matrix.zeros(2, 3), 2)).toThrow(/^scale: expected matching dtypes/);
  });
});

describe('addBias (row broadcast)', () => {
  eachLayout('out[r, :] = x[r, :] + bias matches ndarray-ops add with a stride-0 bias, out may alias x', (dtype, strided, rng) => {
    const x = operand(rng, 5, 6, dtype, strided), bias = operand(rng, 1, 6, dtype, strided), out = operand(rng, 5, 6, dtype, strided);
    const broadcast = ndarray(bias.data, [5, 6], [0, 1], bias.offset);
    const want = refArray(5, 6);
    ops.add(want, nd(x), broadcast);
    expect(addBias(out, x, bias)).toBe(out);
    expectMatches(out, want, tolOf(dtype));
    addBias(x, x, bias);
    expectMatches(x, want, tolOf(dtype));
    expectOutsideUntouched(out);
  });

  it('shape and dtype mismatches name the op and both shapes', () => {
    expect(() => addBias(Matrix.zeros(2, 3), Matrix.zeros(2, 3), Matrix.zeros(1, 4))).toThrow(/^addBias: expected bias to be \[1, 3\], got \[1, 4\]/);
    expect(() => addBias(Matrix.zeros(2, 3), Matrix.zeros(2, 3), Matrix.zeros(3, 1))).toThrow(/^addBias: .*\[1, 3\].*\[3, 1\]/);
    expect(() => addBias(Matrix.zeros(3, 3), Matrix.zeros(2, 3), Matrix.zeros(1, 3))).toThrow(/^addBias: .*\[2, 3\].*\[3, 3\]/);
    expect(() => addBias(Matrix.zeros(2, 3), Matrix.zeros(2, 3), Matrix.zeros(1, 3, 'float64'))).toThrow(/^addBias: expected matching dtypes/);
  });
});

describe('reductions: sumRows, sumCols, sumAll, sumSquares, maxAbs', () => {
  eachLayout('sumRows (column sums) matches ndarray-ops sum over each column; accumulate adds', (dtype, strided, rng) => {
    const x = operand(rng, 7, 4, dtype, strided), out = operand(rng, 1, 4, dtype, strided);
    const want = refArray(1, 4);
    for (let c = 0; c < 4; c++) want.set(0, c, ops.sum(nd(x).pick(null, c)));
    expect(sumRows(out, x)).toBe(out);
    expectMatches(out, want, 4 * tolOf(dtype));
    const twice = refArray(1, 4);
    ops.muls(twice, want, 2);
    sumRows(out, x, true);
    expectMatches(out, twice, 4 * tolOf(dtype));
    expectOutsideUntouched(out);
  });

  eachLayout('sumCols (row sums) matches ndarray-ops sum over each row; accumulate adds', (dtype, strided, rng) => {
    const x = operand(rng, 3, 9, dtype, strided), out = operand(rng, 3, 1, dtype, strided);
    const want = refArray(3, 1);
    for (let r = 0; r < 3; r++) want.set(r, 0, ops.sum(nd(x).pick(r, null)));
    expect(sumCols(out, x)).toBe(out);
    expectMatches(out, want, 4 * tolOf(dtype));
    const prior = out.clone('float64');
    sumCols(out, x, true);
    for (let r = 0; r < 3; r++) want.set(r, 0, (want.get(r, 0) as number) + prior.get(r, 0));
    expectMatches(out, want, 4 * tolOf(dtype));
    expectOutsideUntouched(out);
  });

  eachLayout('sumAll, sumSquares and maxAbs match ndarray-ops sum, norm2squared and norminf', (dtype, strided, rng) => {
    const x = operand(rng, 6, 5, dtype, strided);
    expect(sumAll(x)).toBeCloseTo(ops.sum(nd(x)), 12);
    expect(sumSquares(x)).toBeCloseTo(ops.norm2squared(nd(x)), 12);
    expect(maxAbs(x)).toBe(ops.norminf(nd(x)));
  });

  it('maxAbs is 0 for an empty matrix and NaN when an entry is NaN', () => {
    expect(maxAbs(Matrix.zeros(0, 3))).toBe(0);
    expect(maxAbs(Matrix.fromArray([[1, NaN, 5]], 'float64'))).toBeNaN();
    expect(maxAbs(Matrix.fromArray([[NaN, 1, 5]], 'float64'))).toBeNaN();
  });

  it('shape and dtype mismatches name the op and both shapes', () => {
    expect(() => sumRows(Matrix.zeros(1, 3), Matrix.zeros(2, 4))).toThrow(/^sumRows: expected out to be \[1, 4\], got \[1, 3\]/);
    expect(() => sumRows(Matrix.zeros(1, 4, 'float64'), Matrix.zeros(2, 4))).toThrow(/^sumRows: expected matching dtypes/);
    expect(() => sumCols(Matrix.zeros(3, 1), Matrix.zeros(2, 4))).toThrow(/^sumCols: expected out to be \[2, 1\], got \[3, 1\]/);
    expect(() => sumCols(Matrix.zeros(2, 1, 'float64'), Matrix.zeros(2, 4))).toThrow(/^sumCols: expected matching dtypes/);
  });
});

describe('concatCols, splitCols and transpose', () => {
  eachLayout('concatCols out = [a | b | c] matches ndarray-ops assign into column blocks', (dtype, strided, rng) => {
    const a = operand(rng, 4, 2, dtype, strided), b = operand(rng, 4, 3, dtype, strided), c = operand(rng, 4, 1, dtype, strided);
    const out = operand(rng, 4, 6, dtype, strided);
    const want = refArray(4, 6);
    ops.assign(want.hi(4, 2), nd(a));
    ops.assign(want.lo(0, 2).hi(4, 3), nd(b));
    ops.assign(want.lo(0, 5), nd(c));
    expect(concatCols(out, [a, b, c])).toBe(out);
    expectMatches(out, want, 0);
    expectOutsideUntouched(out);
  });

  eachLayout('splitCols returns views (no copy) of consecutive column blocks', (dtype, strided, rng) => {
    const x = operand(rng, 3, 7, dtype, strided);
    const parts = splitCols(x, [2, 4, 1]);
    expect(parts.map(shapeOf)).toEqual(['[3, 2]', '[3, 4]', '[3, 1]']);
    let col = 0;
    for (const p of parts) {
      expect(p.data).toBe(x.data);
      expectMatches(p, nd(x).lo(0, col).hi(3, p.cols), 0);
      col += p.cols;
    }
    parts[1].set(2, 3, 42);
    expect(x.get(2, 5)).toBe(42);
  });

  eachLayout('transpose matches ndarray-ops assign from a transposed view', (dtype, strided, rng) => {
    const x = operand(rng, 3, 5, dtype, strided), out = operand(rng, 5, 3, dtype, strided);
    const want = refArray(5, 3);
    ops.assign(want, nd(x).transpose(1, 0));
    expect(transpose(out, x)).toBe(out);
    expectMatches(out, want, 0);
    expectOutsideUntouched(out);
  });

  it('shape and dtype mismatches name the op and the shapes', () => {
    expect(() => concatCols(Matrix.zeros(2, 5), [Matrix.zeros(2, 2), Matrix.zeros(3, 3)])).toThrow(/^concatCols: expected every part to have 2 rows, got \[3, 3\]/);
    expect(() => concatCols(Matrix.zeros(2, 4), [Matrix.zeros(2, 2), Matrix.zeros(2, 3)])).toThrow(/^concatCols: expected out to have 5 columns .*got \[2, 4\]/);
    expect(() => concatCols(Matrix.zeros(2, 4), [Matrix.zeros(2, 4, 'float64')])).toThrow(/^concatCols: expected matching dtypes/);
    expect(() => splitCols(Matrix.zeros(2, 5), [2, 2])).toThrow(/^splitCols: expected widths summing to 5 columns, got 2 \+ 2 = 4/);
    expect(() => transpose(Matrix.zeros(3, 2), Matrix.zeros(3, 2))).toThrow(/^transpose: expected out to be \[2, 3\], got \[3, 2\]/);
    expect(() => transpose(Matrix.zeros(2, 3, 'float64'), Matrix.zeros(3, 2))).toThrow(/^transpose: expected matching dtypes/);
  });
});

describe('matrix.ts: copyInto, fill, zero, firstNonFinite', () => {
  eachLayout('copyInto matches ndarray-ops assign, also across dtypes', (dtype, strided, rng) => {
    const src = operand(rng, 4, 5, dtype, strided), out = operand(rng, 4, 5, dtype, strided);
    expect(copyInto(out, src)).toBe(out);
    expectMatches(out, nd(src), 0);
    expectOutsideUntouched(out);
    const other = Matrix.zeros(4, 5, dtype === 'float32' ? 'float64' : 'float32');
    const want = ndarray(allocArray(20, other.dtype), [4, 5]);
    ops.assign(want, nd(src)); // the reference rounds to the target dtype the same way
    copyInto(other, src);
    expectMatches(other, want, 0);
  });

  eachLayout('fill and zero match ndarray-ops assigns, only inside the view', (dtype, strided, rng) => {
    const out = operand(rng, 3, 4, dtype, strided);
    const want = refArray(3, 4);
    ops.assigns(want, -2.5);
    expect(fill(out, -2.5)).toBe(out);
    expectMatches(out, want, 0);
    expectOutsideUntouched(out);
    ops.assigns(want, 0);
    expect(zero(out)).toBe(out);
    expectMatches(out, want, 0);
    expectOutsideUntouched(out);
  });

  it('copyInto names both shapes on a mismatch', () => {
    expect(() => copyInto(Matrix.zeros(2, 3), Matrix.zeros(3, 2))).toThrow(/^copyInto: .*\[2, 3\].*\[3, 2\]/);
  });

  it('firstNonFinite finds the first NaN or ±Infinity in row-major order, null otherwise', () => {
    expect(firstNonFinite(Matrix.fromArray([[1, 2], [3, 4]]))).toBeNull();
    expect(firstNonFinite(Matrix.fromArray([[1, 2], [Infinity, NaN]], 'float64'))).toEqual([1, 0]);
    expect(firstNonFinite(Matrix.fromArray([[1, -Infinity], [NaN, 0]]))).toEqual([0, 1]);
    const big = Matrix.fromArray([[NaN, 1, 2], [NaN, 3, NaN]], 'float64');
    expect(firstNonFinite(big.colView(1, 1))).toBeNull();
    expect(firstNonFinite(big.colView(1, 2))).toEqual([1, 1]);
  });
});

describe('matrix.ts: the Matrix type', () => {
  it('stores row-major at data[offset + r·stride + c]; get/set, shape, size, dtype', () => {
    const m = Matrix.fromArray([[1, 2, 3], [4, 5, 6]], 'float64');
    expect(Array.from(m.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect([m.rows, m.cols, m.stride, m.offset, m.size]).toEqual([2, 3, 3, 0, 6]);
    expect(m.shape).toEqual([2, 3]);
    expect(m.dtype).toBe('float64');
    expect(m.data).toBeInstanceOf(Float64Array);
    expect(Matrix.zeros(2, 2).dtype).toBe('float32');
    expect(Matrix.zeros(2, 2).data).toBeInstanceOf(Float32Array);
    m.set(1, 2, 60);
    expect(m.get(1, 2)).toBe(60);
    expect(m.data[5]).toBe(60);
    expect(m.toArray()).toEqual([[1, 2, 3], [4, 5, 60]]);
  });

  it('rowView and colView share data; column views have the parent stride and are not contiguous', () => {
    const m = Matrix.fromArray([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]], 'float64');
    const rows = m.rowView(1, 2);
    expect(rows.toArray()).toEqual([[5, 6, 7, 8], [9, 10, 11, 12]]);
    expect([rows.offset, rows.stride, rows.isContiguous]).toEqual([4, 4, true]);
    const cols = m.colView(1, 2);
    expect(cols.toArray()).toEqual([[2, 3], [6, 7], [10, 11]]);
    expect([cols.offset, cols.stride, cols.isContiguous]).toEqual([1, 4, false]);
    expect(cols.rowView(2).isContiguous).toBe(true); // a single row is always contiguous
    cols.set(2, 0, -10);
    expect(m.get(2, 1)).toBe(-10);
    expect(rows.data).toBe(m.data);
    expect(nd(cols).get(1, 1)).toBe(7);
  });

  it('stepView(seq, t, B) is the [B, D] block of step t in a time-major [T·B, D] matrix', () => {
    const seq = Matrix.fromArray([[0, 0], [0, 1], [1, 0], [1, 1], [2, 0], [2, 1]], 'float64'); // T = 3, B = 2
    expect(stepView(seq, 1, 2).toArray()).toEqual([[1, 0], [1, 1]]);
    expect(stepView(seq, 2, 2).offset).toBe(8);
    expect(() => stepView(seq, 3, 2)).toThrow(/^rowView: rows \[6, 8\) are outside a matrix of 6 rows/);
  });

  it('clone copies (contiguous, same or given dtype); fromData wraps without copying', () => {
    const m = Matrix.fromArray([[1.1, 2], [3, 4]], 'float64');
    const c = m.colView(0, 1).clone();
    expect(c.toArray()).toEqual([[1.1], [3]]);
    expect(c.isContiguous).toBe(true);
    c.set(0, 0, 9);
    expect(m.get(0, 0)).toBe(1.1);
    const f = m.clone('float32');
    expect(f.dtype).toBe('float32');
    expect(f.get(0, 0)).toBe(Math.fround(1.1));
    const buf = new Float32Array([1, 2, 3, 4, 5, 6]);
    const w = Matrix.fromData(3, 2, buf);
    expect(w.data).toBe(buf);
    expect(w.get(2, 1)).toBe(6);
  });

  it('bad shapes and views throw errors naming the operation, expected and actual', () => {
    expect(() => new Matrix(-1, 2, new Float32Array(4))).toThrow(/^Matrix: expected non-negative integer shape, got \[-1, 2\]/);
    expect(() => new Matrix(1.5, 2, new Float32Array(4))).toThrow(/^Matrix: expected non-negative integer shape, got \[1.5, 2\]/);
    expect(() => new Matrix(2, 3, new Float32Array(10), 0, 2)).toThrow(/^Matrix: stride 2 is smaller than cols 3/);
    expect(() => new Matrix(2, 3, new Float32Array(5))).toThrow(/^Matrix: a \[2, 3\] view at offset 0 with stride 3 needs 6 entries, the buffer has 5/);
    expect(() => Matrix.fromData(2, 3, new Float32Array(5))).toThrow(/^Matrix.fromData: expected 6 entries for \[2, 3\], got 5/);
    expect(() => Matrix.fromArray([[1, 2], [3]])).toThrow(/^Matrix.fromArray: expected every row to have 2 entries, row 1 has 1/);
    const m = Matrix.zeros(3, 4);
    expect(() => m.rowView(2, 2)).toThrow(/^rowView: rows \[2, 4\) are outside a matrix of 3 rows/);
    expect(() => m.colView(3, 2)).toThrow(/^colView: columns \[3, 5\) are outside a matrix of 4 columns/);
    expect(() => m.colView(-1, 1)).toThrow(/^colView: /);
  });

  it('a view that exactly fits the buffer is accepted', () => {
    // rows 2, stride 4, cols 3 at offset 1: last entry at 1 + 4 + 3 − 1 = 7 → needs 8 entries
    const v = new Matrix(2, 3, new Float32Array(8), 1, 4);
    expect(v.shape).toEqual([2, 3]);
    expect(() => new Matrix(2, 3, new Float32Array(7), 1, 4)).toThrow(/^Matrix: a \[2, 3\] view at offset 1 with stride 4 needs 8 entries, the buffer has 7/);
  });

  it('allocArray, shapeOf and the expect* helpers', () => {
    expect(allocArray(3, 'float64')).toBeInstanceOf(Float64Array);
    expect(allocArray(3, 'float32')).toBeInstanceOf(Float32Array);
    expect(allocArray(3, 'float32').length).toBe(3);
    expect(shapeOf(Matrix.zeros(2, 7))).toBe('[2, 7]');
    expect(() => expectShape('myOp', 'W', Matrix.zeros(2, 3), 3, 2)).toThrow(/^myOp: expected W to be \[3, 2\], got \[2, 3\]$/);
    expect(() => expectShape('myOp', 'W', Matrix.zeros(3, 2), 3, 2)).not.toThrow();
    expect(() => expectSameShape('myOp', 'a', Matrix.zeros(1, 2), 'b', Matrix.zeros(2, 1))).toThrow(/^myOp: expected b to have the shape of a \[1, 2\], got \[2, 1\]$/);
    expect(() => expectSameDType('myOp', Matrix.zeros(1, 1), Matrix.zeros(1, 1, 'float64'))).toThrow(/^myOp: expected matching dtypes, got float32 and float64$/);
    expect(() => expectSameDType('myOp', Matrix.zeros(1, 1), Matrix.zeros(2, 2))).not.toThrow();
  });

  it('overlaps compares memory spans (interleaved column blocks overlap; disjoint row blocks do not)', () => {
    const m = Matrix.zeros(4, 6);
    expect(overlaps(m, m)).toBe(true);
    expect(overlaps(m.rowView(0, 2), m.rowView(2, 2))).toBe(false);
    expect(overlaps(m.rowView(0, 3), m.rowView(2, 2))).toBe(true);
    expect(overlaps(m.colView(0, 3), m.colView(3, 3))).toBe(true);
    expect(overlaps(m, Matrix.zeros(4, 6))).toBe(false);
    expect(overlaps(m.rowView(0, 0), m)).toBe(false);
    // two typed arrays over one ArrayBuffer
    const buffer = new ArrayBuffer(64);
    const a = Matrix.fromData(2, 2, new Float32Array(buffer, 0, 4));
    const b = Matrix.fromData(2, 2, new Float32Array(buffer, 16, 4));
    const c = Matrix.fromData(1, 2, new Float32Array(buffer, 8, 2));
    expect(overlaps(a, b)).toBe(false);
    expect(overlaps(a, c)).toBe(true);
  });
});
