/**
 * `seqgrad train --arch transformer`: the causal Transformer language model
 * (training/lm/transformer-model.ts) on the same corpus flags as the RNN; --hidden is d_model,
 * --layers the encoder layers, --seq-len the context T. Thin: builds the model and the trainer from the
 * flags, shows progress, writes the model file (and the curve); --checkpoint and --resume as the RNN's
 * (`seqgrad train` hands a Transformer checkpoint to `resumeTransformerFromCheckpoint`).
 */
import { DROPOUT_FLAG } from '../rnn-flags.js';
import * as nodePath from 'node:path';
import { UsageError, type FlagSpec, type FlagValues } from '../args.js';
import { interrupted, stopFlag } from '../interrupt.js';
import { createProgress, formatDuration, type Progress } from '../progress.js';
import { bitsUnit } from '../lm-progress.js';
import { threadsFromFlags } from '../threads.js';
import type { FeedForwardActivation } from '../../layers/transformer/feedforward.js';
import type { PositionKind } from '../../layers/transformer/positions.js';
import { writeFileAtomic } from '../../training/io/files.js';
import type { OptimizerKind } from '../../training/core/optimizers.js';
import { DEFAULT_MAX_EVAL_TOKENS, type LmTrainResult, type PreparedLmCorpus } from '../../training/lm/train.js';
import {
  createTransformerLanguageModel, transformerLmParameters, type TransformerLanguageModel,
} from '../../training/lm/transformer-model.js';
import { saveTransformerLm } from '../../training/lm/model-file.js';
import {
  TransformerLmTrainer, resumeTransformerLmTrainer, type TransformerLmCheckpoint,
} from '../../training/lm/transformer-train.js';
import { InputError } from '../../training/core/errors.js';

/** The flags only the Transformer reads (merged into `seqgrad train`'s). */
export const transformerTrainFlags: Record<string, FlagSpec> = {
  arch: { type: 'string', description: 'model: a recurrent LM or a causal Transformer (--hidden = d_model, --seq-len = context)', choices: ['rnn', 'transformer'], default: 'rnn' },
  heads: { type: 'int', description: 'transformer: attention heads (must divide --hidden)', default: 4 },
  ff: { type: 'int', description: 'transformer: feed-forward width F (default 4 × --hidden)' },
  dropout: DROPOUT_FLAG,
  positions: { type: 'string', description: 'transformer: positional encoding', choices: ['sinusoidal', 'learned'], default: 'sinusoidal' },
  'norm-first': { type: 'boolean', description: 'transformer: pre-norm layers (default post-norm, as the paper)' },
  'ffn-activation': { type: 'string', description: 'transformer: feed-forward activation', choices: ['relu', 'gelu'], default: 'relu' },
};

function parameterCount(model: TransformerLanguageModel): number {
  return Object.values(transformerLmParameters(model).params).reduce((s, p) => s + p.size, 0);
}

type CurveSvg = (title: string, result: LmTrainResult, unit: string) => string | null;

/** Build, train and save; returns the exit code. `corpus` was read and split by `seqgrad train`. */
export function trainTransformerFromFlags(
  flags: FlagValues, data: PreparedLmCorpus, corpus: { file: string; level: 'char' | 'word'; lowercase: boolean },
  backend: string, curveSvg: CurveSvg,
): number {
  const dModel = flags.hidden as number;
  const dropout = (flags.dropout as number | undefined) ?? 0.1;
  if (!(dropout >= 0 && dropout < 1)) throw new UsageError(`--dropout expects a number in [0, 1), got ${dropout}`);
  const heads = flags.heads as number;
  if (!Number.isInteger(heads) || heads < 1 || dModel % heads !== 0) {
    throw new UsageError(`--heads expects a positive divisor of --hidden ${dModel}, got ${heads}`);
  }
  const seqLen = flags['seq-len'] as number;
  const model = createTransformerLanguageModel({
    level: corpus.level, lowercase: corpus.lowercase, dModel, numHeads: heads, layers: flags.layers as number,
    dimFeedforward: (flags.ff as number | undefined) ?? 4 * dModel, dropout,
    activation: flags['ffn-activation'] as FeedForwardActivation, normFirst: flags['norm-first'] === true,
    positions: flags.positions as PositionKind, maxLength: seqLen, seed: flags.seed as number, vocab: data.vocab,
  });
  const clip = flags.clip as number;
  const trainer = new TransformerLmTrainer(model, data, {
    seqLen, batch: flags.batch as number,
    optimizer: { kind: flags.optimizer as OptimizerKind, lr: flags.lr as number },
    clip: clip > 0 ? { mode: flags['clip-mode'] as 'norm' | 'value', max: clip } : null,
  });
  return runTransformerLm(flags, trainer, corpus, backend, curveSvg);
}

/**
 * Continue a Transformer checkpoint (read by `seqgrad train --resume`) on the corpus it names (or
 * --data); its model and optimisation settings come from the checkpoint.
 */
export function resumeTransformerFromCheckpoint(
  flags: FlagValues, checkpoint: TransformerLmCheckpoint, readCorpus: (corpus: Record<string, unknown>) => PreparedLmCorpus,
  backend: string, curveSvg: CurveSvg,
): number {
  const saved = checkpoint.state.corpus;
  if (!saved) throw new InputError(`train: checkpoint ${String(flags.resume)} does not say how its corpus was read`);
  const corpus = { ...saved, file: (flags.data as string | undefined) ?? (saved.file as string) };
  const trainer = resumeTransformerLmTrainer(checkpoint, readCorpus(corpus));
  const { level, lowercase } = trainer.model.config;
  return runTransformerLm(flags, trainer, { ...corpus, level, lowercase }, backend, curveSvg);
}

/** Run, save, report; returns the exit code. */
function runTransformerLm(
  flags: FlagValues, trainer: TransformerLmTrainer, corpus: { file: string; level: 'char' | 'word'; lowercase: boolean },
  backend: string, curveSvg: CurveSvg,
): number {
  const model = trainer.model;
  const { dModel, numHeads: heads } = model.config;
  const unit = corpus.level === 'char' ? 'char' : 'word';
  let progress: Progress | null = null;
  let lastVal = '';
  const result = trainer.run({
    signal: stopFlag,
    epochs: (flags.epochs as number | undefined) ?? (flags.steps === undefined ? 10 : undefined),
    maxSteps: flags.steps as number | undefined,
    timeLimitSeconds: flags['time-limit'] as number | undefined,
    evalEvery: flags['eval-every'] as number | undefined,
    maxEvalTokens: flags['max-eval-tokens'] as number | undefined,
    checkpointPath: flags.checkpoint as string | undefined,
    checkpointEvery: flags['checkpoint-every'] as number | undefined,
    threads: threadsFromFlags(flags, backend),
    corpus,
    onProgress: (p) => {
      progress ??= createProgress({ label: 'train transformer', total: p.totalSteps, unit: 'steps' });
      progress.update(p.step, {
        [`train ${bitsUnit(corpus.level)}`]: (p.smoothLoss / Math.LN2).toFixed(3), 'tok/s': Math.round(p.tokensPerSecond),
        ...(lastVal ? { [`val ${bitsUnit(corpus.level)}`]: lastVal } : {}),
      });
    },
    onEvaluation: (e) => { lastVal = e.bitsPerToken.toFixed(3); },
  });
  (progress as Progress | null)?.finish(result.stopReason);
  const e = result.lastEvaluation;
  const maxEvalTokens = (flags['max-eval-tokens'] as number | undefined) ?? DEFAULT_MAX_EVAL_TOKENS;
  const summary = {
    arch: 'transformer', config: model.config, vocabularySize: model.vocab.size, parameters: parameterCount(model),
    train: trainer.config, backend, threads: result.threads, steps: result.steps, epochs: Number(result.epochs.toFixed(3)), stopReason: result.stopReason,
    seconds: Number(result.seconds.toFixed(2)), tokensPerSecond: Math.round(result.tokensPerSecond), trainLoss: result.finalLoss,
    validation: e ? { loss: e.loss, perplexity: e.perplexity, bitsPerToken: e.bitsPerToken, tokens: e.tokens, maxEvalTokens, step: e.step } : null,
    bestValidationLoss: result.bestValidationLoss,
  };
  saveTransformerLm(flags.out as string, model, summary);
  const title = `${corpus.level}-level Transformer on ${nodePath.basename(corpus.file)} (d = ${dModel}, ${model.config.layers} layer${model.config.layers > 1 ? 's' : ''}, ${heads} heads)`;
  const svg = flags.plot ? curveSvg(title, result, unit) : null;
  if (svg) writeFileAtomic(flags.plot as string, svg);
  if (flags.json) {
    console.log(JSON.stringify({ ...summary, out: flags.out, plot: flags.plot ?? null, evaluations: result.evaluations }, null, 2));
    return interrupted('train', result.steps, [flags.out as string, flags.checkpoint as string | undefined]);
  }
  console.log(`${result.steps} steps (${result.epochs.toFixed(2)} epochs) in ${formatDuration(result.seconds)}, ${Math.round(result.tokensPerSecond)} tokens/s, stopped by ${result.stopReason}; ${summary.parameters} parameters, vocabulary ${model.vocab.size}`);
  console.log(`train loss ${result.finalLoss.toFixed(4)} nats/${unit} (${(result.finalLoss / Math.LN2).toFixed(3)} bits/${unit})`);
  console.log(e ? `validation: loss ${e.loss.toFixed(4)} nats/${unit}, perplexity ${e.perplexity.toFixed(3)}, ${e.bitsPerToken.toFixed(3)} bits/${unit} (${e.tokens} of ${trainer.data.validation.length} tokens; --max-eval-tokens ${maxEvalTokens || 'all'})` : 'validation: none (empty validation split)');
  console.log(`model written to ${String(flags.out)}${flags.plot ? `, loss curve to ${String(flags.plot)}` : ''}`);
  return interrupted('train', result.steps, [flags.out as string, flags.checkpoint as string | undefined]);
}
