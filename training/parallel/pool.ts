/**
 * Data-parallel training on worker threads: a pool of N − 1 workers that, with the calling thread,
 * compute the gradient of one step's batch in N fixed shares (contiguous rows [a, b) of the batch),
 * against the SAME weights, which live in the wasm backend's shared WebAssembly.Memory and are read
 * in place (no copy per step, see shared-weights.ts).
 *
 *   main thread: step(args, runOwnShare)       worker k (k = 1 … N − 1)
 *   ────────────────────────────────────       ────────────────────────
 *   post(args) ── Atomics.notify ────────────▶  job.run(args): zero ITS gradient buffers (in its
 *   runOwnShare(): rows [a_0, b_0) into grads   region of the memory), forward + backward of rows
 *   wait() ◀──── Atomics.notify ──────────────  [a_k, b_k) into them; its loss → results[k]
 *   grads ← grads + g_1 + g_2 + …               (fixed order: a run is reproducible bit for bit)
 *   returns own + results[1] + results[2] + …   (the same fixed order)
 *   then the trainer's one optimizer update
 *
 * The data-parallel step's contract (the trainers' parallel.ts rely on it, and state only what is
 * their own): `grads` (GradientPoolOptions) are the caller's gradient buffers, with the names and
 * shapes of each worker job's `grads`; `runOwnShare` must leave in them the caller's share's gradient
 * alone, so it zeroes them first — and a gradient its model zeroes only by the rows it touched (an
 * embedding's) must be zeroed whole, since the sum adds the rows the workers touched. The workers
 * run while `runOwnShare` does; `step` returns only once every worker is done, also when
 * `runOwnShare` throws (nothing else may run meanwhile). The integer `args` (at most MAX_ARGS) are all
 * a job hears of a step: what else it reads (the batch's indices, dropout masks) the caller writes
 * into SharedArrayBuffers BEFORE calling `step`. Losses are added in float64 (results are numbers).
 * So a run with the same N and seed gives the same bits, and one whose shares scale their losses as
 * one thread's batch mean differs from N = 1 only in the order of the additions (float32 rounding).
 *
 * Synchronisation is a few Atomics on one SharedArrayBuffer per step (no postMessage per step): a
 * step costs the workers' wake-up (microseconds) plus the sum of the gradients.
 *
 * Memory: each worker gets a region of the main heap (WasmHeap.reserveRegion) for its gradients,
 * workspaces and kernel scratch (gradientRegionFloats sizes it), and builds its own wasm backend over
 * it; `close` gives the regions back once the workers have left, so a pool per run (made at its
 * start, closed at its end, also after a failure) leaves no thread and no growth behind.
 *
 * Failure: a job that throws in a worker makes `wait` (so `step`) close the pool (every worker stops)
 * and throw one Error carrying the worker's message. The workers are unref'd: they never keep a
 * process alive. A pool made with `awaitReady: false` (Hogwild: the caller trains while its workers
 * start; no grads, no weights) learns of a worker that failed to start in `wait`, and gives up on one
 * that has not started START_TIMEOUT_MS (120 s) after the pool was made.
 *
 * Node only, reached through process.getBuiltinModule (no static import of node:worker_threads), so
 * the modules that use the pool still bundle for a browser, where `threads > 1` is refused.
 */
import { getBackend } from '../../engine/backend.js';
import type { Matrix } from '../../engine/matrix.js';
import { add } from '../../engine/ops.js';
import type { WasmBackend } from '../../engine/wasm/index.js';
import type { WasmMemory } from '../../engine/wasm/webassembly.js';
import { InputError } from '../core/errors.js';
import { WeightSnapshot, sharedLayout, sharedMatrix, type SharedLayout } from './shared-weights.js';
import { startModuleWorker, type WorkerPort, type WorkerThread } from './start-worker.js';

/** Int32 slots per worker in the control array. */
export const SLOT = 16;
/** Slot offsets: the command sequence number (−1: leave), the last one done, its status, readiness, the job's arguments. */
export const CMD = 0, DONE = 1, STATUS = 2, READY = 3, ARGS = 4;
export const MAX_ARGS = SLOT - ARGS;
/** STATUS / READY values. */
export const OK = 1, FAILED = 2;
/** DONE after the worker left its loop. */
export const LEFT = -1;

/** What the main thread hands a worker (structured-cloned). */
export interface PoolWorkerData {
  /** The job kind, a key of the worker entry's factory table (training/parallel-worker.ts). */
  job: string;
  /** The job's own data (model config, offsets of the weights, its rows, …). */
  init: unknown;
  index: number;
  control: SharedArrayBuffer;
  results: SharedArrayBuffer;
  /** The wasm backend's memory and this worker's region of it; absent for a job that needs no matrices (Hogwild). */
  memory?: WasmMemory;
  region?: { start: number; end: number };
  relaxedSimd: boolean;
  port: WorkerPort;
}

/** A worker's message on its port: its gradient buffers when ready, or a failure. */
export interface PoolMessage {
  grads?: Record<string, { offset: number; rows: number; cols: number }>;
  error?: string;
}

export interface GradientPoolOptions {
  /** The operation named in errors ("train"). */
  op: string;
  /** Threads in all, the caller's included: N − 1 workers are started. */
  threads: number;
  /** The job kind (see PoolWorkerData.job). */
  job: string;
  /** The init data of worker k (1 … N − 1); `weights`: where the shared weights lie (empty without `weights`). */
  init: (worker: number, weights: SharedLayout) => unknown;
  /**
   * Floats of wasm memory each worker may allocate in (its own wasm backend over the shared memory);
   * 0: the job uses no matrices — no backend in the worker (its data comes in SharedArrayBuffers).
   */
  regionFloats: number;
  /**
   * The main thread's weights that the workers build their models over (buildOnSharedWeights, from
   * the layout handed to `init`): their builders' initialisation writes into them, so the pool keeps
   * a copy and puts it back once every worker is ready (or has failed).
   */
  weights?: Record<string, Matrix>;
  /** The caller's gradient buffers, into which `step` sums the workers' (see the header); none: nothing is summed. */
  grads?: Record<string, Matrix>;
  /**
   * false: the constructor returns as soon as the workers are started, without waiting until they
   * are ready — a job posted before then runs once the worker is, and `wait` reports a worker that
   * failed to start. For jobs without gradient buffers (Hogwild), whose caller works on its own
   * while the workers start. Default true.
   */
  awaitReady?: boolean;
}

interface WorkerThreads {
  MessageChannel: new () => { port1: WorkerPort; port2: WorkerPort };
  receiveMessageOnPort(port: WorkerPort): { message: unknown } | undefined;
}

/** How long a worker may take to start (module loading, building its model) before the pool gives up. */
const START_TIMEOUT_MS = 120_000;

function workerThreads(op: string): WorkerThreads {
  const host = globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } };
  const mod = host.process?.getBuiltinModule?.('node:worker_threads') as WorkerThreads | undefined;
  if (!mod) throw new InputError(`${op}: threads > 1 need Node's worker_threads (Node ≥ 20.16), not available here`);
  return mod;
}

/**
 * Why `threads > 1` cannot run here (null when it can): the workers read the weights in place, so
 * they must be float32 matrices in the wasm backend's shared memory.
 */
function threadsRefusal(op: string, params: readonly Matrix[]): string | null {
  const backend = getBackend() as Partial<WasmBackend>;
  const heap = backend.heap;
  if (!heap) return `${op}: --threads > 1 needs the wasm backend (the workers share its memory), got backend '${backend.name}'; use --threads 1`;
  if (!heap.shared) return `${op}: --threads > 1 needs a shared WebAssembly memory (SharedArrayBuffer), which this host does not give; use --threads 1`;
  for (const p of params) {
    if (p.dtype !== 'float32') return `${op}: --threads > 1 trains float32 models only, got a ${p.dtype} model; use --threads 1`;
    if (heap.offsetOf(p.data) < 0 || p.data.length !== p.size) {
      return `${op}: --threads > 1 needs the weights in the wasm backend's memory; this model was built before the backend was selected (build it after setBackend), or use --threads 1`;
    }
  }
  return null;
}

/**
 * The threads a data-parallel trainer runs on: `threads` clamped to the batch's `rows` (a share has
 * at least one row). Throws an InputError naming `op` where they cannot run (threadsRefusal): the
 * workers read `shared` (the weights, and any state they share) in place.
 */
export function dataParallelThreads(op: string, shared: readonly Matrix[], threads: number, rows: number): number {
  const refusal = threadsRefusal(op, shared);
  if (refusal) throw new InputError(refusal);
  return Math.min(threads, rows);
}

/**
 * A gradient worker's region (GradientPoolOptions.regionFloats): its gradients and their scratch
 * (twice the weights), its share's workspaces (`workspaceFloats`, the caller's measure with its
 * margin), and 4 Mi floats of kernel scratch.
 */
export function gradientRegionFloats(weights: Record<string, Matrix>, workspaceFloats: number): number {
  let weightFloats = 0;
  for (const name in weights) weightFloats += weights[name].size;
  return 2 * weightFloats + workspaceFloats + (4 << 20);
}

/** Rows [start, end) of a batch (or entries of a pass). */
export interface Share {
  start: number;
  end: number;
}

/** N contiguous shares of `rows`, share k = [⌊k·rows/N⌋, ⌊(k+1)·rows/N⌋): fixed for a given N. */
export function batchShares(rows: number, threads: number): Share[] {
  return Array.from({ length: threads }, (_, k) => ({ start: Math.floor((k * rows) / threads), end: Math.floor(((k + 1) * rows) / threads) }));
}

/** Worker threads started by pools and not yet seen leaving (tests check that none outlives its pool). */
let runningWorkers = 0;

export function runningWorkerThreads(): number {
  return runningWorkers;
}

export class GradientPool {
  readonly threads: number;
  /** Per worker (index k − 1 for worker k), views of its gradient buffers in the shared memory. */
  readonly workerGrads: Record<string, Matrix>[] = [];
  /** results[k]: what worker k's job returned for the last step (results[0] is unused: the caller's). */
  readonly results: Float64Array;
  private readonly control: Int32Array;
  private readonly workers: WorkerThread[] = [];
  private readonly ports: WorkerPort[] = [];
  private readonly regions: { start: number; end: number }[] = [];
  private readonly api: WorkerThreads;
  private readonly backend: WasmBackend | null;
  private readonly op: string;
  private readonly grads: Record<string, Matrix>;
  private sequence = 0;
  private closed = false;
  /** When a worker not yet ready is given up on (see START_TIMEOUT_MS). */
  private readonly startDeadline = Date.now() + START_TIMEOUT_MS;

  /**
   * Start the workers and wait (blocking) until each has built its job; throws, leaving nothing
   * running, when one fails. With `awaitReady: false` it returns once they are started (see there).
   */
  constructor(opts: GradientPoolOptions) {
    if (opts.awaitReady === false && (opts.grads || opts.weights)) {
      // their gradient buffers are known, and the weights safe to restore, only once every worker is ready
      throw new Error(`${opts.op}: a pool that does not await its workers takes no grads or weights`);
    }
    this.op = opts.op;
    this.api = workerThreads(opts.op);
    this.backend = opts.regionFloats > 0 ? (getBackend() as WasmBackend) : null;
    this.threads = opts.threads;
    this.grads = opts.grads ?? {};
    const workers = opts.threads - 1;
    this.control = new Int32Array(new SharedArrayBuffer(4 * SLOT * opts.threads));
    this.results = new Float64Array(new SharedArrayBuffer(8 * opts.threads));
    const entry = workerEntry();
    const snapshot = opts.weights ? new WeightSnapshot(Object.values(opts.weights)) : null;
    const layout = opts.weights ? sharedLayout(opts.weights, (getBackend() as WasmBackend).heap) : {};
    try {
      for (let k = 1; k <= workers; k++) this.startWorker(entry, k, opts, layout);
      if (opts.awaitReady ?? true) for (let k = 1; k <= workers; k++) this.awaitReady(k);
    } catch (err) {
      this.close();
      throw err;
    } finally {
      snapshot?.restore();
    }
  }

  private startWorker(entry: URL, k: number, opts: GradientPoolOptions, layout: SharedLayout): void {
    const heap = this.backend?.heap;
    const region = heap?.reserveRegion(opts.regionFloats);
    if (region) this.regions.push(region);
    const { port1, port2 } = new this.api.MessageChannel();
    this.ports.push(port1);
    const data: PoolWorkerData = {
      job: opts.job, init: opts.init(k, layout), index: k, control: this.control.buffer as SharedArrayBuffer,
      results: this.results.buffer as SharedArrayBuffer, memory: heap?.memory, region,
      relaxedSimd: this.backend?.relaxedSimd ?? false, port: port2,
    };
    const worker = startModuleWorker(entry, { workerData: data, transferList: [port2] });
    worker.unref();
    // Errors reach the caller through the control array and the port; the events are only for the event loop.
    worker.on('error', () => {});
    this.workers.push(worker);
    runningWorkers++;
  }

  private awaitReady(k: number): void {
    const at = k * SLOT + READY;
    let message: PoolMessage | undefined;
    while (Atomics.load(this.control, at) === 0) {
      if (Date.now() > this.startDeadline) throw this.notStarted(k);
      Atomics.wait(this.control, at, 0, 100);
      message ??= this.failIfReported(k);
    }
    message ??= this.failIfReported(k);
    if (!message?.grads) throw new Error(`${this.op}: worker thread ${k} started without reporting its gradients`);
    const grads: Record<string, Matrix> = {};
    for (const [name, g] of Object.entries(message.grads)) grads[name] = sharedMatrix(this.backend!.heap, g.offset, g.rows, g.cols);
    this.workerGrads.push(grads);
  }

  private notStarted(k: number): Error {
    return new Error(`${this.op}: worker thread ${k} did not start within ${START_TIMEOUT_MS / 1000} s`);
  }

  /** The worker's message, if any; throws its error when it reported one. */
  private failIfReported(k: number): PoolMessage | undefined {
    const received = this.api.receiveMessageOnPort(this.ports[k - 1]);
    const message = received?.message as PoolMessage | undefined;
    if (message?.error !== undefined) throw new Error(message.error);
    return message;
  }

  /**
   * Wake every worker on a job with these integer arguments (at most MAX_ARGS). `step` posts, runs
   * the caller's share and waits; the Hogwild passes (word2vec, GloVe: nothing to sum) post and wait themselves.
   */
  post(args: ArrayLike<number>): void {
    if (this.closed) throw new Error(`${this.op}: the worker pool is closed`);
    this.sequence++;
    for (let k = 1; k < this.threads; k++) {
      const base = k * SLOT;
      for (let i = 0; i < args.length; i++) this.control[base + ARGS + i] = args[i];
      Atomics.store(this.control, base + CMD, this.sequence);
      Atomics.notify(this.control, base + CMD);
    }
  }

  /** Wait for every worker's job (in worker order); a failed job closes the pool and throws its message. */
  wait(): void {
    for (let k = 1; k < this.threads; k++) {
      const base = k * SLOT;
      let left = false; // before running the job: it failed to start (awaitReady false)
      for (;;) {
        const done = Atomics.load(this.control, base + DONE);
        if (done === this.sequence) break;
        if ((left = done === LEFT)) break;
        if (Atomics.load(this.control, base + READY) === 0 && Date.now() > this.startDeadline) {
          this.close(); // a worker that never started (awaitReady false) — e.g. its module did not load
          throw this.notStarted(k);
        }
        Atomics.wait(this.control, base + DONE, done, 1000);
      }
      if (left || Atomics.load(this.control, base + STATUS) === FAILED) {
        let message = `${this.op}: worker thread ${k} failed`;
        try {
          // the worker's messages in order: with awaitReady false its ready message is still unread
          while (this.failIfReported(k) !== undefined);
        } catch (err) {
          message = (err as Error).message;
        }
        this.close();
        throw new Error(message);
      }
    }
  }

  /**
   * One data-parallel step (the contract: see the header): post `args` to the workers, run the
   * caller's share, wait for every worker (also when the share throws), sum the workers' gradients
   * into `grads` in worker order; returns the caller's share's result + results[1] + … + results[N − 1],
   * added in that order. A worker's failure closes the pool and throws its one-line message (it
   * comes out instead of the caller's share's error when both fail; the caller's alone leaves the pool open).
   */
  step(args: ArrayLike<number>, runOwnShare: () => number): number {
    this.post(args);
    let total: number;
    try {
      total = runOwnShare();
    } finally {
      this.wait();
    }
    this.sumInto(this.grads);
    for (let k = 1; k < this.threads; k++) total += this.results[k];
    return total;
  }

  /** grads ← grads + Σ_k workerGrads[k], k = 1, 2, … in that order (same names and shapes). */
  private sumInto(grads: Record<string, Matrix>): void {
    for (const worker of this.workerGrads) {
      for (const name in grads) add(grads[name], grads[name], worker[name]);
    }
  }

  /** Stop every worker, and give their memory back once they have left. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (let k = 1; k <= this.workers.length; k++) {
      Atomics.store(this.control, k * SLOT + CMD, -1);
      Atomics.notify(this.control, k * SLOT + CMD);
    }
    const deadline = Date.now() + 5000; // a worker still starting leaves as soon as its job is built
    let allLeft = true;
    for (let k = 1; k <= this.workers.length; k++) {
      const at = k * SLOT + DONE;
      while (Atomics.load(this.control, at) !== LEFT && Date.now() < deadline) {
        Atomics.wait(this.control, at, Atomics.load(this.control, at), 50);
      }
      if (Atomics.load(this.control, at) === LEFT) runningWorkers--;
      else allLeft = false;
    }
    for (const worker of this.workers) void worker.terminate();
    for (const port of this.ports) port.close();
    // A worker still running might write its region: then it is left allocated (a leak, not a corruption).
    if (allLeft) for (const region of this.regions) this.backend?.heap.freeFloats(region.start);
  }
}

/** The worker entry (training/parallel-worker.ts), run from source or from the bundles in dist/. */
function workerEntry(): URL {
  const here = import.meta.url;
  if (here.endsWith('.ts')) return new URL('../parallel-worker.ts', here);
  // Bundled: dist/index.js, dist/cli.js or a chunk in dist/chunks/ — the worker bundle is dist/parallel-worker.js.
  const fs = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.('node:fs') as
    { existsSync(p: URL): boolean } | undefined;
  for (const candidate of ['./parallel-worker.js', '../parallel-worker.js']) {
    const url = new URL(candidate, here);
    if (fs?.existsSync(url)) return url;
  }
  throw new Error(`threads: the worker module parallel-worker.js was not found next to ${here}`);
}
