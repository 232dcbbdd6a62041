/**
 * The host side of the token-step kernels (`token-module.ts`): the backend seam's TokenStepKernels for
 * float32 operands that lie in the backend heap — one WebAssembly call per layer step or dense row,
 * with no copy. A sampler allocates its state and scratch on the wasm backend (Matrix.zeros), and a
 * model made there has its weights in the heap too; any operand elsewhere (a JS array, float64), or
 * H not a multiple of 4, sends the call to the js kernels (kernels/token-js.ts) — same numbers, to
 * float32 rounding.
 *
 * `recurrentWeights` packs W_a into panels (token-module.ts) in a heap array of its own, and remembers
 * which W_a each packed array came from: a step given a packed array whose call must go to the js
 * kernels hands them that W_a (row-major, as they read it); a step given anything else (W_a itself,
 * or where the heap had no room for a copy) goes to the js kernels too.
 */
import type { StridedBuffer, TokenLayer, TokenStepKernels } from '../kernels/types.js';
import { stepPerCall, tokenStepsJs } from '../kernels/token-js.js';
import type { WasmHeap } from './heap.js';
import { buildTokenModule, PANEL_ROWS } from './token-module.js';
import { instantiate } from './webassembly.js';

type DenseRowExport = (n: number, k: number, w: number, ldw: number, x: number, y: number, b: number, hasBias: number) => void;
type LstmExport = (h: number, wp: number, xp: number, a: number, c: number, z: number) => void;
type GruExport = (h: number, wp: number, ba: number, xp: number, s: number, z: number) => void;
type RnnExport = (h: number, wp: number, xp: number, a: number, z: number, relu: number) => void;
type PackExport = (n: number, k: number, w: number, ldw: number, wp: number) => void;

/** Where a packed W_a came from, and its shape. */
interface PackedWeights {
  readonly source: StridedBuffer;
  readonly rows: number;
  readonly cols: number;
}

export class WasmTokenKernels implements TokenStepKernels {
  /** Calls that ran in WebAssembly, and calls handed to the js kernels (for tests). */
  wasmCalls = 0;
  jsCalls = 0;

  private readonly denseRowExport: DenseRowExport;
  private readonly lstm: LstmExport;
  private readonly gru: GruExport;
  private readonly rnn: RnnExport;
  private readonly pack: PackExport;
  private readonly packed = new WeakMap<object, PackedWeights>();

  constructor(private readonly heap: WasmHeap, relaxedMadd: boolean) {
    const e = instantiate(buildTokenModule(heap.importSpec, relaxedMadd), 'wasm token kernels', heap.memory).exports;
    this.denseRowExport = e.dense_row as DenseRowExport;
    this.lstm = e.lstm_token as LstmExport;
    this.gru = e.gru_token as GruExport;
    this.rnn = e.rnn_token as RnnExport;
    this.pack = e.pack_panels as PackExport;
  }

  recurrentWeights(wa: StridedBuffer, rows: number, cols: number): StridedBuffer {
    const from = this.at(wa);
    const panels = Math.ceil(rows / PANEL_ROWS) * PANEL_ROWS;
    const copy = from < 0 || rows === 0 || cols === 0 ? null : this.heap.allocArray(panels * cols);
    if (!copy) return wa;
    this.pack(rows, cols, from, 4 * wa.stride, 4 * this.heap.offsetOf(copy));
    const packed: StridedBuffer = { data: copy, offset: 0, stride: cols };
    this.packed.set(copy, { source: wa, rows, cols });
    return packed;
  }

  /** The byte address of packed W_a [rows, cols], or −1 when `wa` is no such array (with the W_a it came from for the js kernels). */
  private packedAt(wa: StridedBuffer, rows: number, cols: number): number {
    const p = this.packed.get(wa.data);
    return p && p.rows === rows && p.cols === cols && wa.offset === 0 ? this.at(wa) : -1;
  }

  /** W_a row-major for the js kernels: the source of a packed copy, or wa itself. */
  private rowMajor(wa: StridedBuffer): StridedBuffer {
    return this.packed.get(wa.data)?.source ?? wa;
  }

  /** The byte address of b[0] in the heap, or −1 when b does not lie there (or is float64). */
  private at(b: StridedBuffer): number {
    const at = this.heap.offsetOf(b.data);
    return at < 0 ? -1 : 4 * (at + b.offset);
  }

  denseRow(n: number, k: number, w: StridedBuffer, x: StridedBuffer, b: StridedBuffer | null, y: StridedBuffer): void {
    const pw = this.at(w), px = this.at(x), py = this.at(y), pb = b ? this.at(b) : 0;
    if (pw < 0 || px < 0 || py < 0 || pb < 0 || n === 0 || k === 0) {
      this.jsCalls++;
      tokenStepsJs.denseRow(n, k, w, x, b, y);
      return;
    }
    this.wasmCalls++;
    this.denseRowExport(n, k, pw, 4 * w.stride, px, py, pb, b ? 1 : 0);
  }

  lstmStep(H: number, wa: StridedBuffer, xp: StridedBuffer, a: StridedBuffer, c: StridedBuffer, work: StridedBuffer): void {
    const pw = this.packedAt(wa, 4 * H, H), px = this.at(xp), pa = this.at(a), pc = this.at(c), pz = this.at(work);
    if (H % 4 !== 0 || H === 0 || pw < 0 || px < 0 || pa < 0 || pc < 0 || pz < 0) {
      this.jsCalls++;
      tokenStepsJs.lstmStep(H, this.rowMajor(wa), xp, a, c, work);
      return;
    }
    this.wasmCalls++;
    this.lstm(H, pw, px, pa, pc, pz);
  }

  gruStep(H: number, wa: StridedBuffer, ba: StridedBuffer, xp: StridedBuffer, s: StridedBuffer, work: StridedBuffer): void {
    const pw = this.packedAt(wa, 3 * H, H), pb = this.at(ba), px = this.at(xp), ps = this.at(s), pz = this.at(work);
    if (H % 4 !== 0 || H === 0 || pw < 0 || pb < 0 || px < 0 || ps < 0 || pz < 0) {
      this.jsCalls++;
      tokenStepsJs.gruStep(H, this.rowMajor(wa), ba, xp, s, work);
      return;
    }
    this.wasmCalls++;
    this.gru(H, pw, pb, px, ps, pz);
  }

  /**
   * The layer's export with every address but xp's found now; the per-call step where one of them is
   * not in the heap (or H is not a multiple of 4), and per call for an xp that is not.
   */
  bindStep(layer: TokenLayer): (xp: StridedBuffer) => void {
    const perCall = stepPerCall(this, layer);
    const H = layer.H, pz = this.at(layer.work);
    if (H % 4 !== 0 || H === 0 || pz < 0) return perCall;
    const bound = (call: (px: number) => void) => (xp: StridedBuffer) => {
      const px = this.at(xp);
      if (px < 0) perCall(xp);
      else {
        this.wasmCalls++;
        call(px);
      }
    };
    switch (layer.kind) {
      case 'lstm': {
        const { lstm } = this, pw = this.packedAt(layer.wa, 4 * H, H), pa = this.at(layer.a), pc = this.at(layer.c);
        return pw < 0 || pa < 0 || pc < 0 ? perCall : bound((px) => lstm(H, pw, px, pa, pc, pz));
      }
      case 'gru': {
        const { gru } = this, pw = this.packedAt(layer.wa, 3 * H, H), pb = this.at(layer.ba), ps = this.at(layer.s);
        return pw < 0 || pb < 0 || ps < 0 ? perCall : bound((px) => gru(H, pw, pb, px, ps, pz));
      }
      case 'rnn': {
        const { rnn } = this, pw = this.packedAt(layer.wa, H, H), pa = this.at(layer.a), relu = layer.relu ? 1 : 0;
        return pw < 0 || pa < 0 ? perCall : bound((px) => rnn(H, pw, px, pa, pz, relu));
      }
    }
  }

  bindDenseRow(n: number, k: number, w: StridedBuffer, b: StridedBuffer | null, y: StridedBuffer): (x: StridedBuffer) => void {
    const pw = this.at(w), py = this.at(y), pb = b ? this.at(b) : 0, hasBias = b ? 1 : 0, ldw = 4 * w.stride;
    const perCall = (x: StridedBuffer) => this.denseRow(n, k, w, x, b, y);
    if (pw < 0 || py < 0 || pb < 0 || n === 0 || k === 0) return perCall;
    const { denseRowExport } = this;
    return (x) => {
      const px = this.at(x);
      if (px < 0) perCall(x);
      else {
        this.wasmCalls++;
        denseRowExport(n, k, pw, ldw, px, py, pb, hasBias);
      }
    };
  }

  rnnStep(H: number, wa: StridedBuffer, xp: StridedBuffer, a: StridedBuffer, work: StridedBuffer, relu: boolean): void {
    const pw = this.packedAt(wa, H, H), px = this.at(xp), pa = this.at(a), pz = this.at(work);
    if (H % 4 !== 0 || H === 0 || pw < 0 || px < 0 || pa < 0 || pz < 0) {
      this.jsCalls++;
      tokenStepsJs.rnnStep(H, this.rowMajor(wa), xp, a, work, relu);
      return;
    }
    this.wasmCalls++;
    this.rnn(H, pw, px, pa, pz, relu ? 1 : 0);
  }
}
