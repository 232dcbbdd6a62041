/**
 * Hogwild threads for word2vec and GloVe (Recht et al. 2011; word2vec.c's and glove.c's -threads):
 * N threads run SGD on the same tables at the same time, without locks. The calling thread and
 * N − 1 workers of a GradientPool (training/parallel/pool.ts) share the tables (a shared
 * WebAssembly memory, SharedArrayBuffers) and one small control array (HogwildControl).
 *
 * A pass (an epoch) is cut as word2vec.c cuts it — region k = items [k·n/N, (k+1)·n/N) (words of the
 * corpus, entries of the shuffled order) belongs to thread k — but a region is trained in chunks
 * (≤ 10,000 words, ≤ 16,384 GloVe entries) claimed from a shared counter (one compareExchange per
 * chunk): thread k takes its own region's chunks from the front, then helps with the others' from
 * their backs. Why (War and Peace, skip-gram neg, d 100, 546,611 words, `npx tsx`; CPU time of each
 * thread from /proc/thread-self/stat; the machine shared with other work, so figures vary ±15%):
 *
 *   1 thread: setup on the calling thread (vocabulary, corpus ids, tables) 0.13–0.26 s, then the
 *   pass, ~3 s (5.4–6.6 µs CPU a word).
 *   2 threads, fixed shares (before): the same setup, then 1.3 s with the calling thread blocked
 *   until the worker had started (it loaded every trainer's module, which tsx transpiles; ~0.1 s
 *   from the bundle in dist/), then the two halves side by side, the pass lasting as long as the
 *   slower share (another process on the machine takes a core now and then): 3.4 s, no faster.
 *   2 threads, one shared counter over the whole pass (tried): the calling thread no longer waits,
 *   but the two threads train neighbouring chunks — the same chapter, the same names — and write
 *   the same rows of E and Θ all the time: 1.5–1.8× the CPU a word, 3.0–3.7 s, still no faster.
 *   2 threads, regions as above (now): the calling thread trains from the start; the worker joins
 *   when it has started (GradientPoolOptions.awaitReady false; the worker entry loads only its
 *   own job's module, ~0.2–0.4 s from source, ~0.05 s from dist/) and trains half a corpus away; a
 *   thread slowed down by the machine is helped from the back of its region, so the threads end
 *   within one chunk of each other: 2.2–2.7 s from source, and the training loop of `seqgrad
 *   word2vec` (dist/) 1.7 s against 2.8–3.6 s on 1 thread.
 *
 * No thread waits for another except at the end of a pass (GloVe's reshuffle between epochs, ~0.2 s
 * on War and Peace's 2.8 M entries, runs on the calling thread alone); waiting is Atomics.wait,
 * never a spin.
 *
 * CPU per word. The loop does the same work per word on any number of threads; what the threads
 * write to the same cache lines is the weight rows — inherent to Hogwild: the frequent words' rows
 * (negatives are drawn ∝ count^0.75, the Huffman tree's top nodes are on every path) move between
 * the cores' caches: with both threads really running at once, 0.95–1.1× the 1-thread CPU a word
 * in some runs (the pass then 1.66× faster for skip-gram neg, 1.89× for hs, 1.4–1.6× for CBOW,
 * whose 1.7 s pass the worker's start-up from source weighs on) and 1.3–1.5× in others with the
 * same code (the machine's other work and where its two virtual cores sit; word2vec.c: 1.11 on an
 * idle machine) — and, once per chunk, the region's counter, and every 10,000 words the shared
 * word count. Everything else a
 * thread writes per word is its own (its JS heap, its scratch rows on cache lines of their own),
 * and the stop flag, read per sentence, sits on a cache line that is written once. The SIMD module
 * over the shared memory was no slower than over a memory of its own (1 thread: 3.2–3.4 s against
 * 2.9–3.5 s, noise).
 *
 * Not reproducible bit for bit (which thread trains which chunk, and the interleaving of the
 * updates, vary from run to run); a single-thread run never comes here and stays bit-identical.
 */
import { GradientPool } from '../parallel/pool.js';

/**
 * Int32 slots of the control array, each on a cache line of its own (16 ints apart): the stop flag,
 * then per region r its claims — the chunks taken from its front (low 16 bits) and from its back
 * (high 16 bits), changed together by compareExchange.
 */
const STOP = 0, LINE = 16, BACK = 0x10000, FRONT_MASK = 0xffff;
/** Chunks per region at most (the 16-bit halves of a region's claims; hogwildChunk grows the chunks). */
const MAX_CHUNKS = 0x7fff;

/** A thread's work on items [from, to) of the pass; false: it stopped (a stop request), the pass ends. */
export type ChunkWork = (from: number, to: number) => boolean;

/** The arrays the threads of a Hogwild run share for its control (structured-cloned to the workers). */
export interface HogwildControl {
  ints: Int32Array;
  threads: number;
}

export function createHogwildControl(threads: number): HogwildControl {
  return { ints: new Int32Array(new SharedArrayBuffer(4 * LINE * (threads + 1))), threads };
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
 * so that each thread gets ≥ 16 chunks of a small pass, but not below `smallest` — and large enough
 * that a region (items/threads) has at most MAX_CHUNKS chunks.
 */
export function hogwildChunk(items: number, threads: number, smallest: number, largest: number): number {
  const chunk = Math.max(smallest, Math.min(largest, Math.ceil(items / (16 * threads))));
  return Math.max(chunk, Math.ceil(items / threads / MAX_CHUNKS));
}

/** Items [start, end) of region r of a pass (thread r's share, as word2vec.c's threads have them). */
function region(items: number, threads: number, r: number): { start: number; end: number } {
  return { start: Math.floor((r * items) / threads), end: Math.floor(((r + 1) * items) / threads) };
}

/** Claim the next chunk of region r from its front or its back; its index in the region, or −1 when none is left. */
function claim(ints: Int32Array, r: number, chunks: number, fromBack: boolean): number {
  const at = LINE * (r + 1);
  for (;;) {
    const claims = Atomics.load(ints, at);
    const front = claims & FRONT_MASK, back = claims >>> 16;
    if (front + back >= chunks) return -1;
    if (Atomics.compareExchange(ints, at, claims, claims + (fromBack ? BACK : 1)) === claims) return fromBack ? chunks - 1 - back : front;
  }
}

/**
 * Thread `thread`'s part of a pass over items [0, items): the chunks of its own region from the
 * front, then, while any is left, those of the other regions from their backs (the threads that own
 * them work from the front, far away in the corpus), each given to `work`. Returns false when
 * `work` or a stop request ended it.
 */
export function trainClaimedChunks(control: HogwildControl, thread: number, items: number, chunk: number, work: ChunkWork): boolean {
  const { ints, threads } = control;
  for (let step = 0; step < threads; step++) {
    const r = (thread + step) % threads;
    const { start, end } = region(items, threads, r);
    const chunks = Math.ceil((end - start) / chunk);
    for (;;) {
      if (Atomics.load(ints, STOP) !== 0) return false;
      const c = claim(ints, r, chunks, step > 0);
      if (c < 0) break;
      const from = start + c * chunk;
      if (!work(from, Math.min(end, from + chunk))) return false;
    }
  }
  return true;
}

/** Items of a pass handed out so far (the chunks claimed in every region; for progress reports). */
export function hogwildItemsHandedOut(control: HogwildControl, items: number, chunk: number): number {
  let total = 0;
  for (let r = 0; r < control.threads; r++) {
    const { start, end } = region(items, control.threads, r);
    const claims = Atomics.load(control.ints, LINE * (r + 1));
    total += Math.min(end - start, ((claims & FRONT_MASK) + (claims >>> 16)) * chunk);
  }
  return total;
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

  /** Items of the current pass handed out so far, to every thread (for progress reports). */
  handedOut(items: number, chunk: number): number {
    return hogwildItemsHandedOut(this.control, items, chunk);
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
    for (let r = 0; r < this.threads; r++) Atomics.store(this.control.ints, LINE * (r + 1), 0); // no worker is in a pass here
    this.args[0] = items;
    this.args[1] = chunk;
    this.pool.post(this.args);
    let completed: boolean;
    try {
      completed = trainClaimedChunks(this.control, 0, items, chunk, work);
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
