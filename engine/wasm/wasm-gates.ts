/**
 * The host side of the WebAssembly gate kernels (`gates-module.ts`): the backend seam's
 * `lstmGatesForward` / `lstmGatesBackward`, `gruGatesForward` / `gruGatesBackward` and
 * `rnnTanhForward` for float32. Each call copies the memory spans of its
 * operands into the module's linear memory (one memcpy each, ~0.1 ns per float), runs the kernel,
 * and copies the outputs' spans back — for an LSTM step at B = 32, H = 128 about 64 K floats move,
 * a few microseconds, against ~0.4 ms for the js loop's Math.exp / Math.tanh.
 *
 * Falls back to the js kernels for float64 buffers and when H is not a multiple of 4 (the kernels
 * handle four units per f32x4 and have no scalar tail).
 *
 * An output that is a strided view (stride > width) gets its span copied in first, so the columns
 * between its rows come back unchanged. Memory grows only when a larger problem arrives. The views
 * the memcpys need come from a `SpanViews` cache: after the first training step, calls allocate nothing.
 */
import type {
  GruGatesBackwardKernel, GruGatesForwardKernel, LstmGatesBackwardKernel, LstmGatesForwardKernel, RnnTanhForwardKernel,
  StridedBuffer,
} from '../kernels/types.js';
import {
  gruGatesBackwardJs, gruGatesForwardJs, lstmGatesBackwardJs, lstmGatesForwardJs, rnnTanhForwardJs,
} from '../kernels/gates-js.js';
import { buildGatesModule } from './gates-module.js';
import { SpanViews } from './wasm-gemm.js';
import { instantiate, type WasmMemory } from './webassembly.js';

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

const PAGE_BYTES = 65536;
const ALIGN_FLOATS = 16;
const MAX_BYTES = 2 ** 31 - PAGE_BYTES;

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

export class WasmGates {
  private readonly memory: WasmMemory;
  private readonly lstmFwd: LstmForwardExport;
  private readonly lstmBwd: LstmBackwardExport;
  private readonly gruFwd: GruForwardExport;
  private readonly gruBwd: GruBackwardExport;
  private readonly rnnTanh: RnnTanhExport;
  private readonly expExport: (src: number, dst: number, n: number) => void;
  private heap: Float32Array;
  private readonly views = new SpanViews();
  /** Bump pointer (floats) while a call lays out its operands. */
  private top = 0;

  constructor() {
    const instance = instantiate(buildGatesModule(), 'wasm gates');
    this.memory = instance.exports.memory as WasmMemory;
    this.lstmFwd = instance.exports.lstm_fwd as LstmForwardExport;
    this.lstmBwd = instance.exports.lstm_bwd as LstmBackwardExport;
    this.gruFwd = instance.exports.gru_fwd as GruForwardExport;
    this.gruBwd = instance.exports.gru_bwd as GruBackwardExport;
    this.rnnTanh = instance.exports.rnn_tanh as RnnTanhExport;
    this.expExport = instance.exports.exp_f32x4 as (src: number, dst: number, n: number) => void;
    this.heap = new Float32Array(this.memory.buffer);
  }

  /** Bytes of linear memory held now. */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  readonly lstmGatesForward: LstmGatesForwardKernel = (rows, H, z, xp, cPrev, c, a, tanhC) => {
    if (rows === 0 || H === 0) return;
    if (H % 4 !== 0 || !allFloat32(z, xp, cPrev, c, a, tanhC)) {
      lstmGatesForwardJs(rows, H, z, xp, cPrev, c, a, tanhC);
      return;
    }
    const G = 4 * H;
    this.layout(spanOf(rows, G, z) + spanOf(rows, G, xp) + spanOf(rows, H, cPrev) +
      spanOf(rows, H, c) + spanOf(rows, H, a) + spanOf(rows, H, tanhC) + 6 * ALIGN_FLOATS);
    const pz = this.copyIn(z, rows, G, true);
    const pxp = this.copyIn(xp, rows, G, true);
    const pcp = this.copyIn(cPrev, rows, H, true);
    const pc = this.copyIn(c, rows, H, false);
    const pa = this.copyIn(a, rows, H, false);
    const pt = this.copyIn(tanhC, rows, H, false);
    this.lstmFwd(
      rows, H, 4 * pz, 4 * z.stride, 4 * pxp, 4 * xp.stride, 4 * pcp, 4 * cPrev.stride,
      4 * pc, 4 * c.stride, 4 * pa, 4 * a.stride, 4 * pt, 4 * tanhC.stride,
    );
    this.copyOut(z, rows, G, pz);
    this.copyOut(c, rows, H, pc);
    this.copyOut(a, rows, H, pa);
    this.copyOut(tanhC, rows, H, pt);
  };

  readonly lstmGatesBackward: LstmGatesBackwardKernel = (rows, H, gates, tanhC, cPrev, da, dc, dz, dcPrev) => {
    if (rows === 0 || H === 0) return;
    if (H % 4 !== 0 || !allFloat32(gates, tanhC, cPrev, da, dc, dz, dcPrev)) {
      lstmGatesBackwardJs(rows, H, gates, tanhC, cPrev, da, dc, dz, dcPrev);
      return;
    }
    const G = 4 * H;
    this.layout(spanOf(rows, G, gates) + spanOf(rows, H, tanhC) + spanOf(rows, H, cPrev) + spanOf(rows, H, da) +
      spanOf(rows, H, dc) + spanOf(rows, G, dz) + spanOf(rows, H, dcPrev) + 7 * ALIGN_FLOATS);
    const pg = this.copyIn(gates, rows, G, true);
    const pt = this.copyIn(tanhC, rows, H, true);
    const pcp = this.copyIn(cPrev, rows, H, true);
    const pda = this.copyIn(da, rows, H, true);
    const pdc = this.copyIn(dc, rows, H, true);
    const pdz = this.copyIn(dz, rows, G, false);
    const pdcp = this.copyIn(dcPrev, rows, H, false);
    this.lstmBwd(
      rows, H, 4 * pg, 4 * gates.stride, 4 * pt, 4 * tanhC.stride, 4 * pcp, 4 * cPrev.stride,
      4 * pda, 4 * da.stride, 4 * pdc, 4 * dc.stride, 4 * pdz, 4 * dz.stride, 4 * pdcp, 4 * dcPrev.stride,
    );
    this.copyOut(dz, rows, G, pdz);
    this.copyOut(dcPrev, rows, H, pdcp);
  };

  readonly gruGatesForward: GruGatesForwardKernel = (rows, H, hp, bias, xp, hPrev, gates, hpn, h) => {
    if (rows === 0 || H === 0) return;
    if (H % 4 !== 0 || !allFloat32(hp, bias, xp, hPrev, gates, hpn, h)) {
      gruGatesForwardJs(rows, H, hp, bias, xp, hPrev, gates, hpn, h);
      return;
    }
    const G = 3 * H;
    this.layout(spanOf(rows, G, hp) + G + spanOf(rows, G, xp) + spanOf(rows, H, hPrev) +
      spanOf(rows, G, gates) + spanOf(rows, H, hpn) + spanOf(rows, H, h) + 7 * ALIGN_FLOATS);
    const php = this.copyIn(hp, rows, G, true);
    const pba = this.copyIn(bias, 1, G, true);
    const pxp = this.copyIn(xp, rows, G, true);
    const ppr = this.copyIn(hPrev, rows, H, true);
    const pg = this.copyIn(gates, rows, G, false);
    const phn = this.copyIn(hpn, rows, H, false);
    const ph = this.copyIn(h, rows, H, false);
    this.gruFwd(
      rows, H, 4 * php, 4 * hp.stride, 4 * pba, 4 * pxp, 4 * xp.stride, 4 * ppr, 4 * hPrev.stride,
      4 * pg, 4 * gates.stride, 4 * phn, 4 * hpn.stride, 4 * ph, 4 * h.stride,
    );
    this.copyOut(gates, rows, G, pg);
    this.copyOut(hpn, rows, H, phn);
    this.copyOut(h, rows, H, ph);
  };

  readonly gruGatesBackward: GruGatesBackwardKernel = (rows, H, gates, hpn, hPrev, dh, dxp, dhp, dhPrev) => {
    if (rows === 0 || H === 0) return;
    if (H % 4 !== 0 || !allFloat32(gates, hpn, hPrev, dh, dxp, dhp, dhPrev)) {
      gruGatesBackwardJs(rows, H, gates, hpn, hPrev, dh, dxp, dhp, dhPrev);
      return;
    }
    const G = 3 * H;
    this.layout(spanOf(rows, G, gates) + spanOf(rows, H, hpn) + spanOf(rows, H, hPrev) + spanOf(rows, H, dh) +
      spanOf(rows, G, dxp) + spanOf(rows, G, dhp) + spanOf(rows, H, dhPrev) + 7 * ALIGN_FLOATS);
    const pg = this.copyIn(gates, rows, G, true);
    const phn = this.copyIn(hpn, rows, H, true);
    const ppr = this.copyIn(hPrev, rows, H, true);
    const pdh = this.copyIn(dh, rows, H, true);
    const pdx = this.copyIn(dxp, rows, G, false);
    const pdhp = this.copyIn(dhp, rows, G, false);
    const pdpr = this.copyIn(dhPrev, rows, H, false);
    this.gruBwd(
      rows, H, 4 * pg, 4 * gates.stride, 4 * phn, 4 * hpn.stride, 4 * ppr, 4 * hPrev.stride, 4 * pdh, 4 * dh.stride,
      4 * pdx, 4 * dxp.stride, 4 * pdhp, 4 * dhp.stride, 4 * pdpr, 4 * dhPrev.stride,
    );
    this.copyOut(dxp, rows, G, pdx);
    this.copyOut(dhp, rows, G, pdhp);
    this.copyOut(dhPrev, rows, H, pdpr);
  };

  readonly rnnTanhForward: RnnTanhForwardKernel = (rows, H, a, xp) => {
    if (rows === 0 || H === 0) return;
    if (H % 4 !== 0 || !allFloat32(a, xp)) {
      rnnTanhForwardJs(rows, H, a, xp);
      return;
    }
    this.layout(spanOf(rows, H, a) + spanOf(rows, H, xp) + 2 * ALIGN_FLOATS);
    const pa = this.copyIn(a, rows, H, true);
    const pxp = this.copyIn(xp, rows, H, true);
    this.rnnTanh(rows, H, 4 * pa, 4 * a.stride, 4 * pxp, 4 * xp.stride);
    this.copyOut(a, rows, H, pa);
  };

  /** out[i] = e^x[i] through the kernels' exp (n any length; for tests of its accuracy). */
  exp(out: Float32Array, x: Float32Array): void {
    const n = roundUp(x.length, 4);
    this.layout(2 * n + 2 * ALIGN_FLOATS);
    const src = this.reserve(n), dst = this.reserve(n);
    this.heap.fill(0, src, src + n);
    this.heap.set(x, src);
    this.expExport(4 * src, 4 * dst, n);
    out.set(this.heap.subarray(dst, dst + x.length));
  }

  /** Start a call's layout, growing the memory (once per new high-water mark) to hold `floats`. */
  private layout(floats: number): void {
    this.top = 0;
    if (this.heap.length >= floats) return;
    const bytes = floats * 4;
    if (bytes > MAX_BYTES) throw new Error(`wasm gates: the operands need ${bytes} bytes of WebAssembly memory, more than the ${MAX_BYTES} it can address`);
    this.memory.grow(Math.ceil(bytes / PAGE_BYTES) - this.memory.buffer.byteLength / PAGE_BYTES);
    this.heap = new Float32Array(this.memory.buffer);
  }

  private reserve(floats: number): number {
    const at = this.top;
    this.top = roundUp(at + floats, ALIGN_FLOATS);
    return at;
  }

  /**
   * Reserve the operand's span; copy it in when it is read (`input`) or when it is an output with
   * gaps between its rows (so the copy back leaves them unchanged). Returns its float offset.
   */
  private copyIn(m: StridedBuffer, rows: number, width: number, input: boolean): number {
    const span = spanOf(rows, width, m);
    const at = this.reserve(span);
    if (input || (rows > 1 && m.stride !== width)) this.heap.set(this.views.view(m.data as Float32Array, m.offset, span), at);
    return at;
  }

  private copyOut(m: StridedBuffer, rows: number, width: number, at: number): void {
    const span = spanOf(rows, width, m);
    (m.data as Float32Array).set(this.views.view(this.heap, at, span), m.offset);
  }
}
