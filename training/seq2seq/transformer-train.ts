/**
 * Training and evaluating the Transformer encoder-decoder (transformer-model.ts) on text pairs, with the
 * data, batching and records of the RNN trainer (train.ts): pairs prepared by prepareSeq2SeqData,
 * length-bucketed batches (lengthBucketedBatches), one step = teacher-forced forward with dropout
 * (masks from the seeded Rng), mean cross-entropy per target token, backward, then the shared update of
 * training/core/loop.ts (createUpdate: non-finite and divergence guards, global-norm clipping, one
 * optimizer step); `run` is the shared loop (runTrainingLoop: step budget, time limit, stop signal,
 * the loss's moving average, progress); evaluation = validation loss (dropout off) and greedy exact match / BLEU on up to
 * maxEvalExamples validation pairs. No checkpoints or resume yet.
 *
 * Batch shapes: a Transformer workspace has fixed (T_x, T_y, B), so each batch is padded further to
 * lengths rounded up to `lengthQuantum` (default 8) times a power of two (8, 16, 32, 64, …; at most
 * maxLength) and workspaces are cached per rounded shape — a handful of shapes per run instead of
 * one per length pair. Powers of two, not multiples: workspaces live as long as the trainer (their
 * WebAssembly memory comes back only after a garbage collection, never inside the synchronous
 * loop), and with multiples the shapes of sources 5–60 words long at batch 64 filled the 2 GiB of
 * WebAssembly memory within ~100 steps.
 */
import { Matrix } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import { DROPOUT_OFF, type DropoutMode } from '../../layers/dropout.js';
import { InputError } from '../core/errors.js';
import { LossHistory, createUpdate, runTrainingLoop, stepBudget, type Update } from '../core/loop.js';
import { createOptimizer, type OptimizerState } from '../core/optimizers.js';
import { corpusBleu } from '../metrics/bleu.js';
import { tokenizeText } from '../text/vocab.js';
import { makeSeq2SeqBatch, type Seq2SeqBatch, type Seq2SeqExample } from './model.js';
import type { SeqPair } from './tasks.js';
import {
  lengthBucketedBatches, type PreparedSeq2SeqData, type Seq2SeqEvalItem, type Seq2SeqEvaluationRecord, type Seq2SeqRunOptions,
  type Seq2SeqStepInfo, type Seq2SeqTrainConfig, type Seq2SeqTrainResult,
} from './train.js';
import {
  TransformerSeq2SeqDecoder, TransformerSeq2SeqWorkspaces, batchView, transformerSeq2SeqBackward, transformerSeq2SeqForward,
  transformerSeq2SeqParameters, transformerSeq2SeqZeroGrad, transformerTranslateIds, type TransformerSeq2SeqModel,
} from './transformer-model.js';

/** `batch` padded to T_x′ ≥ T_x and T_y′ ≥ T_y steps (time-major: the new steps are appended, all padding). */
export function padSeq2SeqBatch(batch: Seq2SeqBatch, srcSteps: number, tgtSteps: number, srcPad: number, tgtPad: number): Seq2SeqBatch {
  if (srcSteps < batch.srcSteps || tgtSteps < batch.tgtSteps || !batch.srcMask) {
    throw new Error(`padSeq2SeqBatch: expected T_x ≥ ${batch.srcSteps} and T_y ≥ ${batch.tgtSteps} for an encoder-decoder batch, got ${srcSteps} and ${tgtSteps}`);
  }
  const B = batch.batch;
  const extend = (ids: Int32Array, steps: number, pad: number): Int32Array => {
    const out = new Int32Array(steps * B).fill(pad);
    out.set(ids);
    return out;
  };
  const extendMask = (mask: Matrix, steps: number): Matrix => {
    const out = Matrix.zeros(steps, B, mask.dtype);
    for (let t = 0; t < mask.rows; t++) for (let b = 0; b < B; b++) out.set(t, b, mask.get(t, b));
    return out;
  };
  return {
    ...batch, srcSteps, tgtSteps,
    srcIds: extend(batch.srcIds, srcSteps, srcPad), srcMask: extendMask(batch.srcMask, srcSteps),
    tgtIn: extend(batch.tgtIn, tgtSteps, tgtPad), tgtOut: extend(batch.tgtOut, tgtSteps, tgtPad), tgtMask: extendMask(batch.tgtMask, tgtSteps),
  };
}

export class TransformerSeq2SeqTrainer {
  readonly model: TransformerSeq2SeqModel;
  readonly data: PreparedSeq2SeqData;
  readonly config: Required<Seq2SeqTrainConfig> & { lengthQuantum: number };
  readonly optimizer: OptimizerState;
  dataInfo: Record<string, unknown> = {};
  step = 0;
  epoch = 0;
  batchInEpoch = 0;
  trainSeconds = 0;
  /** Every step's loss and their moving average (all runs of this trainer). */
  readonly losses = new LossHistory();
  readonly evaluations: Seq2SeqEvaluationRecord[] = [];
  private readonly rng: Rng;
  private readonly trainMode: DropoutMode;
  private epochBatches: number[][];
  /** Check, clip, optimizer step (training/core/loop.ts). */
  private readonly update: Update;
  private readonly workspaces: TransformerSeq2SeqWorkspaces;

  constructor(model: TransformerSeq2SeqModel, data: PreparedSeq2SeqData, config: Seq2SeqTrainConfig & { lengthQuantum?: number }) {
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
    this.optimizer = createOptimizer(config.optimizer, params);
    this.update = createUpdate(params, grads, this.optimizer, {
      clip: config.clipNorm === null ? null : { mode: config.clipMode ?? 'norm', max: config.clipNorm },
      divergence: { op: 'seq2seq-transformer train', advice: 'lower --lr' },
    });
    this.rng = new Rng(this.config.seed);
    this.trainMode = { kind: 'sample', rng: new Rng(model.config.seed) };
    this.workspaces = new TransformerSeq2SeqWorkspaces(model);
    this.epochBatches = lengthBucketedBatches(data.train, this.config.batch, this.config.bucketWindow, this.rng);
  }

  get stepsPerEpoch(): number {
    return this.epochBatches.length;
  }

  /** Per step, the training loss (all runs of this trainer). */
  get lossHistory(): number[] {
    return this.losses.values;
  }

  /** Fractional epochs done. */
  private epochsDone(): number {
    return this.epoch + this.batchInEpoch / this.stepsPerEpoch;
  }

  /** The padded batch of these examples (lengths rounded up to the quantum times a power of two, capped by maxLength). */
  private batchOf(examples: readonly Seq2SeqExample[]): Seq2SeqBatch {
    const batch = makeSeq2SeqBatch(batchView(this.model), examples);
    const q = this.config.lengthQuantum, max = this.model.config.maxLength;
    const round = (n: number): number => {
      let rows = q;
      while (rows < n) rows *= 2;
      return Math.min(rows, max);
    };
    return padSeq2SeqBatch(batch, round(batch.srcSteps), round(batch.tgtSteps), this.model.sourceVocab.id('<PAD>'), this.model.ids.pad);
  }

  /**
   * One training step on the next batch: teacher-forced forward, backward, the shared update.
   * Returns the mean loss per target token and the update; `run`'s loop records the loss.
   */
  trainStep(): Seq2SeqStepInfo {
    if (this.batchInEpoch >= this.epochBatches.length) {
      this.epoch++;
      this.batchInEpoch = 0;
      this.epochBatches = lengthBucketedBatches(this.data.train, this.config.batch, this.config.bucketWindow, this.rng);
    }
    const examples = this.epochBatches[this.batchInEpoch].map((i) => this.data.train[i]);
    const batch = this.batchOf(examples);
    const ws = this.workspaces.get(batch);
    const stepNo = this.step + 1;
    transformerSeq2SeqZeroGrad(this.model);
    const loss = transformerSeq2SeqForward(this.model, ws, batch, this.trainMode);
    transformerSeq2SeqBackward(this.model, ws);
    const update = this.update(stepNo, loss);
    this.step = stepNo;
    this.batchInEpoch++;
    return { ...update, loss, examples: examples.length, units: examples.length, epoch: this.epochsDone() };
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
   * request (the shared loop), evaluating every evalEvery steps; the run ends with an evaluation
   * unless one was just made.
   */
  run(opts: Omit<Seq2SeqRunOptions, 'checkpointPath'> = {}): Seq2SeqTrainResult {
    if ((opts.threads ?? 1) !== 1) throw new InputError(`TransformerSeq2SeqTrainer.run: the Transformer trains on one thread: expected threads 1, got ${opts.threads}`);
    const now = opts.now ?? Date.now;
    const start = now();
    const { totalSteps, reason } = stepBudget('TransformerSeq2SeqTrainer.run', opts, this.stepsPerEpoch, Math.ceil);
    const evalEvery = opts.evalEvery ?? this.stepsPerEpoch;
    const maxEval = opts.maxEvalExamples ?? 300;
    const trainSecondsBefore = this.trainSeconds;
    const evaluate = (): void => {
      const record: Seq2SeqEvaluationRecord = { step: this.step, trainSeconds: this.trainSeconds, trainLoss: this.losses.smoothed, ...this.evaluate(maxEval) };
      this.evaluations.push(record);
      opts.onEvaluation?.(record);
    };
    const loop = runTrainingLoop({
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
    this.trainSeconds = trainSecondsBefore + loop.stepSeconds;
    if (this.evaluations.length === 0 || this.evaluations[this.evaluations.length - 1].step !== this.step) evaluate();
    return {
      steps: this.step, epochs: this.epochsDone(), stopReason: loop.stopReason, seconds: (now() - start) / 1000,
      trainSeconds: this.trainSeconds, examplesPerSecond: loop.unitsPerSecond,
      finalLoss: this.losses.smoothed, lossHistory: this.lossHistory.slice(), lossHistoryFirstStep: 1, evaluations: this.evaluations.slice(),
      lastEvaluation: this.evaluations[this.evaluations.length - 1] ?? null,
      threads: 1,
    };
  }
}

/** Greedy (or beam) decode every pair's source and score the outputs: exact match, corpus BLEU, items. */
export function evaluateTransformerSeq2Seq(
  model: TransformerSeq2SeqModel, pairs: readonly SeqPair[], opts: { beamWidth?: number } = {},
): { examples: number; exactMatch: number; bleu: number; items: Seq2SeqEvalItem[] } {
  const decoder = new TransformerSeq2SeqDecoder(model);
  const tok = { level: model.config.sourceLevel, lowercase: model.config.lowercase };
  const targetTok = { level: model.config.targetLevel, lowercase: model.config.lowercase };
  const items: Seq2SeqEvalItem[] = [];
  pairs.forEach((pair, i) => {
    const srcTokens = tokenizeText(pair.source, tok);
    if (srcTokens.length === 0) throw new InputError(`evaluateTransformerSeq2Seq: expected pair ${i + 1} to have a source with at least one token, got none`);
    const referenceTokens = tokenizeText(pair.target, targetTok);
    const ref = model.targetVocab.encode(referenceTokens);
    const [best] = transformerTranslateIds(decoder, model.sourceVocab.encode(srcTokens), { beamWidth: opts.beamWidth ?? 1 });
    let tokenMatches = 0;
    for (let k = 0; k < ref.length; k++) if (best.ids[k] === ref[k]) tokenMatches++;
    items.push({
      source: pair.source, reference: pair.target, output: best.text, sourceLength: srcTokens.length,
      correct: best.finished && best.ids.length === ref.length && tokenMatches === ref.length,
      tokenMatches, referenceLength: ref.length, outputTokens: model.targetVocab.decode(best.ids), referenceTokens,
    });
  });
  decoder.release(); // its decode buffers now, not at a garbage collection
  const n = items.length;
  const bleu = n === 0 ? NaN : corpusBleu(items.map((it) => it.outputTokens), items.map((it) => [it.referenceTokens])).bleu;
  return { examples: n, exactMatch: n === 0 ? NaN : items.filter((it) => it.correct).length / n, bleu, items };
}
