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
 *
 * Evaluation (dropout off): the validation split in min(B, …) streams cut into contexts of T tokens
 * (the last shorter one too): loss per token (nats), perplexity, bits per token.
 * Results, progress and evaluation records have the shapes of the RNN trainer's (train.ts), so the CLI's
 * summaries and curves serve both. No checkpoints or resume (yet).
 */
import { crossEntropy, crossEntropyForwardBackward } from '../../engine/cross-entropy.js';
import type { Matrix } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import { DROPOUT_OFF, type DropoutMode } from '../../layers/dropout.js';
import { InputError } from '../core/errors.js';
import {
  LossHistory, createUpdate, runTrainingLoop, stepBudget, type LoopControls, type StepLimits, type Update,
} from '../core/loop.js';
import { createOptimizer, type OptimizerState } from '../core/optimizers.js';
import { DEFAULT_MAX_EVAL_TOKENS } from './train.js';
import type {
  LmData, LmEvaluation, LmEvaluationRecord, LmProgress, LmStepInfo, LmTrainConfig, LmTrainResult,
} from './train.js';
import {
  createTransformerLmWorkspace, transformerLmBackward, transformerLmForward, transformerLmParameters, transformerLmZeroGrad,
  type TransformerLanguageModel, type TransformerLmWorkspace,
} from './transformer-model.js';

/** The step budget, time limit, stop signal and progress of the shared loop (training/core/loop.ts), and the evaluations. */
export interface TransformerLmRunOptions extends StepLimits, LoopControls<LmProgress> {
  /** Evaluate every this many steps (default: once per epoch) and at the end. */
  evalEvery?: number;
  maxEvalTokens?: number;
  onEvaluation?: (e: LmEvaluationRecord) => void;
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
  private readonly ws: TransformerLmWorkspace;
  private readonly targets: Int32Array;
  private readonly params: Record<string, Matrix>;
  private readonly grads: Record<string, Matrix>;
  /** Check, clip, optimizer step (training/core/loop.ts). */
  private readonly update: Update;
  private readonly trainMode: DropoutMode;
  /** Evaluation workspaces by context length (the full T and the last, shorter context). */
  private readonly evalWs = new Map<string, { ws: TransformerLmWorkspace; targets: Int32Array }>();

  constructor(model: TransformerLanguageModel, data: LmData, config: LmTrainConfig) {
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
    this.optimizer = createOptimizer(config.optimizer, this.params);
    this.update = createUpdate(this.params, this.grads, this.optimizer, {
      clip: config.clip, divergence: { op: 'train-transformer', advice: 'lower --lr' },
    });
    this.rng = new Rng(model.config.seed);
    this.trainMode = { kind: 'sample', rng: this.rng };
    this.ws = createTransformerLmWorkspace(model, T, B);
    this.targets = new Int32Array(T * B);
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
    this.fillBatch();
    transformerLmZeroGrad(this.model);
    const logits = transformerLmForward(this.model, this.ws, this.trainMode);
    const loss = crossEntropyForwardBackward(logits, logits, this.targets, { reduction: 'mean' });
    transformerLmBackward(this.model, this.ws, logits);
    const update = this.update(stepNumber, loss);
    this.step = stepNumber;
    return { ...update, loss, epoch: this.step / this.stepsPerEpoch, units: T * B };
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
    let lastEvalStep = -1;
    let best: LmEvaluationRecord | null = null;
    let bestLoss: number | null = null;
    /** `stepSeconds`: this run's time in steps. */
    const evaluateNow = (stepSeconds: number): void => {
      const result = this.evaluate(opts.maxEvalTokens ?? DEFAULT_MAX_EVAL_TOKENS);
      lastEvalStep = this.step;
      if (!result) return;
      const record: LmEvaluationRecord = { ...result, step: this.step, trainSeconds: stepSeconds, trainLoss: this.smoothLoss };
      this.evaluations.push(record);
      if (bestLoss === null || record.loss < bestLoss) {
        bestLoss = record.loss;
        best = record;
      }
      opts.onEvaluation?.(record);
    };
    const loop = runTrainingLoop({
      startStep: this.step, totalSteps, budgetReason: reason, losses: this.losses,
      timeLimitSeconds: opts.timeLimitSeconds, signal: opts.signal, now,
      step: () => this.trainStep(),
      onProgress: opts.onProgress && ((p, s) => opts.onProgress!({
        ...p, gradNorm: s.gradNorm, clipRatio: s.clipRatio, lr: s.lr, tokensPerSecond: p.unitsPerSecond,
      })),
      afterStep: (p) => {
        if (this.step % evalEvery === 0) evaluateNow(p.stepSeconds);
        return undefined;
      },
    });
    if (lastEvalStep !== this.step) evaluateNow(loop.stepSeconds);
    return {
      steps: this.step,
      epochs: this.step / this.stepsPerEpoch,
      stopReason: loop.stopReason,
      seconds: (now() - start) / 1000,
      tokensPerSecond: loop.unitsPerSecond,
      finalLoss: this.smoothLoss,
      bestValidationLoss: bestLoss,
      restoredBest: false,
      threads: 1,
      bestEvaluation: best,
      lastEvaluation: this.evaluations.at(-1) ?? null,
      lossHistory: this.lossHistory,
      lossHistoryFirstStep: 1,
      evaluations: this.evaluations,
    };
  }
}
