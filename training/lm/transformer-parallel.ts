/**
 * The causal Transformer language model's data-parallel step (training/parallel/), after the RNN
 * LM's (parallel.ts): the B streams of a batch are cut into N contiguous shares [a_k, b_k)
 * (batchShares); the calling thread computes share 0 and worker k share k, on the same weights (read
 * in place in the shared memory). There is no state to carry: each share is T·(b_k − a_k) tokens.
 *
 * Loss scaling: the batch loss is the mean over all T·B predictions, so a share's loss is
 * Σ_{its rows} ℓ_r / (T·B) (a float64 mask of 1/(T·B), reduction 'sum'): the per-row gradient of
 * one thread. The shares' gradients and losses are summed, and the trainer's one update follows, as
 * pool.ts's `step` states (the same N and seed: the same bits).
 *
 * Dropout: before each step the calling thread draws the whole batch's masks from the trainer's
 * generator, as one thread's forward pass would (training/parallel/dropout-masks.ts); every share
 * takes its columns and runs with them fixed, so the masks — and the generator's state after the
 * step, which checkpoints keep — do not depend on N.
 */
import { getBackend } from '../../engine/backend.js';
import { crossEntropyForwardBackward } from '../../engine/cross-entropy.js';
import { fill, Matrix, zero } from '../../engine/matrix.js';
import type { Rng } from '../../engine/rng.js';
import type { WasmBackend } from '../../engine/wasm/index.js';
import { DROPOUT_FIXED } from '../../layers/dropout.js';
import { drawBatchMasks, maskFloats, maskPlan, sharedMaskBuffer, takeShareMasks, type MaskPlanEntry } from '../parallel/dropout-masks.js';
import { batchShares, dataParallelThreads, GradientPool, gradientRegionFloats, type Share } from '../parallel/pool.js';
import { buildOnSharedWeights, type SharedLayout } from '../parallel/shared-weights.js';
import type { GradientJob } from '../parallel/worker-loop.js';
import { Vocabulary, type VocabularyJSON } from '../text/vocab.js';
import { readShareChunk, withSharedIds, type LmShareData } from './parallel.js';
import {
  createTransformerLanguageModel, createTransformerLmWorkspace, transformerLmBackward, transformerLmForward, transformerLmParameters,
  transformerLmZeroGrad, type TransformerLanguageModel, type TransformerLmConfig, type TransformerLmWorkspace,
} from './transformer-model.js';

/** The job kind of the worker entry (training/parallel-worker.ts). */
export const TRANSFORMER_LM_GRADIENT_JOB = 'transformer-lm-gradient';

/** One share's forward and backward over the streams [start, end) of each chunk. */
class TransformerLmShareStep {
  readonly ws: TransformerLmWorkspace;
  private readonly targets: Int32Array;
  /** [T, b − a], every entry 1/(T·B): the share's rows of the batch mean. */
  private readonly weights: Matrix;
  /** The whole batch's masks of the step (set once the main thread has sized them). */
  masks: Float32Array<ArrayBufferLike> = new Float32Array(0);

  constructor(private readonly model: TransformerLanguageModel, private readonly data: LmShareData, private readonly share: Share) {
    const rows = share.end - share.start;
    this.ws = createTransformerLmWorkspace(model, data.seqLen, rows);
    this.targets = new Int32Array(data.seqLen * rows);
    this.weights = fill(Matrix.zeros(data.seqLen, rows, 'float64'), 1 / (data.seqLen * data.batch));
  }

  /** The plan of the batch's masks (read from this share's workspace: the same for every share). */
  plan(): MaskPlanEntry[] {
    return maskPlan(this.ws.encoder.dropouts, this.share.end - this.share.start);
  }

  /** Zero the gradients, then forward + backward of chunk `chunk` (readShareChunk); returns the share's part of the mean loss. */
  run(chunk: number): number {
    readShareChunk(this.data, this.share, chunk, this.ws.inputIds, this.targets);
    transformerLmZeroGrad(this.model);
    takeShareMasks(this.ws.encoder.dropouts, this.masks, this.data.batch, this.share);
    const logits = transformerLmForward(this.model, this.ws, DROPOUT_FIXED);
    const loss = crossEntropyForwardBackward(logits, logits, this.targets, { mask: this.weights, reduction: 'sum' });
    transformerLmBackward(this.model, this.ws, logits);
    return loss;
  }
}

/** A worker's init data (structured-cloned; the SharedArrayBuffers are shared). */
interface TransformerLmWorkerInit {
  config: TransformerLmConfig;
  vocab: VocabularyJSON;
  weights: SharedLayout;
  data: LmShareData;
  share: Share;
  masks: Float32Array;
}

/** The worker side: the model over the main thread's weights, the share's step. Args: [chunk]. */
export function createTransformerLmGradientJob(init: unknown, wasm: WasmBackend | null): GradientJob {
  const i = init as TransformerLmWorkerInit;
  const backend = wasm as WasmBackend; // the pool gives this job a region: always a backend
  const vocab = Vocabulary.fromJSON(i.vocab);
  const params = (m: TransformerLanguageModel): Record<string, Matrix> => transformerLmParameters(m).params;
  const model = buildOnSharedWeights(() => createTransformerLanguageModel(i.config, vocab), params, i.weights, backend.heap);
  const step = new TransformerLmShareStep(model, i.data, i.share);
  step.masks = i.masks;
  return { grads: transformerLmParameters(model).grads, run: (args) => step.run(args[0]) };
}

/**
 * The main thread's side: its share, the masks, the pool of workers (which sums the gradients:
 * pool.ts's step). Made at the start of a run and closed at its end (no thread outlives a run).
 */
export class TransformerLmParallelStep {
  readonly threads: number;
  private readonly own: TransformerLmShareStep;
  private readonly plan: MaskPlanEntry[];
  private readonly masks: Float32Array;
  private readonly pool: GradientPool;
  /** B, the streams of a batch. */
  private readonly batch: number;

  /**
   * `threads` is clamped to B (a share has at least one stream). Throws an InputError naming `op`
   * where threads cannot run (see dataParallelThreads).
   */
  constructor(op: string, private readonly model: TransformerLanguageModel, data: LmShareData, threads: number) {
    const { params, grads } = transformerLmParameters(model);
    this.threads = dataParallelThreads(op, Object.values(params), threads, data.batch);
    this.batch = data.batch;
    const shares = batchShares(data.batch, this.threads);
    const { heap } = getBackend() as WasmBackend;
    const before = heap.bytesInUse;
    this.own = new TransformerLmShareStep(model, data, shares[0]);
    const shareFloats = (heap.bytesInUse - before) / 4;
    this.plan = this.own.plan();
    this.masks = sharedMaskBuffer(maskFloats(this.plan, data.batch));
    this.own.masks = this.masks;
    const workerData = withSharedIds(data);
    this.pool = new GradientPool({
      op, threads: this.threads, job: TRANSFORMER_LM_GRADIENT_JOB, weights: params, grads,
      regionFloats: gradientRegionFloats(params, Math.ceil(1.5 * shareFloats)),
      init: (k, weights): TransformerLmWorkerInit => ({
        config: model.config, vocab: model.vocab.toJSON(), weights, data: workerData, share: shares[k], masks: this.masks,
      }),
    });
  }

  /** The gradient of chunk `chunk`'s batch mean loss into the model's gradient buffers, dropout masks from `rng`; returns that loss. */
  step(chunk: number, rng: Rng): number {
    drawBatchMasks(this.masks, this.plan, this.batch, rng); // before the workers start: they read them
    return this.pool.step([chunk], () => {
      // The embedding's gradient is zeroed by touched rows; the workers' sums touch others: zero it whole.
      zero(this.model.embedding.grad);
      return this.own.run(chunk);
    });
  }

  close(): void {
    this.pool.close();
  }
}
