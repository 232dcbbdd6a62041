/**
 * `seqgrad seq2seq <sub-command>`: encoder-decoder models on any `source<TAB>target` pairs file.
 *
 *   train         train an encoder-decoder (char or word level, any cell, bidirectional/stacked
 *                 encoder, attention none|bahdanau|dot|general), progress bar, validation, checkpoints
 *   translate     read source lines from stdin, print the decoder's output (greedy or beam, n-best)
 *   eval          exact match, BLEU and the error-analysis split (search vs model) on a pairs file
 *   attend        the attention weights α of one translation as an SVG heatmap
 *   length-curve  score vs source length for one or more models (the notes' BLEU-vs-length curve)
 *   dates         write generated date pairs ("3rd of may 79" → 1979-05-03)
 *   generate      write long-input synthetic pairs (reversal, transliteration; lengths 5–60)
 *
 * Thin: parses flags and calls training/seq2seq/ (model.ts, train.ts, tasks.ts, dates.ts, curve.ts).
 */
import * as fs from 'node:fs';
import { rnnRegularizationFlags, rnnRegularizationFromFlags } from '../rnn-flags.js';
import { evaluateTransformerSeq2Seq, readAnySeq2SeqCheckpoint } from '../../training/seq2seq/transformer-train.js';
import type { TransformerSeq2SeqModel } from '../../training/seq2seq/transformer-model.js';
import { checkResumeConflicts, deprecated, parseArgs, parseDecimalInt, positiveNumber, printHelp, UsageError, type FlagSpec, type FlagValues } from '../args.js';
import { BACKEND_FLAG, selectBackend } from '../backend.js';
import { THREADS_FLAG, threadsFromFlags } from '../threads.js';
import type { Command } from '../command.js';
import { readInputText } from '../files.js';
import { createProgress, formatDuration, type Progress } from '../progress.js';
import { runSubcommand, type SubcommandRun } from '../subcommands.js';
import { Rng } from '../../engine/rng.js';
import type { CellKind } from '../../layers/cells/cell.js';
import { CELL_KINDS } from '../../layers/cells/create-cell.js';
import { MAX_BEAM_WIDTH, type LengthPenalty } from '../../training/decode/beam.js';
import { seq2seqCurveSvg } from '../../training/seq2seq/curve.js';
import { DATE_FORMATS, generateDatePairs } from '../../training/seq2seq/dates.js';
import { writeFileAtomic } from '../../training/io/files.js';
import { planOutputs } from '../../training/io/outputs.js';
import type { OptimizerKind } from '../../training/core/optimizers.js';
import { heatmapSvg, lineChartSvg } from '../../training/plot/charts.js';
import {
  Seq2SeqDecoder, SEQ2SEQ_ATTENTIONS, attentionMap, createSeq2Seq, encodeSource,seq2seqParameterCount, seq2seqTokens, translate, type Seq2SeqAttention, type Seq2SeqModel,
} from '../../training/seq2seq/model.js';
import { loadSeq2Seq, saveSeq2Seq } from '../../training/seq2seq/model-file.js';
import {
  Seq2SeqTrainer, checkpointPairsFile, evaluateSeq2Seq, prepareSeq2SeqData, resumeSeq2SeqRun,
  scoresByLength, type Seq2SeqEvalResult, 
} from '../../training/seq2seq/train.js';
import {
  createTransliteration, parsePairsTsv, reversalPairs, transliterationPairs, writePairsTsv, type SeqPair,
} from '../../training/seq2seq/tasks.js';
import { InputError } from '../../training/core/errors.js';
import type { TokenLevel } from '../../training/text/vocab.js';
import { interrupted, stopFlag } from '../interrupt.js';
import {
  attendWithTransformer, evalWithTransformer, readTransformerSeq2Seq, resumeTransformerSeq2Seq, trainTransformerSeq2Seq, transformerSeq2SeqFlags, translateWithTransformer,
} from './seq2seq-transformer.js';

// ---- shared flag helpers -------------------------------------------------------------------

function noPositionals(c: string, positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`${c}: unexpected argument '${positionals[0]}' (see 'seqgrad ${c} --help')`);
}

function required(c: string, flags: FlagValues, name: string, what: string): string {
  const v = flags[name];
  if (typeof v !== 'string' || v.length === 0) throw new UsageError(`${c}: expected --${name} ${what} (see 'seqgrad ${c} --help')`);
  return v;
}

function readPairs(c: string, path: string): SeqPair[] {
  const text = readInputText(c, 'pairs', path, 'pairs file');
  try {
    return parsePairsTsv(text, path);
  } catch (err) {
    throw new InputError((err as Error).message);
  }
}

const penaltyFlags: Record<string, FlagSpec> = {
  'length-penalty': { type: 'string', description: 'length normalisation of beam scores', choices: ['none', 'notes', 'gnmt'], default: 'notes' },
  alpha: { type: 'number', description: 'exponent α of the length normalisation (default notes 0.7, gnmt 0.6)' },
  'max-length': { type: 'int', description: 'longest output in tokens, <EOS> included (default 2·T_x + 10)', min: 1 },
};

function lengthPenalty(flags: FlagValues): LengthPenalty {
  return { kind: flags['length-penalty'] as LengthPenalty['kind'], alpha: flags.alpha as number | undefined };
}

// ---- train ---------------------------------------------------------------------------------

const trainSpec: Record<string, FlagSpec> = {
  pairs: { type: 'string', description: 'training pairs, one source<TAB>target per line' },
  level: { type: 'string', description: 'tokens of both sides (shorthand for --source-level and --target-level)', choices: ['char', 'word'], default: 'char' },
  'source-level': { type: 'string', description: 'source tokens (default: --level)', choices: ['char', 'word'] },
  'target-level': { type: 'string', description: 'target tokens (default: --level); grapheme-to-phoneme: --source-level char --target-level word', choices: ['char', 'word'] },
  lowercase: { type: 'boolean', description: 'lower-case both sides first' },
  attention: { type: 'string', description: 'attention score', choices: [...SEQ2SEQ_ATTENTIONS], default: 'bahdanau' },
  cell: { type: 'string', description: 'cell of encoder and decoder', choices: [...CELL_KINDS], default: 'lstm' },
  hidden: { type: 'int', description: 'encoder state size H (per direction)', min: 1, default: 64 },
  'decoder-hidden': { type: 'int', description: "decoder state size (default: the encoder's output width, H or 2H)", min: 1 },
  bidirectional: { type: 'boolean', description: 'bidirectional encoder' },
  layers: { type: 'int', description: 'stacked encoder layers', min: 1, default: 1 },
  embedding: { type: 'int', description: 'embedding size d (source and target)', min: 1, default: 32 },
  'attention-size': { type: 'int', description: 'n_att of the Bahdanau score (default: decoder hidden)', min: 1 },
  epochs: { type: 'number', description: 'passes over the training split (default 10 unless --steps)' },
  steps: { type: 'int', description: 'stop after this many steps in total', min: 1 },
  batch: { type: 'int', description: 'examples per batch (batches group similar lengths)', min: 1, default: 64 },
  lr: { type: 'number', description: 'learning rate', default: 0.003 },
  optimizer: { type: 'string', description: 'update rule', choices: ['sgd', 'momentum', 'rmsprop', 'adam', 'adagrad'], default: 'adam' },
  clip: { type: 'number', description: 'clip threshold (0 = no clipping)', default: 5 },
  'clip-mode': { type: 'string', description: 'clip the global norm or each value', choices: ['norm', 'value'], default: 'norm' },
  'time-limit': { type: 'number', description: 'stop before this many seconds have passed' },
  'val-fraction': { type: 'number', description: 'fraction of the pairs held out for validation', default: 0.1 },
  'eval-every': { type: 'int', description: 'validate every N steps (default: once per epoch)', min: 1 },
  'max-eval': { type: 'int', description: 'greedy-decode at most N validation pairs per validation', min: 0, default: 300 },
  seed: { type: 'int', description: 'seed of the weights, the split and the batch order', default: 1 },
  checkpoint: { type: 'string', description: 'write checkpoints here (atomically) at every validation' },
  resume: { type: 'string', description: 'continue a checkpoint (model and optimisation flags come from it)' },
  out: { type: 'string', description: 'model file to write', default: 'seq2seq.json' },
  plot: { type: 'string', description: 'write the loss / exact-match curve (SVG) here' },
  curve: deprecated('plot'),
  backend: BACKEND_FLAG,
  threads: THREADS_FLAG,
  json: { type: 'boolean', description: 'print the summary as JSON' },
  ...rnnRegularizationFlags,
  ...transformerSeq2SeqFlags,
  help: { type: 'boolean', description: '' },
};

async function runTrain(argv: string[]): Promise<number> {
  const c = 'seq2seq train';
  const { flags, positionals } = parseArgs(c, argv, trainSpec);
  if (flags.help) return printHelp(
    'seqgrad seq2seq train --pairs FILE.tsv [--level char|word] [--attention none|bahdanau|dot|general] [--cell lstm] [--hidden 64] [--bidirectional] [--layers 1] [--epochs 10] [--time-limit S] [--threads N] [--checkpoint FILE] [--resume FILE] --out M',
    'train an encoder-decoder on source<TAB>target pairs (teacher forcing, Adam, clipping, validation exact match and BLEU)', trainSpec,
    [
      'progress (stderr): steps done/total, %, time elapsed, eta, then',
      '  loss       smoothed training loss, nats per target token (the summary\'s unit)',
      '  ex/s       training pairs per second',
      '  epoch      passes over the training split so far',
      '  val exact  greedy exact match of the last validation',
    ].join('\n'),
  );
  noPositionals(c, positionals);
  for (const name of ['epochs', 'lr', 'time-limit']) positiveNumber(c, flags, name);
  positiveNumber(c, flags, 'clip', true);
  const vf = flags['val-fraction'] as number;
  if (!(vf >= 0 && vf < 1)) throw new UsageError(`${c}: --val-fraction expects a number in [0, 1), got ${vf}`);
  planOutputs({
    command: c,
    inputs: { '--pairs': flags.pairs as string | undefined, '--resume': flags.resume as string | undefined },
    outputs: { '--out': flags.out as string, '--checkpoint': flags.checkpoint as string | undefined, '--plot': flags.plot as string | undefined },
    updates: { '--checkpoint': '--resume' },
  });
  const backend = await selectBackend(flags.backend as string);

  let trainer: Seq2SeqTrainer;
  if (flags.resume) {
    const any = readAnySeq2SeqCheckpoint(flags.resume as string);
    const file = (flags.pairs as string | undefined) ?? checkpointPairsFile(any.checkpoint);
    if (!file) throw new InputError(`${c}: checkpoint ${String(flags.resume)} does not name its pairs file; give --pairs`);
    if (any.arch === 'transformer') return resumeTransformerSeq2Seq(c, argv, flags, any.checkpoint, readPairs(c, file), backend, seq2seqCurveSvg);
    const checkpoint = any.checkpoint;
    const m = checkpoint.model.config, t = checkpoint.trainer.config, info = checkpoint.data;
    checkResumeConflicts(c, argv, flags, {
      arch: 'rnn',
      // Files written before the two levels have one `level` for both sides.
      'source-level': m.sourceLevel ?? (m as { level?: string }).level, 'target-level': m.targetLevel ?? (m as { level?: string }).level,
      lowercase: m.lowercase, attention: m.attention, cell: m.cell, hidden: m.encoderHidden, 'decoder-hidden': m.decoderHidden,
      bidirectional: m.bidirectional, layers: m.encoderLayers, embedding: m.embeddingDim, 'attention-size': m.attentionSize || undefined,
      dropout: m.dropout ?? 0, 'dropout-mode': m.dropoutMode ?? 'between', 'layer-norm': m.layerNorm ?? false,
      batch: t.batch, lr: t.optimizer.lr, optimizer: t.optimizer.kind, clip: t.clipNorm ?? 0, 'clip-mode': t.clipMode ?? 'norm', seed: info.seed, 'val-fraction': info.valFraction,
    });
    trainer = resumeSeq2SeqRun(checkpoint, readPairs(c, file), `checkpoint ${String(flags.resume)}`);
  } else {
    const file = required(c, flags, 'pairs', 'FILE.tsv');
    const pairs = readPairs(c, file);
    const levels = {
      sourceLevel: ((flags['source-level'] as string | undefined) ?? flags.level) as TokenLevel,
      targetLevel: ((flags['target-level'] as string | undefined) ?? flags.level) as TokenLevel,
    };
    const seed = flags.seed as number;
    const data = prepareSeq2SeqData(pairs, { ...levels, lowercase: flags.lowercase === true, valFraction: vf, seed });
    if (flags.arch === 'transformer') {
      return trainTransformerSeq2Seq(c, flags, data, { file, ...levels, lowercase: flags.lowercase === true, valFraction: vf, seed }, backend, seq2seqCurveSvg);
    }
    const attention = flags.attention as Seq2SeqAttention;
    let model: Seq2SeqModel;
    try {
      model = createSeq2Seq({
        ...levels, lowercase: flags.lowercase === true, cell: flags.cell as CellKind, embeddingDim: flags.embedding as number,
        encoderHidden: flags.hidden as number, encoderLayers: flags.layers as number, bidirectional: flags.bidirectional === true,
        decoderHidden: flags['decoder-hidden'] as number | undefined, attention,
        attentionSize: flags['attention-size'] as number | undefined, seed, ...rnnRegularizationFromFlags(flags),
        sourceVocab: data.sourceVocab, targetVocab: data.targetVocab,
      });
    } catch (err) {
      throw new UsageError(`${c}: ${(err as Error).message}`);
    }
    const clip = flags.clip as number;
    trainer = new Seq2SeqTrainer(model, data, {
      batch: flags.batch as number,
      optimizer: { kind: flags.optimizer as OptimizerKind, lr: flags.lr as number },
      clipNorm: clip > 0 ? clip : null,
      clipMode: flags['clip-mode'] as 'norm' | 'value',
      seed,
    });
    trainer.dataInfo = { file, ...levels, lowercase: flags.lowercase === true, valFraction: vf, seed };
  }
  const model = trainer.model;
  let progress: Progress | null = null;
  let lastVal = '';
  const result = trainer.run({
    epochs: (flags.epochs as number | undefined) ?? (flags.steps === undefined ? 10 : undefined),
    maxSteps: flags.steps as number | undefined,
    timeLimitSeconds: flags['time-limit'] as number | undefined,
    evalEvery: flags['eval-every'] as number | undefined,
    maxEvalExamples: flags['max-eval'] as number,
    checkpointPath: flags.checkpoint as string | undefined,
    threads: threadsFromFlags(flags, backend, trainer.parallelUnsupported()),
    signal: stopFlag,
    onProgress: (p) => {
      progress ??= createProgress({ label: `seq2seq ${model.config.cell}/${model.config.attention}`, total: p.totalSteps, unit: 'steps' });
      progress.update(p.step, {
        loss: p.smoothLoss.toFixed(3), 'ex/s': Math.round(p.examplesPerSecond), epoch: p.epoch.toFixed(2),
        ...(lastVal ? { 'val exact': lastVal } : {}),
      });
    },
    onEvaluation: (e) => {
      lastVal = Number.isFinite(e.exactMatch) ? `${(100 * e.exactMatch).toFixed(1)}%` : 'n/a';
    },
  });
  (progress as Progress | null)?.finish(result.stopReason);
  const e = result.lastEvaluation;
  const summary = {
    config: model.config,
    parameters: seq2seqParameterCount(model),
    vocabulary: { source: model.sourceVocab?.size ?? 0, target: model.targetVocab.size },
    data: { ...trainer.dataInfo, train: trainer.data.train.length, validation: trainer.data.validation.length },
    train: trainer.config,
    backend,
    threads: result.threads,
    steps: result.steps,
    epochs: Number(result.epochs.toFixed(3)),
    stopReason: result.stopReason,
    seconds: Number(result.seconds.toFixed(2)),
    trainSeconds: Number(result.trainSeconds.toFixed(2)),
    examplesPerSecond: Math.round(result.examplesPerSecond),
    trainLoss: result.finalLoss,
    validation: e ? { loss: e.loss, exactMatch: e.exactMatch, bleu: e.bleu, decoded: e.decoded, step: e.step } : null,
  };
  saveSeq2Seq(flags.out as string, model, summary);
  if (flags.plot) writeFileAtomic(flags.plot as string, seq2seqCurveSvg(`seq2seq ${model.config.cell}, attention ${model.config.attention}`, result));
  if (flags.json) {
    console.log(JSON.stringify({ ...summary, out: flags.out, evaluations: result.evaluations }, null, 2));
  } else {
    console.log(`${result.steps} steps (${result.epochs.toFixed(2)} epochs) in ${formatDuration(result.seconds)} (${formatDuration(result.trainSeconds)} training), ${Math.round(result.examplesPerSecond)} examples/s, stopped by ${result.stopReason}; ${summary.parameters} parameters`);
    console.log(`train loss ${result.finalLoss.toFixed(4)} nats/token`);
    if (e) console.log(`validation: loss ${e.loss.toFixed(4)} nats/token, greedy exact match ${fmtPct(e.exactMatch)}, BLEU ${fmt(e.bleu)} (${e.decoded} pairs decoded)`);
    console.log(`model written to ${String(flags.out)}${flags.plot ? `, curve to ${String(flags.plot)}` : ''}`);
  }
  return interrupted(c, result.steps, [flags.out as string, flags.checkpoint as string | undefined]);
}

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toFixed(4) : 'n/a';
}

function fmtPct(v: number): string {
  return Number.isFinite(v) ? `${(100 * v).toFixed(2)}%` : 'n/a';
}

// ---- translate -----------------------------------------------------------------------------

const translateSpec: Record<string, FlagSpec> = {
  model: { type: 'string', description: 'model file written by seqgrad seq2seq train' },
  beam: { type: 'int', description: 'beam width (1 = greedy)', min: 1, default: 5 },
  nbest: { type: 'int', description: 'print the n best outputs per line', min: 1, default: 1 },
  'max-source': { type: 'int', description: 'longest source line in tokens (decoding time grows with its square)', min: 1, default: 1000 },
  ...penaltyFlags,
  backend: BACKEND_FLAG,
  json: { type: 'boolean', description: 'print one JSON object per input line' },
  help: { type: 'boolean', description: '' },
};

async function runTranslate(argv: string[]): Promise<number> {
  const c = 'seq2seq translate';
  const { flags, positionals } = parseArgs(c, argv, translateSpec);
  if (flags.help) return printHelp('seqgrad seq2seq translate --model M [--beam 5] [--nbest 3] [--length-penalty notes] < sources.txt', 'translate every line of stdin (one output per line; an empty line gives an empty output)', translateSpec);
  noPositionals(c, positionals);
  positiveNumber(c, flags, 'alpha', true);
  const backend = await selectBackend(flags.backend as string);
  checkBeamWidth(c, flags.beam as number);
  const transformer = readTransformerSeq2Seq(required(c, flags, 'model', 'FILE'));
  if (transformer) {
    return translateWithTransformer(c, transformer, {
      beamWidth: flags.beam as number, nBest: flags.nbest as number, lengthPenalty: lengthPenalty(flags), maxLength: flags['max-length'] as number | undefined, json: flags.json === true,
    });
  }
  const model = loadSeq2Seq(required(c, flags, 'model', 'FILE'));
  if (model.config.form !== 'encoder-decoder') throw new InputError(`${c}: the model is a ${model.config.form} model; translate needs an encoder-decoder`);
  const maxSource = flags['max-source'] as number;
  const beamWidth = flags.beam as number;
  const nBest = flags.nbest as number;
  if (nBest > beamWidth) throw new UsageError(`${c}: --nbest ${nBest} exceeds --beam ${beamWidth} (the beam keeps at most B hypotheses per step)`);
  const decoder = new Seq2SeqDecoder(model);
  const input = fs.readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  let warnedUnknown = false;
  const lines = input === '' ? [] : input.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    // One output per input line, so outputs line up with inputs (an empty source gives an empty output).
    const tokens = line.trim() === '' ? [] : seq2seqTokens(model, line);
    if (tokens.length > maxSource) {
      throw new InputError(`${c}: line ${index + 1} has ${tokens.length} tokens, more than --max-source ${maxSource}`);
    }
    if (tokens.length === 0) {
      console.log(flags.json ? JSON.stringify({ source: line, outputs: [] }) : nBest === 1 ? '' : `# ${line}`);
      continue;
    }
    const unknown = tokens.find((t) => !model.sourceVocab!.has(t));
    if (unknown !== undefined && !warnedUnknown) {
      warnedUnknown = true;
      console.error(`${c}: line ${index + 1}: ${JSON.stringify(unknown)} is not in the model's source vocabulary; unknown tokens are read as <UNK> (reported once)`);
    }
    const outs = translate(decoder, line, { beamWidth, nBest, lengthPenalty: lengthPenalty(flags), maxLength: flags['max-length'] as number | undefined });
    if (flags.json) {
      console.log(JSON.stringify({ source: line, backend, outputs: outs.map((o) => ({ text: o.text, logProb: o.logProb, score: o.score, finished: o.finished })) }));
    } else if (nBest === 1) {
      console.log(outs[0].text);
    } else {
      console.log(`# ${line}`);
      outs.forEach((o, i) => console.log(`${i + 1}\t${o.text}\t${o.score.toFixed(4)}\t${o.logProb.toFixed(4)}${o.finished ? '' : '\t(cut)'}`));
    }
  }
  return 0;
}

// ---- eval ----------------------------------------------------------------------------------

const evalSpec: Record<string, FlagSpec> = {
  model: { type: 'string', description: 'model file' },
  pairs: { type: 'string', description: 'pairs to evaluate on, source<TAB>target' },
  beam: { type: 'list', description: 'beam widths to evaluate (1 = greedy)', default: ['1', '5'] },
  ...penaltyFlags,
  max: { type: 'int', description: 'evaluate at most the first N pairs', min: 1 },
  errors: { type: 'int', description: 'print up to N wrong outputs with their verdict', min: 0, default: 5 },
  'by-length': { type: 'int', description: 'also report scores by source length in buckets of N tokens', min: 1 },
  smoothing: { type: 'string', description: 'BLEU smoothing', choices: ['none', 'add-1', 'epsilon'], default: 'none' },
  backend: BACKEND_FLAG,
  json: { type: 'boolean', description: 'print the results as JSON' },
  help: { type: 'boolean', description: '' },
};

/** A beam wider than MAX_BEAM_WIDTH costs B decoder steps per output token for nothing: refuse it. */
function checkBeamWidth(c: string, width: number): void {
  if (width > MAX_BEAM_WIDTH) throw new UsageError(`${c}: --beam expects a width ≤ ${MAX_BEAM_WIDTH}, got ${width}`);
}

function beamWidths(c: string, flags: FlagValues): number[] {
  const widths = (flags.beam as string[]).map((s) => parseDecimalInt(s) ?? NaN);
  for (const w of widths) if (!(w >= 1)) throw new UsageError(`${c}: --beam expects integers ≥ 1, got '${(flags.beam as string[]).join(',')}'`);
  for (const w of widths) checkBeamWidth(c, w);
  if (widths.length === 0) throw new UsageError(`${c}: --beam expects at least one width`);
  return widths;
}

function evalWithProgress(model: Seq2SeqModel, pairs: SeqPair[], beamWidth: number, flags: FlagValues, errorAnalysis: boolean): Seq2SeqEvalResult {
  const progress = createProgress({ label: `eval beam ${beamWidth}`, total: pairs.length, unit: 'pairs' });
  const r = evaluateSeq2Seq(model, pairs, {
    beamWidth, lengthPenalty: lengthPenalty(flags), errorAnalysis, maxLength: flags['max-length'] as number | undefined,
    smoothing: flags.smoothing as 'none' | 'add-1' | 'epsilon', onProgress: (done) => progress.update(done),
  });
  progress.finish();
  return r;
}

async function runEval(argv: string[]): Promise<number> {
  const c = 'seq2seq eval';
  const { flags, positionals } = parseArgs(c, argv, evalSpec);
  if (flags.help) return printHelp('seqgrad seq2seq eval --model M --pairs FILE.tsv [--beam 1,5] [--length-penalty notes] [--max N] [--by-length 5] [--json]',
    'exact match, BLEU and the error-analysis split: for each wrong output ŷ, search at fault if P(y*|x) > P(ŷ|x), else the model', evalSpec);
  noPositionals(c, positionals);
  positiveNumber(c, flags, 'alpha', true);
  const widths = beamWidths(c, flags);
  const backend = await selectBackend(flags.backend as string);
  const transformer = readTransformerSeq2Seq(required(c, flags, 'model', 'FILE'));
  if (transformer) {
    const all = readPairs(c, required(c, flags, 'pairs', 'FILE.tsv'));
    return evalWithTransformer(transformer, flags.max !== undefined ? all.slice(0, flags.max as number) : all, widths, flags['by-length'] as number | undefined, flags.json === true);
  }
  const model = loadSeq2Seq(required(c, flags, 'model', 'FILE'));
  if (model.config.form !== 'encoder-decoder') throw new InputError(`${c}: the model is a ${model.config.form} model; eval needs an encoder-decoder`);
  let pairs = readPairs(c, required(c, flags, 'pairs', 'FILE.tsv'));
  if (flags.max !== undefined) pairs = pairs.slice(0, flags.max as number);
  const t0 = Date.now();
  const results = widths.map((w) => {
    const start = Date.now();
    const r = evalWithProgress(model, pairs, w, flags, true);
    return { beam: w, seconds: (Date.now() - start) / 1000, r };
  });
  const byLength = flags['by-length'] as number | undefined;
  if (flags.json) {
    console.log(JSON.stringify({
      model: flags.model, pairs: flags.pairs, backend, examples: pairs.length, lengthPenalty: lengthPenalty(flags),
      results: results.map(({ beam, seconds, r }) => ({
        beam, seconds, exactMatch: r.exactMatch, bleu: r.bleu, tokenAccuracy: r.tokenAccuracy, errorAnalysis: r.errorAnalysis,
        byLength: byLength ? scoresByLength(r.items, byLength) : undefined,
        errors: r.items.filter((it) => !it.correct).slice(0, flags.errors as number).map(({ outputTokens: _o, referenceTokens: _r, ...rest }) => rest),
      })),
    }, null, 2));
    return 0;
  }
  console.log(`${pairs.length} pairs, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  for (const { beam, seconds, r } of results) {
    const ea = r.errorAnalysis;
    console.log(`beam ${beam}${beam === 1 ? ' (greedy)' : ''}: exact match ${fmtPct(r.exactMatch)}, BLEU ${fmt(r.bleu)}, token accuracy ${fmtPct(r.tokenAccuracy)} (${seconds.toFixed(1)} s)`);
    if (ea) {
      console.log(`  errors ${ea.errors}: search at fault ${ea.search} (${fmtPct(ea.searchFraction)}), model at fault ${ea.model} (${fmtPct(ea.modelFraction)})`);
    }
    for (const it of r.items.filter((x) => !x.correct).slice(0, flags.errors as number)) {
      console.log(`  ${JSON.stringify(it.source)} → ${JSON.stringify(it.output)} (reference ${JSON.stringify(it.reference)}; ${it.verdict}: score y* ${fmt(it.referenceScore ?? NaN)} vs ŷ ${fmt(it.outputScore ?? NaN)})`);
    }
    if (byLength) {
      for (const b of scoresByLength(r.items, byLength)) {
        console.log(`  length ${b.from}–${b.to}: ${b.examples} pairs, BLEU ${fmt(b.bleu)}, exact ${fmtPct(b.exactMatch)}, token accuracy ${fmtPct(b.tokenAccuracy)}`);
      }
    }
  }
  return 0;
}

// ---- attend --------------------------------------------------------------------------------

const attendSpec: Record<string, FlagSpec> = {
  model: { type: 'string', description: 'model file (with attention)' },
  plot: { type: 'string', description: 'SVG heatmap to write', default: 'attention.svg' },
  out: deprecated('plot'),
  beam: { type: 'int', description: 'beam width of the translation shown', min: 1, default: 1 },
  ...penaltyFlags,
  json: { type: 'boolean', description: 'print α as JSON' },
  help: { type: 'boolean', description: '' },
};

function runAttend(argv: string[]): number {
  const c = 'seq2seq attend';
  const { flags, positionals } = parseArgs(c, argv, attendSpec);
  if (flags.help) return printHelp('seqgrad seq2seq attend --model M "source text" [--plot heat.svg] [--beam 1]', 'translate one source and draw the attention weights α⟨t,i⟩ (rows: output tokens, columns: source tokens)', attendSpec);
  if (positionals.length !== 1) throw new UsageError(`${c}: expected one source text argument, got ${positionals.length} (quote it)`);
  checkBeamWidth(c, flags.beam as number);
  planOutputs({ command: c, inputs: { '--model': flags.model as string | undefined }, outputs: { '--plot': flags.plot as string } });
  const transformer = readTransformerSeq2Seq(required(c, flags, 'model', 'FILE'));
  if (transformer) {
    return attendWithTransformer(c, transformer, positionals[0], flags.plot as string, {
      beamWidth: flags.beam as number, lengthPenalty: lengthPenalty(flags), maxLength: flags['max-length'] as number | undefined, json: flags.json === true,
    });
  }
  const model = loadSeq2Seq(required(c, flags, 'model', 'FILE'));
  if (!model.attention) throw new InputError(`${c}: model ${String(flags.model)} has attention '${model.config.attention}': there are no weights α to draw`);
  const source = positionals[0];
  const ids = encodeSource(model, source);
  if (ids.length === 0) throw new UsageError(`${c}: expected a source with at least one token, got ${JSON.stringify(source)}`);
  const decoder = new Seq2SeqDecoder(model);
  const [best] = translate(decoder, source, { beamWidth: flags.beam as number, lengthPenalty: lengthPenalty(flags), maxLength: flags['max-length'] as number | undefined });
  const alpha = attentionMap(decoder, ids, best.ids);
  const show = (t: string): string => (t === ' ' ? '␣' : t);
  const colLabels = seq2seqTokens(model, source).map(show);
  const rowLabels = [...model.targetVocab.decode(best.ids).map(show), '<EOS>'];
  const svg = heatmapSvg({
    title: `attention α: ${source} → ${best.text}`, values: alpha, rowLabels, colLabels,
    xLabel: 'source token i', yLabel: 'output token t', valueLabel: 'α⟨t,i⟩',
  });
  writeFileAtomic(flags.plot as string, svg);
  if (flags.json) {
    console.log(JSON.stringify({ source, output: best.text, rows: rowLabels, columns: colLabels, alpha, plot: flags.plot }, null, 2));
  } else {
    console.log(`${source} → ${best.text}`);
    console.log(`attention heatmap (${rowLabels.length} × ${colLabels.length}) written to ${String(flags.plot)}`);
  }
  return 0;
}

// ---- length-curve --------------------------------------------------------------------------

const curveSpec: Record<string, FlagSpec> = {
  model: { type: 'list', description: 'model files (comma-separated or repeated)' },
  label: { type: 'list', description: 'a legend name per model, no commas (default: attention kind and file name)' },
  pairs: { type: 'string', description: 'test pairs, source<TAB>target' },
  plot: { type: 'string', description: 'SVG chart to write', default: 'length-curve.svg' },
  out: deprecated('plot'),
  metric: { type: 'string', description: 'score on the y axis', choices: ['bleu', 'exact', 'token-accuracy'], default: 'bleu' },
  bucket: { type: 'int', description: 'width of a source-length bucket (tokens)', min: 1, default: 5 },
  beam: { type: 'int', description: 'beam width (1 = greedy)', min: 1, default: 1 },
  ...penaltyFlags,
  max: { type: 'int', description: 'use at most the first N pairs', min: 1 },
  json: { type: 'boolean', description: 'print the buckets as JSON' },
  help: { type: 'boolean', description: '' },
};

function modelLabel(model: Seq2SeqModel, path: string): string {
  const name = (path.split('/').pop() as string).replace(/\.json$/, '');
  return `${model.config.attention === 'none' ? 'no attention' : model.config.attention} (${name})`;
}

/** One Transformer's curve (greedy or beam as --beam; its decoder has no length penalty or --max-length). */
function transformerLengthCurve(model: TransformerSeq2SeqModel, path: string, label: string | undefined, pairs: SeqPair[], flags: FlagValues) {
  const r = evaluateTransformerSeq2Seq(model, pairs, { beamWidth: flags.beam as number });
  const matches = r.items.reduce((s, it) => s + it.tokenMatches, 0), total = r.items.reduce((s, it) => s + it.referenceLength, 0);
  const name = (path.split('/').pop() as string).replace(/\.json$/, '');
  return {
    path, label: label ?? `transformer (${name})`,
    overall: { bleu: r.bleu, exactMatch: r.exactMatch, tokenAccuracy: total === 0 ? NaN : matches / total },
    buckets: scoresByLength(r.items, flags.bucket as number),
  };
}

function runLengthCurve(argv: string[]): number {
  const c = 'seq2seq length-curve';
  const { flags, positionals } = parseArgs(c, argv, curveSpec);
  if (flags.help) return printHelp('seqgrad seq2seq length-curve --model A.json,B.json --pairs test.tsv [--metric bleu] [--bucket 5] --plot curve.svg',
    "score vs source length for each model: the notes' curve 'BLEU falls with sentence length without attention'", curveSpec);
  noPositionals(c, positionals);
  checkBeamWidth(c, flags.beam as number);
  const paths = (flags.model as string[] | undefined) ?? [];
  if (paths.length === 0) throw new UsageError(`${c}: expected --model FILE[,FILE…] (see 'seqgrad ${c} --help')`);
  planOutputs({
    command: c,
    inputs: { '--pairs': flags.pairs as string | undefined, ...Object.fromEntries(paths.map((p, k) => [`--model #${k + 1}`, p])) },
    outputs: { '--plot': flags.plot as string },
  });
  let pairs = readPairs(c, required(c, flags, 'pairs', 'FILE.tsv'));
  if (flags.max !== undefined) pairs = pairs.slice(0, flags.max as number);
  const labels = (flags.label as string[] | undefined) ?? [];
  if (labels.length > 0 && labels.length !== paths.length) throw new UsageError(`${c}: expected one --label per --model (${paths.length}), got ${labels.length}`);
  const metric = flags.metric as 'bleu' | 'exact' | 'token-accuracy';
  const curves = paths.map((path, k) => {
    const transformer = readTransformerSeq2Seq(path);
    if (transformer) return transformerLengthCurve(transformer, path, labels[k], pairs, flags);
    const model = loadSeq2Seq(path);
    if (model.config.form !== 'encoder-decoder') throw new InputError(`${c}: model ${path} is a ${model.config.form} model`);
    const progress = createProgress({ label: `decode ${path.split('/').pop()}`, total: pairs.length, unit: 'pairs' });
    const r = evaluateSeq2Seq(model, pairs, {
      beamWidth: flags.beam as number, lengthPenalty: lengthPenalty(flags), maxLength: flags['max-length'] as number | undefined,
      onProgress: (done) => progress.update(done),
    });
    progress.finish();
    return { path, label: labels[k] ?? modelLabel(model, path), overall: { bleu: r.bleu, exactMatch: r.exactMatch, tokenAccuracy: r.tokenAccuracy }, buckets: scoresByLength(r.items, flags.bucket as number) };
  });
  const value = (b: { bleu: number; exactMatch: number; tokenAccuracy: number }): number => (metric === 'bleu' ? b.bleu : metric === 'exact' ? b.exactMatch : b.tokenAccuracy);
  const yLabel = metric === 'bleu' ? 'BLEU' : metric === 'exact' ? 'exact match' : 'token accuracy';
  const svg = lineChartSvg({
    title: `${yLabel} vs source length`, xLabel: 'source length (tokens, bucket centre)', yLabel,
    series: curves.map((cv) => ({ name: cv.label, points: cv.buckets.map((b): [number, number] => [(b.from + b.to) / 2, value(b)]) })),
  });
  writeFileAtomic(flags.plot as string, svg);
  if (flags.json) {
    console.log(JSON.stringify({ pairs: flags.pairs, examples: pairs.length, metric, plot: flags.plot, curves }, null, 2));
  } else {
    for (const cv of curves) {
      console.log(`${cv.label}: BLEU ${fmt(cv.overall.bleu)}, exact ${fmtPct(cv.overall.exactMatch)}, token accuracy ${fmtPct(cv.overall.tokenAccuracy)}`);
      console.log(`  ${cv.buckets.map((b) => `${b.from}–${b.to}: ${fmt(value(b))}`).join(', ')}`);
    }
    console.log(`curve written to ${String(flags.plot)}`);
  }
  return 0;
}

// ---- dates and generate --------------------------------------------------------------------

const datesSpec: Record<string, FlagSpec> = {
  n: { type: 'int', description: 'number of pairs', min: 1, default: 10000 },
  out: { type: 'string', description: 'TSV file to write (source<TAB>target)' },
  seed: { type: 'int', description: 'seed of the generator', default: 1 },
  'min-year': { type: 'int', description: 'earliest year', default: 1950 },
  'max-year': { type: 'int', description: 'latest year', default: 2049 },
  formats: { type: 'list', description: `only these formats (of ${Object.keys(DATE_FORMATS).length}; default all)` },
  help: { type: 'boolean', description: '' },
};

function runDates(argv: string[]): number {
  const c = 'seq2seq dates';
  const { flags, positionals } = parseArgs(c, argv, datesSpec);
  if (flags.help) return printHelp('seqgrad seq2seq dates --n 20000 --out dates.tsv [--seed 1]', 'write human-readable dates in many formats → ISO yyyy-mm-dd pairs', datesSpec);
  noPositionals(c, positionals);
  const out = required(c, flags, 'out', 'FILE.tsv');
  planOutputs({ command: c, outputs: { '--out': out } });
  let pairs: SeqPair[];
  try {
    pairs = generateDatePairs(flags.n as number, new Rng(flags.seed as number), {
      minYear: flags['min-year'] as number, maxYear: flags['max-year'] as number, formats: flags.formats as string[] | undefined,
    });
  } catch (err) {
    throw new UsageError(`${c}: ${(err as Error).message}`);
  }
  writePairsTsv(out, pairs);
  console.log(`${pairs.length} date pairs written to ${out} (e.g. ${JSON.stringify(pairs[0].source)} → ${pairs[0].target})`);
  return 0;
}

const generateSpec: Record<string, FlagSpec> = {
  task: { type: 'string', description: 'the task', choices: ['reversal', 'transliteration'], default: 'reversal' },
  n: { type: 'int', description: 'number of pairs', min: 1, default: 10000 },
  out: { type: 'string', description: 'TSV file to write' },
  'min-length': { type: 'int', description: 'shortest source (tokens)', min: 1, default: 5 },
  'max-length': { type: 'int', description: 'longest source (tokens)', min: 1, default: 60 },
  vocab: { type: 'int', description: 'distinct source letters (2–26)', min: 1, default: 20 },
  seed: { type: 'int', description: 'seed of the pairs', default: 1 },
  'table-seed': { type: 'int', description: 'transliteration: seed of the letter table (keep it for train and test)', default: 7 },
  help: { type: 'boolean', description: '' },
};

function runGenerate(argv: string[]): number {
  const c = 'seq2seq generate';
  const { flags, positionals } = parseArgs(c, argv, generateSpec);
  if (flags.help) return printHelp('seqgrad seq2seq generate --task reversal|transliteration --n 20000 --out FILE.tsv [--min-length 5] [--max-length 60] [--seed 1]',
    'write long-input synthetic pairs (space-separated letters; use --level word)', generateSpec);
  noPositionals(c, positionals);
  const out = required(c, flags, 'out', 'FILE.tsv');
  planOutputs({ command: c, outputs: { '--out': out } });
  const rng = new Rng(flags.seed as number);
  const opts = { minLength: flags['min-length'] as number, maxLength: flags['max-length'] as number, vocabSize: flags.vocab as number };
  let pairs: SeqPair[];
  try {
    pairs = flags.task === 'reversal'
      ? reversalPairs(flags.n as number, rng, opts)
      : transliterationPairs(flags.n as number, rng, createTransliteration({ vocabSize: opts.vocabSize }, { rng: new Rng(flags['table-seed'] as number) }), opts);
  } catch (err) {
    throw new UsageError(`${c}: ${(err as Error).message}`);
  }
  writePairsTsv(out, pairs);
  console.log(`${pairs.length} ${String(flags.task)} pairs written to ${out}`);
  return 0;
}

// ---- the command ---------------------------------------------------------------------------

const subcommands: Record<string, { summary: string; run: SubcommandRun }> = {
  train: { summary: 'train an encoder-decoder on a pairs file (progress, validation, checkpoints)', run: runTrain },
  translate: { summary: 'translate lines from stdin (greedy or beam, n-best)', run: runTranslate },
  eval: { summary: 'exact match, BLEU and the search/model error split on a pairs file', run: runEval },
  attend: { summary: 'draw the attention weights of one translation as an SVG heatmap', run: runAttend },
  'length-curve': { summary: 'score vs source length for one or more models (SVG)', run: runLengthCurve },
  dates: { summary: 'write generated date-normalisation pairs', run: runDates },
  generate: { summary: 'write reversal / transliteration pairs with long inputs', run: runGenerate },
};

function overview(): string {
  const lines = ['usage: seqgrad seq2seq <sub-command> [flags]   (seqgrad seq2seq <sub-command> --help)', '', 'sub-commands:'];
  for (const [name, s] of Object.entries(subcommands)) lines.push(`  ${name.padEnd(14)}${s.summary}`);
  return lines.join('\n');
}

export const seq2seqCommand: Command = {
  name: 'seq2seq',
  summary: 'encoder-decoder models with attention: train, translate, eval (BLEU, error analysis), attend, dates',
  run(argv) {
    const runs = Object.fromEntries(Object.entries(subcommands).map(([name, s]) => [name, s.run]));
    return runSubcommand('seq2seq', argv, runs, overview());
  },
};
