/**
 * The one training loop of the project: `runTrainingLoop`, a plain function in the manner of
 * tfjs-layers' fit loop, calls a trainer's step until a stop reason. Every trainer (language model,
 * seq2seq, sentiment, tagger, trigger, trees, NPLM, GloVe) runs through it, so it alone owns
 *
 *   - the stop reasons: the step budget ('epochs' or 'max-steps', see stepBudget), the time limit,
 *     an early stop the trainer asks for after a step ('early-stopping', e.g. the validation loss
 *     stopped improving), and a stop request ('interrupted': the `signal` StopFlag of
 *     training/core/stop.ts — the CLI's Ctrl-C/SIGTERM flag, or an AbortSignal — checked between
 *     steps, so the step under way always finishes);
 *   - the time limit: no step is started when the seconds of this run plus the last step's
 *     duration would pass it;
 *   - the loss record: every step's loss and their moving average, 0.95 on the past (LossHistory;
 *     trainers that checkpoint pass theirs in, so a resumed run continues it; a checkpoint keeps
 *     only its last CHECKPOINT_LOSSES losses, see LossHistory.tail);
 *   - progress: one TrainProgress after every step, before the trainer's afterStep hook;
 *   - the hook after each step (`afterStep`), where trainers evaluate, write checkpoints and ask for
 *     an early stop. The end of a run (a last evaluation, the last checkpoint) is the trainer's,
 *     after the loop returns, whatever the stop reason.
 *
 * A step is the trainer's: it computes the gradient (forward, loss, backward) and then calls the
 * shared update made by `createUpdate`: the non-finite guard (a NaN or ±∞ in the loss or in any
 * gradient throws a NumericalError naming the step and the tensor before anything is updated, so
 * the weights in memory, and any checkpoint on disk, are the last good ones), the divergence guard
 * (a loss far above the run's first one, training/core/divergence.ts: same error, same promise),
 * gradient clipping
 * through engine/clip.ts (global norm as PyTorch's clip_grad_norm_, or by value), one optimizer
 * step.
 *
 * The CLI's Ctrl-C/SIGTERM handler (cli/interrupt.ts) sets the StopFlag it passes to a run as
 * `signal`; the trainer's end of run then saves as after any stop (skipping a last evaluation).
 * Data-parallel training (training/parallel/, used by the language model's trainer with threads > 1)
 * uses this split: worker threads compute a step's gradient into their buffers, the trainer sums them
 * into its own, and the update stays, unchanged, on the calling thread.
 */
import { clipByValue, clipGradNorm, globalNorm } from '../../engine/clip.js';
import type { Matrix } from '../../engine/matrix.js';
import { firstNonFinite, maxAbs } from '../../engine/ops.js';
import { checkDivergence, createDivergenceWatch } from './divergence.js';
import { InputError, NumericalError } from './errors.js';
import { optimizerStep, type OptimizerState, type ParamSet } from './optimizers.js';
import { stopRequested, type StopFlag } from './stop.js';

// ---- stop reasons and the step budget ------------------------------------------------------

export type StopReason = 'epochs' | 'max-steps' | 'time-limit' | 'early-stopping' | 'interrupted';

export interface StepLimits {
  /** Stop after this many epochs in total (default 1 when maxSteps is absent too). */
  epochs?: number;
  /** Stop after this many steps in total (counting the steps before a resume). */
  maxSteps?: number;
}

/**
 * The step at which a run ends: the smaller of epochs·stepsPerEpoch (made whole by `round`) and
 * maxSteps, both counted from the trainer's first step, so a resumed run ends where an uninterrupted
 * one would; one epoch when neither is given. `reason` is 'max-steps' when maxSteps is the limit
 * reached. Bad limits are an InputError naming `op`.
 */
export function stepBudget(
  op: string, limits: StepLimits, stepsPerEpoch: number, round: (steps: number) => number = Math.round,
): { totalSteps: number; reason: 'epochs' | 'max-steps' } {
  const { epochs, maxSteps } = limits;
  if (epochs !== undefined && !(epochs > 0)) throw new InputError(`${op}: expected epochs > 0, got ${epochs}`);
  if (maxSteps !== undefined && !(Number.isInteger(maxSteps) && maxSteps >= 0)) {
    throw new InputError(`${op}: expected maxSteps to be an integer ≥ 0, got ${maxSteps}`);
  }
  const byEpochs = epochs !== undefined ? round(epochs * stepsPerEpoch) : maxSteps === undefined ? stepsPerEpoch : Infinity;
  if (maxSteps !== undefined && maxSteps <= byEpochs) return { totalSteps: maxSteps, reason: 'max-steps' };
  return { totalSteps: byEpochs, reason: 'epochs' };
}

// ---- the loss record -----------------------------------------------------------------------

/** Weight of the past in the loss's moving average. */
export const LOSS_SMOOTHING = 0.95;

/** The loss's exponential moving average: 0.95 on the past; the first loss (previous NaN) starts it. */
export function movingAverage(previous: number, loss: number): number {
  return Number.isNaN(previous) ? loss : LOSS_SMOOTHING * previous + (1 - LOSS_SMOOTHING) * loss;
}

/** The training losses a checkpoint keeps (the last ones): ~75 KB whatever the run's length. */
export const CHECKPOINT_LOSSES = 4096;

/**
 * Every step's loss and their moving average, kept over the runs (and resumes) of a trainer.
 * A resumed history starts with the last losses its checkpoint kept: values[0] is the loss of
 * step `firstStep` (1 when nothing was dropped).
 */
export class LossHistory {
  /** `values` is taken, not copied. `smoothed` NaN: no loss yet. */
  constructor(readonly values: number[] = [], public smoothed = NaN, public firstStep = 1) {}

  add(loss: number): void {
    this.values.push(loss);
    this.smoothed = movingAverage(this.smoothed, loss);
  }

  /**
   * What a checkpoint keeps: the last `limit` losses (a copy) and the step of the first of them,
   * so a checkpoint stays bounded however long the run. The moving average is stored apart
   * (`smoothed`), so a resume continues it bit for bit.
   */
  tail(limit = CHECKPOINT_LOSSES): { values: number[]; firstStep: number } {
    const dropped = Math.max(0, this.values.length - limit);
    return { values: this.values.slice(dropped), firstStep: this.firstStep + dropped };
  }
}

// ---- progress ------------------------------------------------------------------------------

export interface TrainProgress {
  /** Steps done (the one just finished, counting the steps before a resume). */
  step: number;
  /** The step at which the run stops (the time limit, an early stop or a stop request may end it sooner). */
  totalSteps: number;
  /** Fractional epochs done. */
  epoch: number;
  /** This step's loss. */
  loss: number;
  /** The loss's moving average (0.95 on the past). */
  smoothLoss: number;
  /** Work (tokens, examples: the trainer's unit) per second spent in steps in this run; 0 before any time was measured. */
  unitsPerSecond: number;
  /** Seconds spent in steps in this run (evaluations and checkpoints in afterStep excluded). */
  stepSeconds: number;
  /** Seconds of this run so far. */
  elapsedSeconds: number;
}

/** What a trainer's options take from the loop (P: the trainer's own progress report). */
export interface LoopControls<P extends TrainProgress = TrainProgress> {
  /** Stop before a step that would end after this many seconds of this run. */
  timeLimitSeconds?: number;
  /** Stop after the step under way once the flag asks to (stop reason 'interrupted'): the CLI's StopFlag, or an AbortSignal. */
  signal?: StopFlag;
  /** Called after every step. */
  onProgress?: (p: P) => void;
  /** Milliseconds clock (default Date.now). */
  now?: () => number;
}

// ---- the loop ------------------------------------------------------------------------------

/** What a step tells the loop. */
export interface StepOutcome {
  /** The step's loss (its mean over the step's predictions). */
  loss: number;
  /** Fractional epochs done after the step. */
  epoch: number;
  /** Work done in the step, in the trainer's unit (tokens, examples): counted into unitsPerSecond. */
  units?: number;
}

export interface LoopOptions<S extends StepOutcome> extends Omit<LoopControls, 'onProgress'> {
  /** Steps done before this run (a resumed trainer's count). */
  startStep: number;
  /** Stop when this many steps are done in total (see stepBudget)… */
  totalSteps: number;
  /** …with this reason. */
  budgetReason: 'epochs' | 'max-steps';
  /** The record this run's losses are added to (a resumed trainer's); default a new one. */
  losses?: LossHistory;
  /** One step: gradient and update. A NumericalError it throws ends the run (nothing was updated). */
  step: () => S;
  onProgress?: (p: TrainProgress, outcome: S) => void;
  /** After each step's progress report: evaluate, checkpoint; a stop reason returned ends the run. */
  afterStep?: (p: TrainProgress, outcome: S) => StopReason | undefined;
}

export interface LoopResult {
  stopReason: StopReason;
  /** Steps done in total (the start count plus this run's). */
  steps: number;
  /** Steps done in this run. */
  runSteps: number;
  /** Seconds of this run (steps and hooks). */
  seconds: number;
  /** Seconds spent in steps. */
  stepSeconds: number;
  unitsPerSecond: number;
  /** The loss's moving average after the last step (NaN when there was none). */
  smoothLoss: number;
}

/** Call `step` until the budget, the time limit, a stop request or afterStep ends the run. */
export function runTrainingLoop<S extends StepOutcome>(opts: LoopOptions<S>): LoopResult {
  const now = opts.now ?? Date.now;
  const losses = opts.losses ?? new LossHistory();
  const start = now();
  let step = opts.startStep, units = 0, stepMs = 0, lastStepMs = 0;
  let stopReason: StopReason = opts.budgetReason;
  const perSecond = (): number => (stepMs > 0 ? units / (stepMs / 1000) : 0);
  while (step < opts.totalSteps) {
    if (stopRequested(opts.signal)) {
      stopReason = 'interrupted';
      break;
    }
    if (opts.timeLimitSeconds !== undefined && (now() - start + lastStepMs) / 1000 > opts.timeLimitSeconds) {
      stopReason = 'time-limit';
      break;
    }
    const t0 = now();
    const outcome = opts.step();
    const t1 = now();
    lastStepMs = t1 - t0;
    stepMs += lastStepMs;
    units += outcome.units ?? 0;
    step++;
    losses.add(outcome.loss);
    const progress: TrainProgress = {
      step, totalSteps: opts.totalSteps, epoch: outcome.epoch, loss: outcome.loss, smoothLoss: losses.smoothed,
      unitsPerSecond: perSecond(), stepSeconds: stepMs / 1000, elapsedSeconds: (t1 - start) / 1000,
    };
    opts.onProgress?.(progress, outcome);
    const asked = opts.afterStep?.(progress, outcome);
    if (asked) {
      stopReason = asked;
      break;
    }
  }
  return {
    stopReason, steps: step, runSteps: step - opts.startStep, seconds: (now() - start) / 1000,
    stepSeconds: stepMs / 1000, unitsPerSecond: perSecond(), smoothLoss: losses.smoothed,
  };
}

// ---- the update: non-finite guard, clipping, optimizer step --------------------------------

/**
 * 'norm': scale every gradient by max / (‖g‖ + 1e−6) when ‖g‖ > max, ‖g‖ over all of them
 * (PyTorch's clip_grad_norm_); 'value': clamp each entry to [−max, max] (the notes' clipping).
 */
export interface GradientClip {
  mode: 'norm' | 'value';
  max: number;
}

/** Throws an InputError naming `op` unless `clip` is null or a valid GradientClip. */
export function checkGradientClip(op: string, clip: GradientClip | null | undefined): void {
  if (clip === null || clip === undefined) return;
  if (clip.mode !== 'norm' && clip.mode !== 'value') throw new InputError(`${op}: expected clip mode 'norm' or 'value', got ${JSON.stringify(clip.mode)}`);
  if (!(clip.max > 0) || !Number.isFinite(clip.max)) throw new InputError(`${op}: expected a finite clip threshold > 0, got ${clip.max}`);
}

/**
 * Clip `grads` in place (nothing when `clip` is null); `norm` is their global norm. Returns the
 * clip ratio before clipping, ‖g‖/max (norm) or max|g|/max (value): > 1 means it clipped; 0 without clipping.
 */
export function clipGradients(grads: readonly Matrix[], clip: GradientClip | null, norm = globalNorm(grads)): number {
  if (!clip) return 0;
  if (clip.mode === 'norm') {
    clipGradNorm(grads, clip.max, norm);
    return norm / clip.max;
  }
  let worst = 0;
  for (const g of grads) worst = Math.max(worst, maxAbs(g));
  if (worst > clip.max) clipByValue(grads, clip.max);
  return worst / clip.max;
}

export interface UpdateInfo {
  /** ‖g‖ over all gradients, before clipping. */
  gradNorm: number;
  /** See clipGradients. */
  clipRatio: number;
  /** The learning rate of this update. */
  lr: number;
}

export interface UpdateOptions {
  /** null or absent: no clipping. */
  clip?: GradientClip | null;
  /** Gradient names in the order a failure looks for the first bad one (default: the order of `grads`). */
  gradOrder?: readonly string[];
  /**
   * The divergence guard's message (training/core/divergence.ts): `op` names the command or
   * function ("train"), `advice` what to change ("lower --lr"); the guard's `kept` note follows it.
   * Default: 'training', 'lower the learning rate'.
   */
  divergence?: { op: string; advice: string };
}

/**
 * One update of a model's parameters from the gradients of a step: check (non-finite values,
 * divergence: a loss far above the first one this update saw), clip, optimizer step.
 * `step` is the number of the step (1-based) and `loss` its loss, for the guards; `kept` gives the
 * end of the guard's message, only called on a failure (see keptNote; default: nothing was updated).
 */
export type Update = (step: number, loss: number, kept?: () => string) => UpdateInfo;

/** The update of `params` from `grads` (same names and shapes) with `optimizer`, made once per trainer. */
export function createUpdate(params: ParamSet, grads: ParamSet, optimizer: OptimizerState, opts: UpdateOptions = {}): Update {
  const gradList = Object.values(grads);
  const gradOrder = opts.gradOrder ?? Object.keys(grads);
  const clip = opts.clip ?? null;
  const { op, advice } = opts.divergence ?? { op: 'training', advice: 'lower the learning rate' };
  const watch = createDivergenceWatch();
  return (step, loss, kept = nothingKept) => {
    if (!Number.isFinite(loss)) failLoss(step, loss, params, kept());
    checkDivergence(watch, op, loss, step, () => `${advice}${kept()}`);
    const gradNorm = globalNorm(gradList);
    if (!Number.isFinite(gradNorm)) failGradients(step, gradNorm, grads, gradOrder, kept());
    const clipRatio = clipGradients(gradList, clip, gradNorm);
    const lr = optimizerStep(optimizer, params, grads);
    return { gradNorm, clipRatio, lr };
  };
}

/** The end of a NumericalError's message: what is left after training stopped before the update. */
export function keptNote(checkpointPath: string | undefined, lastCheckpointStep: number): string {
  if (!checkpointPath) return '; training stopped, nothing was updated with it';
  if (lastCheckpointStep < 0) return `; training stopped before any checkpoint was written to ${checkpointPath}`;
  return `; training stopped, the last good checkpoint ${checkpointPath} (step ${lastCheckpointStep}) is kept`;
}

const nothingKept = (): string => keptNote(undefined, -1);

function failLoss(step: number, loss: number, params: ParamSet, kept: string): never {
  // A bad loss usually comes from a bad weight: name the first one, if any.
  let weight = '';
  for (const name in params) {
    if (firstNonFinite(params[name])) {
      weight = ` (first non-finite weight: ${name})`;
      break;
    }
  }
  throw new NumericalError(`${loss} in loss at step ${step}${weight}${kept}`, step, 'loss');
}

function failGradients(step: number, norm: number, grads: ParamSet, order: readonly string[], kept: string): never {
  for (const name of order) {
    const at = firstNonFinite(grads[name]);
    if (at) {
      const tensor = `grad of ${name}`;
      throw new NumericalError(`${grads[name].get(at[0], at[1])} in ${tensor} at step ${step} (entry [${at[0]}, ${at[1]}])${kept}`, step, tensor);
    }
  }
  throw new NumericalError(`the gradient norm overflowed to ${norm} at step ${step}${kept}`, step, 'gradient norm');
}
