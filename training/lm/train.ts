/**
 * Training a language model (training/language-model.ts) on a corpus with truncated BPTT — the
 * classic char-rnn layout:
 *
 *   - the corpus is one token array: each line's tokens followed by `<EOS>` (the notes' end of
 *     sentence; for characters, `<EOS>` stands for the newline); empty lines are skipped. With
 *     `format: 'stream'` (characters only, as char-rnn reads a file) it is the file's characters
 *     as they come: every newline is a token (the vocabulary's `<EOS>` entry, so sampling and
 *     scoring treat it as the line break they know), nothing is appended and nothing is skipped;
 *   - the last `valFraction` of it is the validation split;
 *   - the training part is cut into B parallel streams of L = ⌊N / B⌋ tokens; step k feeds every
 *     stream's tokens k·T … k·T + T − 1 and asks for the next token at each position (teacher
 *     forcing: the input at t is the true y⟨t−1⟩, never a prediction). With `batches: 'random'`
 *     each step instead reads B windows of T + 1 tokens at offsets drawn uniformly from the
 *     trainer's Rng, from a zero state (nothing carried); an epoch has the same number of steps;
 *   - the state a layer ends chunk k with is chunk k + 1's initial state (carried, but no gradient
 *     crosses the boundary); at the start of every epoch the streams restart from 0 with a zero
 *     state. An epoch is ⌊(L − 1) / T⌋ steps (a stream's tail shorter than T is left out).
 *
 * One step: forward, mean cross-entropy over the T·B predictions, BPTT, then the shared update of
 * training/core/loop.ts: gradient clipping (global norm or value; the clip ratio ‖g‖/maxNorm or
 * max|g|/maxValue is reported — > 1 means it clipped) and one optimizer update. A NaN or ±Infinity
 * in the loss or any gradient stops training before the update with a `NumericalError` naming the
 * step and the first bad tensor; the checkpoint on disk (if any) is the last good one, since
 * checkpoints are only written after good steps. `run` drives the steps with the shared loop
 * (stop reasons, time limit, progress, the loss's moving average) and adds evaluation, early
 * stopping and checkpoints after each step.
 *
 * Checkpoints (atomic) hold the weights, the optimizer state, the generator's state, the data
 * position, the carried state, the step, the best validation loss and the curves; `resumeLmTrainer`
 * continues bit-identically: K steps + save + load + (N − K) steps gives the weights of N steps.
 *
 * Evaluation: the validation split in min(B, …) streams from a zero state, chunks of T: loss per
 * token (nats), perplexity e^loss and bits per token loss / ln 2 (bits per character at char level).
 *
 * Memory: the workspaces are allocated when the trainer is made; a step allocates no buffers.
 */
import { crossEntropyForwardBackward } from '../../engine/cross-entropy.js';
import { type Matrix, copyInto } from '../../engine/matrix.js';
import type { DropoutMode } from '../../layers/dropout.js';
import { trainingDropout } from '../core/rnn-regularization.js';
import { Rng, type RngState } from '../../engine/rng.js';
import {
  createLmWorkspace, languageModelFromJSON, languageModelToJSON, lmBackward, lmForward,
  lmFormerNames, lmLoss, lmOptimizerParameters, lmResetState, lmZeroGrad,
  type LanguageModel, type LanguageModelJSON, type LmLevel, type LmWorkspace,
} from './model.js';
import { writeFileAtomic } from '../io/files.js';
import { optimizerWithCurrentNames, readJsonInput } from '../io/model-file.js';
import {
  CHECKPOINT_LOSSES, LossHistory, checkGradientClip, createUpdate, keptNote, runTrainingLoop, stepBudget,
  type GradientClip, type LoopControls, type LoopResult, type StepLimits, type StepOutcome, type StopReason, type TrainProgress,
  type Update, type UpdateInfo,
} from '../core/loop.js';
import {
  createOptimizer, optimizerFromJSON, optimizerToJSON, type OptimizerConfig, type OptimizerState, type OptimizerStateJSON,
} from '../core/optimizers.js';
import { matrixFromJSON, matrixToJSON, type MatrixJSON } from '../io/tensors.js';
import { EOS, UNK, Vocabulary, tokenizeText } from '../text/vocab.js';
import { InputError } from '../core/errors.js';
import { LmParallelStep } from './parallel.js';

// ---- the corpus ----------------------------------------------------------------------------

/** How a file becomes tokens: 'lines' (each line's tokens + `<EOS>`) or 'stream' (every character, newlines included). */
export type LmCorpusFormat = 'lines' | 'stream';

export interface LmCorpusOptions {
  level: LmLevel;
  /** Default 'lines'; 'stream' needs level 'char' (see the file comment). */
  format?: LmCorpusFormat;
  /** Lower-case the text first (default false). */
  lowercase?: boolean;
  /** Keep empty lines as a lone `<EOS>` (default false: skip them, as the notes skip empty sentences). */
  keepEmptyLines?: boolean;
}

/**
 * The corpus as one token list: every line's tokens (characters or words) followed by `<EOS>`.
 * `\r\n` counts as a line break; the text after the last newline is a line when it is not empty.
 */
export function tokenizeCorpus(text: string, opts: LmCorpusOptions): string[] {
  return [...corpusTokens(text, opts)];
}

/**
 * tokenizeCorpus one token at a time, without holding them all (a 100 MB corpus as a string[] of
 * characters takes gigabytes); at most the first `limit` tokens.
 */
export function* corpusTokens(text: string, opts: LmCorpusOptions, limit = Infinity): Generator<string> {
  if (checkCorpusFormat(opts) === 'stream') {
    yield* streamTokens(opts.lowercase ? text.toLowerCase() : text, limit);
    return;
  }
  let count = 0;
  let start = 0;
  while (start < text.length && count < limit) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end < text.length && end > start && text[end - 1] === '\r' ? end - 1 : end);
    start = end + 1;
    const tokens = tokenizeText(line, { level: opts.level, lowercase: opts.lowercase });
    if (tokens.length === 0 && !(opts.keepEmptyLines && line.length === 0)) continue;
    for (const t of tokens) {
      if (count++ >= limit) return;
      yield t;
    }
    if (count++ >= limit) return;
    yield EOS;
  }
}

function checkCorpusFormat(opts: LmCorpusOptions): LmCorpusFormat {
  const format = opts.format ?? 'lines';
  if (format !== 'lines' && format !== 'stream') throw new InputError(`corpus: expected format 'lines' or 'stream', got ${JSON.stringify(format)}`);
  if (format === 'stream' && opts.level !== 'char') throw new InputError(`corpus: format 'stream' reads characters; expected level 'char', got '${opts.level}'`);
  return format;
}

/** The characters of `text` (code points), a newline as `<EOS>`; at most `limit`. */
function* streamTokens(text: string, limit: number): Generator<string> {
  let count = 0;
  for (const ch of text) {
    if (count++ >= limit) return;
    yield ch === '\n' ? EOS : ch;
  }
}

export interface LmVocabularyOptions {
  /** Tokens seen fewer times become `<UNK>` (default 1). */
  minCount?: number;
  /** At most this many entries, specials included. */
  maxSize?: number;
}

/**
 * The vocabulary of a language model: specials `<EOS>`, `<UNK>` first, then by frequency. With
 * `withUnk: false` only `<EOS>` (a character stream that keeps every character needs no `<UNK>`,
 * and an unused class would only take probability mass, as char-rnn's softmax has none).
 */
export function buildLmVocabulary(tokens: Iterable<string>, opts: LmVocabularyOptions & { withUnk?: boolean } = {}): Vocabulary {
  const specials = opts.withUnk === false ? [EOS] : [EOS, UNK];
  let vocab: Vocabulary;
  try {
    vocab = Vocabulary.build(tokens, { minCount: opts.minCount, maxSize: opts.maxSize, specials });
  } catch (err) {
    throw new InputError(`buildLmVocabulary: ${(err as Error).message}`);
  }
  // Only the specials: every token would be <UNK>, and the model would learn nothing worth saving.
  if (vocab.size <= specials.length) {
    throw new InputError(
      `buildLmVocabulary: no token is left besides ${specials.join(' and ')} (minCount ${opts.minCount ?? 1}, maxSize ${opts.maxSize ?? 'none'}): lower --min-count or raise --max-vocab`,
    );
  }
  return vocab;
}

export interface LmData {
  train: Int32Array;
  validation: Int32Array;
}

/** Ids of `tokens`, the last ⌊valFraction·N⌋ of them as the validation split. */
export function splitLmData(ids: ArrayLike<number>, valFraction: number): LmData {
  if (!(valFraction >= 0 && valFraction < 1)) throw new Error(`splitLmData: expected valFraction in [0, 1), got ${valFraction}`);
  const all = Int32Array.from(ids);
  const nVal = Math.floor(all.length * valFraction);
  return { train: all.subarray(0, all.length - nVal), validation: all.subarray(all.length - nVal) };
}

export interface PreparedLmCorpus extends LmData {
  vocab: Vocabulary;
  tokenCount: number;
}

/**
 * Text → tokens → vocabulary (built on the training split only, unless `vocab` is given, e.g. a
 * resumed model's) → ids → train/validation split. A 'stream' keeping every character builds it
 * on the whole file, as char-rnn does (no `<UNK>`: a character seen only in validation has its
 * own class); with --min-count or --max-vocab it is built on the training split with `<UNK>`.
 */
export function prepareLmCorpus(
  text: string, opts: LmCorpusOptions & LmVocabularyOptions & { valFraction: number; vocab?: Vocabulary },
): PreparedLmCorpus {
  // Three passes over the text (count, vocabulary, ids) instead of one list of every token: memory
  // stays at the text plus 4 bytes per token.
  let n = 0;
  for (const _ of corpusTokens(text, opts)) n++;
  if (n < 2) throw new InputError(`prepareLmCorpus: expected a corpus of at least 2 tokens, got ${n}`);
  const nVal = Math.floor(n * opts.valFraction);
  const keepsEveryChar = (opts.format ?? 'lines') === 'stream' && (opts.minCount ?? 1) === 1 && opts.maxSize === undefined;
  const vocab = opts.vocab ??
    (keepsEveryChar ? buildLmVocabulary(corpusTokens(text, opts), { withUnk: false }) : buildLmVocabulary(corpusTokens(text, opts, n - nVal), opts));
  const ids = new Int32Array(n);
  let i = 0;
  for (const t of corpusTokens(text, opts)) ids[i++] = vocab.id(t);
  return { vocab, train: ids.subarray(0, n - nVal), validation: ids.subarray(n - nVal), tokenCount: n };
}

// ---- options, progress, results ------------------------------------------------------------

/** What decides the numbers of a run (saved in the checkpoint; a resume keeps them). */
export interface LmTrainConfig {
  /** T, the truncated-BPTT length (steps per chunk). */
  seqLen: number;
  /** B, parallel streams. */
  batch: number;
  optimizer: OptimizerConfig;
  /** null: no clipping. */
  clip: GradientClip | null;
  /** 'streams' (default): B contiguous streams, state carried; 'random': B windows at random offsets, zero state. */
  batches?: LmBatches;
}

export type LmBatches = 'streams' | 'random';

/**
 * The validation tokens an evaluation reads by default: all of a typical corpus's split (tiny
 * Shakespeare's 10% is 111,539 characters), a bounded sample of a very large one (a 100 MB corpus's
 * 10.5 M tokens took longer than the training between two evaluations). At ~1.5 nats of spread
 * per token, 200,000 tokens give the mean loss a standard error near 0.003 nats.
 */
export const DEFAULT_MAX_EVAL_TOKENS = 200_000;

/**
 * How long and how watched a run is (may change on resume): the step budget, time limit, stop
 * signal and progress of the shared loop (training/core/loop.ts), and the evaluation schedule.
 */
export interface LmRunOptions extends StepLimits, LoopControls<LmProgress> {
  /** Evaluate on the validation split every this many steps (default: once per epoch). */
  evalEvery?: number;
  /** …and/or every this many seconds (wall clock of this run). */
  evalEverySeconds?: number;
  /**
   * Evaluate on at most this many validation tokens (default DEFAULT_MAX_EVAL_TOKENS; 0 = all), so
   * validating a very large corpus's split does not dominate the run.
   */
  maxEvalTokens?: number;
  /** Stop when this many evaluations in a row did not improve the best validation loss (0 = never). */
  patience?: number;
  /** Write checkpoints here (atomically) every `checkpointEvery` steps and at the end. */
  checkpointPath?: string;
  /** Default: at every evaluation. */
  checkpointEvery?: number;
  onEvaluation?: (e: LmEvaluationRecord) => void;
  /** How the corpus was read (file, level, …): stored in checkpoints so a resume can read it again. */
  corpus?: Record<string, unknown>;
  /** Called after each backward pass, before the gradients are checked (tests inject faults here). */
  afterBackward?: (step: number, grads: Record<string, Matrix>) => void;
  /**
   * Threads computing each step's gradient (default 1: this thread only). N > 1: the batch's
   * streams are cut into N fixed shares, N − 1 worker threads (started for this run, stopped at its
   * end) each compute one on the same weights, the gradients are summed in a fixed order and one
   * update follows (training/lm/parallel.ts): the same N and seed give the same bits; N = 1 is the
   * single-thread path. At most B threads are used. Needs the wasm backend and a float32 model.
   */
  threads?: number;
}

/** The loop's progress (loss: mean cross-entropy per token of this step, nats) and the step's update. */
export interface LmProgress extends TrainProgress, UpdateInfo {
  /** unitsPerSecond: training tokens per second. */
  tokensPerSecond: number;
}

/** What one step returns: its loss, its update, and the tokens it trained on (T·B). */
export interface LmStepInfo extends StepOutcome, UpdateInfo {
  units: number;
}

export interface LmEvaluation {
  /** Mean −log P per token (nats). */
  loss: number;
  /** e^loss. */
  perplexity: number;
  /** loss / ln 2: bits per character (char level) or per word. */
  bitsPerToken: number;
  /** Predictions counted. */
  tokens: number;
}

export interface LmEvaluationRecord extends LmEvaluation {
  step: number;
  /** Seconds of training (over every run of this model, eval time excluded). */
  trainSeconds: number;
  /** Training loss (smoothed) at that step. */
  trainLoss: number;
}

export interface LmTrainResult {
  steps: number;
  epochs: number;
  stopReason: StopReason;
  /** Seconds of this run (evaluations included). */
  seconds: number;
  /** Training tokens per second of this run (time in steps only). */
  tokensPerSecond: number;
  finalLoss: number;
  bestValidationLoss: number | null;
  /** True when early stopping put back the weights of the best evaluation. */
  restoredBest: boolean;
  /** The evaluation with the lowest validation loss in this run. */
  bestEvaluation: LmEvaluationRecord | null;
  lastEvaluation: LmEvaluationRecord | null;
  /** Per step, the training loss (this run, and the last steps of earlier runs a checkpoint keeps). */
  lossHistory: number[];
  /** The step of lossHistory[0] (1 unless a resumed checkpoint dropped older steps). */
  lossHistoryFirstStep: number;
  evaluations: LmEvaluationRecord[];
  /** Threads that computed the steps' gradients (LmRunOptions.threads, at most B). */
  threads: number;
}

// ---- the trainer ---------------------------------------------------------------------------

interface TrainPosition {
  /** Steps done in total. */
  step: number;
  /** Epochs done. */
  epoch: number;
  /** Chunk index of the next step within the epoch. */
  chunk: number;
}

/** The training losses a checkpoint keeps (the last ones; training/core/loop.ts). */
export const LM_CHECKPOINT_LOSSES = CHECKPOINT_LOSSES;

export class LmTrainer {
  readonly model: LanguageModel;
  readonly config: LmTrainConfig;
  readonly data: LmData;
  readonly optimizer: OptimizerState;
  /** Every random choice of the run (saved and restored with the checkpoint). */
  readonly rng: Rng;
  readonly position: TrainPosition;
  /** Every step's loss and their moving average (all runs of this model). */
  readonly losses: LossHistory;
  readonly evaluations: LmEvaluationRecord[];
  bestValidationLoss: number | null;
  evalsWithoutImprovement: number;
  /** Training seconds (time in steps) of earlier runs (restored from the checkpoint). */
  trainSecondsBefore: number;
  /** The step of the last checkpoint written (−1: none yet). */
  lastCheckpointStep = -1;

  /** The training workspace; `workspace.state` is the state carried into the next chunk. */
  readonly ws: LmWorkspace;
  private evalWs: LmWorkspace | null = null;
  /** The weights at the best validation loss of this run (allocated at the first improvement). */
  private bestWeights: Record<string, Matrix> | null = null;
  private readonly params: Record<string, Matrix>;
  private readonly grads: Record<string, Matrix>;
  /** Check, clip, optimizer step (training/core/loop.ts). */
  private readonly update: Update;
  /** The stack's dropout in training steps: masks from `rng` (saved with it), or off (no draw). */
  private readonly dropout: DropoutMode;
  private readonly targets: Int32Array;
  /** The first position of each row's window this step. */
  private readonly windowStarts: Int32Array;
  /** Stream length L and steps per epoch. */
  readonly streamLength: number;
  readonly stepsPerEpoch: number;

  constructor(model: LanguageModel, data: LmData, config: LmTrainConfig, state?: LmTrainerState) {
    const op = 'LmTrainer';
    checkTrainConfig(op, config);
    const { seqLen: T, batch: B } = config;
    const L = Math.floor(data.train.length / B);
    if (L - 1 < T) {
      throw new InputError(
        `${op}: the training split has ${data.train.length} tokens; batch ${B} × (seq-len ${T} + 1) = ${B * (T + 1)} are needed for one step (use a smaller --batch or --seq-len)`,
      );
    }
    checkIds(op, data.train, model.vocab.size, 'training');
    checkIds(op, data.validation, model.vocab.size, 'validation');
    this.model = model;
    this.config = config;
    this.data = data;
    this.streamLength = L;
    this.stepsPerEpoch = Math.floor((L - 1) / T);
    ({ params: this.params, grads: this.grads } = lmOptimizerParameters(model));
    this.ws = createLmWorkspace(model, T, B);
    this.targets = new Int32Array(T * B);
    this.windowStarts = new Int32Array(B);
    if (state) {
      this.optimizer = state.optimizer;
      this.rng = state.rng;
      this.position = { ...state.position };
      this.losses = new LossHistory(state.lossHistory.slice(), state.smoothLoss, state.lossHistoryFirstStep ?? 1);
      checkPosition(op, state.position, this.stepsPerEpoch);
      this.evaluations = state.evaluations.slice();
      this.bestValidationLoss = state.bestValidationLoss;
      this.evalsWithoutImprovement = state.evalsWithoutImprovement;
      this.trainSecondsBefore = state.trainSeconds;
      this.corpus = state.corpus ?? undefined;
      if (state.carriedState) {
        state.carriedState.forEach((layer, l) => layer.forEach((s, k) => copyInto(this.ws.state[l][k], s)));
      }
      this.lastCheckpointStep = this.position.step;
    } else {
      this.optimizer = createOptimizer(config.optimizer, this.params);
      this.rng = new Rng(model.config.seed);
      this.position = { step: 0, epoch: 0, chunk: 0 };
      this.losses = new LossHistory();
      this.evaluations = [];
      this.bestValidationLoss = null;
      this.evalsWithoutImprovement = 0;
      this.trainSecondsBefore = 0;
    }
    this.dropout = trainingDropout(model.config, this.rng);
    // A failure names the first bad gradient in backward order (the output layer's first).
    this.update = createUpdate(this.params, this.grads, this.optimizer, {
      clip: config.clip, gradOrder: Object.keys(this.grads).reverse(), divergence: { op: 'train', advice: 'lower --lr' },
    });
  }

  /** Per step, the training loss (this run, and the last steps of earlier runs a checkpoint keeps). */
  get lossHistory(): number[] {
    return this.losses.values;
  }

  /** The step of lossHistory[0] (1 unless a resumed checkpoint dropped older steps). */
  get lossHistoryFirstStep(): number {
    return this.losses.firstStep;
  }

  /** The training loss's moving average (0.95 on the past; NaN before the first step). */
  get smoothLoss(): number {
    return this.losses.smoothed;
  }

  /** Keep a copy of the weights (the best evaluation's so far). */
  private rememberBestWeights(): void {
    if (this.bestWeights === null) {
      this.bestWeights = {};
      for (const [name, p] of Object.entries(this.params)) this.bestWeights[name] = p.clone();
      return;
    }
    for (const [name, p] of Object.entries(this.params)) copyInto(this.bestWeights[name], p);
  }

  /** Copy the remembered best weights back into the model; false when there are none. */
  private restoreBestWeights(): boolean {
    if (this.bestWeights === null) return false;
    for (const [name, p] of Object.entries(this.params)) copyInto(p, this.bestWeights[name]);
    return true;
  }

  /**
   * Fill the input and target ids of the next chunk: stream b at L·b + chunk·T + t, or (random
   * batches) at offset o_b + t with o_b uniform in [0, N − T − 1], drawn per step.
   */
  private fillBatch(): void {
    const { seqLen: T, batch: B } = this.config;
    const random = this.config.batches === 'random';
    const L = this.streamLength;
    const train = this.data.train;
    const inputs = this.ws.inputIds;
    const starts = this.windowStarts;
    for (let b = 0; b < B; b++) starts[b] = random ? this.rng.int(train.length - T) : b * L + this.position.chunk * T;
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        const pos = starts[b] + t;
        inputs[t * B + b] = train[pos];
        this.targets[t * B + b] = train[pos + 1];
      }
    }
  }

  /**
   * One step of truncated BPTT: forward the next chunk, mean cross-entropy, backward, then the
   * shared update (check, clip, optimizer step). Returns what the loop and the progress report
   * get; `run` records the loss (lossHistory, smoothLoss).
   */
  step(): LmStepInfo {
    const { seqLen: T, batch: B } = this.config;
    const stepNumber = this.position.step + 1;
    // A new epoch: the streams restart; random windows start from zeros every step.
    if (this.position.chunk === 0 || this.config.batches === 'random') lmResetState(this.ws);
    const loss = this.parallel ? this.parallel.step(this.position.chunk) : this.gradient();
    this.afterBackward?.(stepNumber, this.grads);
    const update = this.update(stepNumber, loss, this.kept);
    this.position.step = stepNumber;
    this.position.chunk++;
    if (this.position.chunk >= this.stepsPerEpoch) {
      this.position.chunk = 0;
      this.position.epoch++;
    }
    return { ...update, loss, epoch: this.epochsDone(), units: T * B };
  }

  /** The gradient of the next chunk's mean loss on this thread alone; returns the loss. */
  private gradient(): number {
    this.fillBatch();
    lmZeroGrad(this.model);
    const logits = lmForward(this.model, this.ws, this.ws.steps, this.dropout);
    // The logits buffer receives its own gradient (the loss reads each row before writing it).
    const loss = crossEntropyForwardBackward(logits, logits, this.targets, { reduction: 'mean' });
    lmBackward(this.model, this.ws, logits);
    return loss;
  }

  /** The worker threads of a run with threads > 1 (null otherwise). */
  private parallel: LmParallelStep | null = null;

  /**
   * Why this run cannot use worker threads (null: it can). The workers replay the streams' fixed
   * windows; random windows and dropout masks are drawn from the trainer's one Rng, which they do
   * not share, so such runs stay on one thread (the CLI's default then is 1).
   */
  parallelUnsupported(): string | null {
    if (this.config.batches === 'random') return "random batches (batches 'random')";
    if (this.model.config.dropout) return 'dropout';
    return null;
  }

  /** Fractional epochs done. */
  private epochsDone(): number {
    return this.position.epoch + this.position.chunk / this.stepsPerEpoch;
  }

  /** The current run's LmRunOptions.afterBackward, checkpointPath and corpus (set by `run`). */
  private afterBackward: LmRunOptions['afterBackward'] | undefined;
  private checkpointPath: string | undefined;
  private corpus: Record<string, unknown> | undefined;
  /** The end of a NumericalError's message: which checkpoint is kept. */
  private readonly kept = (): string => keptNote(this.checkpointPath, this.lastCheckpointStep);

  /** Loss, perplexity and bits per token on the validation split (null when it is empty). */
  evaluate(maxTokens?: number): LmEvaluation | null {
    const ids = this.data.validation;
    if (ids.length < 2) return null;
    const B = Math.min(this.config.batch, ids.length - 1);
    if (!this.evalWs || this.evalWs.batch !== B) this.evalWs = createLmWorkspace(this.model, this.config.seqLen, B);
    return evaluateWithWorkspace(this.model, this.evalWs, ids, maxTokens, this.targets);
  }

  /** Everything a resume needs, as JSON. */
  checkpointJSON(corpus: Record<string, unknown> | undefined = this.corpus): LmCheckpointJSON {
    const losses = this.losses.tail(LM_CHECKPOINT_LOSSES);
    return {
      kind: 'seqgrad.lm-checkpoint',
      version: 1,
      model: languageModelToJSON(this.model),
      train: { ...this.config },
      optimizer: optimizerToJSON(this.optimizer),
      rng: this.rng.getState(),
      position: { ...this.position },
      carriedState: this.ws.state.map((layer) => layer.map((s) => matrixToJSON(s))),
      bestValidationLoss: this.bestValidationLoss,
      evalsWithoutImprovement: this.evalsWithoutImprovement,
      smoothLoss: Number.isNaN(this.smoothLoss) ? null : this.smoothLoss,
      trainSeconds: this.trainSecondsBefore,
      lossHistory: losses.values,
      lossHistoryFirstStep: losses.firstStep,
      evaluations: this.evaluations,
      data: dataFingerprint(this.data),
      corpus: corpus ?? null,
    };
  }

  /** Write a checkpoint atomically. */
  saveCheckpoint(path: string, corpus: Record<string, unknown> | undefined = this.corpus): void {
    writeFileAtomic(path, JSON.stringify(this.checkpointJSON(corpus)));
    this.lastCheckpointStep = this.position.step;
  }

  /**
   * Train until the step budget, the time limit, early stopping or a stop request (the shared
   * loop); after each step evaluate and checkpoint as scheduled. The run ends with an evaluation
   * (unless one was just made) and a checkpoint; see LmRunOptions.
   */
  run(opts: LmRunOptions = {}): LmTrainResult {
    const now = opts.now ?? Date.now;
    const start = now();
    const { totalSteps, reason } = stepBudget('LmTrainer.run', opts, this.stepsPerEpoch);
    const evalEvery = opts.evalEvery ?? (opts.evalEverySeconds !== undefined ? Infinity : this.stepsPerEpoch);
    const patience = opts.patience ?? 0;
    const checkpointEvery = opts.checkpointEvery;
    this.afterBackward = opts.afterBackward;
    this.checkpointPath = opts.checkpointPath;
    this.corpus = opts.corpus ?? this.corpus;
    let lastEvalAt = start;
    let lastEvalStep = this.position.step;
    let last: LmEvaluationRecord | null = this.evaluations.at(-1) ?? null;
    let best: LmEvaluationRecord | null = null;

    /** Evaluate; true when early stopping should end the run. `stepSeconds`: this run's time in steps. */
    const evaluate = (stepSeconds: number): boolean => {
      const result = this.evaluate(opts.maxEvalTokens ?? DEFAULT_MAX_EVAL_TOKENS);
      lastEvalAt = now();
      lastEvalStep = this.position.step;
      if (!result) return false;
      const record: LmEvaluationRecord = {
        ...result, step: this.position.step, trainSeconds: this.trainSecondsBefore + stepSeconds, trainLoss: this.smoothLoss,
      };
      this.evaluations.push(record);
      last = record;
      if (this.bestValidationLoss === null || result.loss < this.bestValidationLoss) {
        this.bestValidationLoss = result.loss;
        this.evalsWithoutImprovement = 0;
        best = record;
        if (patience > 0) this.rememberBestWeights();
      } else {
        this.evalsWithoutImprovement++;
      }
      opts.onEvaluation?.(record);
      return patience > 0 && this.evalsWithoutImprovement >= patience;
    };
    const maybeCheckpoint = (force: boolean): void => {
      if (!opts.checkpointPath || this.position.step === this.lastCheckpointStep) return;
      if (force || (checkpointEvery !== undefined && this.position.step % checkpointEvery === 0)) {
        this.saveCheckpoint(opts.checkpointPath, this.corpus);
      }
    };

    const threads = opts.threads ?? 1;
    if (!(Number.isInteger(threads) && threads >= 1)) throw new InputError(`LmTrainer.run: expected threads to be an integer ≥ 1, got ${threads}`);
    if (threads > 1) {
      const unsupported = this.parallelUnsupported();
      if (unsupported) throw new InputError(`LmTrainer.run: threads > 1 do not support ${unsupported} yet: expected threads 1, got ${threads}`);
      const { seqLen, batch } = this.config;
      this.parallel = new LmParallelStep('train', this.model, { seqLen, batch, streamLength: this.streamLength, train: this.data.train }, this.ws.state, threads);
    }
    const threadsUsed = this.parallel?.threads ?? 1;
    let loop: LoopResult;
    try {
      loop = runTrainingLoop({
        startStep: this.position.step, totalSteps, budgetReason: reason, losses: this.losses,
        timeLimitSeconds: opts.timeLimitSeconds, signal: opts.signal, now,
        step: () => this.step(),
        onProgress: opts.onProgress && ((p, s) => opts.onProgress!({
          ...p, gradNorm: s.gradNorm, clipRatio: s.clipRatio, lr: s.lr, tokensPerSecond: p.unitsPerSecond,
        })),
        afterStep: (p) => {
          // By steps: at multiples of evalEvery (absolute, so a resumed run evaluates where an uninterrupted one does).
          const dueBySteps = this.position.step % evalEvery === 0 || this.position.step - lastEvalStep >= evalEvery;
          const dueBySeconds = opts.evalEverySeconds !== undefined && (now() - lastEvalAt) / 1000 >= opts.evalEverySeconds;
          if (!dueBySteps && !dueBySeconds) {
            maybeCheckpoint(false);
            return undefined;
          }
          const stop = evaluate(p.stepSeconds);
          maybeCheckpoint(checkpointEvery === undefined);
          return stop ? 'early-stopping' : undefined;
        },
      });
    } finally {
      this.parallel?.close(); // no worker thread outlives the run
      this.parallel = null;
    }
    // Early stopping ends with the weights of the best evaluation, not the last (they overfit since).
    const restoredBest = loop.stopReason === 'early-stopping' && this.restoreBestWeights();
    if (this.position.step !== lastEvalStep || this.evaluations.length === 0) evaluate(loop.stepSeconds);
    const seconds = (now() - start) / 1000;
    this.trainSecondsBefore += loop.stepSeconds;
    maybeCheckpoint(true);
    return {
      steps: this.position.step,
      epochs: this.epochsDone(),
      stopReason: loop.stopReason,
      seconds,
      tokensPerSecond: loop.unitsPerSecond,
      finalLoss: this.smoothLoss,
      bestValidationLoss: this.bestValidationLoss,
      restoredBest,
      bestEvaluation: best,
      lastEvaluation: last,
      lossHistory: this.lossHistory,
      lossHistoryFirstStep: this.lossHistoryFirstStep,
      evaluations: this.evaluations,
      threads: threadsUsed,
    };
  }
}

function checkTrainConfig(op: string, c: LmTrainConfig): void {
  const int = (name: string, v: number): void => {
    if (!Number.isInteger(v) || v < 1) throw new InputError(`${op}: expected ${name} to be an integer ≥ 1, got ${v}`);
  };
  int('seqLen', c.seqLen);
  int('batch', c.batch);
  checkGradientClip(op, c.clip);
  if (c.batches !== undefined && c.batches !== 'streams' && c.batches !== 'random') {
    throw new InputError(`${op}: expected batches 'streams' or 'random', got ${JSON.stringify(c.batches)}`);
  }
}

/**
 * A checkpoint's position must be one this data can be at: chunk within an epoch, and the step
 * count that epoch and chunk imply (a hand-edited `position.chunk: 999999` is refused, not run).
 */
function checkPosition(op: string, pos: TrainPosition, stepsPerEpoch: number): void {
  if (pos.chunk >= stepsPerEpoch || pos.step !== pos.epoch * stepsPerEpoch + pos.chunk) {
    throw new InputError(
      `${op}: checkpoint position { step ${pos.step}, epoch ${pos.epoch}, chunk ${pos.chunk} } does not fit this data ` +
      `(${stepsPerEpoch} steps per epoch: expected chunk < ${stepsPerEpoch} and step = epoch × ${stepsPerEpoch} + chunk)`,
    );
  }
}

function checkIds(op: string, ids: Int32Array, V: number, what: string): void {
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0 || ids[i] >= V) throw new Error(`${op}: expected ${what} token ids in [0, ${V}), got ${ids[i]} at position ${i}`);
  }
}

// ---- evaluation ----------------------------------------------------------------------------

/**
 * Loss per token, perplexity and bits per token of `model` on `ids`, read as min(batch, N − 1)
 * streams from a zero state in chunks of seqLen (the last chunk may be shorter).
 */
export function evaluateLanguageModel(
  model: LanguageModel, ids: ArrayLike<number>, opts: { seqLen?: number; batch?: number; maxTokens?: number } = {},
): LmEvaluation {
  const all = Int32Array.from(ids);
  if (all.length < 2) throw new Error(`evaluateLanguageModel: expected at least 2 tokens, got ${all.length}`);
  const T = opts.seqLen ?? 100;
  const B = Math.min(opts.batch ?? 32, all.length - 1);
  const ws = createLmWorkspace(model, T, B);
  return evaluateWithWorkspace(model, ws, all, opts.maxTokens, new Int32Array(T * B));
}

function evaluateWithWorkspace(
  model: LanguageModel, ws: LmWorkspace, ids: Int32Array, maxTokens: number | undefined, targetsBuffer: Int32Array,
): LmEvaluation {
  const B = ws.batch, T = ws.steps;
  let L = Math.floor(ids.length / B); // each stream: L tokens, L − 1 predictions
  if (maxTokens !== undefined && maxTokens > 0) L = Math.max(2, Math.min(L, Math.floor(maxTokens / B) + 1));
  const targets = targetsBuffer.length >= T * B ? targetsBuffer : new Int32Array(T * B);
  lmResetState(ws);
  let total = 0;
  let count = 0;
  for (let p = 0; p < L - 1; p += T) {
    const steps = Math.min(T, L - 1 - p);
    for (let t = 0; t < steps; t++) {
      for (let b = 0; b < B; b++) {
        ws.inputIds[t * B + b] = ids[b * L + p + t];
        targets[t * B + b] = ids[b * L + p + t + 1];
      }
    }
    const logits = lmForward(model, ws, steps);
    const n = steps * B;
    total += lmLoss(logits, n === targets.length ? targets : targets.subarray(0, n));
    count += n;
  }
  const loss = total / count;
  return { loss, perplexity: Math.exp(loss), bitsPerToken: loss / Math.LN2, tokens: count };
}

// ---- checkpoints ---------------------------------------------------------------------------

export interface LmCheckpointJSON {
  kind: 'seqgrad.lm-checkpoint';
  version: 1;
  model: LanguageModelJSON;
  train: LmTrainConfig;
  optimizer: OptimizerStateJSON;
  rng: RngState;
  position: TrainPosition;
  carriedState: MatrixJSON[][];
  bestValidationLoss: number | null;
  evalsWithoutImprovement: number;
  smoothLoss: number | null;
  trainSeconds: number;
  /** The losses of the last (at most LM_CHECKPOINT_LOSSES) steps, so checkpoints stay bounded. */
  lossHistory: number[];
  /** The step of lossHistory[0] (absent in older checkpoints: 1). */
  lossHistoryFirstStep?: number;
  evaluations: LmEvaluationRecord[];
  /** Sizes and a hash of the token ids: a resume must see the same data. */
  data: LmDataFingerprint;
  /** How the corpus was read (level, lowercase, validation fraction, file, …), for the CLI. */
  corpus: Record<string, unknown> | null;
}

export interface LmDataFingerprint {
  trainTokens: number;
  validationTokens: number;
  /** FNV-1a (32 bit) over the train ids then the validation ids, hex. */
  hash: string;
}

export function dataFingerprint(data: LmData): LmDataFingerprint {
  let h = 0x811c9dc5;
  const mix = (ids: Int32Array): void => {
    for (let i = 0; i < ids.length; i++) {
      let v = ids[i];
      for (let k = 0; k < 4; k++) {
        h ^= v & 0xff;
        h = Math.imul(h, 0x01000193) >>> 0;
        v >>>= 8;
      }
    }
  };
  mix(data.train);
  mix(data.validation);
  return { trainTokens: data.train.length, validationTokens: data.validation.length, hash: h.toString(16).padStart(8, '0') };
}

/** The trainer's state as restored from a checkpoint. */
export interface LmTrainerState {
  optimizer: OptimizerState;
  rng: Rng;
  position: TrainPosition;
  carriedState: Matrix[][] | null;
  bestValidationLoss: number | null;
  evalsWithoutImprovement: number;
  smoothLoss: number;
  trainSeconds: number;
  lossHistory: number[];
  lossHistoryFirstStep?: number;
  evaluations: LmEvaluationRecord[];
  /** How the corpus was read, carried into the next checkpoints. */
  corpus?: Record<string, unknown> | null;
}

export interface LmCheckpoint {
  model: LanguageModel;
  train: LmTrainConfig;
  state: LmTrainerState;
  data: LmDataFingerprint;
  corpus: Record<string, unknown> | null;
}

/** Parse and check a checkpoint's JSON (every problem is an InputError naming `source`). */
export function lmCheckpointFromJSON(json: unknown, source = 'checkpoint'): LmCheckpoint {
  const fail = (what: string): never => { throw new InputError(`${source}: ${what}`); };
  if (json === null || typeof json !== 'object') fail('expected a JSON object');
  const j = json as Partial<LmCheckpointJSON>;
  if (j.kind !== 'seqgrad.lm-checkpoint') fail(`expected kind "seqgrad.lm-checkpoint", got ${JSON.stringify(j.kind)} (not a training checkpoint)`);
  if (j.version !== 1) fail(`expected version 1, got ${JSON.stringify(j.version)}`);
  const model = languageModelFromJSON(j.model, `${source} (model)`);
  if (!j.train || typeof j.train !== 'object') fail('has no training configuration');
  const train = j.train as LmTrainConfig;
  try {
    checkTrainConfig('train', train);
  } catch (err) {
    fail((err as Error).message);
  }
  let optimizer: OptimizerState;
  try {
    optimizer = optimizerFromJSON(optimizerWithCurrentNames(j.optimizer as OptimizerStateJSON, lmFormerNames(model)), lmOptimizerParameters(model).params);
  } catch (err) {
    return fail((err as Error).message);
  }
  const rng = new Rng(0);
  try {
    rng.setState(j.rng as RngState);
  } catch (err) {
    fail((err as Error).message);
  }
  const pos = j.position;
  if (!pos || ![pos.step, pos.epoch, pos.chunk].every((v) => Number.isInteger(v) && v >= 0)) fail('expected position { step, epoch, chunk } of integers ≥ 0');
  let carriedState: Matrix[][] | null = null;
  try {
    carriedState = (j.carriedState ?? []).map((layer) => layer.map((m) => matrixFromJSON(m)));
  } catch (err) {
    fail(`carried state: ${(err as Error).message}`);
  }
  if (!carriedState || carriedState.length !== model.cells.length) fail(`expected carried state for ${model.cells.length} layer(s)`);
  carriedState!.forEach((layer, l) => {
    const cell = model.cells[l];
    if (layer.length !== cell.stateCount || layer.some((m) => m.rows !== train.batch || m.cols !== cell.hiddenSize || m.dtype !== cell.dtype)) {
      fail(`expected layer ${l}'s carried state to be ${cell.stateCount} ${cell.dtype} [${train.batch}, ${cell.hiddenSize}] matrices`);
    }
  });
  if (!j.data || typeof j.data.hash !== 'string') fail('has no data fingerprint');
  return {
    model,
    train,
    data: j.data!,
    corpus: j.corpus ?? null,
    state: {
      optimizer,
      rng,
      position: pos!,
      carriedState,
      bestValidationLoss: j.bestValidationLoss ?? null,
      evalsWithoutImprovement: j.evalsWithoutImprovement ?? 0,
      smoothLoss: j.smoothLoss ?? NaN,
      trainSeconds: j.trainSeconds ?? 0,
      lossHistory: Array.isArray(j.lossHistory) ? j.lossHistory : [],
      lossHistoryFirstStep: Number.isInteger(j.lossHistoryFirstStep) && j.lossHistoryFirstStep! >= 1 ? j.lossHistoryFirstStep : 1,
      evaluations: Array.isArray(j.evaluations) ? j.evaluations : [],
      corpus: j.corpus ?? null,
    },
  };
}

/** Read a checkpoint file (InputError naming the file when missing, empty or malformed). */
export function readLmCheckpoint(path: string): LmCheckpoint {
  return lmCheckpointFromJSON(readJsonInput(path, 'checkpoint'), `checkpoint ${path}`);
}

/** A trainer that continues a checkpoint on `data` (which must be the data it was made on). */
export function resumeLmTrainer(checkpoint: LmCheckpoint, data: LmData): LmTrainer {
  const fp = dataFingerprint(data);
  const saved = checkpoint.data;
  if (fp.hash !== saved.hash || fp.trainTokens !== saved.trainTokens || fp.validationTokens !== saved.validationTokens) {
    throw new InputError(
      `resumeLmTrainer: the checkpoint was made on other data (${saved.trainTokens} + ${saved.validationTokens} tokens, hash ${saved.hash}), got ${fp.trainTokens} + ${fp.validationTokens} tokens, hash ${fp.hash}`,
    );
  }
  return new LmTrainer(checkpoint.model, data, checkpoint.train, checkpoint.state);
}

/** A fresh trainer (its own generator seeded with model.config.seed). */
export function createLmTrainer(model: LanguageModel, data: LmData, config: LmTrainConfig): LmTrainer {
  return new LmTrainer(model, data, config);
}
