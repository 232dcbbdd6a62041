/**
 * The host side of the vector kernels (`vector-module.ts`): the backend seam's addBias, sumRows,
 * gatherRows, scatterAddRows, addRows,
 * softmaxRows, crossEntropyRows, sumSquares, scale, clamp and parameterUpdate for float32 operands
 * that lie in the backend heap (matrices allocated on the wasm backend). These kernels move a few
 * bytes per flop: copying an operand in and out would cost as much as the work, so an operand
 * anywhere else (a JS array, float64) runs the js kernel instead — same results, bit for bit where
 * the module says so (bias add, row sums, scaling, clamping, optimizer updates), to float32
 * accuracy elsewhere (the SIMD exp of softmax and cross-entropy, the lane sums of Σ x²).
 *
 * Cross-entropy's targets and row weights are small per-row arrays: they are copied into a scratch
 * block with the per-row results (s, x_y − m), and the loss Σ w·(log s − (x_y − m)) is summed here in
 * float64, one Math.log per row.
 */
import type {
  AddBiasKernel, AddRowsKernel, GatherRowsKernel, ScatterAddRowsKernel, ClampKernel, CrossEntropyRowsKernel, ParameterUpdateKernel, ScaleKernel, SoftmaxRowsKernel,
  StridedBuffer, SumRowsKernel, SumSquaresKernel, UpdateRule,
} from '../kernels/types.js';
import {
  addBiasJs, addRowsJs, clampJs, gatherRowsJs, scatterAddRowsJs, crossEntropyRowsJs, parameterUpdateJs, scaleJs, softmaxRowsJs, sumRowsJs, sumSquaresJs,
} from '../kernels/vector-js.js';
import type { FloatArray } from '../matrix.js';
import type { WasmHeap } from './heap.js';
import { buildVectorModule, HYPER, UPDATE_KINDS } from './vector-module.js';
import { ScratchBlock } from './wasm-gemm.js';
import { instantiate } from './webassembly.js';

type RowsExport = (rows: number, cols: number, ...pointers: number[]) => void;
type UpdateExport = (rows: number, cols: number, p: number, ldp: number, g: number, ldg: number, a: number, b: number, hyper: number) => void;

export class WasmVectorKernels {
  /** Calls that ran in WebAssembly, and calls handed to the js kernels (for tests). */
  wasmCalls = 0;
  jsCalls = 0;

  private readonly biasAdd: (rows: number, cols: number, out: number, ldo: number, x: number, ldx: number, b: number) => void;
  private readonly gather: (rows: number, cols: number, out: number, ldo: number, table: number, ldt: number, ids: number, b: number, withBias: number) => void;
  private readonly scatterAdd: (rows: number, cols: number, table: number, ldt: number, ids: number, x: number, ldx: number, skip: number) => void;
  private readonly add: (rows: number, cols: number, out: number, ldo: number, x: number, ldx: number) => void;
  private readonly sumRowsExport: (rows: number, cols: number, out: number, x: number, ldx: number, accumulate: number) => void;
  private readonly softmax: (rows: number, cols: number, out: number, ldo: number, x: number, ldx: number, invT: number) => void;
  private readonly ce: RowsExport;
  private readonly sumSq: (rows: number, cols: number, x: number, ldx: number) => number;
  private readonly scaleExport: (rows: number, cols: number, x: number, ldx: number, factor: number) => void;
  private readonly clampExport: (rows: number, cols: number, x: number, ldx: number, m: number) => number;
  private readonly updates: UpdateExport[];
  private readonly scratch: ScratchBlock;
  /** The f64 constants of an update (HYPER), in the heap. */
  private readonly hyperAt: number;
  private hyper: Float64Array;
  /** An Int32Array over the heap (for the targets), re-made when heap.f32 changes. */
  private ints: Int32Array = new Int32Array(0);
  private intsOf: Float32Array | null = null;

  constructor(private readonly heap: WasmHeap) {
    const e = instantiate(buildVectorModule(heap.importSpec), 'wasm vector kernels', heap.memory).exports;
    this.biasAdd = e.bias_add as WasmVectorKernels['biasAdd'];
    this.sumRowsExport = e.sum_rows as WasmVectorKernels['sumRowsExport'];
    this.gather = e.gather_rows as WasmVectorKernels['gather'];
    this.scatterAdd = e.scatter_add_rows as WasmVectorKernels['scatterAdd'];
    this.add = e.add_rows as WasmVectorKernels['add'];
    this.softmax = e.softmax_rows as WasmVectorKernels['softmax'];
    this.ce = e.ce_rows as RowsExport;
    this.sumSq = e.sum_squares as WasmVectorKernels['sumSq'];
    this.scaleExport = e.scale as WasmVectorKernels['scaleExport'];
    this.clampExport = e.clamp as WasmVectorKernels['clampExport'];
    this.updates = UPDATE_KINDS.map((kind) => e[`update_${kind}`] as UpdateExport);
    this.scratch = new ScratchBlock(heap);
    this.hyperAt = heap.allocFloats(2 * HYPER.length);
    this.hyper = this.hyperView();
  }

  /** The heap float index of m[0, 0], or −1 when m does not lie in the heap (or is float64). */
  private at(m: StridedBuffer): number {
    const at = this.heap.offsetOf(m.data);
    return at < 0 ? -1 : at + m.offset;
  }

  private hyperView(): Float64Array {
    return new Float64Array(this.heap.memory.buffer, 4 * this.hyperAt, HYPER.length);
  }

  readonly addBias: AddBiasKernel = (rows, cols, out, x, bias) => {
    const o = this.at(out), s = this.at(x), b = this.at(bias);
    if (o < 0 || s < 0 || b < 0) {
      this.jsCalls++;
      addBiasJs(rows, cols, out, x, bias);
      return;
    }
    this.wasmCalls++;
    this.biasAdd(rows, cols, 4 * o, 4 * out.stride, 4 * s, 4 * x.stride, 4 * b);
  };

  readonly sumRows: SumRowsKernel = (rows, cols, out, x, accumulate) => {
    const o = this.at(out), s = this.at(x);
    if (o < 0 || s < 0) {
      this.jsCalls++;
      sumRowsJs(rows, cols, out, x, accumulate);
      return;
    }
    this.wasmCalls++;
    this.sumRowsExport(rows, cols, 4 * o, 4 * s, 4 * x.stride, accumulate ? 1 : 0);
  };

  readonly gatherRows: GatherRowsKernel = (rows, cols, out, table, ids, bias) => {
    const o = this.at(out), t = this.at(table), b = bias === null ? 0 : this.at(bias);
    if (o < 0 || t < 0 || b < 0) {
      this.jsCalls++;
      gatherRowsJs(rows, cols, out, table, ids, bias);
      return;
    }
    this.wasmCalls++;
    const idsAt = this.copyIds(ids, rows);
    this.gather(rows, cols, 4 * o, 4 * out.stride, 4 * t, 4 * table.stride, 4 * idsAt, 4 * b, bias === null ? 0 : 1);
  };

  readonly scatterAddRows: ScatterAddRowsKernel = (rows, cols, table, ids, x, skip) => {
    const t = this.at(table), s = this.at(x);
    if (t < 0 || s < 0) {
      this.jsCalls++;
      scatterAddRowsJs(rows, cols, table, ids, x, skip);
      return;
    }
    this.wasmCalls++;
    const idsAt = this.copyIds(ids, rows);
    this.scatterAdd(rows, cols, 4 * t, 4 * table.stride, 4 * idsAt, 4 * s, 4 * x.stride, skip);
  };

  readonly addRows: AddRowsKernel = (rows, cols, out, x) => {
    const o = this.at(out), s = this.at(x);
    if (o < 0 || s < 0) {
      this.jsCalls++;
      addRowsJs(rows, cols, out, x);
      return;
    }
    this.wasmCalls++;
    this.add(rows, cols, 4 * o, 4 * out.stride, 4 * s, 4 * x.stride);
  };

  /** ids[0 … rows) as i32 into the scratch block; returns its heap index. */
  private copyIds(ids: ArrayLike<number>, rows: number): number {
    const base = this.scratch.ensure(rows);
    const ints = this.heapInts();
    for (let r = 0; r < rows; r++) ints[base + r] = ids[r];
    return base;
  }

  /** An Int32Array over the whole heap (re-made when the memory grew). */
  private heapInts(): Int32Array {
    const f32 = this.heap.f32;
    if (this.intsOf !== f32) {
      this.ints = new Int32Array(f32.buffer, f32.byteOffset, f32.length);
      this.intsOf = f32;
    }
    return this.ints;
  }

  readonly softmaxRows: SoftmaxRowsKernel = (rows, cols, out, x, invTemperature) => {
    const o = this.at(out), s = this.at(x);
    if (o < 0 || s < 0 || cols === 0) {
      this.jsCalls++;
      softmaxRowsJs(rows, cols, out, x, invTemperature);
      return;
    }
    this.wasmCalls++;
    this.softmax(rows, cols, 4 * o, 4 * out.stride, 4 * s, 4 * x.stride, invTemperature);
  };

  readonly crossEntropyRows: CrossEntropyRowsKernel = (rows, cols, logits, targets, weights, scale, dlogits, accumulate) => {
    const x = this.at(logits), d = dlogits ? this.at(dlogits) : 0;
    if (x < 0 || d < 0 || rows === 0 || cols === 0) {
      this.jsCalls++;
      return crossEntropyRowsJs(rows, cols, logits, targets, weights, scale, dlogits, accumulate);
    }
    this.wasmCalls++;
    // scratch: targets (i32), weights (f32, ×scale), stats (s, x_y − m) per row
    const base = this.scratch.ensure(4 * rows);
    const f32 = this.heap.f32;
    const i32 = this.heapInts();
    const weighted = weights !== null || scale !== 1;
    for (let r = 0; r < rows; r++) {
      const w = (weights ? weights[r] : 1) * scale;
      i32[base + r] = w === 0 ? 0 : targets[r];
      f32[base + rows + r] = w;
    }
    const stats = base + 2 * rows;
    const flags = (dlogits ? 1 : 0) | (accumulate ? 2 : 0) | (weighted ? 4 : 0);
    this.ce(
      rows, cols, 4 * x, 4 * logits.stride, 4 * d, dlogits ? 4 * dlogits.stride : 0,
      4 * base, 4 * (base + rows), 4 * stats, flags,
    );
    let loss = 0;
    for (let r = 0; r < rows; r++) {
      const w = (weights ? weights[r] : 1) * scale;
      if (w !== 0) loss += w * (Math.log(f32[stats + 2 * r]) - f32[stats + 2 * r + 1]);
    }
    return loss;
  };

  readonly sumSquares: SumSquaresKernel = (rows, cols, x) => {
    const s = this.at(x);
    if (s < 0) {
      this.jsCalls++;
      return sumSquaresJs(rows, cols, x);
    }
    this.wasmCalls++;
    return this.sumSq(rows, cols, 4 * s, 4 * x.stride);
  };

  readonly scale: ScaleKernel = (rows, cols, x, factor) => {
    const s = this.at(x);
    if (s < 0) {
      this.jsCalls++;
      scaleJs(rows, cols, x, factor);
      return;
    }
    this.wasmCalls++;
    this.scaleExport(rows, cols, 4 * s, 4 * x.stride, factor);
  };

  readonly clamp: ClampKernel = (rows, cols, x, maxValue) => {
    const s = this.at(x);
    if (s < 0) {
      this.jsCalls++;
      return clampJs(rows, cols, x, maxValue);
    }
    this.wasmCalls++;
    return this.clampExport(rows, cols, 4 * s, 4 * x.stride, maxValue);
  };

  readonly parameterUpdate: ParameterUpdateKernel = (rows, cols, param, grad, slotA, slotB, rule) => {
    const p = this.at(param), g = this.at(grad);
    const a = slotA ? this.slotAt(slotA) : 0, b = slotB ? this.slotAt(slotB) : 0;
    if (p < 0 || g < 0 || a < 0 || b < 0 || rule.kind < 0 || rule.kind >= this.updates.length) {
      this.jsCalls++;
      parameterUpdateJs(rows, cols, param, grad, slotA, slotB, rule);
      return;
    }
    this.wasmCalls++;
    this.writeHyper(rule);
    this.updates[rule.kind](rows, cols, 4 * p, 4 * param.stride, 4 * g, 4 * grad.stride, 4 * a, 4 * b, 4 * this.hyperAt);
  };

  private slotAt(slot: FloatArray): number {
    return this.heap.offsetOf(slot);
  }

  /** The rule's constants in HYPER's order (vector-module.ts). */
  private writeHyper(rule: UpdateRule): void {
    if (this.hyper.length === 0) this.hyper = this.hyperView(); // an ordinary memory grew: the view was detached
    const h = this.hyper;
    h[0] = rule.lr;
    h[1] = rule.l2;
    h[2] = rule.shrink;
    h[3] = rule.momentum;
    h[4] = 1 - rule.dampening;
    h[5] = rule.alpha;
    h[6] = 1 - rule.alpha;
    h[7] = rule.beta1;
    h[8] = 1 - rule.beta1;
    h[9] = rule.beta2;
    h[10] = 1 - rule.beta2;
    h[11] = rule.eps;
    h[12] = rule.c1;
    h[13] = rule.sqrtC2;
    h[14] = rule.t === 1 ? 1 : 0;
    h[15] = rule.nesterov ? 1 : 0;
  }
}
