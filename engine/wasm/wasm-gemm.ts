/**
 * The host side of the WebAssembly SGEMM: C = α·op(A)·op(B) + β·C for float32, in the backend's
 * WasmHeap (heap.ts).
 *
 * Where the operands are. An operand whose array lies in the heap (a matrix allocated on the wasm
 * backend) is used where it is: A and B are read there, C is written there. Any other array (a JS
 * array, a user's buffer) is copied into this driver's scratch first (TypedArray.set, a memcpy of
 * its memory span; C only when β ≠ 0 or it is a strided view, so the columns between its rows
 * round-trip unchanged) and C is copied back at the end.
 *
 * Per call:
 *   for jc over n in panels of NC columns:   pack_b: op(B)[:, jc:jc+NC] (all k) → B̃, NR-wide strips
 *     for ic over m in blocks of MC rows:    pack_a: op(A)[ic:ic+MC, :] (all k) → Ã, MR-high strips
 *       for pc over k in chunks of KC:       sgemm_macro: C[ic:, jc:] (+)= Ã[:, pc:+KC]·B̃[pc:+KC, :]
 * Steps 2's loops are Goto & van de Geijn's: KC keeps a KC × NR strip of B̃ in L1 while it meets
 * every MR-strip of Ã, the MC × KC part of Ã stays in L2. Packing pads the edges with zeros to whole
 * MR × NR tiles, so the micro-kernel has no edge cases. When α = 1 and β ∈ {0, 1}, the macro kernel
 * writes C itself on the whole tiles (all of C when m and n are multiples of MR and NR; otherwise
 * all but each block's last, partial row strip and the last, partial column panel): the first
 * k-chunk starts from zero (β = 0, C not read) or from C (β = 1). The rest (and all of C for other
 * α, β) goes to a padded C̃, and `finish` forms C = α·C̃ + β·C on the real rows and columns (β = 0
 * does not read C).
 *
 * The register tile is 5 × 8 (sgemm-module.ts), or 4 × 8 for row counts that 5-row strips would
 * pad more than they gain (`rowTile`: the batches of 8, 16 and 32 rows of the recurrent products).
 *
 * Fewer than four rows (batch 1–3, as in sampling): no packing at all; each row of op(A) is a
 * vector–matrix product (gemv_t / gemv_n) on B where it lies.
 *
 * Constant operands (`runWithConstants(arrays, fn)`, the seam's `withConstantOperands`): inside fn
 * the caller promises that the listed arrays (typically the weights, during a forward + backward
 * or a sampling loop) do not change. A listed array that is not in the heap is copied into it once;
 * and the packed form of an operand that lies in a listed array is kept for the scope, so the
 * recurrent weight W_a of a T-step sequence is packed once instead of 2T times. Leaving fn frees
 * both, so nothing can go stale after it; writing a listed array as C inside fn throws.
 *
 * Memory: scratch for the copies, Ã, B̃ and C̃ is one heap block that grows only when a larger problem
 * arrives: repeated calls of one size allocate nothing, in the heap or in the JS heap (the
 * typed-array views the memcpys need come from a `SpanViews` cache).
 */
import type { GemmKernel } from '../kernels/types.js';
import { gemmJs } from '../kernels/gemm-js.js';
import type { FloatArray } from '../matrix.js';
import { ALIGN_FLOATS, type WasmHeap } from './heap.js';
import { instantiate } from './webassembly.js';
import { buildSgemmModule, DEFAULT_KERNEL_SHAPE, type SgemmKernelShape } from './sgemm-module.js';

export interface WasmSgemmOptions extends Partial<Omit<SgemmKernelShape, 'relaxedMadd'>> {
  /** Rows of op(A) packed per block (rounded up to MR). */
  mc?: number;
  /** Depth of one macro-kernel call. */
  kc?: number;
  /** Columns of op(B) packed per panel (rounded up to NR). */
  nc?: number;
}

type PackKernel = (dst: number, src: number, count: number, k: number, si: number, sp: number) => void;
type FinishKernel = (
  w: number, ldw: number, c: number, ldc: number, mc: number, nc: number, alpha: number, beta: number,
) => void;
/** gemv_t / gemv_n (x, matrix, ld, y, n, k): y = x·Wᵀ or y = x·B, all in bytes. */
type GemvKernel = (x: number, w: number, ld: number, y: number, n: number, k: number) => void;
type MacroKernel = (
  mc: number, nc: number, kc: number,
  aPtr: number, aStrip: number, bPtr: number, bStrip: number,
  cPtr: number, ldc: number, loadC: number,
) => void;

/**
 * Depth of a macro-kernel call. 512 keeps a B̃ strip (512 × 8 floats, 16 KiB) in a 32 KiB L1 and the
 * 130 × 512 block of Ã (260 KiB) in L2; against 256 it halves the loads and stores of each C tile
 * for k > 256 and measured ~5 % faster at n = 512 and 1024 (same process, CPU time, busy machine).
 */
const DEFAULT_KC = 512;

/**
 * How much faster a 5 × 8 tile runs than a 4 × 8 one per useful flop, for `rowTile`: ~4–6 % in the
 * macro kernel (same process, CPU time); below it, padding m up to a multiple of 5 costs more.
 */
const FIVE_ROW_SPEEDUP = 1.05;

/**
 * Products of fewer rows go row by row through gemv (batch 1–3: packing op(B) would cost as much as
 * the product); from four rows on, the packed kernel pays off even with its tile padded to MR rows.
 */
const GEMV_ROWS_BELOW = 4;

/** What a freed slot of the constant list holds (so it keeps no caller's array alive). */
const NO_ARRAY = new Float32Array(0);

const roundUp = (x: number, to: number) => Math.ceil(x / to) * to;

/** Cache bounds per array of SpanViews: distinct starts, and distinct lengths per start (beyond them it starts afresh). */
const MAX_STARTS_PER_ARRAY = 4096;
const MAX_LENGTHS_PER_START = 8;

/**
 * `array.subarray(start, start + length)`, the same view object every time for the same
 * (array, start, length). TypedArray.set copies a span only from a view of it, and a fresh view per
 * memcpy is ~100 bytes of garbage per call — tens of kilobytes per training step. The hot callers
 * copy the same spans step after step (workspace step views, fixed scratch offsets), so a cache
 * keyed by array, then start, then length serves them all after the first step. Keys are small
 * integers (no boxing); arrays are held weakly, so a dropped array (or the old heap view after the
 * WebAssembly memory grows) takes its views with it. Bounded per array (the constants above).
 */
export class SpanViews {
  private readonly byArray = new WeakMap<Float32Array, Map<number, Map<number, Float32Array>>>();

  view(array: Float32Array, start: number, length: number): Float32Array {
    let byStart = this.byArray.get(array);
    if (byStart === undefined) {
      byStart = new Map();
      this.byArray.set(array, byStart);
    }
    let byLength = byStart.get(start);
    if (byLength === undefined) {
      if (byStart.size >= MAX_STARTS_PER_ARRAY) byStart.clear();
      byLength = new Map();
      byStart.set(start, byLength);
    }
    let view = byLength.get(length);
    if (view === undefined) {
      if (byLength.size >= MAX_LENGTHS_PER_START) byLength.clear();
      view = array.subarray(start, start + length);
      byLength.set(length, view);
    }
    return view;
  }
}

/**
 * A heap block that grows (never shrinks) to the largest size asked of it: a kernel's scratch.
 * `ensure` returns its start in heap.f32 (fetch heap.f32 after it: the memory may have grown).
 */
export class ScratchBlock {
  private start = -1;
  private floats = 0;

  constructor(private readonly heap: WasmHeap) {}

  ensure(floats: number): number {
    if (floats <= this.floats) return this.start;
    if (this.start >= 0) this.heap.freeFloats(this.start);
    this.floats = roundUp(Math.max(floats, 2 * this.floats), ALIGN_FLOATS);
    this.start = this.heap.allocFloats(this.floats);
    return this.start;
  }

  get size(): number {
    return this.floats;
  }
}

/** The packed form of one constant operand, valid while its scope is open. */
interface PackedConstant {
  data: Float32Array;
  offset: number;
  ld: number;
  /** op(X) stored transposed. */
  trans: boolean;
  /** Packed for the A role (MR-high strips) or the B role (NR-wide strips). */
  roleA: boolean;
  /** Strip width (the tile's MR for the A role, NR for B). */
  width: number;
  /** Rows of op(A) or columns of op(B) packed, and the depth k. */
  count: number;
  k: number;
  /** Heap float index of the packed strips. */
  start: number;
}

/** A register tile's row count, its block of op(A) rows, and its kernels. */
interface RowTile {
  mr: number;
  mcBlock: number;
  macro: MacroKernel;
  packA: PackKernel;
}

export class WasmSgemm {
  readonly shape: SgemmKernelShape;
  readonly mr: number;
  readonly nr: number;
  readonly mcBlock: number;
  readonly kcBlock: number;
  readonly ncPanel: number;
  /** Operand copies into the heap (arrays that do not lie in it), for tests and notes. */
  copyCount = 0;
  /** Operands packed (every pack_a / pack_b call), for tests. */
  packCount = 0;

  /** The MR-row tile, then (when MR ≠ 4) the 4-row one: `rowTile` picks one per product. */
  private readonly tiles: RowTile[];
  private readonly packB: PackKernel;
  private readonly finish: FinishKernel;
  private readonly gemvT: GemvKernel;
  private readonly gemvN: GemvKernel;
  private readonly scratch: ScratchBlock;
  private readonly views = new SpanViews();
  /**
   * The constant operands of the open scopes: constArrays[i] is readable at heap float index
   * constOffsets[i] (where it lies, or its copy), i < constLength; constCopied[i] when that is a copy
   * to free on exit. Plain arrays, not a Map: entering and leaving a scope (once per training step)
   * then allocates nothing; a scope holds a handful of weights.
   */
  private readonly constArrays: Float32Array[] = [];
  private readonly constOffsets: number[] = [];
  private readonly constCopied: boolean[] = [];
  private constLength = 0;
  /**
   * Packed constants of the open scopes, in creation order: packed[i] for i < packedLength. The
   * entry objects are kept and refilled (no new object per scope and weight).
   */
  private readonly packed: PackedConstant[] = [];
  private packedLength = 0;

  constructor(readonly heap: WasmHeap, options: WasmSgemmOptions & { relaxedMadd: boolean }) {
    this.shape = {
      mr: options.mr ?? DEFAULT_KERNEL_SHAPE.mr,
      nv: options.nv ?? DEFAULT_KERNEL_SHAPE.nv,
      relaxedMadd: options.relaxedMadd,
    };
    this.mr = this.shape.mr;
    this.nr = 4 * this.shape.nv;
    this.mcBlock = roundUp(options.mc ?? 128, this.mr);
    this.kcBlock = options.kc ?? DEFAULT_KC;
    this.ncPanel = roundUp(options.nc ?? 1024, this.nr);
    const instance = instantiate(buildSgemmModule(this.shape, heap.importSpec), 'wasm gemm', heap.memory);
    const mc = options.mc ?? 128;
    this.tiles = [{ mr: this.mr, mcBlock: this.mcBlock, macro: instance.exports.sgemm_macro as MacroKernel, packA: instance.exports.pack_a as PackKernel }];
    if (this.mr !== 4) {
      this.tiles.push({ mr: 4, mcBlock: roundUp(mc, 4), macro: instance.exports.sgemm_macro_4 as MacroKernel, packA: instance.exports.pack_a_4 as PackKernel });
    }
    this.packB = instance.exports.pack_b as PackKernel;
    this.finish = instance.exports.finish as FinishKernel;
    this.gemvT = instance.exports.gemv_t as GemvKernel;
    this.gemvN = instance.exports.gemv_n as GemvKernel;
    this.scratch = new ScratchBlock(heap);
  }

  /** Floats of scratch held now (it grows to the largest problem seen). */
  get scratchFloats(): number {
    return this.scratch.size;
  }

  /**
   * Run `fn` with `arrays` constant (see the header): the caller guarantees they do not change
   * inside fn. Float64 arrays are ignored (they never come here). Scopes nest; each removes what it added.
   */
  runWithConstants<T>(arrays: readonly (Float32Array | Float64Array)[], fn: () => T): T {
    const lengthBefore = this.constLength;
    const packedBefore = this.packedLength;
    try {
      for (let i = 0; i < arrays.length; i++) {
        const array = arrays[i];
        if (!(array instanceof Float32Array) || this.constIndex(array) >= 0) continue;
        let at = this.heap.offsetOf(array);
        const copied = at < 0;
        if (copied) {
          at = this.heap.allocFloats(array.length);
          this.heap.f32.set(array, at);
          this.copyCount++;
        }
        this.constArrays[this.constLength] = array;
        this.constOffsets[this.constLength] = at;
        this.constCopied[this.constLength] = copied;
        this.constLength++;
      }
      return fn();
    } finally {
      // drop this scope's entries; the slots keep a placeholder so no caller's array stays referenced
      while (this.packedLength > packedBefore) {
        const entry = this.packed[--this.packedLength];
        this.heap.freeFloats(entry.start);
        entry.data = NO_ARRAY;
      }
      for (let i = lengthBefore; i < this.constLength; i++) {
        if (this.constCopied[i]) this.heap.freeFloats(this.constOffsets[i]);
        this.constArrays[i] = NO_ARRAY;
      }
      this.constLength = lengthBefore;
    }
  }

  /** How many constant operands are declared now (for tests). */
  get residentCount(): number {
    return this.constLength;
  }

  /** How many packed constants the open scopes hold (for tests). */
  get packedCount(): number {
    return this.packedLength;
  }

  private constIndex(data: Float32Array): number {
    for (let i = 0; i < this.constLength; i++) if (this.constArrays[i] === data) return i;
    return -1;
  }

  /** The heap float index of data[offset] — where it lies, or its constant copy — else −1. */
  private locate(data: Float32Array, offset: number): number {
    const at = this.heap.offsetOf(data);
    if (at >= 0) return at + offset;
    if (this.constLength === 0) return -1;
    const i = this.constIndex(data);
    return i < 0 ? -1 : this.constOffsets[i] + offset;
  }

  private checkNotConstant(c: Float32Array): void {
    if (this.constIndex(c) >= 0) {
      throw new Error('wasm gemm: C is one of the constant operands of the enclosing withConstantOperands scope (it must not change inside it)');
    }
  }

  /** The GemmKernel of the backend seam: float32 runs here, float64 falls through to the JS kernel. */
  readonly gemm: GemmKernel = (m, n, k, alpha, a, aOff, lda, transA, b, bOff, ldb, transB, beta, c, cOff, ldc) => {
    if (!(c instanceof Float32Array) || !(a instanceof Float32Array) || !(b instanceof Float32Array)) {
      gemmJs(m, n, k, alpha, a, aOff, lda, transA, b, bOff, ldb, transB, beta, c, cOff, ldc);
      return;
    }
    if (m === 0 || n === 0) return;
    if (this.constLength > 0) this.checkNotConstant(c);
    if (k === 0 || alpha === 0) {
      scaleC(m, n, beta, c, cOff, ldc);
      return;
    }
    if (m < GEMV_ROWS_BELOW) this.runFewRows(m, n, k, alpha, a, aOff, lda, transA, b, bOff, ldb, transB, beta, c, cOff, ldc);
    else this.run(m, n, k, alpha, a, aOff, lda, transA, b, bOff, ldb, transB, beta, c, cOff, ldc);
  };

  /**
   * Fewer than four rows (batch 1 in sampling): packing op(B) would cost as much as the product,
   * so each row of op(A) is a vector–matrix product straight from B
   * (gemv_t for op(B) = Bᵀ, the x·Wᵀ of a layer; gemv_n otherwise), written into C's row directly
   * when α = 1 and β = 0.
   */
  private runFewRows(
    m: number, n: number, k: number, alpha: number,
    a: Float32Array, aOff: number, lda: number, transA: boolean,
    b: Float32Array, bOff: number, ldb: number, transB: boolean,
    beta: number, c: Float32Array, cOff: number, ldc: number,
  ): void {
    const spanB = transB ? (n - 1) * ldb + k : (k - 1) * ldb + n;
    const spanC = (m - 1) * ldc + n;
    const atA = transA ? -1 : this.locate(a, aOff); // a row of op(A) = A is contiguous: use it in place
    const atB = this.locate(b, bOff);
    const atC = this.heap.offsetOf(c);
    const direct = alpha === 1 && beta === 0;
    let top = 0;
    const rawB = atB >= 0 ? -1 : top;
    if (atB < 0) top = roundUp(top + spanB, ALIGN_FLOATS);
    const rawC = atC >= 0 ? -1 : top;
    if (atC < 0) top = roundUp(top + spanC, ALIGN_FLOATS);
    const x = top;
    if (atA < 0) top = roundUp(top + k, ALIGN_FLOATS);
    const y = top;
    if (!direct) top += n;
    const base = this.scratch.ensure(top);
    const heap = this.heap.f32;
    const bAt = atB >= 0 ? atB : base + rawB;
    const cAt = atC >= 0 ? atC + cOff : base + rawC;
    if (atB < 0) this.copyIn(heap, b, bOff, spanB, bAt);
    if (atC < 0 && (beta !== 0 || (m > 1 && ldc !== n))) this.copyIn(heap, c, cOff, spanC, cAt);
    const gemv = transB ? this.gemvT : this.gemvN;
    for (let i = 0; i < m; i++) {
      let xAt = base + x;
      if (atA >= 0) xAt = atA + i * lda;
      else if (transA) for (let p = 0; p < k; p++) heap[xAt + p] = a[aOff + p * lda + i];
      else for (let p = 0, src = aOff + i * lda; p < k; p++) heap[xAt + p] = a[src + p];
      const rowC = cAt + i * ldc;
      if (direct) {
        gemv(4 * xAt, 4 * bAt, 4 * ldb, 4 * rowC, n, k);
      } else {
        gemv(4 * xAt, 4 * bAt, 4 * ldb, 4 * (base + y), n, k);
        this.finish(4 * (base + y), 0, 4 * rowC, 4 * ldc, 1, n, alpha, beta);
      }
    }
    if (atC < 0) c.set(this.views.view(heap, cAt, spanC), cOff);
  }

  private run(
    m: number, n: number, k: number, alpha: number,
    a: Float32Array, aOff: number, lda: number, transA: boolean,
    b: Float32Array, bOff: number, ldb: number, transB: boolean,
    beta: number, c: Float32Array, cOff: number, ldc: number,
  ): void {
    const tile = this.rowTile(m);
    const { mr, mcBlock } = tile;
    const { nr, kcBlock } = this;
    // memory spans of the stored operands: A is [m, k] (or [k, m] when transposed), B [k, n] (or [n, k])
    const spanA = transA ? (k - 1) * lda + m : (m - 1) * lda + k;
    const spanB = transB ? (n - 1) * ldb + k : (k - 1) * ldb + n;
    const spanC = (m - 1) * ldc + n;
    const mcMax = Math.min(mcBlock, roundUp(m, mr));
    const ncMax = Math.min(this.ncPanel, roundUp(n, nr));
    const atA = this.locate(a, aOff), atB = this.locate(b, bOff), atC = this.heap.offsetOf(c);
    // α = 1, β ∈ {0, 1}: the macro kernel writes C itself on whole tiles (see the header)
    const directScalars = alpha === 1 && (beta === 0 || beta === 1);
    const allDirect = directScalars && m % mr === 0 && n % nr === 0;
    // byte strides of op(A)[i, p] along i and p, and of op(B)[p, j] along j and p
    const aSi = 4 * (transA ? 1 : lda), aSp = 4 * (transA ? lda : 1);
    const bSj = 4 * (transB ? ldb : 1), bSp = 4 * (transB ? 1 : ldb);
    // a constant operand is packed once for the scope (whole, so every block finds its strips)
    const cachedA = atA >= 0 && this.constLength > 0 && this.constIndex(a) >= 0
      ? this.packedConstant(tile, a, aOff, lda, transA, m, k, atA, aSi, aSp) : -1;
    const cachedB = atB >= 0 && this.constLength > 0 && this.constIndex(b) >= 0
      ? this.packedConstant(null, b, bOff, ldb, transB, n, k, atB, bSj, bSp) : -1;

    // scratch: raw copies of what is not in the heap, the packed blocks, C̃
    let top = 0;
    const rawA = top;
    if (atA < 0) top = roundUp(top + spanA, ALIGN_FLOATS);
    const rawB = top;
    if (atB < 0) top = roundUp(top + spanB, ALIGN_FLOATS);
    const rawC = top;
    if (atC < 0) top = roundUp(top + spanC, ALIGN_FLOATS);
    const packedA = top;
    if (cachedA < 0) top = roundUp(top + mcMax * k, ALIGN_FLOATS);
    const packedB = top;
    if (cachedB < 0) top = roundUp(top + k * ncMax, ALIGN_FLOATS);
    const work = top;
    if (!allDirect) top += mcMax * ncMax;
    const base = this.scratch.ensure(top);
    const heap = this.heap.f32;
    const aAt = atA >= 0 ? atA : base + rawA;
    const bAt = atB >= 0 ? atB : base + rawB;
    const cAt = atC >= 0 ? atC + cOff : base + rawC;
    if (atA < 0) this.copyIn(heap, a, aOff, spanA, aAt);
    if (atB < 0) this.copyIn(heap, b, bOff, spanB, bAt);
    if (atC < 0 && (beta !== 0 || (m > 1 && ldc !== n))) this.copyIn(heap, c, cOff, spanC, cAt);

    for (let jc = 0; jc < n; jc += this.ncPanel) {
      const nc = Math.min(this.ncPanel, n - jc);
      const ncPad = roundUp(nc, nr);
      let bPanel = cachedB + jc * k;
      if (cachedB < 0) {
        bPanel = base + packedB;
        zeroPartialStrip(heap, bPanel, nc, nr, k);
        this.packB(4 * bPanel, 4 * bAt + jc * bSj, nc, k, bSj, bSp);
        this.packCount++;
      }
      for (let ic = 0; ic < m; ic += mcBlock) {
        const mc = Math.min(mcBlock, m - ic);
        const mcPad = roundUp(mc, mr);
        let aBlock = cachedA + ic * k;
        if (cachedA < 0) {
          aBlock = base + packedA;
          zeroPartialStrip(heap, aBlock, mc, mr, k);
          tile.packA(4 * aBlock, 4 * aAt + ic * aSi, mc, k, aSi, aSp);
          this.packCount++;
        }
        // the block's whole row strips straight into C when α, β and its columns allow; the rest
        // (the last, partial strip, or all) into C̃, then finish
        const directRows = directScalars && nc === ncPad ? mc - (mc % mr) : 0;
        const restRows = mc - directRows;
        const cDirect = cAt + ic * ldc + jc;
        for (let pc = 0; pc < k; pc += kcBlock) {
          const kc = Math.min(kcBlock, k - pc);
          const aChunk = aBlock + pc * mr, bChunk = 4 * (bPanel + pc * nr);
          if (directRows > 0) {
            const loadC = pc > 0 || beta === 1 ? 1 : 0;
            tile.macro(directRows, ncPad, kc, 4 * aChunk, 4 * k * mr, bChunk, 4 * k * nr, 4 * cDirect, 4 * ldc, loadC);
          }
          if (restRows > 0) {
            const loadC = pc > 0 ? 1 : 0;
            tile.macro(mcPad - directRows, ncPad, kc, 4 * (aChunk + directRows * k), 4 * k * mr, bChunk, 4 * k * nr, 4 * (base + work), 4 * ncPad, loadC);
          }
        }
        if (restRows > 0) this.finish(4 * (base + work), 4 * ncPad, 4 * (cDirect + directRows * ldc), 4 * ldc, restRows, nc, alpha, beta);
      }
    }
    if (atC < 0) c.set(this.views.view(heap, cAt, spanC), cOff);
  }

  /**
   * The row tile for a product of m rows: the MR-row one unless the 4-row tile pads m to fewer
   * rows by more than MR-row tiles gain in speed (FIVE_ROW_SPEEDUP): m = 8, 16, 32 get 4 × 8
   * tiles, m = 64, 128, 512 (1.6 %, 1.6 %, 0.6 % padding) 5 × 8.
   */
  /** The MR of the register tile a product of m rows (m ≥ 4) runs with (for tests and notes). */
  tileRows(m: number): number {
    return this.rowTile(m).mr;
  }

  private rowTile(m: number): RowTile {
    const [preferred, fourRows] = this.tiles;
    if (fourRows === undefined) return preferred;
    return roundUp(m, 4) * FIVE_ROW_SPEEDUP < roundUp(m, preferred.mr) ? fourRows : preferred;
  }

  /**
   * The heap float index of the packed form of a constant operand (op(A)'s m rows into the row
   * tile's MR-high strips when `tile` is given, else op(B)'s n columns into NR-wide strips; all k
   * steps), packing it on first use in the scope. `at` is the operand's heap index, si / sp its
   * byte strides along the packed index and p.
   */
  private packedConstant(
    tile: RowTile | null, data: Float32Array, offset: number, ld: number, trans: boolean,
    count: number, k: number, at: number, si: number, sp: number,
  ): number {
    const roleA = tile !== null;
    const width = tile === null ? this.nr : tile.mr;
    for (let i = 0; i < this.packedLength; i++) {
      const p = this.packed[i];
      if (p.data === data && p.offset === offset && p.ld === ld && p.trans === trans && p.roleA === roleA && p.width === width && p.count === count && p.k === k) {
        return p.start;
      }
    }
    const start = this.heap.allocFloats(roundUp(count, width) * k, true, false);
    zeroPartialStrip(this.heap.f32, start, count, width, k); // (the allocation may have grown the memory)
    (tile === null ? this.packB : tile.packA)(4 * start, 4 * at, count, k, si, sp);
    this.packCount++;
    if (this.packedLength === this.packed.length) {
      this.packed.push({ data, offset, ld, trans, roleA, width, count, k, start });
    } else {
      const entry = this.packed[this.packedLength];
      entry.data = data; entry.offset = offset; entry.ld = ld; entry.trans = trans;
      entry.roleA = roleA; entry.width = width; entry.count = count; entry.k = k; entry.start = start;
    }
    this.packedLength++;
    return start;
  }

  private copyIn(heap: Float32Array, src: Float32Array, offset: number, span: number, at: number): void {
    heap.set(this.views.view(src, offset, span), at);
    this.copyCount++;
  }
}

/** The last strip of a packed panel when `count` is not a multiple of `width`: its padding must be zeros. */
function zeroPartialStrip(heap: Float32Array, packed: number, count: number, width: number, k: number): void {
  const whole = count - (count % width);
  if (whole === count) return;
  const start = packed + whole * k;
  heap.fill(0, start, start + width * k);
}

/** C = β·C, for the products with nothing to add (k = 0 or α = 0). */
function scaleC(m: number, n: number, beta: number, c: FloatArray, cOff: number, ldc: number): void {
  if (beta === 1) return;
  for (let i = 0; i < m; i++) {
    const row = cOff + i * ldc;
    if (beta === 0) c.fill(0, row, row + n);
    else for (let j = 0; j < n; j++) c[row + j] *= beta;
  }
}
