/**
 * The LSTM sentiment model's data-parallel step (training/parallel/): the B sentences of a batch
 * are cut into N contiguous shares (batchShares); the calling thread computes share 0 and worker k
 * share k, each on the same weights (read in place in the shared memory), each padded to its own
 * longest sentence (the masks make padding count for nothing).
 *
 * Loss scaling: the batch loss is the mean of −log p(y_b) over the B sentences, so each row is
 * weighted 1/B (a float64 mask with reduction 'sum'): a share's loss is its part of the mean and its
 * gradient exactly the per-row gradient of one thread. The shares' gradients and losses are summed,
 * and the trainer's one update follows, as pool.ts's `step` states (the same N and seed: the same
 * bits). Each share also counts its correct predictions (the epoch's training accuracy), worker k into
 * counts[k].
 *
 * Per step the main thread writes the batch's sentence indices into a shared Int32Array and posts
 * B; each side builds its share's batch from its own copy of the encoded sentences.
 */
import { crossEntropyForwardBackward } from '../../engine/cross-entropy.js';
import { fill, Matrix, zero } from '../../engine/matrix.js';
import type { WasmBackend } from '../../engine/wasm/index.js';
import { modelParameters } from '../../layers/architectures.js';
import { makeSentimentBatch } from '../classify/sentence-classifier.js';
import type { RnnRegularization } from '../core/rnn-regularization.js';
import { batchShares, dataParallelThreads, GradientPool, gradientRegionFloats } from '../parallel/pool.js';
import { buildOnSharedWeights, type SharedLayout } from '../parallel/shared-weights.js';
import type { GradientJob } from '../parallel/worker-loop.js';
import { Vocabulary, type VocabularyJSON } from '../text/vocab.js';
import { countCorrect } from './sentiment.js';
import { lstmSentimentOver, type LstmSentimentConfig, type LstmSentimentModel } from './lstm.js';

/** The job kind of the worker entry (training/parallel-worker.ts). */
export const SENTIMENT_GRADIENT_JOB = 'sentiment-gradient';

/** What every share reads: the encoded training sentences and their labels, the <PAD> id. */
interface ShareData {
  ids: number[][];
  labels: number[];
  padId: number;
}

/** Share `share` of N of each step's batch: forward, its correct predictions, backward. */
class SentimentShareStep {
  constructor(private readonly model: LstmSentimentModel, private readonly data: ShareData, private readonly share: number, private readonly threads: number) {}

  /**
   * Zero the gradients, then the gradient of this share's part of the mean loss of the batch
   * `indices[0 … n)` into them; returns the share's part of that mean and its correct predictions.
   */
  run(indices: Int32Array, n: number): { loss: number; correct: number } {
    this.model.zeroGrad();
    const { start, end } = batchShares(n, this.threads)[this.share];
    if (end === start) return { loss: 0, correct: 0 }; // a batch smaller than N leaves some shares empty
    const ids: number[][] = [], labels: number[] = [];
    for (let r = start; r < end; r++) {
      ids.push(this.data.ids[indices[r]]);
      labels.push(this.data.labels[indices[r]]);
    }
    const batch = makeSentimentBatch(ids, labels, this.data.padId, this.model.dtype);
    const logits = this.model.forward(batch);
    const correct = countCorrect(logits, labels);
    const weights = fill(Matrix.zeros(end - start, 1, 'float64'), 1 / n);
    const dLogits = Matrix.zeros(logits.rows, logits.cols, logits.dtype);
    const loss = crossEntropyForwardBackward(dLogits, logits, batch.labels, { mask: weights, reduction: 'sum' });
    this.model.backward(batch, dLogits);
    return { loss, correct };
  }
}

/** A worker's init data (structured-cloned). */
interface SentimentWorkerInit {
  vocab: VocabularyJSON;
  classes: string[];
  config: LstmSentimentConfig;
  regularization: RnnRegularization;
  frozen: boolean;
  dim: number;
  weights: SharedLayout;
  data: ShareData;
  indices: Int32Array;
  counts: Int32Array;
  share: number;
  threads: number;
}

/** Every weight of the model, the embedding's included (shared even when frozen: the workers read it). */
const allWeights = (m: LstmSentimentModel): Record<string, Matrix> => modelParameters(m.net).params;

/** The worker side: the model over the main thread's weights, its share's step. Args: [n]. */
export function createSentimentGradientJob(init: unknown, wasm: WasmBackend | null): GradientJob {
  const i = init as SentimentWorkerInit;
  const backend = wasm as WasmBackend; // the pool gives this job a region: always a backend
  const vocab = Vocabulary.fromJSON(i.vocab);
  const build = (): LstmSentimentModel => lstmSentimentOver(Matrix.zeros(vocab.size, i.dim), vocab, i.classes, i.config, i.regularization, i.frozen);
  const model = buildOnSharedWeights(build, allWeights, i.weights, backend.heap);
  const step = new SentimentShareStep(model, i.data, i.share, i.threads);
  return {
    grads: model.grads(),
    run: (args) => {
      const { loss, correct } = step.run(i.indices, args[0]);
      i.counts[i.share] = correct;
      return loss;
    },
  };
}

/**
 * The main thread's side: its share, the pool of workers (which sums the gradients: pool.ts's step),
 * the workers' counts. Made at the start of a run and closed at its end (no thread outlives a run).
 */
export class SentimentParallelStep {
  readonly threads: number;
  private readonly own: SentimentShareStep;
  private readonly pool: GradientPool;
  /** The batch's sentence indices, read by every share (a SharedArrayBuffer: not cloned). */
  private readonly indices: Int32Array;
  /** counts[k]: worker k's correct predictions of the last step. */
  private readonly counts: Int32Array;

  /** `threads` is clamped to `batch` (B). Throws an InputError naming `op` where threads cannot run (see dataParallelThreads). */
  constructor(op: string, private readonly model: LstmSentimentModel, data: ShareData, batch: number, threads: number) {
    const params = allWeights(model);
    this.threads = dataParallelThreads(op, Object.values(params), threads, batch);
    this.indices = new Int32Array(new SharedArrayBuffer(4 * batch));
    this.counts = new Int32Array(new SharedArrayBuffer(4 * this.threads));
    this.own = new SentimentShareStep(model, data, 0, this.threads);
    const longest = Math.max(1, ...data.ids.map((s) => s.length));
    // Workspaces per share size (≤ 2) of the longest sentence: 4 gate rows and a few more per step and row.
    const shareFloats = 16 * longest * Math.ceil(batch / this.threads) * model.net.rnn.outputSize * model.config.layers;
    this.pool = new GradientPool({
      op, threads: this.threads, job: SENTIMENT_GRADIENT_JOB, weights: params, grads: model.grads(), regionFloats: gradientRegionFloats(params, 2 * shareFloats),
      init: (k, weights): SentimentWorkerInit => ({
        vocab: model.vocab.toJSON(), classes: model.classes, config: model.config, regularization: model.regularization,
        frozen: model.embedding.frozen, dim: model.embedding.weight.cols, weights, data,
        indices: this.indices, counts: this.counts, share: k, threads: this.threads,
      }),
    });
  }

  /** The gradient of the batch `indices`' mean loss into the model's gradient buffers; returns that loss and the correct predictions. */
  step(indices: readonly number[]): { loss: number; correct: number } {
    this.indices.set(indices);
    let correct = 0;
    const loss = this.pool.step([indices.length], () => {
      // The embedding's gradient is zeroed by touched rows; the workers' sums touch others: zero it whole.
      if (!this.model.embedding.frozen) zero(this.model.embedding.grad);
      const own = this.own.run(this.indices, indices.length);
      correct = own.correct;
      return own.loss;
    });
    for (let k = 1; k < this.threads; k++) correct += this.counts[k];
    return { loss, correct };
  }

  close(): void {
    this.pool.close();
  }
}
