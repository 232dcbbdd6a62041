/**
 * The backend seam's fused gate kernels: the js reference against hand computations, the
 * WebAssembly SIMD ones against the js reference (1e−5), their exp against Math.exp, the
 * fallbacks (float64, H not a multiple of 4, a backend without the slots), and whole cells on
 * 'wasm' against 'js'.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  gruGatesForwardKernel, jsBackend, lstmGatesBackwardKernel, lstmGatesForwardKernel, registerBackend,
  rnnTanhForwardKernel, setBackend, withConstantOperands, type Backend,
} from '../../engine/backend.js';
import { gemm } from '../../engine/gemm.js';
import {
  gruFullCandidateForwardJs, gruFullGatesForwardJs, gruGatesBackwardJs, gruGatesForwardJs, lstmGatesBackwardJs, lstmGatesForwardJs, rnnTanhBackwardJs, rnnTanhForwardJs,
} from '../../engine/kernels/gates-js.js';
import { Matrix, type DType } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import { createWasmBackend, initWasmBackend, type WasmBackend } from '../../engine/wasm/index.js';
import type { CellKind } from '../../layers/cells/cell.js';
import { createCell } from '../../layers/cells/create-cell.js';
import { createSequenceWorkspace, sequenceBackward, sequenceForward } from '../../layers/sequence.js';

function random(rng: Rng, rows: number, cols: number, scale = 2, dtype: DType = 'float32'): Matrix {
  const m = Matrix.zeros(rows, cols, dtype);
  for (let i = 0; i < m.data.length; i++) m.data[i] = scale * rng.normal();
  return m;
}

/** A [rows, cols] view with gaps: columns 3 … 3+cols of a wider matrix, rows 1 … of a taller one, NaN around it. */
function stridedView(rng: Rng, rows: number, cols: number): Matrix {
  const big = Matrix.zeros(rows + 2, cols + 7);
  big.data.fill(NaN);
  const view = big.rowView(1, rows).colView(3, cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) view.set(r, c, 2 * rng.normal());
  return view;
}

function maxAbsDiff(a: Matrix, b: Matrix): number {
  let worst = 0;
  for (let r = 0; r < a.rows; r++) for (let c = 0; c < a.cols; c++) worst = Math.max(worst, Math.abs(a.get(r, c) - b.get(r, c)));
  return worst;
}

/** Relative to the larger magnitude (gradients can exceed 1). */
function relDiff(a: Matrix, b: Matrix): number {
  let scale = 0;
  for (let r = 0; r < b.rows; r++) for (let c = 0; c < b.cols; c++) scale = Math.max(scale, Math.abs(b.get(r, c)));
  return maxAbsDiff(a, b) / Math.max(scale, 1);
}

/** Every entry of the parent outside the view is still what it was (NaN stays NaN). */
function gapsUnchanged(view: Matrix, before: Float32Array | Float64Array): boolean {
  for (let i = 0; i < view.data.length; i++) {
    const r = Math.floor((i - view.offset) / view.stride), c = (i - view.offset) - r * view.stride;
    const inside = i >= view.offset && r < view.rows && c >= 0 && c < view.cols;
    if (!inside && !Object.is(view.data[i], before[i])) return false;
  }
  return true;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

describe('js gate kernels against hand computations', () => {
  it('LSTM forward: z = xp = 0, c⟨t−1⟩ = 1 gives gates [½ ½ 0 ½], c = ½, a = ½·tanh ½', () => {
    const H = 2;
    const z = Matrix.zeros(1, 4 * H), xp = Matrix.zeros(1, 4 * H, 'float64');
    const z64 = Matrix.zeros(1, 4 * H, 'float64');
    const cPrev = Matrix.fromArray([[1, 1]], 'float64');
    const c = Matrix.zeros(1, H, 'float64'), a = Matrix.zeros(1, H, 'float64'), t = Matrix.zeros(1, H, 'float64');
    lstmGatesForwardJs(1, H, z64, xp, cPrev, c, a, t);
    expect(Array.from(z64.data)).toEqual([0.5, 0.5, 0.5, 0.5, 0, 0, 0.5, 0.5]);
    expect(Array.from(c.data)).toEqual([0.5, 0.5]);
    expect(a.get(0, 0)).toBeCloseTo(0.5 * Math.tanh(0.5), 15);
    expect(z.data.every((v) => v === 0)).toBe(true);
  });

  it('LSTM forward: gate pre-activations add z and xp; c = Γu·c̃ + Γf·c⟨t−1⟩', () => {
    const z = Matrix.fromArray([[0.3, -1, 0.2, 2]], 'float64'), xp = Matrix.fromArray([[0.1, 0.5, -0.6, -1]], 'float64');
    const cPrev = Matrix.fromArray([[-0.7]], 'float64');
    const c = Matrix.zeros(1, 1, 'float64'), a = Matrix.zeros(1, 1, 'float64'), t = Matrix.zeros(1, 1, 'float64');
    lstmGatesForwardJs(1, 1, z, xp, cPrev, c, a, t);
    const gi = sigmoid(0.4), gf = sigmoid(-0.5), gg = Math.tanh(-0.4), go = sigmoid(1);
    const cn = gi * gg + gf * -0.7;
    expect(c.get(0, 0)).toBeCloseTo(cn, 14);
    expect(a.get(0, 0)).toBeCloseTo(go * Math.tanh(cn), 14);
  });

  it('LSTM backward: da only reaches Γo through tanh c; dc flows to c⟨t−1⟩ through Γf', () => {
    // gates [Γu Γf c̃ Γo] = [0.5, 0.25, 0.8, 0.4], tanhC = 0.6, c⟨t−1⟩ = 2, da = 1, dc = 0
    const gates = Matrix.fromArray([[0.5, 0.25, 0.8, 0.4]], 'float64'), tanhC = Matrix.fromArray([[0.6]], 'float64');
    const cPrev = Matrix.fromArray([[2]], 'float64'), da = Matrix.fromArray([[1]], 'float64'), dc = Matrix.fromArray([[0]], 'float64');
    const dz = Matrix.zeros(1, 4, 'float64'), dcp = Matrix.zeros(1, 1, 'float64');
    lstmGatesBackwardJs(1, 1, gates, tanhC, cPrev, da, dc, dz, dcp);
    const dC = 0.4 * (1 - 0.36); // da·Γo·(1 − tanh²c)
    expect(dz.get(0, 3)).toBeCloseTo(0.6 * 0.4 * 0.6, 15); // da·tanh c·Γo(1 − Γo)
    expect(dz.get(0, 0)).toBeCloseTo(dC * 0.8 * 0.25, 15); // dC·c̃·Γu(1 − Γu)
    expect(dz.get(0, 1)).toBeCloseTo(dC * 2 * 0.25 * 0.75, 15); // dC·c⟨t−1⟩·Γf(1 − Γf)
    expect(dz.get(0, 2)).toBeCloseTo(dC * 0.5 * (1 - 0.64), 15); // dC·Γu·(1 − c̃²)
    expect(dcp.get(0, 0)).toBeCloseTo(dC * 0.25, 15);
  });

  it('GRU (reset-after) forward: n = tanh(xp_n + r·(hp_n + b_an)), h = (1 − z)·n + z·h⟨t−1⟩', () => {
    const hp = Matrix.fromArray([[0.2, -0.3, 0.5]], 'float64'), bias = Matrix.fromArray([[0.1, 0.1, -0.2]], 'float64');
    const xp = Matrix.fromArray([[-0.4, 0.6, 0.7]], 'float64'), hPrev = Matrix.fromArray([[0.9]], 'float64');
    const gates = Matrix.zeros(1, 3, 'float64'), hpn = Matrix.zeros(1, 1, 'float64'), h = Matrix.zeros(1, 1, 'float64');
    gruGatesForwardJs(1, 1, hp, bias, xp, hPrev, gates, hpn, h);
    const r = sigmoid(-0.1), z = sigmoid(0.4), n = Math.tanh(0.7 + r * 0.3);
    expect(gates.toArray()[0].map((v) => +v.toFixed(12))).toEqual([r, z, n].map((v) => +v.toFixed(12)));
    expect(hpn.get(0, 0)).toBeCloseTo(0.3, 15);
    expect(h.get(0, 0)).toBeCloseTo((1 - z) * n + z * 0.9, 14);
  });

  it('RNN tanh: a ← tanh(a + xp)', () => {
    const a = Matrix.fromArray([[0.5, -2]], 'float64'), xp = Matrix.fromArray([[0.25, 1]], 'float64');
    rnnTanhForwardJs(1, 2, a, xp);
    expect(a.get(0, 0)).toBeCloseTo(Math.tanh(0.75), 15);
    expect(a.get(0, 1)).toBeCloseTo(Math.tanh(-1), 15);
  });
});

describe('wasm gate kernels against the js ones (1e−5)', () => {
  let wasm: WasmBackend;
  beforeAll(() => {
    wasm = createWasmBackend({ relaxedSimd: false, name: 'wasm gates test' });
  });

  it('exp: within 2 ulp of Math.exp on [−87, 88]; clamped beyond, never inf or NaN; NaN stays NaN', () => {
    const n = 40001;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = -87 + (175 * i) / (n - 1);
    const out = new Float32Array(n);
    wasm.gates.exp(out, x);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(out[i] - Math.exp(x[i])) / Math.exp(x[i]));
    expect(worst).toBeLessThan(2 * 2 ** -23);
    const edges = new Float32Array([-1000, 1000, NaN, 0]);
    const got = new Float32Array(4);
    wasm.gates.exp(got, edges);
    expect(got[0]).toBeGreaterThanOrEqual(0);
    expect(got[0]).toBeLessThan(1e-37);
    expect(Number.isFinite(got[1]) && got[1] > 1e38).toBe(true);
    expect(got[2]).toBeNaN();
    expect(got[3]).toBe(1);
  });

  for (const [rows, H] of [[1, 4], [3, 12], [32, 128]]) {
    it(`LSTM forward and backward, ${rows} × ${H}, strided views`, () => {
      const rng = new Rng(rows * 100 + H);
      const z = stridedView(rng, rows, 4 * H), xp = stridedView(rng, rows, 4 * H), cPrev = stridedView(rng, rows, H);
      const outs = () => [stridedView(rng, rows, H), stridedView(rng, rows, H), stridedView(rng, rows, H)];
      const [c1, a1, t1] = outs(), [c2, a2, t2] = outs();
      const z1 = z.clone(), z2 = z.clone();
      const zParent = z2.data.slice();
      lstmGatesForwardJs(rows, H, z1, xp, cPrev, c1, a1, t1);
      const cBefore = c2.data.slice();
      wasm.lstmGatesForward!(rows, H, z2, xp, cPrev, c2, a2, t2);
      for (const [got, ref] of [[z2, z1], [c2, c1], [a2, a1], [t2, t1]]) expect(maxAbsDiff(got, ref)).toBeLessThan(1e-5);
      expect(maxAbsDiff(z2, z1)).toBeGreaterThan(0); // really another implementation
      expect(gapsUnchanged(c2, cBefore)).toBe(true);
      expect(zParent.length).toBe(z2.data.length);

      const da = stridedView(rng, rows, H), dc = stridedView(rng, rows, H);
      const [dz1, dz2] = [stridedView(rng, rows, 4 * H), stridedView(rng, rows, 4 * H)];
      const [dcp1, dcp2] = [stridedView(rng, rows, H), stridedView(rng, rows, H)];
      const dzBefore = dz2.data.slice();
      lstmGatesBackwardJs(rows, H, z1, t1, cPrev, da, dc, dz1, dcp1);
      wasm.lstmGatesBackward!(rows, H, z1, t1, cPrev, da, dc, dz2, dcp2);
      expect(relDiff(dz2, dz1)).toBeLessThan(1e-5);
      expect(relDiff(dcp2, dcp1)).toBeLessThan(1e-5);
      expect(gapsUnchanged(dz2, dzBefore)).toBe(true);
    });

    it(`GRU (reset-after) forward and backward, ${rows} × ${H}, strided views`, () => {
      const rng = new Rng(rows * 7 + H);
      const hp = stridedView(rng, rows, 3 * H), bias = random(rng, 1, 3 * H), xp = stridedView(rng, rows, 3 * H);
      const hPrev = stridedView(rng, rows, H);
      const outs = () => [stridedView(rng, rows, 3 * H), stridedView(rng, rows, H), stridedView(rng, rows, H)];
      const [g1, n1, h1] = outs(), [g2, n2, h2] = outs();
      const hBefore = h2.data.slice();
      gruGatesForwardJs(rows, H, hp, bias, xp, hPrev, g1, n1, h1);
      wasm.gruGatesForward!(rows, H, hp, bias, xp, hPrev, g2, n2, h2);
      for (const [got, ref] of [[g2, g1], [n2, n1], [h2, h1]]) expect(relDiff(got, ref)).toBeLessThan(1e-5);
      expect(gapsUnchanged(h2, hBefore)).toBe(true);

      const dh = stridedView(rng, rows, H);
      const b1 = [stridedView(rng, rows, 3 * H), stridedView(rng, rows, 3 * H), stridedView(rng, rows, H)];
      const b2 = [stridedView(rng, rows, 3 * H), stridedView(rng, rows, 3 * H), stridedView(rng, rows, H)];
      gruGatesBackwardJs(rows, H, g1, n1, hPrev, dh, b1[0], b1[1], b1[2]);
      wasm.gruGatesBackward!(rows, H, g1, n1, hPrev, dh, b2[0], b2[1], b2[2]);
      for (let k = 0; k < 3; k++) expect(relDiff(b2[k], b1[k])).toBeLessThan(1e-5);
    });

    it(`full GRU forward (gates, then candidate), ${rows} × ${H}, strided views`, () => {
      const rng = new Rng(rows * 13 + H);
      const gates = stridedView(rng, rows, 3 * H), xp = stridedView(rng, rows, 3 * H), cPrev = stridedView(rng, rows, H);
      const g1 = gates.clone(), g2 = gates.clone();
      const [rs1, rs2] = [stridedView(rng, rows, H), stridedView(rng, rows, H)];
      const rsBefore = rs2.data.slice();
      gruFullGatesForwardJs(rows, H, g1, xp, cPrev, rs1);
      wasm.gruFullGatesForward!(rows, H, g2, xp, cPrev, rs2);
      expect(maxAbsDiff(g2, g1)).toBeLessThan(1e-5);
      expect(maxAbsDiff(g2, g1)).toBeGreaterThan(0); // really another implementation
      expect(relDiff(rs2, rs1)).toBeLessThan(1e-5);
      expect(gapsUnchanged(rs2, rsBefore)).toBe(true);
      const [c1, c2] = [stridedView(rng, rows, H), stridedView(rng, rows, H)];
      const cBefore = c2.data.slice();
      gruFullCandidateForwardJs(rows, H, g1, xp, cPrev, c1);
      wasm.gruFullCandidateForward!(rows, H, g2, xp, cPrev, c2);
      expect(maxAbsDiff(g2, g1)).toBeLessThan(1e-5);
      expect(relDiff(c2, c1)).toBeLessThan(1e-5);
      expect(gapsUnchanged(c2, cBefore)).toBe(true);
    });

    it(`RNN tanh, ${rows} × ${H}, strided views`, () => {
      const rng = new Rng(rows + H);
      const a = stridedView(rng, rows, H), xp = stridedView(rng, rows, H);
      const a1 = a.clone(), a2 = a.clone();
      const before = a2.data.slice();
      rnnTanhForwardJs(rows, H, a1, xp);
      wasm.rnnTanhForward!(rows, H, a2, xp);
      expect(maxAbsDiff(a2, a1)).toBeLessThan(1e-6);
      expect(gapsUnchanged(a2, before)).toBe(true);
    });

    it(`RNN tanh backward, ${rows} × ${H}, strided views`, () => {
      const rng = new Rng(3 * rows + H);
      const a = stridedView(rng, rows, H), da = stridedView(rng, rows, H);
      const dz1 = stridedView(rng, rows, H), dz2 = dz1.clone();
      const before = dz2.data.slice();
      rnnTanhBackwardJs(rows, H, a, da, dz1);
      wasm.rnnTanhBackward!(rows, H, a, da, dz2);
      expect(relDiff(dz2, dz1)).toBeLessThan(1e-6);
      expect(gapsUnchanged(dz2, before)).toBe(true);
      // independently: da ∗ (1 − a²) at one entry
      const y = a.get(rows - 1, H - 1);
      expect(dz2.get(rows - 1, H - 1)).toBeCloseTo(da.get(rows - 1, H - 1) * (1 - y * y), 5);
    });
  }

  it('saturates cleanly: pre-activations of ±200 give gates of exactly 0/1-ish, no NaN', () => {
    const H = 4;
    const z = Matrix.zeros(2, 4 * H), xp = Matrix.zeros(2, 4 * H);
    z.data.fill(200, 0, 4 * H);
    z.data.fill(-200, 4 * H);
    const cPrev = Matrix.zeros(2, H), c = Matrix.zeros(2, H), a = Matrix.zeros(2, H), t = Matrix.zeros(2, H);
    cPrev.data.fill(1);
    wasm.lstmGatesForward!(2, H, z, xp, cPrev, c, a, t);
    expect(Array.from(z.data.subarray(0, 4 * H))).toEqual(Array(4 * H).fill(1));
    for (const v of z.data.subarray(4 * H)) expect(v === -1 || (v >= 0 && v < 1e-30)).toBe(true); // σ → 0, tanh → −1
    expect(Array.from(c.data.subarray(0, H))).toEqual([2, 2, 2, 2]); // 1·1 + 1·1
    for (const v of [...c.data, ...a.data, ...t.data]) expect(Number.isNaN(v)).toBe(false);
  });

  it('float64 and H not a multiple of 4 run the js kernels (bit-identical)', () => {
    for (const [H, dtype] of [[4, 'float64'], [6, 'float32']] as const) {
      const rng = new Rng(H);
      const z = random(rng, 3, 4 * H, 2, dtype), xp = random(rng, 3, 4 * H, 2, dtype), cPrev = random(rng, 3, H, 2, dtype);
      const mk = () => [Matrix.zeros(3, H, dtype), Matrix.zeros(3, H, dtype), Matrix.zeros(3, H, dtype)];
      const [c1, a1, t1] = mk(), [c2, a2, t2] = mk();
      const z1 = z.clone(), z2 = z.clone();
      lstmGatesForwardJs(3, H, z1, xp, cPrev, c1, a1, t1);
      wasm.lstmGatesForward!(3, H, z2, xp, cPrev, c2, a2, t2);
      expect(Array.from(z2.data)).toEqual(Array.from(z1.data));
      expect(Array.from(a2.data)).toEqual(Array.from(a1.data));
    }
  });
});

describe('the seam', () => {
  afterEach(() => { setBackend('js'); });

  it('a backend without gate kernels gets the js ones', () => {
    const bare: Backend = { name: 'bare (gemm only)', supportsFloat64: true, gemm: jsBackend.gemm };
    registerBackend(bare);
    setBackend(bare.name);
    expect(lstmGatesForwardKernel()).toBe(lstmGatesForwardJs);
    expect(lstmGatesBackwardKernel()).toBe(lstmGatesBackwardJs);
    expect(gruGatesForwardKernel()).toBe(gruGatesForwardJs);
    expect(rnnTanhForwardKernel()).toBe(rnnTanhForwardJs);
  });

  it('every cell kind runs its elementwise loops through the seam: a backend\'s slots replace the js kernels', () => {
    const calls: Record<string, number> = {};
    const slots: Record<string, unknown> = {};
    for (const [slot, kernel] of Object.entries(jsBackend)) {
      if (slot === 'name' || slot === 'supportsFloat64' || slot === 'gemm' || typeof kernel !== 'function') continue;
      slots[slot] = (...args: unknown[]) => {
        calls[slot] = (calls[slot] ?? 0) + 1;
        return (kernel as (...a: unknown[]) => unknown)(...args);
      };
    }
    const counting = { ...jsBackend, ...slots, name: 'counting' } as Backend;
    registerBackend(counting);
    setBackend(counting.name);
    const T = 3, B = 2, D = 2, H = 3;
    const expected: Record<string, string[]> = {
      rnn: ['rnnTanhForward', 'rnnTanhBackward'],
      'rnn relu': ['rnnReluForward', 'rnnReluBackward'],
      gru: ['gruFullGatesForward', 'gruFullCandidateForward', 'gruFullCandidateBackward', 'gruFullGatesBackward'],
      'gru-simple': ['gruSimpleGatesForward', 'gruSimpleGatesBackward'],
      'gru-reset-after': ['gruGatesForward', 'gruGatesBackward'],
      lstm: ['lstmGatesForward', 'lstmGatesBackward'],
      'lstm-peephole': ['lstmPeepholeGatesForward', 'lstmPeepholeGatesBackward'],
    };
    for (const [name, kernels] of Object.entries(expected)) {
      for (const k of Object.keys(calls)) delete calls[k];
      const [kind, activation] = name.split(' ') as [CellKind, 'relu' | undefined];
      const cell = createCell({ kind, inputSize: D, hiddenSize: H, activation }, { rng: new Rng(1), dtype: 'float64' });
      const ws = createSequenceWorkspace(cell, T, B);
      sequenceForward(cell, ws, random(new Rng(2), T * B, D, 1, 'float64'));
      sequenceBackward(cell, ws, random(new Rng(3), T * B, H, 1, 'float64'));
      expect(Object.keys(calls).sort(), name).toEqual([...kernels].sort());
      for (const k of kernels) expect(calls[k], `${name}: ${k}`).toBe(T);
    }
  });

  it('the wasm backend exposes its own kernels', async () => {
    const backend = (await initWasmBackend()) as WasmBackend;
    setBackend(backend.name);
    expect(lstmGatesForwardKernel()).toBe(backend.gates.lstmGatesForward);
    expect(gruGatesForwardKernel()).toBe(backend.gates.gruGatesForward);
  });

  for (const kind of ['lstm', 'gru-reset-after', 'gru', 'rnn'] as const) {
    it(`a whole ${kind} layer (forward + BPTT, ragged mask) on wasm agrees with js to 1e−4`, async () => {
      await initWasmBackend();
      const T = 6, B = 3, D = 5, H = 8;
      const run = (backend: string) => {
        setBackend(backend);
        const cell = createCell({ kind, inputSize: D, hiddenSize: H }, { rng: new Rng(1) });
        const rng = new Rng(2);
        const x = random(rng, T * B, D, 1), dOut = random(rng, T * B, H, 1);
        const mask = Matrix.zeros(T, B);
        mask.data.fill(1);
        mask.set(5, 0, 0); mask.set(4, 0, 0);
        const ws = createSequenceWorkspace(cell, T, B);
        const out = sequenceForward(cell, ws, x, { mask }).outputs.clone();
        const dx = sequenceBackward(cell, ws, dOut).dx.clone();
        return [out, dx, cell.grads.W_a.clone(), cell.grads.W_x.clone()];
      };
      const ref = run('js'), got = run('wasm');
      for (let k = 0; k < ref.length; k++) expect(relDiff(got[k], ref[k])).toBeLessThan(1e-4);
    });
  }
});

describe('withConstantOperands (weights resident in wasm memory)', () => {
  afterEach(() => { setBackend('js'); });

  /** C = A·Bᵀ through the public gemm on the current backend. */
  function product(a: Matrix, b: Matrix): Matrix {
    const c = Matrix.zeros(a.rows, b.rows);
    gemm(c, a, b, false, true);
    return c;
  }

  it('gives bit-identical products, for the packed path and the batch-1 path, and drops the copies on exit', async () => {
    const backend = (await initWasmBackend()) as WasmBackend;
    setBackend('wasm');
    const rng = new Rng(21);
    const w = random(rng, 96, 40), big = random(rng, 33, 40), one = random(rng, 1, 40);
    const plain = [product(big, w), product(one, w)];
    const inside = withConstantOperands([w.data], () => {
      expect(backend.sgemm.residentCount).toBe(1);
      return [product(big, w), product(one, w), product(w.rowView(10, 20), big)]; // A resident too
    });
    expect(Array.from(inside[0].data)).toEqual(Array.from(plain[0].data));
    expect(Array.from(inside[1].data)).toEqual(Array.from(plain[1].data));
    setBackend('js');
    expect(relDiff(inside[2], product(w.rowView(10, 20), big))).toBeLessThan(1e-5);
    expect(backend.sgemm.residentCount).toBe(0);
  });

  it('nothing is stale after the scope: a weight changed between two scopes is seen', async () => {
    await initWasmBackend();
    setBackend('wasm');
    const rng = new Rng(22);
    const w = random(rng, 24, 16), x = random(rng, 5, 16);
    const first = withConstantOperands([w.data], () => product(x, w));
    w.data[3] += 1; // e.g. an optimizer step between training steps
    const second = withConstantOperands([w.data], () => product(x, w));
    setBackend('js');
    expect(relDiff(first, second)).toBeGreaterThan(1e-3);
    expect(relDiff(second, product(x, w))).toBeLessThan(1e-5);
  });

  it('survives memory growth inside the scope, nests, and refuses to write a constant', async () => {
    const backend = (await initWasmBackend()) as WasmBackend;
    setBackend('wasm');
    const rng = new Rng(23);
    const w = random(rng, 8, 8), v = random(rng, 8, 8), x = random(rng, 3, 8);
    const expected = (() => { setBackend('js'); const r = product(x, w); setBackend('wasm'); return r; })();
    withConstantOperands([w.data], () => {
      withConstantOperands([w.data, v.data], () => {
        expect(backend.sgemm.residentCount).toBe(2);
        product(random(rng, 700, 300), random(rng, 800, 300)); // grows the memory
        expect(relDiff(product(x, w), expected)).toBeLessThan(1e-5);
      });
      expect(backend.sgemm.residentCount).toBe(1); // the inner scope removed only v
      expect(() => gemm(w, x.rowView(0, 3).colView(0, 8), x, true, false)).toThrow(/C is one of the constant operands/);
    });
    expect(backend.sgemm.residentCount).toBe(0);
  });

  it('is plain fn() on a backend without the slot', () => {
    setBackend('js');
    expect(withConstantOperands([new Float32Array(3)], () => 42)).toBe(42);
  });
});
