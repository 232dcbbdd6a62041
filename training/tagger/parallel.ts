/**
 * The tagger's data-parallel step (training/parallel/): the B sentences of a batch are cut into N
 * contiguous shares (batchShares); the calling thread computes share 0 and worker k share k, each
 * on the same weights (read in place in the shared memory), each padded to its own longest
 * sentence (the 0/1 mask keeps padding out of the recurrence).
 *
 * Loss scaling: the batch loss is the mean over its `tokens` tagged tokens, so the head's loss takes a
 * second mask, 1/tokens on each real token, with reduction 'sum': a share's loss is its part of the
 * mean and its gradient exactly the per-token gradient of one thread. The shares' gradients and losses
 * are summed, and the trainer's one update follows, as pool.ts's `step` states (the same N and seed:
 * the same bits).
 *
 * Per step the main thread writes the batch's sentence indices into a shared Int32Array and posts
 * (B, tokens); each side builds its share's batch from its own copy of the encoded sentences.
 */
import { getBackend } from '../../engine/backend.js';
import { Matrix, zero } from '../../engine/matrix.js';
import type { WasmBackend } from '../../engine/wasm/index.js';
import {
  createManyToManyWorkspace, encoderForward, manyToManyBackward, modelParameters, modelZeroGrads, type ManyToManyWorkspace,
} from '../../layers/architectures.js';
import { headForward } from '../../layers/heads.js';
import { NO_INIT } from '../../engine/init.js';
import { batchShares, dataParallelThreads, GradientPool, gradientRegionFloats } from '../parallel/pool.js';
import { buildOnSharedWeights, type SharedLayout } from '../parallel/shared-weights.js';
import type { GradientJob } from '../parallel/worker-loop.js';
import { Vocabulary, type VocabularyJSON } from '../text/vocab.js';
import { createBatchBuffers, createTagger, fillBatch, type Tagger, type TaggerConfig } from './tagger.js';

/** The job kind of the worker entry (training/parallel-worker.ts). */
export const TAGGER_GRADIENT_JOB = 'tagger-gradient';

/** What every share reads: the encoded training sentences, their labels, the longest one. */
interface ShareData {
  encoded: Int32Array[];
  labels: number[][];
  longest: number;
}

/** Share `share` of N of each step's batch: forward + backward of its sentences. */
class TaggerShareStep {
  /** By share size (a share of a full batch has one size: B is fixed). */
  private readonly workspaces = new Map<number, { ws: ManyToManyWorkspace; buf: ReturnType<typeof createBatchBuffers>; weights: Matrix }>();

  constructor(private readonly tagger: Tagger, private readonly data: ShareData, private readonly share: number, private readonly threads: number) {}

  private buffersFor(rows: number): { ws: ManyToManyWorkspace; buf: ReturnType<typeof createBatchBuffers>; weights: Matrix } {
    let b = this.workspaces.get(rows);
    if (!b) {
      const T = this.data.longest;
      b = { ws: createManyToManyWorkspace(this.tagger.net, T, rows), buf: createBatchBuffers(T, rows), weights: Matrix.zeros(T, rows, 'float64') };
      this.workspaces.set(rows, b);
    }
    return b;
  }

  /**
   * Zero the gradients, then the gradient of this share's part of the mean loss of the batch
   * `indices[0 … n)` (`tokens` tagged tokens in all) into them; returns that part of the loss.
   */
  run(indices: Int32Array, n: number, tokens: number): number {
    const net = this.tagger.net;
    modelZeroGrads(net);
    const { start, end } = batchShares(n, this.threads)[this.share];
    if (end === start) return 0;
    const picked = Array.from(indices.subarray(start, end));
    const { ws, buf, weights } = this.buffersFor(end - start);
    const T = fillBatch(buf, picked.map((i) => this.data.encoded[i]), picked.map((i) => this.data.labels[i]));
    const rows = T * (end - start);
    const mask = buf.mask.rowView(0, T);
    const w = weights.rowView(0, T);
    for (let i = 0; i < rows; i++) w.data[i] = mask.data[i] / tokens;
    const { outputs } = encoderForward(net, ws.encoder, buf.ids.subarray(0, rows), { mask });
    const targets = this.tagger.config.tags ? buf.classes.subarray(0, rows) : buf.y.rowView(0, rows);
    const loss = headForward(net.head, ws.head, outputs, targets, { mask: w, reduction: 'sum' });
    manyToManyBackward(net, ws);
    return loss;
  }
}

/** A worker's init data (structured-cloned). */
interface TaggerWorkerInit {
  vocab: VocabularyJSON;
  config: TaggerConfig;
  weights: SharedLayout;
  data: ShareData;
  indices: Int32Array;
  share: number;
  threads: number;
}

const weightsOf = (t: Tagger): Record<string, Matrix> => modelParameters(t.net).params;

/** The worker side: the tagger over the main thread's weights, its share's step. Args: [n, tokens]. */
export function createTaggerGradientJob(init: unknown, wasm: WasmBackend | null): GradientJob {
  const i = init as TaggerWorkerInit;
  const backend = wasm as WasmBackend; // the pool gives this job a region: always a backend
  const vocab = Vocabulary.fromJSON(i.vocab);
  const tagger = buildOnSharedWeights(() => createTagger({ ...i.config, vocab }, { rng: NO_INIT }), weightsOf, i.weights, backend.heap);
  const step = new TaggerShareStep(tagger, i.data, i.share, i.threads);
  return { grads: modelParameters(tagger.net).grads, run: (args) => step.run(i.indices, args[0], args[1]) };
}

/**
 * The main thread's side: its share, the pool of workers (which sums the gradients: pool.ts's step).
 * Made at the start of a run and closed at its end (no thread outlives a run).
 */
export class TaggerParallelStep {
  readonly threads: number;
  private readonly own: TaggerShareStep;
  private readonly pool: GradientPool;
  /** The batch's sentence indices, read by every share (a SharedArrayBuffer: not cloned). */
  private readonly indices: Int32Array;

  /** `threads` is clamped to `batch` (B). Throws an InputError naming `op` where threads cannot run (see dataParallelThreads). */
  constructor(op: string, private readonly tagger: Tagger, data: ShareData, batch: number, threads: number) {
    const { params, grads } = modelParameters(tagger.net);
    this.threads = dataParallelThreads(op, Object.values(params), threads, batch);
    this.indices = new Int32Array(new SharedArrayBuffer(4 * batch));
    this.own = new TaggerShareStep(tagger, data, 0, this.threads);
    const { heap } = getBackend() as WasmBackend;
    const before = heap.bytesInUse;
    createManyToManyWorkspace(tagger.net, data.longest, Math.ceil(batch / this.threads)); // measured, then dropped: the workers' need
    const shareFloats = (heap.bytesInUse - before) / 4;
    this.pool = new GradientPool({
      op, threads: this.threads, job: TAGGER_GRADIENT_JOB, weights: params, grads, regionFloats: gradientRegionFloats(params, 2 * shareFloats),
      init: (k, weights): TaggerWorkerInit => ({
        vocab: tagger.vocab.toJSON(), config: tagger.config, weights, data, indices: this.indices, share: k, threads: this.threads,
      }),
    });
  }

  /** The gradient of the mean loss of the batch `indices` (`tokens` tagged tokens) into the tagger's gradient buffers; returns that loss. */
  step(indices: readonly number[], tokens: number): number {
    this.indices.set(indices);
    return this.pool.step([indices.length, tokens], () => {
      // The embedding's gradient is zeroed by touched rows; the workers' sums touch others: zero it whole.
      if (this.tagger.net.embedding) zero(this.tagger.net.embedding.grad);
      return this.own.run(this.indices, indices.length, tokens);
    });
  }

  close(): void {
    this.pool.close();
  }
}
