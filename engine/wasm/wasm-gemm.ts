/**
 * The host side of the WebAssembly SGEMM: C = α·op(A)·op(B) + β·C for float32. The operands are
 * copied into the module's linear memory, packed there, multiplied, and the result copied back.
 *
 * Per call:
 *   1. copy in (TypedArray.set, a memcpy): the memory span of A, of B, and of C when β ≠ 0 or C is
 *      a strided view (so the columns between its rows round-trip unchanged);
 *   2. for jc over n in panels of NC columns:   pack_b: op(B)[:, jc:jc+NC] (all k) → B̃, NR-wide strips
 *        for ic over m in blocks of MC rows:    pack_a: op(A)[ic:ic+MC, :] (all k) → Ã, MR-high strips
 *          zero C̃ [MC × NC];  for pc over k in chunks of KC: sgemm_macro: C̃ += Ã[:, pc:+KC]·B̃[pc:+KC, :]
 *          finish: C[ic:, jc:] = α·C̃ + β·C  (β = 0 does not read C)
 *   3. copy out the span of C (a memcpy).
 * Steps 2's loops are Goto & van de Geijn's: KC keeps a KC × NR strip of B̃ in L1 while it meets
 * every MR-strip of Ã, the MC × KC part of Ã stays in L2. Packing pads the edges with zeros to whole
 * MR × NR tiles, so the micro-kernel has no edge cases; only `finish` looks at the real m × n.
 *
 * What the copies cost: the memcpys run at ~0.1 ns per float (against ~2 ns per float for a JS
 * loop over typed arrays, which is why packing runs in WebAssembly from the raw copies); packing
 * reads op(A) once per NC-panel and op(B) once. Measured (square n, mul + add kernel): at n = 512
 * copies, packing and finish take under 10 % of the time; at n = 64 about 40 % (~19 of ~47 µs),
 * which the product itself would need to be larger to hide. The typed-array views (`subarray`)
 * that the memcpys need come from a `SpanViews` cache, so repeated calls of one shape allocate
 * nothing at all (a training step makes no garbage here after its first call).
 *
 * Fewer rows than a register tile (m < MR: batch 1 in sampling): no packing at all; each row of
 * op(A) is a vector–matrix product (gemv_t / gemv_n) on the raw copy of B, so the cost is the memcpy
 * of B plus one pass over it (m = 1, n = 512, k = 192: ~17 µs against ~100 µs through the packed path).
 *
 * Memory: raw A, B, C, then Ã (MC·k floats), B̃ (k·NC) and C̃ (MC·NC) at offsets fixed per call, in
 * one linear memory that grows only when a larger problem arrives (never shrinks): repeated calls
 * of one size allocate no memory and create no new heap view.
 *
 * Constant operands (`runWithConstants(arrays, fn)`, the seam's `withConstantOperands`): inside fn
 * the caller promises that the listed arrays (typically the weights, during a forward + backward
 * or a sampling loop) do not change. They are copied into the memory once, below the per-call
 * scratch, and an A or B that lies in one of them is read there instead of being copied again
 * (for an LSTM step at batch 1 the weight memcpy is about half the GEMM's time). Leaving fn drops
 * them, so nothing can go stale after it; writing one of them as C inside fn throws.
 */
import type { GemmKernel } from '../kernels/types.js';
import { gemmJs } from '../kernels/gemm-js.js';
import type { FloatArray } from '../matrix.js';
import { instantiate, type WasmMemory } from './webassembly.js';
import { buildSgemmModule, DEFAULT_KERNEL_SHAPE, type SgemmKernelShape } from './sgemm-module.js';

export interface WasmSgemmOptions extends Partial<SgemmKernelShape> {
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
  cPtr: number, ldc: number,
) => void;

const PAGE_BYTES = 65536;
/** Addresses are i32 in the kernels and compared signed in places: stay below 2 GiB. */
const MAX_BYTES = 2 ** 31 - PAGE_BYTES;
/** Offsets of the three regions are rounded to whole cache lines (16 floats). */
const ALIGN_FLOATS = 16;
/** What a freed slot of the resident list holds (so it keeps no caller's array alive). */
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

export class WasmSgemm {
  readonly shape: SgemmKernelShape;
  readonly mr: number;
  readonly nr: number;
  readonly mcBlock: number;
  readonly kcBlock: number;
  readonly ncPanel: number;
  /** How many times the linear memory grew (for tests and the benchmark notes). */
  growCount = 0;

  private readonly memory: WasmMemory;
  private readonly macro: MacroKernel;
  private readonly packA: PackKernel;
  private readonly packB: PackKernel;
  private readonly finish: FinishKernel;
  private readonly gemvT: GemvKernel;
  private readonly gemvN: GemvKernel;
  private heap: Float32Array;
  private readonly views = new SpanViews();
  /**
   * Constant operands resident in the memory while a scope is open: residentArrays[i] sits at float
   * offset residentOffsets[i], i < residentLength. Plain arrays, not a Map: entering and leaving a
   * scope (once per training step) then allocates nothing; a scope holds a handful of weights.
   */
  private readonly residentArrays: Float32Array[] = [];
  private readonly residentOffsets: number[] = [];
  private residentLength = 0;
  /** First float of the per-call scratch: just past the resident arrays (0 when there are none). */
  private scratchBase = 0;

  constructor(options: WasmSgemmOptions & { relaxedMadd: boolean }) {
    this.shape = {
      mr: options.mr ?? DEFAULT_KERNEL_SHAPE.mr,
      nv: options.nv ?? DEFAULT_KERNEL_SHAPE.nv,
      unroll: options.unroll ?? DEFAULT_KERNEL_SHAPE.unroll,
      relaxedMadd: options.relaxedMadd,
    };
    this.mr = this.shape.mr;
    this.nr = 4 * this.shape.nv;
    this.mcBlock = roundUp(options.mc ?? 128, this.mr);
    this.kcBlock = options.kc ?? 256;
    this.ncPanel = roundUp(options.nc ?? 1024, this.nr);
    const instance = instantiate(buildSgemmModule(this.shape), 'wasm gemm');
    this.memory = instance.exports.memory as WasmMemory;
    this.macro = instance.exports.sgemm_macro as MacroKernel;
    this.packA = instance.exports.pack_a as PackKernel;
    this.packB = instance.exports.pack_b as PackKernel;
    this.finish = instance.exports.finish as FinishKernel;
    this.gemvT = instance.exports.gemv_t as GemvKernel;
    this.gemvN = instance.exports.gemv_n as GemvKernel;
    this.heap = new Float32Array(this.memory.buffer);
  }

  /** Bytes of linear memory held now. */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /**
   * Run `fn` with `arrays` resident (see the header): the caller guarantees they do not change
   * inside fn. Float64 arrays are ignored (they never come here). Scopes nest; each removes what it added.
   */
  runWithConstants<T>(arrays: readonly (Float32Array | Float64Array)[], fn: () => T): T {
    const lengthBefore = this.residentLength;
    const baseBefore = this.scratchBase;
    try {
      for (let i = 0; i < arrays.length; i++) {
        const array = arrays[i];
        if (!(array instanceof Float32Array) || this.residentIndex(array) >= 0) continue;
        const at = this.scratchBase;
        const heap = this.ensureFloats(at + array.length + ALIGN_FLOATS);
        heap.set(array, at);
        this.residentArrays[this.residentLength] = array;
        this.residentOffsets[this.residentLength] = at;
        this.residentLength++;
        this.scratchBase = roundUp(at + array.length, ALIGN_FLOATS);
      }
      return fn();
    } finally {
      // drop this scope's entries; the slots keep a placeholder so no caller's array stays referenced
      for (let i = lengthBefore; i < this.residentLength; i++) this.residentArrays[i] = NO_ARRAY;
      this.residentLength = lengthBefore;
      this.scratchBase = baseBefore;
    }
  }

  /** How many constant operands are resident now (for tests). */
  get residentCount(): number {
    return this.residentLength;
  }

  private residentIndex(data: Float32Array): number {
    for (let i = 0; i < this.residentLength; i++) if (this.residentArrays[i] === data) return i;
    return -1;
  }

  /** The float offset of data[offset] when `data` is resident, else −1. */
  private residentAt(data: Float32Array, offset: number): number {
    const i = this.residentLength === 0 ? -1 : this.residentIndex(data);
    return i < 0 ? -1 : this.residentOffsets[i] + offset;
  }

  private checkNotResident(c: Float32Array): void {
    if (this.residentIndex(c) >= 0) {
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
    if (this.residentLength > 0) this.checkNotResident(c);
    if (k === 0 || alpha === 0) {
      scaleC(m, n, beta, c, cOff, ldc);
      return;
    }
    if (m < this.mr) this.runFewRows(m, n, k, alpha, a, aOff, lda, transA, b, bOff, ldb, transB, beta, c, cOff, ldc);
    else this.run(m, n, k, alpha, a, aOff, lda, transA, b, bOff, ldb, transB, beta, c, cOff, ldc);
  };

  /**
   * Fewer rows than a register tile (batch 1 in sampling): packing op(B) would cost as much as
   * the product, so each row of op(A) is a vector–matrix product straight from the raw copy of B
   * (gemv_t for op(B) = Bᵀ, the x·Wᵀ of a layer; gemv_n otherwise).
   */
  private runFewRows(
    m: number, n: number, k: number, alpha: number,
    a: Float32Array, aOff: number, lda: number, transA: boolean,
    b: Float32Array, bOff: number, ldb: number, transB: boolean,
    beta: number, c: Float32Array, cOff: number, ldc: number,
  ): void {
    const spanB = transB ? (n - 1) * ldb + k : (k - 1) * ldb + n;
    const spanC = (m - 1) * ldc + n;
    const residentB = this.residentAt(b, bOff);
    const rawB = residentB >= 0 ? residentB : this.scratchBase;
    const rawC = roundUp(residentB >= 0 ? this.scratchBase : rawB + spanB, ALIGN_FLOATS);
    const x = roundUp(rawC + spanC, ALIGN_FLOATS);
    const y = roundUp(x + k, ALIGN_FLOATS);
    const heap = this.ensureFloats(y + n);
    if (residentB < 0) heap.set(this.views.view(b, bOff, spanB), rawB);
    if (beta !== 0 || (m > 1 && ldc !== n)) heap.set(this.views.view(c, cOff, spanC), rawC);
    const gemv = transB ? this.gemvT : this.gemvN;
    for (let i = 0; i < m; i++) {
      // row i of op(A), gathered (k values: cheaper than a view for the memcpy)
      if (transA) for (let p = 0; p < k; p++) heap[x + p] = a[aOff + p * lda + i];
      else for (let p = 0, src = aOff + i * lda; p < k; p++) heap[x + p] = a[src + p];
      gemv(4 * x, 4 * rawB, 4 * ldb, 4 * y, n, k);
      this.finish(4 * y, 0, 4 * (rawC + i * ldc), 4 * ldc, 1, n, alpha, beta);
    }
    c.set(this.views.view(heap, rawC, spanC), cOff);
  }

  private run(
    m: number, n: number, k: number, alpha: number,
    a: Float32Array, aOff: number, lda: number, transA: boolean,
    b: Float32Array, bOff: number, ldb: number, transB: boolean,
    beta: number, c: Float32Array, cOff: number, ldc: number,
  ): void {
    const { mr, nr, kcBlock } = this;
    // memory spans of the stored operands: A is [m, k] (or [k, m] when transposed), B [k, n] (or [n, k])
    const spanA = transA ? (k - 1) * lda + m : (m - 1) * lda + k;
    const spanB = transB ? (n - 1) * ldb + k : (k - 1) * ldb + n;
    const spanC = (m - 1) * ldc + n;
    const mcMax = Math.min(this.mcBlock, roundUp(m, mr));
    const ncMax = Math.min(this.ncPanel, roundUp(n, nr));
    // raw copies of A and B in the scratch, unless they are resident constants
    const residentA = this.residentAt(a, aOff), residentB = this.residentAt(b, bOff);
    let top = this.scratchBase;
    const rawA = residentA >= 0 ? residentA : top;
    if (residentA < 0) top = roundUp(top + spanA, ALIGN_FLOATS);
    const rawB = residentB >= 0 ? residentB : top;
    if (residentB < 0) top = roundUp(top + spanB, ALIGN_FLOATS);
    const rawC = top;
    const packedA = roundUp(rawC + spanC, ALIGN_FLOATS);
    const packedB = roundUp(packedA + mcMax * k, ALIGN_FLOATS);
    const work = roundUp(packedB + k * ncMax, ALIGN_FLOATS);
    const heap = this.ensureFloats(work + mcMax * ncMax);

    if (residentA < 0) heap.set(this.views.view(a, aOff, spanA), rawA);
    if (residentB < 0) heap.set(this.views.view(b, bOff, spanB), rawB);
    if (beta !== 0 || (m > 1 && ldc !== n)) heap.set(this.views.view(c, cOff, spanC), rawC);
    // byte strides of op(A)[i, p] along i and p, and of op(B)[p, j] along j and p
    const aSi = 4 * (transA ? 1 : lda), aSp = 4 * (transA ? lda : 1);
    const bSj = 4 * (transB ? ldb : 1), bSp = 4 * (transB ? 1 : ldb);

    for (let jc = 0; jc < n; jc += this.ncPanel) {
      const nc = Math.min(this.ncPanel, n - jc);
      const ncPad = roundUp(nc, nr);
      zeroPartialStrip(heap, packedB, nc, nr, k);
      this.packB(4 * packedB, 4 * rawB + jc * bSj, nc, k, bSj, bSp);
      for (let ic = 0; ic < m; ic += this.mcBlock) {
        const mc = Math.min(this.mcBlock, m - ic);
        const mcPad = roundUp(mc, mr);
        zeroPartialStrip(heap, packedA, mc, mr, k);
        this.packA(4 * packedA, 4 * rawA + ic * aSi, mc, k, aSi, aSp);
        heap.fill(0, work, work + mcPad * ncPad);
        for (let pc = 0; pc < k; pc += kcBlock) {
          const kc = Math.min(kcBlock, k - pc);
          this.macro(
            mcPad, ncPad, kc,
            4 * (packedA + pc * mr), 4 * k * mr,
            4 * (packedB + pc * nr), 4 * k * nr,
            4 * work, 4 * ncPad,
          );
        }
        this.finish(4 * work, 4 * ncPad, 4 * (rawC + ic * ldc + jc), 4 * ldc, mc, nc, alpha, beta);
      }
    }
    c.set(this.views.view(heap, rawC, spanC), cOff);
  }

  /** The heap view, after growing the memory (once per new high-water mark) to hold `floats`. */
  private ensureFloats(floats: number): Float32Array {
    if (this.heap.length >= floats) return this.heap;
    const bytes = floats * 4;
    if (bytes > MAX_BYTES) {
      throw new Error(`wasm gemm: the operands need ${bytes} bytes of WebAssembly memory, more than the ${MAX_BYTES} it can address`);
    }
    const needed = Math.ceil(bytes / PAGE_BYTES) - this.memory.buffer.byteLength / PAGE_BYTES;
    this.memory.grow(needed);
    this.growCount++;
    this.heap = new Float32Array(this.memory.buffer);
    return this.heap;
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
