/**
 * `seqgrad tagger train|eval|tag`: the notes' per-step name tagger (embedding → LSTM → sigmoid per
 * word), unidirectional vs bidirectional. Thin: parses flags, calls training/tagger.ts.
 */
import { rnnRegularizationFlags, rnnRegularizationFromFlags } from '../rnn-flags.js';
import { bool, deprecated, num, parseArgs, printHelp, str, UsageError, type FlagSpec, type FlagValues } from '../args.js';
import type { Command } from '../command.js';
import { createProgress } from '../progress.js';
import { planOutputs } from '../../training/io/outputs.js';
import { runSubcommand } from '../subcommands.js';
import { Rng } from '../../engine/rng.js';
import { backendName } from '../../engine/backend.js';
import { THREADS_FLAG, threadsFromFlags } from '../threads.js';
import { modelParameters } from '../../layers/architectures.js';
import {
  buildTaggerVocabulary, createTagger, evaluateTagger, evaluateTagSet, generateTaggedSentences, loadConllFile, loadNameLists,
  loadTagger, predictTagger, predictTags, saveTagger, taggerParallelUnsupported, trainTagger, type NameLists, type TaggedSentence, type TaggerEvaluation,
  type TagSetEvaluation,
} from '../../training/tagger/tagger.js';
import { tokenizeWords } from '../../training/text/vocab.js';
import { interrupted, stopFlag } from '../interrupt.js';

const SUMMARY = 'per-word name tagger (embedding → LSTM → sigmoid), uni- vs bidirectional: train | eval | tag';

const USAGE = [
  'seqgrad tagger train [--direction both|uni|bi] [--train N] [--test M] [--steps S] [--threads N] [--out PREFIX] [--json]',
  '       seqgrad tagger train --data FILE.conll [--test-data FILE.conll] [--direction both|uni|bi] [--steps S] [--out PREFIX] [--json]',
  '       seqgrad tagger eval --model model.json [--count N] [--seed S] [--json]',
  '       seqgrad tagger eval --model model.json --data FILE.conll [--json]',
  '       seqgrad tagger tag --model model.json "Teddy Roosevelt was a great president." [more sentences] [--json]',
].join('\n');

const CONLL = "a CoNLL file: token<TAB>tag per line (first column the token, last the tag; columns between ignored), a blank line between sentences, -DOCSTART- lines skipped";

const TRAIN: Record<string, FlagSpec> = {
  data: { type: 'string', description: `${CONLL}: learn its tags (default: generated name sentences)` },
  'test-data': { type: 'string', description: 'held-out CoNLL sentences for --data (default: 10% of --data, split by --seed)' },
  direction: { type: 'string', description: 'which models to train (both: the same data, batches and budget for each)', default: 'both', choices: ['both', 'uni', 'bi'] },
  train: { type: 'int', description: 'generated training sentences', min: 1, default: 4000 },
  test: { type: 'int', description: 'generated held-out sentences (those also in the training set are dropped)', min: 1, default: 1000 },
  seed: { type: 'int', description: 'seed: training sentences S, held-out S+1, weights and batches S+2', default: 1 },
  names: { type: 'string', description: 'directory with first.txt and last.txt (default: the shipped data/names)' },
  'ambiguous-rate': { type: 'number', description: 'fraction of sentences that start with an ambiguous word', default: 0.4 },
  steps: { type: 'int', description: 'Adam updates per model', min: 1, default: 1500 },
  batch: { type: 'int', description: 'sentences per update', min: 1, default: 32 },
  embedding: { type: 'int', description: 'embedding size d', min: 1, default: 32 },
  dim: deprecated('embedding'),
  hidden: { type: 'int', description: 'LSTM hidden size H (per direction)', min: 1, default: 32 },
  lr: { type: 'number', description: 'Adam learning rate', default: 5e-3 },
  'min-count': { type: 'int', description: 'words seen fewer times become <UNK>', min: 1, default: 2 },
  ...rnnRegularizationFlags,
  out: { type: 'string', description: 'save the models as PREFIX-uni.json / PREFIX-bi.json', default: 'out/tagger' },
  threads: THREADS_FLAG,
  json: { type: 'boolean', description: 'print the results as JSON' },
  help: { type: 'boolean', description: '' },
};

const EVAL: Record<string, FlagSpec> = {
  model: { type: 'string', description: 'a model written by `seqgrad tagger train`' },
  data: { type: 'string', description: `${CONLL} to score a model trained with --data on` },
  count: { type: 'int', description: 'generated sentences', min: 1, default: 1000 },
  seed: { type: 'int', description: 'seed of the generated sentences (2 = the held-out set of `train --seed 1`)', default: 2 },
  names: { type: 'string', description: 'directory with first.txt and last.txt (default: the shipped data/names)' },
  'ambiguous-rate': { type: 'number', description: 'fraction of sentences that start with an ambiguous word', default: 0.4 },
  json: { type: 'boolean', description: 'print the scores as JSON' },
  help: { type: 'boolean', description: '' },
};

const TAG: Record<string, FlagSpec> = {
  model: { type: 'string', description: 'a model written by `seqgrad tagger train`' },
  threshold: { type: 'number', description: 'a word is a name when ŷ > threshold', default: 0.5 },
  json: { type: 'boolean', description: 'print tokens, probabilities and tags as JSON' },
  help: { type: 'boolean', description: '' },
};

function rate(command: string, flags: FlagValues, name: string): number {
  const v = num(flags, name);
  if (!(v >= 0 && v <= 1)) throw new UsageError(`${command}: --${name} expects a number in [0, 1], got ${v}`);
  return v;
}

function names(flags: FlagValues): NameLists {
  const dir = flags.names as string | undefined;
  return dir === undefined ? loadNameLists() : loadNameLists(dir);
}

const key = (s: TaggedSentence): string => s.tokens.join(' ');

/** Training and held-out sentences: generated names, or a CoNLL file's (then `tags` are its tag set). */
interface TaggerData {
  train: TaggedSentence[];
  test: TaggedSentence[];
  tags?: string[];
  droppedDuplicates: number;
}

function generatedData(command: string, flags: FlagValues, seed: number): TaggerData {
  const lists = names(flags);
  const ambiguousRate = rate(command, flags, 'ambiguous-rate');
  const train = generateTaggedSentences(new Rng(seed), num(flags, 'train'), lists, { ambiguousRate });
  const seen = new Set(train.map(key));
  const generated = generateTaggedSentences(new Rng(seed + 1), num(flags, 'test'), lists, { ambiguousRate });
  const test = generated.filter((s) => !seen.has(key(s)));
  if (test.length === 0) throw new UsageError(`${command}: every held-out sentence also occurs in the training set; raise --test`);
  return { train, test, droppedDuplicates: generated.length - test.length };
}

/** --data (and --test-data, whose tags must be the training file's; else 10% of --data held out). */
function conllData(command: string, flags: FlagValues, seed: number): TaggerData {
  const { tags, sentences } = loadConllFile(str(flags, 'data'));
  const testFile = flags['test-data'] as string | undefined;
  if (testFile !== undefined) return { train: sentences, test: loadConllFile(testFile, tags).sentences, tags, droppedDuplicates: 0 };
  if (sentences.length < 2) throw new UsageError(`${command}: --data ${str(flags, 'data')} has ${sentences.length} sentence; give --test-data or more sentences`);
  const order = new Rng(seed).permutation(sentences.length);
  const nTest = Math.max(1, Math.round(sentences.length / 10));
  return { train: order.slice(nTest).map((i) => sentences[i]), test: order.slice(0, nTest).map((i) => sentences[i]), tags, droppedDuplicates: 0 };
}

type Scores = { kind: 'names'; evaluation: TaggerEvaluation } | { kind: 'tags'; evaluation: TagSetEvaluation };

function evaluate(tagger: ReturnType<typeof createTagger>, test: TaggedSentence[]): Scores {
  return tagger.config.tags ? { kind: 'tags', evaluation: evaluateTagSet(tagger, test) } : { kind: 'names', evaluation: evaluateTagger(tagger, test) };
}

async function runTrain(argv: string[]): Promise<number> {
  const command = 'tagger train';
  const { flags } = parseArgs(command, argv, TRAIN);
  if (flags.help) return printHelp('seqgrad tagger train [flags]', 'train unidirectional and/or bidirectional taggers on generated name sentences or a CoNLL file (--data); report token scores on held-out sentences', TRAIN);
  const seed = num(flags, 'seed');
  const direction = str(flags, 'direction');
  const kinds = direction === 'both' ? ['uni', 'bi'] : [direction];
  const out = str(flags, 'out');
  if (flags['test-data'] !== undefined && flags.data === undefined) throw new UsageError(`${command}: --test-data needs --data`);
  planOutputs({
    command, inputs: { '--data': flags.data as string | undefined, '--test-data': flags['test-data'] as string | undefined },
    outputs: Object.fromEntries(kinds.map((kind) => [`--out (${kind})`, `${out}-${kind}.json`])), createParents: true,
  });
  const data = flags.data === undefined ? generatedData(command, flags, seed) : conllData(command, flags, seed);
  const { train, test } = data;
  const vocab = buildTaggerVocabulary(train, num(flags, 'min-count'));
  const lr = num(flags, 'lr');
  if (!(lr > 0)) throw new UsageError(`${command}: --lr expects a positive number, got ${lr}`);
  const results: Record<string, Scores & { seconds: number; finalLoss: number; parameters: number; file: string }> = {};
  let stepsDone = 0;
  for (const kind of kinds) {
    if (stopFlag.stopRequested) break; // interrupted during the first model: do not start the second
    // The same seed for both models: the same initial embedding rows and the same batches.
    const tagger = createTagger({
      vocab, embeddingDim: num(flags, 'embedding'), hidden: num(flags, 'hidden'), bidirectional: kind === 'bi', tags: data.tags,
      ...rnnRegularizationFromFlags(flags),
    }, { rng: new Rng(seed + 2) });
    let progress: ReturnType<typeof createProgress> | null = null;
    const r = trainTagger(tagger, train, {
      steps: num(flags, 'steps'), batchSize: num(flags, 'batch'), lr, signal: stopFlag,
      threads: threadsFromFlags(flags, backendName(), taggerParallelUnsupported(tagger)),
      onProgress: (p) => {
        progress ??= createProgress({ label: `${kind}directional`, total: p.totalSteps, unit: 'updates' });
        progress.update(p.step, { loss: p.smoothLoss.toFixed(4) });
      },
    }, new Rng(seed + 3));
    (progress as ReturnType<typeof createProgress> | null)?.finish();
    stepsDone = r.steps;
    const file = `${out}-${kind}.json`;
    saveTagger(file, tagger);
    const parameters = Object.values(modelParameters(tagger.net).params).reduce((n, p) => n + p.size, 0);
    results[kind] = { ...evaluate(tagger, test), seconds: r.seconds, finalLoss: r.losses.at(-1)!, parameters, file };
  }
  const report = {
    data: flags.data ?? 'generated', tags: data.tags ?? null,
    train: train.length, test: test.length, droppedDuplicates: data.droppedDuplicates, vocabulary: vocab.size,
    budget: { steps: num(flags, 'steps'), batch: num(flags, 'batch'), lr, dim: num(flags, 'embedding'), hidden: num(flags, 'hidden') },
    models: Object.fromEntries(Object.entries(results).map(([k, { kind: _kind, ...rest }]) => [k, rest])),
  };
  if (flags.json) console.log(JSON.stringify(report, null, 2));
  else {
    const dropped = data.tags ? '' : ` (${report.droppedDuplicates} duplicates of training sentences dropped)`;
    console.log(`${train.length} training sentences, ${test.length} held-out${dropped}, vocabulary ${vocab.size}${data.tags ? `, ${data.tags.length} tags` : ''}`);
    console.log(resultsTable(Object.entries(results).map(([k, v]) => [`${k}directional (${v.parameters} params)`, v])));
    console.log(`models saved to ${Object.values(results).map((v) => v.file).join(', ')}`);
  }
  return interrupted(command, stepsDone, Object.values(results).map((v) => v.file));
}

/** The name tagger's table, or a tag-set model's (accuracy, macro F1, per-tag F1). */
function resultsTable(rows: [string, Scores][]): string {
  const names = rows.filter((r): r is [string, Scores & { kind: 'names' }] => r[1].kind === 'names');
  if (names.length === rows.length) return scoreTable(names.map(([n, s]) => [n, s.evaluation]));
  return tagSetTable(rows.map(([n, s]) => [n, s.evaluation as TagSetEvaluation]));
}

function tagSetTable(rows: [string, TagSetEvaluation][]): string {
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  const tags = Object.keys(rows[0][1].perTag);
  const header = ['model', 'token acc.', 'macro F1', ...tags.map((t) => `F1 ${t}`)];
  return formatTable(header, rows.map(([name, e]) => [name, pct(e.accuracy), pct(e.macroF1), ...tags.map((t) => pct(e.perTag[t].f1))]));
}

/** Columns padded to their widest cell, a rule under the header. */
function formatTable(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function scoreTable(rows: [string, TaggerEvaluation][]): string {
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  const header = ['model', 'precision', 'recall', 'token F1', 'F1, ambiguous first word', 'first word acc. (majority)'];
  const body = rows.map(([name, e]) => [
    name, pct(e.all.precision), pct(e.all.recall), pct(e.all.f1),
    `${pct(e.ambiguousFirst.f1)} (${e.ambiguousFirst.sentences} sent.)`,
    `${pct(e.ambiguousFirst.firstTokenAccuracy)} (${pct(e.ambiguousFirst.majorityRate)})`,
  ]);
  return formatTable(header, body);
}

function requireModel(command: string, flags: FlagValues): string {
  const model = flags.model as string | undefined;
  if (!model) throw new UsageError(`${command}: --model is required (a file written by 'seqgrad tagger train')`);
  return model;
}

function runEval(argv: string[]): number {
  const command = 'tagger eval';
  const { flags } = parseArgs(command, argv, EVAL);
  if (flags.help) return printHelp('seqgrad tagger eval --model model.json [flags]', 'token precision/recall/F1 of a saved tagger on generated sentences', EVAL);
  const modelPath = requireModel(command, flags);
  const tagger = loadTagger(modelPath);
  if (tagger.config.tags || flags.data !== undefined) return evalOnFile(flags, modelPath, tagger);
  const count = num(flags, 'count');
  const sentences = generateTaggedSentences(new Rng(num(flags, 'seed')), count, names(flags), { ambiguousRate: rate(command, flags, 'ambiguous-rate') });
  const progress = createProgress({ label: 'evaluating', total: 1, unit: 'sets' });
  const evaluation = evaluateTagger(tagger, sentences);
  progress.update(1);
  progress.finish();
  const label = `${tagger.config.bidirectional ? 'bi' : 'uni'}directional ${tagger.config.cell}`;
  if (flags.json) console.log(JSON.stringify({ model: modelPath, config: tagger.config, seed: num(flags, 'seed'), ...evaluation }, null, 2));
  else {
    console.log(`${count} generated sentences (seed ${num(flags, 'seed')}), model ${modelPath}`);
    console.log(scoreTable([[label, evaluation]]));
  }
  return 0;
}

/** A tag-set model scored on a CoNLL file (its tags must be the model's). */
function evalOnFile(flags: FlagValues, modelPath: string, tagger: ReturnType<typeof loadTagger>): number {
  const command = 'tagger eval';
  const tags = tagger.config.tags;
  if (!tags) throw new UsageError(`${command}: ${modelPath} is the name tagger (trained on generated sentences); --data needs a model trained with --data`);
  if (flags.data === undefined) throw new UsageError(`${command}: ${modelPath} was trained on a CoNLL file; give --data FILE to score it`);
  const data = str(flags, 'data');
  const { sentences } = loadConllFile(data, tags);
  const evaluation = evaluateTagSet(tagger, sentences);
  const label = `${tagger.config.bidirectional ? 'bi' : 'uni'}directional ${tagger.config.cell}`;
  if (flags.json) console.log(JSON.stringify({ model: modelPath, config: tagger.config, data, ...evaluation }, null, 2));
  else {
    console.log(`${sentences.length} sentences of ${data}, model ${modelPath}`);
    console.log(tagSetTable([[label, evaluation]]));
  }
  return 0;
}

function runTag(argv: string[]): number {
  const command = 'tagger tag';
  const { flags, positionals } = parseArgs(command, argv, TAG);
  if (flags.help) return printHelp('seqgrad tagger tag --model model.json "sentence" …', 'tag each word of the sentences: [brackets] around the words tagged as names, with ŷ (a model trained with --data: word/TAG)', TAG);
  const modelPath = requireModel(command, flags);
  if (positionals.length === 0) throw new UsageError(`${command}: expected at least one sentence, e.g. "Teddy Roosevelt was a great president."`);
  const threshold = num(flags, 'threshold');
  if (!(threshold > 0 && threshold < 1)) throw new UsageError(`${command}: --threshold expects a number in (0, 1), got ${threshold}`);
  const tagger = loadTagger(modelPath);
  const sentences = positionals.map((p, i) => {
    const tokens = tokenizeWords(p);
    if (tokens.length === 0) throw new UsageError(`${command}: sentence ${i + 1} has no words`);
    return tokens;
  });
  if (tagger.config.tags) return printTags(tagger, sentences, bool(flags, 'json'));
  const probabilities = predictTagger(tagger, sentences);
  const tagged = sentences.map((tokens, i) => ({
    tokens, probabilities: Array.from(probabilities[i], (p) => Number(p.toFixed(4))),
    tags: Array.from(probabilities[i], (p) => (p > threshold ? 1 : 0)),
    unknown: tokens.filter((t) => !tagger.vocab.has(t)),
  }));
  if (bool(flags, 'json')) console.log(JSON.stringify(tagged, null, 2));
  else {
    for (const s of tagged) {
      console.log(s.tokens.map((t, i) => (s.tags[i] ? `[${t}]` : t)).join(' '));
      console.log(`  ŷ: ${s.tokens.map((t, i) => `${t} ${s.probabilities[i].toFixed(2)}`).join(' | ')}`);
      if (s.unknown.length) console.log(`  (not in the vocabulary, read as <UNK>: ${s.unknown.join(', ')})`);
    }
  }
  return 0;
}

/** A tag-set model's tags by name: `token/TAG` per word, or JSON with each tag's probability. */
function printTags(tagger: ReturnType<typeof loadTagger>, sentences: string[][], json: boolean): number {
  const tags = tagger.config.tags as string[];
  const tagged = predictTags(tagger, sentences).map((p, i) => ({
    tokens: sentences[i], tags: Array.from(p.ids, (id) => tags[id]), probabilities: Array.from(p.probabilities, (v) => Number(v.toFixed(4))),
    unknown: sentences[i].filter((t) => !tagger.vocab.has(t)),
  }));
  if (json) console.log(JSON.stringify(tagged, null, 2));
  else {
    for (const s of tagged) {
      console.log(s.tokens.map((t, k) => `${t}/${s.tags[k]}`).join(' '));
      if (s.unknown.length) console.log(`  (not in the vocabulary, read as <UNK>: ${s.unknown.join(', ')})`);
    }
  }
  return 0;
}

export const taggerCommand: Command = {
  name: 'tagger',
  summary: SUMMARY,
  run(argv) {
    return runSubcommand('tagger', argv, { train: runTrain, eval: runEval, tag: runTag },
      `usage: ${USAGE}\n\n${SUMMARY}\n(seqgrad tagger <train|eval|tag> --help for the flags)`);
  },
};
