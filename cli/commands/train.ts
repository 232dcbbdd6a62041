/**
 * `seqgrad train`: train a character- or word-level recurrent language model on a text file with
 * truncated BPTT (training/lm/train.ts), a progress bar (loss, tokens/s), periodic validation
 * (loss, perplexity, bits per token), checkpoints and bit-identical resume; writes the model file
 * atomically. Thin: parses flags, calls the library.
 */
import * as nodePath from 'node:path';
import { checkResumeConflicts, deprecated, parseArgs, positiveNumber, printHelp, UsageError, type FlagSpec, type FlagValues } from '../args.js';
import { selectBackend } from '../backend.js';
import type { Command } from '../command.js';
import { readInputText } from '../files.js';
import { LM_PROGRESS_NOTE, runWithProgress } from '../lm-progress.js';
import { formatDuration } from '../progress.js';
import type { CellKind } from '../../layers/cells/cell.js';
import { CELL_KINDS } from '../../layers/cells/create-cell.js';
import { writeFileAtomic } from '../../training/io/files.js';
import { lmCurveSvg } from '../../training/lm/curve.js';
import {
  createLanguageModel, LM_INITS, lmParameterCount, type LanguageModel, type LmInit,
} from '../../training/lm/model.js';
import { saveLanguageModel } from '../../training/lm/model-file.js';
import {
  createLmTrainer, DEFAULT_MAX_EVAL_TOKENS, prepareLmCorpus, resumeLmTrainer, type LmBatches, type LmCorpusFormat,
  type LmTrainResult, type LmTrainer,
} from '../../training/lm/train.js';
import type { OptimizerKind } from '../../training/core/optimizers.js';
import { InputError } from '../../training/core/errors.js';
import { planOutputs } from '../../training/io/outputs.js';
import { interrupted } from '../interrupt.js';
import { THREADS_FLAG, threadsFromFlags } from '../threads.js';
import { resumeTransformerFromCheckpoint, trainTransformerFromFlags, transformerTrainFlags } from './train-transformer.js';
import { readAnyLmCheckpoint } from '../../training/lm/transformer-train.js';
import { rnnRegularizationFlags, rnnRegularizationFromFlags } from '../rnn-flags.js';

const spec: Record<string, FlagSpec> = {
  data: { type: 'string', description: 'training text file (one sentence / name / line per line)' },
  level: { type: 'string', description: 'tokens', choices: ['char', 'word'], default: 'char' },
  format: { type: 'string', description: 'lines: each line + <EOS>, empty lines skipped; stream: every character of the file, newlines included (char-rnn)', choices: ['lines', 'stream'], default: 'lines' },
  batches: { type: 'string', description: 'streams: B contiguous streams, state carried; random: B windows at random offsets, zero state', choices: ['streams', 'random'], default: 'streams' },
  cell: { type: 'string', description: 'recurrent cell', choices: [...CELL_KINDS], default: 'lstm' },
  hidden: { type: 'int', description: 'state size H', min: 1, default: 128 },
  init: { type: 'string', description: "cell initialisation: default (U(±1/√H), LSTM b_f = 1), pytorch (nn.LSTM's, both biases), orthogonal (W_a), irnn (--cell rnn); default: pytorch with --format stream, else default", choices: [...LM_INITS] },
  activation: { type: 'string', description: 'the RNN cell\'s g (--cell rnn)', choices: ['tanh', 'relu'], default: 'tanh' },
  layers: { type: 'int', description: 'stacked recurrent layers L', min: 1, default: 1 },
  bidirectional: { type: 'boolean', description: 'refused: a left-to-right language model cannot read the future', formerYesNo: true },
  embedding: { type: 'int', description: 'input embedding size d, 0 = one-hot input (default: char 0, word 64)', min: 0 },
  epochs: { type: 'number', description: 'passes over the training split (default 10 unless --steps is given)' },
  steps: { type: 'int', description: 'stop after this many steps in total (before --epochs are done)', min: 0 },
  'seq-len': { type: 'int', description: 'truncated-BPTT length T', min: 1, default: 50 },
  batch: { type: 'int', description: 'parallel streams B', min: 1, default: 32 },
  lr: { type: 'number', description: 'learning rate', default: 0.002 },
  optimizer: { type: 'string', description: 'update rule', choices: ['sgd', 'momentum', 'rmsprop', 'adam', 'adagrad'], default: 'adam' },
  clip: { type: 'number', description: 'clip threshold (0 = no clipping)', default: 5 },
  'clip-mode': { type: 'string', description: 'clip the global norm or each value', choices: ['norm', 'value'], default: 'norm' },
  'time-limit': { type: 'number', description: 'stop before this many seconds have passed' },
  'val-fraction': { type: 'number', description: 'last fraction of the corpus held out for validation', default: 0.1 },
  'eval-every': { type: 'int', description: 'validate every N steps (default: once per epoch)', min: 1 },
  'eval-every-seconds': { type: 'number', description: 'validate every N seconds' },
  'max-eval-tokens': { type: 'int', description: `validate on at most N tokens (default ${DEFAULT_MAX_EVAL_TOKENS}; 0 = the whole validation split)`, min: 0 },
  patience: { type: 'int', description: 'stop after N validations without improvement (0 = never)', min: 0, default: 0 },
  seed: { type: 'int', description: 'seed of the initial weights', default: 1 },
  lowercase: { type: 'boolean', description: 'lower-case the text first' },
  'keep-empty-lines': { type: 'boolean', description: 'keep empty lines as a lone <EOS>' },
  'min-count': { type: 'int', description: 'tokens seen fewer times become <UNK>', min: 1, default: 1 },
  'max-vocab': { type: 'int', description: 'largest vocabulary, specials included', min: 1 },
  checkpoint: { type: 'string', description: 'write checkpoints here (atomically)' },
  'checkpoint-every': { type: 'int', description: 'checkpoint every N steps (default: at each validation)', min: 1 },
  resume: { type: 'string', description: 'continue a checkpoint (model and optimisation flags come from it)' },
  out: { type: 'string', description: 'model file to write', default: 'model.json' },
  plot: { type: 'string', description: 'write the loss curve (SVG) here' },
  'plot-x': { type: 'string', description: 'x axis of the loss curve', choices: ['step', 'time'], default: 'step' },
  curve: deprecated('plot'),
  'curve-x': deprecated('plot-x'),
  backend: { type: 'string', description: 'GEMM backend', choices: ['wasm', 'js'], default: 'wasm' },
  threads: THREADS_FLAG,
  json: { type: 'boolean', description: 'print the summary as JSON' },
  ...rnnRegularizationFlags,
  ...transformerTrainFlags,
  help: { type: 'boolean', description: '' },
};

function checkFlags(flags: FlagValues): void {
  const c = 'train';
  if (flags.bidirectional === true) {
    throw new UsageError(`--bidirectional is not possible for a language model: it predicts y⟨t⟩ from y⟨1⟩…y⟨t−1⟩ and must not see the future tokens a backward RNN would read`);
  }
  for (const name of ['epochs', 'lr', 'time-limit', 'eval-every-seconds']) positiveNumber(c, flags, name);
  positiveNumber(c, flags, 'clip', true);
  if (flags.init === 'irnn' && flags.cell !== 'rnn') throw new UsageError(`${c}: --init irnn is for --cell rnn, got --cell ${String(flags.cell)}`);
  if (flags.activation !== 'tanh' && flags.cell !== 'rnn') throw new UsageError(`${c}: --activation is for --cell rnn, got --cell ${String(flags.cell)}`);
  const vf = flags['val-fraction'] as number;
  if (!(vf >= 0 && vf < 1)) throw new UsageError(`${c}: --val-fraction expects a number in [0, 1), got ${vf}`);
}

interface CorpusInfo extends Record<string, unknown> {
  file: string;
  level: 'char' | 'word';
  /** Absent in checkpoints written before --format: 'lines'. */
  format?: LmCorpusFormat;
  lowercase: boolean;
  keepEmptyLines: boolean;
  valFraction: number;
  minCount: number;
  maxVocab: number | null;
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a char/word-level RNN/GRU/LSTM language model (truncated BPTT, checkpoints, resume)',
  async run(argv) {
    const { flags, positionals } = parseArgs('train', argv, spec);
    if (flags.help) return printHelp(
      'seqgrad train --data FILE [--level char|word] [--format lines|stream] [--batches streams|random] [--cell rnn|gru|lstm] [--init default|pytorch|orthogonal|irnn] [--activation tanh|relu] [--hidden 128] [--layers 1] [--epochs 10] [--seq-len 50] [--batch 32] [--lr 0.002] [--optimizer adam] [--clip 5] [--time-limit S] [--val-fraction 0.1] [--seed 1] [--threads N] [--checkpoint FILE] [--resume FILE] [--out model.json]',
      this.summary, spec, LM_PROGRESS_NOTE,
    );
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (see 'seqgrad train --help')`);
    checkFlags(flags);
    planOutputs({
      command: 'train',
      inputs: { '--data': flags.data as string | undefined, '--resume': flags.resume as string | undefined },
      outputs: { '--out': flags.out as string, '--checkpoint': flags.checkpoint as string | undefined, '--plot': flags.plot as string | undefined },
      updates: { '--checkpoint': '--resume' },
    });
    const backend = await selectBackend(flags.backend as string);

    if (flags.arch === 'transformer' && (flags.init !== undefined || flags.activation !== 'tanh' || flags.batches !== 'streams')) {
      throw new UsageError('--init, --activation and --batches random are for the recurrent model, not --arch transformer');
    }
    let trainer: LmTrainer;
    let corpus: CorpusInfo;
    if (flags.resume) {
      const any = readAnyLmCheckpoint(flags.resume as string);
      if (any.arch === 'transformer') {
        const readCorpus = (c: Record<string, unknown>) => prepareLmCorpus(readInputText('train', 'data', c.file as string, 'training corpus'), { ...(c as CorpusInfo), vocab: any.checkpoint.model.vocab });
        return resumeTransformerFromCheckpoint(flags, any.checkpoint, readCorpus, backend, (title, result, unit) => lmCurveSvg(title, result, flags['curve-x'] as 'step' | 'time', unit));
      }
      const checkpoint = any.checkpoint;
      const saved = checkpoint.corpus as CorpusInfo | null;
      if (!saved) throw new InputError(`train: checkpoint ${String(flags.resume)} does not say how its corpus was read`);
      const m = checkpoint.model.config, t = checkpoint.train;
      checkResumeConflicts('train', argv, flags, {
        level: m.level, cell: m.cell, hidden: m.hidden, layers: m.layers, embedding: m.embeddingDim, seed: m.seed, lowercase: m.lowercase,
        dropout: m.dropout ?? 0, 'dropout-mode': m.dropoutMode ?? 'between', 'layer-norm': m.layerNorm ?? false,
        init: m.init ?? 'default', activation: m.activation ?? 'tanh',
        'seq-len': t.seqLen, batch: t.batch, lr: t.optimizer.lr, optimizer: t.optimizer.kind, clip: t.clip?.max ?? 0, 'clip-mode': t.clip?.mode,
        'min-count': saved.minCount, 'max-vocab': saved.maxVocab ?? undefined, 'val-fraction': saved.valFraction, 'keep-empty-lines': saved.keepEmptyLines,
        format: saved.format ?? 'lines', batches: t.batches ?? 'streams',
      });
      corpus = { ...saved, file: (flags.data as string | undefined) ?? saved.file };
      const text = readInputText('train', 'data', corpus.file, 'training corpus');
      const data = prepareLmCorpus(text, { ...corpus, vocab: checkpoint.model.vocab });
      trainer = resumeLmTrainer(checkpoint, data);
    } else {
      const level = flags.level as 'char' | 'word';
      corpus = {
        file: flags.data as string,
        level,
        format: flags.format as LmCorpusFormat,
        lowercase: flags.lowercase === true,
        keepEmptyLines: flags['keep-empty-lines'] === true,
        valFraction: flags['val-fraction'] as number,
        minCount: flags['min-count'] as number,
        maxVocab: (flags['max-vocab'] as number | undefined) ?? null,
      };
      const text = readInputText('train', 'data', corpus.file, 'training corpus');
      const data = prepareLmCorpus(text, { ...corpus, maxSize: corpus.maxVocab ?? undefined });
      if (flags.arch === 'transformer') {
        return trainTransformerFromFlags(flags, data, corpus, backend, (title, result, unit) => lmCurveSvg(title, result, flags['plot-x'] as 'step' | 'time', unit));
      }
      const model = createLanguageModel({
        level, lowercase: corpus.lowercase, cell: flags.cell as CellKind, hidden: flags.hidden as number,
        layers: flags.layers as number, embeddingDim: flags.embedding as number | undefined, seed: flags.seed as number,
        ...rnnRegularizationFromFlags(flags),
        init: (flags.init as LmInit | undefined) ?? (corpus.format === 'stream' ? 'pytorch' : 'default'),
        activation: flags.activation as 'tanh' | 'relu', vocab: data.vocab,
      });
      const clip = flags.clip as number;
      trainer = createLmTrainer(model, data, {
        seqLen: flags['seq-len'] as number,
        batch: flags.batch as number,
        optimizer: { kind: flags.optimizer as OptimizerKind, lr: flags.lr as number },
        clip: clip > 0 ? { mode: flags['clip-mode'] as 'norm' | 'value', max: clip } : null,
        batches: flags.batches as LmBatches,
      });
    }
    const result = runWithProgress(trainer, `train ${trainer.model.config.cell}`, {
      epochs: (flags.epochs as number | undefined) ?? (flags.steps === undefined ? 10 : undefined),
      maxSteps: flags.steps as number | undefined,
      timeLimitSeconds: flags['time-limit'] as number | undefined,
      evalEvery: flags['eval-every'] as number | undefined,
      evalEverySeconds: flags['eval-every-seconds'] as number | undefined,
      maxEvalTokens: flags['max-eval-tokens'] as number | undefined,
      patience: flags.patience as number,
      checkpointPath: flags.checkpoint as string | undefined,
      checkpointEvery: flags['checkpoint-every'] as number | undefined,
      corpus,
      threads: threadsFromFlags(flags, backend, trainer.parallelUnsupported()),
    });
    const model = trainer.model;
    const unit = model.config.level === 'char' ? 'char' : 'word';
    const maxEvalTokens = (flags['max-eval-tokens'] as number | undefined) ?? DEFAULT_MAX_EVAL_TOKENS;
    const summary = trainingSummary(trainer, result, backend, maxEvalTokens);
    saveLanguageModel(flags.out as string, model, summary);
    if (flags.plot) writeFileAtomic(flags.plot as string, lmCurveSvg(`${model.config.level}-level ${model.config.cell} on ${nodePath.basename(corpus.file)} (H = ${model.config.hidden}, ${model.config.layers} layer${model.config.layers > 1 ? 's' : ''})`, result, flags['plot-x'] as 'step' | 'time', unit));
    if (flags.json) {
      console.log(JSON.stringify({ ...summary, out: flags.out, plot: flags.plot ?? null, evaluations: result.evaluations }, null, 2));
    } else {
      printSummary(model, result, unit, { validationTokens: trainer.data.validation.length, maxEvalTokens });
      console.log(`model written to ${String(flags.out)}${flags.plot ? `, loss curve to ${String(flags.plot)}` : ''}`);
    }
    return interrupted('train', result.steps, [flags.out as string, flags.checkpoint as string | undefined]);
  },
};

function trainingSummary(trainer: LmTrainer, result: LmTrainResult, backend: string, maxEvalTokens: number): Record<string, unknown> {
  const model = trainer.model;
  const e = result.restoredBest ? result.bestEvaluation : result.lastEvaluation; // the weights the model ends with
  return {
    config: model.config,
    vocabularySize: model.vocab.size,
    parameters: lmParameterCount(model),
    train: trainer.config,
    backend,
    threads: result.threads,
    steps: result.steps,
    epochs: Number(result.epochs.toFixed(3)),
    stopReason: result.stopReason,
    seconds: Number(result.seconds.toFixed(2)),
    tokensPerSecond: Math.round(result.tokensPerSecond),
    trainLoss: result.finalLoss,
    validation: e ? { loss: e.loss, perplexity: e.perplexity, bitsPerToken: e.bitsPerToken, tokens: e.tokens, maxEvalTokens, step: e.step } : null,
    bestValidationLoss: result.bestValidationLoss,
  };
}

function printSummary(model: LanguageModel, result: LmTrainResult, unit: string, evaluated: { validationTokens: number; maxEvalTokens: number }): void {
  const { validationTokens, maxEvalTokens } = evaluated;
  const e = result.restoredBest ? result.bestEvaluation : result.lastEvaluation; // the weights the model ends with
  console.log(
    `${result.steps} steps (${result.epochs.toFixed(2)} epochs) in ${formatDuration(result.seconds)}, ${Math.round(result.tokensPerSecond)} tokens/s, stopped by ${result.stopReason}; ` +
    `${lmParameterCount(model)} parameters, vocabulary ${model.vocab.size}`,
  );
  console.log(`train loss ${result.finalLoss.toFixed(4)} nats/${unit} (${(result.finalLoss / Math.LN2).toFixed(3)} bits/${unit})`);
  if (e) {
    console.log(`validation: loss ${e.loss.toFixed(4)} nats/${unit}, perplexity ${e.perplexity.toFixed(3)}, ${e.bitsPerToken.toFixed(3)} bits/${unit} (${e.tokens} of ${validationTokens} tokens; --max-eval-tokens ${maxEvalTokens || 'all'})`);
  } else {
    console.log(`validation: none (${result.stopReason === 'interrupted' ? 'interrupted before one was done' : 'empty validation split'})`);
  }
}
