/**
 * The `wasm` backend: WebAssembly SIMD128 kernels that seqgrad emits as bytes at load time
 * (`emitter.ts`, `sgemm-module.ts`) — no toolchain, no package, nothing downloaded, no eval.
 *
 * The default backend: this module offers it to the seam (`offerDefaultBackend`), so the first kernel call of a
 * program that imported `seqgrad` or `seqgrad/engine` builds it synchronously (`initWasmBackendSync`: the emitted
 * modules are small, `new WebAssembly.Module(bytes)` compiles them in milliseconds) — where WebAssembly SIMD
 * validates; elsewhere js stays, silently (`backendName()` tells which). Importing stays cheap: nothing is built
 * before that first call. `setBackend('js')` overrides; the explicit form still works:
 *
 *   const backend = await initWasmBackend();   // registers 'wasm' (or returns the js backend)
 *   setBackend(backend.name);
 *
 * Float32 GEMM and the fused gate kernels of the cells (`wasm-gates.ts`) run in WebAssembly; float64 calls
 * (gradient checks) fall through to the js kernels,
 * so `supportsFloat64` is false and gradient checks keep running on `js`.
 *
 * Memory: every kernel module imports one WebAssembly.Memory, the backend's `WasmHeap` (heap.ts) —
 * shared where the host has SharedArrayBuffer. While the wasm backend is selected, `Matrix.zeros`
 * (float32) allocates there (`allocateFloat32`), so weights, gradients, optimizer state and
 * workspaces are where the kernels work and no kernel call copies them; arrays from elsewhere are
 * copied per call as before. Without shared memory, matrices keep plain arrays (see heap.ts).
 *
 * Relaxed SIMD: `f32x4.relaxed_madd` (one fused multiply-add per lane where the CPU has FMA) is
 * used when a probe module using it validates; else the kernel uses f32x4.mul + f32x4.add. Node 20
 * (V8 11.3) has relaxed SIMD behind `--experimental-wasm-relaxed-simd`: the async init switches
 * that V8 flag on at run time (`v8.setFlagsFromString`, which Node documents as unsupported — so
 * it is probed again with `WebAssembly.validate` before use), Node ≥ 22 and Chrome ≥ 114 have it on.
 * Where WebAssembly SIMD itself is missing, init prints a one-line notice and returns the js backend.
 */
import { jsBackend, listBackends, offerDefaultBackend, registerBackend, type Backend } from '../backend.js';
import { registerStorageOwner } from '../matrix.js';
import { WasmHeap } from './heap.js';
import { relaxedSimdProbeModule, simdProbeModule } from './sgemm-module.js';
import { WasmGates } from './wasm-gates.js';
import { WasmSgemm, type WasmSgemmOptions } from './wasm-gemm.js';
import { WasmVectorKernels } from './wasm-vector.js';
import { WasmAttention } from './wasm-attention.js';
import { WasmTokenKernels } from './wasm-token.js';
import { webAssembly } from './webassembly.js';

export { WasmSgemm, type WasmSgemmOptions } from './wasm-gemm.js';
export { WasmGates } from './wasm-gates.js';
export { WasmVectorKernels } from './wasm-vector.js';
export { WasmAttention } from './wasm-attention.js';
export { WasmTokenKernels } from './wasm-token.js';
export { WasmHeap, type WasmHeapOptions } from './heap.js';
export { buildSgemmModule, DEFAULT_KERNEL_SHAPE, type SgemmKernelShape } from './sgemm-module.js';

export interface WasmFeatures {
  webAssembly: boolean;
  /** SIMD128 (f32x4 arithmetic, v128 loads and stores). */
  simd: boolean;
  /** Relaxed SIMD's f32x4.relaxed_madd. */
  relaxedSimd: boolean;
}

/** What this JavaScript engine validates now (a few microseconds: two tiny modules). */
export function probeWasmFeatures(): WasmFeatures {
  const api = webAssembly();
  if (!api) return { webAssembly: false, simd: false, relaxedSimd: false };
  const simd = api.validate(simdProbeModule());
  return { webAssembly: true, simd, relaxedSimd: simd && api.validate(relaxedSimdProbeModule()) };
}

/**
 * Try to switch relaxed SIMD on (Node 20: the V8 flag `--experimental-wasm-relaxed-simd`, set at
 * run time) and report whether it validates afterwards. Does nothing where it validates already.
 */
export async function enableRelaxedSimd(): Promise<boolean> {
  if (probeWasmFeatures().relaxedSimd) return true;
  // Node's v8 module through process.getBuiltinModule (Node ≥ 20.16), not an import: the engine entry imports no
  // node: module, so it bundles for the browser as it is.
  const host = globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } };
  const v8 = host.process?.getBuiltinModule?.('node:v8') as { setFlagsFromString(flags: string): void } | undefined;
  if (!v8) return false; // not Node, or an older one: keep mul + add
  try {
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    return false; // the flag is gone: keep mul + add
  }
  return probeWasmFeatures().relaxedSimd;
}

/** A wasm backend: the seam's kernels plus what it really runs. */
export interface WasmBackend extends Backend {
  /** True when the GEMM kernel uses f32x4.relaxed_madd, false for f32x4.mul + f32x4.add. */
  readonly relaxedSimd: boolean;
  /** The SGEMM driver (its blocking, its memory use). */
  readonly sgemm: WasmSgemm;
  /** The fused gate kernels of the LSTM, reset-after GRU and tanh RNN (float32, H a multiple of 4; the rest goes to the js kernels). */
  readonly gates: WasmGates;
  /** The memory every kernel works in, and its allocator. */
  readonly heap: WasmHeap;
  /** Bias add, row sums, softmax / cross-entropy rows, optimizer updates, clipping (float32 operands in the heap). */
  readonly vectors: WasmVectorKernels;
  /** The token step of batch-1 sampling: a layer's step, or a dense row, in one call (float32 operands in the heap). */
  readonly tokenSteps: WasmTokenKernels;
}

export interface CreateWasmBackendOptions extends WasmSgemmOptions {
  relaxedSimd: boolean;
  name?: string;
  /**
   * The heap to work in (default: a new one, shared where possible). A worker thread passes
   * `new WasmHeap({ memory, region })` over the main thread's shared memory.
   */
  heap?: WasmHeap;
  /** Where a new heap's memory is shared ('auto', default) or ordinary ('off': no matrices in it). */
  sharedMemory?: 'auto' | 'off';
}

/**
 * Build a wasm backend (not registered). Throws where WebAssembly SIMD — or relaxed SIMD, when
 * `relaxedSimd` is true — does not validate. Tests use it to run both kernel paths.
 */
export function createWasmBackend(options: CreateWasmBackendOptions): WasmBackend {
  const features = probeWasmFeatures();
  if (!features.simd) {
    throw new Error('createWasmBackend: expected WebAssembly with SIMD128, this JavaScript engine has none');
  }
  if (options.relaxedSimd && !features.relaxedSimd) {
    throw new Error('createWasmBackend: expected relaxed SIMD (f32x4.relaxed_madd) to validate, it does not (call enableRelaxedSimd() first)');
  }
  const heap = options.heap ?? new WasmHeap({ shared: options.sharedMemory ?? 'auto' });
  registerStorageOwner(heap);
  const sgemm = new WasmSgemm(heap, { ...options, relaxedMadd: options.relaxedSimd });
  const gates = new WasmGates(heap);
  const vectors = new WasmVectorKernels(heap);
  const attention = new WasmAttention(heap, options.relaxedSimd);
  return {
    name: options.name ?? 'wasm',
    supportsFloat64: false,
    relaxedSimd: options.relaxedSimd,
    heap,
    allocateFloat32: heap.shared ? (n) => heap.allocArray(n) : undefined,
    sgemm,
    gemm: sgemm.gemm,
    gates,
    lstmGatesForward: gates.lstmGatesForward,
    lstmGatesBackward: gates.lstmGatesBackward,
    gruGatesForward: gates.gruGatesForward,
    gruGatesBackward: gates.gruGatesBackward,
    rnnTanhForward: gates.rnnTanhForward,
    rnnTanhBackward: gates.rnnTanhBackward,
    gruFullGatesForward: gates.gruFullGatesForward,
    gruFullCandidateForward: gates.gruFullCandidateForward,
    additiveScores: attention.additiveScores,
    additiveScoresBackward: attention.additiveScoresBackward,
    runWithConstants: (arrays, fn) => sgemm.runWithConstants(arrays, fn),
    vectors,
    addBias: vectors.addBias,
    sumRows: vectors.sumRows,
    gatherRows: vectors.gatherRows,
    scatterAddRows: vectors.scatterAddRows,
    addRows: vectors.addRows,
    softmaxRows: vectors.softmaxRows,
    crossEntropyRows: vectors.crossEntropyRows,
    sumSquares: vectors.sumSquares,
    scale: vectors.scale,
    clamp: vectors.clamp,
    parameterUpdate: vectors.parameterUpdate,
    tokenSteps: new WasmTokenKernels(heap, options.relaxedSimd),
  };
}

export interface InitWasmOptions {
  /** 'auto' (default): relaxed SIMD when it validates (the async init first tries to switch it on);
   *  'off': always mul + add; 'on': throw unless relaxed SIMD validates. */
  relaxedSimd?: 'auto' | 'on' | 'off';
  /** Where the one-line fallback notice goes (default: console.warn). */
  notice?: (line: string) => void;
  /** The feature probe (tests replace it to exercise the fallback). */
  probe?: () => WasmFeatures;
  /** 'auto' (default): matrices live in a shared WebAssembly memory where the host has one; 'off': never. */
  sharedMemory?: 'auto' | 'off';
}

let registered: WasmBackend | null = null;

/**
 * Register the `wasm` backend and return it — or, where WebAssembly SIMD is missing, print a
 * one-line notice and return the js backend. Either way `setBackend(result.name)` selects it.
 * Idempotent: later calls return the backend registered first. Switches relaxed SIMD on first
 * (see `enableRelaxedSimd`) unless `relaxedSimd: 'off'`.
 */
export async function initWasmBackend(options: InitWasmOptions = {}): Promise<Backend> {
  if (!registered && (options.relaxedSimd ?? 'auto') !== 'off' && !options.probe) await enableRelaxedSimd();
  return initWasmBackendSync(options);
}

/** `initWasmBackend` without switching any V8 flag: relaxed SIMD only where it validates already. */
export function initWasmBackendSync(options: InitWasmOptions = {}): Backend {
  if (registered) return registered;
  const features = (options.probe ?? probeWasmFeatures)();
  const mode = options.relaxedSimd ?? 'auto';
  if (!features.simd) {
    const notice = options.notice ?? ((line: string) => console.warn(line));
    notice(`seqgrad: WebAssembly ${features.webAssembly ? 'SIMD is' : 'is'} not available here; the 'wasm' backend falls back to 'js'`);
    return jsBackend;
  }
  if (mode === 'on' && !features.relaxedSimd) {
    throw new Error("initWasmBackend: relaxedSimd 'on' expects f32x4.relaxed_madd to validate, it does not");
  }
  const backend = createWasmBackend({ relaxedSimd: mode !== 'off' && features.relaxedSimd, sharedMemory: options.sharedMemory });
  warmUp(backend);
  if (!listBackends().includes(backend.name)) registerBackend(backend);
  registered = backend;
  return backend;
}

/**
 * A few small products through every kernel (both transpositions, a partial tile, one row) so V8 starts
 * optimising them now, not inside the caller's first timed or large call.
 */
function warmUp(backend: WasmBackend): void {
  const m = 37, n = 21, k = 300;
  const a = new Float32Array(m * k).fill(0.5), b = new Float32Array(k * n).fill(0.25), c = new Float32Array(m * n);
  for (let i = 0; i < 4; i++) {
    backend.gemm(m, n, k, 1, a, 0, k, false, b, 0, n, false, 0, c, 0, n);
    backend.gemm(m, n, k, 1, a, 0, m, true, b, 0, k, true, 1, c, 0, n);
    backend.gemm(1, n, k, 1, a, 0, k, false, b, 0, k, true, 0, c, 0, n); // the few-rows path
    backend.gemm(1, n, k, 1, a, 0, k, false, b, 0, n, false, 0, c, 0, n);
  }
}

// The default backend (see the top of this file): wasm where SIMD validates, else null (js stays), with no notice.
// A host that refuses synchronous compilation (a browser's main thread may) keeps js too.
offerDefaultBackend(() => {
  try {
    const backend = initWasmBackendSync({ notice: () => {} });
    return backend === jsBackend ? null : backend;
  } catch {
    return null;
  }
});
