/**
 * The plain-JS reference of the token-step kernels (kernels/types.ts' TokenStepKernels): exactly a
 * cell's stepForward with one row — the js GEMM, then the js gate kernel — so a token step on js gives
 * the bits of the generic step. The caches a gate kernel writes (the activated gates, tanh c, h_n)
 * go to `work`, the state is updated in place (each kernel reads an entry of the old state before it
 * writes the same entry, so in place is safe for one row).
 */
import type { StridedBuffer, TokenLayer, TokenStepKernels } from './types.js';
import { gemmJs } from './gemm-js.js';
import { gruGatesForwardJs, lstmGatesForwardJs, rnnReluForwardJs, rnnTanhForwardJs } from './gates-js.js';
import { addBiasJs } from './vector-js.js';

/** The view of `n` floats of `buffer` from float `at` on (a vector: stride = its width). */
function slice(buffer: StridedBuffer, at: number, n: number): StridedBuffer {
  return { data: buffer.data, offset: buffer.offset + at, stride: n };
}

/** y [n] = x [k]·Wᵀ — one row of the GEMM (W [n, k]). */
function rowTimesTransposed(n: number, k: number, w: StridedBuffer, x: StridedBuffer, y: StridedBuffer): void {
  gemmJs(1, n, k, 1, x.data, x.offset, k, false, w.data, w.offset, w.stride, true, 0, y.data, y.offset, n);
}

/** `layer`'s step through k's per-call methods (the js kernels' bindStep; a backend's where it cannot bind). */
export function stepPerCall(k: TokenStepKernels, layer: TokenLayer): (xp: StridedBuffer) => void {
  switch (layer.kind) {
    case 'lstm': return (xp) => k.lstmStep(layer.H, layer.wa, xp, layer.a, layer.c, layer.work);
    case 'gru': return (xp) => k.gruStep(layer.H, layer.wa, layer.ba, xp, layer.s, layer.work);
    case 'rnn': return (xp) => k.rnnStep(layer.H, layer.wa, xp, layer.a, layer.work, layer.relu);
  }
}

/**
 * The js token kernels. The vector views are made per call (a few small objects): the js backend is
 * the reference, not the fast path.
 */
export const tokenStepsJs: TokenStepKernels = {
  recurrentWeights: (wa) => wa,

  denseRow(n, k, w, x, b, y) {
    rowTimesTransposed(n, k, w, x, y);
    if (b) addBiasJs(1, n, y, y, b);
  },

  lstmStep(H, wa, xp, a, c, work) {
    const z = slice(work, 0, 4 * H);
    rowTimesTransposed(4 * H, H, wa, a, z);
    lstmGatesForwardJs(1, H, z, xp, c, c, a, slice(work, 4 * H, H));
  },

  gruStep(H, wa, ba, xp, s, work) {
    const hp = slice(work, 0, 3 * H);
    rowTimesTransposed(3 * H, H, wa, s, hp);
    gruGatesForwardJs(1, H, hp, ba, xp, s, slice(work, 3 * H, 3 * H), slice(work, 6 * H, H), s);
  },

  rnnStep(H, wa, xp, a, work, relu) {
    const z = slice(work, 0, H);
    rowTimesTransposed(H, H, wa, a, z);
    (relu ? rnnReluForwardJs : rnnTanhForwardJs)(1, H, z, xp);
    for (let j = 0; j < H; j++) a.data[a.offset + j] = z.data[z.offset + j];
  },

  bindStep(layer) {
    return stepPerCall(tokenStepsJs, layer);
  },

  bindDenseRow(n, k, w, b, y) {
    return (x) => tokenStepsJs.denseRow(n, k, w, x, b, y);
  },
};
