/**
 * The additive attention kernels of the backend seam: the js reference against hand computations,
 * the WebAssembly SIMD ones against the js reference (float32 tolerance) on strided operands (the
 * time-major keys of one batch row), with and without the hidden cache, odd and even key counts, and
 * the fallbacks (float64, n not a multiple of 4).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { additiveScoresBackwardJs, additiveScoresJs } from '../../engine/kernels/attention-js.js';
import type { StridedBuffer } from '../../engine/kernels/types.js';
import { Matrix, fill, type DType } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import { setBackend } from '../../engine/backend.js';
import { createWasmBackend, enableRelaxedSimd, initWasmBackend, type WasmBackend } from '../../engine/wasm/index.js';
import {
  attentionKeysBackward, attentionKeysForward, attentionStepBackward, attentionStepForward, createAttention,
  createAttentionWorkspace, sourceMaskFromLengths,
} from '../../layers/attention/attention.js';

function random(rng: Rng, rows: number, cols: number, dtype: DType = 'float32'): Matrix {
  const m = Matrix.zeros(rows, cols, dtype);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal();
  return m;
}

/** Rows first, first + step, first + 2·step, … of m as a strided buffer (one batch row of a time-major matrix). */
function everyNthRow(m: Matrix, first: number, step: number): StridedBuffer {
  return { data: m.data, offset: m.offset + first * m.stride, stride: step * m.stride };
}

function maxDiff(a: Matrix, b: Matrix): number {
  let worst = 0;
  for (let i = 0; i < a.data.length; i++) {
    if (Number.isNaN(a.data[i]) !== Number.isNaN(b.data[i])) return Infinity;
    if (!Number.isNaN(a.data[i])) worst = Math.max(worst, Math.abs(a.data[i] - b.data[i]));
  }
  return worst;
}

describe('js additive-score kernels against hand computations', () => {
  it('scores: e = Σ_j v_j tanh(q_j + k_j), hidden = the tanh row', () => {
    const q = Matrix.fromArray([[0.5, -1]], 'float64'), k = Matrix.fromArray([[0.25, 2], [0, 0]], 'float64');
    const v = Matrix.fromArray([[2, -3]], 'float64');
    const scores = Matrix.zeros(1, 2, 'float64'), hidden = Matrix.zeros(2, 2, 'float64');
    additiveScoresJs(1, 2, 2, q, k, v, hidden, scores);
    expect(scores.get(0, 0)).toBeCloseTo(2 * Math.tanh(0.75) - 3 * Math.tanh(1), 14);
    expect(scores.get(0, 1)).toBeCloseTo(2 * Math.tanh(0.5) - 3 * Math.tanh(-1), 14);
    expect(hidden.get(1, 1)).toBeCloseTo(Math.tanh(-1), 14);
  });

  it('backward: dv += d·h, dK and dQ += d·v·(1 − h²); a zero dScore adds nothing', () => {
    const hidden = Matrix.fromArray([[0.5], [0.25]], 'float64'); // rows = 1, count = 2, n = 1
    const dScores = Matrix.fromArray([[2, 0]], 'float64'), v = Matrix.fromArray([[3]], 'float64');
    const dv = Matrix.fromArray([[1]], 'float64'), dK = Matrix.zeros(2, 1, 'float64'), dQ = Matrix.fromArray([[10]], 'float64');
    additiveScoresBackwardJs(1, 2, 1, hidden, dScores, v, dv, dK, dQ);
    expect(dv.get(0, 0)).toBe(1 + 2 * 0.5);
    expect(dK.get(0, 0)).toBe(2 * 3 * 0.75);
    expect(dK.get(1, 0)).toBe(0);
    expect(dQ.get(0, 0)).toBe(10 + 2 * 3 * 0.75);
  });
});

describe('wasm additive-score kernels against the js reference', () => {
  let wasm: WasmBackend;
  beforeAll(() => {
    wasm = createWasmBackend({ relaxedSimd: false, name: 'wasm-attention-test' });
  });

  for (const [rows, count, n] of [[1, 7, 16], [5, 6, 128], [3, 1, 4], [2, 9, 36]]) {
    it(`scores, rows ${rows}, keys ${count}, n ${n}: time-major keys of one batch row, hidden cached or not`, () => {
      const rng = new Rng(rows * 100 + count);
      const B = 3, b = 1;
      const q = random(rng, rows, n), keys = random(rng, count * B, n), v = random(rng, 1, n);
      for (const cache of [true, false]) {
        const out = (): { scores: Matrix; hidden: Matrix | null } => ({
          scores: fill(Matrix.zeros(rows, count + 2), NaN), hidden: cache ? Matrix.zeros(rows * count, n) : null,
        });
        const ref = out(), got = out();
        additiveScoresJs(rows, count, n, q, everyNthRow(keys, b, B), v, ref.hidden, ref.scores);
        wasm.additiveScores!(rows, count, n, q, everyNthRow(keys, b, B), v, got.hidden, got.scores);
        expect(maxDiff(got.scores, ref.scores)).toBeLessThan(1e-5 * Math.sqrt(n));
        if (cache) expect(maxDiff(got.hidden!, ref.hidden!)).toBeLessThan(1e-6);
        expect(Number.isNaN(got.scores.get(0, count))).toBe(true); // the columns past count are left alone
      }
    });

    it(`backward, rows ${rows}, keys ${count}, n ${n}: accumulates as the js reference`, () => {
      const rng = new Rng(rows * 31 + count);
      const hidden = Matrix.zeros(rows * count, n);
      for (let i = 0; i < hidden.data.length; i++) hidden.data[i] = Math.tanh(2 * rng.normal());
      const dScores = random(rng, rows, count), v = random(rng, 1, n);
      dScores.set(0, 0, 0);
      const grads = () => ({ dv: random(new Rng(5), 1, n), dK: random(new Rng(6), count, n), dQ: random(new Rng(7), rows, n) });
      const ref = grads(), got = grads();
      additiveScoresBackwardJs(rows, count, n, hidden, dScores, v, ref.dv, ref.dK, ref.dQ);
      wasm.additiveScoresBackward!(rows, count, n, hidden, dScores, v, got.dv, got.dK, got.dQ);
      expect(maxDiff(got.dv, ref.dv)).toBeLessThan(1e-5);
      expect(maxDiff(got.dK, ref.dK)).toBeLessThan(1e-5);
      expect(maxDiff(got.dQ, ref.dQ)).toBeLessThan(1e-5);
    });
  }

  it('the tanh (rational, mul + add and fused where relaxed SIMD is on) is within 1e−6 of Math.tanh on [−12, 12], saturates, keeps NaN', async () => {
    const backends = [wasm];
    if (await enableRelaxedSimd()) backends.push(createWasmBackend({ relaxedSimd: true, name: 'wasm-attention-relaxed' }));
    const n = 4, count = 6001;
    const q = Matrix.zeros(1, n), v = Matrix.fromArray([[1, 0, 0, 0]]), keys = Matrix.zeros(count, n);
    for (let i = 0; i < count; i++) keys.set(i, 0, -12 + (24 * i) / (count - 1));
    keys.set(0, 0, NaN);
    keys.set(1, 0, 1e30);
    for (const backend of backends) {
      const hidden = Matrix.zeros(count, n), scores = Matrix.zeros(1, count);
      backend.additiveScores!(1, count, n, q, keys, v, hidden, scores);
      expect(scores.get(0, 0)).toBeNaN();
      expect(scores.get(0, 1)).toBeCloseTo(1, 6);
      let worst = 0;
      for (let i = 2; i < count; i++) worst = Math.max(worst, Math.abs(scores.get(0, i) - Math.tanh(keys.get(i, 0))));
      expect(worst).toBeLessThan(1e-6);
      expect(hidden.get(count - 1, 1)).toBe(0); // tanh(0 + 0)
    }
  });

  it('float64 and n not a multiple of 4 go to the js kernels (bit for bit)', () => {
    const rng = new Rng(4);
    for (const [dtype, n] of [['float64', 8], ['float32', 6]] as const) {
      const q = random(rng, 2, n, dtype), keys = random(rng, 3, n, dtype), v = random(rng, 1, n, dtype);
      const ref = Matrix.zeros(2, 3, dtype), got = Matrix.zeros(2, 3, dtype);
      additiveScoresJs(2, 3, n, q, keys, v, null, ref);
      wasm.additiveScores!(2, 3, n, q, keys, v, null, got);
      expect(Array.from(got.data)).toEqual(Array.from(ref.data));
    }
  });
});

describe('the additive attention layer on wasm agrees with js', () => {
  it('forward α, c and backward dQuery, dH, dW, dU, db, dv over 3 decoder steps with a ragged source mask (1e−4)', async () => {
    await initWasmBackend();
    const Tx = 5, Ty = 3, B = 3, nS = 8, nH = 12, nAtt = 16;
    const run = (backend: string) => {
      const previous = setBackend(backend);
      try {
        const layer = createAttention({ score: 'additive', querySize: nS, encoderSize: nH, attentionSize: nAtt }, { rng: new Rng(1) });
        const rng = new Rng(2);
        const H = random(rng, Tx * B, nH), queries = [0, 1, 2].map(() => random(rng, B, nS)), dContexts = [0, 1, 2].map(() => random(rng, B, nH));
        const ws = createAttentionWorkspace(layer, Tx, Ty, B);
        attentionKeysForward(ws, H, sourceMaskFromLengths([5, 3, 1], Tx));
        const contexts = queries.map((q, t) => attentionStepForward(Matrix.zeros(B, nH), ws, t, q).clone());
        const dH = Matrix.zeros(Tx * B, nH), dQueries = queries.map(() => Matrix.zeros(B, nS));
        for (let t = Ty - 1; t >= 0; t--) attentionStepBackward(dQueries[t], dH, ws, t, dContexts[t]);
        attentionKeysBackward(dH, ws);
        return [...contexts, ws.alpha.clone(), dH, ...dQueries, ...Object.values(layer.grads).map((g) => g.clone())];
      } finally {
        setBackend(previous);
      }
    };
    const ref = run('js'), got = run('wasm');
    expect(got.length).toBe(ref.length);
    for (let k = 0; k < ref.length; k++) {
      let scale = 1;
      for (let i = 0; i < ref[k].data.length; i++) scale = Math.max(scale, Math.abs(ref[k].data[i]));
      expect(maxDiff(got[k], ref[k]) / scale).toBeLessThan(1e-4);
    }
    expect(ref[3].get(2, 1)).toBe(0); // α of a masked position is exactly 0 on both
    expect(got[3].get(2, 1)).toBe(0);
  });
});
