/**
 * The token-step kernels of batch-1 sampling (TokenStepKernels): the wasm module against the js
 * reference (the js GEMM + gate kernels of one row) at float32 tolerance, against the wasm backend's
 * own GEMM + gate kernels (the generic cell step) as closely, state updated in place, W_a packed by
 * recurrentWeights; operands outside the heap go to the js kernels and give their bits.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Matrix, Rng, setBackend } from '../../engine/index.js';
import { gemm } from '../../engine/gemm.js';
import { addBias } from '../../engine/ops.js';
import { gruGatesForwardKernel, lstmGatesForwardKernel, rnnReluForwardKernel, rnnTanhForwardKernel } from '../../engine/backend.js';
import { tokenStepsJs } from '../../engine/kernels/token-js.js';
import { initWasmBackend, type WasmBackend } from '../../engine/wasm/index.js';

let wasm: WasmBackend;
beforeAll(async () => {
  wasm = (await initWasmBackend()) as WasmBackend;
});

function onWasm<T>(fn: () => T): T {
  setBackend('wasm');
  try {
    return fn();
  } finally {
    setBackend('js');
  }
}

/** A [rows, cols] matrix in the wasm heap with N(0, scale²) entries, and a plain copy. */
function pair(rng: Rng, rows: number, cols: number, scale = 1): [Matrix, Matrix] {
  const m = onWasm(() => Matrix.zeros(rows, cols));
  for (let i = 0; i < m.data.length; i++) m.data[i] = scale * rng.normal();
  return [m, new Matrix(rows, cols, Float32Array.from(m.data))];
}

function maxDiff(a: Matrix, b: Matrix): number {
  let d = 0;
  for (let i = 0; i < a.data.length; i++) d = Math.max(d, Math.abs(a.data[i] - b.data[i]));
  return d;
}

function scratch(H: number): [Matrix, Matrix] {
  return [onWasm(() => Matrix.zeros(1, 8 * H)), Matrix.zeros(1, 8 * H)];
}

describe('token-step kernels: wasm against js', () => {
  it('denseRow: y = W·x + b for odd and even n, k (row tails, k tails), with and without a bias', () => {
    const rng = new Rng(1);
    const calls = wasm.tokenSteps.wasmCalls;
    let count = 0;
    for (const n of [1, 3, 4, 7, 65, 130]) {
      for (const k of [1, 3, 4, 7, 64, 130]) {
        const [w, wj] = pair(rng, n, k, 0.3), [x, xj] = pair(rng, 1, k), [b, bj] = pair(rng, 1, n);
        for (const bias of [true, false]) {
          const [y, yj] = pair(rng, 1, n);
          wasm.tokenSteps.denseRow(n, k, w, x, bias ? b : null, y);
          tokenStepsJs.denseRow(n, k, wj, xj, bias ? bj : null, yj);
          count++;
          // |y| ~ √k·0.3: float32 sums in another order
          expect(maxDiff(y, yj)).toBeLessThan(1e-5 * Math.sqrt(k) + 1e-6);
          // and the wasm backend's own GEMM (+ bias add) of one row
          const [g] = pair(rng, 1, n);
          onWasm(() => {
            gemm(g, x, w, false, true);
            if (bias) addBias(g, g, b);
          });
          expect(maxDiff(y, g)).toBeLessThan(1e-5 * Math.sqrt(k) + 1e-6);
        }
      }
    }
    expect(wasm.tokenSteps.wasmCalls - calls).toBe(count);
  });

  it('a strided W (a column view) is read with its row stride', () => {
    const rng = new Rng(2);
    const [parent, parentJ] = pair(rng, 12, 20, 0.5);
    const w = parent.colView(3, 8), wj = parentJ.colView(3, 8);
    const [x, xj] = pair(rng, 1, 8), [y, yj] = pair(rng, 1, 12);
    wasm.tokenSteps.denseRow(12, 8, w, x, null, y);
    tokenStepsJs.denseRow(12, 8, wj, xj, null, yj);
    expect(maxDiff(y, yj)).toBeLessThan(1e-5);
  });

  for (const H of [4, 12, 128]) {
    it(`lstmStep H ${H}: a, c in place as the GEMM + gate kernels give them (js and wasm)`, () => {
      const rng = new Rng(3 + H);
      const [wa, waj] = pair(rng, 4 * H, H, 1 / Math.sqrt(H)), [xp, xpj] = pair(rng, 1, 4 * H);
      const [a, aj] = pair(rng, 1, H, 0.5), [c, cj] = pair(rng, 1, H, 0.5);
      const [work, workj] = scratch(H);
      // the generic step on the wasm backend (new state in other buffers)
      const [z] = pair(rng, 1, 4 * H), [cn] = pair(rng, 1, H), [an] = pair(rng, 1, H), [tc] = pair(rng, 1, H);
      onWasm(() => {
        gemm(z, a, wa, false, true);
        lstmGatesForwardKernel()(1, H, z, xp, c, cn, an, tc);
      });
      const calls = wasm.tokenSteps.wasmCalls;
      wasm.tokenSteps.lstmStep(H, wasm.tokenSteps.recurrentWeights(wa, 4 * H, H), xp, a, c, work);
      tokenStepsJs.lstmStep(H, waj, xpj, aj, cj, workj);
      expect(wasm.tokenSteps.wasmCalls - calls).toBe(1);
      expect(maxDiff(a, aj)).toBeLessThan(1e-5);
      expect(maxDiff(c, cj)).toBeLessThan(1e-5);
      expect(maxDiff(a, an)).toBeLessThan(1e-5);
      expect(maxDiff(c, cn)).toBeLessThan(1e-5);
    });

    it(`gruStep H ${H}: the reset-after GRU's new state in place`, () => {
      const rng = new Rng(5 + H);
      const [wa, waj] = pair(rng, 3 * H, H, 1 / Math.sqrt(H)), [ba, baj] = pair(rng, 1, 3 * H), [xp, xpj] = pair(rng, 1, 3 * H);
      const [s, sj] = pair(rng, 1, H, 0.5);
      const [work, workj] = scratch(H);
      const [hp] = pair(rng, 1, 3 * H), [gates] = pair(rng, 1, 3 * H), [hpn] = pair(rng, 1, H), [sn] = pair(rng, 1, H);
      onWasm(() => {
        gemm(hp, s, wa, false, true);
        gruGatesForwardKernel()(1, H, hp, ba, xp, s, gates, hpn, sn);
      });
      const calls = wasm.tokenSteps.wasmCalls;
      wasm.tokenSteps.gruStep(H, wasm.tokenSteps.recurrentWeights(wa, 3 * H, H), ba, xp, s, work);
      expect(wasm.tokenSteps.wasmCalls - calls).toBe(1);
      tokenStepsJs.gruStep(H, waj, baj, xpj, sj, workj);
      expect(maxDiff(s, sj)).toBeLessThan(1e-5);
      expect(maxDiff(s, sn)).toBeLessThan(1e-5);
    });

    for (const relu of [false, true]) {
      it(`rnnStep H ${H} ${relu ? 'ReLU' : 'tanh'}: a ← g(W_a·a + xp) in place`, () => {
        const rng = new Rng(7 + H);
        const [wa, waj] = pair(rng, H, H, 1 / Math.sqrt(H)), [xp, xpj] = pair(rng, 1, H);
        const [a, aj] = pair(rng, 1, H);
        const [work, workj] = scratch(H);
        const [an] = pair(rng, 1, H);
        onWasm(() => {
          gemm(an, a, wa, false, true);
          (relu ? rnnReluForwardKernel : rnnTanhForwardKernel)()(1, H, an, xp);
        });
        const calls = wasm.tokenSteps.wasmCalls;
        wasm.tokenSteps.rnnStep(H, wasm.tokenSteps.recurrentWeights(wa, H, H), xp, a, work, relu);
        expect(wasm.tokenSteps.wasmCalls - calls).toBe(1);
        tokenStepsJs.rnnStep(H, waj, xpj, aj, workj, relu);
        expect(maxDiff(a, aj)).toBeLessThan(1e-5);
        expect(maxDiff(a, an)).toBeLessThan(1e-5);
        if (relu) expect(a.data.some((v) => v === 0)).toBe(true); // some units cut at 0
      });
    }
  }

  it('operands outside the heap (a plain array), H not a multiple of 4, or W_a not packed go to the js kernels: their bits', () => {
    const rng = new Rng(9);
    for (const [H, packed, plainWork] of [[6, true, false], [8, true, true], [8, false, false]] as const) {
      const [wa, waj] = pair(rng, 4 * H, H, 0.3), [xp, xpj] = pair(rng, 1, 4 * H);
      const [a, aj] = pair(rng, 1, H), [c, cj] = pair(rng, 1, H);
      const work = plainWork ? Matrix.zeros(1, 8 * H) : onWasm(() => Matrix.zeros(1, 8 * H)), workj = Matrix.zeros(1, 8 * H);
      const jsCalls = wasm.tokenSteps.jsCalls;
      // a packed copy hands the js kernels the W_a it came from
      wasm.tokenSteps.lstmStep(H, packed ? wasm.tokenSteps.recurrentWeights(wa, 4 * H, H) : wa, xp, a, c, work);
      tokenStepsJs.lstmStep(H, waj, xpj, aj, cj, workj);
      expect(wasm.tokenSteps.jsCalls - jsCalls).toBe(1);
      expect(Array.from(a.data)).toEqual(Array.from(aj.data));
      expect(Array.from(c.data)).toEqual(Array.from(cj.data));
    }
  });

  it('bindStep and bindDenseRow give the per-call steps\' bits, token after token (lstm, gru, rnn; wasm and js)', () => {
    const rng = new Rng(11);
    const H = 12, steps = 4;
    for (const kernels of [wasm.tokenSteps, tokenStepsJs]) {
      const [wa] = pair(rng, 4 * H, H, 0.3), [ba] = pair(rng, 1, 4 * H), [w, wj] = pair(rng, 5, H), [b] = pair(rng, 1, 5);
      const packed = kernels.recurrentWeights(wa, 4 * H, H), packed3 = kernels.recurrentWeights(wa.rowView(0, 3 * H), 3 * H, H);
      const packed1 = kernels.recurrentWeights(wa.rowView(0, H), H, H);
      const twoStreams = () => {
        const [a] = pair(rng, 1, H, 0.5), [c] = pair(rng, 1, H, 0.5), [work] = scratch(H);
        return { a, c, work, a2: onWasm(() => a.clone()), c2: onWasm(() => c.clone()), work2: scratch(H)[0] };
      };
      const l = twoStreams(), g = twoStreams(), r = twoStreams();
      const lstm = kernels.bindStep({ kind: 'lstm', H, wa: packed, a: l.a, c: l.c, work: l.work });
      const gru = kernels.bindStep({ kind: 'gru', H, wa: packed3, ba: ba.rowView(0, 1), s: g.a, work: g.work });
      const rnn = kernels.bindStep({ kind: 'rnn', H, wa: packed1, a: r.a, work: r.work, relu: false });
      const [y] = pair(rng, 1, 5), [y2] = pair(rng, 1, 5);
      const head = kernels.bindDenseRow(5, H, w, b, y);
      const wasmCalls = wasm.tokenSteps.wasmCalls, jsCalls = wasm.tokenSteps.jsCalls;
      for (let t = 0; t < steps; t++) {
        const [xp] = pair(rng, 1, 4 * H);
        lstm(xp);
        kernels.lstmStep(H, packed, xp, l.a2, l.c2, l.work2);
        gru(xp);
        kernels.gruStep(H, packed3, ba, xp, g.a2, g.work2);
        rnn(xp);
        kernels.rnnStep(H, packed1, xp, r.a2, r.work2, false);
        head(l.a);
        kernels.denseRow(5, H, w, l.a2, b, y2);
        for (const [m, m2] of [[l.a, l.a2], [l.c, l.c2], [g.a, g.a2], [r.a, r.a2], [y, y2]]) expect(Array.from(m.data)).toEqual(Array.from(m2.data));
      }
      expect(Array.from(w.data)).toEqual(Array.from(wj.data)); // W unchanged
      if (kernels === wasm.tokenSteps) {
        // every call, bound and per call, ran in WebAssembly (the bound ones did not fall back)
        expect(wasm.tokenSteps.wasmCalls - wasmCalls).toBe(8 * steps);
        expect(wasm.tokenSteps.jsCalls - jsCalls).toBe(0);
      }
    }
  });

  it('a bound step whose input row is outside the heap runs that call on the js kernels', () => {
    const rng = new Rng(12);
    const H = 8;
    const [wa, waj] = pair(rng, 4 * H, H, 0.3), [xp, xpj] = pair(rng, 1, 4 * H);
    const [a, aj] = pair(rng, 1, H), [c, cj] = pair(rng, 1, H), [work, workj] = scratch(H);
    const step = wasm.tokenSteps.bindStep({ kind: 'lstm', H, wa: wasm.tokenSteps.recurrentWeights(wa, 4 * H, H), a, c, work });
    const jsCalls = wasm.tokenSteps.jsCalls;
    step(xpj); // a plain array
    tokenStepsJs.lstmStep(H, waj, xp, aj, cj, workj);
    expect(wasm.tokenSteps.jsCalls - jsCalls).toBe(1);
    expect(Array.from(a.data)).toEqual(Array.from(aj.data));
    expect(Array.from(c.data)).toEqual(Array.from(cj.data));
  });

  it('recurrentWeights packs W_a into panels of 16 rows, column by column, zero rows past the end (js: W_a itself)', () => {
    const rng = new Rng(10);
    const [wa] = pair(rng, 36, 5);
    expect(tokenStepsJs.recurrentWeights(wa, 36, 5)).toBe(wa);
    const p = wasm.tokenSteps.recurrentWeights(wa, 36, 5);
    expect(p.data.length).toBe(48 * 5);
    for (let r = 0; r < 48; r++) {
      for (let k = 0; k < 5; k++) {
        const at = Math.floor(r / 16) * 16 * 5 + k * 16 + (r % 16);
        expect(p.data[at]).toBe(r < 36 ? wa.get(r, k) : 0);
      }
    }
    const plain = new Matrix(36, 5, Float32Array.from(wa.data));
    expect(wasm.tokenSteps.recurrentWeights(plain, 36, 5)).toBe(plain); // not in the heap: not packed
  });
});
