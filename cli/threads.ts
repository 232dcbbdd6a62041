/**
 * The `--threads N` flag of the training commands: threads computing each step's gradient
 * (data-parallel, training/parallel/). Default: every core (os.availableParallelism()) where the
 * backend can share its memory with worker threads (wasm), else 1; an explicit N > 1 where it
 * cannot is refused by the trainer with one line.
 */
import * as os from 'node:os';
import type { FlagSpec, FlagValues } from './args.js';

export const THREADS_FLAG: FlagSpec = {
  type: 'int', min: 1,
  description: 'threads per training step (default: all cores on the wasm backend, else 1); the same N and seed give the same bits, N = 1 the single-thread results',
};

/**
 * The flag's value, or its default for `backend`; `unsupported` (the trainer's reason a run cannot
 * use threads, e.g. dropout) makes the default 1, while an explicit N > 1 still reaches the
 * trainer, which refuses it with that reason.
 */
export function threadsFromFlags(flags: FlagValues, backend: string, unsupported: string | null = null): number {
  const given = flags.threads as number | undefined;
  if (given !== undefined) return given;
  return backend === 'wasm' && unsupported === null ? os.availableParallelism() : 1;
}
