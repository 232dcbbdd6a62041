/**
 * The host side of the WebAssembly gate kernels (`gates-module.ts`): the backend seam's
 * `lstmGatesForward` / `lstmGatesBackward`, `gruGatesForward` / `gruGatesBackward` and
 * `rnnTanhForward` for float32, in the backend's WasmHeap. An operand that lies in the heap (a
 * workspace or parameter allocated on the wasm backend) is read and written where it is; any other
 * is copied into this object's scratch (its memory span, one memcpy, ~0.1 ns per float) and the
 * outputs' spans are copied back — for an LSTM step at B = 32, H = 128 about 64 K floats, a few
 * microseconds, against ~0.4 ms for the js loop's Math.exp / Math.tanh.
 *
 * Falls back to the js kernels for float64 buffers and when H is not a multiple of 4 (the kernels
 * handle four units per f32x4 and have no scalar tail).
 *
 * A copied output that is a strided view (stride > width) gets its span copied in first, so the
 * columns between its rows come back unchanged. The scratch grows only when a larger problem
 * arrives. The views the memcpys need come from a `SpanViews` cache: after the first training step,
 * calls allocate nothing.
 */
import type {
  GruFullCandidateForwardKernel, GruFullGatesForwardKernel, GruGatesBackwardKernel, GruGatesForwardKernel, LstmGatesBackwardKernel, LstmGatesForwardKernel, RnnTanhBackwardKernel, RnnTanhForwardKernel,
  StridedBuffer,
} from '../kernels/types.js';
import {
  gruFullCandidateForwardJs, gruFullGatesForwardJs, gruGatesBackwardJs, gruGatesForwardJs, lstmGatesBackwardJs, lstmGatesForwardJs, rnnTanhBackwardJs, rnnTanhForwardJs,
} from '../kernels/gates-js.js';
import { buildGatesModule } from './gates-module.js';
import { ALIGN_FLOATS, type WasmHeap } from './heap.js';
import { ScratchBlock, SpanViews } from './wasm-gemm.js';
import { instantiate } from './webassembly.js';

type LstmForwardExport = (
  rows: number, h: number, z: number, ldz: number, xp: number, ldxp: number, cp: number, ldcp: number,
  c: number, ldc: number, a: number, lda: number, t: number, ldt: number,
) => void;
type LstmBackwardExport = (
  rows: number, h: number, g: number, ldg: number, t: number, ldt: number, cp: number, ldcp: number,
  da: number, ldda: number, dc: number, lddc: number, dz: number, lddz: number, dcp: number, lddcp: number,
) => void;

type GruForwardExport = (
  rows: number, h: number, hp: number, ldhp: number, ba: number, xp: number, ldxp: number, hprev: number, ldhprev: number,
  g: number, ldg: number, hpn: number, ldhpn: number, out: number, ldout: number,
) => void;
type GruBackwardExport = (
  rows: number, h: number, g: number, ldg: number, hpn: number, ldhpn: number, hprev: number, ldhprev: number,
  dh: number, lddh: number, dxp: number, lddxp: number, dhp: number, lddhp: number, dhprev: number, lddhprev: number,
) => void;
type RnnTanhExport = (rows: number, h: number, a: number, lda: number, xp: number, ldxp: number) => void;
type RnnTanhBackwardExport = (rows: number, h: number, a: number, lda: number, da: number, ldda: number, dz: number, lddz: number) => void;
type GruFullExport = (
  rows: number, h: number, g: number, ldg: number, xp: number, ldxp: number, cp: number, ldcp: number, out: number, ldout: number,
) => void;

const roundUp = (x: number, to: number) => Math.ceil(x / to) * to;

/** Floats from the first entry of row 0 to the last of row rows − 1. */
const spanOf = (rows: number, width: number, m: StridedBuffer) => (rows - 1) * m.stride + width;

const f32 = (b: StridedBuffer) => b.data instanceof Float32Array;

/** Up to seven fixed parameters, not a rest parameter: a rest array would be garbage at every call. */
function allFloat32(
  a: StridedBuffer, b: StridedBuffer, c = a, d = a, e = a, f = a, g = a,
): boolean {
  return f32(a) && f32(b) && f32(c) && f32(d) && f32(e) && f32(f) && f32(g);
}

/** Most operands of one kernel call (the GRU backward has seven). */
const MAX_OPERANDS = 8;

/**
 * Where one kernel call's operands are: each lies in the heap (used in place) or is copied into
 * the scratch; `finish` copies the copied outputs back. Fixed arrays, reused: no allocation per call.
 */
export class OperandPlacer {
  private readonly views = new SpanViews();
  private readonly scratch: ScratchBlock;
  private base = 0;
  private top = 0;
  private f32: Float32Array;
  private readonly outs: StridedBuffer[] = [];
  private readonly outAt: number[] = [];
  private readonly outSpan: number[] = [];
  private outCount = 0;
  /** Operands copied in (for tests). */
  copyCount = 0;

  constructor(private readonly heap: WasmHeap) {
    this.scratch = new ScratchBlock(heap);
    this.f32 = heap.f32;
  }

  /** Start a call whose copied operands take at most `floats` floats (the sum of their spans). */
  begin(floats: number): void {
    this.base = this.scratch.ensure(floats + MAX_OPERANDS * ALIGN_FLOATS);
    this.f32 = this.heap.f32;
    this.top = 0;
    this.outCount = 0;
  }

  /**
   * The byte address of m[0, 0] (rows × width entries) for the kernel: where it lies, or a scratch
   * copy — copied in when it is read (`input`) or is an output with gaps between its rows.
   */
  place(m: StridedBuffer, rows: number, width: number, input: boolean, output: boolean): number {
    const at = this.heap.offsetOf(m.data);
    if (at >= 0) return 4 * (at + m.offset);
    const span = spanOf(rows, width, m);
    const p = this.base + this.top;
    this.top = roundUp(this.top + span, ALIGN_FLOATS);
    if (input || (rows > 1 && m.stride !== width)) {
      this.f32.set(this.views.view(m.data as Float32Array, m.offset, span), p);
      this.copyCount++;
    }
    if (output) {
      this.outs[this.outCount] = m;
      this.outAt[this.outCount] = p;
      this.outSpan[this.outCount] = span;
      this.outCount++;
    }
    return 4 * p;
  }

  /** Copy the copied outputs back. */
  finish(): void {
    for (let i = 0; i < this.outCount; i++) {
      const m = this.outs[i];
      (m.data as Float32Array).set(this.views.view(this.f32, this.outAt[i], this.outSpan[i]), m.offset);
      this.outs[i] = NO_BUFFER; // keep no caller's buffer alive
    }
    this.outCount = 0;
  }
}

const NO_BUFFER: StridedBuffer = { data: new Float32Array(0), offset: 0, stride: 0 };

export class WasmGates {
  private readonly lstmFwd: LstmForwardExport;
  private readonly lstmBwd: LstmBackwardExport;
  private readonly gruFwd: GruForwardExport;
  private readonly gruBwd: GruBackwardExport;
  private readonly rnnTanh: RnnTanhExport;
  private readonly rnnTanhBwd: RnnTanhBackwardExport;
  private readonly gruFullGatesFwd: GruFullExport;
  private readonly gruFullCandFwd: GruFullExport;
  private readonly expExport: (src: number, dst: number, n: number) => void;
  private readonly placer: OperandPlacer;

  constructor(private readonly heap: WasmHeap) {
    const instance = instantiate(buildGatesModule(heap.importSpec), 'wasm gates', heap.memory);
    this.lstmFwd = instance.exports.lstm_fwd as LstmForwardExport;
    this.lstmBwd = instance.exports.lstm_bwd as LstmBackwardExport;
    this.gruFwd = instance.exports.gru_fwd as GruForwardExport;
    this.gruBwd = instance.exports.gru_bwd as GruBackwardExport;
    this.rnnTanh = instance.exports.rnn_tanh as RnnTanhExport;
    this.rnnTanhBwd = instance.exports.rnn_tanh_bwd as RnnTanhBackwardExport;
    this.gruFullGatesFwd = instance.exports.gru_full_gates_fwd as GruFullExport;
    this.gruFullCandFwd = instance.exports.gru_full_cand_fwd as GruFullExport;
    this.expExport = instance.exports.exp_f32x4 as (src: number, dst: number, n: number) => void;
    this.placer = new OperandPlacer(heap);
  }

  /** Operands copied into the heap so far (0 when every operand lies in it). */
  get copyCount(): number {
    return this.placer.copyCount;
  }

  readonly lstmGatesForward: LstmGatesForwardKernel = (rows, H, z, xp, cPrev, c, a, tanhC) => {
    if (rows === 0 || H === 0) return;
    if (H % 4 !== 0 || !allFloat32(z, xp, cPrev, c, a, tanhC)) {
      lstmGatesForwardJs(rows, H, z, xp, cPrev, c, a, tanhC);
      return;
    }
    const G = 4 * H, o = this.placer;
    o.begin(spanOf(rows, G, z) + spanOf(rows, G, xp) + spanOf(rows, H, cPrev) +
      spanOf(rows, H, c) + spanOf(rows, H, a) + spanOf(rows, H, tanhC));
    this.lstmFwd(
      rows, H, o.place(z, rows, G, true, true), 4 * z.stride, o.place(xp, rows, G, true, false), 4 * xp.stride,
      o.place(cPrev, rows, H, true, false), 4 * cPrev.stride, o.place(c, rows, H, false, true), 4 * c.stride,
      o.place(a, rows, H, false, true), 4 * a.stride, o.place(tanhC, rows, H, false, true), 4 * tanhC.stride,
    );
    o.finish();
  };

  readonly lstmGatesBackward: LstmGatesBackwardKernel = (rows, H, gates, tanhC, cPrev, da, dc, dz, dcPrev) => {
    if (rows === 0 || H === 0) return;
    if (H % 4 !== 0 || !allFloat32(gates, tanhC, cPrev, da, dc, dz, dcPrev)) {
      lstmGatesBackwardJs(rows, H, gates, tanhC, cPrev, da, dc, dz, dcPrev);
      return;
    }
    const G = 4 * H, o = this.placer;
    o.begin(spanOf(rows, G, gates) + spanOf(rows, H, tanhC) + spanOf(rows, H, cPrev) + spanOf(rows, H, da) +
      spanOf(rows, H, dc) + spanOf(rows, G, dz) + spanOf(rows, H, dcPrev));
    this.lstmBwd(
      rows, H, o.place(gates, rows, G, true, false), 4 * gates.stride, o.place(tanhC, rows, H, true, false), 4 * tanhC.stride,
      o.place(cPrev, rows, H, true, false), 4 * cPrev.stride, o.place(da, rows, H, true, false), 4 * da.stride,
      o.place(dc, rows, H, true, false), 4 * dc.stride, o.place(dz, rows, G, false, true), 4 * dz.stride,
      o.place(dcPrev, rows, H, false, true), 4 * dcPrev.stride,
    );
    o.finish();
  };

  readonly gruGatesForward: GruGatesForwardKernel = (rows, H, hp, bias, xp, hPrev, gates, hpn, h) => {
    if (rows === 0 || H === 0) return;
    if (H % 4 !== 0 || !allFloat32(hp, bias, xp, hPrev, gates, hpn, h)) {
      gruGatesForwardJs(rows, H, hp, bias, xp, hPrev, gates, hpn, h);
      return;
    }
    const G = 3 * H, o = this.placer;
    o.begin(spanOf(rows, G, hp) + G + spanOf(rows, G, xp) + spanOf(rows, H, hPrev) +
      spanOf(rows, G, gates) + spanOf(rows, H, hpn) + spanOf(rows, H, h));
    this.gruFwd(
      rows, H, o.place(hp, rows, G, true, false), 4 * hp.stride, o.place(bias, 1, G, true, false),
      o.place(xp, rows, G, true, false), 4 * xp.stride, o.place(hPrev, rows, H, true, false), 4 * hPrev.stride,
      o.place(gates, rows, G, false, true), 4 * gates.stride, o.place(hpn, rows, H, false, true), 4 * hpn.stride,
      o.place(h, rows, H, false, true), 4 * h.stride,
    );
    o.finish();
  };

  readonly gruGatesBackward: GruGatesBackwardKernel = (rows, H, gates, hpn, hPrev, dh, dxp, dhp, dhPrev) => {
    if (rows === 0 || H === 0) return;
    if (H % 4 !== 0 || !allFloat32(gates, hpn, hPrev, dh, dxp, dhp, dhPrev)) {
      gruGatesBackwardJs(rows, H, gates, hpn, hPrev, dh, dxp, dhp, dhPrev);
      return;
    }
    const G = 3 * H, o = this.placer;
    o.begin(spanOf(rows, G, gates) + spanOf(rows, H, hpn) + spanOf(rows, H, hPrev) + spanOf(rows, H, dh) +
      spanOf(rows, G, dxp) + spanOf(rows, G, dhp) + spanOf(rows, H, dhPrev));
    this.gruBwd(
      rows, H, o.place(gates, rows, G, true, false), 4 * gates.stride, o.place(hpn, rows, H, true, false), 4 * hpn.stride,
      o.place(hPrev, rows, H, true, false), 4 * hPrev.stride, o.place(dh, rows, H, true, false), 4 * dh.stride,
      o.place(dxp, rows, G, false, true), 4 * dxp.stride, o.place(dhp, rows, G, false, true), 4 * dhp.stride,
      o.place(dhPrev, rows, H, false, true), 4 * dhPrev.stride,
    );
    o.finish();
  };

  readonly rnnTanhForward: RnnTanhForwardKernel = (rows, H, a, xp) => {
    if (rows === 0 || H === 0) return;
    if (H % 4 !== 0 || !allFloat32(a, xp)) {
      rnnTanhForwardJs(rows, H, a, xp);
      return;
    }
    const o = this.placer;
    o.begin(spanOf(rows, H, a) + spanOf(rows, H, xp));
    this.rnnTanh(rows, H, o.place(a, rows, H, true, true), 4 * a.stride, o.place(xp, rows, H, true, false), 4 * xp.stride);
    o.finish();
  };

  /** dz = da ∗ (1 − a²) in f32 (the js kernel rounds once from float64: float32 accuracy, not its bits). */
  readonly rnnTanhBackward: RnnTanhBackwardKernel = (rows, H, a, da, dz) => {
    if (rows === 0 || H === 0) return;
    if (H % 4 !== 0 || !allFloat32(a, da, dz)) {
      rnnTanhBackwardJs(rows, H, a, da, dz);
      return;
    }
    const o = this.placer;
    o.begin(spanOf(rows, H, a) + spanOf(rows, H, da) + spanOf(rows, H, dz));
    this.rnnTanhBwd(
      rows, H, o.place(a, rows, H, true, false), 4 * a.stride, o.place(da, rows, H, true, false), 4 * da.stride,
      o.place(dz, rows, H, false, true), 4 * dz.stride,
    );
    o.finish();
  };

  readonly gruFullGatesForward: GruFullGatesForwardKernel = (rows, H, gates, xp, cPrev, resetState) => {
    if (rows === 0 || H === 0) return;
    if (H % 4 !== 0 || !allFloat32(gates, xp, cPrev, resetState)) {
      gruFullGatesForwardJs(rows, H, gates, xp, cPrev, resetState);
      return;
    }
    const G = 3 * H, o = this.placer;
    o.begin(spanOf(rows, G, gates) + spanOf(rows, G, xp) + spanOf(rows, H, cPrev) + spanOf(rows, H, resetState));
    this.gruFullGatesFwd(
      rows, H, o.place(gates, rows, G, true, true), 4 * gates.stride, o.place(xp, rows, G, true, false), 4 * xp.stride,
      o.place(cPrev, rows, H, true, false), 4 * cPrev.stride, o.place(resetState, rows, H, false, true), 4 * resetState.stride,
    );
    o.finish();
  };

  readonly gruFullCandidateForward: GruFullCandidateForwardKernel = (rows, H, gates, xp, cPrev, c) => {
    if (rows === 0 || H === 0) return;
    if (H % 4 !== 0 || !allFloat32(gates, xp, cPrev, c)) {
      gruFullCandidateForwardJs(rows, H, gates, xp, cPrev, c);
      return;
    }
    const G = 3 * H, o = this.placer;
    o.begin(spanOf(rows, G, gates) + spanOf(rows, G, xp) + spanOf(rows, H, cPrev) + spanOf(rows, H, c));
    this.gruFullCandFwd(
      rows, H, o.place(gates, rows, G, true, true), 4 * gates.stride, o.place(xp, rows, G, true, false), 4 * xp.stride,
      o.place(cPrev, rows, H, true, false), 4 * cPrev.stride, o.place(c, rows, H, false, true), 4 * c.stride,
    );
    o.finish();
  };

  /** out[i] = e^x[i] through the kernels' exp (n any length; for tests of its accuracy). */
  exp(out: Float32Array, x: Float32Array): void {
    const n = roundUp(x.length, 4);
    const src = this.heap.allocFloats(n), dst = this.heap.allocFloats(n);
    try {
      this.heap.f32.set(x, src);
      this.expExport(4 * src, 4 * dst, n);
      out.set(this.heap.f32.subarray(dst, dst + x.length));
    } finally {
      this.heap.freeFloats(src);
      this.heap.freeFloats(dst);
    }
  }
}
