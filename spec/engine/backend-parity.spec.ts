import { beforeAll, describe, expect, it } from 'vitest';
import {
  backendName, getBackend, gemm, jsBackend, listBackends, Matrix, Rng, setBackend, type Backend, type DType,
} from '../../engine/index.js';
import {
  createWasmBackend, enableRelaxedSimd, initWasmBackend, initWasmBackendSync, probeWasmFeatures,
  type WasmBackend,
} from '../../engine/wasm/index.js';
import { writeSleb128, writeUleb128 } from '../../engine/wasm/emitter.js';
import { relaxedSimdProbeModule } from '../../engine/wasm/sgemm-module.js';

function random(rng: Rng, rows: number, cols: number, dtype: DType = 'float32'): Matrix {
  const m = Matrix.zeros(rows, cols, dtype);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.uniformIn(-1, 1);
  return m;
}

/** Run one backend's kernel on matrices (the public `gemm` checks shapes; here we call the seam directly). */
function runKernel(backend: Backend, c: Matrix, a: Matrix, b: Matrix, ta: boolean, tb: boolean, alpha: number, beta: number): void {
  const m = c.rows, n = c.cols, k = ta ? a.rows : a.cols;
  backend.gemm(m, n, k, alpha, a.data, a.offset, a.stride, ta, b.data, b.offset, b.stride, tb, beta, c.data, c.offset, c.stride);
}

/** ‖x − ref‖∞ / ‖ref‖∞ over the entries of two same-shape matrices. */
function relativeError(x: Matrix, ref: Matrix): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < x.rows; i++) {
    for (let j = 0; j < x.cols; j++) {
      diff = Math.max(diff, Math.abs(x.get(i, j) - ref.get(i, j)));
      scale = Math.max(scale, Math.abs(ref.get(i, j)));
    }
  }
  return diff / (scale || 1);
}

/** The independent reference for a few cases: a naive triple loop in float64. */
function naive(a: Matrix, b: Matrix, c0: Matrix, ta: boolean, tb: boolean, alpha: number, beta: number): Matrix {
  const out = Matrix.zeros(c0.rows, c0.cols, 'float64');
  const k = ta ? a.rows : a.cols;
  for (let i = 0; i < c0.rows; i++) {
    for (let j = 0; j < c0.cols; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += (ta ? a.get(p, i) : a.get(i, p)) * (tb ? b.get(j, p) : b.get(p, j));
      out.set(i, j, alpha * s + beta * c0.get(i, j));
    }
  }
  return out;
}

// [m, n, k]: edges of every tile size (1, not multiples of 4 or 8), k across the KC = 512 chunks,
// m < 4 (one vector–matrix product per row)
const shapes: [number, number, number][] = [
  [1, 1, 1], [1, 37, 5], [29, 1, 3], [7, 9, 1], [5, 3, 70], [33, 35, 37], [64, 64, 64],
  [65, 130, 257], [100, 3, 300], [4, 300, 9], [13, 17, 600],
  [2, 45, 131], [3, 9, 70], // fewer rows than a register tile: the vector–matrix path
];
const scalars: [number, number][] = [[1, 0], [0.7, -1.3], [-2, 1]];

describe('wasm emitter', () => {
  it('LEB128 matches the specification examples', () => {
    const u: number[] = [];
    writeUleb128(u, 624485);
    expect(u).toEqual([0xe5, 0x8e, 0x26]); // the DWARF/Wikipedia example
    const s: number[] = [];
    writeSleb128(s, -123456);
    expect(s).toEqual([0xc0, 0xbb, 0x78]);
    const edge: number[] = [];
    writeSleb128(edge, 63); writeSleb128(edge, 64); writeSleb128(edge, -64); writeSleb128(edge, -65);
    expect(edge).toEqual([0x3f, 0xc0, 0x00, 0x40, 0xbf, 0x7f]);
  });

  it('relaxed madd computes a·b + c (2·3 + 1 = 7) once relaxed SIMD is on', async () => {
    expect(await enableRelaxedSimd()).toBe(true); // Node 20 via the V8 flag, later Nodes natively
    const instance = new (globalThis as any).WebAssembly.Instance(new (globalThis as any).WebAssembly.Module(relaxedSimdProbeModule()));
    expect(instance.exports.madd()).toBe(7);
  });
});

describe('wasm backend initialisation', () => {
  it('falls back to js with a one-line notice where WebAssembly SIMD is missing', () => {
    const lines: string[] = [];
    const backend = initWasmBackendSync({
      probe: () => ({ webAssembly: true, simd: false, relaxedSimd: false }),
      notice: (line) => lines.push(line),
    });
    expect(backend).toBe(jsBackend);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/SIMD is not available.*falls back to 'js'/);
    expect(listBackends()).not.toContain('wasm');
  });

  it('makes wasm the default at the first kernel call (importing builds nothing); setBackend overrides; backendName tells', () => {
    expect(listBackends()).not.toContain('wasm'); // imported, not yet used: nothing built
    expect(probeWasmFeatures().simd).toBe(true); // Node ≥ 16 validates SIMD128
    const c = Matrix.zeros(1, 1);
    gemm(c, new Matrix(1, 2, new Float32Array([1, 2])), new Matrix(2, 1, new Float32Array([3, 4])));
    expect(c.data[0]).toBe(11);
    expect(backendName()).toBe('wasm');
    expect(listBackends()).toContain('wasm');
    expect(setBackend('js')).toBe('wasm');
    expect(backendName()).toBe('js');
    expect(setBackend('wasm')).toBe('js');
    setBackend('js');
  });

  it('initWasmBackend returns the default wasm backend, idempotent; float64 is not native; relaxed SIMD when it validates', async () => {
    const backend = (await initWasmBackend()) as WasmBackend;
    expect(backend.name).toBe('wasm');
    expect(backend.supportsFloat64).toBe(false);
    expect(backend.relaxedSimd).toBe(probeWasmFeatures().relaxedSimd);
    expect(getBackend().name).toBe('js'); // init registers, setBackend switches
    expect(await initWasmBackend()).toBe(backend);
  });
});

describe('backend parity: gemm against the js backend (1e-4 relative)', () => {
  const variants: Backend[] = [];
  beforeAll(async () => {
    await initWasmBackend();
    expect(await enableRelaxedSimd()).toBe(true);
    variants.push(
      createWasmBackend({ relaxedSimd: false, name: 'wasm mul+add' }),
      createWasmBackend({ relaxedSimd: true, name: 'wasm relaxed_madd' }),
      // tiny blocks, so the small shapes below cross every MC, KC and NC boundary
      createWasmBackend({ relaxedSimd: false, name: 'wasm small blocks', mc: 8, kc: 16, nc: 16 }),
      // the former 4 × 8 register tile (no row splatted by load32_splat; whole groups of four only)
      createWasmBackend({ relaxedSimd: true, name: 'wasm 4×8 tiles', mr: 4, nv: 2 }),
    );
  });

  it('every registered backend through the public gemm, all transpositions, odd sizes, α and β', () => {
    const others = listBackends().filter((name) => name !== 'js');
    expect(others).toContain('wasm');
    for (const name of others) {
      for (const [m, n, k] of shapes) {
        for (const ta of [false, true]) {
          for (const tb of [false, true]) {
            for (const [alpha, beta] of scalars) {
              const rng = new Rng(m * 7919 + n * 31 + k);
              const a = ta ? random(rng, k, m) : random(rng, m, k);
              const b = tb ? random(rng, n, k) : random(rng, k, n);
              const c0 = random(rng, m, n);
              const ref = c0.clone();
              setBackend('js');
              gemm(ref, a, b, ta, tb, alpha, beta);
              const got = c0.clone();
              setBackend(name);
              try {
                gemm(got, a, b, ta, tb, alpha, beta);
              } finally {
                setBackend('js');
              }
              const err = relativeError(got, ref);
              if (!(err <= 1e-4)) throw new Error(`${name} m=${m} n=${n} k=${k} ta=${ta} tb=${tb} α=${alpha} β=${beta}: relative error ${err}`);
            }
          }
        }
      }
    }
  });

  for (const variant of ['wasm mul+add', 'wasm relaxed_madd', 'wasm small blocks', 'wasm 4×8 tiles']) {
    it(`${variant}: all transpositions, odd sizes, α and β`, () => {
      const backend = variants.find((v) => v.name === variant)!;
      let worst = 0;
      for (const [m, n, k] of shapes) {
        for (const ta of [false, true]) {
          for (const tb of [false, true]) {
            for (const [alpha, beta] of scalars) {
              const rng = new Rng(m * 131 + n * 17 + k);
              const a = ta ? random(rng, k, m) : random(rng, m, k);
              const b = tb ? random(rng, n, k) : random(rng, k, n);
              const ref = random(rng, m, n);
              const got = ref.clone();
              runKernel(jsBackend, ref, a, b, ta, tb, alpha, beta);
              runKernel(backend, got, a, b, ta, tb, alpha, beta);
              worst = Math.max(worst, relativeError(got, ref));
            }
          }
        }
      }
      expect(worst).toBeLessThan(1e-4);
      expect(worst).toBeGreaterThan(0); // float32 sums in another order: not bit-identical, so really run
    });

    it(`${variant}: strided views for A, B and C; columns beside C are untouched`, () => {
      const backend = variants.find((v) => v.name === variant)!;
      const rng = new Rng(99);
      for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        const bigA = random(rng, 60, 70), bigB = random(rng, 70, 80), bigC = random(rng, 50, 90);
        bigC.set(3, 2, NaN); // a NaN beside the view must survive the copy in and out
        const a = ta ? bigA.rowView(2, 43).colView(5, 37) : bigA.rowView(4, 37).colView(3, 43);
        const b = tb ? bigB.rowView(1, 41).colView(9, 43) : bigB.rowView(7, 43).colView(11, 41);
        const c = bigC.rowView(3, 37).colView(7, 41);
        const expected = naive(a, b, c, ta, tb, 0.5, 2);
        const before = bigC.clone();
        runKernel(backend, c, a, b, ta, tb, 0.5, 2);
        expect(relativeError(c, expected)).toBeLessThan(1e-4);
        for (let i = 0; i < bigC.rows; i++) {
          for (let j = 0; j < bigC.cols; j++) {
            const inside = i >= 3 && i < 40 && j >= 7 && j < 48;
            if (!inside) expect(Object.is(bigC.get(i, j), before.get(i, j))).toBe(true);
          }
        }
      }
    });

    it(`${variant}: agrees with a naive float64 loop (independent reference)`, () => {
      const backend = variants.find((v) => v.name === variant)!;
      const rng = new Rng(5);
      const a = random(rng, 45, 263), b = random(rng, 263, 27), c = random(rng, 45, 27);
      const expected = naive(a, b, c, false, false, 1.5, -0.5);
      runKernel(backend, c, a, b, false, false, 1.5, -0.5);
      expect(relativeError(c, expected)).toBeLessThan(1e-5);
    });
  }

  it('the row tile: 4 × 8 where 5-row tiles would pad more than they gain (8, 16, 32 rows), 5 × 8 otherwise', () => {
    const sgemm = createWasmBackend({ relaxedSimd: true }).sgemm;
    expect([4, 8, 16, 32, 24, 48, 64, 65, 128, 512].map((m) => sgemm.tileRows(m))).toEqual([4, 4, 4, 4, 5, 5, 5, 5, 5, 5]);
    expect(createWasmBackend({ relaxedSimd: true, mr: 4 }).sgemm.tileRows(65)).toBe(4);
  });

  it('α = 1, β ∈ {0, 1}: whole tiles written in place, partial row strips and column panels through C̃, agree with js', () => {
    // with MC = 10 (small blocks: 8 rounded up to MR = 5) and NC = 16: m = 25 is two whole row
    // blocks and a half one, m = 20 only whole ones (m = 20 at MR = 5; m = 25 ends in a partial strip
    // at MR = 4); n = 40 whole panels, n = 37 a partial last one; 128 rows are one default block of
    // 25 whole 5-row strips and a partial one; 32 and 8 rows take 4 × 8 tiles (whole strips)
    for (const backend of variants) {
      for (const [m, n, k] of [[20, 40, 33], [25, 40, 33], [20, 37, 33], [25, 37, 290], [135, 24, 300], [128, 32, 40], [32, 40, 33], [8, 37, 20]]) {
        for (const beta of [0, 1]) {
          const rng = new Rng(m + n + k + beta);
          const a = random(rng, m, k), b = random(rng, k, n);
          const ref = random(rng, m, n);
          const got = ref.clone();
          runKernel(jsBackend, ref, a, b, false, false, 1, beta);
          runKernel(backend, got, a, b, false, false, 1, beta);
          const err = relativeError(got, ref);
          if (!(err < 1e-4)) throw new Error(`${backend.name} m=${m} n=${n} k=${k} β=${beta}: relative error ${err}`);
        }
      }
    }
  });

  it('β = 0 does not read C: NaN in C does not propagate', () => {
    for (const backend of variants) {
      const a = Matrix.fromArray([[1, 2], [3, 4], [5, 6]]);
      const b = Matrix.fromArray([[5, 6], [7, 8]]);
      const c = Matrix.fromArray([[NaN, NaN], [NaN, NaN], [NaN, NaN]]);
      runKernel(backend, c, a, b, false, false, 1, 0);
      expect(c.toArray()).toEqual([[19, 22], [43, 50], [67, 78]]); // 5·5 + 6·7, 5·6 + 6·8
    }
  });

  it('k = 0 and α = 0 leave β·C', () => {
    for (const backend of variants) {
      const c = Matrix.fromArray([[1, -2], [3, 4]]);
      runKernel(backend, c, Matrix.zeros(2, 0), Matrix.zeros(0, 2), false, false, 1, 3);
      expect(c.toArray()).toEqual([[3, -6], [9, 12]]);
      runKernel(backend, c, Matrix.fromArray([[1], [1]]), Matrix.fromArray([[1, 1]]), false, false, 0, 0.5);
      expect(c.toArray()).toEqual([[1.5, -3], [4.5, 6]]);
    }
  });

  it('float64 falls through to the js kernel (bit-identical results)', () => {
    const backend = variants[0];
    const rng = new Rng(3);
    const a = random(rng, 33, 70, 'float64'), b = random(rng, 70, 19, 'float64');
    const ref = random(rng, 33, 19, 'float64');
    const got = ref.clone();
    runKernel(jsBackend, ref, a, b, false, false, 0.3, 0.9);
    runKernel(backend, got, a, b, false, false, 0.3, 0.9);
    expect(Array.from(got.data)).toEqual(Array.from(ref.data));
  });

  it('memory grows once for a size, never per call', () => {
    const backend = createWasmBackend({ relaxedSimd: false });
    const rng = new Rng(11);
    const a = random(rng, 400, 300), b = random(rng, 300, 350), c = Matrix.zeros(400, 350); // copies outgrow 1 MiB
    runKernel(backend, c, a, b, false, false, 1, 0);
    const grown = backend.heap.growCount, bytes = backend.heap.memoryBytes, scratch = backend.sgemm.scratchFloats;
    expect(grown).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 5; i++) runKernel(backend, c, a, b, false, false, 1, 0);
    runKernel(backend, Matrix.zeros(20, 15), a.rowView(0, 20), b.colView(0, 15), false, false, 1, 0); // smaller fits
    expect(backend.heap.growCount).toBe(grown);
    expect(backend.heap.memoryBytes).toBe(bytes);
    expect(backend.sgemm.scratchFloats).toBe(scratch);
  });
});
