/**
 * Hogwild threads for word2vec and GloVe (Recht et al. 2011; word2vec.c's and glove.c's -threads):
 * N threads run SGD on the same tables at the same time, without locks. The calling thread and
 * N − 1 workers of a GradientPool (training/parallel/pool.ts) share the tables (a shared
 * WebAssembly memory, SharedArrayBuffers) and one small control array (HogwildControl).
 *
 * A pass (an epoch) is cut into chunks of consecutive items (words of the corpus, entries of the
 * shuffled order) that the threads claim in turn from a shared counter (one Atomics.add per chunk,
 * e.g. every 10,000 words), rather than word2vec.c's N fixed contiguous shares, because of where
 * the time went with fixed shares (War and Peace, skip-gram neg, d 100, 546,611 words, `npx tsx`,
 * CPU time of each thread from /proc/thread-self/stat):
 *
 *   1 thread: setup on the calling thread (vocabulary, corpus ids, tables) 0.13–0.26 s, then the
 *   pass, 3.0 s (5.4–6 µs CPU a word).
 *   2 threads, fixed shares: the same setup, then 1.3 s with the calling thread blocked until the
 *   worker had started (it loaded every trainer's module, which tsx transpiles; ~0.1 s from the
 *   bundle in dist/), then the two halves side by side, the pass lasting as long as the slower
 *   share (another process on the machine takes a core now and then): 3.4 s in all, no faster.
 *
 * Now the calling thread trains from the start, and a worker joins as soon as it has started
 * (GradientPoolOptions.awaitReady false; the worker entry loads only its own job's module, ~0.2 s
 * from source), so its start-up overlaps the pass instead of preceding it; a thread slowed down by
 * the machine claims fewer chunks, and the threads end within one chunk of each other. No thread
 * waits for another except at the end of a pass (GloVe's reshuffle between epochs, ~0.2 s on War and
 * Peace's 2.8 M entries, runs on the calling thread alone); waiting is Atomics.wait, never a spin.
 *
 * CPU per word. The loop itself does the same work per word on any number of threads; what the
 * threads write to the same cache lines is the weight rows — inherent to Hogwild: the frequent
 * words' rows (negatives are drawn ∝ count^0.75, the Huffman tree's top nodes are on every path)
 * move between the cores' caches, ~1 µs of CPU a word for skip-gram neg on 2 threads (word2vec.c
 * pays about the same, 7.2 → 8.0 s CPU), within the noise for hs and CBOW — and, once per chunk,
 * the counter, and every 10,000 words the shared word count. Everything else a thread writes per
 * word is its own (its JS heap, its scratch rows on cache lines of their own), and the stop flag,
 * read per sentence, sits on a cache line that is written once. The SIMD module over the shared
 * memory was no slower than over a memory of its own (1 thread: 3.2–3.4 s against 2.9–3.5 s, noise).
 *
 * Not reproducible bit for bit (which thread trains which chunk, and the interleaving of the
 * updates, vary from run to run); a single-thread run never comes here and stays bit-identical.
 */
import { GradientPool } from '../parallel/pool.js';

/** Int32 slots of the control array: the next chunk to claim and the stop flag, 64 bytes apart. */
const NEXT = 0, STOP = 16, CONTROL_INTS = 32;

/** A thread's work on items [from, to) of the pass; false: it stopped (a stop request), the pass ends. */
export type ChunkWork = (from: number, to: number) => boolean;

/** The arrays the threads of a Hogwild run share for its control (structured-cloned to the workers). */
export interface HogwildControl {
  ints: Int32Array;
}

export function createHogwildControl(): HogwildControl {
  return { ints: new Int32Array(new SharedArrayBuffer(4 * CONTROL_INTS)) };
}

/** Ask every thread to end its pass (at its next check: a sentence, 1024 entries, a chunk). */
export function requestHogwildStop(control: HogwildControl): void {
  Atomics.store(control.ints, STOP, 1);
}

export function hogwildStopRequested(control: HogwildControl): boolean {
  return Atomics.load(control.ints, STOP) !== 0;
}

/**
 * Chunk size for a pass of `items` on `threads` threads: `largest` (about 10 ms of work), or smaller
 * so that each thread gets ≥ 16 chunks of a small pass, but not below `smallest`.
 */
export function hogwildChunk(items: number, threads: number, smallest: number, largest: number): number {
  return Math.max(smallest, Math.min(largest, Math.ceil(items / (16 * threads))));
}

/**
 * Claim chunks of items [0, items) until none is left or the run is stopped, and `work` each one.
 * Returns false when `work` or a stop request ended it.
 */
export function trainClaimedChunks(control: HogwildControl, items: number, chunk: number, work: ChunkWork): boolean {
  const ints = control.ints;
  for (;;) {
    if (Atomics.load(ints, STOP) !== 0) return false;
    const from = Atomics.add(ints, NEXT, 1) * chunk;
    if (from >= items) return true;
    if (!work(from, Math.min(items, from + chunk))) return false;
  }
}

/** The arguments of a worker's pass (GradientJob.run's args): items and chunk size. */
export function passArguments(args: Int32Array): { items: number; chunk: number } {
  return { items: args[0], chunk: args[1] };
}

/**
 * The calling thread's side: the pool of N − 1 workers (`job`, each built from `init(k)`), started
 * without waiting for them, and one pass at a time.
 */
export class HogwildThreads {
  private readonly pool: GradientPool;
  private readonly args = new Int32Array(2);

  constructor(op: string, readonly threads: number, job: string, init: (worker: number) => unknown, readonly control: HogwildControl) {
    this.pool = new GradientPool({ op, threads, job, init, regionFloats: 0, awaitReady: false });
  }

  /** Items of the current pass handed out so far, by every thread (the chunks claimed; for progress reports). */
  handedOut(items: number, chunk: number): number {
    return Math.min(items, Atomics.load(this.control.ints, NEXT) * chunk);
  }

  /** What worker k returned for the last pass (its job's result). */
  result(k: number): number {
    return this.pool.results[k];
  }

  /**
   * One pass over items [0, items) in chunks of `chunk`: the workers are woken, the calling thread
   * claims chunks with them, then waits for them to finish theirs. Returns false when the calling
   * thread's `work` stopped (the others are told to stop too); throws a worker's failure.
   */
  pass(items: number, chunk: number, work: ChunkWork): boolean {
    Atomics.store(this.control.ints, NEXT, 0); // no worker is in a pass here
    this.args[0] = items;
    this.args[1] = chunk;
    this.pool.post(this.args);
    let completed: boolean;
    try {
      completed = trainClaimedChunks(this.control, items, chunk, work);
    } catch (err) {
      requestHogwildStop(this.control);
      throw err;
    }
    if (!completed) requestHogwildStop(this.control);
    this.pool.wait();
    return completed;
  }

  /** Stop every thread and wait for them to leave (idempotent). */
  close(): void {
    requestHogwildStop(this.control);
    this.pool.close();
  }
}
