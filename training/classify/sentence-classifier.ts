/**
 * Sentence classifiers over word embeddings, shared by the applications that classify token
 * sequences (sentiment, and the trees' bag-of-embeddings baseline): padded time-major batches,
 * the model contract every classifier implements (named after its first user, sentiment; the
 * model file kind stays "seqgrad.sentiment"), the embedding set-up with optional pretrained
 * vectors, and the notes' model (a), a softmax over the average of the words' embeddings:
 *
 * For a batch of B sentences padded to T words, time-major ids [T·B], mask m [T, B]:
 *   x⟨t⟩_b = E[id⟨t⟩_b]                          [T·B, d]  (embedding lookup)
 *   avg_b  = (1/n_b) Σ_t m⟨t⟩_b x⟨t⟩_b,  n_b = Σ_t m⟨t⟩_b   [B, d]  (0 for an empty sentence)
 *   z      = avg·Wᵀ + b                           [B, C]  (W [C, d], b [1, C])
 *   L      = −(1/B) Σ_b log softmax(z_b)[y_b]     (mean over the batch)
 * Backward: dAvg = dZ·W;  dx⟨t⟩_b = (m⟨t⟩_b / n_b)·dAvg_b;  dE[id] += dx (only the words used).
 */
import { Matrix, shapeOf, type DType } from '../../engine/matrix.js';
import type { DropoutMode } from '../../layers/dropout.js';
import type { RnnRegularization } from '../core/rnn-regularization.js';
import { Rng } from '../../engine/rng.js';
import { resolveCreateOptions, type CreateOptions } from '../../engine/create.js';
import { InputError } from '../core/errors.js';
import { createDense, denseBackward, denseForward, denseZeroGrad, type DenseLayer } from '../../layers/dense.js';
import {
  createEmbedding, embeddingBackward, embeddingForward, embeddingZeroGrad, wrapEmbedding, type Embedding,
} from '../../layers/embedding.js';
import type { ParamSet } from '../core/optimizers.js';
import { matrixFromJSON, matrixToJSON, type MatrixJSON } from '../io/tensors.js';
import { checkModelSize } from '../io/weights-json.js';
import type { WordVectors } from '../io/vectors.js';
import { PAD, UNK, Vocabulary, type VocabularyJSON } from '../text/vocab.js';

// ---------------------------------------------------------------------------------------------
// Batches

export interface SentimentBatch {
  /** T: the longest sentence (≥ 1). */
  steps: number;
  /** B */
  batch: number;
  /** [T·B] time-major token ids (row t·B + b is word t of sentence b; `<PAD>` past the end). */
  ids: Int32Array;
  /** [T, B]: 1 for a word, 0 for padding. */
  mask: Matrix;
  /** [B] the number of words of each sentence. */
  lengths: Int32Array;
  /** [B] the class of each sentence. */
  labels: Int32Array;
}

/** Pad B encoded sentences into one time-major batch. */
export function makeSentimentBatch(encoded: number[][], labels: ArrayLike<number>, padId: number, dtype: DType = 'float32'): SentimentBatch {
  const B = encoded.length;
  if (B === 0 || labels.length !== B) throw new Error(`makeSentimentBatch: expected B ≥ 1 sentences and B labels, got ${B} and ${labels.length}`);
  const T = Math.max(1, ...encoded.map((s) => s.length));
  const ids = new Int32Array(T * B).fill(padId);
  const mask = Matrix.zeros(T, B, dtype);
  const lengths = new Int32Array(B);
  encoded.forEach((sentence, b) => {
    lengths[b] = sentence.length;
    sentence.forEach((id, t) => {
      ids[t * B + b] = id;
      mask.set(t, b, 1);
    });
  });
  return { steps: T, batch: B, ids, mask, lengths, labels: Int32Array.from(labels) };
}

// ---------------------------------------------------------------------------------------------
// The model contract, shared by every sentence classifier (sentiment (a) and (b), the trees' baseline)

export interface SentimentModel {
  /** 'avg' or 'lstm' (the --model name). */
  readonly kind: string;
  readonly classes: string[];
  readonly vocab: Vocabulary;
  readonly embedding: Embedding;
  readonly dtype: DType;
  /** Trainable parameters by name (E left out when the embedding is frozen), for the optimizer. */
  params(): ParamSet;
  /** Their gradient buffers (same names and shapes). */
  grads(): ParamSet;
  /**
   * Logits z [B, C] (a view valid until the next forward). `dropout`: a training forward's mode
   * (`{ kind: 'sample', rng }`) for models with dropout; absent: off (evaluation).
   */
  forward(batch: SentimentBatch, dropout?: DropoutMode): Matrix;
  /** From ∂L/∂z [B, C] of the last forward, accumulate into grads (the embedding: touched rows only). */
  backward(batch: SentimentBatch, dLogits: Matrix): void;
  zeroGrad(): void;
  /** The model file's model-specific part (weights, sizes). */
  toJSON(): SentimentModelJSON;
}

export interface SentimentModelJSON {
  kind: 'seqgrad.sentiment';
  version: 1;
  model: string;
  classes: string[];
  vocab: VocabularyJSON;
  frozen: boolean;
  /** Data name, seed and hyper-parameters, so `sentiment eval` finds the same held-out split. */
  meta?: Record<string, unknown>;
  /** Recurrent models: dropout and layer normalisation (training/core/rnn-regularization.ts), when set. */
  rnn?: RnnRegularization;
  weights: Record<string, MatrixJSON>;
}

export interface SentimentModelOptions extends RnnRegularization {
  dim: number;
  dtype?: DType;
  /** Pretrained vectors for the embedding (words matched case-insensitively). */
  vectors?: WordVectors;
  /** Keep E fixed (default: true with pretrained vectors, false without). */
  freeze?: boolean;
  /** Extra model-specific sizes (e.g. the LSTM's hidden size). */
  hidden?: number;
  /** Recurrent models: stacked layers (default 1). */
  layers?: number;
  /** Recurrent models: every layer reads both ways (default false). */
  bidirectional?: boolean;
}

/** How the CLI and loaders create a model of one kind. */
export interface SentimentModelFactory {
  kind: string;
  create(vocab: Vocabulary, classes: string[], rng: Rng, opts: SentimentModelOptions): SentimentModel;
  fromJSON(json: SentimentModelJSON): SentimentModel;
}

/** What `createSentimentEmbedding` builds from: the vocabulary, d (or the pretrained vectors' size), freezing. */
export type SentimentEmbeddingConfig = Pick<SentimentModelOptions, 'dim' | 'dtype' | 'vectors' | 'freeze'> & { vocab: Vocabulary };

/**
 * The embedding of a sentiment model: N(0, 0.1²) rows (trained end to end), or the pretrained
 * vectors where the vocabulary word has one (case-insensitive). `<PAD>` (id 0) is the padding row;
 * `<UNK>` starts at 0 (it never occurs in the training sentences, so it stays neutral).
 * Words without a pretrained vector start random, or at 0 when the embedding is frozen.
 */
export function createSentimentEmbedding(config: SentimentEmbeddingConfig, options?: CreateOptions): { embedding: Embedding; matched: number };
/** @deprecated Use `createSentimentEmbedding({ ...opts, vocab }, { rng })`. */
export function createSentimentEmbedding(vocab: Vocabulary, rng: Rng, opts: SentimentModelOptions): { embedding: Embedding; matched: number };
export function createSentimentEmbedding(
  first: SentimentEmbeddingConfig | Vocabulary, second?: CreateOptions | Rng, oldOpts?: SentimentModelOptions,
): { embedding: Embedding; matched: number } {
  const legacy = first instanceof Vocabulary;
  const { vocab, ...opts } = legacy ? { ...(oldOpts as SentimentModelOptions), vocab: first } : first;
  const { rng, dtype } = resolveCreateOptions('createSentimentEmbedding', legacy ? { rng: second as Rng } : second as CreateOptions | undefined, opts.dtype);
  const dim = opts.vectors ? opts.vectors.vectors.cols : opts.dim;
  const frozen = opts.freeze ?? opts.vectors !== undefined;
  const padId = vocab.has(PAD) ? vocab.id(PAD) : -1;
  const embedding = createEmbedding({
    vocabSize: vocab.size, dim, std: 0.1, frozen, paddingIdx: padId >= 0 ? padId : undefined,
  }, { rng, dtype });
  const E = embedding.weight;
  const zeroRow = (r: number): void => void E.data.fill(0, r * dim, (r + 1) * dim);
  if (vocab.has(UNK)) zeroRow(vocab.id(UNK));
  let matched = 0;
  if (opts.vectors) {
    const lookup = new Map<string, number>();
    opts.vectors.words.forEach((w, i) => {
      const k = w.toLowerCase();
      if (!lookup.has(k)) lookup.set(k, i);
    });
    for (let id = 0; id < vocab.size; id++) {
      const token = vocab.token(id);
      if (token === PAD || token === UNK) continue;
      const row = lookup.get(token.toLowerCase());
      if (row === undefined) {
        if (frozen) zeroRow(id);
        continue;
      }
      for (let c = 0; c < dim; c++) E.data[id * dim + c] = opts.vectors.vectors.get(row, c);
      matched++;
    }
  }
  return { embedding, matched };
}

// ---------------------------------------------------------------------------------------------
// Model (a): average of the embeddings → softmax

export class AverageSentimentModel implements SentimentModel {
  readonly kind = 'avg';
  readonly classes: string[];
  readonly vocab: Vocabulary;
  readonly embedding: Embedding;
  readonly dense: DenseLayer;
  readonly dtype: DType;
  /** Workspaces, grown to the largest batch seen and used through row views. */
  private x = Matrix.zeros(0, 0);
  private dx = Matrix.zeros(0, 0);
  private avg = Matrix.zeros(0, 0);
  private dAvg = Matrix.zeros(0, 0);
  private logits = Matrix.zeros(0, 0);

  constructor(vocab: Vocabulary, classes: string[], embedding: Embedding, dense: DenseLayer) {
    if (dense.inputSize !== embedding.weight.cols || dense.outputSize !== classes.length) {
      throw new Error(
        `AverageSentimentModel: expected a dense layer ${embedding.weight.cols} → ${classes.length}, got ${dense.inputSize} → ${dense.outputSize}`,
      );
    }
    if (embedding.weight.rows !== vocab.size) {
      throw new Error(`AverageSentimentModel: expected an embedding of ${vocab.size} rows (the vocabulary), got ${shapeOf(embedding.weight)}`);
    }
    this.vocab = vocab;
    this.classes = classes;
    this.embedding = embedding;
    this.dense = dense;
    this.dtype = embedding.weight.dtype;
  }

  params(): ParamSet {
    const p: ParamSet = { W: this.dense.params.W, b: this.dense.params.b! };
    if (!this.embedding.frozen) p.E = this.embedding.weight;
    return p;
  }

  grads(): ParamSet {
    const g: ParamSet = { W: this.dense.grads.W, b: this.dense.grads.b! };
    if (!this.embedding.frozen) g.E = this.embedding.grad;
    return g;
  }

  private ensureCapacity(rows: number, batch: number): void {
    const d = this.embedding.weight.cols, C = this.classes.length;
    if (this.x.rows < rows) {
      this.x = Matrix.zeros(rows, d, this.dtype);
      this.dx = Matrix.zeros(rows, d, this.dtype);
    }
    if (this.avg.rows < batch) {
      this.avg = Matrix.zeros(batch, d, this.dtype);
      this.dAvg = Matrix.zeros(batch, d, this.dtype);
      this.logits = Matrix.zeros(batch, C, this.dtype);
    }
  }

  /** z = avg·Wᵀ + b with avg_b = (1/n_b) Σ_t m⟨t⟩_b E[id⟨t⟩_b]  ([B, C]). */
  forward(batch: SentimentBatch): Matrix {
    const { steps: T, batch: B } = batch;
    checkBatch('AverageSentimentModel.forward', batch);
    this.ensureCapacity(T * B, B);
    const x = this.x.rowView(0, T * B), avg = this.avg.rowView(0, B), logits = this.logits.rowView(0, B);
    embeddingForward(x, this.embedding, batch.ids);
    const d = x.cols;
    avg.data.fill(0, 0, B * d);
    for (let b = 0; b < B; b++) {
      let n = 0;
      for (let t = 0; t < T; t++) {
        const m = batch.mask.get(t, b);
        if (m === 0) continue;
        n += m;
        const src = (t * B + b) * d;
        for (let c = 0; c < d; c++) avg.data[b * d + c] += m * x.data[src + c];
      }
      if (n > 0) for (let c = 0; c < d; c++) avg.data[b * d + c] /= n;
    }
    return denseForward(logits, this.dense, avg);
  }

  /** dW += dZᵀ·avg, db += Σ dZ, dAvg = dZ·W, dE[id⟨t⟩_b] += (m⟨t⟩_b / n_b)·dAvg_b. */
  backward(batch: SentimentBatch, dLogits: Matrix): void {
    const { steps: T, batch: B } = batch;
    const avg = this.avg.rowView(0, B), dAvg = this.dAvg.rowView(0, B), dx = this.dx.rowView(0, T * B);
    denseBackward(this.dense, avg, dLogits, this.embedding.frozen ? null : dAvg);
    if (this.embedding.frozen) return;
    const d = dx.cols;
    for (let b = 0; b < B; b++) {
      let n = 0;
      for (let t = 0; t < T; t++) n += batch.mask.get(t, b);
      for (let t = 0; t < T; t++) {
        const w = n > 0 ? batch.mask.get(t, b) / n : 0;
        const dst = (t * B + b) * d;
        for (let c = 0; c < d; c++) dx.data[dst + c] = w * dAvg.data[b * d + c];
      }
    }
    embeddingBackward(this.embedding, batch.ids, dx);
  }

  zeroGrad(): void {
    denseZeroGrad(this.dense);
    embeddingZeroGrad(this.embedding);
  }

  toJSON(): SentimentModelJSON {
    return {
      kind: 'seqgrad.sentiment', version: 1, model: this.kind, classes: this.classes.slice(),
      vocab: this.vocab.toJSON(), frozen: this.embedding.frozen,
      weights: { E: matrixToJSON(this.embedding.weight), W: matrixToJSON(this.dense.params.W), b: matrixToJSON(this.dense.params.b!) },
    };
  }
}

function checkBatch(op: string, batch: SentimentBatch): void {
  const { steps: T, batch: B } = batch;
  if (batch.ids.length !== T * B || batch.mask.rows !== T || batch.mask.cols !== B || batch.labels.length !== B) {
    throw new Error(`${op}: expected ids [T·B = ${T * B}], mask [${T}, ${B}], labels [${B}], got ${batch.ids.length}, ${shapeOf(batch.mask)}, ${batch.labels.length}`);
  }
}

export const averageModelFactory: SentimentModelFactory = {
  kind: 'avg',
  create(vocab, classes, rng, opts) {
    if (opts.dropout || opts.layerNorm) throw new InputError(`createAverageSentimentModel: the average model has no recurrent layers: expected no dropout or layerNorm, got ${JSON.stringify({ dropout: opts.dropout, layerNorm: opts.layerNorm })}`);
    const d = opts.vectors ? opts.vectors.vectors.cols : opts.dim;
    checkModelSize('averageModelFactory.create', (vocab.size + classes.length) * d, `an embedding of ${vocab.size} words × ${d} and ${classes.length} classes`);
    const { embedding } = createSentimentEmbedding({ ...opts, vocab }, { rng });
    const dense = createDense({
      inputSize: embedding.weight.cols, outputSize: classes.length, init: 'xavier',
    }, { rng, dtype: opts.dtype });
    return new AverageSentimentModel(vocab, classes, embedding, dense);
  },
  fromJSON(json) {
    checkModelJSON(json, 'avg');
    const vocab = Vocabulary.fromJSON(json.vocab);
    const E = matrixFromJSON(json.weights.E), W = matrixFromJSON(json.weights.W), b = matrixFromJSON(json.weights.b);
    const embedding = wrapEmbedding(E, { frozen: json.frozen, paddingIdx: vocab.has(PAD) ? vocab.id(PAD) : undefined });
    const dense = createDense({ inputSize: W.cols, outputSize: W.rows, init: 'zeros' }, { rng: new Rng(0), dtype: W.dtype });
    dense.params.W.data.set(W.data);
    dense.params.b!.data.set(b.data);
    return new AverageSentimentModel(vocab, json.classes, embedding, dense);
  },
};

/** Throws unless `json` is a sentiment model file of the given model kind. */
export function checkModelJSON(json: SentimentModelJSON, model: string): void {
  if (json?.kind !== 'seqgrad.sentiment' || json.version !== 1) {
    throw new Error(`sentiment model: expected { kind: "seqgrad.sentiment", version: 1 }, got kind ${JSON.stringify(json?.kind)}`);
  }
  if (json.model !== model) throw new Error(`sentiment model: expected a '${model}' model, got '${json.model}'`);
}
