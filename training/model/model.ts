/**
 * The Model API: the notes' architectures assembled from a JSON config (training/model/config.ts)
 * and trained, scored and used without wiring workspaces, gradients and optimizers by hand.
 *
 *   const model = createModel({ shape: 'many-to-one', vocabSize: 20, embeddingDim: 8,
 *                               rnn: { cell: 'lstm', hidden: 16 }, outputSize: 2 });
 *   model.fit({ inputs, targets }, { epochs: 20, validation, earlyStopping: { patience: 3 } });
 *   model.evaluate(test);            // { loss, accuracy, predictions }
 *   model.predict([[3, 4, 5]]);      // probabilities (classify, tag) or token ids (generate)
 *   saveModel(path, model); loadModel(path);          // training/model/model-file.ts
 *
 * - `fit` runs the shared loop (training/core/loop.ts runTrainingLoop: step budget, time limit,
 *   the stop flag `signal` — Ctrl-C in the CLI, an AbortSignal in a program — and progress) with the
 *   shared update (createUpdate: non-finite and divergence guards, clipping, the optimizer of
 *   training/core/optimizers.ts with its learning-rate schedules). Each epoch visits the sequences
 *   in a new order drawn from the model's Rng, in batches of `batchSize` (the last one smaller).
 *   Validation runs every `validateEvery` steps (default: once per epoch) and at the end; early
 *   stopping ends the run after `patience` validations without improvement and, by default,
 *   puts the weights of the best validation back (also after any other stop). Checkpoints go to a
 *   CheckpointSink (model-file.ts `checkpointFile`: atomic writes) every `every` steps and at the
 *   end (the run's state at its last step, before the best weights are put back: save the model
 *   itself with saveModel); `fit(data, { resume })` continues one bit-identically. `dropLast`
 *   keeps every batch full (an epoch is ⌊n/B⌋ steps); `gradient` replaces the model's own forward
 *   and backward of a batch (a data-parallel step plugs in there: training/tagger/parallel.ts).
 * - Dropout (config rnn.dropout) draws its masks in fit only, from the shuffling Rng; evaluate and
 *   predict run without.
 * - The loss is the head's cross-entropy (softmax) or binary cross-entropy (sigmoid), the mean over
 *   the valid predictions of a batch (every sequence's label; every valid step's target).
 * - Randomness: one Rng (createModel's `rng`, default `new Rng(DEFAULT_SEED)`) initialises the
 *   weights and then shuffles and samples: the same seed gives the same bits.
 * - dtype: float32 (default) or float64 (gradient checks: `lossAndGradients` is the model's whole
 *   forward and backward for one batch).
 * This file touches no file system (the model also runs in a browser); files are model-file.ts's.
 */
import { copyInto, type DType, type Matrix } from '../../engine/matrix.js';
import { Rng, type RngState } from '../../engine/rng.js';
import { DEFAULT_SEED } from '../../engine/create.js';
import { NO_INIT } from '../../engine/init.js';
import { sigmoidScalar } from '../../engine/activations.js';
import {
  concatDirections, createEncoderWorkspace, encoderForward, oneToManyStepFunction, type NamedParameters,
} from '../../layers/architectures.js';
import type { DropoutMode } from '../../layers/dropout.js';
import { copyLayerStates, type LayerState } from '../../layers/stacked.js';
import { trainingDropout } from '../core/rnn-regularization.js';
import { sampleSequence, type TokenChoiceOptions } from '../decode/sampling.js';
import { InputError } from '../core/errors.js';
import {
  checkGradientClip, createUpdate, keptNote, LossHistory, runTrainingLoop, stepBudget,
  type GradientClip, type LoopControls, type StopReason, type TrainProgress,
} from '../core/loop.js';
import {
  createOptimizer, optimizerFromJSON, optimizerToJSON, type OptimizerConfig, type OptimizerState, type OptimizerStateJSON,
} from '../core/optimizers.js';
import { matrixFromJSON, matrixToJSON, type MatrixJSON } from '../io/tensors.js';
import { checkConfigAgainstWeights, checkModelSize, copyWeightsFromJSON } from '../io/weights-json.js';
import { checkData, longestSequences, makeBatch, type Batch, type SequenceData } from './batches.js';
import { configSummary, minimumWeights, resolveModelConfig, resolveModelFileConfig, type ModelConfig, type ModelShape, type ResolvedModelConfig } from './config.js';
import {
  buildNetwork, createNetworkWorkspace, networkBackward, networkForward, networkLogits, networkParameters, networkZeroGrads,
  type Network, type NetworkInit, type NetworkWorkspace,
} from './network.js';

/** The seed of the Rng a model draws from when createModel is given none. */

export const MODEL_FILE_KIND = 'seqgrad.model';

export interface CreateModelOptions {
  /** Initial weights, then shuffling and sampling (default new Rng(DEFAULT_SEED)). */
  rng?: Rng;
  /** 'float32' (default) or 'float64' (gradient checks); the config's dtype, if it has one, must agree. */
  dtype?: DType;
  /** How the initial weights are drawn beyond the layers' defaults (embedding std, LSTM forget-gate bias); not saved. */
  init?: NetworkInit;
}

/** A model file: the resolved config and every weight by name, exact (matrixToJSON). */
export interface ModelJSON {
  kind: typeof MODEL_FILE_KIND;
  version: 1;
  config: ResolvedModelConfig;
  weights: Record<string, MatrixJSON>;
  /** A checkpoint's training state: what `fit({ resume })` continues from (loadModel ignores it). */
  training?: FitStateJSON;
}

/**
 * Where a run of fit stands after a step, as a checkpoint stores it: with the model's weights,
 * enough to continue bit-identically (`fit(data, { resume })` with the same data and options).
 */
export interface FitStateJSON {
  step: number;
  optimizer: OptimizerStateJSON;
  /** The last losses (LossHistory.tail) and their moving average. */
  losses: { values: number[]; firstStep: number };
  smoothedLoss: number;
  /** The shuffling Rng, this epoch's order of the sequences and the position in it. */
  rng: RngState;
  order: number[];
  cursor: number;
  validations: ValidationRecord[];
  /** validations[best] is the best so far (−1: none); validations since then without improvement. */
  best: number;
  sinceBest: number;
  /** Early stopping's copy of the best validation's weights. */
  bestWeights: Record<string, MatrixJSON> | null;
}

/** Where fit writes checkpoints (model-file.ts `checkpointFile` writes them atomically). */
export interface CheckpointSink {
  /** Write one every this many steps (default: once per epoch), and at the end of the run. */
  every?: number;
  /** Named in the message of a failed step ("the last good checkpoint PATH is kept"). */
  path?: string;
  save(json: ModelJSON): void;
}

export interface EarlyStopping {
  /** Stop after this many validations in a row without improvement (≥ 1). */
  patience: number;
  /** An improvement is a validation loss below best − minDelta (default 0). */
  minDelta?: number;
  /** Put the best validation's weights back at the end (default true). */
  restoreBest?: boolean;
}

export interface FitOptions extends Omit<LoopControls, 'onProgress'> {
  /** Epochs (default 1 unless maxSteps is given; training/core/loop.ts stepBudget). */
  epochs?: number;
  maxSteps?: number;
  /** Sequences per batch (default 32, at most the data's size). */
  batchSize?: number;
  /**
   * Drop each epoch's last batch when it would be smaller than batchSize (PyTorch's drop_last):
   * every step sees B sequences, an epoch is ⌊n/B⌋ steps and the next one reshuffles (default false).
   */
  dropLast?: boolean;
  /**
   * The gradient of one batch in place of the model's own forward and backward: given the batch's
   * sequence indices into the data, leave ∂L/∂θ of the batch's mean loss in `model.gradients` and
   * return that loss. A data-parallel step plugs in here (worker threads over the model's shared
   * weights, training/parallel/; e.g. training/tagger/parallel.ts). Dropout is then the hook's.
   */
  gradient?: (indices: readonly number[]) => number;
  /** Default { kind: 'adam', lr: 0.01 }; `schedule` sets a learning-rate schedule. */
  optimizer?: OptimizerConfig;
  /** Default global-norm clipping at 5; null: none. */
  clip?: GradientClip | null;
  /** Scored every `validateEvery` steps (default once per epoch) and at the end. */
  validation?: SequenceData;
  validateEvery?: number;
  /** Needs `validation`. */
  earlyStopping?: EarlyStopping;
  checkpoint?: CheckpointSink;
  /** Shuffling (default the model's Rng). */
  rng?: Rng;
  onProgress?: (p: TrainProgress) => void;
  onValidation?: (record: ValidationRecord) => void;
  /**
   * Continue a checkpointed run: a checkpoint's `training` (loadCheckpoint in model-file.ts), on
   * the model loaded from the same checkpoint, with the same data and options. The optimizer (and
   * its schedule) comes from the checkpoint; `rng` (or the model's) is set to the saved state.
   */
  resume?: FitStateJSON;
}

export interface Evaluation {
  /** Mean loss per valid prediction (entry, for a sigmoid head). */
  loss: number;
  /** Fraction of valid predictions right (argmax = class; sigmoid: (ŷ > 0.5) = (y ≥ 0.5)). */
  accuracy: number;
  /** Valid predictions counted. */
  predictions: number;
}

export interface ValidationRecord extends Evaluation {
  step: number;
  epoch: number;
}

export interface FitResult {
  stopReason: StopReason;
  /** Steps done. */
  steps: number;
  epochs: number;
  /** Every step's training loss. */
  losses: number[];
  validations: ValidationRecord[];
  /** The best validation (lowest loss), or null. */
  best: ValidationRecord | null;
  /** True when the weights were set back to the best validation's. */
  restoredBest: boolean;
  seconds: number;
}

export interface PredictOptions extends TokenChoiceOptions {
  /** Sequences per batch for classifying and tagging (default 64). */
  batchSize?: number;
  /** Generation: at most this many tokens per sequence (default 100). */
  maxSteps?: number;
  /** Generation: draw from softmax(z/τ) with this Rng (default greedy: argmax; temperature 0 is greedy too). */
  sample?: boolean;
  rng?: Rng;
}

/** many-to-one: per sequence, K probabilities; many-to-many: per sequence and step; generation: token ids. */
export type Prediction<S extends ModelShape> = S extends 'many-to-many' ? number[][][] : number[][];

export class Model<S extends ModelShape = ModelShape> {
  readonly config: ResolvedModelConfig & { shape: S };
  readonly network: Network;
  /** Parameters and gradients by name (views of the layers' buffers). */
  readonly parameters: NamedParameters['params'];
  readonly gradients: NamedParameters['grads'];
  readonly rng: Rng;
  private readonly workspaces = new Map<string, NetworkWorkspace>();

  /** `init.rng` draws the initial weights (default `rng`; NO_INIT when they are loaded right after). */
  constructor(config: ResolvedModelConfig & { shape: S }, rng: Rng, init: NetworkInit & { rng?: Rng } = {}) {
    this.config = config;
    this.rng = rng;
    this.network = buildNetwork(config, init.rng ?? rng, init);
    const { params, grads } = networkParameters(this.network);
    this.parameters = params;
    this.gradients = grads;
  }

  get dtype(): DType {
    return this.config.dtype;
  }

  /** "many-to-one: embedding 20×8 → 1-layer lstm H=16 → softmax 2". */
  get summary(): string {
    return configSummary(this.config);
  }

  /** The batch of sequences `indices` of `data` (checked with checkData first). */
  batch(data: SequenceData, indices: readonly number[]): Batch {
    return makeBatch(this.config, data, indices);
  }

  private workspaceFor(batch: Batch, capacity: { inputSteps: number; targetSteps: number }): NetworkWorkspace {
    const Tx = Math.max(1, capacity.inputSteps, batch.inputSteps);
    const Ty = Math.max(1, capacity.targetSteps, batch.targetSteps);
    const key = `${Tx}x${Ty}x${batch.size}`;
    let ws = this.workspaces.get(key);
    if (!ws) {
      ws = createNetworkWorkspace(this.network, Tx, Ty, batch.size);
      this.workspaces.set(key, ws);
    }
    return ws;
  }

  /** The batch's loss (mean over its valid predictions, or their sum), forward only. */
  loss(batch: Batch, reduction: 'sum' | 'mean' = 'mean'): number {
    return networkForward(this.network, this.workspaceFor(batch, batch), batch, this.config, reduction).loss;
  }

  /**
   * The whole forward and backward of one batch: zeroes every gradient, then leaves ∂L/∂θ of the
   * mean loss in `gradients`; returns the loss. `dropout`: the stack's masks (fit draws them when
   * the config has dropout; off by default).
   */
  lossAndGradients(batch: Batch, capacity: { inputSteps: number; targetSteps: number } = batch, dropout?: DropoutMode): number {
    const ws = this.workspaceFor(batch, capacity);
    networkZeroGrads(this.network);
    const { loss } = networkForward(this.network, ws, batch, this.config, 'mean', dropout);
    networkBackward(this.network, ws, this.config);
    return loss;
  }

  /** Mean loss and accuracy over `data` (teacher forcing for the generating shapes). */
  evaluate(data: SequenceData, opts: { batchSize?: number } = {}): Evaluation {
    const n = checkData(this.config, data, 'Model.evaluate');
    const B = checkBatchSize('Model.evaluate', opts.batchSize ?? 64);
    const capacity = longestSequences(this.config, data);
    let total = 0, correct = 0, count = 0;
    for (let start = 0; start < n; start += B) {
      const batch = this.batch(data, range(start, Math.min(n, start + B)));
      const { loss, logits } = networkForward(this.network, this.workspaceFor(batch, capacity), batch, this.config, 'sum');
      const score = scoreLogits(this.config, batch, logits);
      total += loss;
      correct += score.correct;
      count += score.count;
    }
    return { loss: total / count, accuracy: correct / count, predictions: count };
  }

  /**
   * many-to-one: per input sequence, the K probabilities (softmax, or σ per label); many-to-many:
   * per sequence, per step. One-to-many: `inputs` are prefixes (possibly empty) that each
   * generated sequence continues; encoder-decoder: sources to translate. Generation is greedy
   * unless `sample` (softmax(z/τ), top-k, forbid: training/decode/sampling.ts) and stops after
   * stopToken or maxSteps tokens.
   */
  predict(inputs: readonly (readonly number[])[], opts: PredictOptions = {}): Prediction<S> {
    const op = 'Model.predict';
    if (!Array.isArray(inputs)) throw new InputError(`${op}: expected an array of token sequences, got ${typeof inputs}`);
    if (this.config.shape === 'one-to-many' || this.config.shape === 'encoder-decoder') return this.generate(inputs, opts) as Prediction<S>;
    // Dummy targets (0 or a 0 label): checkData validates the inputs, the logits ignore targets.
    const label = this.config.head === 'softmax' ? 0 : new Array<number>(this.config.outputSize).fill(0);
    const targets = this.config.shape === 'many-to-one' ? inputs.map(() => label) : inputs.map((s) => (Array.isArray(s) ? s.map(() => label) : []));
    const data = { inputs, targets };
    checkData(this.config, data, op);
    const B = checkBatchSize(op, opts.batchSize ?? 64);
    const out: number[][][] = [];
    const capacity = longestSequences(this.config, data);
    for (let start = 0; start < inputs.length; start += B) {
      const batch = this.batch(data, range(start, Math.min(inputs.length, start + B)));
      const logits = networkLogits(this.network, this.workspaceFor(batch, capacity), batch);
      for (let b = 0; b < batch.size; b++) {
        const length = this.config.shape === 'many-to-one' ? 1 : inputs[start + b].length;
        const rows: number[][] = [];
        for (let t = 0; t < length; t++) rows.push(this.probabilities(logits, t * batch.size + b));
        out.push(rows);
      }
    }
    return (this.config.shape === 'many-to-one' ? out.map((rows) => rows[0]) : out) as Prediction<S>;
  }

  private probabilities(logits: Matrix, row: number): number[] {
    const K = logits.cols;
    const z = Array.from({ length: K }, (_, k) => logits.get(row, k));
    if (this.config.head === 'sigmoid') return z.map(sigmoidScalar);
    const max = Math.max(...z);
    const e = z.map((v) => Math.exp(v - max));
    const sum = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / sum);
  }

  private generate(inputs: readonly (readonly number[])[], opts: PredictOptions): number[][] {
    const op = 'Model.predict';
    const { config, network } = this;
    const maxLength = opts.maxSteps ?? 100;
    if (!Number.isInteger(maxLength) || maxLength < 1) throw new InputError(`${op}: expected maxSteps to be an integer ≥ 1, got ${maxLength}`);
    const decoder = network.shape === 'encoder-decoder' ? network.decoder : network.shape === 'one-to-many' ? network.model : null;
    if (!decoder) throw new Error(`${op}: expected a generating network, got a ${network.shape} one`);
    if (config.shape === 'encoder-decoder') checkData(config, { inputs, targets: inputs.map(() => [0]) }, op);
    else {
      inputs.forEach((prefix, i) => {
        if (!Array.isArray(prefix)) throw new InputError(`${op}: expected inputs[${i}] to be a (possibly empty) prefix of token ids, got ${typeof prefix}`);
        if (prefix.length > 0) checkData(config, { targets: [prefix] }, `${op}: inputs[${i}]`);
      });
    }
    const step = oneToManyStepFunction(decoder);
    const rng = opts.rng ?? this.rng;
    const greedy = opts.sample !== true || opts.temperature === 0;
    return inputs.map((sequence) => {
      // Generation starts by feeding the start token (or ∅, token −1) to the decoder's initial
      // state; a prefix p⟨1…n⟩ is fed first (start, p⟨1…n−1⟩) and generation continues from p⟨n⟩.
      let state: LayerState[] | null = config.shape === 'encoder-decoder' ? this.encode(sequence) : null;
      let start = config.startToken ?? -1;
      if (config.shape === 'one-to-many' && sequence.length > 0) {
        for (const token of [start, ...sequence.slice(0, -1)]) state = step(state, token).state;
        start = sequence[sequence.length - 1];
      }
      return sampleSequence<LayerState[] | null>({
        step, initialState: state, startToken: start, eosToken: config.stopToken ?? -1, maxLength, rng, greedy,
        temperature: opts.temperature, topK: opts.topK, forbid: opts.forbid,
      }).tokens;
    });
  }

  /** The decoder's initial state for one source: the encoder's final state (concatenated directions). */
  private encode(source: readonly number[]): LayerState[] {
    if (this.network.shape !== 'encoder-decoder') throw new Error('Model.encode: expected an encoder-decoder');
    const ws = createEncoderWorkspace(this.network.encoder, source.length, 1);
    const { finalState } = encoderForward(this.network.encoder, ws, Int32Array.from(source));
    return copyLayerStates(this.config.rnn.bidirectional ? concatDirections(finalState) : finalState);
  }

  /** Train on `data`; see the file's comment. */
  fit(data: SequenceData, opts: FitOptions = {}): FitResult {
    const op = 'Model.fit';
    const n = checkData(this.config, data, `${op}: data`);
    if (opts.validation !== undefined) checkData(this.config, opts.validation, `${op}: validation`);
    if (opts.earlyStopping && !opts.validation) throw new InputError(`${op}: expected validation data with earlyStopping, got none`);
    const patience = opts.earlyStopping?.patience;
    if (patience !== undefined && !(Number.isInteger(patience) && patience >= 1)) throw new InputError(`${op}: expected earlyStopping.patience to be an integer ≥ 1, got ${patience}`);
    checkGradientClip(op, opts.clip);
    const B = Math.min(checkBatchSize(op, opts.batchSize ?? 32), n);
    const stepsPerEpoch = opts.dropLast ? Math.floor(n / B) : Math.ceil(n / B);
    const validateEvery = positiveSteps(op, 'validateEvery', opts.validateEvery ?? stepsPerEpoch);
    const checkpointEvery = positiveSteps(op, 'checkpoint.every', opts.checkpoint?.every ?? stepsPerEpoch);
    const { totalSteps, reason } = stepBudget(op, { epochs: opts.epochs, maxSteps: opts.maxSteps }, stepsPerEpoch);
    const resumed = opts.resume ? checkResume(op, opts.resume, this.parameters, n) : null;
    const optimizer = resumed ? resumed.optimizer : fitOptimizer(op, opts.optimizer ?? { kind: 'adam', lr: 0.01 }, this.parameters);
    const update = createUpdate(this.parameters, this.gradients, optimizer, {
      clip: opts.clip === undefined ? { mode: 'norm', max: 5 } : opts.clip,
      divergence: { op, advice: 'lower the learning rate (optimizer.lr)' },
    });
    const capacity = longestSequences(this.config, data);
    const rng = opts.rng ?? this.rng;
    const dropout = trainingDropout(this.config.rnn, rng);
    const saved = opts.resume;
    if (saved) rng.setState(saved.rng);
    const losses = saved ? new LossHistory([...saved.losses.values], saved.smoothedLoss, saved.losses.firstStep) : new LossHistory();
    const validations: ValidationRecord[] = saved ? saved.validations.map((v) => ({ ...v })) : [];
    const minDelta = opts.earlyStopping?.minDelta ?? 0;
    let best: ValidationRecord | null = saved && saved.best >= 0 ? validations[saved.best] : null;
    let bestWeights: Record<string, Matrix> | null = resumed?.bestWeights ?? null;
    let sinceBest = saved?.sinceBest ?? 0;
    let lastCheckpointStep = saved ? saved.step : -1;
    let order: number[] = saved ? [...saved.order] : [];
    let cursor = saved?.cursor ?? 0;
    let step = saved?.step ?? 0;
    const kept = (): string => keptNote(opts.checkpoint?.path, lastCheckpointStep);

    const validate = (p: { step: number; epoch: number }): boolean => {
      const record: ValidationRecord = { step: p.step, epoch: p.epoch, ...this.evaluate(opts.validation as SequenceData) };
      validations.push(record);
      opts.onValidation?.(record);
      if (best === null || record.loss < best.loss - minDelta) {
        best = record;
        sinceBest = 0;
        if (opts.earlyStopping) bestWeights = snapshot(this.parameters, bestWeights);
        return false;
      }
      sinceBest++;
      return patience !== undefined && sinceBest >= patience;
    };
    const checkpoint = (s: number): void => {
      if (!opts.checkpoint) return;
      opts.checkpoint.save({
        ...this.toJSON(),
        training: {
          step: s, optimizer: optimizerToJSON(optimizer), losses: losses.tail(), smoothedLoss: losses.smoothed,
          rng: rng.getState(), order, cursor, validations, best: best ? validations.indexOf(best) : -1, sinceBest,
          bestWeights: bestWeights ? weightsToJSON(bestWeights) : null,
        },
      });
      lastCheckpointStep = s;
    };

    const result = runTrainingLoop({
      startStep: step, totalSteps, budgetReason: reason, losses,
      timeLimitSeconds: opts.timeLimitSeconds, signal: opts.signal, now: opts.now,
      onProgress: opts.onProgress,
      step: () => {
        if (cursor >= order.length || (opts.dropLast && cursor + B > order.length)) {
          order = rng.permutation(n);
          cursor = 0;
        }
        const indices = order.slice(cursor, cursor + B);
        cursor += B;
        const loss = opts.gradient ? opts.gradient(indices) : this.lossAndGradients(this.batch(data, indices), capacity, dropout);
        update(step + 1, loss, kept);
        step++;
        return { loss, epoch: step / stepsPerEpoch, units: indices.length };
      },
      afterStep: (p) => {
        let stop: StopReason | undefined;
        if (opts.validation && p.step % validateEvery === 0 && validate(p)) stop = 'early-stopping';
        if (p.step % checkpointEvery === 0) checkpoint(p.step);
        return stop;
      },
    });

    const lastValidation = validations.length > 0 ? validations[validations.length - 1].step : 0;
    if (opts.validation && result.stopReason !== 'interrupted' && step > 0 && lastValidation < step) validate({ step, epoch: step / stepsPerEpoch });
    // The last checkpoint is the run's state at its last step (what a resume continues), written
    // before the best weights are put back into the model in memory.
    if (opts.checkpoint && lastCheckpointStep !== step) checkpoint(step);
    // (Assigned in the loop's callbacks: TypeScript's narrowing does not see it.)
    const bestRecord = best as ValidationRecord | null;
    const bestSaved = bestWeights as Record<string, Matrix> | null;
    let restoredBest = false;
    if (bestSaved && bestRecord && bestRecord.step !== step && opts.earlyStopping?.restoreBest !== false) {
      for (const [name, m] of Object.entries(bestSaved)) copyInto(this.parameters[name], m);
      restoredBest = true;
    }
    return {
      stopReason: result.stopReason, steps: result.steps, epochs: step / stepsPerEpoch, losses: losses.values,
      validations, best: bestRecord, restoredBest, seconds: result.seconds,
    };
  }

  /** The model file's JSON: config and every weight, exact. */
  toJSON(): ModelJSON {
    return { kind: MODEL_FILE_KIND, version: 1, config: { ...this.config, rnn: { ...this.config.rnn } }, weights: weightsToJSON(this.parameters) };
  }
}

/** A new model of `config` (checked: an InputError names the field), weights drawn from `opts.rng`. */
export function createModel<S extends ModelShape>(config: ModelConfig & { shape: S }, opts: CreateModelOptions = {}): Model<S> {
  const op = 'createModel';
  if (opts.dtype !== undefined && config?.dtype !== undefined && opts.dtype !== config.dtype) {
    throw new InputError(`${op}: expected the dtype option and config.dtype to agree, got ${opts.dtype} and ${config.dtype}`);
  }
  const resolved = resolveModelConfig(opts.dtype ? { ...config, dtype: opts.dtype } : config, `${op}: config`);
  checkModelSize(op, minimumWeights(resolved), configSummary(resolved));
  return new Model(resolved as ResolvedModelConfig & { shape: S }, opts.rng ?? new Rng(DEFAULT_SEED), opts.init);
}

/**
 * Rebuild a model from its JSON (a model file or checkpoint). `source` starts every message
 * ("model file m.json"); every problem — not a model file, a bad config, weights missing, extra,
 * of another shape or dtype, non-finite — is one InputError. The config is checked against the
 * weights the file holds before anything is allocated.
 */
export function modelFromJSON(json: unknown, source = 'model JSON'): Model {
  const fail = (what: string): never => { throw new InputError(`${source}: ${what}`); };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return fail(`expected a JSON object, got ${json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json}`);
  const j = json as Partial<ModelJSON>;
  if (j.kind !== MODEL_FILE_KIND) fail(`expected kind "${MODEL_FILE_KIND}", got ${JSON.stringify(j.kind)} (not a seqgrad Model API file)`);
  if (j.version !== 1) fail(`expected version 1, got ${JSON.stringify(j.version)}`);
  const config = resolveModelFileConfig(j.config, `${source}: config`);
  const weights = j.weights;
  if (weights === null || typeof weights !== 'object' || Array.isArray(weights)) return fail('expected weights to be an object (name → matrix)');
  const what = configSummary(config);
  checkModelSize(`${source}`, minimumWeights(config), what);
  checkConfigAgainstWeights(minimumWeights(config), weights, fail, what);
  const model = new Model(config, new Rng(DEFAULT_SEED), { rng: NO_INIT }); // every weight comes from the file
  copyWeightsFromJSON(model.parameters, weights, fail, `this ${what} model`);
  return model;
}

// ---- helpers -------------------------------------------------------------------------------

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

function weightsToJSON(params: Record<string, Matrix>): Record<string, MatrixJSON> {
  const weights: Record<string, MatrixJSON> = {};
  for (const [name, p] of Object.entries(params)) weights[name] = matrixToJSON(p);
  return weights;
}

/**
 * The parts of a checkpoint's training state that need checking and decoding: the optimizer (its
 * state for exactly these parameters) and early stopping's best weights. An InputError names `op`.
 */
function checkResume(op: string, state: FitStateJSON, params: Record<string, Matrix>, n: number): { optimizer: OptimizerState; bestWeights: Record<string, Matrix> | null } {
  const fail = (what: string): never => { throw new InputError(`${op}: resume: ${what}`); };
  if (state === null || typeof state !== 'object' || !Number.isInteger(state.step) || state.step < 0) return fail('expected the training state of a checkpoint ({ step, optimizer, … }), got none');
  if (!Array.isArray(state.order) || state.order.length !== n) fail(`expected the data of the checkpointed run (${Array.isArray(state.order) ? state.order.length : '?'} sequences), got ${n}`);
  try {
    const optimizer = optimizerFromJSON(state.optimizer, params);
    let bestWeights: Record<string, Matrix> | null = null;
    if (state.bestWeights) {
      bestWeights = {};
      for (const [name, p] of Object.entries(params)) {
        const m = matrixFromJSON(state.bestWeights[name]);
        if (m.rows !== p.rows || m.cols !== p.cols || m.dtype !== p.dtype) fail(`expected bestWeights['${name}'] to be ${p.dtype} [${p.rows}, ${p.cols}]`);
        bestWeights[name] = m;
      }
    }
    return { optimizer, bestWeights };
  } catch (err) {
    if (err instanceof InputError) throw err;
    return fail((err as Error).message);
  }
}

/** The optimizer of a run; a bad config is an InputError naming `op`. */
function fitOptimizer(op: string, config: OptimizerConfig, params: Record<string, Matrix>): OptimizerState {
  try {
    return createOptimizer(config, params);
  } catch (err) {
    throw new InputError(`${op}: ${(err as Error).message}`);
  }
}

function checkBatchSize(op: string, B: number): number {
  if (!Number.isInteger(B) || B < 1) throw new InputError(`${op}: expected batchSize to be an integer ≥ 1, got ${B}`);
  return B;
}

function positiveSteps(op: string, name: string, steps: number): number {
  if (!Number.isInteger(steps) || steps < 1) throw new InputError(`${op}: expected ${name} to be an integer ≥ 1 (steps), got ${steps}`);
  return steps;
}

/** Copies of the parameters (into `into`'s buffers when given). */
function snapshot(params: Record<string, Matrix>, into: Record<string, Matrix> | null): Record<string, Matrix> {
  if (!into) {
    const out: Record<string, Matrix> = {};
    for (const [name, p] of Object.entries(params)) out[name] = p.clone();
    return out;
  }
  for (const [name, p] of Object.entries(params)) copyInto(into[name], p);
  return into;
}

/** Right predictions and valid predictions of a batch from the head's logits. */
function scoreLogits(config: ResolvedModelConfig, batch: Batch, logits: Matrix): { correct: number; count: number } {
  const B = batch.size;
  const K = logits.cols;
  let correct = 0, count = 0;
  for (let r = 0; r < logits.rows; r++) {
    if (batch.targetMask && batch.targetMask.get(Math.floor(r / B), r % B) === 0) continue;
    if (config.head === 'softmax') {
      let arg = 0;
      for (let k = 1; k < K; k++) if (logits.get(r, k) > logits.get(r, arg)) arg = k;
      if (arg === (batch.targetIds as Int32Array)[r]) correct++;
      count++;
    } else {
      const labels = batch.targetLabels as Matrix;
      for (let k = 0; k < K; k++) if ((logits.get(r, k) > 0) === (labels.get(r, k) >= 0.5)) correct++;
      count += K;
    }
  }
  return { correct, count };
}
