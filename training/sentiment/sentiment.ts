/**
 * Sentiment classification, the notes' two models over word embeddings (Sequence Models, week 2):
 *   (a) 'avg':  average of the words' embeddings → softmax over the classes
 *       (training/classify/sentence-classifier.ts, shared with the trees' baseline);
 *   (b) 'lstm': embedding → LSTM many-to-one → softmax (training/sentiment/lstm.ts; same data,
 *       batches, training loop, evaluation, model file and CLI: implement `SentimentModel` and a
 *       `SentimentModelFactory`, and list the factory in cli/commands/sentiment.ts).
 *
 * Data: the UCI "Sentiment Labelled Sentences" files (`sentence<TAB>label`, header line skipped,
 * seeded 80/20 split of each source) and the Emojify set (train_emoji.csv / tesss.csv, 5 classes),
 * both shipped under data/; or the user's own TSV/CSV file (`parseLabelledFile`, any classes).
 */
import { crossEntropy, crossEntropyBackward } from '../../engine/cross-entropy.js';
import { Matrix } from '../../engine/matrix.js';
import type { DropoutMode } from '../../layers/dropout.js';
import { Rng } from '../../engine/rng.js';
import { embeddingSgdStep } from '../../layers/embedding.js';
import { makeSentimentBatch, type SentimentModel } from '../classify/sentence-classifier.js';
import { DelimitedSyntaxError, detectDelimitedFormat, parseCsv, parseTsv, type DelimitedRecord } from '../io/delimited.js';
import { readTextFile, shippedDataPath } from '../io/files.js';
import { InputError } from '../core/errors.js';
import { createUpdate, runTrainingLoop, type LoopControls } from '../core/loop.js';
import { createOptimizer, type OptimizerConfig } from '../core/optimizers.js';
import { PAD, UNK, Vocabulary, tokenizeWords } from '../text/vocab.js';
import { LstmSentimentModel } from './lstm.js';
import { SentimentParallelStep } from './parallel.js';

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

/**
 * Parse an Emojify CSV: the first two columns are the sentence and the label 0–4 (train_emoji.csv
 * has `sentence,label,,` and sometimes a 4th field like ` [0]`; tesss.csv has `"sentence<TAB>",label`,
 * whose trailing tab is stripped). CRLF and a missing final newline are fine.
 */
export function parseEmojiCsv(text: string, source: string): SentimentExample[] {
  const out: SentimentExample[] = [];
  for (const { fields, line } of csvRecords(text, source, 'parseEmojiCsv')) {
    const label = (fields[1] ?? '').trim();
    if (fields.length < 2 || !/^[0-4]$/.test(label)) {
      throw new Error(`parseEmojiCsv: ${source} line ${line}: expected 'sentence,label' with a label 0–4, got '${fields.join(',').slice(0, 60)}'`);
    }
    out.push({ text: fields[0].trim(), label: Number(label), source: `${source}:${line}` });
  }
  if (out.length === 0) throw new Error(`parseEmojiCsv: ${source} holds no rows`);
  return out;
}

function csvRecords(text: string, source: string, op: string): DelimitedRecord[] {
  try {
    return parseCsv(text);
  } catch (err) {
    if (err instanceof DelimitedSyntaxError) throw new InputError(`${op}: ${source} line ${err.line}: a quoted field is never closed`);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// The user's own labelled files

/** A labelled row of a user's file, its label still the file's string. */
export interface LabelledText {
  text: string;
  label: string;
  /** `file:line`. */
  source: string;
}

/** Header names (case-insensitive) of the label column and of the text column. */
export const LABEL_COLUMNS = ['label', 'labels', 'class', 'category', 'sentiment', 'target', 'y'];
export const TEXT_COLUMNS = ['text', 'sentence', 'sentences', 'review', 'reviews', 'content', 'document', 'x'];

/** The label and text column of a header row, or null when the header does not name both. */
function headerColumns(fields: string[]): { label: number; text: number } | null {
  const names = fields.map((f) => f.trim().toLowerCase());
  const label = names.findIndex((n) => LABEL_COLUMNS.includes(n));
  const text = names.findIndex((n) => TEXT_COLUMNS.includes(n));
  return label >= 0 && text >= 0 && label !== text ? { label, text } : null;
}

/**
 * Parse a user's labelled file (any number of classes; labels are strings):
 * - TSV: `label<TAB>text` per line (a text holding tabs keeps them). A first line whose fields
 *   name a label and a text column (e.g. `label<TAB>text`, or the UCI files' `reviews<TAB>sentiment`)
 *   is a header, and its column order is used.
 * - CSV: a header line naming the label column (label, class, category, sentiment, target, y) and
 *   the text column (text, sentence, review, content, document, x); other columns are ignored.
 *   Quoted fields may hold commas, line breaks and doubled quotes.
 * The format comes from the extension (.csv, .tsv/.tab) or else the first line (tab or comma).
 * Every problem is one InputError naming the file and the line.
 */
export function parseLabelledFile(text: string, source: string): LabelledText[] {
  const op = 'sentiment data';
  const format = detectDelimitedFormat(source, text);
  if (format === null) {
    throw new InputError(`${op}: ${source} line 1: expected a TSV line 'label<TAB>text' or a CSV header 'label,text', got neither a tab nor a comma`);
  }
  const records = format === 'tsv' ? parseTsv(text) : csvRecords(text, source, op);
  if (records.length === 0) throw new InputError(`${op}: ${source} holds no rows`);
  let columns = headerColumns(records[0].fields);
  if (format === 'csv' && columns === null) {
    throw new InputError(
      `${op}: ${source} line ${records[0].line}: expected a CSV header naming a label column (${LABEL_COLUMNS.join('|')}) and a text column (${TEXT_COLUMNS.join('|')}), got '${records[0].fields.join(',').slice(0, 60)}'`,
    );
  }
  const hasHeader = columns !== null;
  const body = hasHeader ? records.slice(1) : records;
  columns ??= { label: 0, text: 1 };
  const out: LabelledText[] = [];
  for (const { fields, line } of body) {
    const where = `${op}: ${source} line ${line}`;
    const needed = Math.max(columns.label, columns.text) + 1;
    if (fields.length < needed) {
      const shape = format === 'tsv' ? "'label<TAB>text'" : `${needed} comma-separated fields`;
      throw new InputError(`${where}: expected ${shape}, got '${fields.join(format === 'tsv' ? '\t' : ',').slice(0, 60)}'`);
    }
    const label = fields[columns.label].trim();
    if (label === '') throw new InputError(`${where}: expected a label, got an empty one`);
    // TSV without a header: everything after the first tab is the text.
    const textField = format === 'tsv' && !hasHeader ? fields.slice(1).join('\t') : fields[columns.text];
    out.push({ text: fixCp1252Controls(textField.trim()), label, source: `${source}:${line}` });
  }
  if (out.length === 0) throw new InputError(`${op}: ${source} holds a header but no rows`);
  return out;
}

/** The distinct labels in a stable order: numerically when all are numbers, else by code point. */
export function labelClasses(rows: readonly LabelledText[]): string[] {
  const labels = [...new Set(rows.map((r) => r.label))];
  const numeric = labels.every((l) => /^[-+]?\d+(\.\d+)?$/.test(l));
  return labels.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Rows with their label's index in `classes`; a label not there is an InputError naming the row. */
export function indexLabels(rows: readonly LabelledText[], classes: readonly string[]): SentimentExample[] {
  const index = new Map(classes.map((c, i) => [c, i]));
  return rows.map((r) => {
    const label = index.get(r.label);
    if (label === undefined) throw new InputError(`sentiment data: ${r.source}: label '${r.label}' is not one of the model's classes (${classes.join(', ')})`);
    return { text: r.text, label, source: r.source };
  });
}

/**
 * A user's labelled file as a data set: its classes (`classes` given: the model's, and every label
 * must be one of them; else the file's, at least two), split 80/20 by a seeded shuffle.
 */
export function loadSentimentFile(path: string, opts: { seed?: number; testFraction?: number; classes?: readonly string[] } = {}): SentimentDataset {
  let text: string;
  try {
    text = readTextFile(path, 'sentiment data file');
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  const rows = parseLabelledFile(text, path);
  const classes = opts.classes ? [...opts.classes] : labelClasses(rows);
  if (classes.length < 2) throw new InputError(`sentiment data: ${path}: expected at least 2 classes, got ${classes.length} ('${classes.join("', '")}')`);
  const examples = indexLabels(rows, classes);
  if (examples.length < 3) throw new InputError(`sentiment data: ${path}: expected at least 3 labelled rows (20% are held out), got ${examples.length}`);
  const [train, test] = splitExamples(examples, new Rng((opts.seed ?? 1) * 1000), opts.testFraction);
  return { name: path, classes, train, test };
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
 * Load a named data set from `dataDir` (default: the copies shipped in the package's data/ folder,
 * found from this module, so any current folder works): one UCI source or all three (each
 * split 80/20 by its own seeded shuffle, so 'all' has the same held-out sentences as the three
 * single runs), or Emojify (its own train and test files).
 */
export function loadSentimentData(name: SentimentDataName, dataDir?: string, opts: { seed?: number; testFraction?: number } = {}): SentimentDataset {
  const seed = opts.seed ?? 1;
  const file = (relative: string): string => dataFile(dataDir, relative);
  if (name === 'emojify') {
    const trainPath = file('emojify/train_emoji.csv'), testPath = file('emojify/tesss.csv');
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
    const path = file(SENTENCE_FILES[source]);
    const examples = parseLabelledSentences(readTextFile(path, `${source} sentences file`), path);
    const splitSeed = seed * 1000 + Object.keys(SENTENCE_FILES).indexOf(source);
    const [tr, te] = splitExamples(examples, new Rng(splitSeed), opts.testFraction);
    train.push(...tr);
    test.push(...te);
  }
  return { name, classes: BINARY_CLASSES, train, test };
}

/** A file of a named set: under `dataDir`, or the copy shipped with the package. */
function dataFile(dataDir: string | undefined, relative: string): string {
  return dataDir === undefined ? shippedDataPath(relative) : `${dataDir}/${relative}`;
}

/** True for the names of the data sets shipped with seqgrad (anything else is a file). */
export function isSentimentDataName(name: string): name is SentimentDataName {
  return (SENTIMENT_DATA_NAMES as string[]).includes(name);
}

/** The files a named data set is read from (for the output checks: no output may be one of them). */
export function sentimentDataFiles(name: SentimentDataName, dataDir?: string): string[] {
  const file = (relative: string): string => dataFile(dataDir, relative);
  if (name === 'emojify') return [file('emojify/train_emoji.csv'), file('emojify/tesss.csv')];
  const sources = name === 'all' ? (['yelp', 'amazon', 'imdb'] as const) : [name];
  return sources.map((source) => file(SENTENCE_FILES[source]));
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

/** Token ids of a sentence (unknown words → `<UNK>`). */
export function encodeSentence(vocab: Vocabulary, text: string): number[] {
  return vocab.encode(tokenizeSentence(text));
}

// ---------------------------------------------------------------------------------------------
// Training and evaluation (any SentimentModel)

/**
 * The shared loop's controls (time limit, stop signal, progress per batch) and the training's
 * settings. The history holds the epochs that finished, and the partial one a stop request
 * (`signal`, checked between batches) ended.
 */
export interface TrainSentimentOptions extends LoopControls {
  epochs: number;
  batchSize: number;
  /** Adam, SGD, … from training/optimizers.ts. With plain 'sgd' the embedding is updated sparsely (touched rows only). */
  optimizer: OptimizerConfig;
  rng: Rng;
  /** Called after every epoch. */
  onEpoch?: (info: EpochInfo) => void;
  /**
   * Threads computing each batch's gradient (default 1): the batch's sentences are cut into N
   * fixed shares, N − 1 worker threads (started for this run, stopped at its end) compute theirs
   * on the same weights, the gradients are summed in worker order and one update follows
   * (training/sentiment/parallel.ts): the same N and seed give the same bits; N = 1 is the
   * single-thread path. At most B threads are used. Needs the wasm backend, a float32 LSTM model,
   * no dropout and no sparse SGD embedding update (see sentimentParallelUnsupported).
   */
  threads?: number;
}

/**
 * Why training `model` with `optimizer` cannot use worker threads (null: it can): the averaged
 * model stays on one thread; dropout masks come from the trainer's generator, which the workers do
 * not share; plain SGD updates the embedding by the rows the main thread touched, not the workers'.
 */
export function sentimentParallelUnsupported(model: SentimentModel, optimizer: OptimizerConfig): string | null {
  if (!(model instanceof LstmSentimentModel)) return `the '${model.kind}' model (only 'lstm')`;
  if (model.regularization.dropout) return 'dropout';
  if (optimizer.kind === 'sgd' && !optimizer.weightDecay && !model.embedding.frozen) return "plain SGD's sparse embedding update (use --optimizer adam)";
  return null;
}

/** The run's worker threads (null for one thread), or a one-line refusal. */
function startThreads(model: SentimentModel, opts: TrainSentimentOptions, data: { ids: number[][]; labels: number[]; padId: number }): SentimentParallelStep | null {
  const threads = opts.threads ?? 1;
  if (!(Number.isInteger(threads) && threads >= 1)) throw new InputError(`trainSentiment: expected threads to be an integer ≥ 1, got ${threads}`);
  if (threads === 1) return null;
  const unsupported = sentimentParallelUnsupported(model, opts.optimizer);
  if (unsupported) throw new InputError(`trainSentiment: threads > 1 do not support ${unsupported} yet: expected threads 1, got ${threads}`);
  return new SentimentParallelStep('sentiment train', model as LstmSentimentModel, data, opts.batchSize, threads);
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

/**
 * Mini-batch training with a seeded shuffle per epoch, through the shared training loop
 * (training/core/loop.ts); the loss is the batch mean of −log p(y).
 */
export function trainSentiment(model: SentimentModel, train: SentimentExample[], opts: TrainSentimentOptions): EpochInfo[] {
  if (train.length === 0) throw new Error('trainSentiment: expected at least one training sentence, got none');
  const now = opts.now ?? Date.now;
  const { ids, labels } = encodeExamples(model.vocab, train);
  const padId = model.vocab.has(PAD) ? model.vocab.id(PAD) : 0;
  const sparseEmbedding = opts.optimizer.kind === 'sgd' && !opts.optimizer.weightDecay && !model.embedding.frozen;
  const params = model.params(), grads = model.grads();
  if (sparseEmbedding) {
    delete params.E;
    delete grads.E;
  }
  const update = createUpdate(params, grads, createOptimizer(opts.optimizer, params));
  const perEpoch = Math.ceil(train.length / opts.batchSize);
  // A model with dropout draws its masks from opts.rng (one without draws nothing: the same bits as before).
  const dropout: DropoutMode = { kind: 'sample', rng: opts.rng };
  const history: EpochInfo[] = [];
  let order: number[] = [];
  let epoch = 0, k = perEpoch, started = 0, lossSum = 0, correct = 0, seen = 0, done = 0;
  const parallel = startThreads(model, opts, { ids, labels, padId });
  /** One thread's gradient of the batch's mean loss into the model's buffers; returns that loss and the correct predictions. */
  const gradient = (chosen: number[]): { loss: number; correct: number } => {
    const batch = makeSentimentBatch(chosen.map((i) => ids[i]), chosen.map((i) => labels[i]), padId, model.dtype);
    model.zeroGrad();
    const logits = model.forward(batch, dropout);
    const right = countCorrect(logits, batch.labels);
    const loss = crossEntropy(logits, batch.labels, { reduction: 'mean' });
    const dLogits = crossEntropyBackward(Matrix.zeros(logits.rows, logits.cols, logits.dtype), logits, batch.labels, { reduction: 'mean' });
    model.backward(batch, dLogits);
    return { loss, correct: right };
  };
  let loop: ReturnType<typeof runTrainingLoop>;
  try {
    loop = runTrainingLoop({
      startStep: 0, totalSteps: opts.epochs * perEpoch, budgetReason: 'epochs',
      timeLimitSeconds: opts.timeLimitSeconds, signal: opts.signal, now, onProgress: opts.onProgress,
      step: () => {
        if (k === perEpoch) {
          epoch++;
          started = now();
          order = opts.rng.permutation(train.length);
          k = 0;
          lossSum = 0;
          correct = 0;
          seen = 0;
        }
        const chosen = order.slice(k * opts.batchSize, (k + 1) * opts.batchSize);
        const { loss, correct: right } = parallel ? parallel.step(chosen) : gradient(chosen);
        correct += right;
        lossSum += loss;
        seen += chosen.length;
        const { lr } = update(done + 1, loss);
        if (sparseEmbedding) embeddingSgdStep(model.embedding, lr);
        done++;
        k++;
        return { loss, epoch: epoch - 1 + k / perEpoch, units: chosen.length };
      },
      afterStep: () => {
        if (k < perEpoch) return;
        const info = { epoch, loss: lossSum / perEpoch, trainAccuracy: correct / train.length, seconds: (now() - started) / 1000 };
        history.push(info);
        opts.onEpoch?.(info);
      },
    });
  } finally {
    parallel?.close(); // no worker thread outlives the run
  }
  // Interrupted within an epoch: its batches so far are the last entry (the CLI still saves the model).
  if (loop.stopReason === 'interrupted' && k > 0 && k < perEpoch) {
    const info = { epoch, loss: lossSum / k, trainAccuracy: correct / seen, seconds: (now() - started) / 1000 };
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

/** Rows whose largest logit (ties: the first) is the label's. */
export function countCorrect(logits: Matrix, labels: ArrayLike<number>): number {
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
