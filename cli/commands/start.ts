/**
 * `npm start` (`seqgrad start`): the main job.
 *   1. the gradient check of every recurrent cell (one line each: the worst relative error over
 *      its tensors; the full tour of every op is `seqgrad gradcheck`);
 *   2. a character-level LSTM language model trained on the dinosaur names shipped in
 *      data/dinos.txt (lower-cased, one name per line, `<EOS>` = newline), with a progress bar,
 *      well under two minutes;
 *   3. ten names sampled from it (seeded), each marked novel or not;
 *   4. the loss curve (train and validation, bits per character) as an SVG, written atomically.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';
import { deprecated, deprecationNotice, parseArgs, positiveNumber, printHelp, UsageError, type FlagSpec, type FlagValues } from '../args.js';
import { selectBackend } from '../backend.js';
import type { Command } from '../command.js';
import { readInputText } from '../files.js';
import { LM_PROGRESS_NOTE, runWithProgress } from '../lm-progress.js';
import { formatDuration } from '../progress.js';
import { runGradCheckCases } from '../../training/check/gradcheck.js';
import { gradCheckCases } from '../../training/gradcheck-suite.js';
import { Rng } from '../../engine/rng.js';
import { writeFileAtomic } from '../../training/io/files.js';
import { lmCurveSvg } from '../../training/lm/curve.js';
import { saveLanguageModel } from '../../training/lm/model-file.js';
import { planOutputs } from '../../training/io/outputs.js';
import { createLanguageModel, lmParameterCount } from '../../training/lm/model.js';
import { createLmTrainer, prepareLmCorpus } from '../../training/lm/train.js';
import { sampleText } from '../../training/lm/use.js';
import { interrupted } from '../interrupt.js';

const spec: Record<string, FlagSpec> = {
  data: { type: 'string', description: 'names file, one per line (default: the shipped data/dinos.txt)' },
  'time-limit': { type: 'number', description: 'stop training before this many seconds', default: 75 },
  quick: { type: 'boolean', description: 'a small model for a few seconds (for tests)' },
  seed: { type: 'int', description: 'seed of the weights and of the sampled names', default: 1 },
  out: { type: 'string', description: 'where the trained model goes', default: 'out/dinos.json' },
  plot: { type: 'string', description: 'where the loss curve (SVG) goes', default: 'out/dinos-loss.svg' },
  'model-out': deprecated('out'),
  backend: { type: 'string', description: 'GEMM backend', choices: ['wasm', 'js'], default: 'wasm' },
  help: { type: 'boolean', description: '' },
};

/** The shipped corpus: data/dinos.txt of the package, found upwards from this module (tsx or dist/). */
function shippedDataFile(name: string): string {
  let dir = nodePath.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = nodePath.join(dir, 'data', name);
    if (fs.existsSync(candidate)) return candidate;
    dir = nodePath.dirname(dir);
  }
  throw new Error(`start: the shipped data/${name} was not found above ${nodePath.dirname(fileURLToPath(import.meta.url))}`);
}

/** Step 1: one line per recurrent cell. Returns how many failed. */
function cellGradientChecks(): number {
  const cases = gradCheckCases.filter((c) => c.group === 'cells');
  console.log(`1. gradient checks of the ${cases.length} recurrent cells (BPTT vs central differences, float64, masked, T ≥ 5, B > 1):`);
  let failed = 0;
  for (const testCase of cases) {
    const rows = runGradCheckCases([testCase]);
    const worst = Math.max(...rows.map((r) => r.relError));
    const ok = rows.every((r) => r.pass);
    if (!ok) failed++;
    console.log(`   ${ok ? 'pass' : 'FAIL'}  ${testCase.op.padEnd(30)} max rel. error ${worst.toExponential(2)} over ${rows.length} tensors`);
  }
  console.log(`   ${cases.length - failed} passed, ${failed} failed  (every op: seqgrad gradcheck)\n`);
  return failed;
}

function capitalize(name: string): string {
  return name.length > 0 ? name[0].toUpperCase() + name.slice(1) : name;
}

export const startCommand: Command = {
  name: 'start',
  summary: 'the main job: cell gradient checks, then a char LSTM on dinosaur names, samples and a loss curve',
  async run(argv) {
    const { flags, positionals } = parseArgs('start', argv, spec);
    if (flags.help) return printHelp('seqgrad start [--data FILE] [--time-limit 75] [--quick] [--seed 1] [--out out/dinos.json] [--plot out/dinos-loss.svg]', this.summary, spec, LM_PROGRESS_NOTE);
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (see 'seqgrad start --help')`);
    formerSvgOut(argv, flags);
    positiveNumber('start', flags, 'time-limit');
    const timeLimit = flags['time-limit'] as number;
    const quick = flags.quick === true;
    const dataPath = (flags.data as string | undefined) ?? shippedDataFile('dinos.txt');
    const modelPath = flags.out as string;
    planOutputs({
      command: 'start', inputs: { '--data': dataPath }, outputs: { '--out': modelPath, '--plot': flags.plot as string }, createParents: true,
    });
    const text = readInputText('start', 'data', dataPath, 'names file');
    const seed = flags.seed as number;

    const failed = cellGradientChecks();

    const backend = await selectBackend(flags.backend as string);
    // The file is sorted alphabetically: shuffle the names (seeded) so the last 10% held out for
    // validation are names like the others, not only the ones starting with T–Z.
    const corpus = prepareLmCorpus(shuffledLines(text, seed), { level: 'char', lowercase: true, valFraction: 0.1 });
    const hidden = quick ? 32 : 128;
    const model = createLanguageModel({ level: 'char', lowercase: true, cell: 'lstm', hidden, seed, vocab: corpus.vocab });
    const batch = Math.max(1, Math.min(32, Math.floor(corpus.train.length / 26)));
    const trainer = createLmTrainer(model, corpus, {
      seqLen: 25, batch, optimizer: { kind: 'adam', lr: 0.005 }, clip: { mode: 'norm', max: 5 },
    });
    const names = corpus.train.reduce((n, id) => n + (id === corpus.vocab.id('<EOS>') ? 1 : 0), 0);
    console.log(
      `2. character-level LSTM language model on ${nodePath.basename(dataPath)}: ${names} training names, ${corpus.train.length} characters ` +
      `(+ ${corpus.validation.length} for validation), vocabulary ${corpus.vocab.size}, H = ${hidden}, ${lmParameterCount(model)} parameters, ` +
      `Adam, truncated BPTT T = 25, B = ${batch}, clip ‖g‖ ≤ 5, GEMM backend ${backend}`,
    );
    const result = runWithProgress(trainer, '   train', {
      epochs: quick ? 2 : 40,
      patience: 2,
      timeLimitSeconds: timeLimit,
    });
    const e = result.restoredBest ? result.bestEvaluation : result.lastEvaluation; // the weights the model ends with
    console.log(
      `   trained in ${formatDuration(result.seconds)}: ${result.steps} steps, ${result.epochs.toFixed(1)} epochs, ` +
      `${Math.round(result.tokensPerSecond)} characters/s, stopped by ${result.stopReason}`,
    );
    console.log(
      `   train loss ${(result.finalLoss / Math.LN2).toFixed(3)} bits/char` +
      (e ? `; validation ${(e.loss / Math.LN2).toFixed(3)} bits/char (loss ${e.loss.toFixed(3)} nats, perplexity ${e.perplexity.toFixed(2)})` : '') +
      ` — uniform guessing over ${corpus.vocab.size - 1} symbols would be ${Math.log2(corpus.vocab.size - 1).toFixed(3)}\n`,
    );

    const known = new Set(text.toLowerCase().split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0));
    const samples = sampleText(model, { count: 10, seed, temperature: 1, maxLength: 30 });
    console.log(`3. ten names sampled from it (seed ${seed}, temperature 1, never <UNK>):`);
    for (const s of samples) {
      const note = s.text.length === 0 ? '(empty)' : known.has(s.text) ? '(in the training list)' : '(novel)';
      console.log(`   ${capitalize(s.text).padEnd(26)} ${s.finished ? '' : '… '}${note}`);
    }

    const svgPath = flags.plot as string;
    writeFileAtomic(svgPath, lmCurveSvg(`char LSTM on ${nodePath.basename(dataPath)} (H = ${hidden})`, result, 'step', 'char'));
    console.log(`\n4. loss curve (bits/char, train and validation, by step): ${svgPath}`);

    saveLanguageModel(modelPath, model, { data: dataPath, steps: result.steps, seed });
    console.log(`5. the model: ${modelPath} — next, try:`);
    for (const line of nextCommands(modelPath)) console.log(`   ${line}`);
    return failed > 0 ? 1 : interrupted('start', result.steps, [svgPath, modelPath]);
  },
};

/** The three commands to try next on the saved model: sample it, score names with it, watch gradients flow. */
function nextCommands(modelPath: string): string[] {
  const model = /^[\w./-]+$/.test(modelPath) ? modelPath : JSON.stringify(modelPath);
  return [
    `npx seqgrad sample --model ${model} --n 10 --temperature 0.8    # more names, sharper`,
    `npx seqgrad score --model ${model} --tokens "tyrannosaurus" "xqzzkw"    # how probable is each name, per letter`,
    'npx seqgrad gradflow --cell all    # how the gradient fades through time in the RNN, GRU and LSTM',
  ];
}

/**
 * `--out` once named the loss curve (the model was `--model-out`): an `--out FILE.svg` given without
 * `--plot` is still taken as the curve, after a notice; the model then goes to `--model-out`, or beside it.
 */
function formerSvgOut(argv: string[], flags: FlagValues): void {
  const given = (name: string): string | undefined => {
    let value: string | undefined;
    argv.forEach((a, i) => {
      if (a === `--${name}`) value = argv[i + 1];
      else if (a.startsWith(`--${name}=`)) value = a.slice(name.length + 3);
    });
    return value;
  };
  const out = given('out');
  if (out === undefined || !out.toLowerCase().endsWith('.svg') || given('plot') !== undefined) return;
  deprecationNotice('start', '--out FILE.svg (the loss curve)', '--plot FILE.svg (--out is now the model)');
  flags.plot = out;
  flags.out = given('model-out') ?? nodePath.join(nodePath.dirname(out), 'dinos.json');
}

/** The non-empty lines of `text` in a seeded random order, one per line. */
function shuffledLines(text: string, seed: number): string {
  const lines = text.split(/\r?\n/).filter((line) => line.trim().length > 0);
  return new Rng(seed).shuffle(lines).join('\n') + '\n';
}
