/**
 * A causal Transformer language model (a decoder-only Transformer, as GPT): read y⟨1⟩ … y⟨t−1⟩,
 * predict y⟨t⟩ — the same task as the recurrent model of model.ts, with self-attention in place of the
 * recurrence ("positional encoding takes over part of the RNN functionality"):
 *
 *   x⟨t⟩ = E[y⟨t−1⟩] + P[t]                 [T·B, d]  (embedding N(0, 1); P sinusoidal or learned)
 *   h = Encoder(x) with the causal mask     [T·B, d]  (L layers of layers/transformer, post- or pre-norm,
 *                                                      then the final layer norm)
 *   z⟨t⟩ = h⟨t⟩ W_yᵀ + b_y,  L = −Σ_t log softmax(z⟨t⟩)[y⟨t⟩]   [T·B, V]
 *
 * Time-major like everything in seqgrad: a chunk of T steps of B streams is [T·B, ·], row t·B + b.
 * Unlike the RNN there is no carried state: each chunk is its own context of at most `maxLength` tokens,
 * positions restart at 0 (the cached state of a Transformer is the whole prefix).
 *
 * Parameter names: embedding.weight [V, d], positions.weight [maxLength, d] (learned positions only),
 * encoder.layers.<l>.self_attn.W_q …, encoder.layers.<l>.linear1.weight …, encoder.norm.weight/bias,
 * dense.W [V, d], dense.b [1, V]. The model file is JSON like the RNN's, kind
 * "seqgrad.transformer-language-model".
 */
import { Matrix, type DType } from '../../engine/matrix.js';
import { addBias } from '../../engine/ops.js';
import { Rng } from '../../engine/rng.js';
import { resolveCreateOptions, type CreateOptions } from '../../engine/create.js';
import { causalMask, type AttentionMasks } from '../../layers/attention/multihead.js';
import { createDense, denseBackward, denseForward, denseZeroGrad, type DenseLayer } from '../../layers/dense.js';
import { DROPOUT_OFF, type DropoutMode } from '../../layers/dropout.js';
import {
  createEmbedding, embeddingBackward, embeddingForward, embeddingZeroGrad, type Embedding,
} from '../../layers/embedding.js';
import {
  createTransformerEncoder, ensureTransformerEncoderWorkspace, transformerEncoderBackward, transformerEncoderForward,
  transformerEncoderParameters, zeroTransformerEncoderGrads, type TransformerEncoder, type TransformerEncoderWorkspace,
} from '../../layers/transformer/encoder.js';
import type { FeedForwardActivation } from '../../layers/transformer/feedforward.js';
import { resolveTransformerLayerOptions } from '../../layers/transformer/options.js';
import { createKvCache, createTransformerStepWorkspace, transformerStackStep } from '../../layers/transformer/incremental.js';
import {
  createTransformerPositions, positionTable, positionsBackward, positionsForward, type PositionKind, type TransformerPositions,
} from '../../layers/transformer/positions.js';
import { InputError } from '../core/errors.js';
import { matrixToJSON, type MatrixJSON } from '../io/tensors.js';
import { copyWeightsFromJSON } from '../io/weights-json.js';
import { Vocabulary, type VocabularyJSON } from '../text/vocab.js';
import type { StepFunction } from '../decode/sampling.js';
import { incrementalStepFunction, type IncrementalDecoder } from '../decode/incremental.js';
import type { LmLevel } from './model.js';
import { logSoftmaxRow } from '../../engine/softmax.js';

export interface TransformerLmConfig {
  level: LmLevel;
  lowercase: boolean;
  /** d (d_model). */
  dModel: number;
  numHeads: number;
  /** L encoder layers. */
  layers: number;
  /** F of the feed-forward blocks. */
  dimFeedforward: number;
  /** p of every dropout during training. */
  dropout: number;
  activation: FeedForwardActivation;
  normFirst: boolean;
  positions: PositionKind;
  /** The longest context (rows of the position table). */
  maxLength: number;
  seed: number;
  dtype: DType;
}

export type TransformerLmOptions = Partial<TransformerLmConfig>;

export interface TransformerLanguageModel {
  readonly config: TransformerLmConfig;
  readonly vocab: Vocabulary;
  readonly embedding: Embedding;
  readonly positions: TransformerPositions;
  readonly encoder: TransformerEncoder;
  readonly output: DenseLayer;
}

/** Defaults: char level, d = 64, 4 heads, 2 layers, F = 4d, dropout 0.1, ReLU, post-norm, sinusoidal, 256 positions. */
export function resolveTransformerLmConfig(opts: TransformerLmOptions, op = 'createTransformerLanguageModel'): TransformerLmConfig {
  const dModel = opts.dModel ?? 64;
  const config: TransformerLmConfig = {
    level: opts.level ?? 'char',
    lowercase: opts.lowercase ?? false,
    dModel,
    numHeads: opts.numHeads ?? 4,
    layers: opts.layers ?? 2,
    dimFeedforward: opts.dimFeedforward ?? 4 * dModel,
    dropout: opts.dropout ?? 0.1,
    activation: opts.activation ?? 'relu',
    normFirst: opts.normFirst ?? false,
    positions: opts.positions ?? 'sinusoidal',
    maxLength: opts.maxLength ?? 256,
    seed: opts.seed ?? 1,
    dtype: opts.dtype ?? 'float32',
  };
  if (config.level !== 'char' && config.level !== 'word') throw new Error(`${op}: expected level 'char' or 'word', got ${JSON.stringify(config.level)}`);
  resolveTransformerLayerOptions(op, { ...config });
  for (const name of ['layers', 'maxLength'] as const) {
    if (!Number.isInteger(config[name]) || config[name] < 1) throw new Error(`${op}: expected ${name} to be an integer ≥ 1, got ${config[name]}`);
  }
  if (config.positions !== 'sinusoidal' && config.positions !== 'learned') {
    throw new Error(`${op}: expected positions 'sinusoidal' or 'learned', got ${JSON.stringify(config.positions)}`);
  }
  if (!Number.isInteger(config.seed)) throw new Error(`${op}: expected an integer seed, got ${config.seed}`);
  return config;
}

/**
 * A new model over `config.vocab`, initialised from `options.rng` (default: a generator seeded with
 * config.seed, whose default is DEFAULT_SEED); `options.dtype` overrides config.dtype.
 */
export function createTransformerLanguageModel(config: TransformerLmOptions & { vocab: Vocabulary }, options?: CreateOptions): TransformerLanguageModel;
/** @deprecated Use `createTransformerLanguageModel({ ...opts, vocab }, { rng })`. */
export function createTransformerLanguageModel(opts: TransformerLmOptions, vocab: Vocabulary, rng?: Rng): TransformerLanguageModel;
export function createTransformerLanguageModel(
  first: TransformerLmOptions & { vocab?: Vocabulary }, second?: Vocabulary | CreateOptions, oldRng?: Rng,
): TransformerLanguageModel {
  const op = 'createTransformerLanguageModel';
  const legacy = second instanceof Vocabulary;
  const { vocab: configVocab, ...opts } = first;
  const vocab = (legacy ? second : configVocab) as Vocabulary;
  const options: CreateOptions = legacy ? { rng: oldRng } : (second as CreateOptions | undefined) ?? {};
  const config = resolveTransformerLmConfig({ ...opts, dtype: options.dtype ?? opts.dtype }, op);
  if (!(vocab instanceof Vocabulary) || vocab.size < 2) {
    throw new Error(`${op}: expected a Vocabulary of at least 2 tokens, got ${vocab instanceof Vocabulary ? vocab.size : typeof vocab}`);
  }
  const gen = resolveCreateOptions(op, { rng: options.rng ?? new Rng(config.seed) }).rng;
  const { dModel: d, dtype } = config;
  const embedding = createEmbedding({ vocabSize: vocab.size, dim: d }, { rng: gen, dtype });
  const positions = createTransformerPositions({
    kind: config.positions, maxLength: config.maxLength, dim: d,
  }, { rng: gen, dtype });
  const encoder = createTransformerEncoder({ ...config, numLayers: config.layers }, { rng: gen });
  const output = createDense({ inputSize: d, outputSize: vocab.size }, { rng: gen, dtype });
  return { config, vocab, embedding, positions, encoder, output };
}

/** Every parameter by name (see the file comment). */
export function transformerLmParameters(model: TransformerLanguageModel): { params: Record<string, Matrix>; grads: Record<string, Matrix> } {
  const params: Record<string, Matrix> = { 'embedding.weight': model.embedding.weight };
  const grads: Record<string, Matrix> = { 'embedding.weight': model.embedding.grad };
  if (model.positions.kind === 'learned') {
    params['positions.weight'] = model.positions.embedding.params.weight;
    grads['positions.weight'] = model.positions.embedding.grads.weight;
  }
  const enc = transformerEncoderParameters(model.encoder, 'encoder.');
  Object.assign(params, enc.params);
  Object.assign(grads, enc.grads);
  params['dense.W'] = model.output.params.W;
  grads['dense.W'] = model.output.grads.W;
  params['dense.b'] = model.output.params.b!;
  grads['dense.b'] = model.output.grads.b!;
  return { params, grads };
}

export function transformerLmZeroGrad(model: TransformerLanguageModel): void {
  embeddingZeroGrad(model.embedding);
  if (model.positions.kind === 'learned') model.positions.embedding.grads.weight.data.fill(0);
  zeroTransformerEncoderGrads(model.encoder);
  denseZeroGrad(model.output);
}

/** The buffers of one (T, B), allocated once and reused. Fill `inputIds` (time-major) before the forward. */
export interface TransformerLmWorkspace {
  readonly steps: number;
  readonly batch: number;
  readonly inputIds: Int32Array;
  /** Embedded and positioned inputs, the encoder's output and their gradients [T·B, d]. */
  readonly x: Matrix; readonly h: Matrix; readonly dx: Matrix; readonly dh: Matrix;
  /** z [T·B, V]. */
  readonly logits: Matrix;
  readonly masks: AttentionMasks;
  readonly encoder: TransformerEncoderWorkspace;
}

export function createTransformerLmWorkspace(model: TransformerLanguageModel, steps: number, batch: number): TransformerLmWorkspace {
  const op = 'createTransformerLmWorkspace';
  if (!Number.isInteger(steps) || steps < 1 || !Number.isInteger(batch) || batch < 1) {
    throw new Error(`${op}: expected positive integer steps and batch, got T=${steps}, B=${batch}`);
  }
  if (steps > model.config.maxLength) throw new InputError(`${op}: expected a context of at most ${model.config.maxLength} tokens (the model's maxLength), got ${steps}`);
  const { dModel: d, dtype } = model.config;
  const m = (): Matrix => Matrix.zeros(steps * batch, d, dtype);
  return {
    steps, batch, inputIds: new Int32Array(steps * batch),
    x: m(), h: m(), dx: m(), dh: m(),
    logits: Matrix.zeros(steps * batch, model.vocab.size, dtype),
    masks: { attnMask: causalMask(steps, { dtype }) },
    encoder: ensureTransformerEncoderWorkspace(null, model.encoder, steps, batch),
  };
}

/** z = logits of the ids in ws.inputIds (dropout as `mode`: off to evaluate). Returns ws.logits. */
export function transformerLmForward(model: TransformerLanguageModel, ws: TransformerLmWorkspace, mode: DropoutMode): Matrix {
  embeddingForward(ws.x, model.embedding, ws.inputIds);
  positionsForward(ws.x, model.positions, ws.x, ws.batch);
  transformerEncoderForward(ws.h, ws.encoder, ws.x, ws.masks, mode);
  return denseForward(ws.logits, model.output, ws.h);
}

/** Backward of the last forward from dLogits [T·B, V] (may be ws.logits): accumulates into every gradient. */
export function transformerLmBackward(model: TransformerLanguageModel, ws: TransformerLmWorkspace, dLogits: Matrix): void {
  denseBackward(model.output, ws.h, dLogits, ws.dh);
  ws.dx.data.fill(0);
  transformerEncoderBackward(ws.dx, ws.encoder, ws.dh);
  positionsBackward(null, model.positions, ws.dx, ws.batch);
  embeddingBackward(model.embedding, ws.inputIds, ws.dx);
}

// ---- the model file ------------------------------------------------------------------------

export interface TransformerLmJSON {
  kind: 'seqgrad.transformer-language-model';
  version: 1;
  config: TransformerLmConfig;
  vocabulary: VocabularyJSON;
  weights: Record<string, MatrixJSON>;
  training?: Record<string, unknown>;
}

export function transformerLmToJSON(model: TransformerLanguageModel, training?: Record<string, unknown>): TransformerLmJSON {
  const weights: Record<string, MatrixJSON> = {};
  for (const [name, p] of Object.entries(transformerLmParameters(model).params)) weights[name] = matrixToJSON(p);
  const json: TransformerLmJSON = {
    kind: 'seqgrad.transformer-language-model', version: 1, config: { ...model.config }, vocabulary: model.vocab.toJSON(), weights,
  };
  if (training) json.training = training;
  return json;
}

/** Rebuild a model from its JSON; every problem is an InputError naming `source` and the field. */
export function transformerLmFromJSON(json: unknown, source = 'model'): TransformerLanguageModel {
  const fail = (what: string): never => { throw new InputError(`${source}: ${what}`); };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail('expected a JSON object');
  const j = json as Partial<TransformerLmJSON>;
  if (j.kind !== 'seqgrad.transformer-language-model') fail(`expected kind "seqgrad.transformer-language-model", got ${JSON.stringify(j.kind)}`);
  if (j.version !== 1) fail(`expected version 1, got ${JSON.stringify(j.version)}`);
  let config: TransformerLmConfig;
  try {
    config = resolveTransformerLmConfig((j.config ?? {}) as TransformerLmOptions, 'config');
  } catch (err) {
    return fail((err as Error).message);
  }
  let vocab: Vocabulary;
  try {
    vocab = Vocabulary.fromJSON(j.vocabulary as VocabularyJSON);
  } catch (err) {
    return fail(`bad vocabulary: ${(err as Error).message}`);
  }
  if (!j.weights || typeof j.weights !== 'object') fail('has no weights');
  const model = createTransformerLanguageModel({ ...config, vocab }, { rng: new Rng(0) });
  copyWeightsFromJSON(transformerLmParameters(model).params, j.weights as Record<string, MatrixJSON>, fail, `this Transformer (${config.layers} layer(s))`);
  return model;
}

// ---- generation ------------------------------------------------------------------------------

/** A hypothesis' state for sampling and beam search: the tokens fed so far. Never mutated. */
export type TransformerLmState = readonly number[];

/**
 * The model as a step function (decode/sampling.ts, decode/beam.ts) with a key/value cache
 * (layers/transformer/incremental.ts): step(state, token) feeds token at position |state| and returns
 * log P(next | state + token) (float64, one buffer overwritten by the next call) and the new state.
 * Continuing the state the last call returned (sampling, scoring) costs one position per token; another
 * state (a beam's other hypothesis) is replayed into the cache first (decode/incremental.ts). Past
 * maxLength tokens the context slides (positions restart, as in training where a context starts
 * anywhere in the stream): every position changes, so those steps run the reference step function.
 */
export function createTransformerLmStepper(model: TransformerLanguageModel): { initialState(): TransformerLmState; step: StepFunction<TransformerLmState> } {
  const reference = createTransformerLmStepperUncached(model);
  return { initialState: () => [], step: incrementalStepFunction(createTransformerLmCache(model), reference.step) };
}

/**
 * The causal model as an incremental decoder of one sequence: a cache of maxLength positions, and the
 * buffers of a one-row step (allocated once: feeding a token allocates nothing).
 */
export function createTransformerLmCache(model: TransformerLanguageModel): IncrementalDecoder {
  const { dModel: d, dtype, maxLength } = model.config;
  const V = model.vocab.size;
  const cache = createKvCache(model.encoder, { slots: 1, maxSteps: maxLength });
  const ws = createTransformerStepWorkspace(model.encoder, 1, maxLength);
  const x = Matrix.zeros(1, d, dtype), h = Matrix.zeros(1, d, dtype), logits = Matrix.zeros(1, V, dtype);
  const table = positionTable(model.positions);
  const positionRows = Array.from({ length: maxLength }, (_, t) => table.rowView(t, 1));
  const ids = new Int32Array(1);
  const where = { n: 1, position: 0, rowSlots: new Int32Array(1) };
  const logProbs = new Float64Array(V);
  return {
    capacity: maxLength,
    reset() { /* positions are overwritten from 0: nothing to clear */ },
    feed(token, position) {
      if (!Number.isInteger(token) || token < 0 || token >= V) throw new Error(`transformerLmStep: expected a token id in [0, ${V}), got ${token}`);
      ids[0] = token;
      embeddingForward(x, model.embedding, ids);
      addBias(x, x, positionRows[position]);
      where.position = position;
      transformerStackStep(h, ws, x, cache, where);
      denseForward(logits, model.output, h);
      logSoftmaxRow(logProbs, 0, logits.data, logits.offset, V);
      return logProbs;
    },
  };
}

/**
 * The reference step function: each step runs the causal model over the last ≤ maxLength tokens of
 * state + token (no cache: O(T²) per token; workspaces kept per context length) and returns log P of
 * the last position. The cached stepper's steps past maxLength come here.
 */
export function createTransformerLmStepperUncached(model: TransformerLanguageModel): { initialState(): TransformerLmState; step: StepFunction<TransformerLmState> } {
  const V = model.vocab.size;
  const logProbs = new Float64Array(V);
  const workspaces = new Map<number, TransformerLmWorkspace>();
  return {
    initialState: () => [],
    step(state, token) {
      if (!Number.isInteger(token) || token < 0 || token >= V) throw new Error(`transformerLmStep: expected a token id in [0, ${V}), got ${token}`);
      const next = [...state, token];
      const window = next.slice(Math.max(0, next.length - model.config.maxLength));
      const T = window.length;
      let ws = workspaces.get(T);
      if (!ws) {
        ws = createTransformerLmWorkspace(model, T, 1);
        workspaces.set(T, ws);
      }
      ws.inputIds.set(window);
      const logits = transformerLmForward(model, ws, DROPOUT_OFF);
      logSoftmaxRow(logProbs, 0, logits.data, logits.offset + (T - 1) * logits.stride, V);
      return { logProbs, state: next };
    },
  };
}
