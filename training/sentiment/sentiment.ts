/**
 * Sentiment classification, the notes' two models over word embeddings (Sequence Models, week 2):
 *   (a) 'avg':  average of the words' embeddings → softmax over the classes (this file);
 *   (b) 'lstm': embedding → LSTM many-to-one → softmax (added beside it; same data, batches,
 *       training loop, evaluation, model file and CLI: implement `SentimentModel` and a
 *       `SentimentModelFactory`, and list the factory in cli/commands/sentiment.ts).
 *
 * Model (a), for a batch of B sentences padded to T words, time-major ids [T·B], mask m [T, B]:
 *   x⟨t⟩_b = E[id⟨t⟩_b]                          [T·B, d]  (embedding lookup)
 *   avg_b  = (1/n_b) Σ_t m⟨t⟩_b x⟨t⟩_b,  n_b = Σ_t m⟨t⟩_b   [B, d]  (0 for an empty sentence)
 *   z      = avg·Wᵀ + b                           [B, C]  (W [C, d], b [1, C])
 *   L      = −(1/B) Σ_b log softmax(z_b)[y_b]     (mean over the batch)
 * Backward: dAvg = dZ·W;  dx⟨t⟩_b = (m⟨t⟩_b / n_b)·dAvg_b;  dE[id] += dx (only the words used).
 *
 * Data: the UCI "Sentiment Labelled Sentences" files (`sentence<TAB>label`, header line skipped,
 * seeded 80/20 split of each source) and the Emojify set (train_emoji.csv / tesss.csv, 5 classes).
 */
import { crossEntropy, crossEntropyBackward } from '../../engine/cross-entropy.js';
import { Matrix, shapeOf, type DType } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import { createDense, denseBackward, denseForward, denseZeroGrad, type DenseLayer } from '../../layers/dense.js';
import {
  createEmbedding, embeddingBackward, embeddingForward, embeddingSgdStep, embeddingZeroGrad, wrapEmbedding,
  type Embedding,
} from '../../layers/embedding.js';
import { readTextFile } from '../io/files.js';
import {
  createOptimizer, learningRateAt, matrixFromJSON, matrixToJSON, optimizerStep,
  type MatrixJSON, type OptimizerConfig, type ParamSet,
} from '../core/optimizers.js';
import type { WordVectors } from '../embeddings/vectors.js';
import { PAD, UNK, Vocabulary, tokenizeWords, type VocabularyJSON } from '../text/vocab.js';
import { stopRequested, type StopFlag } from '../core/stop.js';

// ---------------------------------------------------------------------------------------------
// Data

export interface SentimentExample {
  text: string;
  label: number;
  /** File and line it came from (for error messages and listings). */
  source: string;
}

export interface SentimentDataset {
  name: string;
  /** Class names by label. */
  classes: string[];
  train: SentimentExample[];
  test: SentimentExample[];
}

export type SentimentDataName = 'yelp' | 'amazon' | 'imdb' | 'all' | 'emojify';
export const SENTIMENT_DATA_NAMES: SentimentDataName[] = ['yelp', 'amazon', 'imdb', 'all', 'emojify'];

export const BINARY_CLASSES = ['negative', 'positive'];
/** Emojify's classes, per the course's emo_utils.py. */
export const EMOJI_CLASSES = ['heart', 'baseball', 'smile', 'disappointed', 'fork_and_knife'];
export const EMOJI_SYMBOLS = ['❤️', '⚾', '😄', '😞', '🍴'];

const SENTENCE_FILES: Record<'yelp' | 'amazon' | 'imdb', string> = {
  yelp: 'sentiment-labelled-sentences/yelp_labelled.txt',
  amazon: 'sentiment-labelled-sentences/amazon_cells_labelled.txt',
  imdb: 'sentiment-labelled-sentences/imdb_labelled.txt',
};

/**
 * imdb_labelled.txt holds C1 control characters that are cp1252 punctuation decoded as Latin-1
 * (mojibake in the UCI original): U+0085 was '…', U+0096 '–', U+0097 '—'. Put the punctuation back.
 */
export function fixCp1252Controls(text: string): string {
  return text.replace(/\u0085/g, '…').replace(/\u0096/g, '–').replace(/\u0097/g, '—');
}

/**
 * Parse `sentence<TAB>label` lines (label 0 or 1). A first line whose label is not 0/1 is the
 * header (`reviews<TAB>sentiment`) and is skipped; blank lines are skipped.
 */
export function parseLabelledSentences(text: string, source: string): SentimentExample[] {
  const out: SentimentExample[] = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    if (line.trim().length === 0) continue;
    const tab = line.lastIndexOf('\t');
    const label = tab < 0 ? '' : line.slice(tab + 1).trim();
    if (label !== '0' && label !== '1') {
      if (i === 0) continue; // the header line
      throw new Error(`parseLabelledSentences: ${source} line ${i + 1}: expected 'sentence<TAB>0|1', got '${line.slice(0, 60)}'`);
    }
    out.push({ text: fixCp1252Controls(line.slice(0, tab).trim()), label: Number(label), source: `${source}:${i + 1}` });
  }
  if (out.length === 0) throw new Error(`parseLabelledSentences: ${source} holds no labelled sentences`);
  return out;
}

/** Split a CSV line into fields (double quotes group; "" is a quote). */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = '', quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  fields.push(field);
  return fields;
}

/**
 * Parse an Emojify CSV: the first two columns are the sentence and the label 0–4 (train_emoji.csv
 * has `sentence,label,,` and sometimes a 4th field like ` [0]`; tesss.csv has `"sentence<TAB>",label`,
 * whose trailing tab is stripped). CRLF and a missing final newline are fine.
 */
export function parseEmojiCsv(text: string, source: string): SentimentExample[] {
  const out: SentimentExample[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim().length === 0) continue;
    const fields = csvFields(lines[i]);
    const label = (fields[1] ?? '').trim();
    if (fields.length < 2 || !/^[0-4]$/.test(label)) {
      throw new Error(`parseEmojiCsv: ${source} line ${i + 1}: expected 'sentence,label' with a label 0–4, got '${lines[i].slice(0, 60)}'`);
    }
    out.push({ text: fields[0].trim(), label: Number(label), source: `${source}:${i + 1}` });
  }
  if (out.length === 0) throw new Error(`parseEmojiCsv: ${source} holds no rows`);
  return out;
}

/** A seeded shuffle of `examples` split into the first (1 − testFraction) and the rest. */
export function splitExamples(examples: SentimentExample[], rng: Rng, testFraction = 0.2): [SentimentExample[], SentimentExample[]] {
  if (!(testFraction > 0 && testFraction < 1)) throw new Error(`splitExamples: expected testFraction in (0, 1), got ${testFraction}`);
  const order = rng.permutation(examples.length);
  const nTest = Math.round(examples.length * testFraction);
  const nTrain = examples.length - nTest;
  return [order.slice(0, nTrain).map((i) => examples[i]), order.slice(nTrain).map((i) => examples[i])];
}

/**
 * Load a data set from `dataDir` (the shared data folder): one UCI source or all three (each
 * split 80/20 by its own seeded shuffle, so 'all' has the same held-out sentences as the three
 * single runs), or Emojify (its own train and test files).
 */
export function loadSentimentData(name: SentimentDataName, dataDir: string, opts: { seed?: number; testFraction?: number } = {}): SentimentDataset {
  const seed = opts.seed ?? 1;
  if (name === 'emojify') {
    const trainPath = `${dataDir}/emojify/train_emoji.csv`, testPath = `${dataDir}/emojify/tesss.csv`;
    return {
      name,
      classes: EMOJI_CLASSES,
      train: parseEmojiCsv(readTextFile(trainPath, 'Emojify training file'), trainPath),
      test: parseEmojiCsv(readTextFile(testPath, 'Emojify test file'), testPath),
    };
  }
  const sources = name === 'all' ? (['yelp', 'amazon', 'imdb'] as const) : [name];
  if (!sources.every((s) => s in SENTENCE_FILES)) {
    throw new Error(`loadSentimentData: expected one of ${SENTIMENT_DATA_NAMES.join('|')}, got '${name}'`);
  }
  const train: SentimentExample[] = [], test: SentimentExample[] = [];
  for (const source of sources) {
    const path = `${dataDir}/${SENTENCE_FILES[source]}`;
    const examples = parseLabelledSentences(readTextFile(path, `${source} sentences file`), path);
    const splitSeed = seed * 1000 + Object.keys(SENTENCE_FILES).indexOf(source);
    const [tr, te] = splitExamples(examples, new Rng(splitSeed), opts.testFraction);
    train.push(...tr);
    test.push(...te);
  }
  return { name, classes: BINARY_CLASSES, train, test };
}

/** The notes' preprocessing: lower-cased word tokens ("Wasn't good." → wasn't, good, .). */
export function tokenizeSentence(text: string): string[] {
  return tokenizeWords(text, { lowercase: true });
}

/** The vocabulary of the training sentences, with `<PAD>` = 0 and `<UNK>` = 1 first; plus `extra` words. */
export function buildSentimentVocabulary(train: SentimentExample[], extra: Iterable<string> = []): Vocabulary {
  const tokens: string[] = [];
  for (const ex of train) tokens.push(...tokenizeSentence(ex.text));
  for (const w of extra) tokens.push(w);
  return Vocabulary.build(tokens, { specials: [PAD, UNK] });
}

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

/** Token ids of a sentence (unknown words → `<UNK>`). */
export function encodeSentence(vocab: Vocabulary, text: string): number[] {
  return vocab.encode(tokenizeSentence(text));
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
// The model contract, shared by (a) and (b)

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
  /** Logits z [B, C] (a view valid until the next forward). */
  forward(batch: SentimentBatch): Matrix;
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
  weights: Record<string, MatrixJSON>;
}

export interface SentimentModelOptions {
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

/**
 * The embedding of a sentiment model: N(0, 0.1²) rows (trained end to end), or the pretrained
 * vectors where the vocabulary word has one (case-insensitive). `<PAD>` (id 0) is the padding row;
 * `<UNK>` starts at 0 (it never occurs in the training sentences, so it stays neutral).
 * Words without a pretrained vector start random, or at 0 when the embedding is frozen.
 */
export function createSentimentEmbedding(vocab: Vocabulary, rng: Rng, opts: SentimentModelOptions): { embedding: Embedding; matched: number } {
  const dim = opts.vectors ? opts.vectors.vectors.cols : opts.dim;
  const frozen = opts.freeze ?? opts.vectors !== undefined;
  const padId = vocab.has(PAD) ? vocab.id(PAD) : -1;
  const embedding = createEmbedding(vocab.size, dim, rng, { dtype: opts.dtype, std: 0.1, frozen, paddingIdx: padId >= 0 ? padId : undefined });
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
    const { embedding } = createSentimentEmbedding(vocab, rng, opts);
    const dense = createDense(embedding.weight.cols, classes.length, rng, { dtype: opts.dtype, init: 'xavier' });
    return new AverageSentimentModel(vocab, classes, embedding, dense);
  },
  fromJSON(json) {
    checkModelJSON(json, 'avg');
    const vocab = Vocabulary.fromJSON(json.vocab);
    const E = matrixFromJSON(json.weights.E), W = matrixFromJSON(json.weights.W), b = matrixFromJSON(json.weights.b);
    const embedding = wrapEmbedding(E, { frozen: json.frozen, paddingIdx: vocab.has(PAD) ? vocab.id(PAD) : undefined });
    const dense = createDense(W.cols, W.rows, new Rng(0), { dtype: W.dtype, init: 'zeros' });
    dense.params.W.data.set(W.data);
    dense.params.b!.data.set(b.data);
    return new AverageSentimentModel(vocab, json.classes, embedding, dense);
  },
};

/** Throws unless `json` is a sentiment model file of the given model kind. */
export function checkModelJSON(json: SentimentModelJSON, model: string): void {
  if (!json || json.kind !== 'seqgrad.sentiment' || json.version !== 1) {
    throw new Error(`sentiment model: expected { kind: "seqgrad.sentiment", version: 1 }, got kind ${JSON.stringify(json?.kind)}`);
  }
  if (json.model !== model) throw new Error(`sentiment model: expected a '${model}' model, got '${json.model}'`);
}

// ---------------------------------------------------------------------------------------------
// Training and evaluation (any SentimentModel)

export interface TrainSentimentOptions {
  epochs: number;
  batchSize: number;
  /** Adam, SGD, … from training/optimizers.ts. With plain 'sgd' the embedding is updated sparsely (touched rows only). */
  optimizer: OptimizerConfig;
  rng: Rng;
  /** Called after every epoch. */
  onEpoch?: (info: EpochInfo) => void;
  /** Checked between batches: when set, training ends there (the partial epoch is the last entry). */
  stop?: StopFlag;
}

export interface EpochInfo {
  epoch: number;
  /** Mean training loss over the epoch's batches. */
  loss: number;
  trainAccuracy: number;
  seconds: number;
}

/** Encode every example once. */
export function encodeExamples(vocab: Vocabulary, examples: SentimentExample[]): { ids: number[][]; labels: number[] } {
  return { ids: examples.map((e) => encodeSentence(vocab, e.text)), labels: examples.map((e) => e.label) };
}

/** Mini-batch training with a seeded shuffle per epoch; the loss is the batch mean of −log p(y). */
export function trainSentiment(model: SentimentModel, train: SentimentExample[], opts: TrainSentimentOptions): EpochInfo[] {
  const { ids, labels } = encodeExamples(model.vocab, train);
  const padId = model.vocab.has(PAD) ? model.vocab.id(PAD) : 0;
  const sparseEmbedding = opts.optimizer.kind === 'sgd' && !opts.optimizer.weightDecay && !model.embedding.frozen;
  const params = model.params(), grads = model.grads();
  if (sparseEmbedding) {
    delete params.E;
    delete grads.E;
  }
  const optimizer = createOptimizer(opts.optimizer, params);
  const history: EpochInfo[] = [];
  for (let epoch = 1; epoch <= opts.epochs && !stopRequested(opts.stop); epoch++) {
    const started = Date.now();
    const order = opts.rng.permutation(train.length);
    let lossSum = 0, batches = 0, correct = 0, seen = 0;
    for (let start = 0; start < order.length; start += opts.batchSize) {
      if (stopRequested(opts.stop)) break;
      const chosen = order.slice(start, start + opts.batchSize);
      const batch = makeSentimentBatch(chosen.map((i) => ids[i]), chosen.map((i) => labels[i]), padId, model.dtype);
      model.zeroGrad();
      const logits = model.forward(batch);
      correct += countCorrect(logits, batch.labels);
      lossSum += crossEntropy(logits, batch.labels, { reduction: 'mean' });
      batches++;
      seen += chosen.length;
      const dLogits = crossEntropyBackward(Matrix.zeros(logits.rows, logits.cols, logits.dtype), logits, batch.labels, { reduction: 'mean' });
      model.backward(batch, dLogits);
      const lr = learningRateAt(optimizer.config.lr, optimizer.config.schedule, optimizer.step);
      optimizerStep(optimizer, params, grads);
      if (sparseEmbedding) embeddingSgdStep(model.embedding, lr);
    }
    if (batches === 0) break;
    const info = { epoch, loss: lossSum / batches, trainAccuracy: correct / seen, seconds: (Date.now() - started) / 1000 };
    history.push(info);
    opts.onEpoch?.(info);
  }
  return history;
}

function argmaxRow(m: Matrix, r: number): number {
  let best = 0;
  for (let c = 1; c < m.cols; c++) if (m.get(r, c) > m.get(r, best)) best = c;
  return best;
}

function countCorrect(logits: Matrix, labels: ArrayLike<number>): number {
  let n = 0;
  for (let r = 0; r < logits.rows; r++) if (argmaxRow(logits, r) === labels[r]) n++;
  return n;
}

/** The predicted class of each text. */
export function predictSentiment(model: SentimentModel, texts: string[], batchSize = 64): number[] {
  const padId = model.vocab.has(PAD) ? model.vocab.id(PAD) : 0;
  const out: number[] = [];
  for (let start = 0; start < texts.length; start += batchSize) {
    const chunk = texts.slice(start, start + batchSize).map((t) => encodeSentence(model.vocab, t));
    const logits = model.forward(makeSentimentBatch(chunk, new Array(chunk.length).fill(0), padId, model.dtype));
    for (let r = 0; r < logits.rows; r++) out.push(argmaxRow(logits, r));
  }
  return out;
}

export interface SentimentEvaluation {
  accuracy: number;
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  predictions: number[];
  total: number;
}

/** Accuracy and the confusion matrix (rows: true class, columns: predicted class). */
export function evaluateSentiment(model: SentimentModel, examples: SentimentExample[]): SentimentEvaluation {
  const predictions = predictSentiment(model, examples.map((e) => e.text));
  return confusionReport(examples.map((e) => e.label), predictions, model.classes.length);
}

export function confusionReport(labels: number[], predictions: number[], numClasses: number): SentimentEvaluation {
  if (labels.length !== predictions.length) {
    throw new Error(`confusionReport: expected as many predictions as labels, got ${predictions.length} and ${labels.length}`);
  }
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  let correct = 0;
  labels.forEach((y, i) => {
    confusion[y][predictions[i]]++;
    if (y === predictions[i]) correct++;
  });
  return { accuracy: labels.length === 0 ? 0 : correct / labels.length, confusion, predictions, total: labels.length };
}

/** The confusion matrix as a fixed-width table with class names. */
export function formatConfusion(confusion: number[][], classes: string[]): string {
  const width = Math.max(8, ...classes.map((c) => c.length), ...confusion.flat().map((v) => String(v).length)) + 1;
  const lines = ['true \\ predicted'.padEnd(width + 2) + classes.map((c) => c.padStart(width)).join('')];
  confusion.forEach((row, i) => lines.push(classes[i].padEnd(width + 2) + row.map((v) => String(v).padStart(width)).join('')));
  return lines.join('\n');
}
