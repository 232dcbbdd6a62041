/**
 * The backend seam: the hot kernels are looked up here, per backend, so a faster
 * implementation (WebAssembly SIMD, gpu.js) can replace one op without touching its callers.
 *
 * A kernel works on raw buffers with offsets and strides (BLAS style) and does no checking:
 * the public functions in `gemm.ts` and friends check shapes, dtypes and aliasing first.
 * Every backend must pass the same parity tests as the plain-JS one.
 *
 * This file only keeps the registry and the lookups; the kernel types live in kernels/types.ts and
 * the reference kernels in kernels/*-js.ts (which import the types, never this file).
 */
import { setFloat32Allocator, type FloatArray } from './matrix.js';
import type {
  Backend, GruGatesBackwardKernel, GruGatesForwardKernel, LstmGatesBackwardKernel, LstmGatesForwardKernel,
  RnnTanhForwardKernel, CellKernelSlots, GruFullCandidateBackwardKernel, GruFullCandidateForwardKernel, GruFullGatesBackwardKernel,
  GruFullGatesForwardKernel, GruSimpleGatesBackwardKernel, GruSimpleGatesForwardKernel,
  LstmPeepholeGatesBackwardKernel, LstmPeepholeGatesForwardKernel, RnnReluBackwardKernel, RnnReluForwardKernel,
  RnnTanhBackwardKernel,
  AddBiasKernel, ClampKernel, CrossEntropyRowsKernel, ParameterUpdateKernel, ScaleKernel, SoftmaxRowsKernel,
  SumRowsKernel, SumSquaresKernel, AdditiveScoresKernel, AdditiveScoresBackwardKernel,
  AddRowsKernel, GatherRowsKernel, ScatterAddRowsKernel,
} from './kernels/types.js';
import type { TokenStepKernels } from './kernels/types.js';
import { tokenStepsJs } from './kernels/token-js.js';
import { additiveScoresBackwardJs, additiveScoresJs } from './kernels/attention-js.js';
import { gemmJs } from './kernels/gemm-js.js';
import {
  gruGatesBackwardJs, gruGatesForwardJs, lstmGatesBackwardJs, lstmGatesForwardJs, rnnTanhForwardJs,
  gruFullCandidateBackwardJs, gruFullCandidateForwardJs, gruFullGatesBackwardJs, gruFullGatesForwardJs,
  gruSimpleGatesBackwardJs, gruSimpleGatesForwardJs, lstmPeepholeGatesBackwardJs, lstmPeepholeGatesForwardJs,
  rnnReluBackwardJs, rnnReluForwardJs, rnnTanhBackwardJs,
} from './kernels/gates-js.js';
import {
  addBiasJs, clampJs, crossEntropyRowsJs, parameterUpdateJs, scaleJs, softmaxRowsJs, sumRowsJs, sumSquaresJs,
  addRowsJs, gatherRowsJs, scatterAddRowsJs,
} from './kernels/vector-js.js';

export type {
  Backend, GemmKernel, GruGatesBackwardKernel, GruGatesForwardKernel, LstmGatesBackwardKernel, LstmGatesForwardKernel,
  RnnTanhForwardKernel, StridedBuffer,
} from './kernels/types.js';
export type {
  CellKernelSlots, GruFullCandidateBackwardKernel, GruFullCandidateForwardKernel, GruFullGatesBackwardKernel,
  GruFullGatesForwardKernel, GruSimpleGatesBackwardKernel, GruSimpleGatesForwardKernel,
  LstmPeepholeGatesBackwardKernel, LstmPeepholeGatesForwardKernel, RnnReluBackwardKernel, RnnReluForwardKernel,
  RnnTanhBackwardKernel,
  AddBiasKernel, ClampKernel, CrossEntropyRowsKernel, ParameterUpdateKernel, ScaleKernel, SoftmaxRowsKernel,
  SumRowsKernel, SumSquaresKernel, UpdateRule, AdditiveScoresKernel, AdditiveScoresBackwardKernel,
  AddRowsKernel, GatherRowsKernel, ScatterAddRowsKernel,
} from './kernels/types.js';
export type { TokenStepKernels } from './kernels/types.js';

/** The backend in use; null until the first kernel call or `setBackend` (then the default is chosen). */
let current: Backend | null = null;
const registry = new Map<string, Backend>();
/** Builds the fastest backend this JavaScript engine has (wasm/index.ts offers the wasm one); null: none. */
let defaultProvider: (() => Backend | null) | null = null;

/** Add a backend to the registry (selecting it is `setBackend`'s job, or the default's). */
export function registerBackend(backend: Backend): void {
  registry.set(backend.name, backend);
}

/** Make `backend` current; Matrix.zeros then takes float32 storage from its allocator (if any). */
function select(backend: Backend): void {
  current = backend;
  setFloat32Allocator(backend.allocateFloat32 ?? null);
}

/**
 * Offer the backend to use when nobody called `setBackend`: `provider` runs once, at the first kernel call, and
 * returns a registered backend, or null to keep js. engine/wasm/index.ts offers the wasm backend this way, so
 * importing `seqgrad` or `seqgrad/engine` makes wasm the default wherever WebAssembly SIMD validates.
 */
export function offerDefaultBackend(provider: () => Backend | null): void {
  defaultProvider = provider;
}

/**
 * The backend the engine dispatches to now. Before any `setBackend`, the first call picks the default: the
 * offered one (wasm where WebAssembly SIMD exists), else js.
 */
export function getBackend(): Backend {
  if (current === null) {
    select(jsBackend); // first, so that anything the provider allocates or computes runs on js, not back in here
    const chosen = defaultProvider?.() ?? null;
    if (chosen !== null) select(chosen);
  }
  return current as unknown as Backend;
}

// Until a backend is chosen, the first float32 allocation chooses the default too, so a model built before its
// first kernel call already lives in the default backend's memory (select() then installs its allocator).
setFloat32Allocator((n) => {
  const backend = getBackend();
  return backend.allocateFloat32 ? backend.allocateFloat32(n) : null;
});

/** The name of the backend in use ('wasm' or 'js'; picks the default if none is chosen yet). */
export function backendName(): string {
  return getBackend().name;
}

/**
 * Run `fn` with the buffers in `arrays` declared CONSTANT while it runs — typically the weights,
 * around a forward + backward pass (the optimizer step outside) or a sampling loop. A backend
 * that copies operands (wasm) copies these once and reuses the copy for every kernel call inside
 * fn; leaving fn drops the copies, so nothing is stale afterwards. The caller's promise: no code
 * inside fn writes these arrays (a kernel asked to write one throws; a JS write would go unseen).
 * On backends without the slot this is just `fn()`. Returns fn's result.
 */
export function withConstantOperands<T>(arrays: readonly FloatArray[], fn: () => T): T {
  const backend = getBackend();
  return backend.runWithConstants ? backend.runWithConstants(arrays, fn) : fn();
}

/** Switch the engine to a registered backend by name (overrides the default); returns the previous one's name. */
export function setBackend(name: string): string {
  const next = registry.get(name);
  if (!next) {
    throw new Error(`setBackend: expected one of ${[...registry.keys()].join(', ')}, got '${name}'`);
  }
  const previous = getBackend().name; // nothing chosen yet: the default, so that setBackend(previous) restores it
  select(next);
  return previous;
}

export function listBackends(): string[] {
  return [...registry.keys()];
}

/** The js reference of the cell kernel slots (the block at the end of kernels/types.ts). */
const jsCellKernels: Required<CellKernelSlots> = {
  gruFullGatesForward: gruFullGatesForwardJs,
  gruFullCandidateForward: gruFullCandidateForwardJs,
  gruFullCandidateBackward: gruFullCandidateBackwardJs,
  gruFullGatesBackward: gruFullGatesBackwardJs,
  gruSimpleGatesForward: gruSimpleGatesForwardJs,
  gruSimpleGatesBackward: gruSimpleGatesBackwardJs,
  lstmPeepholeGatesForward: lstmPeepholeGatesForwardJs,
  lstmPeepholeGatesBackward: lstmPeepholeGatesBackwardJs,
  rnnReluForward: rnnReluForwardJs,
  rnnTanhBackward: rnnTanhBackwardJs,
  rnnReluBackward: rnnReluBackwardJs,
};

/** The reference backend: plain TypeScript, float32 and float64. Always present. */
export const jsBackend: Backend = {
  name: 'js',
  supportsFloat64: true,
  gemm: gemmJs,
  ...jsCellKernels,
  lstmGatesForward: lstmGatesForwardJs,
  lstmGatesBackward: lstmGatesBackwardJs,
  gruGatesForward: gruGatesForwardJs,
  gruGatesBackward: gruGatesBackwardJs,
  rnnTanhForward: rnnTanhForwardJs,
  additiveScores: additiveScoresJs,
  additiveScoresBackward: additiveScoresBackwardJs,
};
registerBackend(jsBackend);

/** The current backend's LSTM gate kernels, or the js ones where it has none. */
export function lstmGatesForwardKernel(): LstmGatesForwardKernel {
  return getBackend().lstmGatesForward ?? lstmGatesForwardJs;
}

export function lstmGatesBackwardKernel(): LstmGatesBackwardKernel {
  return getBackend().lstmGatesBackward ?? lstmGatesBackwardJs;
}

export function gruGatesForwardKernel(): GruGatesForwardKernel {
  return getBackend().gruGatesForward ?? gruGatesForwardJs;
}

export function gruGatesBackwardKernel(): GruGatesBackwardKernel {
  return getBackend().gruGatesBackward ?? gruGatesBackwardJs;
}

export function rnnTanhForwardKernel(): RnnTanhForwardKernel {
  return getBackend().rnnTanhForward ?? rnnTanhForwardJs;
}

/** The current backend's additive attention score kernels, or the js ones where it has none. */
export function additiveScoresKernel(): AdditiveScoresKernel {
  return getBackend().additiveScores ?? additiveScoresJs;
}

export function additiveScoresBackwardKernel(): AdditiveScoresBackwardKernel {
  return getBackend().additiveScoresBackward ?? additiveScoresBackwardJs;
}

// ---- The other cells' kernels (the CellKernelSlots block of kernels/types.ts) ------------------
// Each looks the slot up on every call (the backend may change between calls) and falls back to
// the js reference.

export function gruFullGatesForwardKernel(): GruFullGatesForwardKernel {
  return getBackend().gruFullGatesForward ?? gruFullGatesForwardJs;
}

export function gruFullCandidateForwardKernel(): GruFullCandidateForwardKernel {
  return getBackend().gruFullCandidateForward ?? gruFullCandidateForwardJs;
}

export function gruFullCandidateBackwardKernel(): GruFullCandidateBackwardKernel {
  return getBackend().gruFullCandidateBackward ?? gruFullCandidateBackwardJs;
}

export function gruFullGatesBackwardKernel(): GruFullGatesBackwardKernel {
  return getBackend().gruFullGatesBackward ?? gruFullGatesBackwardJs;
}

export function gruSimpleGatesForwardKernel(): GruSimpleGatesForwardKernel {
  return getBackend().gruSimpleGatesForward ?? gruSimpleGatesForwardJs;
}

export function gruSimpleGatesBackwardKernel(): GruSimpleGatesBackwardKernel {
  return getBackend().gruSimpleGatesBackward ?? gruSimpleGatesBackwardJs;
}

export function lstmPeepholeGatesForwardKernel(): LstmPeepholeGatesForwardKernel {
  return getBackend().lstmPeepholeGatesForward ?? lstmPeepholeGatesForwardJs;
}

export function lstmPeepholeGatesBackwardKernel(): LstmPeepholeGatesBackwardKernel {
  return getBackend().lstmPeepholeGatesBackward ?? lstmPeepholeGatesBackwardJs;
}

export function rnnReluForwardKernel(): RnnReluForwardKernel {
  return getBackend().rnnReluForward ?? rnnReluForwardJs;
}

export function rnnTanhBackwardKernel(): RnnTanhBackwardKernel {
  return getBackend().rnnTanhBackward ?? rnnTanhBackwardJs;
}

export function rnnReluBackwardKernel(): RnnReluBackwardKernel {
  return getBackend().rnnReluBackward ?? rnnReluBackwardJs;
}

// ---- the vector kernels (bias add, row sums, softmax / cross-entropy rows, optimizer updates,
//      clipping): the current backend's, or the js ones where it has none. A backend that only runs
//      float32 hands float64 (and operands it cannot use) to the js kernels itself. ----

export function addBiasKernel(): AddBiasKernel {
  return getBackend().addBias ?? addBiasJs;
}

export function sumRowsKernel(): SumRowsKernel {
  return getBackend().sumRows ?? sumRowsJs;
}

export function gatherRowsKernel(): GatherRowsKernel {
  return getBackend().gatherRows ?? gatherRowsJs;
}

export function scatterAddRowsKernel(): ScatterAddRowsKernel {
  return getBackend().scatterAddRows ?? scatterAddRowsJs;
}

export function addRowsKernel(): AddRowsKernel {
  return getBackend().addRows ?? addRowsJs;
}

export function softmaxRowsKernel(): SoftmaxRowsKernel {
  return getBackend().softmaxRows ?? softmaxRowsJs;
}

export function crossEntropyRowsKernel(): CrossEntropyRowsKernel {
  return getBackend().crossEntropyRows ?? crossEntropyRowsJs;
}

export function sumSquaresKernel(): SumSquaresKernel {
  return getBackend().sumSquares ?? sumSquaresJs;
}

export function scaleKernel(): ScaleKernel {
  return getBackend().scale ?? scaleJs;
}

export function clampKernel(): ClampKernel {
  return getBackend().clamp ?? clampJs;
}

export function parameterUpdateKernel(): ParameterUpdateKernel {
  return getBackend().parameterUpdate ?? parameterUpdateJs;
}

/** The current backend's token-step kernels of batch-1 sampling, or the js ones where it has none. */
export function tokenStepKernels(): TokenStepKernels {
  return getBackend().tokenSteps ?? tokenStepsJs;
}
