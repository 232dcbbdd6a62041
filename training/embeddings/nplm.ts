/**
 * The neural probabilistic language model (Bengio, Ducharme, Vincent & Jauvin 2003) — the notes'
 * first way to learn word embeddings: predict the next word from the previous n words, and keep
 * the embedding matrix the network learnt on the way.
 *
 * For a batch of B positions, each with its context w_{t−n} … w_{t−1} (oldest first):
 *   x = [e_{w_{t−n}}, …, e_{w_{t−1}}]        [B, n·m]   (lookup in E [V, m], concatenated)
 *   a = tanh(x·Hᵀ + d)                       [B, h]     (H [h, n·m], d [1, h])
 *   z = a·Uᵀ + b                             [B, V]     (U [V, h], b [1, V])
 *   L = Σ_b −log softmax(z_b)[w_t]                     (summed over the batch)
 * Backward (accumulating into the gradients; E's only in the looked-up rows):
 *   dz = softmax(z) − onehot(w_t);  dU += dzᵀa, db += Σ dz;  da = dz·U
 *   dpre = da ∗ (1 − a²);  dH += dpreᵀx, dd += Σ dpre;  dx = dpre·H;  dE[w] += the slices of dx
 * Bengio's optional direct connections x → z are left out (the notes' version has none).
 *
 * Built from the shared layers: layers/embedding.ts (E), layers/dense.ts (H, d and U, b),
 * engine tanh and cross-entropy. A [B, n·m] row-major x is the same memory as the [B·n, m] lookup
 * of the B·n context ids, so the concatenation costs nothing.
 */
import { tanh, tanhBackward } from '../../engine/activations.js';
import { crossEntropy, crossEntropyBackward } from '../../engine/cross-entropy.js';
import { Matrix, type DType } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import {
  createEmbedding, embeddingBackward, embeddingForward, embeddingSgdStep, embeddingZeroGrad, type Embedding,
} from '../../layers/embedding.js';
import { createDense, denseBackward, denseForward, denseZeroGrad, type DenseLayer } from '../../layers/dense.js';
import { runTrainingLoop, type LoopControls, type StopReason } from '../core/loop.js';
import { UNK, Vocabulary } from '../text/vocab.js';
import { isRng, resolveCreateOptions, type CreateOptions } from '../../engine/create.js';

export interface NplmConfig {
  vocabSize: number;
  /** n: words of context (default 3). */
  contextSize?: number;
  /** m: embedding size (default 30). */
  dim?: number;
  /** h: hidden units (default 50). */
  hidden?: number;
  dtype?: DType;
}

export interface Nplm {
  readonly vocabSize: number;
  readonly contextSize: number;
  readonly dim: number;
  readonly hidden: number;
  /** E [V, m]: the embeddings, the model's by-product that one keeps. */
  readonly embedding: Embedding;
  /** H [h, n·m], d [1, h] */
  readonly hiddenLayer: DenseLayer;
  /** U [V, h], b [1, V] */
  readonly outputLayer: DenseLayer;
}

/**
 * A new model. Init: E ~ N(0, 0.1²), H and U Xavier-uniform, biases 0 (a small E keeps tanh
 * out of saturation at the start).
 */
export function createNplm(config: NplmConfig, options?: CreateOptions): Nplm;
/** @deprecated Use `createNplm(config, { rng })`. */
export function createNplm(config: NplmConfig, rng: Rng): Nplm;
export function createNplm(config: NplmConfig, second?: CreateOptions | Rng): Nplm {
  const V = config.vocabSize;
  const n = config.contextSize ?? 3;
  const m = config.dim ?? 30;
  const h = config.hidden ?? 50;
  for (const [name, v] of [['vocabSize', V], ['contextSize', n], ['dim', m], ['hidden', h]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`createNplm: expected ${name} to be a positive integer, got ${v}`);
  }
  const { rng, dtype } = resolveCreateOptions('createNplm', isRng(second) ? { rng: second } : second, config.dtype);
  return {
    vocabSize: V, contextSize: n, dim: m, hidden: h,
    embedding: createEmbedding({ vocabSize: V, dim: m, init: 'normal', std: 0.1 }, { rng, dtype }),
    hiddenLayer: createDense({ inputSize: n * m, outputSize: h, init: 'xavier' }, { rng, dtype }),
    outputLayer: createDense({ inputSize: h, outputSize: V, init: 'xavier' }, { rng, dtype }),
  };
}

/** Preallocated activations for batches of up to `maxBatch` positions. */
export interface NplmWorkspace {
  readonly maxBatch: number;
  /** [maxBatch, n·m] */
  readonly x: Matrix;
  /** [maxBatch, h] (tanh output) */
  readonly a: Matrix;
  /** [maxBatch, V] */
  readonly logits: Matrix;
  /** [maxBatch, V] */
  readonly dLogits: Matrix;
  /** [maxBatch, h] */
  readonly dA: Matrix;
  /** [maxBatch, n·m] */
  readonly dX: Matrix;
}

export function createNplmWorkspace(model: Nplm, maxBatch: number): NplmWorkspace {
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new Error(`createNplmWorkspace: expected a positive batch size, got ${maxBatch}`);
  const dtype = model.embedding.weight.dtype;
  const nm = model.contextSize * model.dim;
  return {
    maxBatch,
    x: Matrix.zeros(maxBatch, nm, dtype),
    a: Matrix.zeros(maxBatch, model.hidden, dtype),
    logits: Matrix.zeros(maxBatch, model.vocabSize, dtype),
    dLogits: Matrix.zeros(maxBatch, model.vocabSize, dtype),
    dA: Matrix.zeros(maxBatch, model.hidden, dtype),
    dX: Matrix.zeros(maxBatch, nm, dtype),
  };
}

function batchOf(op: string, model: Nplm, ws: NplmWorkspace, contexts: ArrayLike<number>, targets: ArrayLike<number>): number {
  const B = targets.length;
  if (B < 1 || B > ws.maxBatch) throw new Error(`${op}: expected 1 … ${ws.maxBatch} targets (the workspace's batch), got ${B}`);
  if (contexts.length !== B * model.contextSize) {
    throw new Error(`${op}: expected B·n = ${B}·${model.contextSize} = ${B * model.contextSize} context ids, got ${contexts.length}`);
  }
  return B;
}

/** The [B·n, m] view of x's first B rows (same memory as [B, n·m]). */
function lookupView(x: Matrix, B: number, n: number, m: number): Matrix {
  return new Matrix(B * n, m, x.data, 0, m);
}

/**
 * Forward pass of a batch: contexts holds B·n ids (row b's context at b·n … b·n + n − 1, oldest
 * first), targets B ids. Fills the workspace and returns L = Σ_b −log p(w_t | context).
 */
export function nplmForward(ws: NplmWorkspace, model: Nplm, contexts: ArrayLike<number>, targets: ArrayLike<number>): number {
  const B = batchOf('nplmForward', model, ws, contexts, targets);
  const { contextSize: n, dim: m } = model;
  const x = ws.x.rowView(0, B);
  const a = ws.a.rowView(0, B);
  const logits = ws.logits.rowView(0, B);
  embeddingForward(lookupView(ws.x, B, n, m), model.embedding, contexts);
  denseForward(a, model.hiddenLayer, x);
  tanh(a, a);
  denseForward(logits, model.outputLayer, a);
  return crossEntropy(logits, targets);
}

/** Backward of the last nplmForward on the same batch, ACCUMULATING into the model's gradients. */
export function nplmBackward(model: Nplm, ws: NplmWorkspace, contexts: ArrayLike<number>, targets: ArrayLike<number>): void {
  const B = batchOf('nplmBackward', model, ws, contexts, targets);
  const { contextSize: n, dim: m } = model;
  const x = ws.x.rowView(0, B);
  const a = ws.a.rowView(0, B);
  const dLogits = ws.dLogits.rowView(0, B);
  const dA = ws.dA.rowView(0, B);
  const dX = ws.dX.rowView(0, B);
  crossEntropyBackward(dLogits, ws.logits.rowView(0, B), targets);
  denseBackward(model.outputLayer, a, dLogits, dA);
  tanhBackward(dA, dA, a);
  denseBackward(model.hiddenLayer, x, dA, dX);
  embeddingBackward(model.embedding, contexts, lookupView(ws.dX, B, n, m));
}

export function nplmZeroGrad(model: Nplm): void {
  embeddingZeroGrad(model.embedding);
  denseZeroGrad(model.hiddenLayer);
  denseZeroGrad(model.outputLayer);
}

/** Plain SGD on every parameter: θ −= lr·∂L/∂θ (E sparsely, only the looked-up rows). */
export function nplmSgdStep(model: Nplm, lr: number): void {
  embeddingSgdStep(model.embedding, lr);
  for (const layer of [model.hiddenLayer, model.outputLayer]) {
    for (const key of ['W', 'b'] as const) {
      const p = layer.params[key];
      const g = layer.grads[key];
      if (!p || !g) continue;
      for (let i = 0; i < p.data.length; i++) p.data[i] -= lr * g.data[i];
    }
  }
}

/** The shared loop's controls (time limit, stop signal, progress per batch) and the training's settings. */
export interface NplmTrainOptions extends LoopControls {
  contextSize?: number;
  dim?: number;
  hidden?: number;
  /** Words seen fewer times become <UNK> (default 1). */
  minCount?: number;
  epochs?: number;
  /** Positions per SGD step (default 32). */
  batchSize?: number;
  /** Learning rate for the batch-mean loss (default 0.1). */
  lr?: number;
  seed?: number;
  /** Held-out documents, scored after every epoch (evaluateNplm; their unknown words count as <UNK>). */
  validation?: string[][];
  onEpoch?: (info: NplmEpochInfo) => void;
}

export interface NplmEpochInfo {
  epoch: number;
  /** Mean training loss per predicted word of the epoch (nats) and its perplexity. */
  loss: number;
  perplexity: number;
  /** The validation documents' score after the epoch (when given). */
  validation?: NplmEvaluation;
}

export interface NplmEvaluation {
  /** Mean −log p(w_t | w_{t−n} … w_{t−1}) per predicted word (nats). */
  loss: number;
  /** e^loss. */
  perplexity: number;
  /** Words predicted (every position t ≥ n of every document). */
  words: number;
}

export interface NplmTrainResult {
  vocab: Vocabulary;
  model: Nplm;
  /** Mean loss per predicted word of each epoch (the epochs finished). */
  epochLosses: number[];
  /** The validation score after each finished epoch (empty without validation documents). */
  validation: NplmEvaluation[];
  stopReason: StopReason;
}

/** Every position t ≥ n of every document, as an index into the documents laid end to end. */
function documentPositions(docs: Int32Array[], n: number): { flat: Int32Array; positions: number[] } {
  const flat = new Int32Array(docs.reduce((s, d) => s + d.length, 0));
  const positions: number[] = [];
  let offset = 0;
  for (const d of docs) {
    flat.set(d, offset);
    for (let t = n; t < d.length; t++) positions.push(offset + t);
    offset += d.length;
  }
  return { flat, positions };
}

/** Fill a batch: targets[b] = flat[p], its context flat[p − n … p − 1], for the positions from `start`. */
function fillNplmBatch(flat: Int32Array, positions: number[], start: number, B: number, n: number, contexts: Int32Array, targets: Int32Array): void {
  for (let b = 0; b < B; b++) {
    const p = positions[start + b];
    targets[b] = flat[p];
    for (let j = 0; j < n; j++) contexts[b * n + j] = flat[p - n + j];
  }
}

/**
 * The model's loss per predicted word and perplexity on documents of tokens: every position
 * t ≥ n predicted from its n previous words, in batches of `batchSize` (default 256). Words
 * outside the vocabulary are <UNK>.
 */
export function evaluateNplm(model: Nplm, vocab: Vocabulary, documents: string[][], batchSize = 256): NplmEvaluation {
  const n = model.contextSize;
  const { flat, positions } = documentPositions(documents.map((d) => Int32Array.from(vocab.encode(d))), n);
  if (positions.length === 0) throw new Error(`evaluateNplm: expected documents longer than the context (${n} words)`);
  const ws = createNplmWorkspace(model, Math.min(batchSize, positions.length));
  const contexts = new Int32Array(ws.maxBatch * n);
  const targets = new Int32Array(ws.maxBatch);
  let total = 0;
  for (let start = 0; start < positions.length; start += ws.maxBatch) {
    const B = Math.min(ws.maxBatch, positions.length - start);
    fillNplmBatch(flat, positions, start, B, n, contexts, targets);
    total += nplmForward(ws, model, contexts.subarray(0, B * n), targets.subarray(0, B));
  }
  const loss = total / positions.length;
  return { loss, perplexity: Math.exp(loss), words: positions.length };
}

/**
 * The last ⌊fraction·length⌋ tokens of every document, held out (as validation), and the rest:
 * [train, validation]. Documents left with nothing are dropped from either list.
 */
export function holdOutDocumentTails(documents: string[][], fraction: number): [string[][], string[][]] {
  if (!(fraction >= 0 && fraction < 1)) throw new Error(`holdOutDocumentTails: expected a fraction in [0, 1), got ${fraction}`);
  const train: string[][] = [], validation: string[][] = [];
  for (const d of documents) {
    const cut = d.length - Math.floor(fraction * d.length);
    if (cut > 0) train.push(d.slice(0, cut));
    if (cut < d.length) validation.push(d.slice(cut));
  }
  return [train, validation];
}

/**
 * Train on documents of tokens: every position t ≥ n of a document is one example (its n
 * previous words predict it); positions are visited in a seeded random order each epoch, in
 * batches, with SGD on the batch-mean loss (nplmSgdStep: the embedding's touched rows only), through
 * the shared training loop (training/core/loop.ts). Words below minCount map to <UNK>. With
 * `validation` documents, their perplexity is measured after every epoch.
 */
export function trainNplm(corpus: string[][], opts: NplmTrainOptions = {}): NplmTrainResult {
  const n = opts.contextSize ?? 3;
  const epochs = opts.epochs ?? 1;
  const batchSize = opts.batchSize ?? 32;
  const lr = opts.lr ?? 0.1;
  const rng = new Rng(opts.seed ?? 1);
  const vocab = Vocabulary.build((function* () { for (const d of corpus) yield* d; })(), { minCount: opts.minCount ?? 1, specials: [UNK] });
  const { flat, positions } = documentPositions(corpus.map((d) => Int32Array.from(vocab.encode(d))), n);
  if (positions.length === 0) throw new Error(`trainNplm: expected documents longer than the context (${n} words)`);
  const model = createNplm({ vocabSize: vocab.size, contextSize: n, dim: opts.dim, hidden: opts.hidden }, { rng });
  const ws = createNplmWorkspace(model, batchSize);
  const contexts = new Int32Array(batchSize * n);
  const targets = new Int32Array(batchSize);
  const epochLosses: number[] = [];
  const validation: NplmEvaluation[] = [];
  const perEpoch = Math.ceil(positions.length / batchSize);
  let epoch = -1, k = perEpoch, total = 0;
  const result = runTrainingLoop({
    startStep: 0, totalSteps: epochs * perEpoch, budgetReason: 'epochs',
    timeLimitSeconds: opts.timeLimitSeconds, signal: opts.signal, now: opts.now, onProgress: opts.onProgress,
    step: () => {
      if (k === perEpoch) {
        rng.shuffle(positions);
        epoch++;
        k = 0;
        total = 0;
      }
      const start = k * batchSize;
      const B = Math.min(batchSize, positions.length - start);
      fillNplmBatch(flat, positions, start, B, n, contexts, targets);
      const ctx = contexts.subarray(0, B * n);
      const tgt = targets.subarray(0, B);
      nplmZeroGrad(model);
      const loss = nplmForward(ws, model, ctx, tgt);
      total += loss;
      nplmBackward(model, ws, ctx, tgt);
      nplmSgdStep(model, lr / B);
      k++;
      return { loss: loss / B, epoch: epoch + k / perEpoch, units: B };
    },
    afterStep: () => {
      if (k < perEpoch) return;
      const loss = total / positions.length;
      epochLosses.push(loss);
      const scored = opts.validation && opts.validation.length > 0 ? evaluateNplm(model, vocab, opts.validation) : undefined;
      if (scored) validation.push(scored);
      opts.onEpoch?.({ epoch, loss, perplexity: Math.exp(loss), validation: scored });
    },
  });
  return { vocab, model, epochLosses, validation, stopReason: result.stopReason };
}
