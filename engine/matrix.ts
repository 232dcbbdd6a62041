/**
 * The matrix type of the engine: a row-major 2-D view over a Float32Array (default) or a
 * Float64Array (gradient checks).
 *
 * A matrix is `rows × cols` entries at `data[offset + r * stride + c]`. A view shares `data`
 * with its parent: `rowView` selects rows (still contiguous when the parent is), `colView`
 * selects a column block (then `stride > cols`). Every op in the engine honours `stride`, so
 * views never need a copy.
 *
 * Sequences are time-major `[T, B, D]` stored as one matrix of `T·B` rows and `D` columns:
 * time step t is the contiguous row block `stepView(seq, t, B)`.
 */

export type DType = 'float32' | 'float64';
export type FloatArray = Float32Array | Float64Array;

/** The most entries one matrix may hold (2³¹ − 1: the longest typed array on every engine). */
const MAX_ENTRIES = 2 ** 31 - 1;

export class Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: FloatArray;
  /** Index in `data` of entry (0, 0). */
  readonly offset: number;
  /** Distance in `data` between the starts of two consecutive rows (≥ cols). */
  readonly stride: number;

  constructor(rows: number, cols: number, data: FloatArray, offset = 0, stride = cols) {
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
      throw new Error(`Matrix: expected non-negative integer shape, got [${rows}, ${cols}]`);
    }
    if (stride < cols) throw new Error(`Matrix: stride ${stride} is smaller than cols ${cols}`);
    const last = rows === 0 || cols === 0 ? offset : offset + (rows - 1) * stride + cols;
    if (offset < 0 || last > data.length) {
      throw new Error(
        `Matrix: a [${rows}, ${cols}] view at offset ${offset} with stride ${stride} needs ${last} entries, the buffer has ${data.length}`,
      );
    }
    this.rows = rows;
    this.cols = cols;
    this.data = data;
    this.offset = offset;
    this.stride = stride;
  }

  get dtype(): DType {
    return this.data instanceof Float64Array ? 'float64' : 'float32';
  }

  get size(): number {
    return this.rows * this.cols;
  }

  /** True when the rows follow each other with no gap (stride === cols). */
  get isContiguous(): boolean {
    return this.stride === this.cols || this.rows <= 1;
  }

  get shape(): [number, number] {
    return [this.rows, this.cols];
  }

  get(r: number, c: number): number {
    return this.data[this.offset + r * this.stride + c];
  }

  set(r: number, c: number, v: number): void {
    this.data[this.offset + r * this.stride + c] = v;
  }

  /** Rows [start, start + count) as a view (no copy). */
  rowView(start: number, count = 1): Matrix {
    if (start < 0 || count < 0 || start + count > this.rows) {
      throw new Error(`rowView: rows [${start}, ${start + count}) are outside a matrix of ${this.rows} rows`);
    }
    return new Matrix(count, this.cols, this.data, this.offset + start * this.stride, this.stride);
  }

  /** Columns [start, start + count) as a view (no copy); the view's stride is the parent's. */
  colView(start: number, count: number): Matrix {
    if (start < 0 || count < 0 || start + count > this.cols) {
      throw new Error(`colView: columns [${start}, ${start + count}) are outside a matrix of ${this.cols} columns`);
    }
    return new Matrix(this.rows, count, this.data, this.offset + start, this.stride);
  }

  /** A new contiguous matrix with the same entries (and dtype unless given). */
  clone(dtype: DType = this.dtype): Matrix {
    const out = Matrix.zeros(this.rows, this.cols, dtype);
    copyInto(out, this);
    return out;
  }

  /** Same entries as a plain nested array (for printing and tests). */
  toArray(): number[][] {
    const out: number[][] = [];
    for (let r = 0; r < this.rows; r++) {
      const row: number[] = [];
      for (let c = 0; c < this.cols; c++) row.push(this.get(r, c));
      out.push(row);
    }
    return out;
  }

  /**
   * A new zero matrix. Float32 storage comes from the current backend's allocator where it has one
   * (the wasm backend: its WebAssembly memory, so its kernels work on the matrix in place), else a
   * plain Float32Array; float64 is always a plain Float64Array.
   */
  static zeros(rows: number, cols: number, dtype: DType = 'float32'): Matrix {
    const n = rows * cols;
    // Name the shape before the typed array does ("Invalid typed array length: -3").
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0 || n > MAX_ENTRIES) {
      throw new Error(`Matrix.zeros: expected a non-negative integer shape of at most ${MAX_ENTRIES} entries, got [${rows}, ${cols}]`);
    }
    return new Matrix(rows, cols, allocArray(n, dtype));
  }

  static fromArray(values: ArrayLike<number>[] | number[][], dtype: DType = 'float32'): Matrix {
    const rows = values.length;
    const cols = rows === 0 ? 0 : values[0].length;
    const out = Matrix.zeros(rows, cols, dtype);
    for (let r = 0; r < rows; r++) {
      if (values[r].length !== cols) {
        throw new Error(`Matrix.fromArray: expected every row to have ${cols} entries, row ${r} has ${values[r].length}`);
      }
      for (let c = 0; c < cols; c++) out.set(r, c, values[r][c]);
    }
    return out;
  }

  /** Wrap an existing flat row-major buffer (no copy). */
  static fromData(rows: number, cols: number, data: FloatArray): Matrix {
    if (data.length !== rows * cols) {
      throw new Error(`Matrix.fromData: expected ${rows * cols} entries for [${rows}, ${cols}], got ${data.length}`);
    }
    return new Matrix(rows, cols, data);
  }
}

/** Zeroed storage for n entries: float32 from the installed allocator (see Matrix.zeros) when there is one. */
export function allocArray(n: number, dtype: DType): FloatArray {
  if (dtype === 'float64') return new Float64Array(n);
  return (float32Allocator !== null ? float32Allocator(n) : null) ?? new Float32Array(n);
}

/** Returns zeroed float32 storage, or null to fall back to a plain Float32Array. */
export type Float32Allocator = (n: number) => Float32Array | null;

let float32Allocator: Float32Allocator | null = null;

/**
 * Install the allocator `Matrix.zeros` uses for float32 (null: plain arrays). The backend seam
 * calls this when a backend is selected (`setBackend`), with that backend's `allocateFloat32`.
 */
export function setFloat32Allocator(allocator: Float32Allocator | null): void {
  float32Allocator = allocator;
}

/** Something that hands out storage and can take it back early (the wasm backend's heap). */
export interface StorageOwner {
  /** Free `data` now if it is one of this owner's arrays; false otherwise. */
  release(data: FloatArray): boolean;
}

const storageOwners: StorageOwner[] = [];

/** Register an owner for `releaseMatrix` (idempotent). */
export function registerStorageOwner(owner: StorageOwner): void {
  if (!storageOwners.includes(owner)) storageOwners.push(owner);
}

/**
 * Give the storage of `m` back now instead of when it is garbage collected — for large temporary
 * matrices in a long-running process on the wasm backend (its WebAssembly memory is not seen by the
 * garbage collector, which only sees small array objects). Afterwards neither `m` nor any view
 * sharing its data may be used. Plain JS arrays are left to the garbage collector (returns false).
 */
export function releaseMatrix(m: Matrix): boolean {
  for (const owner of storageOwners) if (owner.release(m.data)) return true;
  return false;
}

/** Human-readable shape for error messages: `[3, 4]`. */
export function shapeOf(m: Matrix): string {
  return `[${m.rows}, ${m.cols}]`;
}

/** Throws `op: expected NAME to be [r, c], got [r', c']` unless `m` has that shape. */
export function expectShape(op: string, name: string, m: Matrix, rows: number, cols: number): void {
  if (m.rows !== rows || m.cols !== cols) {
    throw new Error(`${op}: expected ${name} to be [${rows}, ${cols}], got ${shapeOf(m)}`);
  }
}

/** Throws unless `a` and `b` have the same shape. */
export function expectSameShape(op: string, nameA: string, a: Matrix, nameB: string, b: Matrix): void {
  if (a.rows !== b.rows || a.cols !== b.cols) {
    throw new Error(`${op}: expected ${nameB} to have the shape of ${nameA} ${shapeOf(a)}, got ${shapeOf(b)}`);
  }
}

/** Throws unless both matrices have the same dtype. */
export function expectSameDType(op: string, a: Matrix, b: Matrix): void {
  if (a.data.constructor !== b.data.constructor) {
    throw new Error(`${op}: expected matching dtypes, got ${a.dtype} and ${b.dtype}`);
  }
}

/** Time step t of a time-major [T, B, D] sequence stored as a [T·B, D] matrix: a [B, D] view. */
export function stepView(seq: Matrix, t: number, batch: number): Matrix {
  return seq.rowView(t * batch, batch);
}

/** Copy `src` into `out` (same shape; either may be a strided view). */
export function copyInto(out: Matrix, src: Matrix): Matrix {
  expectSameShape('copyInto', 'out', out, 'src', src);
  const { rows, cols } = out;
  const od = out.data, sd = src.data;
  // A whole source buffer copies natively; anything else loops (a subarray view would allocate
  // on every call, and copyInto runs on every training step).
  if (out.isContiguous && src.offset === 0 && rows * cols === sd.length && od.constructor === sd.constructor) {
    (od as Float64Array).set(sd as Float64Array, out.offset);
    return out;
  }
  for (let r = 0; r < rows; r++) {
    const o = out.offset + r * out.stride;
    const s = src.offset + r * src.stride;
    for (let c = 0; c < cols; c++) od[o + c] = sd[s + c];
  }
  return out;
}

/** Set every entry of `out` to `value`. */
export function fill(out: Matrix, value: number): Matrix {
  if (out.isContiguous) {
    out.data.fill(value, out.offset, out.offset + out.rows * out.cols);
    return out;
  }
  for (let r = 0; r < out.rows; r++) {
    const o = out.offset + r * out.stride;
    out.data.fill(value, o, o + out.cols);
  }
  return out;
}

/** Zero every entry (the explicit zeroing that accumulating backward passes rely on). */
export function zero(out: Matrix): Matrix {
  return fill(out, 0);
}

/** True when the memory ranges of `a` and `b` overlap (same buffer, intersecting spans). */
export function overlaps(a: Matrix, b: Matrix): boolean {
  if (a.data.buffer !== b.data.buffer) return false;
  if (a.size === 0 || b.size === 0) return false;
  const bytesA = a.data.BYTES_PER_ELEMENT;
  const startA = a.data.byteOffset + a.offset * bytesA;
  const endA = startA + ((a.rows - 1) * a.stride + a.cols) * bytesA;
  const bytesB = b.data.BYTES_PER_ELEMENT;
  const startB = b.data.byteOffset + b.offset * bytesB;
  const endB = startB + ((b.rows - 1) * b.stride + b.cols) * bytesB;
  return startA < endB && startB < endA;
}
