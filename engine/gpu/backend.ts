/**
 * The optional `gpu` backend on gpu.js (an optional dependency, loaded lazily — importing the
 * engine never loads it):
 *
 *   const gpu = await initGpuBackend();          // registers 'gpu'; gpu.mode says what really runs
 *   setBackend('gpu');                           // gemm() now runs gpu.js kernels (float32)
 *   const runner = gpu.createLstmRunner({ inputSize, hiddenSize, steps, batch });   // data stays on the GPU
 *   …; runner.dispose(); await gpu.dispose();
 *
 * What gpu.js really runs: asked for 'gpu', gpu.js picks WebGL where a context can be made
 * (headless-gl in Node: the native `gl` module plus an X display, e.g. `xvfb-run -a`), else —
 * silently — its WebAssembly kernels, else plain JS. This module detects which kernel class it
 * got (and checks each kernel again after its first run, since gpu.js can also drop a single
 * kernel to its CPU path), reports it as `mode`, prints a one-line notice when it is not a GPU
 * path, and with `requireGpu: true` throws instead.
 *
 * Float64 (gradient checks) is not supported by the GPU kernels: `supportsFloat64` is false and
 * float64 calls fall through to the js kernel.
 *
 * gpu.js' own typings need the DOM lib, so this module types the small part of gpu.js it uses
 * itself and keeps gpu.js out of the public declarations.
 */
import { getBackend, registerBackend, setBackend, type Backend, type GemmKernel } from '../backend.js';
import { gemmJs } from '../gemm-js.js';
import type { FloatArray } from '../matrix.js';
import { gemmKernel } from './kernels.js';
import { GpuLstmGates, GpuLstmRunner, type GpuLstmRunnerOptions } from './lstm-runner.js';

/** The gpu.js kernel classes, as named by gpu.js' `mode` option. */
export type GpuJsMode = 'headlessgl' | 'webgl' | 'webgl2' | 'webgpu' | 'webasm' | 'cpu';

/** Modes that render on a GPU (or a software GL such as Mesa llvmpipe) rather than on the CPU. */
const GL_MODES: readonly GpuJsMode[] = ['headlessgl', 'webgl', 'webgl2', 'webgpu'];

export interface GpuBackendOptions {
  /** Throw unless gpu.js really runs a WebGL/WebGPU kernel (instead of falling back to its WebAssembly or CPU kernels). */
  requireGpu?: boolean;
  /**
   * gpu.js' mode: 'gpu' (default: the best it finds, falling back silently), or one of
   * 'headlessgl', 'webgl', 'webgl2', 'webasm', 'cpu' to ask for that kernel class.
   */
  mode?: string;
  /** Where the one-line notice about a fallback goes (default: console.warn). */
  notice?: (line: string) => void;
  /** How gpu.js is loaded (default: `import('gpu.js')`); tests replace it to exercise a missing gpu.js. */
  load?: () => Promise<unknown>;
}

/** Settings of one gpu.js kernel (the subset this backend uses). */
export interface GpuKernelSettings {
  output: number[];
  pipeline?: boolean;
  dynamicOutput?: boolean;
  dynamicArguments?: boolean;
  loopMaxIterations: number;
  constants?: Record<string, number>;
  functions?: ((...args: number[]) => number)[];
}

/** A gpu.js kernel as this backend sees it: call it, resize it, destroy it. */
export interface GpuKernel {
  (...args: unknown[]): unknown;
  setOutput(output: number[]): unknown;
  destroy(removeCanvasReferences?: boolean): void;
  /** The kernel instance now behind the shortcut (gpu.js may swap it, e.g. for a CPU fallback). */
  readonly kernel: object;
}

/** Live device resources, for leak checks. */
export interface GpuDeviceStats {
  /** Kernels created through this backend and not yet destroyed. */
  kernels: number;
  /** Kernels in gpu.js' own list (includes the ones it created when switching a kernel). */
  gpuJsKernels: number;
  /** Textures in the texture caches of gpu.js' live kernels (0 outside WebGL). */
  cachedTextures: number;
  /** WebGL textures created and not deleted on this backend's context, counted at the context; null outside WebGL. */
  glTextures: number | null;
  /** Most textures alive at once since the last `resetPeak()`; null outside WebGL. */
  glTexturesPeak: number | null;
}

interface GpuJsKernelClass { readonly name: string; readonly prototype: object }

interface GpuJsInstance {
  createKernel(source: unknown, settings: object): GpuKernel;
  destroy(): Promise<void>;
  readonly Kernel: GpuJsKernelClass | null;
  readonly context: unknown;
  readonly kernels: { textureCache?: unknown[] }[];
}

interface GpuJsModule {
  GPU: new (settings: { mode?: string }) => GpuJsInstance;
  [kernelClass: string]: unknown;
}

/** Kernel classes by the mode they run, most specific first (HeadlessGLKernel extends WebGLKernel). */
const KERNEL_CLASS_BY_MODE: readonly [GpuJsMode, string][] = [
  ['headlessgl', 'HeadlessGLKernel'],
  ['webgl2', 'WebGL2Kernel'],
  ['webgpu', 'WebGPUKernel'],
  ['webgl', 'WebGLKernel'],
  ['webasm', 'WebAssemblyKernel'],
  ['cpu', 'CPUKernel'],
];

const DEFAULT_LOOP_CAP = 4096;

/**
 * Counts the WebGL textures of one context (created − deleted) by wrapping its createTexture and
 * deleteTexture: the ground truth for leak checks, including textures gpu.js makes internally.
 */
class GlTextureCounter {
  live = 0;
  peak = 0;
  private readonly tracked = new WeakSet<object>();

  constructor(gl: { createTexture(): object | null; deleteTexture(t: object | null): void }) {
    const create = gl.createTexture.bind(gl);
    const remove = gl.deleteTexture.bind(gl);
    gl.createTexture = () => {
      const texture = create();
      if (texture) {
        this.tracked.add(texture);
        this.live++;
        if (this.live > this.peak) this.peak = this.live;
      }
      return texture;
    };
    gl.deleteTexture = (texture: object | null) => {
      if (texture && this.tracked.has(texture)) {
        this.tracked.delete(texture);
        this.live--;
      }
      remove(texture);
    };
  }
}

function isGlContext(gl: unknown): gl is { createTexture(): object | null; deleteTexture(t: object | null): void } {
  const g = gl as { createTexture?: unknown; deleteTexture?: unknown } | null;
  return !!g && typeof g.createTexture === 'function' && typeof g.deleteTexture === 'function';
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}

/** Why gpu.js found no WebGL here, in one sentence (Node: is `gl` built? can it open a context?). */
async function whyNoWebGL(): Promise<string> {
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  if (!isNode) return 'this JavaScript host offers no WebGL context';
  let createContext: unknown;
  try {
    const specifier = 'gl'; // a variable: gl is gpu.js' optional dependency, not seqgrad's, and has no typings
    const mod = (await import(specifier)) as { default?: unknown };
    createContext = mod.default ?? mod;
  } catch (err) {
    return `the native module 'gl' is not built (${firstLine(err)}); build it with \`npm rebuild gl --dangerously-allow-all-scripts\``;
  }
  try {
    const ctx = (createContext as (w: number, h: number) => unknown)(1, 1) as
      { getExtension?(name: string): { destroy?(): void } | null } | null;
    if (!ctx) return "'gl' is built but could not open a WebGL context (no X display? run under `xvfb-run -a`)";
    ctx.getExtension?.('STACKGL_destroy_context')?.destroy?.();
    return "'gl' opens a WebGL context but gpu.js did not use it";
  } catch (err) {
    return `'gl' failed to open a WebGL context (${firstLine(err)})`;
  }
}

/** Load gpu.js; a missing or broken gpu.js becomes an Error that says so and what to do. */
async function loadGpuJs(load: () => Promise<unknown>): Promise<GpuJsModule> {
  let mod: unknown;
  try {
    mod = await load();
  } catch (err) {
    throw new Error(
      `initGpuBackend: could not load the optional dependency gpu.js (${firstLine(err)}); ` +
      "install it with `npm install gpu.js`, or use the 'js' or 'wasm' backend",
    );
  }
  const m = mod as { GPU?: unknown; default?: { GPU?: unknown } } | null;
  const api = (typeof m?.GPU === 'function' ? m : m?.default) as GpuJsModule | undefined;
  if (!api || typeof api.GPU !== 'function') {
    throw new Error('initGpuBackend: expected gpu.js to export a GPU class, the loaded module has none');
  }
  return api;
}

function defaultLoad(): Promise<unknown> {
  const specifier = 'gpu.js'; // a variable: keeps bundlers from inlining it and tsc from needing its DOM typings
  return import(specifier);
}

/**
 * The `gpu` backend: the seam's GEMM as a gpu.js kernel, plus factories for pipelined LSTM
 * kernels whose data stays on the device. Create it with `initGpuBackend` / `createGpuBackend`.
 */
export class GpuBackend implements Backend {
  readonly name = 'gpu';
  readonly supportsFloat64 = false;
  /** The gpu.js mode asked for ('gpu' = best available). */
  readonly requestedMode: string;
  /** The gpu.js kernel class that really runs: 'headlessgl', 'webgl', 'webgl2', 'webgpu', 'webasm' or 'cpu'. */
  mode: GpuJsMode;
  /** The one-line explanation when `mode` is not a GPU path (null when it is). */
  fallbackReason: string | null = null;
  /** C = α·op(A)·op(B) + β·C; float32 on gpu.js, float64 through the js kernel. */
  readonly gemm: GemmKernel;

  private readonly api: GpuJsModule;
  private readonly gpu: GpuJsInstance;
  private readonly requireGpu: boolean;
  private readonly notice: (line: string) => void;
  private readonly liveKernels = new Set<GpuKernel>();
  private textureCounter: GlTextureCounter | null = null;
  private gemmShortcut: GpuKernel | null = null;
  private gemmLoopCap = 0;
  private disposed = false;

  /** Use `createGpuBackend` (async: gpu.js is loaded lazily). */
  private constructor(api: GpuJsModule, gpu: GpuJsInstance, requestedMode: string, options: GpuBackendOptions) {
    this.api = api;
    this.gpu = gpu;
    this.requestedMode = requestedMode;
    this.requireGpu = options.requireGpu === true;
    this.notice = options.notice ?? ((line: string) => console.warn(line));
    this.mode = this.modeOfClass(gpu.Kernel);
    this.gemm = (m, n, k, alpha, a, aOffset, lda, transA, b, bOffset, ldb, transB, beta, c, cOffset, ldc) => {
      if (!(a instanceof Float32Array) || !(b instanceof Float32Array) || !(c instanceof Float32Array)) {
        gemmJs(m, n, k, alpha, a, aOffset, lda, transA, b, bOffset, ldb, transB, beta, c, cOffset, ldc);
        return;
      }
      this.gemm32(m, n, k, alpha, a, aOffset, lda, transA, b, bOffset, ldb, transB, beta, c, cOffset, ldc);
    };
  }

  /** Load gpu.js, create its GPU, check with a small product which kernel class really runs. */
  static async create(options: GpuBackendOptions = {}): Promise<GpuBackend> {
    const api = await loadGpuJs(options.load ?? defaultLoad);
    const requestedMode = options.mode ?? 'gpu';
    let gpu: GpuJsInstance;
    try {
      gpu = new api.GPU({ mode: requestedMode });
    } catch (err) {
      const reason = GL_MODES.includes(requestedMode as GpuJsMode) ? `; ${await whyNoWebGL()}` : '';
      throw new Error(`initGpuBackend: gpu.js cannot run mode '${requestedMode}' here (${firstLine(err)})${reason}`);
    }
    const backend = new GpuBackend(api, gpu, requestedMode, options);
    try {
      backend.smokeTest();
      await backend.reportMode();
    } catch (err) {
      await backend.dispose();
      throw err;
    }
    return backend;
  }

  /** True when the kernels run on a GPU path (WebGL/WebGPU), false for gpu.js' WebAssembly/CPU kernels. */
  get accelerated(): boolean {
    return GL_MODES.includes(this.mode);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /**
   * A gpu.js kernel on this backend's context, tracked so `dispose()` destroys it and
   * `deviceStats()` counts it. `fn` must be a `function` expression (see kernels.ts).
   */
  createKernel(fn: (...args: never[]) => number, settings: GpuKernelSettings): GpuKernel {
    this.expectLive('createKernel');
    const kernel = this.gpu.createKernel(fn, { precision: 'single', tactic: 'precision', ...settings });
    this.liveKernels.add(kernel);
    if (!this.textureCounter && isGlContext(this.gpu.context)) {
      this.textureCounter = new GlTextureCounter(this.gpu.context);
    }
    return kernel;
  }

  /** Destroy a kernel made by `createKernel` (its output textures go with it). Idempotent. */
  destroyKernel(kernel: GpuKernel): void {
    if (!this.liveKernels.delete(kernel)) return;
    const instance = kernel.kernel;
    // Not destroy(true): the kernels share gpu.js' canvas, and removing its references resets the
    // drawing-buffer size the other kernels rely on (they then render into too small a buffer).
    // gpu.destroy() releases the canvas at the end.
    kernel.destroy(false);
    // gpu.js' GL and WebAssembly kernels leave gpu.kernels on destroy(); its CPU kernel stays listed
    // (and referenced) until the GPU is destroyed, so take it out here.
    const list = this.gpu.kernels as object[];
    const i = list.indexOf(instance);
    if (i >= 0) list.splice(i, 1);
  }

  /**
   * After a kernel's first run: the mode of the kernel class really behind it. gpu.js may drop one
   * kernel to its CPU path (with a console warning) while the others stay on the GPU; that counts
   * as a fallback here (a notice, or an Error with `requireGpu`).
   */
  checkKernelMode(kernel: GpuKernel, what: string): void {
    const actual = this.modeOfClass(kernel.kernel.constructor as GpuJsKernelClass);
    if (actual === this.mode) return;
    const line = `seqgrad: gpu.js runs the ${what} kernel in mode '${actual}', not '${this.mode}' like the others`;
    if (this.requireGpu && !GL_MODES.includes(actual)) throw new Error(`initGpuBackend: requireGpu is set but ${line.slice(9)}`);
    this.notice(line);
  }

  /** A runner of LSTM forward steps with all data on the device (see lstm-runner.ts). */
  createLstmRunner(options: GpuLstmRunnerOptions): GpuLstmRunner {
    return new GpuLstmRunner(this, options);
  }

  /** The fused LSTM gate nonlinearities for a fixed [B, 4H] (see lstm-runner.ts). */
  createLstmGates(batch: number, hiddenSize: number): GpuLstmGates {
    return new GpuLstmGates(this, batch, hiddenSize);
  }

  deviceStats(): GpuDeviceStats {
    let cachedTextures = 0;
    for (const k of this.gpu.kernels ?? []) cachedTextures += k.textureCache?.length ?? 0;
    return {
      kernels: this.liveKernels.size,
      gpuJsKernels: this.gpu.kernels?.length ?? 0,
      cachedTextures,
      glTextures: this.textureCounter ? this.textureCounter.live : null,
      glTexturesPeak: this.textureCounter ? this.textureCounter.peak : null,
    };
  }

  /** Start a new peak of `glTexturesPeak` from the number alive now. */
  resetPeak(): void {
    if (this.textureCounter) this.textureCounter.peak = this.textureCounter.live;
  }

  /**
   * Destroy every kernel (their textures are deleted) and gpu.js' context. When the engine is on
   * this backend, it switches back to 'js'. Idempotent; the backend cannot be used afterwards.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const kernel of [...this.liveKernels]) this.destroyKernel(kernel);
    this.gemmShortcut = null;
    if (getBackend() === this) setBackend('js');
    if (registered === this) registered = null;
    await this.gpu.destroy();
  }

  /** @internal Throws when the backend was disposed. */
  expectLive(op: string): void {
    if (this.disposed) throw new Error(`${op}: the gpu backend was disposed (call initGpuBackend() again)`);
  }

  private modeOfClass(kernelClass: GpuJsKernelClass | null): GpuJsMode {
    if (kernelClass) {
      for (const [mode, className] of KERNEL_CLASS_BY_MODE) {
        const cls = this.api[className];
        if (typeof cls === 'function' && (kernelClass === cls || kernelClass.prototype instanceof cls)) return mode;
      }
    }
    throw new Error(`initGpuBackend: gpu.js chose a kernel class this backend does not know (${kernelClass?.name ?? 'none'})`);
  }

  /** A 2×3·3×2 product with known result: builds the GEMM kernel and shows what runs it. */
  private smokeTest(): void {
    const a = new Float32Array([1, 2, 3, 4, 5, 6]);
    const b = new Float32Array([7, 8, 9, 10, 11, 12]);
    const c = new Float32Array(4);
    this.gemm32(2, 2, 3, 1, a, 0, 3, false, b, 0, 2, false, 0, c, 0, 2);
    const expected = [58, 64, 139, 154]; // [1 2 3; 4 5 6]·[7 8; 9 10; 11 12]
    if (expected.some((v, i) => Math.abs(c[i] - v) > 1e-3)) {
      throw new Error(`initGpuBackend: gpu.js in mode '${this.mode}' computed [${[...c].join(', ')}] for a product whose result is [${expected.join(', ')}]`);
    }
  }

  private async reportMode(): Promise<void> {
    if (this.gemmShortcut) this.mode = this.modeOfClass(this.gemmShortcut.kernel.constructor as GpuJsKernelClass);
    if (this.accelerated) return;
    const asked = this.requestedMode === this.mode;
    this.fallbackReason = asked
      ? `gpu.js runs its '${this.mode}' kernels as asked (mode '${this.requestedMode}')`
      : `gpu.js fell back to its '${this.mode}' kernels (no WebGL: ${await whyNoWebGL()})`;
    if (this.requireGpu) {
      throw new Error(`initGpuBackend: requireGpu is set but ${this.fallbackReason}`);
    }
    if (!asked) this.notice(`seqgrad: the 'gpu' backend is not on a GPU: ${this.fallbackReason}`);
  }

  /** The float32 GEMM: op(A), op(B) go to the device as flat arrays, α and β are applied here. */
  private gemm32(
    m: number, n: number, k: number, alpha: number,
    a: Float32Array, aOffset: number, lda: number, transA: boolean,
    b: Float32Array, bOffset: number, ldb: number, transB: boolean,
    beta: number, c: FloatArray, cOffset: number, ldc: number,
  ): void {
    this.expectLive('gemm');
    if (m === 0 || n === 0) return;
    if (k === 0) {
      scaleInPlace(m, n, beta, c, cOffset, ldc);
      return;
    }
    const kernel = this.gemmKernelFor(k);
    const aRows = transA ? k : m, aCols = transA ? m : k;
    const bRows = transB ? n : k, bCols = transB ? k : n;
    const aSpan = a.subarray(aOffset, aOffset + (aRows - 1) * lda + aCols);
    const bSpan = b.subarray(bOffset, bOffset + (bRows - 1) * ldb + bCols);
    kernel.setOutput([n, m]);
    const rows = kernel(
      aSpan, bSpan, k,
      transA ? 1 : lda, transA ? lda : 1,
      transB ? 1 : ldb, transB ? ldb : 1,
    ) as ArrayLike<ArrayLike<number>>;
    for (let i = 0; i < m; i++) {
      const row = rows[i];
      const o = cOffset + i * ldc;
      if (beta === 0) {
        for (let j = 0; j < n; j++) c[o + j] = alpha * row[j];
      } else {
        for (let j = 0; j < n; j++) c[o + j] = alpha * row[j] + beta * c[o + j];
      }
    }
  }

  /**
   * The GEMM kernel, rebuilt with a larger `loopMaxIterations` when k outgrows it: gpu.js would
   * otherwise stop the k-loop silently at the cap and return a wrong product.
   */
  private gemmKernelFor(k: number): GpuKernel {
    if (this.gemmShortcut && k <= this.gemmLoopCap) return this.gemmShortcut;
    if (this.gemmShortcut) this.destroyKernel(this.gemmShortcut);
    let cap = DEFAULT_LOOP_CAP;
    while (cap < k) cap *= 2;
    this.gemmShortcut = this.createKernel(gemmKernel, {
      output: [1, 1], dynamicOutput: true, dynamicArguments: true, loopMaxIterations: cap,
    });
    this.gemmLoopCap = cap;
    return this.gemmShortcut;
  }
}

function scaleInPlace(m: number, n: number, beta: number, c: FloatArray, offset: number, ld: number): void {
  for (let i = 0; i < m; i++) {
    const o = offset + i * ld;
    for (let j = 0; j < n; j++) c[o + j] = beta === 0 ? 0 : beta * c[o + j];
  }
}

/**
 * Load gpu.js and build a `gpu` backend without registering it (tests use it to try several modes).
 * Rejects with a clear Error when gpu.js cannot be loaded, when the asked mode cannot run, or —
 * with `requireGpu` — when gpu.js would fall back to its WebAssembly or CPU kernels.
 */
export function createGpuBackend(options: GpuBackendOptions = {}): Promise<GpuBackend> {
  return GpuBackend.create(options);
}

let registered: GpuBackend | null = null;

/**
 * Create the `gpu` backend and register it under the name 'gpu' (then `setBackend('gpu')` selects
 * it). Returns the registered one when it is alive and was made for the same mode; a different
 * mode replaces it. See `createGpuBackend` for the errors.
 */
export async function initGpuBackend(options: GpuBackendOptions = {}): Promise<GpuBackend> {
  const mode = options.mode ?? 'gpu';
  if (registered && registered.requestedMode === mode) {
    if (options.requireGpu && !registered.accelerated) {
      throw new Error(`initGpuBackend: requireGpu is set but ${registered.fallbackReason}`);
    }
    return registered;
  }
  if (registered) await registered.dispose();
  const backend = await createGpuBackend(options);
  registerBackend(backend);
  registered = backend;
  return backend;
}
