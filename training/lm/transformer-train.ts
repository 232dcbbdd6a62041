/**
 * Training the causal Transformer language model (transformer-model.ts) on the corpus layout of
 * train.ts: the training split cut into B parallel streams of L = ⌊N / B⌋ tokens; step k feeds every
 * stream's tokens k·T … k·T + T − 1 and asks for the next token at each position (teacher forcing).
 * There is no state to carry: each chunk is one causal context of T tokens (T ≤ the model's maxLength).
 *
 * One step: forward with dropout (masks drawn from the trainer's seeded Rng), mean cross-entropy over
 * the T·B predictions, backward, gradient clipping (global norm or value), one optimizer update. A NaN or
 * ±Infinity in the loss or the gradient norm stops training with a NumericalError before the update.
 *
 * Evaluation (dropout off): the validation split in min(B, …) streams cut into contexts of T tokens
 * (the last shorter one too): loss per token (nats), perplexity, bits per token.
 * Results, progress and evaluation records have the shapes of the RNN trainer's (train.ts), so the CLI's
 * summaries and curves serve both. No checkpoints or resume (yet).
 */
import { clipByValue, clipGradNorm, globalNorm } from '../../engine/clip.js';
import { crossEntropy, crossEntropyForwardBackward } from '../../engine/cross-entropy.js';
import type { Matrix } from '../../engine/matrix.js';
import { maxAbs } from '../../engine/ops.js';
import { Rng } from '../../engine/rng.js';
import { DROPOUT_OFF, type DropoutMode } from '../../layers/dropout.js';
import { InputError, NumericalError } from '../core/errors.js';
import { createOptimizer, learningRateAt, optimizerStep, type OptimizerState } from '../core/optimizers.js';
import type {
  LmData, LmEvaluation, LmEvaluationRecord, LmProgress, LmTrainConfig, LmTrainResult,
} from './train.js';
import {
  createTransformerLmWorkspace, transformerLmBackward, transformerLmForward, transformerLmParameters, transformerLmZeroGrad,
  type TransformerLanguageModel, type TransformerLmWorkspace,
} from './transformer-model.js';
import type { StopReason } from '../core/loop.js';
import { stopRequested, type StopFlag } from '../core/stop.js';

export interface TransformerLmRunOptions {
  /** Stop after this many epochs (default 1 when maxSteps is absent too). */
  epochs?: number;
  maxSteps?: number;
  /** Stop before a step that would end after this many seconds. */
  timeLimitSeconds?: number;
  /** Checked between steps: the run ends after the step under way ('interrupted'). */
  signal?: StopFlag;
  /** Evaluate every this many steps (default: once per epoch) and at the end. */
  evalEvery?: number;
  maxEvalTokens?: number;
  onProgress?: (p: LmProgress) => void;
  onEvaluation?: (e: LmEvaluationRecord) => void;
  now?: () => number;
}

const EMA = 0.95;

export class TransformerLmTrainer {
  readonly model: TransformerLanguageModel;
  readonly config: LmTrainConfig;
  readonly data: LmData;
  readonly optimizer: OptimizerState;
  /** Draws every dropout mask of the run. */
  readonly rng: Rng;
  readonly streamLength: number;
  readonly stepsPerEpoch: number;
  readonly lossHistory: number[] = [];
  readonly evaluations: LmEvaluationRecord[] = [];
  step = 0;
  smoothLoss = NaN;
  private readonly ws: TransformerLmWorkspace;
  private readonly targets: Int32Array;
  private readonly params: Record<string, Matrix>;
  private readonly grads: Record<string, Matrix>;
  private readonly gradList: Matrix[];
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
    this.gradList = Object.values(this.grads);
    this.optimizer = createOptimizer(config.optimizer, this.params);
    this.rng = new Rng(model.config.seed);
    this.trainMode = { kind: 'sample', rng: this.rng };
    this.ws = createTransformerLmWorkspace(model, T, B);
    this.targets = new Int32Array(T * B);
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

  /** One training step (see the file comment). */
  trainStep(): { loss: number; gradNorm: number; clipRatio: number; lr: number } {
    const stepNumber = this.step + 1;
    this.fillBatch();
    transformerLmZeroGrad(this.model);
    const logits = transformerLmForward(this.model, this.ws, this.trainMode);
    const loss = crossEntropyForwardBackward(logits, logits, this.targets, { reduction: 'mean' });
    if (!Number.isFinite(loss)) throw new NumericalError(`${loss} in loss at step ${stepNumber}; training stopped, nothing was updated with it`, stepNumber, 'loss');
    transformerLmBackward(this.model, this.ws, logits);
    let gradNorm: number;
    let clipRatio = 0;
    const clip = this.config.clip;
    if (clip?.mode === 'norm') {
      gradNorm = clipGradNorm(this.gradList, clip.max);
      clipRatio = gradNorm / clip.max;
    } else {
      gradNorm = globalNorm(this.gradList);
    }
    if (!Number.isFinite(gradNorm)) {
      throw new NumericalError(`the gradient norm is ${gradNorm} at step ${stepNumber}; training stopped, nothing was updated with it`, stepNumber, 'gradient norm');
    }
    if (clip?.mode === 'value') {
      let worst = 0;
      for (const g of this.gradList) worst = Math.max(worst, maxAbs(g));
      clipRatio = worst / clip.max;
      clipByValue(this.gradList, clip.max);
    }
    const lr = learningRateAt(this.optimizer.config.lr, this.optimizer.config.schedule, this.optimizer.step);
    optimizerStep(this.optimizer, this.params, this.grads);
    this.lossHistory.push(loss);
    this.smoothLoss = Number.isNaN(this.smoothLoss) ? loss : EMA * this.smoothLoss + (1 - EMA) * loss;
    this.step = stepNumber;
    return { loss, gradNorm, clipRatio, lr };
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

  /** Train until epochs / maxSteps / the time limit; evaluates every evalEvery steps and at the end. */
  run(opts: TransformerLmRunOptions = {}): LmTrainResult {
    const now = opts.now ?? Date.now;
    const start = now();
    const { seqLen: T, batch: B } = this.config;
    if (opts.epochs !== undefined && !(opts.epochs > 0)) throw new InputError(`TransformerLmTrainer.run: expected epochs > 0, got ${opts.epochs}`);
    const byEpochs = opts.epochs !== undefined ? Math.round(opts.epochs * this.stepsPerEpoch) : Infinity;
    const total = Math.min(byEpochs, opts.maxSteps ?? Infinity);
    const totalSteps = total === Infinity ? this.stepsPerEpoch : total;
    const evalEvery = opts.evalEvery ?? this.stepsPerEpoch;
    let evalSeconds = 0, stepsThisRun = 0, lastStepSeconds = 0, lastEvalStep = -1;
    let stopReason: StopReason | null = null;
    let best: LmEvaluationRecord | null = null;
    let bestLoss: number | null = null;
    const evaluateNow = (): void => {
      const t0 = now();
      const result = this.evaluate(opts.maxEvalTokens);
      evalSeconds += (now() - t0) / 1000;
      lastEvalStep = this.step;
      if (!result) return;
      const record: LmEvaluationRecord = {
        ...result, step: this.step, trainSeconds: (now() - start) / 1000 - evalSeconds, trainLoss: this.smoothLoss,
      };
      this.evaluations.push(record);
      if (bestLoss === null || record.loss < bestLoss) {
        bestLoss = record.loss;
        best = record;
      }
      opts.onEvaluation?.(record);
    };
    while (this.step < totalSteps) {
      if (stopRequested(opts.signal)) {
        stopReason = 'interrupted';
        break;
      }
      if (opts.timeLimitSeconds !== undefined && (now() - start) / 1000 + lastStepSeconds > opts.timeLimitSeconds) {
        stopReason = 'time-limit';
        break;
      }
      const t0 = now();
      const info = this.trainStep();
      stepsThisRun++;
      lastStepSeconds = (now() - t0) / 1000;
      const elapsedSeconds = (now() - start) / 1000;
      opts.onProgress?.({
        step: this.step, totalSteps, epoch: this.step / this.stepsPerEpoch, loss: info.loss, smoothLoss: this.smoothLoss,
        gradNorm: info.gradNorm, clipRatio: info.clipRatio, lr: info.lr,
        tokensPerSecond: (stepsThisRun * T * B) / Math.max(1e-9, elapsedSeconds - evalSeconds), elapsedSeconds,
        unitsPerSecond: (stepsThisRun * T * B) / Math.max(1e-9, elapsedSeconds - evalSeconds), stepSeconds: lastStepSeconds,
      });
      if (this.step % evalEvery === 0) evaluateNow();
    }
    stopReason ??= opts.maxSteps !== undefined && this.step >= opts.maxSteps ? 'max-steps' : 'epochs';
    if (lastEvalStep !== this.step) evaluateNow();
    const seconds = (now() - start) / 1000;
    return {
      steps: this.step,
      epochs: this.step / this.stepsPerEpoch,
      stopReason,
      seconds,
      tokensPerSecond: (stepsThisRun * T * B) / Math.max(1e-9, seconds - evalSeconds),
      finalLoss: this.smoothLoss,
      bestValidationLoss: bestLoss,
      restoredBest: false,
      bestEvaluation: best,
      lastEvaluation: this.evaluations.at(-1) ?? null,
      lossHistory: this.lossHistory,
      lossHistoryFirstStep: 1,
      evaluations: this.evaluations,
    };
  }
}
