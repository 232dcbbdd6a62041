/**
 * `seqgrad tree generate|train|eval`: the recursive (tree) network on sentiment trees, against
 * the bag-of-embeddings baseline. Thin: parses flags, calls training/trees.ts and treenet.ts.
 */
import { bool, deprecated, num, parseArgs, printHelp, str, UsageError, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';
import { createProgress } from '../progress.js';
import { runSubcommand } from '../subcommands.js';
import { Rng } from '../../engine/rng.js';
import { readJsonFile, readTextFile, writeFileAtomic } from '../../training/io/files.js';
import { planOutputs } from '../../training/io/outputs.js';
import { generateSentimentTrees, parseTrees, treeToString, type Tree } from '../../training/trees/trees.js';
import {
  evaluateBag, evaluateTreeNet, inferClasses, labelClass, trainBagOfEmbeddings, trainTreeNet, treeModelsFromJSON,
  treeModelsToJSON, type TreeEvaluation, type TreeModelsJSON, type TreeTrainOptions,
} from '../../training/trees/treenet.js';
import { InputError } from '../../training/core/errors.js';
import { interrupted, stopFlag } from '../interrupt.js';

const SUMMARY = 'recursive (tree) net on sentiment trees vs a bag of embeddings: generate | train | eval';

const USAGE = [
  'seqgrad tree generate [--count N] [--seed S] [--classes 3|5] [--out trees.txt] [--json]',
  '       seqgrad tree train [--train trees.txt] [--test trees.txt] [--embedding D] [--epochs E] [--out model.json] [--json]',
  '       seqgrad tree eval --model model.json [--trees trees.txt | --count N --seed S] [--json]',
].join('\n');

const GENERATE: Record<string, FlagSpec> = {
  count: { type: 'int', description: 'number of trees', min: 1, default: 1000 },
  seed: { type: 'int', description: 'seed of the generator', default: 1 },
  classes: { type: 'int', description: 'label classes: 5 (0 very negative … 4 very positive) or 3', default: 5 },
  negation: { type: 'number', description: 'probability that a phrase is negated', default: 0.4 },
  out: { type: 'string', description: 'write the trees here, one per line (default: stdout)' },
  json: { type: 'boolean', description: 'print a JSON summary (with the trees when there is no --out)' },
  help: { type: 'boolean', description: '' },
};

const TRAIN: Record<string, FlagSpec> = {
  train: { type: 'string', description: 'training trees (bracket format, e.g. SST); default: generated' },
  test: { type: 'string', description: 'held-out trees; default: generated' },
  count: { type: 'int', description: 'generated training trees', min: 1, default: 2000 },
  'test-count': { type: 'int', description: 'generated held-out trees', min: 1, default: 500 },
  seed: { type: 'int', description: 'seed: training trees use S, held-out trees S+1, the models S+2', default: 1 },
  classes: { type: 'int', description: 'label classes (default: 5 for generated trees, else inferred from the labels)' },
  embedding: { type: 'int', description: 'embedding and node vector size d', min: 1, default: 25 },
  dim: deprecated('embedding'),
  epochs: { type: 'int', description: 'passes over the training trees', min: 1, default: 20 },
  batch: { type: 'int', description: 'trees per update', min: 1, default: 25 },
  optimizer: { type: 'string', description: 'update rule', default: 'adagrad', choices: ['adagrad', 'adam'] },
  lr: { type: 'number', description: 'learning rate (default 0.05 adagrad, 0.005 adam)' },
  'weight-decay': { type: 'number', description: 'L2 weight decay λ', default: 1e-4 },
  'loss-at': { type: 'string', description: 'train on every labelled node or the roots only', default: 'all', choices: ['all', 'root'] },
  bag: { type: 'boolean', description: 'also train the bag-of-embeddings baseline', default: true },
  out: { type: 'string', description: 'save both models to this JSON file' },
  json: { type: 'boolean', description: 'print the accuracies as JSON' },
  help: { type: 'boolean', description: '' },
};

const EVAL: Record<string, FlagSpec> = {
  model: { type: 'string', description: 'a model file written by `seqgrad tree train --out`' },
  trees: { type: 'string', description: 'trees to evaluate on (default: generated)' },
  count: { type: 'int', description: 'generated trees', min: 1, default: 500 },
  seed: { type: 'int', description: 'seed of the generated trees (2 = the held-out set of `train --seed 1`)', default: 2 },
  json: { type: 'boolean', description: 'print the accuracies as JSON' },
  help: { type: 'boolean', description: '' },
};

/** Read and parse a tree file; every failure (missing file, malformed tree, bad label) is an input error. */
function loadTrees(path: string, what: string, classes?: number): Tree[] {
  try {
    const trees = parseTrees(readTextFile(path, what), { source: path });
    if (trees.length === 0) throw new Error(`${what} ${path} holds no trees`);
    if (classes !== undefined) {
      trees.forEach((t, i) => checkLabels(t, classes, `${path}: tree ${i + 1}`));
    }
    return trees;
  } catch (err) {
    throw new InputError((err as Error).message);
  }
}

function checkLabels(tree: Tree, classes: number, where: string): void {
  labelClass(tree.label, classes, where);
  for (const child of tree.children) checkLabels(child, classes, where);
}

function generated(count: number, seed: number, classes: 3 | 5, negation?: number): Tree[] {
  return generateSentimentTrees(new Rng(seed), count, { classes, negation });
}

function checkClasses(command: string, classes: number): 3 | 5 {
  if (classes !== 3 && classes !== 5) throw new UsageError(`${command}: --classes expects 3 or 5 for generated trees, got ${classes}`);
  return classes;
}

function runGenerate(argv: string[]): number {
  const command = 'tree generate';
  const { flags } = parseArgs(command, argv, GENERATE);
  if (flags.help) return printHelp('seqgrad tree generate [flags]', 'write seeded sentiment trees with negation and intensifiers (labels follow the rules of training/trees.ts)', GENERATE);
  const count = num(flags, 'count');
  planOutputs({ command, outputs: { '--out': flags.out as string | undefined } });
  const classes = checkClasses(command, num(flags, 'classes'));
  const negation = num(flags, 'negation');
  if (!(negation >= 0 && negation <= 1)) throw new UsageError(`${command}: --negation expects a probability in [0, 1], got ${negation}`);
  const trees = generated(count, num(flags, 'seed'), classes, negation);
  const lines = trees.map(treeToString);
  const out = flags.out as string | undefined;
  if (out) writeFileAtomic(out, lines.join('\n') + '\n');
  const rootCounts = new Array<number>(classes).fill(0);
  for (const t of trees) rootCounts[Number(t.label)]++;
  if (flags.json) {
    console.log(JSON.stringify({ count, classes, seed: num(flags, 'seed'), rootClassCounts: rootCounts, out: out ?? null, ...(out ? {} : { trees: lines }) }, null, 2));
  } else if (out) {
    console.log(`wrote ${count} trees to ${out} (root classes ${rootCounts.map((n, c) => `${c}: ${n}`).join(', ')})`);
  } else {
    console.log(lines.join('\n'));
  }
  return 0;
}

async function runTrain(argv: string[]): Promise<number> {
  const command = 'tree train';
  const { flags } = parseArgs(command, argv, TRAIN);
  if (flags.help) return printHelp('seqgrad tree train [flags]', 'train the recursive net and the bag-of-embeddings baseline; report root and all-node accuracy on held-out trees', TRAIN);
  const seed = num(flags, 'seed');
  const classesFlag = flags.classes as number | undefined;
  const trainPath = flags.train as string | undefined;
  const testPath = flags.test as string | undefined;
  planOutputs({ command, inputs: { '--train': trainPath, '--test': testPath }, outputs: { '--out': flags.out as string | undefined } });
  let classes = classesFlag;
  if (classes !== undefined && !(Number.isInteger(classes) && classes >= 2)) throw new UsageError(`${command}: --classes expects an integer ≥ 2, got ${classes}`);
  const train = trainPath
    ? loadTrees(trainPath, 'training trees', classes)
    : generated(num(flags, 'count'), seed, checkClasses(command, classes ?? 5));
  classes ??= trainPath ? inferClasses(train) : 5;
  const test = testPath
    ? loadTrees(testPath, 'held-out trees', classes)
    : generated(num(flags, 'test-count'), seed + 1, checkClasses(command, classes));
  const options: TreeTrainOptions = {
    dim: num(flags, 'embedding'), classes, epochs: num(flags, 'epochs'),
    batchSize: num(flags, 'batch'), optimizer: str(flags, 'optimizer') as 'adagrad' | 'adam',
    lr: flags.lr as number | undefined, weightDecay: num(flags, 'weight-decay'),
    lossAt: str(flags, 'loss-at') as 'all' | 'root',
  };
  if (options.lr !== undefined && !(options.lr > 0)) throw new UsageError(`${command}: --lr expects a positive number, got ${options.lr}`);
  if (!(options.weightDecay! >= 0)) throw new UsageError(`${command}: --weight-decay expects a number ≥ 0, got ${options.weightDecay}`);

  const treeStart = Date.now();
  const tree = trainTreeNet(train, withProgress(options, 'tree net'), new Rng(seed + 2));
  const treeSeconds = (Date.now() - treeStart) / 1000;
  let bag = null, bagSeconds = 0;
  if (bool(flags, 'bag')) {
    const bagStart = Date.now();
    bag = trainBagOfEmbeddings(train, withProgress(options, 'bag of embeddings'), new Rng(seed + 2));
    bagSeconds = (Date.now() - bagStart) / 1000;
  }
  const treeEval = evaluateTreeNet(tree, test);
  const bagEval = bag ? evaluateBag(bag, test) : null;
  const out = flags.out as string | undefined;
  if (out) writeFileAtomic(out, JSON.stringify(treeModelsToJSON(tree, bag)) + '\n');
  const result = {
    train: { trees: train.length, source: trainPath ?? `generated (seed ${seed})` },
    test: { trees: test.length, source: testPath ?? `generated (seed ${seed + 1})` },
    classes, options: { ...options, lr: options.lr ?? null },
    tree: { ...treeEval, seconds: treeSeconds },
    bag: bagEval && { ...bagEval, seconds: bagSeconds },
    out: out ?? null,
  };
  if (flags.json) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(`trained on ${train.length} trees (${result.train.source}), evaluated on ${test.length} held-out trees (${result.test.source}), ${classes} classes`);
    console.log(accuracyTable([[`tree net (d=${options.dim})`, treeEval], ...(bagEval ? [['bag of embeddings', bagEval] as [string, TreeEvaluation]] : [])]));
    if (out) console.log(`models saved to ${out}`);
  }
  return interrupted(command, null, [out]);
}

function withProgress(options: TreeTrainOptions, label: string): TreeTrainOptions {
  let progress: ReturnType<typeof createProgress> | null = null;
  return {
    ...options,
    signal: stopFlag,
    onProgress: (p) => {
      progress ??= createProgress({ label, total: p.totalSteps, unit: 'batches' });
      progress.update(p.step, { loss: p.loss });
      if (p.step === p.totalSteps) progress.finish();
    },
  };
}

function runEval(argv: string[]): number {
  const command = 'tree eval';
  const { flags } = parseArgs(command, argv, EVAL);
  if (flags.help) return printHelp('seqgrad tree eval --model model.json [flags]', 'root and all-node accuracy of saved models on trees', EVAL);
  const modelPath = flags.model as string | undefined;
  if (!modelPath) throw new UsageError(`${command}: --model is required (a file written by 'seqgrad tree train --out')`);
  let models;
  try {
    models = treeModelsFromJSON(readJsonFile<TreeModelsJSON>(modelPath, 'model file'), modelPath);
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  const { tree, bag } = models;
  const treesPath = flags.trees as string | undefined;
  const trees = treesPath
    ? loadTrees(treesPath, 'trees', tree.classes)
    : generated(num(flags, 'count'), num(flags, 'seed'), checkClasses(command, tree.classes));
  const progress = createProgress({ label: 'evaluating', total: bag ? 2 : 1, unit: 'models' });
  const treeEval = evaluateTreeNet(tree, trees);
  progress.update(1);
  const bagEval = bag ? evaluateBag(bag, trees) : null;
  progress.update(bag ? 2 : 1);
  progress.finish();
  if (flags.json) console.log(JSON.stringify({ model: modelPath, trees: trees.length, classes: tree.classes, tree: treeEval, bag: bagEval }, null, 2));
  else {
    console.log(`${trees.length} trees (${treesPath ?? `generated, seed ${num(flags, 'seed')}`}), model ${modelPath}`);
    console.log(accuracyTable([[`tree net (d=${tree.net.dim})`, treeEval], ...(bagEval ? [['bag of embeddings', bagEval] as [string, TreeEvaluation]] : [])]));
  }
  return 0;
}

function accuracyTable(rows: [string, TreeEvaluation][]): string {
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  const header = ['model', 'root acc.', 'all-node acc.', 'roots with "not"', 'roots without'];
  const body = rows.map(([name, e]) => [
    name, pct(e.rootAccuracy), pct(e.nodeAccuracy),
    `${pct(e.negated.rootAccuracy)} of ${e.negated.trees}`, `${pct(e.plain.rootAccuracy)} of ${e.plain.trees}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export const treeCommand: Command = {
  name: 'tree',
  summary: SUMMARY,
  run(argv) {
    return runSubcommand('tree', argv, { generate: runGenerate, train: runTrain, eval: runEval },
      `usage: ${USAGE}\n\n${SUMMARY}\n(seqgrad tree <generate|train|eval> --help for the flags)`);
  },
};
