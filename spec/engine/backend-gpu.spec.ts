/**
 * The `gpu` backend (gpu.js): parity with the js backend to 1e−4, the loop cap, the fused LSTM
 * step, the pipelined runner, and texture bookkeeping over 1,000 steps.
 *
 * These run in whatever mode gpu.js really gets here — WebGL (headless-gl under `xvfb-run -a`),
 * or its silent WebAssembly/CPU fallback (no display, or `gl` not built) — and say which on the
 * log. SEQGRAD_REQUIRE_GPU=1 (CI's gpu step) demands the WebGL path. Where gpu.js itself cannot be
 * loaded, each test asserts initGpuBackend's error message instead.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsBackend, setBackend } from '../../engine/backend.js';
import { gemm } from '../../engine/gemm.js';
import { Matrix } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import {
  createGpuBackend, initGpuBackend, type GpuBackend, type GpuBackendOptions,
} from '../../engine/gpu/index.js';
import { LstmCell } from '../../layers/cells/lstm.js';
import { createSequenceWorkspace, sequenceForward } from '../../layers/sequence.js';

const REQUIRE_GPU = process.env.SEQGRAD_REQUIRE_GPU === '1';
const GL_MODES = ['headlessgl', 'webgl', 'webgl2', 'webgpu'];
const LOAD_ERROR = /^initGpuBackend: could not load the optional dependency gpu\.js \(.+\); install it with `npm install gpu\.js`/;
const TOL = 1e-4;

function randomMatrix(rng: Rng, rows: number, cols: number, scale = 1, dtype: 'float32' | 'float64' = 'float32'): Matrix {
  const m = Matrix.zeros(rows, cols, dtype);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.uniformIn(-scale, scale);
  return m;
}

function toFloat64(m: Matrix): Matrix {
  const out = Matrix.zeros(m.rows, m.cols, 'float64');
  for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) out.set(r, c, m.get(r, c));
  return out;
}

/** Largest |got − want| / max(1, |want|). */
function maxRelDiff(got: Matrix, want: Matrix): number {
  expect(got.shape).toEqual(want.shape);
  let d = 0;
  for (let r = 0; r < got.rows; r++) {
    for (let c = 0; c < got.cols; c++) {
      const w = want.get(r, c);
      d = Math.max(d, Math.abs(got.get(r, c) - w) / Math.max(1, Math.abs(w)));
    }
  }
  return d;
}

/** The js backend's product in float64 on the same (float32) inputs: the reference. */
function jsProduct(a: Matrix, b: Matrix, c0: Matrix, ta: boolean, tb: boolean, alpha: number, beta: number): Matrix {
  const c = toFloat64(c0), a64 = toFloat64(a), b64 = toFloat64(b);
  const m = c.rows, n = c.cols, k = ta ? a.rows : a.cols;
  jsBackend.gemm(m, n, k, alpha, a64.data, 0, a64.stride, ta, b64.data, 0, b64.stride, tb, beta, c.data, 0, c.stride);
  return c;
}

/** Create a backend, or the load error where gpu.js cannot be loaded at all (any other error fails). */
async function tryBackend(options: GpuBackendOptions): Promise<GpuBackend | Error> {
  try {
    return await createGpuBackend(options);
  } catch (err) {
    if (err instanceof Error && LOAD_ERROR.test(err.message)) return err;
    throw err;
  }
}

describe('gpu backend: loading gpu.js', () => {
  it('a missing gpu.js gives a clear error, not a crash on import', async () => {
    const load = () => Promise.reject(new Error("Cannot find package 'gpu.js' imported from engine/gpu/backend.ts"));
    await expect(createGpuBackend({ load })).rejects.toThrow(LOAD_ERROR);
    await expect(initGpuBackend({ load, mode: 'no-such-mode-so-nothing-is-reused' })).rejects.toThrow(/Cannot find package 'gpu\.js'/);
  });

  it('a module without a GPU class is reported as such', async () => {
    await expect(createGpuBackend({ load: async () => ({ default: {} }) }))
      .rejects.toThrow('initGpuBackend: expected gpu.js to export a GPU class, the loaded module has none');
  });
});

// gpu.js' auto mode (WebGL where it can, else its silent fallback), and its CPU kernels explicitly:
// both paths are gpu.js' own code, so both must keep parity and free what they take.
for (const requested of ['gpu', 'cpu']) {
  describe(`gpu backend, gpu.js mode '${requested}'`, () => {
    let backend: GpuBackend | Error | undefined;
    const notices: string[] = [];
    const ok = (): GpuBackend => {
      if (!backend || backend instanceof Error) throw backend ?? new Error('no backend (beforeAll failed)');
      return backend;
    };

    beforeAll(async () => {
      // SEQGRAD_REQUIRE_GPU=1: a fallback fails here, with initGpuBackend's reason (e.g. gl not built, no display)
      const requireGpu = REQUIRE_GPU && requested === 'gpu';
      backend = await tryBackend({ mode: requested, requireGpu, notice: (line) => notices.push(line) });
      const what = backend instanceof Error
        ? `unavailable (${backend.message})`
        : `${backend.mode} — ${backend.accelerated ? 'the WebGL path' : `no GPU: ${backend.fallbackReason}`}`;
      console.log(`[backend-gpu] asked gpu.js for '${requested}', it runs: ${what}`);
    });

    afterAll(async () => {
      if (backend && !(backend instanceof Error)) await backend.dispose();
    });

    it('reports the mode it really got (and says why when it is not a GPU)', () => {
      if (backend instanceof Error) {
        expect(backend.message).toMatch(LOAD_ERROR);
        return;
      }
      const b = ok();
      expect(['headlessgl', 'webgl', 'webgl2', 'webgpu', 'webasm', 'cpu']).toContain(b.mode);
      expect(b.accelerated).toBe(GL_MODES.includes(b.mode));
      expect(b.supportsFloat64).toBe(false);
      if (requested === 'cpu') expect(b.mode).toBe('cpu');
      if (b.accelerated) {
        expect(b.fallbackReason).toBeNull();
        expect(notices).toEqual([]);
        // headless-gl names its renderer (Mesa's llvmpipe under xvfb): a string, never a number or ''
        const renderer = b.renderer;
        if (renderer !== null) expect(renderer).toMatch(/\S/);
      } else {
        expect(b.renderer).toBeNull();
        expect(b.fallbackReason).toMatch(/gpu\.js (fell back to|runs) its '(webasm|cpu)' kernels/);
        // a silent fallback of the auto mode is announced; an explicit 'cpu' is not a surprise
        expect(notices.length).toBe(requested === 'gpu' ? 1 : 0);
      }
      if (REQUIRE_GPU && requested === 'gpu') expect(b.accelerated).toBe(true);
    });

    it('requireGpu accepts only a GPU path: it throws, with the reason, where gpu.js would fall back', async () => {
      if (backend instanceof Error) {
        await expect(createGpuBackend({ mode: requested, requireGpu: true })).rejects.toThrow(LOAD_ERROR);
        return;
      }
      const b = ok();
      const strict = createGpuBackend({ mode: requested, requireGpu: true, notice: () => {} });
      if (b.accelerated) {
        const again = await strict;
        expect(again.mode).toBe(b.mode);
        await again.dispose();
      } else if (requested === 'cpu') {
        await expect(strict).rejects.toThrow("initGpuBackend: requireGpu is set but gpu.js runs its 'cpu' kernels as asked (mode 'cpu')");
      } else {
        await expect(strict).rejects.toThrow(/^initGpuBackend: requireGpu is set but gpu\.js fell back to its '(webasm|cpu)' kernels \(no WebGL: .+\)$/);
      }
    });

    const shapes: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [17, 9, 33], [31, 1, 64], [5, 12, 1031], [7, 3, 1500]];
    for (const [m, n, k] of shapes) {
      it(`GEMM m=${m} n=${n} k=${k}, all four transpositions, α and β: matches the js backend to 1e-4`, () => {
        if (backend instanceof Error) return expect(backend.message).toMatch(LOAD_ERROR);
        const b = ok();
        const rng = new Rng(m * 7919 + n * 31 + k);
        for (const ta of [false, true]) {
          for (const tb of [false, true]) {
            const a = ta ? randomMatrix(rng, k, m) : randomMatrix(rng, m, k);
            const bm = tb ? randomMatrix(rng, n, k) : randomMatrix(rng, k, n);
            const c = randomMatrix(rng, m, n);
            const want = jsProduct(a, bm, c, ta, tb, 0.75, -0.5);
            b.gemm(m, n, k, 0.75, a.data, 0, a.stride, ta, bm.data, 0, bm.stride, tb, -0.5, c.data, 0, c.stride);
            expect(maxRelDiff(c, want), `transA=${ta} transB=${tb}`).toBeLessThan(TOL);
          }
        }
      });
    }

    it('gpu.js caps a loop bounded by an argument at loopMaxIterations; the GEMM kernel sets it above k', () => {
      if (backend instanceof Error) return expect(backend.message).toMatch(LOAD_ERROR);
      const b = ok();
      // gpu.js compiles a kernel from its source: it must be a `function` expression, not an arrow.
      const count = b.createKernel(function (n: number): number {
        let s = 0;
        for (let i = 0; i < n; i++) s += 1;
        return s;
      }, { output: [1], loopMaxIterations: 1000 });
      try {
        expect((count(1500) as ArrayLike<number>)[0]).toBe(1000); // the silent cap the GEMM kernel must avoid
      } finally {
        b.destroyKernel(count);
      }
      for (const k of [2500, 5000]) { // far above gpu.js' default cap of 1000
        const ones = new Float32Array(k).fill(1), out = new Float32Array(1);
        b.gemm(1, 1, k, 1, ones, 0, k, false, ones, 0, 1, false, 0, out, 0, 1);
        expect(out[0]).toBe(k);
      }
    });

    it('through the seam: gemm() on strided views, and float64 falls through to the js kernel', async () => {
      if (backend instanceof Error) return expect(backend.message).toMatch(LOAD_ERROR);
      const b = ok();
      const previous = setBackend(jsBackend.name);
      const registered = await initGpuBackend({ mode: requested, notice: () => {} });
      try {
        setBackend('gpu');
        const rng = new Rng(5);
        const bigA = randomMatrix(rng, 40, 50), bigB = randomMatrix(rng, 50, 60), bigC = randomMatrix(rng, 40, 70);
        const a = bigA.colView(3, 30), bm = bigB.rowView(5, 30).colView(7, 40), c = bigC.colView(11, 40);
        const want = jsProduct(a, bm, c, false, false, 1, 0.5);
        const untouched = bigC.colView(0, 11).toArray();
        gemm(c, a, bm, false, false, 1, 0.5);
        expect(maxRelDiff(c, want)).toBeLessThan(TOL);
        expect(bigC.colView(0, 11).toArray()).toEqual(untouched);
        // contiguous row blocks at an offset (passed without a copy), transposed
        const at = bigA.rowView(7, 20), bt = randomMatrix(rng, 45, 20).rowView(9, 30), ct = Matrix.zeros(50, 30);
        gemm(ct, at, bt, true, true);
        expect(maxRelDiff(ct, jsProduct(at, bt, Matrix.zeros(50, 30), true, true, 1, 0))).toBeLessThan(TOL);

        const a64 = randomMatrix(rng, 6, 5, 1, 'float64'), b64 = randomMatrix(rng, 5, 4, 1, 'float64');
        const viaGpu = Matrix.zeros(6, 4, 'float64'), viaJs = Matrix.zeros(6, 4, 'float64');
        gemm(viaGpu, a64, b64);
        setBackend('js');
        gemm(viaJs, a64, b64);
        expect(viaGpu.toArray()).toEqual(viaJs.toArray()); // bit-identical: the same kernel ran
      } finally {
        setBackend(previous);
        await registered.dispose();
      }
      expect(b.isDisposed).toBe(false);
    });

    it('fused LSTM gates: (z, c⟨t−1⟩) → Γu Γf c̃ Γo, c⟨t⟩, a⟨t⟩ match the js LSTM cell to 1e-4', () => {
      if (backend instanceof Error) return expect(backend.message).toMatch(LOAD_ERROR);
      const b = ok();
      const B = 3, H = 5, rng = new Rng(11);
      const z = randomMatrix(rng, B, 4 * H, 3);
      z.set(0, 0, 40); z.set(1, H, -40); z.set(2, 2 * H, 25); z.set(0, 3 * H + 1, -90); // saturation: no NaN/Inf
      const cPrev = randomMatrix(rng, B, H, 2);
      // js reference: the cell's step with a⟨t−1⟩ = 0, so its z is exactly xp.
      const cell = new LstmCell({ inputSize: 2, hiddenSize: H, rng, dtype: 'float64' });
      const ws = cell.createWorkspace(1, B);
      const aRef = Matrix.zeros(B, H, 'float64'), cRef = Matrix.zeros(B, H, 'float64');
      cell.stepForward(ws, 0, toFloat64(z), [Matrix.zeros(B, H, 'float64'), toFloat64(cPrev)], [aRef, cRef]);
      const gatesRef = (ws as unknown as { gates: Matrix[] }).gates[0];

      const op = b.createLstmGates(B, H);
      try {
        const gates = Matrix.zeros(B, 4 * H), c = Matrix.zeros(B, H), a = Matrix.zeros(B, H);
        op.forward(gates, c, a, z, cPrev);
        expect(maxRelDiff(gates, gatesRef)).toBeLessThan(TOL);
        expect(maxRelDiff(c, cRef)).toBeLessThan(TOL);
        expect(maxRelDiff(a, aRef)).toBeLessThan(TOL);
        expect(gates.get(0, 0)).toBeCloseTo(1, 6); // σ(40)
        expect(gates.get(1, H)).toBeCloseTo(0, 6); // σ(−40)
      } finally {
        op.dispose();
      }
    });

    it('pipelined runner: T steps on the device match sequenceForward of the js LSTM to 1e-4', () => {
      if (backend instanceof Error) return expect(backend.message).toMatch(LOAD_ERROR);
      const b = ok();
      const T = 7, B = 3, D = 5, H = 6, rng = new Rng(21);
      const cell = new LstmCell({ inputSize: D, hiddenSize: H, rng, dtype: 'float64', forgetBias: 1 });
      const x = randomMatrix(rng, T * B, D, 1, 'float64');
      const a0 = randomMatrix(rng, B, H, 0.5, 'float64'), c0 = randomMatrix(rng, B, H, 0.5, 'float64');
      const ref = sequenceForward(cell, createSequenceWorkspace(cell, T, B), x, { h0: [a0, c0] });

      const runner = b.createLstmRunner({ inputSize: D, hiddenSize: H, steps: T, batch: B });
      try {
        runner.setWeights({ W_x: cell.params.W_x, W_a: cell.params.W_a, b: cell.params.b });
        const a = Matrix.zeros(B, H), c = Matrix.zeros(B, H);
        runner.forward(a, c, x, a0, c0);
        expect(maxRelDiff(a, ref.finalState[0])).toBeLessThan(TOL);
        expect(maxRelDiff(c, ref.finalState[1])).toBeLessThan(TOL);
        // zero initial state when none is given
        const refZero = sequenceForward(cell, createSequenceWorkspace(cell, T, B), x);
        runner.forward(a, c, x);
        expect(maxRelDiff(a, refZero.finalState[0])).toBeLessThan(TOL);
        expect(() => runner.forward(a, c, Matrix.zeros(T * B + 1, D))).toThrow(
          'GpuLstmRunner.forward: expected x [T·B, D] = [21, 5] (T = 7, B = 3), got [22, 5]');
      } finally {
        runner.dispose();
      }
    });

    it('no texture leak over 1,000 pipelined steps; dispose() returns every count to its baseline', () => {
      if (backend instanceof Error) return expect(backend.message).toMatch(LOAD_ERROR);
      const b = ok();
      const T = 1000, B = 2, D = 3, H = 4, rng = new Rng(3);
      const baseline = b.deviceStats();
      const runner = b.createLstmRunner({ inputSize: D, hiddenSize: H, steps: T, batch: B });
      const cell = new LstmCell({ inputSize: D, hiddenSize: H, rng });
      runner.setWeights({ W_x: cell.params.W_x, W_a: cell.params.W_a, b: cell.params.b });
      const x = randomMatrix(rng, T * B, D);
      const a = Matrix.zeros(B, H), c = Matrix.zeros(B, H);
      runner.forward(a, c, x);
      const live = b.deviceStats();
      expect(live.kernels).toBe(baseline.kernels + 8); // init, 2 × state, 3 uploads, projection, recurrent
      b.resetPeak();
      runner.forward(a, c, x); // 1,000 more steps
      const after = b.deviceStats();
      expect(after).toEqual({ ...live, glTexturesPeak: after.glTexturesPeak });
      if (after.glTextures !== null) {
        expect(live.glTextures).toBeGreaterThan(baseline.glTextures ?? 0); // the counter sees the runner's textures
        expect(after.glTexturesPeak).toBe(live.glTextures); // not even a transient texture per step
      }
      for (let i = 0; i < a.data.length; i++) expect(Number.isFinite(a.data[i])).toBe(true);

      runner.dispose();
      expect(b.deviceStats()).toEqual({ ...baseline, glTexturesPeak: b.deviceStats().glTexturesPeak });
      expect(() => runner.forward(a, c, x)).toThrow('GpuLstmRunner.forward: the runner was disposed');
    });
  });
}

describe('gpu backend: dispose', () => {
  it('deletes every texture of the context, switches the engine back to js, and refuses further work', async () => {
    const b = await tryBackend({ notice: () => {} });
    if (b instanceof Error) return expect(b.message).toMatch(LOAD_ERROR);
    const gates = b.createLstmGates(2, 3);
    const z = Matrix.zeros(2, 12), cPrev = Matrix.zeros(2, 3);
    gates.forward(Matrix.zeros(2, 12), Matrix.zeros(2, 3), Matrix.zeros(2, 3), z, cPrev);
    await b.dispose();
    const stats = b.deviceStats();
    expect(stats.kernels).toBe(0);
    if (stats.glTextures !== null) expect(stats.glTextures).toBe(0);
    expect(() => b.gemm(1, 1, 1, 1, new Float32Array(1), 0, 1, false, new Float32Array(1), 0, 1, false, 0, new Float32Array(1), 0, 1))
      .toThrow('gemm: the gpu backend was disposed (call initGpuBackend() again)');
    expect(() => b.createLstmRunner({ inputSize: 1, hiddenSize: 1, steps: 1, batch: 1 }))
      .toThrow('GpuLstmRunner: the gpu backend was disposed');
    await b.dispose(); // idempotent
  });
});
