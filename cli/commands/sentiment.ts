/**
 * `seqgrad sentiment train | eval | predict`: the notes' sentiment classifiers on the UCI labelled
 * sentences (yelp, amazon, imdb, all; seeded 80/20 split) and on Emojify (its train/test files).
 * Thin: parses flags, calls training/sentiment.ts. Model kinds are listed in MODEL_FACTORIES
 * (model (b), the LSTM, is added there beside 'avg').
 */
import { rnnRegularizationFlags, rnnRegularizationFromFlags } from '../rnn-flags.js';
import { deprecated, parseArgs, printHelp, UsageError, type FlagSpec, type FlagValues } from '../args.js';
import type { Command } from '../command.js';
import { createProgress } from '../progress.js';
import { runSubcommand, type SubcommandRun } from '../subcommands.js';
import { Rng } from '../../engine/rng.js';
import { backendName } from '../../engine/backend.js';
import { THREADS_FLAG, threadsFromFlags } from '../threads.js';
import * as nodePath from 'node:path';
import { readJsonFile, writeFileAtomic } from '../../training/io/files.js';
import { planOutputs } from '../../training/io/outputs.js';
import type { OptimizerConfig } from '../../training/core/optimizers.js';
import {
  buildSentimentVocabulary, evaluateSentiment, formatConfusion, isSentimentDataName, loadSentimentData, loadSentimentFile,
  predictSentiment, SENTIMENT_DATA_NAMES, sentimentDataFiles, sentimentParallelUnsupported, trainSentiment, EMOJI_CLASSES, EMOJI_SYMBOLS, type SentimentDataset,
} from '../../training/sentiment/sentiment.js';
import { averageModelFactory, type SentimentModel, type SentimentModelFactory, type SentimentModelJSON } from '../../training/classify/sentence-classifier.js';
import { readVectors, type WordVectors } from '../../training/io/vectors.js';
import { lstmModelFactory } from '../../training/sentiment/lstm.js';
import { InputError } from '../../training/core/errors.js';
import { interrupted, stopFlag } from '../interrupt.js';

/** The model kinds `--arch` accepts. */
export const MODEL_FACTORIES: Record<string, SentimentModelFactory> = {
  avg: averageModelFactory,
  lstm: lstmModelFactory,
};

const COMMON: Record<string, FlagSpec> = {
  data: { type: 'string', description: `a shipped data set (${SENTIMENT_DATA_NAMES.join('|')}) or your own file: TSV 'label<TAB>text' or CSV with a header naming the label and text columns` },
  'data-dir': { type: 'string', description: "folder holding the shipped sets' files (default: seqgrad's own data/)" },
  seed: { type: 'int', description: 'seed of the 80/20 split (and of the model in train)' },
  json: { type: 'boolean', description: 'print the result as JSON' },
  help: { type: 'boolean', description: '' },
};

const TRAIN: Record<string, FlagSpec> = {
  ...COMMON,
  arch: { type: 'string', description: 'model: average of embeddings or an LSTM', default: 'avg', choices: Object.keys(MODEL_FACTORIES) },
  model: deprecated('arch'),
  vectors: { type: 'string', description: 'pretrained word vectors (word2vec/GloVe text) for the embedding' },
  freeze: { type: 'boolean', description: 'keep the embedding fixed (default: yes with --vectors, no without)' },
  embedding: { type: 'int', description: 'embedding size without --vectors', default: 50 },
  dim: deprecated('embedding'),
  hidden: { type: 'int', description: 'hidden size (recurrent models)', default: 64 },
  layers: { type: 'int', description: 'stacked recurrent layers (recurrent models)', default: 1 },
  bidirectional: { type: 'boolean', description: 'bidirectional recurrent layers (recurrent models)' },
  ...rnnRegularizationFlags,
  epochs: { type: 'int', description: 'passes over the training sentences', default: 30 },
  batch: { type: 'int', description: 'sentences per update', default: 32 },
  optimizer: { type: 'string', description: 'update rule (sgd updates the embedding sparsely)', default: 'adam', choices: ['adam', 'sgd'] },
  lr: { type: 'number', description: 'learning rate (default: adam 0.01, sgd 0.5)' },
  'weight-decay': { type: 'number', description: 'L2 weight decay λ', default: 0 },
  out: { type: 'string', description: 'save the trained model (JSON) here' },
  threads: THREADS_FLAG,
};

const EVAL: Record<string, FlagSpec> = {
  ...COMMON,
  model: { type: 'string', description: 'a model file from `seqgrad sentiment train --out`' },
  in: deprecated('model'),
};

const PREDICT: Record<string, FlagSpec> = {
  model: { type: 'string', description: 'a model file from `seqgrad sentiment train --out`' },
  in: deprecated('model'),
  json: { type: 'boolean', description: 'print the predictions as JSON' },
  help: { type: 'boolean', description: '' },
};

const USAGE = [
  'seqgrad sentiment train --data yelp|amazon|imdb|all|emojify|FILE.tsv|FILE.csv [--arch avg|lstm [--hidden 64] [--layers 1] [--bidirectional] [--threads N]] [--vectors FILE] [--out model.json] [--json]',
  '       seqgrad sentiment eval --model model.json [--data NAME] [--json]',
  '       seqgrad sentiment predict --model model.json "a sentence" […]',
].join('\n');

const SUMMARY = 'sentiment classifiers (average of embeddings → softmax; embedding → LSTM → softmax): train | eval | predict';

/** A shipped set by name, or the user's file (with `classes`: the model's, which its labels must use). */
function loadData(flags: FlagValues, name: string | undefined, seed: number, classes?: string[]): SentimentDataset {
  if (!name) throw new UsageError(`sentiment: expected --data ${SENTIMENT_DATA_NAMES.join('|')}|FILE`);
  if (!isSentimentDataName(name)) return loadSentimentFile(name, { seed, classes });
  try {
    return loadSentimentData(name, flags['data-dir'] as string | undefined, { seed });
  } catch (err) {
    throw new InputError((err as Error).message);
  }
}

/** The files --data reads (a named set's files, or the user's file), for the output checks. */
function dataInputs(flags: FlagValues): Record<string, string> {
  const name = flags.data as string | undefined;
  if (name === undefined) return {};
  if (!isSentimentDataName(name)) return { '--data': name };
  try {
    return Object.fromEntries(sentimentDataFiles(name, flags['data-dir'] as string | undefined).map((f) => [`--data ${name}`, f]));
  } catch {
    return {}; // not found: loadData reports it
  }
}

/** Emojify's classes get their emoji beside the name. */
function classLabels(classes: string[]): string[] {
  const emojify = classes.length === EMOJI_CLASSES.length && classes.every((c, i) => c === EMOJI_CLASSES[i]);
  return emojify ? classes.map((c, i) => `${c} ${EMOJI_SYMBOLS[i]}`) : classes;
}

function loadModel(path: string | undefined): SentimentModel & { json: SentimentModelJSON } {
  if (!path) throw new UsageError('sentiment: expected --model model.json');
  try {
    const json = readJsonFile<SentimentModelJSON>(path, 'sentiment model file');
    const factory = MODEL_FACTORIES[json?.model];
    if (!factory) throw new Error(`sentiment model file ${path}: unknown model '${String(json?.model)}' (known: ${Object.keys(MODEL_FACTORIES).join(', ')})`);
    return Object.assign(factory.fromJSON(json), { json });
  } catch (err) {
    throw new InputError((err as Error).message);
  }
}

function printEvaluation(label: string, model: SentimentModel, data: SentimentDataset): { accuracy: number; confusion: number[][]; total: number } {
  const result = evaluateSentiment(model, data.test);
  const classes = classLabels(data.classes);
  console.log(`${label}: accuracy ${(100 * result.accuracy).toFixed(1)}% (${Math.round(result.accuracy * result.total)}/${result.total})`);
  console.log(formatConfusion(result.confusion, classes));
  return result;
}

function train(flags: FlagValues): number {
  planOutputs({
    command: 'sentiment train', inputs: { ...dataInputs(flags), '--vectors': flags.vectors as string | undefined },
    outputs: { '--out': flags.out as string | undefined },
  });
  const seed = (flags.seed as number | undefined) ?? 1;
  const data = loadData(flags, flags.data as string | undefined, seed);
  const factory = MODEL_FACTORIES[flags.arch as string];
  let vectors: WordVectors | undefined;
  if (flags.vectors) {
    try {
      vectors = readVectors(flags.vectors as string);
    } catch (err) {
      throw new InputError((err as Error).message);
    }
  }
  // With pretrained vectors every word they know joins the vocabulary, so test words never seen
  // in training still get their vector (the point of transfer learning in the notes).
  const vocab = buildSentimentVocabulary(data.train, vectors ? vectors.words.map((w) => w.toLowerCase()) : []);
  const rng = new Rng(seed);
  const model = factory.create(vocab, data.classes, rng, {
    dim: flags.embedding as number, vectors, freeze: flags.freeze as boolean | undefined, hidden: flags.hidden as number,
    layers: flags.layers as number, bidirectional: flags.bidirectional === true, ...rnnRegularizationFromFlags(flags),
  });
  const kind = flags.optimizer as 'adam' | 'sgd';
  const optimizer: OptimizerConfig = {
    kind, lr: (flags.lr as number | undefined) ?? (kind === 'adam' ? 0.01 : 0.5), weightDecay: flags['weight-decay'] as number,
  };
  const epochs = flags.epochs as number;
  const progress = createProgress({ label: `sentiment ${flags.arch} on ${data.name}`, total: epochs, unit: 'epochs' });
  const started = Date.now();
  const history = trainSentiment(model, data.train, {
    epochs, batchSize: flags.batch as number, optimizer, rng, signal: stopFlag,
    threads: threadsFromFlags(flags, backendName(), sentimentParallelUnsupported(model, optimizer)),
    onEpoch: (e) => progress.update(e.epoch, { loss: e.loss.toFixed(4), 'train acc': `${(100 * e.trainAccuracy).toFixed(1)}%` }),
  });
  const seconds = (Date.now() - started) / 1000;
  progress.finish(`trained in ${seconds.toFixed(1)} s`);
  if (flags.out) {
    const json = model.toJSON();
    // A file is kept as an absolute path, so `sentiment eval` finds it from any folder.
    const dataName = isSentimentDataName(data.name) ? data.name : nodePath.resolve(data.name);
    json.meta = { data: dataName, seed, vectors: flags.vectors ?? null, epochs, optimizer };
    writeFileAtomic(flags.out as string, JSON.stringify(json));
  }
  const last = history[history.length - 1];
  const testName = data.name === 'emojify' ? 'emojify test (tesss.csv)' : `${data.name} held-out 20%`;
  if (flags.json) {
    const result = evaluateSentiment(model, data.test);
    console.log(JSON.stringify({
      data: data.name, model: flags.arch, vectors: flags.vectors ?? null, frozen: model.embedding.frozen,
      vocabulary: vocab.size, dim: model.embedding.weight.cols, train: data.train.length, test: data.test.length,
      epochs, seconds, finalLoss: last?.loss, trainAccuracy: last?.trainAccuracy,
      testAccuracy: result.accuracy, confusion: result.confusion, classes: data.classes,
    }, null, 2));
    return interrupted('sentiment train', null, [flags.out as string | undefined]);
  }
  console.log(`${flags.arch} model, d = ${model.embedding.weight.cols}, vocabulary ${vocab.size}${model.embedding.frozen ? ', embedding frozen' : ''}; ${data.train.length} training sentences`);
  console.log(`final training loss ${last?.loss.toFixed(4)}, training accuracy ${(100 * (last?.trainAccuracy ?? 0)).toFixed(1)}%`);
  printEvaluation(testName, model, data);
  if (flags.out) console.log(`wrote ${flags.out}`);
  return interrupted('sentiment train', null, [flags.out as string | undefined]);
}

function evaluate(flags: FlagValues): number {
  const model = loadModel(flags.model as string | undefined);
  const meta = model.json.meta ?? {};
  const name = (flags.data as string | undefined) ?? (meta.data as string | undefined);
  const seed = (flags.seed as number | undefined) ?? (meta.seed as number | undefined) ?? 1;
  const data = loadData(flags, name, seed, isSentimentDataName(name ?? '') ? undefined : model.classes);
  if (data.classes.length !== model.classes.length) {
    throw new InputError(`sentiment eval: the model has ${model.classes.length} classes, data set '${data.name}' has ${data.classes.length}`);
  }
  if (flags.json) {
    const result = evaluateSentiment(model, data.test);
    console.log(JSON.stringify({ data: data.name, seed, accuracy: result.accuracy, confusion: result.confusion, classes: data.classes, total: result.total }, null, 2));
    return 0;
  }
  printEvaluation(`${data.name} ${data.name === 'emojify' ? 'test' : 'held-out 20%'} (seed ${seed})`, model, data);
  return 0;
}

function predict(flags: FlagValues, texts: string[]): number {
  const model = loadModel(flags.model as string | undefined);
  if (texts.length === 0) throw new UsageError('sentiment predict: expected at least one sentence');
  const labels = predictSentiment(model, texts);
  const shown = classLabels(model.classes);
  const names = labels.map((l) => shown[l]);
  if (flags.json) console.log(JSON.stringify(texts.map((text, i) => ({ text, label: labels[i], class: model.classes[labels[i]] })), null, 2));
  else texts.forEach((t, i) => console.log(`${names[i]}\t${t}`));
  return 0;
}

/** A sub-command: its flags parsed (the help printed on --help), then `run`; only predict takes positionals. */
function subcommand(sub: string, spec: Record<string, FlagSpec>, run: (flags: FlagValues, positionals: string[]) => number): SubcommandRun {
  return (argv) => {
    const { flags, positionals } = parseArgs(`sentiment ${sub}`, argv, spec);
    if (flags.help) return printHelp(USAGE, SUMMARY, spec);
    if (sub !== 'predict' && positionals.length > 0) throw new UsageError(`sentiment ${sub}: unexpected argument '${positionals[0]}'`);
    return run(flags, positionals);
  };
}

export const sentimentCommand: Command = {
  name: 'sentiment',
  summary: SUMMARY,
  run(argv) {
    return runSubcommand('sentiment', argv, {
      train: subcommand('train', TRAIN, train),
      eval: subcommand('eval', EVAL, evaluate),
      predict: subcommand('predict', PREDICT, predict),
    }, `usage: ${USAGE}\n\n${SUMMARY}\n\n(seqgrad sentiment <train|eval|predict> --help for the flags)`);
  },
};
