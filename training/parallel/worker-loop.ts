/**
 * The worker side of the gradient pool (pool.ts): build a wasm backend over this worker's region of
 * the main thread's shared memory, build the job, report its gradient buffers, then run a job per
 * command until told to leave.
 *
 * A job computes, for the step's arguments, the gradient of its rows' part of the batch loss into
 * its own gradient buffers (zeroing them first) and returns its part of the loss.
 */
import { offerDefaultBackend, registerBackend, setBackend } from '../../engine/backend.js';
import type { Matrix } from '../../engine/matrix.js';
import { createWasmBackend, WasmHeap, type WasmBackend } from '../../engine/wasm/index.js';
import {
  ARGS, CMD, DONE, FAILED, LEFT, MAX_ARGS, OK, READY, SLOT, STATUS, type PoolMessage, type PoolWorkerData,
} from './pool.js';

export interface GradientJob {
  /** The buffers `run` writes, in the shared memory (the main thread reads them in place). */
  readonly grads: Record<string, Matrix>;
  /** Zero `grads`, then write the gradient of this worker's part of the step into them; returns its part of the loss. */
  run(args: Int32Array): number;
}

/** Builds a job from its init data, on this worker's backend (already selected; null for a job without matrices). */
export type GradientJobFactory = (init: unknown, backend: WasmBackend | null) => GradientJob;

/** Select a wasm backend over the worker's region before anything allocates a matrix (none without a region). */
function workerBackend(data: PoolWorkerData): WasmBackend | null {
  if (!data.memory || !data.region) return null;
  const heap = new WasmHeap({ memory: data.memory, region: data.region });
  const backend = createWasmBackend({ relaxedSimd: data.relaxedSimd, heap });
  registerBackend(backend);
  offerDefaultBackend(() => backend); // the first kernel call must not build a default backend of its own
  setBackend(backend.name);
  return backend;
}

function errorLine(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Run as the worker described by `data`, with the job kinds of `factories`. Returns when told to leave. */
export function runGradientWorker(data: PoolWorkerData, factories: Record<string, GradientJobFactory>): void {
  const control = new Int32Array(data.control);
  const results = new Float64Array(data.results);
  const base = data.index * SLOT;
  const args = new Int32Array(MAX_ARGS);
  let job: GradientJob;
  try {
    const factory = factories[data.job];
    if (!factory) throw new Error(`threads: no job kind '${data.job}' in the worker (known: ${Object.keys(factories).join(', ')})`);
    const backend = workerBackend(data);
    job = factory(data.init, backend);
    const grads: PoolMessage['grads'] = {};
    for (const [name, g] of Object.entries(job.grads)) {
      const offset = backend ? backend.heap.offsetOf(g.data) : -1;
      if (offset < 0 || !g.isContiguous || g.offset !== 0) {
        throw new Error(`threads: worker ${data.index} could not keep the gradient of ${name} in its region of wasm memory`);
      }
      grads[name] = { offset, rows: g.rows, cols: g.cols };
    }
    data.port.postMessage({ grads } satisfies PoolMessage);
    Atomics.store(control, base + READY, OK);
  } catch (err) {
    data.port.postMessage({ error: errorLine(err) } satisfies PoolMessage);
    Atomics.store(control, base + DONE, LEFT);
    Atomics.store(control, base + READY, FAILED);
    Atomics.notify(control, base + READY);
    Atomics.notify(control, base + DONE); // a caller already waiting for a job (GradientPoolOptions.awaitReady false)
    return;
  }
  Atomics.notify(control, base + READY);
  let seen = 0;
  for (;;) {
    Atomics.wait(control, base + CMD, seen);
    const command = Atomics.load(control, base + CMD);
    if (command < 0) break;
    if (command === seen) continue;
    seen = command;
    for (let i = 0; i < MAX_ARGS; i++) args[i] = control[base + ARGS + i];
    try {
      results[data.index] = job.run(args);
      Atomics.store(control, base + STATUS, OK);
    } catch (err) {
      data.port.postMessage({ error: errorLine(err) } satisfies PoolMessage);
      Atomics.store(control, base + STATUS, FAILED);
    }
    Atomics.store(control, base + DONE, command);
    Atomics.notify(control, base + DONE);
  }
  Atomics.store(control, base + DONE, LEFT);
  Atomics.notify(control, base + DONE);
  data.port.close();
}
