/**
 * Training and evaluating a sequence-to-sequence model (training/seq2seq.ts) on text pairs.
 *
 * Data: `source<TAB>target` pairs are tokenised at the model's level (characters or words), the pairs
 * are shuffled with the data seed and the last `valFraction` of them held out for validation; the
 * vocabularies are built on the training split only.
 *
 * Batches by similar length (less padding, so less wasted work): every epoch, the training examples
 * are put in a seeded random order, cut into windows of `bucketWindow` batches, each window is sorted
 * by source length (then target length) and cut into batches of B, and the batches are shuffled.
 *
 * One step: teacher-forced forward, mean cross-entropy per target token, BPTT, then the shared update
 * of training/core/loop.ts: gradient clipping by global norm (PyTorch's clip_grad_norm_), one
 * optimizer update (Adam by default). A NaN or ±∞ loss or gradient stops training before the update
 * with a NumericalError naming the step and the tensor. `run` drives the steps with the shared loop
 * (stop reasons, time limit, progress, the loss's moving average) and evaluates and checkpoints
 * after each step as scheduled.
 *
 * Evaluation: validation loss per token (teacher forcing, batched) and, on up to `maxEvalExamples`
 * validation pairs, greedy decoding: exact match (the output's tokens equal the reference's) and
 * corpus BLEU (training/bleu.ts) over the target tokens.
 *
 * Checkpoints (atomic) hold the model, the optimizer state, the data order (the generator's state at
 * the start of the epoch and the batch index), the step, the curves and the run's settings; a resumed
 * trainer continues with the same batches in the same order.
 */
import { DROPOUT_OFF, type DropoutMode } from '../../layers/dropout.js';
import { trainingDropout } from '../core/rnn-regularization.js';
import { Rng, type RngState } from '../../engine/rng.js';
import { corpusBleu, type BleuSmoothing } from '../metrics/bleu.js';
import type { LengthPenalty } from '../decode/beam.js';
import { writeFileAtomic } from '../io/files.js';
import { optimizerWithCurrentNames, readJsonInput } from '../io/model-file.js';
import {
  CHECKPOINT_LOSSES, LossHistory, createUpdate, keptNote, runTrainingLoop, stepBudget,
  type LoopControls, type StepLimits, type StepOutcome, type StopReason, type TrainProgress, type Update, type UpdateInfo,
} from '../core/loop.js';
import {
  createOptimizer, optimizerFromJSON, optimizerToJSON, type OptimizerConfig, type OptimizerState, type OptimizerStateJSON,
} from '../core/optimizers.js';
import {
  Seq2SeqDecoder, attributeTranslationError, buildSourceVocabulary, buildTargetVocabulary, createSeq2SeqWorkspace,
  makeSeq2SeqBatch, seq2seqForward, type Seq2SeqBatch, seq2seqBackward, seq2seqFormerNames, seq2seqFromJSON, seq2seqParameters, seq2seqToJSON, seq2seqZeroGrad,
  resolveLevels, translateManyIds, type ErrorVerdict, type Seq2SeqLevelOptions, type Seq2SeqExample, type Seq2SeqModel, type Seq2SeqModelJSON, type Seq2SeqWorkspace,
} from './model.js';
import { Seq2SeqParallelStep } from './parallel.js';
import type { SeqPair } from './tasks.js';
import { tokenizeText, type TokenLevel, type Vocabulary } from '../text/vocab.js';
import { InputError } from '../core/errors.js';

// ---- data ----------------------------------------------------------------------------------

/** `level` sets both sides' token level (default 'char'); `sourceLevel` / `targetLevel` one side's. */
export interface Seq2SeqDataOptions extends Seq2SeqLevelOptions {
  lowercase?: boolean;
  /** Fraction of the pairs held out for validation (default 0.1). */
  valFraction?: number;
  /** Seed of the train/validation split (default 1). */
  seed?: number;
  /** Tokens seen fewer times in the training split become <UNK> (default 1). */
  minCount?: number;
  /** Use these vocabularies instead of building them (a resumed or loaded model's). */
  sourceVocab?: Vocabulary;
  targetVocab?: Vocabulary;
}

export interface PreparedSeq2SeqData {
  sourceVocab: Vocabulary;
  targetVocab: Vocabulary;
  train: Seq2SeqExample[];
  validation: Seq2SeqExample[];
  /** The text pairs behind train and validation (same order). */
  trainPairs: SeqPair[];
  validationPairs: SeqPair[];
  /** Longest source and target (tokens, without <EOS>) over both splits. */
  maxSourceLength: number;
  maxTargetLength: number;
}

/**
 * Tokenise, split and encode text pairs. A pair whose source or target has no token is refused
 * (InputError naming the pair's line).
 */
export function prepareSeq2SeqData(pairs: readonly SeqPair[], opts: Seq2SeqDataOptions): PreparedSeq2SeqData {
  const op = 'prepareSeq2SeqData';
  const valFraction = opts.valFraction ?? 0.1;
  if (!(valFraction >= 0 && valFraction < 1)) throw new Error(`${op}: expected valFraction in [0, 1), got ${valFraction}`);
  if (pairs.length === 0) throw new InputError(`${op}: expected at least one pair, got none`);
  const { sourceLevel, targetLevel } = resolveLevels(opts, op);
  const lowercase = opts.lowercase ?? false;
  const tokenized = pairs.map((p, i) => {
    const source = tokenizeText(p.source, { level: sourceLevel, lowercase });
    const target = tokenizeText(p.target, { level: targetLevel, lowercase });
    if (source.length === 0 || target.length === 0) {
      throw new InputError(`${op}: expected a source and a target with at least one token each, pair ${i + 1} has ${source.length} and ${target.length}`);
    }
    return { source, target };
  });
  const order = new Rng(opts.seed ?? 1).permutation(pairs.length);
  const nVal = Math.floor(pairs.length * valFraction);
  const trainIdx = order.slice(0, pairs.length - nVal);
  const valIdx = order.slice(pairs.length - nVal);
  const minCount = opts.minCount ?? 1;
  const sourceVocab = opts.sourceVocab ?? buildSourceVocabulary(trainIdx.flatMap((i) => tokenized[i].source), { minCount });
  const targetVocab = opts.targetVocab ?? buildTargetVocabulary(trainIdx.flatMap((i) => tokenized[i].target), { minCount });
  const encode = (i: number): Seq2SeqExample => ({
    source: sourceVocab.encode(tokenized[i].source), target: targetVocab.encode(tokenized[i].target),
  });
  let maxSourceLength = 0, maxTargetLength = 0;
  for (const t of tokenized) {
    maxSourceLength = Math.max(maxSourceLength, t.source.length);
    maxTargetLength = Math.max(maxTargetLength, t.target.length);
  }
  return {
    sourceVocab, targetVocab,
    train: trainIdx.map(encode), validation: valIdx.map(encode),
    trainPairs: trainIdx.map((i) => pairs[i]), validationPairs: valIdx.map((i) => pairs[i]),
    maxSourceLength, maxTargetLength,
  };
}

/**
 * One epoch's batches (lists of example indices): seeded random order, windows of `window` batches
 * sorted by (source length, target length), cut into batches of B, batches shuffled.
 */
export function lengthBucketedBatches(examples: readonly Seq2SeqExample[], batch: number, window: number, rng: Rng): number[][] {
  const order = rng.permutation(examples.length);
  const span = batch * window;
  const batches: number[][] = [];
  for (let start = 0; start < order.length; start += span) {
    const chunk = order.slice(start, start + span);
    const len = (i: number): number => (examples[i].source?.length ?? 0);
    chunk.sort((a, b) => len(a) - len(b) || examples[a].target.length - examples[b].target.length);
    for (let k = 0; k < chunk.length; k += batch) batches.push(chunk.slice(k, k + batch));
  }
  rng.shuffle(batches);
  return batches;
}

/**
 * The order of a run's batches, as both seq2seq trainers (RNN and Transformer) draw it: every epoch's
 * batches are planned by lengthBucketedBatches from one generator (seeded by the run's seed), whose
 * state at the epoch's start is kept, so a checkpoint's { epoch, batchInEpoch, epochRngState }
 * re-plans the same epoch on resume and the run continues with the same batches in the same order.
 */
export class Seq2SeqBatchOrder {
  /** Epochs done, and the next batch of the current epoch. */
  epoch = 0;
  batchInEpoch = 0;
  private readonly rng: Rng;
  /** The generator state that produced this epoch's batches. */
  private epochRngState: RngState;
  private batches: number[][];

  constructor(private readonly examples: readonly Seq2SeqExample[], private readonly config: Required<Pick<Seq2SeqTrainConfig, 'batch' | 'bucketWindow' | 'seed'>>) {
    this.rng = new Rng(config.seed);
    this.epochRngState = this.rng.getState();
    this.batches = this.plan();
  }

  private plan(): number[][] {
    this.epochRngState = this.rng.getState();
    return lengthBucketedBatches(this.examples, this.config.batch, this.config.bucketWindow, this.rng);
  }

  get stepsPerEpoch(): number {
    return this.batches.length;
  }

  /** The next step's example indices (when the epoch is done, the next epoch is planned first). */
  current(): readonly number[] {
    if (this.batchInEpoch >= this.batches.length) {
      this.epoch++;
      this.batchInEpoch = 0;
      this.batches = this.plan();
    }
    return this.batches[this.batchInEpoch];
  }

  /** The current batch was trained on (called after its update, so a failed step is not skipped). */
  advance(): void {
    this.batchInEpoch++;
  }

  /** Fractional epochs done. */
  epochsDone(): number {
    return this.epoch + this.batchInEpoch / this.stepsPerEpoch;
  }

  /** What a checkpoint keeps of the order. */
  position(): { epoch: number; batchInEpoch: number; epochRngState: RngState } {
    return { epoch: this.epoch, batchInEpoch: this.batchInEpoch, epochRngState: this.epochRngState };
  }

  /** Continue at a checkpoint's position (InputError naming `op` when it cannot be one of this data's). */
  restore(op: string, state: { step: number; epoch: number; batchInEpoch: number; epochRngState: RngState }): void {
    const perEpoch = this.stepsPerEpoch;
    const { step, epoch, batchInEpoch } = state;
    if (![step, epoch, batchInEpoch].every((v) => Number.isInteger(v) && v >= 0) || batchInEpoch > perEpoch || step > (epoch + 1) * perEpoch) {
      throw new InputError(
        `${op}: checkpoint position { step ${step}, epoch ${epoch}, batchInEpoch ${batchInEpoch} } does not fit this data (${perEpoch} batches per epoch)`,
      );
    }
    this.epoch = epoch;
    this.batchInEpoch = batchInEpoch;
    this.rng.setState(state.epochRngState);
    this.batches = this.plan();
  }
}

// ---- configuration, progress, results ------------------------------------------------------

/** What decides the numbers of a run (saved in the checkpoint). */
export interface Seq2SeqTrainConfig {
  /** B, examples per batch. */
  batch: number;
  optimizer: OptimizerConfig;
  /** The clipping threshold: of the global norm, or of each value with clipMode 'value' (null: no clipping). */
  clipNorm: number | null;
  /** What clipNorm bounds (default 'norm': the global norm, as PyTorch's clip_grad_norm_). */
  clipMode?: 'norm' | 'value';
  /** Batches per length-sorting window (default 50). */
  bucketWindow?: number;
  /** Seed of the batch order (default 1). */
  seed?: number;
}

/** The training losses a checkpoint keeps (the last ones; training/core/loop.ts). */
export const SEQ2SEQ_CHECKPOINT_LOSSES = CHECKPOINT_LOSSES;

/**
 * The step budget (a fractional epoch count rounds up), time limit, stop signal and progress of
 * the shared loop (training/core/loop.ts), and the evaluation schedule.
 */
export interface Seq2SeqRunOptions extends StepLimits, LoopControls<Seq2SeqProgress> {
  /** Evaluate every this many steps (default: at the end of each epoch), and at the end. */
  evalEvery?: number;
  /** Greedy-decode at most this many validation pairs per evaluation (default 300; 0 = loss only). */
  maxEvalExamples?: number;
  /** Write checkpoints here (atomically) at every evaluation and at the end. */
  checkpointPath?: string;
  onEvaluation?: (e: Seq2SeqEvaluationRecord) => void;
  /**
   * Threads computing each step's gradient (default 1): the batch's examples are cut into N fixed
   * shares, N − 1 worker threads (started for this run, stopped at its end) compute theirs on the
   * same weights, the gradients are summed in worker order and one update follows
   * (training/seq2seq/parallel.ts): the same N and seed give the same bits; N = 1 is the
   * single-thread path. At most B threads are used. Needs the wasm backend, a float32 model and no
   * dropout (see Seq2SeqTrainer.parallelUnsupported).
   */
  threads?: number;
}

/** The loop's progress (loss: mean cross-entropy per target token of this batch, nats) and the step's update. */
export interface Seq2SeqProgress extends TrainProgress, Omit<UpdateInfo, 'clipRatio'> {
  /** unitsPerSecond: training examples per second. */
  examplesPerSecond: number;
}

/** The dropout generator's seed is the run's seed plus this (a stream apart from the batch order's). */
const DROPOUT_SEED_OFFSET = 0x5eed;

/** What one step returns: its loss, its update, and its batch size. */
export interface Seq2SeqStepInfo extends StepOutcome, UpdateInfo {
  examples: number;
}

export interface Seq2SeqEvaluationRecord {
  step: number;
  /** Seconds of training so far (all runs of this model, evaluations excluded). */
  trainSeconds: number;
  trainLoss: number;
  /** Validation loss per target token (nats), teacher forcing. */
  loss: number;
  /** Greedy exact match on the decoded validation pairs (NaN when none were decoded). */
  exactMatch: number;
  bleu: number;
  decoded: number;
}

export interface Seq2SeqTrainResult {
  steps: number;
  epochs: number;
  stopReason: StopReason;
  /** Seconds of this run (evaluations included). */
  seconds: number;
  /** Seconds spent in training steps over every run of this model. */
  trainSeconds: number;
  examplesPerSecond: number;
  finalLoss: number;
  lossHistory: number[];
  /** The step of lossHistory[0]. */
  lossHistoryFirstStep: number;
  evaluations: Seq2SeqEvaluationRecord[];
  lastEvaluation: Seq2SeqEvaluationRecord | null;
  /** Threads that computed the steps' gradients (Seq2SeqRunOptions.threads, at most B). */
  threads: number;
}

// ---- the trainer ---------------------------------------------------------------------------

export class Seq2SeqTrainer {
  readonly model: Seq2SeqModel;
  readonly data: PreparedSeq2SeqData;
  readonly config: Required<Seq2SeqTrainConfig>;
  readonly optimizer: OptimizerState;
  /** Facts about the data (file, level, split), saved in checkpoints and the model file. */
  dataInfo: Seq2SeqDataInfo = {};
  step = 0;
  trainSeconds = 0;
  /** Every step's loss and their moving average (all runs of this model). */
  readonly losses = new LossHistory();
  readonly evaluations: Seq2SeqEvaluationRecord[] = [];
  /** The batches' order (epoch, batch within it; saved, so a resume rebuilds them). */
  readonly order: Seq2SeqBatchOrder;
  /**
   * The dropout masks' own generator (seeded from the seed, saved in checkpoints): apart from the
   * order's, whose saved state is the epoch's start, so a resume redraws the same masks. Null without dropout.
   */
  readonly dropoutRng: Rng | null;
  private readonly dropout: DropoutMode;
  /** Check, clip, optimizer step (training/core/loop.ts). */
  private readonly update: Update;
  private readonly workspaces = new Map<number, Seq2SeqWorkspace>();
  /** The current run's checkpoint file, and the step of the last checkpoint written (−1: none). */
  private checkpointPath: string | undefined;
  private lastCheckpointStep = -1;
  /** The end of a NumericalError's message: which checkpoint is kept. */
  private readonly kept = (): string => keptNote(this.checkpointPath, this.lastCheckpointStep);

  constructor(model: Seq2SeqModel, data: PreparedSeq2SeqData, config: Seq2SeqTrainConfig, optimizer?: OptimizerState) {
    const op = 'Seq2SeqTrainer';
    if (!Number.isInteger(config.batch) || config.batch < 1) throw new Error(`${op}: expected batch to be an integer ≥ 1, got ${config.batch}`);
    if (config.clipNorm !== null && !(config.clipNorm > 0)) throw new Error(`${op}: expected clipNorm > 0 or null, got ${config.clipNorm}`);
    if (data.train.length === 0) throw new InputError(`${op}: expected at least one training pair, got none`);
    this.model = model;
    this.data = data;
    this.config = { bucketWindow: 50, seed: 1, clipMode: 'norm', ...config };
    const { params, grads } = seq2seqParameters(model);
    this.optimizer = optimizer ?? createOptimizer(config.optimizer, params);
    this.update = createUpdate(params, grads, this.optimizer, {
      clip: config.clipNorm === null ? null : { mode: config.clipMode ?? 'norm', max: config.clipNorm }, divergence: { op: 'seq2seq train', advice: 'lower --lr' },
    });
    this.order = new Seq2SeqBatchOrder(data.train, this.config);
    this.dropoutRng = model.config.dropout ? new Rng(this.config.seed + DROPOUT_SEED_OFFSET) : null;
    this.dropout = this.dropoutRng ? trainingDropout(model.config, this.dropoutRng) : DROPOUT_OFF;
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

  /** Per step, the training loss (this run, and the last steps of earlier runs a checkpoint keeps). */
  get lossHistory(): number[] {
    return this.losses.values;
  }

  /** The step of lossHistory[0] (1 unless a resumed checkpoint dropped older steps). */
  get lossHistoryFirstStep(): number {
    return this.losses.firstStep;
  }

  /** The workspaces' sizes: the longest source and target (+ <EOS>) of both splits. */
  private longest(): { maxSrc: number; maxTgt: number } {
    const { train, validation } = this.data;
    return {
      maxSrc: Math.max(1, ...train.map((e) => e.source?.length ?? 0), ...validation.map((e) => e.source?.length ?? 0)),
      maxTgt: 1 + Math.max(...train.map((e) => e.target.length), ...validation.map((e) => e.target.length), 0),
    };
  }

  private workspaceFor(batchSize: number): Seq2SeqWorkspace {
    let ws = this.workspaces.get(batchSize);
    if (!ws) {
      const { maxSrc, maxTgt } = this.longest();
      ws = createSeq2SeqWorkspace(this.model, maxSrc, maxTgt, batchSize);
      this.workspaces.set(batchSize, ws);
    }
    return ws;
  }

  /**
   * One training step on the next batch: teacher-forced forward, backward, the shared update.
   * Returns the mean loss per target token and the update; `run` records the loss.
   */
  trainStep(): Seq2SeqStepInfo {
    const indices = this.order.current();
    const examples = indices.map((i) => this.data.train[i]);
    const batch = makeSeq2SeqBatch(this.model, examples);
    const loss = (this.parallel ? this.parallel.step(indices, batch.tokens) : this.gradient(batch)) / batch.tokens;
    const stepNo = this.step + 1;
    const update = this.update(stepNo, loss, this.kept);
    this.step = stepNo;
    this.order.advance();
    return { ...update, loss, examples: examples.length, units: examples.length, epoch: this.order.epochsDone() };
  }

  /** One thread's gradient of the batch's mean loss into the model's gradient buffers; returns the summed loss. */
  private gradient(batch: Seq2SeqBatch): number {
    const ws = this.workspaceFor(batch.batch);
    seq2seqZeroGrad(this.model);
    const loss = seq2seqForward(this.model, ws, batch, this.dropout);
    seq2seqBackward(this.model, ws, 1 / batch.tokens);
    return loss;
  }

  /** The worker threads of a run with threads > 1 (null otherwise). */
  private parallel: Seq2SeqParallelStep | null = null;

  /**
   * Why this run cannot use worker threads (null: it can). Dropout masks are drawn from the
   * trainer's generator, which the workers do not share, so such runs stay on one thread (the
   * CLI's default then is 1).
   */
  parallelUnsupported(): string | null {
    return this.model.config.dropout ? 'dropout' : null;
  }

  /** Start the run's worker threads (threads > 1), or refuse with one line. */
  private startThreads(threads: number): void {
    if (!(Number.isInteger(threads) && threads >= 1)) throw new InputError(`Seq2SeqTrainer.run: expected threads to be an integer ≥ 1, got ${threads}`);
    if (threads === 1) return;
    const unsupported = this.parallelUnsupported();
    if (unsupported) throw new InputError(`Seq2SeqTrainer.run: threads > 1 do not support ${unsupported} yet: expected threads 1, got ${threads}`);
    const { maxSrc, maxTgt } = this.longest();
    this.parallel = new Seq2SeqParallelStep('seq2seq train', this.model, { train: this.data.train, maxSource: maxSrc, maxTarget: maxTgt }, this.config.batch, threads);
  }

  /** Validation loss and greedy exact match / BLEU on up to maxExamples validation pairs. */
  evaluate(maxExamples = 300): Omit<Seq2SeqEvaluationRecord, 'step' | 'trainSeconds' | 'trainLoss'> {
    const loss = this.data.validation.length > 0
      ? validationLoss(this.model, this.data.validation, this.config.batch, (b) => this.workspaceFor(b)).loss
      : NaN;
    const n = Math.min(maxExamples, this.data.validationPairs.length);
    if (n === 0) return { loss, exactMatch: NaN, bleu: NaN, decoded: 0 };
    const r = evaluateSeq2Seq(this.model, this.data.validationPairs.slice(0, n), { beamWidth: 1 });
    return { loss, exactMatch: r.exactMatch, bleu: r.bleu, decoded: n };
  }

  /**
   * Train until the step budget, the time limit or a stop request (the shared loop), evaluating
   * (and checkpointing) every evalEvery steps; the run ends with an evaluation unless one was just
   * made.
   */
  run(opts: Seq2SeqRunOptions = {}): Seq2SeqTrainResult {
    const now = opts.now ?? Date.now;
    const start = now();
    const { totalSteps, reason } = stepBudget('Seq2SeqTrainer.run', opts, this.stepsPerEpoch, Math.ceil);
    const evalEvery = opts.evalEvery ?? this.stepsPerEpoch;
    const maxEval = opts.maxEvalExamples ?? 300;
    const trainSecondsBefore = this.trainSeconds;
    this.checkpointPath = opts.checkpointPath;
    const evaluate = (): void => {
      const e = this.evaluate(maxEval);
      const record: Seq2SeqEvaluationRecord = {
        step: this.step, trainSeconds: this.trainSeconds, trainLoss: this.losses.smoothed, ...e,
      };
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
        },
      });
    } finally {
      this.parallel?.close(); // no worker thread outlives the run
      this.parallel = null;
    }
    this.trainSeconds = trainSecondsBefore + loop.stepSeconds;
    // Whatever the stop reason (an interrupted run too): a last evaluation, which writes the checkpoint.
    if (this.evaluations.length === 0 || this.evaluations[this.evaluations.length - 1].step !== this.step) evaluate();
    const last = this.evaluations[this.evaluations.length - 1] ?? null;
    return {
      steps: this.step,
      epochs: this.order.epochsDone(),
      stopReason: loop.stopReason,
      seconds: (now() - start) / 1000,
      trainSeconds: this.trainSeconds,
      examplesPerSecond: loop.unitsPerSecond,
      finalLoss: this.losses.smoothed,
      lossHistory: this.lossHistory.slice(),
      lossHistoryFirstStep: this.lossHistoryFirstStep,
      evaluations: this.evaluations.slice(),
      lastEvaluation: last,
      threads,
    };
  }

  // ---- checkpoints ----

  toCheckpointJSON(): Seq2SeqCheckpointJSON {
    return {
      kind: 'seqgrad.seq2seq-checkpoint',
      version: 1,
      model: seq2seqToJSON(this.model),
      optimizer: optimizerToJSON(this.optimizer),
      trainer: seq2seqRunJSON(this),
      data: { ...this.dataInfo, train: this.data.train.length, validation: this.data.validation.length },
    };
  }

  saveCheckpoint(path: string): void {
    writeFileAtomic(path, JSON.stringify(this.toCheckpointJSON()));
    this.lastCheckpointStep = this.step;
  }

  /** Continue from a checkpoint's position (used by resumeSeq2SeqTrainer). */
  restorePosition(state: Seq2SeqCheckpointJSON['trainer']): void {
    restoreSeq2SeqRun('resumeSeq2SeqTrainer', this, state);
    this.lastCheckpointStep = state.step;
  }
}

/**
 * What both seq2seq trainers (RNN and Transformer) keep of a run: the `trainer` section of their
 * checkpoints is made of it (seq2seqRunJSON) and a resume puts it back (restoreSeq2SeqRun).
 */
export interface Seq2SeqRun {
  readonly config: Required<Seq2SeqTrainConfig>;
  step: number;
  trainSeconds: number;
  readonly losses: LossHistory;
  readonly evaluations: Seq2SeqEvaluationRecord[];
  readonly order: Seq2SeqBatchOrder;
  /** The dropout masks' generator (null: the run draws none). */
  readonly dropoutRng: Rng | null;
}

/** A run's `trainer` section of a checkpoint (the last SEQ2SEQ_CHECKPOINT_LOSSES losses). */
export function seq2seqRunJSON(run: Seq2SeqRun): Seq2SeqCheckpointJSON['trainer'] {
  const losses = run.losses.tail(SEQ2SEQ_CHECKPOINT_LOSSES);
  return {
    config: run.config,
    step: run.step,
    ...run.order.position(),
    ...(run.dropoutRng ? { dropoutRngState: run.dropoutRng.getState() } : {}),
    trainSeconds: run.trainSeconds,
    smoothLoss: Number.isNaN(run.losses.smoothed) ? null : run.losses.smoothed,
    lossHistory: losses.values,
    lossHistoryFirstStep: losses.firstStep,
    evaluations: run.evaluations,
  };
}

/** Continue a fresh run (step 0) at a checkpoint's `trainer` section; InputErrors name `op`. */
export function restoreSeq2SeqRun(op: string, run: Seq2SeqRun, state: Seq2SeqCheckpointJSON['trainer']): void {
  run.order.restore(op, state);
  run.step = state.step;
  run.trainSeconds = state.trainSeconds;
  run.losses.smoothed = state.smoothLoss ?? NaN;
  // A loop, not push(...): a long history would overflow the call stack as arguments.
  for (const loss of state.lossHistory) run.losses.values.push(loss);
  for (const e of state.evaluations) run.evaluations.push(e);
  run.losses.firstStep = state.lossHistoryFirstStep ?? 1;
  if (run.dropoutRng) {
    if (!state.dropoutRngState) throw new InputError(`${op}: the model has dropout but the checkpoint keeps no dropout generator state (dropoutRngState)`);
    run.dropoutRng.setState(state.dropoutRngState);
  }
}

export interface Seq2SeqCheckpointJSON {
  kind: 'seqgrad.seq2seq-checkpoint';
  version: 1;
  model: Seq2SeqModelJSON;
  optimizer: OptimizerStateJSON;
  trainer: {
    config: Required<Seq2SeqTrainConfig>;
    step: number;
    epoch: number;
    batchInEpoch: number;
    epochRngState: RngState;
    /** The dropout masks' generator (only with dropout). */
    dropoutRngState?: RngState;
    trainSeconds: number;
    smoothLoss: number | null;
    /** The losses of the last (at most SEQ2SEQ_CHECKPOINT_LOSSES) steps, so checkpoints stay bounded. */
    lossHistory: number[];
    /** The step of lossHistory[0] (absent in older checkpoints: 1). */
    lossHistoryFirstStep?: number;
    evaluations: Seq2SeqEvaluationRecord[];
  };
  /** The data's description (file, level, split seed, …) and split sizes. */
  data: Seq2SeqDataInfo & { train?: number; validation?: number };
}

/**
 * What a run records about its data (Seq2SeqTrainer.dataInfo, saved in checkpoints) so that a
 * resume can prepare the same pairs the same way: the pairs file and the split's fraction and seed
 * (level, case and vocabularies come from the checkpoint's model). Other facts may be added.
 */
export interface Seq2SeqDataInfo {
  file?: string;
  level?: TokenLevel;
  sourceLevel?: TokenLevel;
  targetLevel?: TokenLevel;
  lowercase?: boolean;
  valFraction?: number;
  seed?: number;
  [fact: string]: unknown;
}

/** Read a checkpoint file (InputError naming it when missing or malformed). */
export function readSeq2SeqCheckpoint(path: string): Seq2SeqCheckpointJSON {
  return seq2seqCheckpointFromJSON(readJsonInput(path, 'checkpoint'), path);
}

/** A checkpoint's parsed JSON, checked for its kind and parts (InputError naming the file `path`). */
export function seq2seqCheckpointFromJSON(json: unknown, path: string): Seq2SeqCheckpointJSON {
  const j = json as Seq2SeqCheckpointJSON | null;
  if (j?.kind !== 'seqgrad.seq2seq-checkpoint' || j.version !== 1 || !j.trainer || !j.optimizer) {
    throw new InputError(`checkpoint ${path}: expected kind "seqgrad.seq2seq-checkpoint" version 1, got ${JSON.stringify((json as { kind?: unknown })?.kind)}`);
  }
  return j;
}

/**
 * A trainer that continues a checkpoint: its model, optimizer and batch order. `data` must be the
 * same pairs prepared the same way with the checkpoint model's vocabularies (see resumeSeq2SeqRun).
 */
export function resumeSeq2SeqTrainer(checkpoint: Seq2SeqCheckpointJSON, data: PreparedSeq2SeqData, source = 'checkpoint'): Seq2SeqTrainer {
  return continueRun(seq2seqFromJSON(checkpoint.model, source), checkpoint, data, source);
}

/** The pairs file a checkpoint's run was trained on, or null when its data description does not say. */
export function checkpointPairsFile(checkpoint: Pick<Seq2SeqCheckpointJSON, 'data'>): string | null {
  return typeof checkpoint.data.file === 'string' ? checkpoint.data.file : null;
}

/**
 * Rebuild a checkpoint's run on its `pairs` (read from checkpointPairsFile, or given anew): they
 * are prepared as the run prepared them — the checkpoint model's level, case and vocabularies, the
 * split fraction and seed of its data description — and the trainer continues where it stopped.
 */
export function resumeSeq2SeqRun(checkpoint: Seq2SeqCheckpointJSON, pairs: readonly SeqPair[], source = 'checkpoint'): Seq2SeqTrainer {
  const model = seq2seqFromJSON(checkpoint.model, source);
  return continueRun(model, checkpoint, prepareCheckpointPairs(checkpoint.data, model, pairs), source);
}

/**
 * A checkpoint's pairs prepared as its run prepared them (either seq2seq trainer): the model's
 * levels, case and vocabularies, the split fraction and seed of the checkpoint's data description.
 */
export function prepareCheckpointPairs(
  info: Seq2SeqCheckpointJSON['data'], model: Pick<Seq2SeqModel, 'sourceVocab' | 'targetVocab'> & { config: Pick<Seq2SeqModel['config'], 'sourceLevel' | 'targetLevel' | 'lowercase'> },
  pairs: readonly SeqPair[],
): PreparedSeq2SeqData {
  return prepareSeq2SeqData(pairs, {
    sourceLevel: model.config.sourceLevel, targetLevel: model.config.targetLevel, lowercase: model.config.lowercase, valFraction: info.valFraction ?? 0.1,
    seed: info.seed ?? 1, sourceVocab: model.sourceVocab ?? undefined, targetVocab: model.targetVocab,
  });
}

/** A resume must see the data its checkpoint was made on: the same split sizes (InputError naming `source`). */
export function checkCheckpointData(source: string, expected: Seq2SeqCheckpointJSON['data'], data: PreparedSeq2SeqData): void {
  if (expected.train !== undefined && (expected.train !== data.train.length || expected.validation !== data.validation.length)) {
    throw new InputError(`${source}: expected the data it was trained on (${expected.train} training / ${expected.validation} validation pairs), got ${data.train.length} / ${data.validation.length}`);
  }
}

function continueRun(model: Seq2SeqModel, checkpoint: Seq2SeqCheckpointJSON, data: PreparedSeq2SeqData, source: string): Seq2SeqTrainer {
  checkCheckpointData(source, checkpoint.data, data);
  const optimizer = optimizerFromJSON(optimizerWithCurrentNames(checkpoint.optimizer, seq2seqFormerNames(model)), seq2seqParameters(model).params);
  const trainer = new Seq2SeqTrainer(model, data, checkpoint.trainer.config, optimizer);
  trainer.dataInfo = { ...checkpoint.data };
  trainer.restorePosition(checkpoint.trainer);
  return trainer;
}

// ---- evaluation ----------------------------------------------------------------------------

/**
 * Mean loss per target token under teacher forcing, batched. `workspaceFor(B)` may supply reusable
 * workspaces (large enough for the examples); by default they are made here.
 */
export function validationLoss(
  model: Seq2SeqModel, examples: readonly Seq2SeqExample[], batchSize = 64, workspaceFor?: (batch: number) => Seq2SeqWorkspace,
): { loss: number; tokens: number } {
  if (examples.length === 0) return { loss: NaN, tokens: 0 };
  const maxSrc = Math.max(1, ...examples.map((e) => e.source?.length ?? 0));
  const maxTgt = 1 + Math.max(...examples.map((e) => e.target.length));
  const workspaces = new Map<number, Seq2SeqWorkspace>();
  let total = 0, tokens = 0;
  for (let start = 0; start < examples.length; start += batchSize) {
    const chunk = examples.slice(start, start + batchSize);
    let ws = workspaceFor ? workspaceFor(chunk.length) : workspaces.get(chunk.length);
    if (!ws) {
      ws = createSeq2SeqWorkspace(model, maxSrc, maxTgt, chunk.length);
      workspaces.set(chunk.length, ws);
    }
    const batch = makeSeq2SeqBatch(model, chunk);
    total += seq2seqForward(model, ws, batch);
    tokens += batch.tokens;
  }
  return { loss: total / tokens, tokens };
}

export interface Seq2SeqEvalOptions {
  /** 1 = greedy (default). */
  beamWidth?: number;
  lengthPenalty?: LengthPenalty;
  /** Attribute every error to the search or the model (default false). */
  errorAnalysis?: boolean;
  /** BLEU smoothing (default none). */
  smoothing?: BleuSmoothing;
  maxLength?: number;
  /** Called after each pair (done, total). */
  onProgress?: (done: number, total: number) => void;
}

export interface Seq2SeqEvalItem {
  source: string;
  reference: string;
  output: string;
  correct: boolean;
  /** Source length in tokens. */
  sourceLength: number;
  /** Position-wise matches of output and reference tokens over the reference length. */
  tokenMatches: number;
  referenceLength: number;
  /** The tokens BLEU compared. */
  outputTokens: string[];
  referenceTokens: string[];
  verdict?: ErrorVerdict;
  referenceScore?: number;
  outputScore?: number;
}

export interface ErrorAnalysisSummary {
  errors: number;
  /** Errors where P(y*|x) > P(ŷ|x): beam search at fault. */
  search: number;
  /** Errors where P(ŷ|x) ≥ P(y*|x): the model at fault. */
  model: number;
  searchFraction: number;
  modelFraction: number;
}

export interface Seq2SeqEvalResult {
  examples: number;
  /** Fraction of outputs whose tokens equal the reference's. */
  exactMatch: number;
  /** Corpus BLEU over target tokens (characters at a char-level target), n = 1…4. */
  bleu: number;
  /** Σ position-wise token matches / Σ reference lengths. */
  tokenAccuracy: number;
  errorAnalysis: ErrorAnalysisSummary | null;
  items: Seq2SeqEvalItem[];
}

/** Decode every pair's source (greedy or beam) and score the outputs against the references. */
export function evaluateSeq2Seq(model: Seq2SeqModel, pairs: readonly SeqPair[], opts: Seq2SeqEvalOptions = {}): Seq2SeqEvalResult {
  const decoder = new Seq2SeqDecoder(model);
  const tok = { level: model.config.sourceLevel, lowercase: model.config.lowercase };
  const targetTok = { level: model.config.targetLevel, lowercase: model.config.lowercase };
  const items: Seq2SeqEvalItem[] = [];
  const candidates: string[][] = [];
  const references: string[][][] = [];
  let search = 0, modelErrors = 0, matched = 0, refTokens = 0;
  // Every source decoded first, many at once (translateManyIds batches sources and hypotheses).
  const sources = pairs.map((pair, i) => {
    const srcTokens = tokenizeText(pair.source, tok);
    if (srcTokens.length === 0) throw new InputError(`evaluateSeq2Seq: expected pair ${i + 1} to have a source with at least one token, got none`);
    return (model.sourceVocab as Vocabulary).encode(srcTokens);
  });
  const outputs = translateManyIds(model, sources, { beamWidth: opts.beamWidth ?? 1, lengthPenalty: opts.lengthPenalty, maxLength: opts.maxLength });
  pairs.forEach((pair, i) => {
    const srcTokens = tokenizeText(pair.source, tok);
    const refTokensList = tokenizeText(pair.target, targetTok);
    const src = sources[i];
    const ref = model.targetVocab.encode(refTokensList);
    const [best] = outputs[i];
    const outTokens = model.targetVocab.decode(best.ids);
    const correct = best.finished && best.ids.length === ref.length && best.ids.every((t, k) => t === ref[k]);
    let tokenMatches = 0;
    for (let k = 0; k < ref.length; k++) if (best.ids[k] === ref[k]) tokenMatches++;
    matched += tokenMatches;
    refTokens += ref.length;
    const item: Seq2SeqEvalItem = {
      source: pair.source, reference: pair.target, output: best.text, correct, sourceLength: srcTokens.length,
      tokenMatches, referenceLength: ref.length, outputTokens: outTokens, referenceTokens: refTokensList,
    };
    if (opts.errorAnalysis && !correct) {
      const a = attributeTranslationError(decoder, src, ref, best, opts.lengthPenalty);
      item.verdict = a.verdict === 'correct' ? 'model' : a.verdict;
      item.referenceScore = a.referenceScore;
      item.outputScore = a.outputScore;
      if (item.verdict === 'search') search++;
      else modelErrors++;
    } else if (opts.errorAnalysis) {
      item.verdict = 'correct';
    }
    items.push(item);
    candidates.push(outTokens);
    references.push([refTokensList]);
    opts.onProgress?.(i + 1, pairs.length);
  });
  const n = items.length;
  const correctCount = items.filter((it) => it.correct).length;
  const errors = n - correctCount;
  const bleu = n === 0 ? NaN : corpusBleu(candidates, references, { smoothing: opts.smoothing ?? 'none' }).bleu;
  return {
    examples: n,
    exactMatch: n === 0 ? NaN : correctCount / n,
    bleu,
    tokenAccuracy: refTokens === 0 ? NaN : matched / refTokens,
    errorAnalysis: opts.errorAnalysis
      ? { errors, search, model: modelErrors, searchFraction: errors ? search / errors : 0, modelFraction: errors ? modelErrors / errors : 0 }
      : null,
    items,
  };
}

export interface LengthBucket {
  /** Source lengths [from, to] (tokens). */
  from: number;
  to: number;
  examples: number;
  bleu: number;
  exactMatch: number;
  tokenAccuracy: number;
}

/**
 * Score by source length (the notes' "BLEU falls with sentence length" curve): the evaluated items
 * grouped into buckets of `width` source tokens, corpus BLEU, exact match and token accuracy in each.
 */
export function scoresByLength(items: readonly Seq2SeqEvalItem[], width = 5, smoothing: BleuSmoothing = 'none'): LengthBucket[] {
  if (!Number.isInteger(width) || width < 1) throw new Error(`scoresByLength: expected an integer width ≥ 1, got ${width}`);
  const groups = new Map<number, Seq2SeqEvalItem[]>();
  for (const it of items) {
    const key = Math.floor((it.sourceLength - 1) / width);
    const list = groups.get(key) ?? [];
    list.push(it);
    groups.set(key, list);
  }
  return [...groups.keys()].sort((a, b) => a - b).map((key) => {
    const list = groups.get(key) as Seq2SeqEvalItem[];
    const bleu = corpusBleu(list.map((it) => it.outputTokens), list.map((it) => [it.referenceTokens]), { smoothing }).bleu;
    const matches = list.reduce((s, it) => s + it.tokenMatches, 0);
    const total = list.reduce((s, it) => s + it.referenceLength, 0);
    return {
      from: key * width + 1, to: (key + 1) * width, examples: list.length, bleu,
      exactMatch: list.filter((it) => it.correct).length / list.length,
      tokenAccuracy: total === 0 ? NaN : matches / total,
    };
  });
}
