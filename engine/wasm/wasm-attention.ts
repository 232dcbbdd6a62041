/**
 * The host side of the WebAssembly additive-attention kernels (`attention-module.ts`): the backend
 * seam's `additiveScores` / `additiveScoresBackward` for float32 in the backend's WasmHeap. Operands in
 * the heap are used in place, others copied through the gate kernels' OperandPlacer (wasm-gates.ts).
 * Falls back to the js kernels for float64 and when n is not a multiple of 4. No allocation per call.
 */
import type { AdditiveScoresBackwardKernel, AdditiveScoresKernel, StridedBuffer } from '../kernels/types.js';
import { additiveScoresBackwardJs, additiveScoresJs } from '../kernels/attention-js.js';
import { buildAttentionModule } from './attention-module.js';
import type { WasmHeap } from './heap.js';
import { OperandPlacer } from './wasm-gates.js';
import { instantiate } from './webassembly.js';

type ScoresExport = (
  rows: number, count: number, n: number, q: number, ldq: number, k: number, ldk: number, v: number,
  hid: number, ldhid: number, storeHidden: number, s: number, lds: number,
) => void;
type ScoresBackwardExport = (
  rows: number, count: number, n: number, hid: number, ldhid: number, ds: number, lds: number, v: number,
  dv: number, dk: number, ldk: number, dq: number, ldq: number,
) => void;

/** Floats from the first entry of row 0 to the last of row rows − 1. */
const spanOf = (rows: number, width: number, m: StridedBuffer) => (rows - 1) * m.stride + width;

const f32 = (b: StridedBuffer) => b.data instanceof Float32Array;

export class WasmAttention {
  private readonly scoresExport: ScoresExport;
  private readonly backwardExport: ScoresBackwardExport;
  private readonly placer: OperandPlacer;

  /** relaxedMadd: the tanh's polynomials with f32x4.relaxed_madd (needs relaxed SIMD). */
  constructor(heap: WasmHeap, relaxedMadd: boolean) {
    const instance = instantiate(buildAttentionModule(heap.importSpec, relaxedMadd), 'wasm attention', heap.memory);
    this.scoresExport = instance.exports.additive_scores as ScoresExport;
    this.backwardExport = instance.exports.additive_scores_bwd as ScoresBackwardExport;
    this.placer = new OperandPlacer(heap);
  }

  readonly additiveScores: AdditiveScoresKernel = (rows, count, n, query, keys, v, hidden, scores) => {
    if (rows === 0 || count === 0) return;
    if (n % 4 !== 0 || !f32(query) || !f32(keys) || !f32(v) || !f32(scores) || (hidden !== null && !f32(hidden))) {
      additiveScoresJs(rows, count, n, query, keys, v, hidden, scores);
      return;
    }
    const o = this.placer;
    o.begin(spanOf(rows, n, query) + spanOf(count, n, keys) + n + spanOf(rows, count, scores) +
      (hidden === null ? 0 : spanOf(rows * count, n, hidden)));
    const hid = hidden === null ? 0 : o.place(hidden, rows * count, n, false, true);
    this.scoresExport(
      rows, count, n, o.place(query, rows, n, true, false), 4 * query.stride, o.place(keys, count, n, true, false), 4 * keys.stride,
      o.place(v, 1, n, true, false), hid, hidden === null ? 0 : 4 * hidden.stride, hidden === null ? 0 : 1,
      o.place(scores, rows, count, false, true), 4 * scores.stride,
    );
    o.finish();
  };

  readonly additiveScoresBackward: AdditiveScoresBackwardKernel = (rows, count, n, hidden, dScores, v, dv, dKeys, dQuery) => {
    if (rows === 0 || count === 0) return;
    if (n % 4 !== 0 || !f32(hidden) || !f32(dScores) || !f32(v) || !f32(dv) || !f32(dKeys) || !f32(dQuery)) {
      additiveScoresBackwardJs(rows, count, n, hidden, dScores, v, dv, dKeys, dQuery);
      return;
    }
    const o = this.placer;
    o.begin(spanOf(rows * count, n, hidden) + spanOf(rows, count, dScores) + 2 * n + spanOf(count, n, dKeys) + spanOf(rows, n, dQuery));
    this.backwardExport(
      rows, count, n, o.place(hidden, rows * count, n, true, false), 4 * hidden.stride,
      o.place(dScores, rows, count, true, false), 4 * dScores.stride, o.place(v, 1, n, true, false),
      o.place(dv, 1, n, true, true), o.place(dKeys, count, n, true, true), 4 * dKeys.stride,
      o.place(dQuery, rows, n, true, true), 4 * dQuery.stride,
    );
    o.finish();
  };
}
