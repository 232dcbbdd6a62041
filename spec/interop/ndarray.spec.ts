import ndarray from 'ndarray';
import { describe, expect, it } from 'vitest';
import { Matrix } from '../../engine/index.js';
import { fromNdarray, toNdarray } from '../../interop/ndarray.js';

describe('toNdarray: a zero-copy view', () => {
  it('has shape [rows, cols], stride [stride, 1] and offset; writes go both ways', () => {
    const m = Matrix.fromArray([[1, 2, 3], [4, 5, 6]], 'float64');
    const a = toNdarray(m);
    expect(a.shape).toEqual([2, 3]);
    expect(a.stride).toEqual([3, 1]);
    expect(a.offset).toBe(0);
    expect(a.dtype).toBe('float64');
    expect(a.data).toBe(m.data);
    expect(a.get(1, 2)).toBe(6);
    a.set(0, 1, -20);
    expect(m.get(0, 1)).toBe(-20);
    m.set(1, 0, 40);
    expect(a.get(1, 0)).toBe(40);
  });

  it('keeps the layout of a strided column view (float32)', () => {
    const m = Matrix.fromArray([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]);
    const view = m.rowView(1, 2).colView(1, 2);
    const a = toNdarray(view);
    expect(a.dtype).toBe('float32');
    expect(a.shape).toEqual([2, 2]);
    expect(a.stride).toEqual([4, 1]);
    expect(a.offset).toBe(5);
    expect([a.get(0, 0), a.get(0, 1), a.get(1, 0), a.get(1, 1)]).toEqual([6, 7, 10, 11]);
    a.set(1, 1, 0);
    expect(m.get(2, 2)).toBe(0);
  });
});

describe('fromNdarray', () => {
  it('is zero-copy for a contiguous row-major float64 ndarray: writes through the ndarray change the matrix', () => {
    const data = new Float64Array([1, 2, 3, 4, 5, 6]);
    const a = ndarray(data, [3, 2]);
    const m = fromNdarray(a);
    expect(m.data).toBe(data);
    expect(m.toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(m.dtype).toBe('float64');
    a.set(2, 1, 60);
    expect(m.get(2, 1)).toBe(60);
    m.set(0, 0, 10);
    expect(a.get(0, 0)).toBe(10);
  });

  it('is zero-copy for a row stride larger than cols (a column block, float32) and round-trips toNdarray', () => {
    const data = new Float32Array(20).map((_, i) => i);
    const block = ndarray(data, [4, 5]).lo(0, 1).hi(3, 3); // rows 0–2, columns 1–3, stride [5, 1]
    const m = fromNdarray(block);
    expect(m.data).toBe(data);
    expect([m.offset, m.stride]).toEqual([1, 5]);
    expect(m.toArray()).toEqual([[1, 2, 3], [6, 7, 8], [11, 12, 13]]);
    block.set(2, 2, -1);
    expect(m.get(2, 2)).toBe(-1);
    const back = fromNdarray(toNdarray(m));
    expect([back.data === m.data, back.offset, back.stride]).toEqual([true, 1, 5]);
  });

  it('copies a transposed ndarray (the copy has the right values and no longer shares memory)', () => {
    const data = new Float64Array([1, 2, 3, 4, 5, 6]);
    const t = ndarray(data, [2, 3]).transpose(1, 0); // [3, 2], stride [1, 3]
    const m = fromNdarray(t);
    expect(m.data).not.toBe(data);
    expect(m.isContiguous).toBe(true);
    expect(m.dtype).toBe('float64');
    expect(m.toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
    t.set(0, 0, 100);
    expect(m.get(0, 0)).toBe(1);
  });

  it('copies stepped and reversed ndarrays', () => {
    const data = new Float32Array(12).map((_, i) => i);
    const stepped = ndarray(data, [3, 4]).step(1, 2); // columns 0 and 2: stride [4, 2]
    const m = fromNdarray(stepped);
    expect(m.data).not.toBe(data);
    expect(m.dtype).toBe('float32');
    expect(m.toArray()).toEqual([[0, 2], [4, 6], [8, 10]]);
    const reversed = ndarray(data, [3, 4]).step(-1, 1); // rows backwards: stride [−4, 1]
    const r = fromNdarray(reversed);
    expect(r.data).not.toBe(data);
    expect(r.toArray()).toEqual([[8, 9, 10, 11], [4, 5, 6, 7], [0, 1, 2, 3]]);
  });

  it('a single row or a single column of any layout is viewed without a copy', () => {
    const data = new Float64Array([1, 2, 3, 4, 5, 6]);
    const colOfT = ndarray(data, [1, 6]).transpose(1, 0); // [6, 1], stride [1, 6]
    const m = fromNdarray(colOfT);
    expect(m.data).toBe(data);
    expect(m.toArray()).toEqual([[1], [2], [3], [4], [5], [6]]);
    const rowOf = fromNdarray(ndarray(data, [1, 3], [7, 2], 1)); // entries 2, 4, 6: column stride 2
    expect(rowOf.data).not.toBe(data); // column stride 2 with 3 columns: not row-major, copied
    expect(rowOf.toArray()).toEqual([[2, 4, 6]]);
    const single = fromNdarray(ndarray(data, [1, 4], [99, 1], 2)); // one row: its row stride does not matter
    expect(single.data).toBe(data);
    expect(single.toArray()).toEqual([[3, 4, 5, 6]]);
  });

  it('rejects non-2-D ndarrays and non-float dtypes with a named error', () => {
    expect(() => fromNdarray(ndarray(new Float64Array(8), [2, 2, 2]))).toThrow(/^fromNdarray: expected a 2-D ndarray, got 3-D with shape \[2, 2, 2\]/);
    expect(() => fromNdarray(ndarray(new Float64Array(4), [4]))).toThrow(/^fromNdarray: expected a 2-D ndarray, got 1-D/);
    expect(() => fromNdarray(ndarray(new Int32Array(4), [2, 2]))).toThrow(/^fromNdarray: expected dtype float32 or float64, got int32/);
    expect(() => fromNdarray(ndarray([1, 2, 3, 4], [2, 2]))).toThrow(/^fromNdarray: expected dtype float32 or float64, got array/);
  });
});
