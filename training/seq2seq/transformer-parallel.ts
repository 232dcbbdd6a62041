/**
 * The Transformer encoder-decoder's data-parallel step (training/parallel/), after the RNN's
 * (parallel.ts): the n examples of a batch are cut into N contiguous shares [a_k, b_k) (batchShares);
 * the calling thread computes share 0 and worker k share k, on the same weights (read in place in the
 * shared memory), each share padded to its whole batch's shape (T_x′, T_y′; transformer-batch.ts).
 *
 * Loss scaling: the step's loss is the mean over the batch's `tokens` counted target tokens, so a
 * share's part is Σ_{its tokens} ℓ / tokens and its backward runs with lossTokens = tokens — the
 * per-token gradient of one thread. The shares' gradients and losses are summed, and the trainer's one
 * update follows, as pool.ts's `step` states (the same N and seed: the same bits).
 *
 * Dropout: before each step the calling thread draws the whole batch's masks from the trainer's
 * generator, as one thread's forward pass would (training/parallel/dropout-masks.ts), into a buffer
 * the workers share; every share takes its columns of them and runs with the masks fixed. So the
 * masks do not depend on N, and the generator's state after a step is the same for every N.
 *
 * Per step the main thread writes the batch's example indices into a shared Int32Array and posts
 * (n, tokens, T_x′, T_y′); each side builds its share's batch from its own copy of the examples.
 */
import { getBackend } from '../../engine/backend.js';
import { type Matrix, zero } from '../../engine/matrix.js';
import type { Rng } from '../../engine/rng.js';
import { DROPOUT_FIXED, type DropoutWorkspace } from '../../layers/dropout.js';
import type { WasmBackend } from '../../engine/wasm/index.js';
import { drawBatchMasks, maskFloats, maskPlan, sharedMaskBuffer, takeShareMasks, type MaskPlanEntry } from '../parallel/dropout-masks.js';
import { batchShares, dataParallelThreads, GradientPool, gradientRegionFloats } from '../parallel/pool.js';
import { buildOnSharedWeights, type SharedLayout } from '../parallel/shared-weights.js';
import type { GradientJob } from '../parallel/worker-loop.js';
import { Vocabulary, type VocabularyJSON } from '../text/vocab.js';
import type { Seq2SeqExample } from './model.js';
import { transformerSeq2SeqBatch } from './transformer-batch.js';
import {
  createTransformerSeq2Seq, createTransformerSeq2SeqWorkspace, transformerSeq2SeqBackward, transformerSeq2SeqForward, transformerSeq2SeqParameters,
  transformerSeq2SeqZeroGrad, type TransformerSeq2SeqConfig, type TransformerSeq2SeqModel, type TransformerSeq2SeqWorkspace,
} from './transformer-model.js';

/** The job kind of the worker entry (training/parallel-worker.ts). */
export const TRANSFORMER_SEQ2SEQ_GRADIENT_JOB = 'transformer-seq2seq-gradient';

/** A batch's padded lengths. */
export interface BatchShape {
  srcSteps: number;
  tgtSteps: number;
}

/** Every dropout of a forward pass, in its order: the encoder's, then the decoder's. */
function dropoutsOf(ws: TransformerSeq2SeqWorkspace): DropoutWorkspace[] {
  return [...ws.encoder.dropouts, ...ws.decoder.dropouts];
}

/** Share `share` of N of each step's batch: forward + backward of its examples. */
class TransformerSeq2SeqShareStep {
  /** By (T_x′, T_y′, rows): a few shapes per run. */
  private readonly workspaces = new Map<string, TransformerSeq2SeqWorkspace>();
  /** The whole batch's masks of the step (set once the main thread has sized them). */
  masks: Float32Array<ArrayBufferLike> = new Float32Array(0);

  constructor(
    private readonly model: TransformerSeq2SeqModel, private readonly train: readonly Seq2SeqExample[], private readonly share: number,
    private readonly threads: number,
  ) {}

  /** The workspace of `rows` examples of this shape (made on first use). */
  workspaceFor(shape: BatchShape, rows: number): TransformerSeq2SeqWorkspace {
    const key = `${shape.srcSteps}x${shape.tgtSteps}x${rows}`;
    let ws = this.workspaces.get(key);
    if (!ws) {
      ws = createTransformerSeq2SeqWorkspace(this.model, shape.srcSteps, shape.tgtSteps, rows);
      this.workspaces.set(key, ws);
    }
    return ws;
  }

  /** The masks' plan of a batch of this shape (the same for every share: read from any workspace of it). */
  planFor(shape: BatchShape, n: number): MaskPlanEntry[] {
    const { start, end } = batchShares(n, this.threads)[this.share];
    const rows = Math.max(1, end - start);
    return maskPlan(dropoutsOf(this.workspaceFor(shape, rows)), rows);
  }

  /**
   * Zero the gradients, then the gradient of this share's part of the batch mean (examples
   * `indices[0 … n)` padded to `shape`, `tokens` counted target tokens in all, the batch's masks in
   * the shared buffer); returns the share's summed loss.
   */
  run(indices: Int32Array, n: number, tokens: number, shape: BatchShape): number {
    transformerSeq2SeqZeroGrad(this.model);
    const share = batchShares(n, this.threads)[this.share];
    if (share.end === share.start) return 0; // a last batch smaller than N leaves some shares empty
    const examples: Seq2SeqExample[] = [];
    for (let r = share.start; r < share.end; r++) examples.push(this.train[indices[r]]);
    const batch = transformerSeq2SeqBatch(this.model, examples, shape);
    const ws = this.workspaceFor(shape, examples.length);
    takeShareMasks(dropoutsOf(ws), this.masks, n, share);
    const meanLoss = transformerSeq2SeqForward(this.model, ws, batch, DROPOUT_FIXED);
    transformerSeq2SeqBackward(this.model, ws, tokens);
    return meanLoss * batch.tokens;
  }
}

/** A worker's init data (structured-cloned; the SharedArrayBuffers are shared). */
interface TransformerSeq2SeqWorkerInit {
  config: TransformerSeq2SeqConfig;
  sourceVocab: VocabularyJSON;
  targetVocab: VocabularyJSON;
  weights: SharedLayout;
  train: readonly Seq2SeqExample[];
  indices: Int32Array;
  masks: Float32Array;
  share: number;
  threads: number;
}

/** The worker side: the model over the main thread's weights, its share's step. Args: [n, tokens, T_x′, T_y′]. */
export function createTransformerSeq2SeqGradientJob(init: unknown, wasm: WasmBackend | null): GradientJob {
  const i = init as TransformerSeq2SeqWorkerInit;
  const backend = wasm as WasmBackend; // the pool gives this job a region: always a backend
  const sourceVocab = Vocabulary.fromJSON(i.sourceVocab), targetVocab = Vocabulary.fromJSON(i.targetVocab);
  const params = (m: TransformerSeq2SeqModel): Record<string, Matrix> => transformerSeq2SeqParameters(m).params;
  const model = buildOnSharedWeights(() => createTransformerSeq2Seq(i.config, sourceVocab, targetVocab), params, i.weights, backend.heap);
  const step = new TransformerSeq2SeqShareStep(model, i.train, i.share, i.threads);
  step.masks = i.masks;
  return {
    grads: transformerSeq2SeqParameters(model).grads,
    run: (args) => step.run(i.indices, args[0], args[1], { srcSteps: args[2], tgtSteps: args[3] }),
  };
}

/**
 * The main thread's side: its share, the masks, the pool of workers (which sums the gradients:
 * pool.ts's step). Made at the start of a run and closed at its end (no thread outlives a run).
 */
export class TransformerSeq2SeqParallelStep {
  readonly threads: number;
  private readonly own: TransformerSeq2SeqShareStep;
  private readonly pool: GradientPool;
  /** The batch's example indices, read by every share (a SharedArrayBuffer: not cloned). */
  private readonly indices: Int32Array;
  /** The whole batch's dropout masks of the step (drawBatchMasks), read by every share. */
  private readonly masks: Float32Array;

  /**
   * `threads` is clamped to `batch` (B, the trainer's batch size); `longest` is the largest padded
   * shape of the run's batches (it sizes the masks and the workers' memory). Throws an InputError
   * naming `op` where threads cannot run (see dataParallelThreads).
   */
  constructor(op: string, private readonly model: TransformerSeq2SeqModel, train: readonly Seq2SeqExample[], batch: number, threads: number, longest: BatchShape) {
    const { params, grads } = transformerSeq2SeqParameters(model);
    this.threads = dataParallelThreads(op, Object.values(params), threads, batch);
    this.indices = new Int32Array(new SharedArrayBuffer(4 * batch));
    const { heap } = getBackend() as WasmBackend;
    const before = heap.bytesInUse;
    const rows = Math.ceil(batch / this.threads);
    this.own = new TransformerSeq2SeqShareStep(model, train, 0, this.threads);
    // The largest share's workspace: its size tells the workers' need, its plan the masks' largest size.
    const largest = this.own.workspaceFor(longest, rows);
    const shareFloats = (heap.bytesInUse - before) / 4;
    this.masks = sharedMaskBuffer(maskFloats(maskPlan(dropoutsOf(largest), rows), batch));
    this.own.masks = this.masks;
    this.pool = new GradientPool({
      // Gradients and their scratch, the largest share's workspaces twice over (a run's smaller shapes), kernel scratch.
      op, threads: this.threads, job: TRANSFORMER_SEQ2SEQ_GRADIENT_JOB, weights: params, grads, regionFloats: gradientRegionFloats(params, 2 * shareFloats),
      init: (k, weights): TransformerSeq2SeqWorkerInit => ({
        config: model.config, sourceVocab: model.sourceVocab.toJSON(), targetVocab: model.targetVocab.toJSON(),
        weights, train, indices: this.indices, masks: this.masks, share: k, threads: this.threads,
      }),
    });
  }

  /**
   * The gradient of the batch `indices` (into the training examples), padded to `shape` with
   * `tokens` counted target tokens, into the model's gradient buffers, scaled to the batch mean;
   * dropout masks from `rng` (the trainer's). Returns the summed loss.
   */
  step(indices: readonly number[], tokens: number, shape: BatchShape, rng: Rng): number {
    const n = indices.length;
    drawBatchMasks(this.masks, this.own.planFor(shape, n), n, rng); // before the workers start: they read them
    this.indices.set(indices);
    return this.pool.step([n, tokens, shape.srcSteps, shape.tgtSteps], () => {
      // The embeddings' gradients are zeroed by touched rows; the workers' sums touch others: zero them whole.
      zero(this.model.sourceEmbedding.grad);
      zero(this.model.targetEmbedding.grad);
      return this.own.run(this.indices, n, tokens, shape);
    });
  }

  close(): void {
    this.pool.close();
  }
}
