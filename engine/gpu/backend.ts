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
import { gemmJs } from '../kernels/gemm-js.js';
import type { FloatArray } from '../matrix.js';
import { gemmNNKernel, gemmNTKernel, gemmTNKernel, gemmTTKernel } from './kernels.js';
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
  /** A flat array read as a 2-D (size [cols, rows]) or 1-D argument. */
  input(value: Float32Array, size: number[]): unknown;
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

/** Distinct GEMM shapes kept compiled (an LSTM training step uses about ten). */
const GEMM_CACHE_LIMIT = 24;

const GEMM_KERNELS = { NN: gemmNNKernel, NT: gemmNTKernel, TN: gemmTNKernel, TT: gemmTTKernel };

/** One compiled GEMM shape: its kernel and staging buffers for operands that are strided views. */
interface GemmEntry {
  kernel: GpuKernel;
  aStage: Float32Array | null;
  bStage: Float32Array | null;
}

/**
 * A stored operand as a contiguous [rows, cols] array: a zero-copy subarray when its rows follow
 * each other (ld === cols), else a copy into `stage`.
 */
function contiguous(data: Float32Array, offset: number, ld: number, rows: number, cols: number, stage: Float32Array | null): Float32Array {
  if (ld === cols || rows === 1) return data.subarray(offset, offset + rows * cols);
  const out = stage!;
  for (let r = 0; r < rows; r++) out.set(data.subarray(offset + r * ld, offset + r * ld + cols), r * cols);
  return out;
}

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

/** The WebGL 1 calls `handOverVertexBuffer` needs (constants are properties of the context). */
interface WebGlVertexState {
  readonly MAX_VERTEX_ATTRIBS: number;
  readonly ARRAY_BUFFER: number;
  readonly VERTEX_ATTRIB_ARRAY_BUFFER_BINDING: number;
  readonly VERTEX_ATTRIB_ARRAY_SIZE: number;
  readonly VERTEX_ATTRIB_ARRAY_TYPE: number;
  readonly VERTEX_ATTRIB_ARRAY_NORMALIZED: number;
  readonly VERTEX_ATTRIB_ARRAY_STRIDE: number;
  readonly VERTEX_ATTRIB_ARRAY_POINTER: number;
  getParameter(name: number): unknown;
  getVertexAttrib(index: number, name: number): unknown;
  getVertexAttribOffset(index: number, name: number): number;
  bindBuffer(target: number, buffer: unknown): void;
  vertexAttribPointer(index: number, size: number, type: number, normalized: boolean, stride: number, offset: number): void;
}

function isGlContext(gl: unknown): gl is { createTexture(): object | null; deleteTexture(t: object | null): void } {
  const g = gl as { createTexture?: unknown; deleteTexture?: unknown } | null;
  return !!g && typeof g.createTexture === 'function' && typeof g.deleteTexture === 'function';
}

/** The part of a WebGL context `renderer` reads. */
interface GlInfoContext {
  readonly RENDERER: number;
  getParameter(name: number): unknown;
  getExtension(name: string): { UNMASKED_RENDERER_WEBGL?: number } | null;
}

function isGlInfoContext(gl: unknown): gl is GlInfoContext {
  const g = gl as Partial<GlInfoContext> | null;
  return !!g && typeof g.getParameter === 'function' && typeof g.getExtension === 'function' && typeof g.RENDERER === 'number';
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
  /** C = α·op(A)·op(B) + β·C; float32 on gpu.js, float64 through the js kernel. */
  readonly gemm: GemmKernel;

  private readonly api: GpuJsModule;
  private readonly gpu: GpuJsInstance;
  private readonly requireGpu: boolean;
  private readonly notice: (line: string) => void;
  private readonly liveKernels = new Set<GpuKernel>();
  private textureCounter: GlTextureCounter | null = null;
  /** Compiled GEMM shapes, least recently used first. */
  private readonly gemmCache = new Map<string, GemmEntry>();
  /** The kernel that ran the smoke test (the one whose class tells the mode). */
  private smokeKernel: GpuKernel | null = null;
  private actualMode: GpuJsMode;
  private whyNotGpu: string | null = null;
  private disposed = false;

  /** Use `createGpuBackend` (async: gpu.js is loaded lazily). */
  private constructor(api: GpuJsModule, gpu: GpuJsInstance, requestedMode: string, options: GpuBackendOptions) {
    this.api = api;
    this.gpu = gpu;
    this.requestedMode = requestedMode;
    this.requireGpu = options.requireGpu === true;
    this.notice = options.notice ?? ((line: string) => console.warn(line));
    this.actualMode = this.modeOfClass(gpu.Kernel);
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

  /** The gpu.js kernel class that really runs: 'headlessgl', 'webgl', 'webgl2', 'webgpu', 'webasm' or 'cpu'. */
  get mode(): GpuJsMode {
    return this.actualMode;
  }

  /** The one-line explanation when `mode` is not a GPU path (null when it is). */
  get fallbackReason(): string | null {
    return this.whyNotGpu;
  }

  /** True when the kernels run on a GPU path (WebGL/WebGPU), false for gpu.js' WebAssembly/CPU kernels. */
  get accelerated(): boolean {
    return GL_MODES.includes(this.mode);
  }

  /**
   * The WebGL renderer behind the kernels (the unmasked one where the browser tells it), e.g. a
   * GPU's name or a software rasteriser such as SwiftShader or llvmpipe — WebGL is not always a
   * GPU. Null outside WebGL (gpu.js' CPU/WebAssembly kernels) or when the context will not say.
   */
  get renderer(): string | null {
    const gl = this.gpu.context;
    if (!this.accelerated || !isGlInfoContext(gl)) return null;
    try {
      const unmasked = gl.getExtension('WEBGL_debug_renderer_info')?.UNMASKED_RENDERER_WEBGL;
      const name = gl.getParameter(unmasked ?? gl.RENDERER);
      return typeof name === 'string' && name.length > 0 ? name : null;
    } catch {
      return null; // a context that refuses the query still runs the kernels
    }
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
    this.handOverVertexBuffer(instance);
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
    this.gemmCache.clear();
    this.smokeKernel = null;
    if (getBackend() === this) setBackend('js');
    if (registered === this) registered = null;
    await this.gpu.destroy();
  }

  /** @internal Throws when the backend was disposed. */
  expectLive(op: string): void {
    if (this.disposed) throw new Error(`${op}: the gpu backend was disposed (call initGpuBackend() again)`);
  }

  /**
   * Before a WebGL kernel is destroyed: gpu.js points the context's vertex attributes (global state
   * in WebGL 1) at the quad buffer of the kernel built last, and does not set them again when
   * another kernel runs. Deleting that kernel's buffer would leave every other kernel drawing from
   * a deleted buffer — they silently return zeros. So re-point those attributes at a surviving
   * kernel's buffer first (every gpu.js kernel fills its buffer with the same full-screen quad),
   * keeping the attribute layout exactly as it was.
   */
  private handOverVertexBuffer(instance: object): void {
    const gl = this.gpu.context as WebGlVertexState | null;
    const dying = (instance as { buffer?: unknown }).buffer;
    if (!gl || typeof gl.getVertexAttrib !== 'function' || !dying) return;
    const donor = (this.gpu.kernels as { buffer?: unknown; context?: unknown }[])
      .find((k) => k !== instance && k.context === gl && k.buffer && k.buffer !== dying);
    const attribs = gl.getParameter(gl.MAX_VERTEX_ATTRIBS) as number;
    for (let i = 0; i < attribs; i++) {
      if (gl.getVertexAttrib(i, gl.VERTEX_ATTRIB_ARRAY_BUFFER_BINDING) !== dying) continue;
      if (!donor) return; // no kernel left to draw: the next one built sets the attributes up again
      gl.bindBuffer(gl.ARRAY_BUFFER, donor.buffer);
      gl.vertexAttribPointer(
        i,
        gl.getVertexAttrib(i, gl.VERTEX_ATTRIB_ARRAY_SIZE) as number,
        gl.getVertexAttrib(i, gl.VERTEX_ATTRIB_ARRAY_TYPE) as number,
        gl.getVertexAttrib(i, gl.VERTEX_ATTRIB_ARRAY_NORMALIZED) as boolean,
        gl.getVertexAttrib(i, gl.VERTEX_ATTRIB_ARRAY_STRIDE) as number,
        gl.getVertexAttribOffset(i, gl.VERTEX_ATTRIB_ARRAY_POINTER),
      );
    }
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
    this.smokeKernel = this.gemmCache.get('2,2,3,NN')!.kernel;
    const expected = [58, 64, 139, 154]; // [1 2 3; 4 5 6]·[7 8; 9 10; 11 12]
    if (expected.some((v, i) => Math.abs(c[i] - v) > 1e-3)) {
      throw new Error(`initGpuBackend: gpu.js in mode '${this.mode}' computed [${[...c].join(', ')}] for a product whose result is [${expected.join(', ')}]`);
    }
  }

  private async reportMode(): Promise<void> {
    if (this.smokeKernel) this.actualMode = this.modeOfClass(this.smokeKernel.kernel.constructor as GpuJsKernelClass);
    if (this.accelerated) return;
    const asked = this.requestedMode === this.mode;
    this.whyNotGpu = asked
      ? `gpu.js runs its '${this.mode}' kernels as asked (mode '${this.requestedMode}')`
      : `gpu.js fell back to its '${this.mode}' kernels (no WebGL: ${await whyNoWebGL()})`;
    if (this.requireGpu) {
      throw new Error(`initGpuBackend: requireGpu is set but ${this.fallbackReason}`);
    }
    if (!asked) this.notice(`seqgrad: the 'gpu' backend is not on a GPU: ${this.fallbackReason}`);
  }

  /** A host matrix (flat, row-major [rows, cols]) as a 2-D kernel argument. */
  input(data: Float32Array, rows: number, cols: number): unknown {
    return this.api.input(data, [cols, rows]);
  }

  /** The float32 GEMM: A and B go to the device as 2-D inputs, α and β are applied here. */
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
    const aRows = transA ? k : m, aCols = transA ? m : k;
    const bRows = transB ? n : k, bCols = transB ? k : n;
    const entry = this.gemmEntry(m, n, k, transA, transB);
    if (!entry.aStage && lda !== aCols && aRows > 1) entry.aStage = new Float32Array(aRows * aCols);
    if (!entry.bStage && ldb !== bCols && bRows > 1) entry.bStage = new Float32Array(bRows * bCols);
    const rows = entry.kernel(
      this.input(contiguous(a, aOffset, lda, aRows, aCols, entry.aStage), aRows, aCols),
      this.input(contiguous(b, bOffset, ldb, bRows, bCols, entry.bStage), bRows, bCols),
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
   * The compiled kernel of one GEMM shape (fixed sizes compile to the fastest shader: no dynamic
   * output or argument sizes, k a constant). Least recently used shapes beyond the limit are destroyed.
   */
  private gemmEntry(m: number, n: number, k: number, transA: boolean, transB: boolean): GemmEntry {
    const variant = `${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}` as keyof typeof GEMM_KERNELS;
    const key = `${m},${n},${k},${variant}`;
    let entry = this.gemmCache.get(key);
    if (entry) {
      this.gemmCache.delete(key); // re-insert: most recently used last
    } else {
      entry = {
        kernel: this.createKernel(GEMM_KERNELS[variant], { output: [n, m], constants: { k }, loopMaxIterations: k + 1 }),
        aStage: null,
        bStage: null,
      };
      if (this.gemmCache.size >= GEMM_CACHE_LIMIT) {
        const [oldestKey, oldest] = this.gemmCache.entries().next().value as [string, GemmEntry];
        this.gemmCache.delete(oldestKey);
        this.destroyKernel(oldest.kernel);
      }
    }
    this.gemmCache.set(key, entry);
    return entry;
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
