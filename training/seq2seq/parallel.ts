/**
 * The RNN encoder-decoder's data-parallel step (training/parallel/): the n examples of a batch are
 * cut into N contiguous shares [a_k, b_k) (a_k = ⌊k·n/N⌋, batchShares); the calling thread computes
 * share 0 and worker k share k, each on the same weights (read in place in the shared memory), each
 * padded to its own longest source and target (the masks make padding count for nothing).
 *
 * Loss scaling: the step's loss is the mean over the batch's `tokens` counted target tokens, so a
 * share's part is Σ_{its tokens} ℓ / tokens and its backward runs with scale 1/tokens — exactly the
 * per-token gradient of one thread. The shares' gradients and losses are summed, and the trainer's one
 * update follows, as pool.ts's `step` states (the same N and seed: the same bits).
 *
 * Per step the main thread writes the batch's example indices into a shared Int32Array and posts
 * (n, tokens); each side builds its share's batch from its own copy of the training examples.
 * Dropout masks come from the trainer's generator, which the workers do not share: such runs stay
 * on one thread (Seq2SeqTrainer.parallelUnsupported).
 */
import { getBackend } from '../../engine/backend.js';
import { type Matrix, zero } from '../../engine/matrix.js';
import type { WasmBackend } from '../../engine/wasm/index.js';
import { batchShares, dataParallelThreads, GradientPool, gradientRegionFloats } from '../parallel/pool.js';
import { buildOnSharedWeights, type SharedLayout } from '../parallel/shared-weights.js';
import type { GradientJob } from '../parallel/worker-loop.js';
import { Vocabulary, type VocabularyJSON } from '../text/vocab.js';
import {
  createSeq2Seq, createSeq2SeqWorkspace, makeSeq2SeqBatch, seq2seqBackward, seq2seqForward, seq2seqParameters, seq2seqZeroGrad,
  type Seq2SeqConfig, type Seq2SeqExample, type Seq2SeqModel, type Seq2SeqWorkspace,
} from './model.js';

/** The job kind of the worker entry (training/parallel-worker.ts). */
export const SEQ2SEQ_GRADIENT_JOB = 'seq2seq-gradient';

/** What every share reads: the training examples and the workspaces' longest source and target. */
interface ShareData {
  train: readonly Seq2SeqExample[];
  maxSource: number;
  maxTarget: number;
}

/** Share `share` of N of each step's batch: forward + backward of its examples. */
class Seq2SeqShareStep {
  /** By share size: a share has at most two sizes (a full batch's and the epoch's last batch's). */
  private readonly workspaces = new Map<number, Seq2SeqWorkspace>();

  constructor(private readonly model: Seq2SeqModel, private readonly data: ShareData, private readonly share: number, private readonly threads: number) {}

  workspaceFor(rows: number): Seq2SeqWorkspace {
    let ws = this.workspaces.get(rows);
    if (!ws) {
      ws = createSeq2SeqWorkspace(this.model, this.data.maxSource, this.data.maxTarget, rows);
      this.workspaces.set(rows, ws);
    }
    return ws;
  }

  /**
   * Zero the gradients, then the gradient of this share's part of the batch mean (examples
   * `indices[0 … n)`, `tokens` counted target tokens in all); returns the share's summed loss.
   */
  run(indices: Int32Array, n: number, tokens: number): number {
    seq2seqZeroGrad(this.model);
    const { start, end } = batchShares(n, this.threads)[this.share];
    if (end === start) return 0; // a last batch smaller than N leaves some shares empty
    const examples: Seq2SeqExample[] = [];
    for (let r = start; r < end; r++) examples.push(this.data.train[indices[r]]);
    const ws = this.workspaceFor(end - start);
    const loss = seq2seqForward(this.model, ws, makeSeq2SeqBatch(this.model, examples));
    seq2seqBackward(this.model, ws, 1 / tokens);
    return loss;
  }
}

/** A worker's init data (structured-cloned). */
interface Seq2SeqWorkerInit {
  config: Seq2SeqConfig;
  sourceVocab: VocabularyJSON | null;
  targetVocab: VocabularyJSON;
  weights: SharedLayout;
  data: ShareData;
  indices: Int32Array;
  share: number;
  threads: number;
}

/** The worker side: the model over the main thread's weights, its share's step. Args: [n, tokens]. */
export function createSeq2SeqGradientJob(init: unknown, wasm: WasmBackend | null): GradientJob {
  const i = init as Seq2SeqWorkerInit;
  const backend = wasm as WasmBackend; // the pool gives this job a region: always a backend
  const sourceVocab = i.sourceVocab ? Vocabulary.fromJSON(i.sourceVocab) : null;
  const targetVocab = Vocabulary.fromJSON(i.targetVocab);
  const params = (m: Seq2SeqModel): Record<string, Matrix> => seq2seqParameters(m).params;
  const model = buildOnSharedWeights(() => createSeq2Seq({ ...i.config, sourceVocab, targetVocab }), params, i.weights, backend.heap);
  const step = new Seq2SeqShareStep(model, i.data, i.share, i.threads);
  return { grads: seq2seqParameters(model).grads, run: (args) => step.run(i.indices, args[0], args[1]) };
}

/**
 * The main thread's side: its share, the pool of workers (which sums the gradients: pool.ts's step).
 * Made at the start of a run and closed at its end (no thread outlives a run).
 */
export class Seq2SeqParallelStep {
  readonly threads: number;
  private readonly own: Seq2SeqShareStep;
  private readonly pool: GradientPool;
  /** The batch's example indices, read by every share (a SharedArrayBuffer: not cloned). */
  private readonly indices: Int32Array;

  /**
   * `threads` is clamped to `batch` (B, the trainer's batch size). Throws an InputError naming `op`
   * where threads cannot run (see dataParallelThreads).
   */
  constructor(op: string, private readonly model: Seq2SeqModel, data: ShareData, batch: number, threads: number) {
    const { params, grads } = seq2seqParameters(model);
    this.threads = dataParallelThreads(op, Object.values(params), threads, batch);
    this.indices = new Int32Array(new SharedArrayBuffer(4 * batch));
    this.own = new Seq2SeqShareStep(model, data, 0, this.threads);
    const { heap } = getBackend() as WasmBackend;
    const before = heap.bytesInUse;
    this.own.workspaceFor(Math.ceil(batch / this.threads)); // the largest share's workspace: its size tells the workers' need
    const shareFloats = (heap.bytesInUse - before) / 4;
    this.pool = new GradientPool({
      op, threads: this.threads, job: SEQ2SEQ_GRADIENT_JOB, weights: params, grads, regionFloats: gradientRegionFloats(params, 2 * shareFloats),
      init: (k, weights): Seq2SeqWorkerInit => ({
        config: model.config, sourceVocab: model.sourceVocab?.toJSON() ?? null, targetVocab: model.targetVocab.toJSON(),
        weights, data, indices: this.indices, share: k, threads: this.threads,
      }),
    });
  }

  /**
   * The gradient of the batch `indices` (into the training examples; `tokens` counted target
   * tokens) into the model's gradient buffers, scaled to the batch mean; returns the summed loss.
   */
  step(indices: readonly number[], tokens: number): number {
    this.indices.set(indices);
    return this.pool.step([indices.length, tokens], () => {
      // The embeddings' gradients are zeroed by touched rows; the workers' sums touch others: zero them whole.
      if (this.model.encoder?.embedding) zero(this.model.encoder.embedding.grad);
      zero(this.model.targetEmbedding.grad);
      return this.own.run(this.indices, indices.length, tokens);
    });
  }

  close(): void {
    this.pool.close();
  }
}
