/**
 * The language model's data-parallel step (training/parallel/): the B streams of a batch are cut
 * into N contiguous shares [a_k, b_k) (a_k = ⌊k·B/N⌋); the calling thread computes share 0 and
 * worker k share k, each on the same weights, each from its rows of the carried state (views of the
 * trainer's [B, H] state matrices, so truncated BPTT carries exactly as with one thread).
 *
 * Loss scaling: the batch loss is the mean over all n = T·B predictions, so a share's loss is
 * Σ_{its rows} ℓ_r / n and its gradient ∂/∂z of that — each row weighted 1/n (a float64 mask with
 * reduction 'sum'), exactly the per-row gradient of one thread's 'mean'. The shares' gradients and
 * losses are summed, and the trainer's one update follows, as pool.ts's `step` states (the same N
 * and seed: the same bits).
 */
import { getBackend } from '../../engine/backend.js';
import { crossEntropyForwardBackward } from '../../engine/cross-entropy.js';
import { fill, Matrix, zero } from '../../engine/matrix.js';
import type { WasmBackend } from '../../engine/wasm/index.js';
import { batchShares, dataParallelThreads, GradientPool, gradientRegionFloats, type Share } from '../parallel/pool.js';

export { batchShares } from '../parallel/pool.js';
import { buildOnSharedWeights, sharedMatrix, type SharedLayout } from '../parallel/shared-weights.js';
import type { GradientJob } from '../parallel/worker-loop.js';
import { Vocabulary, type VocabularyJSON } from '../text/vocab.js';
import {
  createLanguageModel, createLmWorkspace, lmBackward, lmForward, lmGradients, lmParameters, lmZeroGrad,
  type LanguageModel, type LanguageModelConfig, type LmWorkspace,
} from './model.js';

/** The job kind of the worker entry (training/parallel-worker.ts). */
export const LM_GRADIENT_JOB = 'lm-gradient';

/** What decides a share's batch: T, B, the stream length L, the training ids (the Transformer LM's too). */
export interface LmShareData {
  seqLen: number;
  batch: number;
  streamLength: number;
  train: Int32Array;
}

/** The share's inputs and targets of chunk `chunk`, [T, b − a] time-major: stream b reads L·b + chunk·T + t (and its next id). */
export function readShareChunk(data: LmShareData, share: Share, chunk: number, inputs: Int32Array, targets: Int32Array): void {
  const { seqLen: T, streamLength: L, train } = data;
  const rows = share.end - share.start;
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < rows; j++) {
      const pos = (share.start + j) * L + chunk * T + t;
      inputs[t * rows + j] = train[pos];
      targets[t * rows + j] = train[pos + 1];
    }
  }
}

/** `data` with the training ids in one shared copy, which every worker reads (a typed array over a SharedArrayBuffer is not cloned). */
export function withSharedIds(data: LmShareData): LmShareData {
  const train = new Int32Array(new SharedArrayBuffer(4 * data.train.length));
  train.set(data.train);
  return { ...data, train };
}

/** One share's forward and backward over the streams [start, end) of each chunk. */
class LmShareStep {
  private readonly ws: LmWorkspace;
  private readonly targets: Int32Array;
  /** [T, b − a], every entry 1/(T·B): the share's rows of the batch mean. */
  private readonly weights: Matrix;

  constructor(private readonly model: LanguageModel, private readonly data: LmShareData, private readonly share: Share, state: Matrix[][]) {
    const rows = share.end - share.start;
    this.ws = createLmWorkspace(model, data.seqLen, rows, state);
    this.targets = new Int32Array(data.seqLen * rows);
    this.weights = fill(Matrix.zeros(data.seqLen, rows, 'float64'), 1 / (data.seqLen * data.batch));
  }

  /** Zero the gradients, then forward + backward of chunk `chunk` (readShareChunk); returns the share's part of the mean loss. */
  run(chunk: number): number {
    readShareChunk(this.data, this.share, chunk, this.ws.inputIds, this.targets);
    lmZeroGrad(this.model);
    const logits = lmForward(this.model, this.ws);
    const loss = crossEntropyForwardBackward(logits, logits, this.targets, { mask: this.weights, reduction: 'sum' });
    lmBackward(this.model, this.ws, logits);
    return loss;
  }
}

/** Where a worker finds its rows of one carried-state matrix. */
interface StatePlace {
  offset: number;
  rows: number;
  cols: number;
}

/** A worker's init data (structured-cloned). */
interface LmWorkerInit {
  config: LanguageModelConfig;
  vocab: VocabularyJSON;
  weights: SharedLayout;
  state: StatePlace[][];
  data: LmShareData;
  share: Share;
}

/** The worker side: the model over the main thread's weights, the share's step. */
export function createLmGradientJob(init: unknown, wasm: WasmBackend | null): GradientJob {
  const i = init as LmWorkerInit;
  const backend = wasm as WasmBackend; // the pool gives this job a region: always a backend
  const vocab = Vocabulary.fromJSON(i.vocab);
  const model = buildOnSharedWeights(() => createLanguageModel({ ...i.config, vocab }), lmParameters, i.weights, backend.heap);
  const state = i.state.map((layer) => layer.map((s) => sharedMatrix(backend.heap, s.offset, s.rows, s.cols)));
  const step = new LmShareStep(model, i.data, i.share, state);
  return { grads: lmGradients(model), run: (args) => step.run(args[0]) };
}

/** Rows [start, end) of a [B, H] matrix of the shared memory, as the worker will view them. */
function statePlace(heap: WasmBackend['heap'], m: Matrix, share: Share): StatePlace {
  return { offset: heap.offsetOf(m.data) + m.offset + share.start * m.stride, rows: share.end - share.start, cols: m.cols };
}

/**
 * The main thread's side: its share, the pool of workers (which sums the gradients: pool.ts's step).
 * Made at the start of a run and closed at its end (no thread outlives a run).
 */
export class LmParallelStep {
  readonly threads: number;
  private readonly own: LmShareStep;
  private readonly pool: GradientPool;

  /**
   * `threads` is clamped to B (a share has at least one stream). `state`: the trainer's carried
   * state (per layer, [B, H] matrices in the shared memory: the workers carry their rows in place).
   * Throws an InputError naming `op` where threads cannot run (see dataParallelThreads).
   */
  constructor(op: string, private readonly model: LanguageModel, data: LmShareData, state: Matrix[][], threads: number) {
    const params = lmParameters(model);
    this.threads = dataParallelThreads(op, [...Object.values(params), ...state.flat()], threads, data.batch);
    const shares = batchShares(data.batch, this.threads);
    const { heap } = getBackend() as WasmBackend;
    const before = heap.bytesInUse;
    this.own = new LmShareStep(model, data, shares[0], state.map((layer) => layer.map((s) => s.rowView(shares[0].start, shares[0].end - shares[0].start))));
    const shareFloats = (heap.bytesInUse - before) / 4;
    const workerData = withSharedIds(data);
    this.pool = new GradientPool({
      op, threads: this.threads, job: LM_GRADIENT_JOB, weights: params, grads: lmGradients(model),
      regionFloats: gradientRegionFloats(params, Math.ceil(1.5 * shareFloats)),
      init: (k, weights): LmWorkerInit => ({
        config: model.config, vocab: model.vocab.toJSON(), weights,
        state: state.map((layer) => layer.map((s) => statePlace(heap, s, shares[k]))), data: workerData, share: shares[k],
      }),
    });
  }

  /** The gradient of chunk `chunk`'s batch mean loss into the model's gradient buffers; returns that loss. */
  step(chunk: number): number {
    return this.pool.step([chunk], () => {
      // The embedding's gradient is zeroed by touched rows; the workers' sums touch others: zero it whole.
      if (this.model.embedding) zero(this.model.embedding.grad);
      return this.own.run(chunk);
    });
  }

  close(): void {
    this.pool.close();
  }
}
