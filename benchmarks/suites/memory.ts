/**
 * `seqgrad bench memory`: does a training step allocate memory that stays? Runs `--heap-steps`
 * (default 10,000) training steps of the `train` workload at small sizes (B=4 T=10 D=8 V=16,
 * H = --sizes, default 16: the per-call overheads, not the arithmetic, are what could allocate)
 * per backend and cell, and reports the growth of the V8 heap in use
 * (process.memoryUsage().heapUsed) after a warm-up of 3,000 steps (fewer when fewer are asked for):
 *
 *   growth     heapUsed at the end − at the start, each measured right after a full GC
 *   B/step     least-squares bytes per step over 21 samples (each after a full GC), over all of
 *              the run and over its second half (V8 keeps tiering code up for a while: its
 *              feedback and code objects show as early growth that then stops)
 *   minor GCs  scavenges during the run (the forced collections are full ones, not counted)
 *   allocated  bytes a step allocates, garbage included (heap growth over a window of steps with
 *              no GC in it): short-lived objects such as the typed-array views the wasm kernels
 *              make for their memcpys — freed by the next scavenge, so they do not grow the heap
 *   wasm       on the wasm backend, its WebAssembly heap (where the model's matrices live): bytes
 *              in use at the start and their growth by the end, each right after the full GC (so
 *              blocks of collected arrays are back) — the V8 heap does not see this memory
 *
 * A full GC before each sample needs `gc()`: run `node --expose-gc dist/cli.js bench memory`, or
 * `NODE_OPTIONS=--expose-gc npx seqgrad bench memory`; without the flag the suite switches it on at
 * run time (v8.setFlagsFromString('--expose-gc') and takes gc from a fresh context) and says so;
 * where even that fails it samples without GC (then the numbers include garbage not yet collected).
 */
import { getBackend, setBackend } from '../../engine/backend.js';
import type { WasmBackend } from '../../engine/wasm/index.js';
import { DEFAULT_WORKLOAD, type Suite, type SuiteContext } from '../harness.js';
import { trainWork } from '../workloads.js';

const WARMUP_STEPS = 3000;
const SAMPLES = 20;

type GcSource = 'flag' | 'runtime' | 'none';

/** gc() from --expose-gc, or switched on now; null when neither works. */
async function findGc(): Promise<{ gc: (() => void) | null; source: GcSource }> {
  const global = globalThis as { gc?: () => void };
  if (typeof global.gc === 'function') return { gc: global.gc, source: 'flag' };
  try {
    const v8 = await import('node:v8');
    const vm = await import('node:vm');
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as unknown;
    if (typeof gc === 'function') return { gc: gc as () => void, source: 'runtime' };
  } catch {
    // not Node, or the flag is gone
  }
  return { gc: null, source: 'none' };
}

/** Counts V8's minor (scavenge) collections while running. */
async function minorGcCounter(): Promise<{ count(): number; stop(): void }> {
  const { PerformanceObserver, constants } = await import('node:perf_hooks');
  let minor = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    count: () => minor,
    stop: () => observer.disconnect(),
  };
}

export interface HeapTrace {
  backend: string;
  cell: string;
  params: Record<string, number | string>;
  steps: number;
  warmupSteps: number;
  gc: GcSource;
  /** [step, heapUsed bytes] after the warm-up. */
  samples: [number, number][];
  growthBytes: number;
  bytesPerStep: number;
  /** The slope over the second half of the samples. */
  bytesPerStepLate: number;
  minorGcs: number;
  /** Bytes a step allocates (garbage included), from the heap growth over a window without any GC; null without gc(). */
  allocatedPerStep: number | null;
  /** The wasm backend's WebAssembly heap: bytes in use after warm-up, and their growth over the run (null on other backends). */
  wasmBytesAtStart: number | null;
  wasmGrowthBytes: number | null;
  seconds: number;
}

/** Bytes in use in the current backend's WebAssembly heap, or null when it has none. */
function wasmBytesInUse(): number | null {
  return (getBackend() as Partial<WasmBackend>).heap?.bytesInUse ?? null;
}

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let sxy = 0, sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) * (x - mx);
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

/** Let the gc observer deliver what is pending (it reports asynchronously). */
function flushObserver(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Bytes allocated per step, garbage included: after a full GC, run a window of steps and divide
 * the growth of heapUsed by their number — valid only when no scavenge ran in the window (else it
 * tries a shorter one). null without gc() or when every window saw a scavenge.
 */
async function allocationPerStep(
  step: () => void, gc: (() => void) | null, counter: { count(): number },
): Promise<number | null> {
  if (!gc) return null;
  for (const window of [200, 50, 10]) {
    await flushObserver();
    gc();
    const before = counter.count();
    const h0 = process.memoryUsage().heapUsed;
    for (let i = 0; i < window; i++) step();
    const h1 = process.memoryUsage().heapUsed;
    await flushObserver();
    if (counter.count() === before) return Math.max(0, (h1 - h0) / window);
  }
  return null;
}

/** Drain pending finalisers and measure. */
async function heapUsed(gc: (() => void) | null): Promise<number> {
  if (gc) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  return process.memoryUsage().heapUsed;
}

/**
 * `threads` > 1: the data-parallel step (wasm only); the samples are this thread's heap and the
 * shared WebAssembly memory (the workers' regions included), not the workers' own JS heaps.
 */
export async function traceHeap(
  backend: string, cell: string, H: number, steps: number, gc: { gc: (() => void) | null; source: GcSource }, threads = 1,
): Promise<HeapTrace> {
  const params = { cell, B: 4, T: 10, D: 8, H, V: 16, threads };
  const previous = setBackend(backend);
  let work: ReturnType<typeof trainWork> | null = null;
  try {
    work = trainWork(params);
    const warmupSteps = Math.min(WARMUP_STEPS, steps);
    for (let i = 0; i < warmupSteps; i++) work.call();
    const every = Math.max(1, Math.floor(steps / SAMPLES));
    const samples: [number, number][] = [[0, await heapUsed(gc.gc)]];
    const wasmBytesAtStart = wasmBytesInUse();
    const counter = await minorGcCounter();
    const start = performance.now();
    for (let step = 1; step <= steps; step++) {
      work.call();
      if (step % every === 0 || step === steps) samples.push([step, await heapUsed(gc.gc)]);
    }
    const seconds = (performance.now() - start) / 1000;
    const wasmAtEnd = wasmBytesInUse();
    await flushObserver();
    const minorGcs = counter.count(); // the forced collections are full (major) ones: not counted
    const allocatedPerStep = await allocationPerStep(work.call, gc.gc, counter);
    const done = work;
    counter.stop();
    if (!Number.isFinite(done.lastLoss())) throw new Error(`bench memory: the ${cell} training diverged (loss ${done.lastLoss()})`);
    return {
      backend, cell, params, steps, warmupSteps, gc: gc.source, samples,
      growthBytes: samples[samples.length - 1][1] - samples[0][1],
      bytesPerStep: slope(samples),
      bytesPerStepLate: slope(samples.slice(Math.floor(samples.length / 2))),
      minorGcs,
      allocatedPerStep,
      wasmBytesAtStart,
      wasmGrowthBytes: wasmBytesAtStart === null || wasmAtEnd === null ? null : wasmAtEnd - wasmBytesAtStart,
      seconds,
    };
  } finally {
    work?.dispose?.();
    setBackend(previous);
  }
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

export function formatHeapTable(traces: HeapTrace[]): string {
  const rows = [['backend', 'cell', 'steps', 'heap at start', 'growth', 'B/step', 'B/step, 2nd half', 'minor GCs', 'allocated B/step', 'wasm heap', 'wasm growth', 's']];
  for (const t of traces) {
    const threads = Number(t.params.threads ?? 1);
    rows.push([
      t.backend, threads > 1 ? `${t.cell} ×${threads} threads` : t.cell, String(t.steps), kib(t.samples[0][1]), kib(t.growthBytes),
      t.bytesPerStep.toFixed(2), t.bytesPerStepLate.toFixed(2), String(t.minorGcs),
      t.allocatedPerStep === null ? '—' : t.allocatedPerStep.toFixed(0),
      t.wasmBytesAtStart === null ? '—' : kib(t.wasmBytesAtStart), t.wasmGrowthBytes === null ? '—' : kib(t.wasmGrowthBytes),
      t.seconds.toFixed(1),
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => (c >= 2 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ');
  return [line(rows[0]), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export const memorySuite: Suite = {
  name: 'memory',
  summary: 'heap growth over --heap-steps training steps after warm-up (B=4 T=10 D=8 V=16, H = --sizes)',
  sizesHelp: 'hidden sizes H',
  defaultSizes: [16],
  cases: () => [],
  async run(ctx: SuiteContext) {
    const w = ctx.workload ?? DEFAULT_WORKLOAD;
    if (!Number.isInteger(w.heapSteps) || w.heapSteps < 1) throw new Error(`bench memory: expected --heap-steps ≥ 1, got ${w.heapSteps}`);
    const gc = await findGc();
    const traces: HeapTrace[] = [];
    for (const H of ctx.sizes ?? this.defaultSizes!) {
      for (const backend of ctx.backends) {
        for (const cell of w.cells) {
          for (const threads of w.threads ?? [1]) {
            if (threads > 1 && backend !== 'wasm') continue; // worker threads share the wasm memory only
            ctx.log(`bench: memory ${backend} ${cell} H=${H}${threads > 1 ? ` ×${threads} threads` : ''}, ${w.heapSteps} steps …`);
            traces.push(await traceHeap(backend, cell, H, w.heapSteps, gc, threads));
          }
        }
      }
    }
    const gcNote = {
      flag: 'a full GC (--expose-gc) before each sample',
      runtime: 'a full GC before each sample (gc switched on at run time; or run node with --expose-gc)',
      none: 'no GC available: samples include uncollected garbage (run node with --expose-gc)',
    }[gc.source];
    const text = `${formatHeapTable(traces)}\n(${traces[0]?.warmupSteps ?? WARMUP_STEPS} warm-up steps first; ${gcNote}; growth = last − first sample, B/step = least-squares slope; allocated = garbage included)`;
    return { text, results: traces };
  },
};
