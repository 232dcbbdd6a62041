/**
 * Training the causal Transformer language model (transformer-model.ts) on the corpus layout of
 * train.ts: the training split cut into B parallel streams of L = ⌊N / B⌋ tokens; step k feeds every
 * stream's tokens k·T … k·T + T − 1 and asks for the next token at each position (teacher forcing).
 * There is no state to carry: each chunk is one causal context of T tokens (T ≤ the model's maxLength).
 *
 * One step: forward with dropout (masks drawn from the trainer's seeded Rng), mean cross-entropy over
 * the T·B predictions, backward, then the shared update of training/core/loop.ts (createUpdate: the
 * non-finite and divergence guards, which stop training with a NumericalError before anything is
 * updated; clipping by global norm or value; one optimizer step). `run` is the shared loop
 * (runTrainingLoop: step budget, time limit, stop signal, the loss's moving average, progress).
 * With `threads` N > 1 the B streams are cut into N fixed shares computed on worker threads
 * (transformer-parallel.ts: gradients summed in worker order, one update; the whole batch's dropout
 * masks drawn here and shared out by rows, so N does not change them).
 *
 * Evaluation (dropout off): the validation split in min(B, …) streams cut into contexts of T tokens
 * (the last shorter one too): loss per token (nats), perplexity, bits per token.
 * Results, progress and evaluation records have the shapes of the RNN trainer's (train.ts), so the CLI's
 * summaries and curves serve both.
 *
 * Checkpoints (kind 'seqgrad.transformer-lm-checkpoint'): the model, the optimizer's state, the generator
 * (every dropout mask comes from it), the step, the losses and evaluations, and the data's fingerprint;
 * K steps + checkpoint + resume + (N − K) steps give the bits of N steps straight, as the RNN LM's.
 */
import { crossEntropy, crossEntropyForwardBackward } from '../../engine/cross-entropy.js';
import type { Matrix } from '../../engine/matrix.js';
import { Rng, type RngState } from '../../engine/rng.js';
import { DROPOUT_OFF, type DropoutMode } from '../../layers/dropout.js';
import { InputError } from '../core/errors.js';
import {
  CHECKPOINT_LOSSES, LossHistory, createUpdate, runTrainingLoop, stepBudget, type LoopControls, type StepLimits, type Update,
} from '../core/loop.js';
import {
  createOptimizer, optimizerFromJSON, optimizerToJSON, type OptimizerState, type OptimizerStateJSON,
} from '../core/optimizers.js';
import { writeFileAtomic } from '../io/files.js';
import { readJsonInput } from '../io/model-file.js';
import { DEFAULT_MAX_EVAL_TOKENS } from './train.js';
import {
  dataFingerprint, lmCheckpointFromJSON, type LmCheckpoint,
  type LmData, type LmDataFingerprint, type LmEvaluation, type LmEvaluationRecord, type LmProgress, type LmStepInfo, type LmTrainConfig, type LmTrainResult,
} from './train.js';
import {
  createTransformerLmWorkspace, transformerLmBackward, transformerLmForward, transformerLmFromJSON, transformerLmParameters,
  transformerLmToJSON, transformerLmZeroGrad,
  type TransformerLanguageModel, type TransformerLmJSON, type TransformerLmWorkspace,
} from './transformer-model.js';
import { TransformerLmParallelStep } from './transformer-parallel.js';

/** The step budget, time limit, stop signal and progress of the shared loop (training/core/loop.ts), and the evaluations. */
export interface TransformerLmRunOptions extends StepLimits, LoopControls<LmProgress> {
  /** Evaluate every this many steps (default: once per epoch) and at the end. */
  evalEvery?: number;
  /** Write a checkpoint here (atomically) at every evaluation (or every checkpointEvery steps) and at the end. */
  checkpointPath?: string;
  checkpointEvery?: number;
  /** How the corpus was read (for the CLI's resume), kept in the checkpoints. */
  corpus?: Record<string, unknown>;
  maxEvalTokens?: number;
  onEvaluation?: (e: LmEvaluationRecord) => void;
  /**
   * Threads computing each step's gradient (default 1): the B streams are cut into N fixed shares,
   * N − 1 worker threads (started for this run, stopped at its end) compute theirs on the same
   * weights, the gradients are summed in worker order and one update follows
   * (transformer-parallel.ts; dropout masks drawn for the whole batch, so N does not change them):
   * the same N and seed give the same bits; N = 1 is the single-thread path. At most B threads.
   * Needs the wasm backend and a float32 model.
   */
  threads?: number;
}

export class TransformerLmTrainer {
  readonly model: TransformerLanguageModel;
  readonly config: LmTrainConfig;
  readonly data: LmData;
  readonly optimizer: OptimizerState;
  /** Draws every dropout mask of the run. */
  readonly rng: Rng;
  readonly streamLength: number;
  readonly stepsPerEpoch: number;
  /** Every step's loss and their moving average (all runs of this trainer). */
  readonly losses = new LossHistory();
  readonly evaluations: LmEvaluationRecord[] = [];
  /** Steps done. */
  step = 0;
  /** Training seconds (time in steps) of earlier runs (restored from the checkpoint). */
  trainSecondsBefore = 0;
  /** How the corpus was read (restored from the checkpoint, or given to `run`). */
  corpus: Record<string, unknown> | null = null;
  private readonly ws: TransformerLmWorkspace;
  private readonly targets: Int32Array;
  private readonly params: Record<string, Matrix>;
  private readonly grads: Record<string, Matrix>;
  /** Check, clip, optimizer step (training/core/loop.ts). */
  private readonly update: Update;
  private readonly trainMode: DropoutMode;
  /** Evaluation workspaces by context length (the full T and the last, shorter context). */
  private readonly evalWs = new Map<string, { ws: TransformerLmWorkspace; targets: Int32Array }>();

  constructor(model: TransformerLanguageModel, data: LmData, config: LmTrainConfig, state?: TransformerLmTrainerState) {
    const op = 'TransformerLmTrainer';
    const { seqLen: T, batch: B } = config;
    for (const [name, v] of [['seqLen', T], ['batch', B]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new InputError(`${op}: expected ${name} to be an integer ≥ 1, got ${v}`);
    }
    if (T > model.config.maxLength) throw new InputError(`${op}: expected seq-len ≤ the model's context ${model.config.maxLength}, got ${T}`);
    const L = Math.floor(data.train.length / B);
    if (L - 1 < T) {
      throw new InputError(`${op}: the training split has ${data.train.length} tokens; batch ${B} × (seq-len ${T} + 1) = ${B * (T + 1)} are needed for one step (use a smaller --batch or --seq-len)`);
    }
    for (const [what, ids] of [['training', data.train], ['validation', data.validation]] as const) {
      const bad = ids.findIndex((id) => id < 0 || id >= model.vocab.size);
      if (bad >= 0) throw new InputError(`${op}: expected ${what} ids in [0, ${model.vocab.size}), got ${ids[bad]} at position ${bad}`);
    }
    this.model = model;
    this.config = config;
    this.data = data;
    this.streamLength = L;
    this.stepsPerEpoch = Math.floor((L - 1) / T);
    ({ params: this.params, grads: this.grads } = transformerLmParameters(model));
    this.optimizer = state?.optimizer ?? createOptimizer(config.optimizer, this.params);
    this.update = createUpdate(this.params, this.grads, this.optimizer, {
      clip: config.clip, divergence: { op: 'train-transformer', advice: 'lower --lr' },
    });
    this.rng = state?.rng ?? new Rng(model.config.seed);
    this.trainMode = { kind: 'sample', rng: this.rng };
    if (state) this.restore(op, state);
    this.ws = createTransformerLmWorkspace(model, T, B);
    this.targets = new Int32Array(T * B);
  }

  private restore(op: string, state: TransformerLmTrainerState): void {
    if (!Number.isInteger(state.step) || state.step < 0) throw new InputError(`${op}: expected a checkpoint step ≥ 0, got ${state.step}`);
    this.step = state.step;
    for (const loss of state.lossHistory) this.losses.values.push(loss);
    this.losses.smoothed = state.smoothLoss;
    this.losses.firstStep = state.lossHistoryFirstStep;
    for (const e of state.evaluations) this.evaluations.push(e);
    this.trainSecondsBefore = state.trainSeconds;
    this.corpus = state.corpus;
  }

  /** Everything a resume needs, as JSON. */
  checkpointJSON(): TransformerLmCheckpointJSON {
    const losses = this.losses.tail(CHECKPOINT_LOSSES);
    return {
      kind: TRANSFORMER_LM_CHECKPOINT,
      version: 1,
      model: transformerLmToJSON(this.model),
      train: { ...this.config },
      optimizer: optimizerToJSON(this.optimizer),
      rng: this.rng.getState(),
      step: this.step,
      smoothLoss: Number.isNaN(this.smoothLoss) ? null : this.smoothLoss,
      trainSeconds: this.trainSecondsBefore,
      lossHistory: losses.values,
      lossHistoryFirstStep: losses.firstStep,
      evaluations: this.evaluations,
      data: dataFingerprint(this.data),
      corpus: this.corpus,
    };
  }

  /** Write a checkpoint atomically. */
  saveCheckpoint(path: string): void {
    writeFileAtomic(path, JSON.stringify(this.checkpointJSON()));
  }

  /** Per step, the training loss (all runs of this trainer). */
  get lossHistory(): number[] {
    return this.losses.values;
  }

  /** The training loss's moving average (0.95 on the past; NaN before the first step). */
  get smoothLoss(): number {
    return this.losses.smoothed;
  }

  /** The epoch of the next step and its chunk within the epoch. */
  private get chunk(): number {
    return this.step % this.stepsPerEpoch;
  }

  private fillBatch(): void {
    const { seqLen: T, batch: B } = this.config;
    const base = this.chunk * T;
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        const pos = b * this.streamLength + base + t;
        this.ws.inputIds[t * B + b] = this.data.train[pos];
        this.targets[t * B + b] = this.data.train[pos + 1];
      }
    }
  }

  /**
   * One training step (see the file comment): forward, loss, backward, then the shared update
   * (check, clip, optimizer step). `run`'s loop records the loss (lossHistory, smoothLoss).
   */
  trainStep(): LmStepInfo {
    const { seqLen: T, batch: B } = this.config;
    const stepNumber = this.step + 1;
    const loss = this.parallel ? this.parallel.step(this.chunk, this.rng) : this.gradient();
    const update = this.update(stepNumber, loss);
    this.step = stepNumber;
    return { ...update, loss, epoch: this.step / this.stepsPerEpoch, units: T * B };
  }

  /** One thread's gradient of the step's mean loss into the model's gradient buffers; returns that loss. */
  private gradient(): number {
    this.fillBatch();
    transformerLmZeroGrad(this.model);
    const logits = transformerLmForward(this.model, this.ws, this.trainMode);
    const loss = crossEntropyForwardBackward(logits, logits, this.targets, { reduction: 'mean' });
    transformerLmBackward(this.model, this.ws, logits);
    return loss;
  }

  /** The worker threads of a run with threads > 1 (null otherwise). */
  private parallel: TransformerLmParallelStep | null = null;

  /** Start the run's worker threads (threads > 1), or refuse with one line. */
  private startThreads(threads: number): void {
    if (!(Number.isInteger(threads) && threads >= 1)) throw new InputError(`TransformerLmTrainer.run: expected threads to be an integer ≥ 1, got ${threads}`);
    if (threads === 1) return;
    const { seqLen, batch } = this.config;
    this.parallel = new TransformerLmParallelStep('train', this.model, { seqLen, batch, streamLength: this.streamLength, train: this.data.train }, threads);
  }

  /** Loss, perplexity and bits per token on the validation split (null when it is empty). */
  evaluate(maxTokens?: number): LmEvaluation | null {
    const ids = this.data.validation;
    if (ids.length < 2) return null;
    const B = Math.min(this.config.batch, ids.length - 1);
    let L = Math.floor(ids.length / B);
    if (maxTokens !== undefined && maxTokens > 0) L = Math.max(2, Math.min(L, Math.floor(maxTokens / B) + 1));
    let total = 0, count = 0;
    for (let p = 0; p < L - 1; p += this.config.seqLen) {
      const steps = Math.min(this.config.seqLen, L - 1 - p);
      const key = `${steps}x${B}`;
      let entry = this.evalWs.get(key);
      if (!entry) {
        entry = { ws: createTransformerLmWorkspace(this.model, steps, B), targets: new Int32Array(steps * B) };
        this.evalWs.set(key, entry);
      }
      const { ws, targets } = entry;
      for (let t = 0; t < steps; t++) {
        for (let b = 0; b < B; b++) {
          ws.inputIds[t * B + b] = ids[b * L + p + t];
          targets[t * B + b] = ids[b * L + p + t + 1];
        }
      }
      total += crossEntropy(transformerLmForward(this.model, ws, DROPOUT_OFF), targets);
      count += steps * B;
    }
    const loss = total / count;
    return { loss, perplexity: Math.exp(loss), bitsPerToken: loss / Math.LN2, tokens: count };
  }

  /** Train until the step budget, the time limit or a stop request (the shared loop); evaluates every evalEvery steps and at the end. */
  run(opts: TransformerLmRunOptions = {}): LmTrainResult {
    const now = opts.now ?? Date.now;
    const start = now();
    const { totalSteps, reason } = stepBudget('TransformerLmTrainer.run', opts, this.stepsPerEpoch);
    const evalEvery = opts.evalEvery ?? this.stepsPerEpoch;
    if (opts.corpus) this.corpus = opts.corpus;
    let lastCheckpointStep = this.step;
    const checkpoint = (force: boolean): void => {
      if (!opts.checkpointPath || this.step === lastCheckpointStep) return;
      if (force || opts.checkpointEvery === undefined || this.step % opts.checkpointEvery === 0) {
        this.saveCheckpoint(opts.checkpointPath);
        lastCheckpointStep = this.step;
      }
    };
    let lastEvalStep = -1;
    let best: LmEvaluationRecord | null = null;
    let bestLoss: number | null = null;
    /** `stepSeconds`: this run's time in steps. */
    const evaluateNow = (stepSeconds: number): void => {
      const result = this.evaluate(opts.maxEvalTokens ?? DEFAULT_MAX_EVAL_TOKENS);
      lastEvalStep = this.step;
      if (!result) return;
      const record: LmEvaluationRecord = { ...result, step: this.step, trainSeconds: this.trainSecondsBefore + stepSeconds, trainLoss: this.smoothLoss };
      this.evaluations.push(record);
      if (bestLoss === null || record.loss < bestLoss) {
        bestLoss = record.loss;
        best = record;
      }
      opts.onEvaluation?.(record);
    };
    this.startThreads(opts.threads ?? 1);
    const threads = this.parallel?.threads ?? 1;
    let loop: ReturnType<typeof runTrainingLoop>;
    try {
      loop = runTrainingLoop({
        startStep: this.step, totalSteps, budgetReason: reason, losses: this.losses,
        timeLimitSeconds: opts.timeLimitSeconds, signal: opts.signal, now,
        step: () => this.trainStep(),
        onProgress: opts.onProgress && ((p, s) => opts.onProgress!({
          ...p, gradNorm: s.gradNorm, clipRatio: s.clipRatio, lr: s.lr, tokensPerSecond: p.unitsPerSecond,
        })),
        afterStep: (p) => {
          const due = this.step % evalEvery === 0;
          if (due) evaluateNow(p.stepSeconds);
          if (due || opts.checkpointEvery !== undefined) checkpoint(false);
          return undefined;
        },
      });
    } finally {
      this.parallel?.close(); // no worker thread outlives the run
      this.parallel = null;
    }
    if (lastEvalStep !== this.step) evaluateNow(loop.stepSeconds);
    this.trainSecondsBefore += loop.stepSeconds;
    checkpoint(true);
    return {
      steps: this.step,
      epochs: this.step / this.stepsPerEpoch,
      stopReason: loop.stopReason,
      seconds: (now() - start) / 1000,
      tokensPerSecond: loop.unitsPerSecond,
      finalLoss: this.smoothLoss,
      bestValidationLoss: bestLoss,
      restoredBest: false,
      threads,
      bestEvaluation: best,
      lastEvaluation: this.evaluations.at(-1) ?? null,
      lossHistory: this.lossHistory,
      lossHistoryFirstStep: this.losses.firstStep,
      evaluations: this.evaluations,
    };
  }
}

// ---- checkpoints ---------------------------------------------------------------------------

export const TRANSFORMER_LM_CHECKPOINT = 'seqgrad.transformer-lm-checkpoint';

export interface TransformerLmCheckpointJSON {
  kind: typeof TRANSFORMER_LM_CHECKPOINT;
  version: 1;
  model: TransformerLmJSON;
  train: LmTrainConfig;
  optimizer: OptimizerStateJSON;
  rng: RngState;
  step: number;
  smoothLoss: number | null;
  trainSeconds: number;
  /** The losses of the last (at most CHECKPOINT_LOSSES) steps. */
  lossHistory: number[];
  lossHistoryFirstStep: number;
  evaluations: LmEvaluationRecord[];
  /** Sizes and a hash of the token ids: a resume must see the same data. */
  data: LmDataFingerprint;
  corpus: Record<string, unknown> | null;
}

/** The trainer's state as restored from a checkpoint. */
export interface TransformerLmTrainerState {
  optimizer: OptimizerState;
  rng: Rng;
  step: number;
  smoothLoss: number;
  trainSeconds: number;
  lossHistory: number[];
  lossHistoryFirstStep: number;
  evaluations: LmEvaluationRecord[];
  corpus: Record<string, unknown> | null;
}

export interface TransformerLmCheckpoint {
  model: TransformerLanguageModel;
  train: LmTrainConfig;
  state: TransformerLmTrainerState;
  data: LmDataFingerprint;
}

/** Parse and check a checkpoint's JSON (every problem is an InputError naming `source`). */
export function transformerLmCheckpointFromJSON(json: unknown, source = 'checkpoint'): TransformerLmCheckpoint {
  const fail = (what: string): never => { throw new InputError(`${source}: ${what}`); };
  if (json === null || typeof json !== 'object') fail('expected a JSON object');
  const j = json as Partial<TransformerLmCheckpointJSON>;
  if (j.kind !== TRANSFORMER_LM_CHECKPOINT) fail(`expected kind "${TRANSFORMER_LM_CHECKPOINT}", got ${JSON.stringify(j.kind)}`);
  if (j.version !== 1) fail(`expected version 1, got ${JSON.stringify(j.version)}`);
  const model = transformerLmFromJSON(j.model, `${source} (model)`);
  if (!j.train || typeof j.train !== 'object') fail('has no training configuration');
  let optimizer: OptimizerState;
  const rng = new Rng(0);
  try {
    optimizer = optimizerFromJSON(j.optimizer as OptimizerStateJSON, transformerLmParameters(model).params);
    rng.setState(j.rng as RngState);
  } catch (err) {
    return fail((err as Error).message);
  }
  if (!Number.isInteger(j.step) || (j.step as number) < 0) fail(`expected step to be an integer ≥ 0, got ${JSON.stringify(j.step)}`);
  if (!j.data || typeof j.data.hash !== 'string') fail('has no data fingerprint');
  return {
    model,
    train: j.train as LmTrainConfig,
    data: j.data as LmDataFingerprint,
    state: {
      optimizer, rng, step: j.step as number,
      smoothLoss: j.smoothLoss ?? NaN,
      trainSeconds: j.trainSeconds ?? 0,
      lossHistory: Array.isArray(j.lossHistory) ? j.lossHistory : [],
      lossHistoryFirstStep: Number.isInteger(j.lossHistoryFirstStep) && (j.lossHistoryFirstStep as number) >= 1 ? j.lossHistoryFirstStep as number : 1,
      evaluations: Array.isArray(j.evaluations) ? j.evaluations : [],
      corpus: j.corpus ?? null,
    },
  };
}

/** Read a checkpoint file (InputError naming the file when missing, empty or malformed). */
export function readTransformerLmCheckpoint(path: string): TransformerLmCheckpoint {
  return transformerLmCheckpointFromJSON(readJsonInput(path, 'checkpoint'), `checkpoint ${path}`);
}

/** Either language model's checkpoint, told apart by its kind. */
export function readAnyLmCheckpoint(path: string): { arch: 'rnn'; checkpoint: LmCheckpoint } | { arch: 'transformer'; checkpoint: TransformerLmCheckpoint } {
  const json = readJsonInput<{ kind?: unknown }>(path, 'checkpoint');
  if (json !== null && typeof json === 'object' && json.kind === TRANSFORMER_LM_CHECKPOINT) {
    return { arch: 'transformer', checkpoint: transformerLmCheckpointFromJSON(json, `checkpoint ${path}`) };
  }
  return { arch: 'rnn', checkpoint: lmCheckpointFromJSON(json, `checkpoint ${path}`) };
}

/** A trainer that continues a checkpoint on `data` (which must be the data it was made on). */
export function resumeTransformerLmTrainer(checkpoint: TransformerLmCheckpoint, data: LmData): TransformerLmTrainer {
  const fp = dataFingerprint(data), saved = checkpoint.data;
  if (fp.hash !== saved.hash || fp.trainTokens !== saved.trainTokens || fp.validationTokens !== saved.validationTokens) {
    throw new InputError(
      `resumeTransformerLmTrainer: the checkpoint was made on other data (${saved.trainTokens} + ${saved.validationTokens} tokens, hash ${saved.hash}), got ${fp.trainTokens} + ${fp.validationTokens} tokens, hash ${fp.hash}`,
    );
  }
  return new TransformerLmTrainer(checkpoint.model, data, checkpoint.train, checkpoint.state);
}
