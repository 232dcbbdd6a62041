/**
 * Training and evaluating the Transformer encoder-decoder (transformer-model.ts) on text pairs, with the
 * data, batching and records of the RNN trainer (train.ts): pairs prepared by prepareSeq2SeqData,
 * length-bucketed batches (lengthBucketedBatches), one step = teacher-forced forward with dropout
 * (masks from the seeded Rng), mean cross-entropy per target token, backward, then the shared update of
 * training/core/loop.ts (createUpdate: non-finite and divergence guards, global-norm clipping, one
 * optimizer step); `run` is the shared loop (runTrainingLoop: step budget, time limit, stop signal,
 * the loss's moving average, progress); evaluation = validation loss (dropout off) and greedy exact match / BLEU on up to
 * maxEvalExamples validation pairs.
 *
 * Threads (run's `threads`, default 1): N > 1 computes each step's gradient in N fixed shares of the
 * batch's examples on worker threads (transformer-parallel.ts), gradients summed in worker order, one
 * update; dropout masks are drawn for the whole batch on the calling thread and shared out by rows,
 * so N changes only the order of the sums (the same N and seed give the same bits; N = 1 is this
 * file's single-thread step).
 *
 * Checkpoints (kind 'seqgrad.transformer-seq2seq-checkpoint', written atomically at every evaluation
 * and at the end of a run, whatever its stop reason): the model, the optimizer's state and the
 * `trainer` section of the RNN trainer's checkpoints (seq2seqRunJSON: the batch order, the dropout
 * generator — every mask comes from it —, the step, the losses and evaluations) with the data's
 * description; K steps + checkpoint + resume + (N − K) steps give the bits of N steps straight.
 *
 * Batch shapes: a Transformer workspace has fixed (T_x, T_y, B), so each batch is padded further to
 * lengths rounded up to `lengthQuantum` (default 8) times a power of two (8, 16, 32, 64, …; at most
 * maxLength) and workspaces are cached per rounded shape — a handful of shapes per run instead of
 * one per length pair. Powers of two, not multiples: workspaces live as long as the trainer (their
 * WebAssembly memory comes back only after a garbage collection, never inside the synchronous
 * loop), and with multiples the shapes of sources 5–60 words long at batch 64 filled the 2 GiB of
 * WebAssembly memory within ~100 steps.
 */
import { Rng } from '../../engine/rng.js';
import { DROPOUT_OFF, type DropoutMode } from '../../layers/dropout.js';
import { InputError } from '../core/errors.js';
import { LossHistory, createUpdate, keptNote, runTrainingLoop, stepBudget, type Update } from '../core/loop.js';
import { createOptimizer, optimizerFromJSON, optimizerToJSON, type OptimizerState } from '../core/optimizers.js';
import { writeFileAtomic } from '../io/files.js';
import { readJsonInput } from '../io/model-file.js';
import { corpusBleu } from '../metrics/bleu.js';
import { tokenizeText } from '../text/vocab.js';
import type { Seq2SeqBatch, Seq2SeqExample } from './model.js';
import { paddedSteps, transformerSeq2SeqBatch } from './transformer-batch.js';
import { TransformerSeq2SeqParallelStep } from './transformer-parallel.js';
import type { SeqPair } from './tasks.js';
import {
  Seq2SeqBatchOrder, checkCheckpointData, prepareCheckpointPairs, restoreSeq2SeqRun, seq2seqCheckpointFromJSON, seq2seqRunJSON,
  type PreparedSeq2SeqData, type Seq2SeqCheckpointJSON, type Seq2SeqDataInfo, type Seq2SeqEvalItem, type Seq2SeqEvaluationRecord,
  type Seq2SeqRun, type Seq2SeqRunOptions, type Seq2SeqStepInfo, type Seq2SeqTrainConfig, type Seq2SeqTrainResult,
} from './train.js';
import {
  TransformerSeq2SeqDecoder, TransformerSeq2SeqWorkspaces, transformerSeq2SeqBackward, transformerSeq2SeqForward,
  transformerSeq2SeqFromJSON, transformerSeq2SeqParameters, transformerSeq2SeqToJSON, transformerSeq2SeqZeroGrad, transformerTranslateManyIds,
  type TransformerSeq2SeqJSON, type TransformerSeq2SeqModel,
} from './transformer-model.js';

/** The trainer's settings: the RNN trainer's and the padding quantum. */
export type TransformerSeq2SeqTrainConfig = Seq2SeqTrainConfig & { lengthQuantum?: number };

export { padSeq2SeqBatch } from './transformer-batch.js';

export class TransformerSeq2SeqTrainer implements Seq2SeqRun {
  readonly model: TransformerSeq2SeqModel;
  readonly data: PreparedSeq2SeqData;
  readonly config: Required<TransformerSeq2SeqTrainConfig>;
  readonly optimizer: OptimizerState;
  /** Facts about the data (file, levels, split), saved in checkpoints so a resume prepares the same pairs. */
  dataInfo: Seq2SeqDataInfo = {};
  step = 0;
  trainSeconds = 0;
  /** Every step's loss and their moving average (all runs of this trainer). */
  readonly losses = new LossHistory();
  readonly evaluations: Seq2SeqEvaluationRecord[] = [];
  /** The batches' order (the RNN trainer's: same seed, same batches). */
  readonly order: Seq2SeqBatchOrder;
  /** Every dropout mask is drawn from it (seeded with the model's seed; saved in checkpoints). */
  readonly dropoutRng: Rng;
  private readonly trainMode: DropoutMode;
  /** Check, clip, optimizer step (training/core/loop.ts). */
  private readonly update: Update;
  private readonly workspaces: TransformerSeq2SeqWorkspaces;
  /** The current run's checkpoint file, and the step of the last checkpoint written (−1: none). */
  private checkpointPath: string | undefined;
  private lastCheckpointStep = -1;
  /** The end of a NumericalError's message: which checkpoint is kept. */
  private readonly kept = (): string => keptNote(this.checkpointPath, this.lastCheckpointStep);

  /** `optimizer`: a resumed run's (default: a new one from config.optimizer). */
  constructor(model: TransformerSeq2SeqModel, data: PreparedSeq2SeqData, config: TransformerSeq2SeqTrainConfig, optimizer?: OptimizerState) {
    const op = 'TransformerSeq2SeqTrainer';
    if (!Number.isInteger(config.batch) || config.batch < 1) throw new Error(`${op}: expected batch to be an integer ≥ 1, got ${config.batch}`);
    if (config.clipNorm !== null && !(config.clipNorm > 0)) throw new Error(`${op}: expected clipNorm > 0 or null, got ${config.clipNorm}`);
    if (data.train.length === 0) throw new InputError(`${op}: expected at least one training pair, got none`);
    const longest = Math.max(data.maxSourceLength, data.maxTargetLength + 1);
    if (longest > model.config.maxLength) {
      throw new InputError(`${op}: the pairs need ${longest} positions, the model has ${model.config.maxLength} (give a larger maxLength)`);
    }
    this.model = model;
    this.data = data;
    this.config = { bucketWindow: 50, seed: 1, lengthQuantum: 8, clipMode: 'norm', ...config };
    const { params, grads } = transformerSeq2SeqParameters(model);
    this.optimizer = optimizer ?? createOptimizer(config.optimizer, params);
    this.update = createUpdate(params, grads, this.optimizer, {
      clip: config.clipNorm === null ? null : { mode: config.clipMode ?? 'norm', max: config.clipNorm },
      divergence: { op: 'seq2seq-transformer train', advice: 'lower --lr' },
    });
    this.order = new Seq2SeqBatchOrder(data.train, this.config);
    this.dropoutRng = new Rng(model.config.seed);
    this.trainMode = { kind: 'sample', rng: this.dropoutRng };
    this.workspaces = new TransformerSeq2SeqWorkspaces(model);
  }

  get stepsPerEpoch(): number {
    return this.order.stepsPerEpoch;
  }

  /** Epochs done, and the next batch of the current epoch. */
  get epoch(): number {
    return this.order.epoch;
  }

  get batchInEpoch(): number {
    return this.order.batchInEpoch;
  }

  /** Per step, the training loss (all runs of this trainer). */
  get lossHistory(): number[] {
    return this.losses.values;
  }

  /** The padded batch of these examples (lengths rounded up to the quantum times a power of two, capped by maxLength). */
  private batchOf(examples: readonly Seq2SeqExample[]): Seq2SeqBatch {
    return transformerSeq2SeqBatch(this.model, examples, this.config.lengthQuantum);
  }

  /**
   * One training step on the next batch: teacher-forced forward, backward, the shared update.
   * Returns the mean loss per target token and the update; `run`'s loop records the loss.
   */
  trainStep(): Seq2SeqStepInfo {
    const indices = this.order.current();
    const examples = indices.map((i) => this.data.train[i]);
    const batch = this.batchOf(examples);
    const stepNo = this.step + 1;
    const loss = this.parallel ? this.parallel.step(indices, batch.tokens, batch, this.dropoutRng) / batch.tokens : this.gradient(batch);
    const update = this.update(stepNo, loss, this.kept);
    this.step = stepNo;
    this.order.advance();
    return { ...update, loss, examples: examples.length, units: examples.length, epoch: this.order.epochsDone() };
  }

  /** One thread's gradient of the batch's mean loss into the model's gradient buffers; returns that loss. */
  private gradient(batch: Seq2SeqBatch): number {
    const ws = this.workspaces.get(batch);
    transformerSeq2SeqZeroGrad(this.model);
    const loss = transformerSeq2SeqForward(this.model, ws, batch, this.trainMode);
    transformerSeq2SeqBackward(this.model, ws);
    return loss;
  }

  /** The worker threads of a run with threads > 1 (null otherwise). */
  private parallel: TransformerSeq2SeqParallelStep | null = null;

  /** Start the run's worker threads (threads > 1), or refuse with one line. */
  private startThreads(threads: number): void {
    if (!(Number.isInteger(threads) && threads >= 1)) throw new InputError(`TransformerSeq2SeqTrainer.run: expected threads to be an integer ≥ 1, got ${threads}`);
    if (threads === 1) return;
    const q = this.config.lengthQuantum, max = this.model.config.maxLength;
    const longest = { srcSteps: paddedSteps(this.data.maxSourceLength, q, max), tgtSteps: paddedSteps(this.data.maxTargetLength + 1, q, max) };
    this.parallel = new TransformerSeq2SeqParallelStep('seq2seq train', this.model, this.data.train, this.config.batch, threads, longest);
  }

  /** Validation loss per token (dropout off). */
  validationLoss(): number {
    const val = this.data.validation;
    if (val.length === 0) return NaN;
    let total = 0, tokens = 0;
    for (let start = 0; start < val.length; start += this.config.batch) {
      const batch = this.batchOf(val.slice(start, start + this.config.batch));
      total += transformerSeq2SeqForward(this.model, this.workspaces.get(batch), batch, DROPOUT_OFF) * batch.tokens;
      tokens += batch.tokens;
    }
    return total / tokens;
  }

  evaluate(maxExamples = 300): Omit<Seq2SeqEvaluationRecord, 'step' | 'trainSeconds' | 'trainLoss'> {
    const loss = this.validationLoss();
    const n = Math.min(maxExamples, this.data.validationPairs.length);
    if (n === 0) return { loss, exactMatch: NaN, bleu: NaN, decoded: 0 };
    const r = evaluateTransformerSeq2Seq(this.model, this.data.validationPairs.slice(0, n));
    return { loss, exactMatch: r.exactMatch, bleu: r.bleu, decoded: n };
  }

  /**
   * Train until the step budget (a fractional epoch count rounds up), the time limit or a stop
   * request (the shared loop), evaluating (and checkpointing) every evalEvery steps; the run ends
   * with an evaluation unless one was just made.
   */
  run(opts: Seq2SeqRunOptions = {}): Seq2SeqTrainResult {
    const now = opts.now ?? Date.now;
    const start = now();
    const { totalSteps, reason } = stepBudget('TransformerSeq2SeqTrainer.run', opts, this.stepsPerEpoch, Math.ceil);
    const evalEvery = opts.evalEvery ?? this.stepsPerEpoch;
    const maxEval = opts.maxEvalExamples ?? 300;
    const trainSecondsBefore = this.trainSeconds;
    this.checkpointPath = opts.checkpointPath;
    const evaluate = (): void => {
      const record: Seq2SeqEvaluationRecord = { step: this.step, trainSeconds: this.trainSeconds, trainLoss: this.losses.smoothed, ...this.evaluate(maxEval) };
      this.evaluations.push(record);
      opts.onEvaluation?.(record);
      if (opts.checkpointPath) this.saveCheckpoint(opts.checkpointPath);
    };
    this.startThreads(opts.threads ?? 1);
    const threads = this.parallel?.threads ?? 1;
    let loop: ReturnType<typeof runTrainingLoop>;
    try {
      loop = runTrainingLoop({
        startStep: this.step, totalSteps, budgetReason: reason, losses: this.losses,
        timeLimitSeconds: opts.timeLimitSeconds, signal: opts.signal, now,
        step: () => this.trainStep(),
        onProgress: opts.onProgress && ((p, s) => opts.onProgress!({ ...p, gradNorm: s.gradNorm, lr: s.lr, examplesPerSecond: p.unitsPerSecond })),
        afterStep: (p) => {
          this.trainSeconds = trainSecondsBefore + p.stepSeconds;
          if (this.step % evalEvery === 0 && this.step < totalSteps) evaluate();
          return undefined;
        },
      });
    } finally {
      this.parallel?.close(); // no worker thread outlives the run
      this.parallel = null;
    }
    this.trainSeconds = trainSecondsBefore + loop.stepSeconds;
    // Whatever the stop reason (an interrupted run too): a last evaluation, which writes the checkpoint.
    if (this.evaluations.length === 0 || this.evaluations[this.evaluations.length - 1].step !== this.step) evaluate();
    return {
      steps: this.step, epochs: this.order.epochsDone(), stopReason: loop.stopReason, seconds: (now() - start) / 1000,
      trainSeconds: this.trainSeconds, examplesPerSecond: loop.unitsPerSecond,
      finalLoss: this.losses.smoothed, lossHistory: this.lossHistory.slice(), lossHistoryFirstStep: this.losses.firstStep, evaluations: this.evaluations.slice(),
      lastEvaluation: this.evaluations[this.evaluations.length - 1] ?? null,
      threads,
    };
  }

  // ---- checkpoints ----

  toCheckpointJSON(): TransformerSeq2SeqCheckpointJSON {
    return {
      kind: TRANSFORMER_SEQ2SEQ_CHECKPOINT,
      version: 1,
      model: transformerSeq2SeqToJSON(this.model),
      optimizer: optimizerToJSON(this.optimizer),
      trainer: seq2seqRunJSON(this),
      data: { ...this.dataInfo, train: this.data.train.length, validation: this.data.validation.length },
    };
  }

  saveCheckpoint(path: string): void {
    writeFileAtomic(path, JSON.stringify(this.toCheckpointJSON()));
    this.lastCheckpointStep = this.step;
  }

  /** Continue from a checkpoint's position (used by resumeTransformerSeq2SeqTrainer). */
  restorePosition(state: Seq2SeqCheckpointJSON['trainer']): void {
    restoreSeq2SeqRun('resumeTransformerSeq2SeqTrainer', this, state);
    this.lastCheckpointStep = state.step;
  }
}

// ---- checkpoints -----------------------------------------------------------------------------

export const TRANSFORMER_SEQ2SEQ_CHECKPOINT = 'seqgrad.transformer-seq2seq-checkpoint';

/** The RNN trainer's checkpoint with the Transformer's model (and the padding quantum in the trainer's config). */
export interface TransformerSeq2SeqCheckpointJSON extends Omit<Seq2SeqCheckpointJSON, 'kind' | 'model'> {
  kind: typeof TRANSFORMER_SEQ2SEQ_CHECKPOINT;
  model: TransformerSeq2SeqJSON;
}

/** Either seq2seq trainer's checkpoint file, told apart by its kind (InputError naming the file). */
export function readAnySeq2SeqCheckpoint(path: string):
  { arch: 'rnn'; checkpoint: Seq2SeqCheckpointJSON } | { arch: 'transformer'; checkpoint: TransformerSeq2SeqCheckpointJSON } {
  const json = readJsonInput<TransformerSeq2SeqCheckpointJSON>(path, 'checkpoint');
  if (json?.kind !== TRANSFORMER_SEQ2SEQ_CHECKPOINT) return { arch: 'rnn', checkpoint: seq2seqCheckpointFromJSON(json, path) };
  if (json.version !== 1 || !json.trainer || !json.optimizer || !json.data) {
    throw new InputError(`checkpoint ${path}: expected a "${TRANSFORMER_SEQ2SEQ_CHECKPOINT}" of version 1 with its trainer, optimizer and data, got version ${JSON.stringify(json.version)}`);
  }
  return { arch: 'transformer', checkpoint: json };
}

/**
 * A trainer that continues a checkpoint: its model, optimizer, batch order and dropout generator.
 * `data` must be the pairs it was made on, prepared as its run prepared them (see resumeTransformerSeq2SeqRun).
 */
export function resumeTransformerSeq2SeqTrainer(
  checkpoint: TransformerSeq2SeqCheckpointJSON, data: PreparedSeq2SeqData, source = 'checkpoint',
  model = transformerSeq2SeqFromJSON(checkpoint.model, source),
): TransformerSeq2SeqTrainer {
  checkCheckpointData(source, checkpoint.data, data);
  let optimizer: OptimizerState;
  try {
    optimizer = optimizerFromJSON(checkpoint.optimizer, transformerSeq2SeqParameters(model).params);
  } catch (err) {
    throw new InputError(`${source}: ${(err as Error).message}`);
  }
  const trainer = new TransformerSeq2SeqTrainer(model, data, checkpoint.trainer.config, optimizer);
  trainer.dataInfo = { ...checkpoint.data };
  trainer.restorePosition(checkpoint.trainer);
  return trainer;
}

/** Rebuild a checkpoint's run on its `pairs`, prepared as the run prepared them, and continue it. */
export function resumeTransformerSeq2SeqRun(checkpoint: TransformerSeq2SeqCheckpointJSON, pairs: readonly SeqPair[], source = 'checkpoint'): TransformerSeq2SeqTrainer {
  const model = transformerSeq2SeqFromJSON(checkpoint.model, source);
  return resumeTransformerSeq2SeqTrainer(checkpoint, prepareCheckpointPairs(checkpoint.data, model, pairs), source, model);
}

/** Greedy (or beam) decode every pair's source (all at once: transformerTranslateManyIds) and score the outputs: exact match, corpus BLEU, items. */
export function evaluateTransformerSeq2Seq(
  model: TransformerSeq2SeqModel, pairs: readonly SeqPair[], opts: { beamWidth?: number } = {},
): { examples: number; exactMatch: number; bleu: number; items: Seq2SeqEvalItem[] } {
  const decoder = new TransformerSeq2SeqDecoder(model);
  const tok = { level: model.config.sourceLevel, lowercase: model.config.lowercase };
  const targetTok = { level: model.config.targetLevel, lowercase: model.config.lowercase };
  const sources = pairs.map((pair, i) => {
    const srcTokens = tokenizeText(pair.source, tok);
    if (srcTokens.length === 0) throw new InputError(`evaluateTransformerSeq2Seq: expected pair ${i + 1} to have a source with at least one token, got none`);
    return srcTokens;
  });
  // every source decoded first, many at once (chunks of sources and their hypotheses as one batch per step)
  const translations = transformerTranslateManyIds(decoder, sources.map((srcTokens) => model.sourceVocab.encode(srcTokens)), { beamWidth: opts.beamWidth ?? 1 });
  const items: Seq2SeqEvalItem[] = pairs.map((pair, i) => {
    const referenceTokens = tokenizeText(pair.target, targetTok);
    const ref = model.targetVocab.encode(referenceTokens);
    const [best] = translations[i];
    let tokenMatches = 0;
    for (let k = 0; k < ref.length; k++) if (best.ids[k] === ref[k]) tokenMatches++;
    return {
      source: pair.source, reference: pair.target, output: best.text, sourceLength: sources[i].length,
      correct: best.finished && best.ids.length === ref.length && tokenMatches === ref.length,
      tokenMatches, referenceLength: ref.length, outputTokens: model.targetVocab.decode(best.ids), referenceTokens,
    };
  });
  decoder.release(); // its decode buffers now, not at a garbage collection
  const n = items.length;
  const bleu = n === 0 ? NaN : corpusBleu(items.map((it) => it.outputTokens), items.map((it) => [it.referenceTokens])).bleu;
  return { examples: n, exactMatch: n === 0 ? NaN : items.filter((it) => it.correct).length / n, bleu, items };
}
