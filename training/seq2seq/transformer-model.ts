/**
 * Sequence to sequence with the Transformer (Vaswani et al. 2017), beside the RNN encoder-decoder of
 * model.ts: the same pairs, vocabularies, batches and decoding (beam.ts), with attention in place of
 * the recurrences:
 *
 *   X = E_src[x] + P          [T_x·B, d]      memory M = Encoder(X)   (source padding masked as keys)
 *   Y = E_tgt[y⟨t−1⟩] + P     [T_y·B, d]      (teacher forcing: <SOS>, y⟨1⟩, …)
 *   H = Decoder(Y, M)         causal self-attention over the target, cross-attention to M (padding masked)
 *   s⟨t⟩ = H⟨t⟩ W_oᵀ + b_o,   L = (1/N) Σ_t Σ_b m⟨t,b⟩ · −log softmax(s⟨t⟩_b)[y⟨t⟩_b]  (mean per target token)
 *
 * Encoder and decoder are the stacks of layers/transformer (post- or pre-norm, each with its final norm).
 * Batches are model.ts's Seq2SeqBatch (time-major, right-padded, <SOS>/<EOS> added).
 * Workspaces are made once per (T_x, T_y, B) shape and kept (a few shapes per run with length buckets).
 *
 * Decoding (transformerTranslateManyIds, transformerTranslateIds): sources in chunks, each encoded once as
 * one batch; the decoder runs with a key/value cache (layers/transformer/incremental.ts): a step computes
 * only the new position's queries, keys and values per layer and attends over the cache, cross-attention
 * reads the memory projected once per chunk, and beam search reorders the cache by the hypotheses'
 * parents. The reference decoder is kept (TransformerSeq2SeqDecoder.prepare, transformerTranslateIdsUncached):
 * each step re-runs the decoder over the whole prefix and returns log P(· | x, y⟨<t⟩) of its last
 * position, as beam.ts's step function; the cross-attention maps of `attend` come from it.
 *
 * Parameter names: source_embedding.weight, target_embedding.weight, source_positions.weight and
 * target_positions.weight (learned positions), encoder.layers.<l>.…, encoder.norm.…, decoder.layers.<l>.…
 * (self_attn, multihead_attn, linear1/2, norm1-3), decoder.norm.…, output.W, output.b.
 */
import { withConstantOperands } from '../../engine/backend.js';
import { crossEntropy, crossEntropyBackward } from '../../engine/cross-entropy.js';
import { Matrix, type DType } from '../../engine/matrix.js';
import { addBias, scale } from '../../engine/ops.js';
import { Rng } from '../../engine/rng.js';
import { resolveCreateOptions, type CreateOptions } from '../../engine/create.js';
import { logSoftmax, logSoftmaxRow } from '../../engine/softmax.js';
import { causalMask, headAttentionWeights, type AttentionMasks } from '../../layers/attention/multihead.js';
import { createDense, denseBackward, denseForward, denseZeroGrad, type DenseLayer } from '../../layers/dense.js';
import { DROPOUT_OFF, type DropoutMode } from '../../layers/dropout.js';
import { createEmbedding, embeddingBackward, embeddingForward, embeddingZeroGrad, type Embedding } from '../../layers/embedding.js';
import {
  createTransformerDecoder, createTransformerDecoderWorkspace, transformerDecoderBackward, transformerDecoderForward,
  transformerDecoderParameters, zeroTransformerDecoderGrads, type TransformerDecoder, type TransformerDecoderWorkspace,
} from '../../layers/transformer/decoder.js';
import {
  createTransformerEncoder, createTransformerEncoderWorkspace, transformerEncoderBackward, transformerEncoderForward,
  transformerEncoderParameters, zeroTransformerEncoderGrads, type TransformerEncoder, type TransformerEncoderWorkspace,
} from '../../layers/transformer/encoder.js';
import type { FeedForwardActivation } from '../../layers/transformer/feedforward.js';
import {
  allocateCrossMemory, createKvCache, loadCrossMemory, createTransformerStepWorkspace, releaseCrossMemory, releaseKvCache,
  releaseTransformerStepWorkspace, reorderKvCache, transformerStackStep, type CrossMemory, type KvCache, type StepRows,
  type TransformerStepWorkspace,
} from '../../layers/transformer/incremental.js';
import { resolveTransformerLayerOptions } from '../../layers/transformer/options.js';
import {
  createTransformerPositions, positionTable, positionsBackward, positionsForward, type PositionKind, type TransformerPositions,
} from '../../layers/transformer/positions.js';
import { releaseMatrices, releaseTransformerDecoderWorkspace, releaseTransformerEncoderWorkspace } from '../../layers/transformer/release.js';
import { InputError } from '../core/errors.js';
import { matrixToJSON, type MatrixJSON } from '../io/tensors.js';
import { beamSearch, beamSearchBatch, type BatchStepModel, type Hypothesis, type LengthPenalty } from '../decode/beam.js';
import { copyWeightsFromJSON } from '../io/weights-json.js';
import { incrementalStepFunction, type IncrementalDecoder, type TokenState } from '../decode/incremental.js';
import type { StepFunction } from '../decode/sampling.js';
import { EOS, PAD, SOS, Vocabulary, detokenize, tokenizeText, type TokenLevel, type VocabularyJSON } from '../text/vocab.js';
import { resolveLevels, type Seq2SeqBatch, type Seq2SeqLevelOptions, type Seq2SeqModel, type Translation, type TranslateOptions } from './model.js';

export interface TransformerSeq2SeqConfig {
  /** Source and target tokens: characters or words (each side its own). */
  sourceLevel: TokenLevel;
  targetLevel: TokenLevel;
  lowercase: boolean;
  dModel: number;
  numHeads: number;
  encoderLayers: number;
  decoderLayers: number;
  dimFeedforward: number;
  dropout: number;
  activation: FeedForwardActivation;
  normFirst: boolean;
  positions: PositionKind;
  /** Rows of the position tables: the longest source and the longest target + 1 the model can take. */
  maxLength: number;
  seed: number;
  dtype: DType;
}

/** Anything left out takes its default; `level` is the shorthand for both sides' levels. */
export type TransformerSeq2SeqOptions = Partial<TransformerSeq2SeqConfig> & Seq2SeqLevelOptions;

export interface TransformerSeq2SeqModel {
  readonly config: TransformerSeq2SeqConfig;
  readonly sourceVocab: Vocabulary;
  readonly targetVocab: Vocabulary;
  readonly sourceEmbedding: Embedding;
  readonly targetEmbedding: Embedding;
  readonly sourcePositions: TransformerPositions;
  readonly targetPositions: TransformerPositions;
  readonly encoder: TransformerEncoder;
  readonly decoder: TransformerDecoder;
  readonly output: DenseLayer;
  readonly ids: { pad: number; sos: number; eos: number };
}

/** Defaults: char level, d = 64, 4 heads, 2 + 2 layers, F = 4d, dropout 0.1, ReLU, post-norm, sinusoidal, 128 positions. */
export function resolveTransformerSeq2SeqConfig(opts: TransformerSeq2SeqOptions, op = 'createTransformerSeq2Seq'): TransformerSeq2SeqConfig {
  const dModel = opts.dModel ?? 64;
  const config: TransformerSeq2SeqConfig = {
    ...resolveLevels(opts, op), lowercase: opts.lowercase ?? false, dModel, numHeads: opts.numHeads ?? 4,
    encoderLayers: opts.encoderLayers ?? 2, decoderLayers: opts.decoderLayers ?? 2,
    dimFeedforward: opts.dimFeedforward ?? 4 * dModel, dropout: opts.dropout ?? 0.1, activation: opts.activation ?? 'relu',
    normFirst: opts.normFirst ?? false, positions: opts.positions ?? 'sinusoidal', maxLength: opts.maxLength ?? 128,
    seed: opts.seed ?? 1, dtype: opts.dtype ?? 'float32',
  };
  resolveTransformerLayerOptions(op, { ...config });
  for (const name of ['encoderLayers', 'decoderLayers', 'maxLength'] as const) {
    if (!Number.isInteger(config[name]) || config[name] < 1) throw new Error(`${op}: expected ${name} to be an integer ≥ 1, got ${config[name]}`);
  }
  if (config.positions !== 'sinusoidal' && config.positions !== 'learned') {
    throw new Error(`${op}: expected positions 'sinusoidal' or 'learned', got ${JSON.stringify(config.positions)}`);
  }
  return config;
}

/**
 * A new model over `config.sourceVocab` and `config.targetVocab`, initialised from `options.rng` (default:
 * a generator seeded with config.seed, whose default is DEFAULT_SEED); `options.dtype` overrides config.dtype.
 */
export function createTransformerSeq2Seq(
  config: TransformerSeq2SeqOptions & { sourceVocab: Vocabulary; targetVocab: Vocabulary }, options?: CreateOptions,
): TransformerSeq2SeqModel;
/** @deprecated Use `createTransformerSeq2Seq({ ...opts, sourceVocab, targetVocab }, { rng })`. */
export function createTransformerSeq2Seq(
  opts: TransformerSeq2SeqOptions, sourceVocab: Vocabulary, targetVocab: Vocabulary, rng?: Rng,
): TransformerSeq2SeqModel;
export function createTransformerSeq2Seq(
  first: TransformerSeq2SeqOptions & { sourceVocab?: Vocabulary; targetVocab?: Vocabulary },
  second?: Vocabulary | CreateOptions, oldTarget?: Vocabulary, oldRng?: Rng,
): TransformerSeq2SeqModel {
  const op = 'createTransformerSeq2Seq';
  const legacy = second instanceof Vocabulary;
  const { sourceVocab: configSource, targetVocab: configTarget, ...opts } = first;
  const sourceVocab = (legacy ? second : configSource) as Vocabulary;
  const targetVocab = (legacy ? oldTarget : configTarget) as Vocabulary;
  const options: CreateOptions = legacy ? { rng: oldRng } : (second as CreateOptions | undefined) ?? {};
  const config = resolveTransformerSeq2SeqConfig({ ...opts, dtype: options.dtype ?? opts.dtype }, op);
  for (const [name, vocab] of [['sourceVocab', sourceVocab], ['targetVocab', targetVocab]] as const) {
    if (!(vocab instanceof Vocabulary)) throw new Error(`${op}: expected config.${name} to be a Vocabulary, got ${typeof vocab}`);
  }
  for (const sp of [PAD, SOS, EOS]) {
    if (!targetVocab.has(sp)) throw new Error(`createTransformerSeq2Seq: expected the target vocabulary to have ${sp} (build it with buildTargetVocabulary)`);
  }
  if (!sourceVocab.has(PAD)) throw new Error(`createTransformerSeq2Seq: expected the source vocabulary to have ${PAD} (build it with buildSourceVocabulary)`);
  const gen = resolveCreateOptions(op, { rng: options.rng ?? new Rng(config.seed) }).rng;
  const { dModel: d, dtype, maxLength } = config;
  const layerOptions = { ...config };
  return {
    config, sourceVocab, targetVocab,
    sourceEmbedding: createEmbedding({ vocabSize: sourceVocab.size, dim: d }, { rng: gen, dtype }),
    targetEmbedding: createEmbedding({ vocabSize: targetVocab.size, dim: d }, { rng: gen, dtype }),
    sourcePositions: createTransformerPositions({ kind: config.positions, maxLength, dim: d }, { rng: gen, dtype }),
    targetPositions: createTransformerPositions({ kind: config.positions, maxLength, dim: d }, { rng: gen, dtype }),
    encoder: createTransformerEncoder({ ...layerOptions, numLayers: config.encoderLayers }, { rng: gen }),
    decoder: createTransformerDecoder({ ...layerOptions, numLayers: config.decoderLayers }, { rng: gen }),
    output: createDense({ inputSize: d, outputSize: targetVocab.size }, { rng: gen, dtype }),
    ids: { pad: targetVocab.id(PAD), sos: targetVocab.id(SOS), eos: targetVocab.id(EOS) },
  };
}

export function transformerSeq2SeqParameters(model: TransformerSeq2SeqModel): { params: Record<string, Matrix>; grads: Record<string, Matrix> } {
  const params: Record<string, Matrix> = {
    'source_embedding.weight': model.sourceEmbedding.weight, 'target_embedding.weight': model.targetEmbedding.weight,
  };
  const grads: Record<string, Matrix> = {
    'source_embedding.weight': model.sourceEmbedding.grad, 'target_embedding.weight': model.targetEmbedding.grad,
  };
  for (const [name, pos] of [['source_positions', model.sourcePositions], ['target_positions', model.targetPositions]] as const) {
    if (pos.kind !== 'learned') continue;
    params[`${name}.weight`] = pos.embedding.params.weight;
    grads[`${name}.weight`] = pos.embedding.grads.weight;
  }
  for (const part of [transformerEncoderParameters(model.encoder, 'encoder.'), transformerDecoderParameters(model.decoder, 'decoder.')]) {
    Object.assign(params, part.params);
    Object.assign(grads, part.grads);
  }
  params['output.W'] = model.output.params.W;
  grads['output.W'] = model.output.grads.W;
  params['output.b'] = model.output.params.b!;
  grads['output.b'] = model.output.grads.b!;
  return { params, grads };
}

export function transformerSeq2SeqParameterCount(model: TransformerSeq2SeqModel): number {
  return Object.values(transformerSeq2SeqParameters(model).params).reduce((s, p) => s + p.size, 0);
}

export function transformerSeq2SeqZeroGrad(model: TransformerSeq2SeqModel): void {
  embeddingZeroGrad(model.sourceEmbedding);
  embeddingZeroGrad(model.targetEmbedding);
  for (const pos of [model.sourcePositions, model.targetPositions]) if (pos.kind === 'learned') pos.embedding.grads.weight.data.fill(0);
  zeroTransformerEncoderGrads(model.encoder);
  zeroTransformerDecoderGrads(model.decoder);
  denseZeroGrad(model.output);
}

/**
 * makeSeq2SeqBatch (model.ts) reads only the form, dtype, ids and source vocabulary of a model: this is
 * that view of a Transformer, so both model kinds share one batching (padding, <SOS>/<EOS>, masks).
 */
export function batchView(model: TransformerSeq2SeqModel): Seq2SeqModel {
  return {
    config: { form: 'encoder-decoder', featureSize: 0, dtype: model.config.dtype },
    ids: model.ids, sourceVocab: model.sourceVocab, targetVocab: model.targetVocab,
  } as unknown as Seq2SeqModel;
}

// ---- forward and backward over a batch -------------------------------------------------------

/** The buffers of one (T_x, T_y, B). */
export interface TransformerSeq2SeqWorkspace {
  readonly srcSteps: number; readonly tgtSteps: number; readonly batch: number;
  readonly srcX: Matrix; readonly memory: Matrix; readonly dSrcX: Matrix; readonly dMemory: Matrix;
  readonly tgtX: Matrix; readonly hidden: Matrix; readonly dTgtX: Matrix; readonly dHidden: Matrix;
  readonly logits: Matrix;
  readonly causal: Matrix;
  readonly encoder: TransformerEncoderWorkspace;
  readonly decoder: TransformerDecoderWorkspace;
  /** The batch of the last forward call (its ids and masks are read by the backward pass). */
  lastBatch: Seq2SeqBatch | null;
}

export function createTransformerSeq2SeqWorkspace(model: TransformerSeq2SeqModel, srcSteps: number, tgtSteps: number, batch: number): TransformerSeq2SeqWorkspace {
  const op = 'createTransformerSeq2SeqWorkspace';
  const longest = Math.max(srcSteps, tgtSteps);
  if (longest > model.config.maxLength) {
    throw new InputError(`${op}: expected sequences of at most ${model.config.maxLength} positions (the model's maxLength), got ${longest}`);
  }
  const { dModel: d, dtype } = model.config;
  const src = (): Matrix => Matrix.zeros(srcSteps * batch, d, dtype);
  const tgt = (): Matrix => Matrix.zeros(tgtSteps * batch, d, dtype);
  return {
    srcSteps, tgtSteps, batch,
    srcX: src(), memory: src(), dSrcX: src(), dMemory: src(),
    tgtX: tgt(), hidden: tgt(), dTgtX: tgt(), dHidden: tgt(),
    logits: Matrix.zeros(tgtSteps * batch, model.targetVocab.size, dtype),
    causal: causalMask(tgtSteps, { dtype }),
    encoder: createTransformerEncoderWorkspace(model.encoder, srcSteps, batch),
    decoder: createTransformerDecoderWorkspace(model.decoder, tgtSteps, srcSteps, batch),
    lastBatch: null,
  };
}

/**
 * Workspaces by shape, made on first use; at most `keep` shapes are held: a new shape beyond them
 * releases the least recently used one at once (releaseTransformerSeq2SeqWorkspace), so a run over many
 * shapes holds the memory of `keep` of them, not of every shape it met (on the wasm backend a dropped
 * workspace would come back only after a garbage collection, never inside the training loop).
 */
export class TransformerSeq2SeqWorkspaces {
  /** In order of last use, the most recent last. */
  private readonly byShape = new Map<string, TransformerSeq2SeqWorkspace>();
  constructor(readonly model: TransformerSeq2SeqModel, readonly keep = 8) {
    if (!Number.isInteger(keep) || keep < 1) throw new Error(`TransformerSeq2SeqWorkspaces: expected keep to be an integer ≥ 1, got ${keep}`);
  }

  get(batch: Seq2SeqBatch): TransformerSeq2SeqWorkspace {
    const key = `${batch.srcSteps}x${batch.tgtSteps}x${batch.batch}`;
    let ws = this.byShape.get(key);
    if (ws) {
      this.byShape.delete(key);
    } else {
      if (this.byShape.size >= this.keep) this.evictOldest();
      ws = createTransformerSeq2SeqWorkspace(this.model, batch.srcSteps, batch.tgtSteps, batch.batch);
    }
    this.byShape.set(key, ws);
    return ws;
  }

  /** Shapes held now. */
  get size(): number {
    return this.byShape.size;
  }

  /** Release every workspace held (they are made afresh on the next get). */
  release(): void {
    for (const ws of this.byShape.values()) releaseTransformerSeq2SeqWorkspace(ws);
    this.byShape.clear();
  }

  private evictOldest(): void {
    const [key, ws] = this.byShape.entries().next().value as [string, TransformerSeq2SeqWorkspace];
    this.byShape.delete(key);
    releaseTransformerSeq2SeqWorkspace(ws);
  }
}

/** Give a workspace's storage back now (layers/transformer/release.ts); it must not be used afterwards. */
export function releaseTransformerSeq2SeqWorkspace(ws: TransformerSeq2SeqWorkspace): void {
  releaseTransformerEncoderWorkspace(ws.encoder);
  releaseTransformerDecoderWorkspace(ws.decoder);
  releaseMatrices(ws, [ws.srcX, ws.memory, ws.dSrcX, ws.dMemory, ws.tgtX, ws.hidden, ws.dTgtX, ws.dHidden, ws.logits, ws.causal]);
  ws.lastBatch = null;
}

/** Embed ids and add positions: out [T·B, d]. */
function embed(out: Matrix, embedding: Embedding, positions: TransformerPositions, ids: Int32Array, batch: number): Matrix {
  embeddingForward(out, embedding, ids);
  return positionsForward(out, positions, out, batch);
}

/** Teacher-forced forward: returns the mean cross-entropy per real target token; logits stay in ws. */
export function transformerSeq2SeqForward(
  model: TransformerSeq2SeqModel, ws: TransformerSeq2SeqWorkspace, batch: Seq2SeqBatch, mode: DropoutMode,
): number {
  if (batch.srcSteps !== ws.srcSteps || batch.tgtSteps !== ws.tgtSteps || batch.batch !== ws.batch || !batch.srcMask) {
    throw new Error(`transformerSeq2SeqForward: expected a batch of T_x ${ws.srcSteps}, T_y ${ws.tgtSteps}, B ${ws.batch} with a source mask, got T_x ${batch.srcSteps}, T_y ${batch.tgtSteps}, B ${batch.batch}`);
  }
  const B = batch.batch;
  const srcMasks: AttentionMasks = { keyPaddingMask: batch.srcMask };
  const tgtMasks: AttentionMasks = { keyPaddingMask: batch.tgtMask, attnMask: ws.causal };
  embed(ws.srcX, model.sourceEmbedding, model.sourcePositions, batch.srcIds, B);
  transformerEncoderForward(ws.memory, ws.encoder, ws.srcX, srcMasks, mode);
  embed(ws.tgtX, model.targetEmbedding, model.targetPositions, batch.tgtIn, B);
  transformerDecoderForward(ws.hidden, ws.decoder, ws.tgtX, ws.memory, tgtMasks, srcMasks, mode);
  denseForward(ws.logits, model.output, ws.hidden);
  ws.lastBatch = batch;
  return crossEntropy(ws.logits, batch.tgtOut, { mask: batch.tgtMask, reduction: 'mean' });
}

/**
 * Backward of the last forward: accumulates into every gradient of the model. The loss is the
 * forward's mean per target token, or with `lossTokens` Σ ℓ / lossTokens (a share of a larger batch
 * of lossTokens target tokens: its part of that batch's mean, transformer-parallel.ts).
 */
export function transformerSeq2SeqBackward(model: TransformerSeq2SeqModel, ws: TransformerSeq2SeqWorkspace, lossTokens?: number): void {
  const batch = ws.lastBatch;
  if (!batch) throw new Error('transformerSeq2SeqBackward: expected a transformerSeq2SeqForward on this workspace first, got none');
  const B = batch.batch;
  if (lossTokens === undefined) crossEntropyBackward(ws.logits, ws.logits, batch.tgtOut, { mask: batch.tgtMask, reduction: 'mean' });
  else scale(ws.logits, crossEntropyBackward(ws.logits, ws.logits, batch.tgtOut, { mask: batch.tgtMask, reduction: 'sum' }), 1 / lossTokens);
  denseBackward(model.output, ws.hidden, ws.logits, ws.dHidden);
  ws.dTgtX.data.fill(0);
  ws.dMemory.data.fill(0);
  transformerDecoderBackward(ws.dTgtX, ws.dMemory, ws.decoder, ws.dHidden);
  positionsBackward(null, model.targetPositions, ws.dTgtX, B);
  embeddingBackward(model.targetEmbedding, batch.tgtIn, ws.dTgtX);
  ws.dSrcX.data.fill(0);
  transformerEncoderBackward(ws.dSrcX, ws.encoder, ws.dMemory);
  positionsBackward(null, model.sourcePositions, ws.dSrcX, B);
  embeddingBackward(model.sourceEmbedding, batch.srcIds, ws.dSrcX);
}

// ---- decoding --------------------------------------------------------------------------------

/** A hypothesis' state for beam search: the target tokens fed so far (<SOS> first). Never mutated. */
export type TransformerDecoderState = readonly number[];

export interface TransformerStepper {
  initialState: TransformerDecoderState;
  step(state: TransformerDecoderState, token: number): { logProbs: Float64Array; state: TransformerDecoderState };
  /** Cross-attention weights of the last step's position: per decoder layer, per head, over the T_x source positions. */
  lastCrossAttention(): number[][][];
  sourceLength: number;
}

/** Inference buffers of one model (batch 1), by length. */
export class TransformerSeq2SeqDecoder {
  private readonly encoderWs = new Map<number, { ws: TransformerEncoderWorkspace; x: Matrix; memory: Matrix }>();
  private readonly decoderWs = new Map<string, { ws: TransformerDecoderWorkspace; x: Matrix; h: Matrix; causal: Matrix; logits: Matrix; ids: Int32Array }>();
  private readonly logProbsRow: Matrix;
  private readonly logProbs: Float64Array;
  private last: TransformerDecoderWorkspace | null = null;
  /** The row of `last` that holds the last prefix position (the rows after it are padding). */
  private lastRow = 0;

  private buffers: TransformerDecodeBuffers | null = null;
  /** prepareCached's one-slot buffers. */
  private single: TransformerDecodeBuffers | null = null;

  constructor(readonly model: TransformerSeq2SeqModel) {
    this.logProbsRow = Matrix.zeros(1, model.targetVocab.size, model.config.dtype);
    this.logProbs = new Float64Array(model.targetVocab.size);
  }

  /**
   * The cached decoding buffers for `slots` hypotheses of up to `maxSteps` positions over sources of up
   * to `maxSourceLength` tokens: the kept ones when they are large enough, else new ones (the old released).
   */
  cacheBuffers(slots: number, maxSteps: number, maxSourceLength: number): TransformerDecodeBuffers {
    const kept = this.buffers;
    if (kept && kept.slots >= slots && kept.maxSteps >= maxSteps && kept.maxSourceLength >= maxSourceLength) return kept;
    kept?.release();
    this.buffers = new TransformerDecodeBuffers(
      this.model, Math.max(slots, kept?.slots ?? 0), Math.max(maxSteps, kept?.maxSteps ?? 0), Math.max(maxSourceLength, kept?.maxSourceLength ?? 0),
    );
    return this.buffers;
  }

  /**
   * Give every buffer of this decoder back now (the cached decoding buffers and the reference path's
   * workspaces); the decoder stays usable and allocates afresh on its next call.
   */
  release(): void {
    this.buffers?.release();
    this.buffers = null;
    this.single?.release();
    this.single = null;
    for (const enc of this.encoderWs.values()) {
      releaseTransformerEncoderWorkspace(enc.ws);
      releaseMatrices(enc, [enc.x, enc.memory]);
    }
    this.encoderWs.clear();
    for (const dec of this.decoderWs.values()) {
      releaseTransformerDecoderWorkspace(dec.ws);
      releaseMatrices(dec, [dec.x, dec.h, dec.causal, dec.logits]);
    }
    this.decoderWs.clear();
    this.last = null;
  }

  /** Encode one source (ids) and return the step function over it. */
  prepare(source: ArrayLike<number>): TransformerStepper {
    const model = this.model;
    const Tx = source.length;
    if (Tx < 1 || Tx > model.config.maxLength) throw new InputError(`translate: expected a source of 1 to ${model.config.maxLength} tokens, got ${Tx}`);
    let enc = this.encoderWs.get(Tx);
    if (!enc) {
      const m = (): Matrix => Matrix.zeros(Tx, model.config.dModel, model.config.dtype);
      enc = { ws: createTransformerEncoderWorkspace(model.encoder, Tx, 1), x: m(), memory: m() };
      this.encoderWs.set(Tx, enc);
    }
    embed(enc.x, model.sourceEmbedding, model.sourcePositions, Int32Array.from(source), 1);
    const memory = transformerEncoderForward(enc.memory, enc.ws, enc.x, {}, DROPOUT_OFF).clone();

    const step = (state: TransformerDecoderState, token: number): { logProbs: Float64Array; state: TransformerDecoderState } => {
      const next = [...state, token];
      this.decodePrefix(next, memory);
      return { logProbs: this.logProbs, state: next };
    };
    const lastCrossAttention = (): number[][][] => {
      const ws = this.last;
      if (!ws) return [];
      return ws.layers.map((layer) => Array.from({ length: model.config.numHeads }, (_, h) => {
        const P = headAttentionWeights(layer.crossAttn, h, 0);
        return P.toArray()[this.lastRow];
      }));
    };
    return { initialState: [], step, lastCrossAttention, sourceLength: Tx };
  }

  /**
   * `prepare` with the key/value cache: encode one source and return its step function
   * (decode/incremental.ts: continuing the last state feeds one position; another state is replayed),
   * for sampling (decode/sampling.ts sampleSequence) and scoring. Valid until the next prepareCached or
   * release of this decoder (one cache of one sequence).
   */
  prepareCached(source: ArrayLike<number>): { initialState: TokenState; step: StepFunction<TokenState>; sourceLength: number } {
    const model = this.model, { maxLength } = model.config;
    this.single ??= new TransformerDecodeBuffers(model, 1, maxLength, maxLength);
    const batch = new TransformerSeq2SeqBatchDecoder(model, [source], 1, this.single);
    const tokens = new Int32Array(1), live = new Int32Array(1), logProbs = new Float64Array(model.targetVocab.size);
    const decoder: IncrementalDecoder = {
      capacity: maxLength,
      reset: () => batch.rewind(),
      feed(token, position) {
        if (position !== batch.steps) throw new Error(`TransformerSeq2SeqDecoder: expected position ${batch.steps}, got ${position}`);
        tokens[0] = token;
        batch.step(tokens, logProbs, live, 1);
        return logProbs;
      },
    };
    return { initialState: [], step: incrementalStepFunction(decoder), sourceLength: source.length };
  }

  /**
   * Run the decoder over `prefix` ([<SOS>, y⟨1⟩, …]) against `memory`; log-probabilities of the last
   * position. The prefix is padded to a bucket of 8, 16, 32, … rows (at most maxLength), so one
   * source length needs a handful of buffer sets rather than one per prefix length (they are kept
   * for the model's life, and a long synchronous decode would otherwise fill the heap long before
   * the garbage collector returns any). Padding changes nothing before it: the decoder's
   * self-attention is causal (row i reads rows ≤ i) and every other sublayer works row by row.
   */
  private decodePrefix(prefix: readonly number[], memory: Matrix): void {
    const model = this.model;
    const T = prefix.length, Tx = memory.rows;
    if (T > model.config.maxLength) throw new InputError(`translate: expected outputs of at most ${model.config.maxLength} positions (the model's maxLength), got ${T}`);
    let rows = 8;
    while (rows < T) rows *= 2;
    rows = Math.min(rows, model.config.maxLength);
    const key = `${rows}x${Tx}`;
    let dec = this.decoderWs.get(key);
    if (!dec) {
      const m = (): Matrix => Matrix.zeros(rows, model.config.dModel, model.config.dtype);
      dec = {
        ws: createTransformerDecoderWorkspace(model.decoder, rows, Tx, 1), x: m(), h: m(), causal: causalMask(rows, { dtype: model.config.dtype }),
        logits: Matrix.zeros(1, model.targetVocab.size, model.config.dtype), ids: new Int32Array(rows),
      };
      this.decoderWs.set(key, dec);
    }
    dec.ids.fill(prefix[T - 1]);
    dec.ids.set(prefix);
    embed(dec.x, model.targetEmbedding, model.targetPositions, dec.ids, 1);
    transformerDecoderForward(dec.h, dec.ws, dec.x, memory, { attnMask: dec.causal }, {}, DROPOUT_OFF);
    denseForward(dec.logits, model.output, dec.h.rowView(T - 1, 1));
    logSoftmax(this.logProbsRow, dec.logits);
    for (let j = 0; j < this.logProbs.length; j++) this.logProbs[j] = this.logProbsRow.get(0, j);
    this.last = dec.ws;
    this.lastRow = T - 1;
  }
}

export function transformerSourceIds(model: TransformerSeq2SeqModel, text: string): number[] {
  return model.sourceVocab.encode(tokenizeText(text, { level: model.config.sourceLevel, lowercase: model.config.lowercase }));
}

export function transformerTargetText(model: TransformerSeq2SeqModel, ids: readonly number[]): string {
  return detokenize(model.targetVocab.decode([...ids]), model.config.targetLevel);
}

/** Greedy (beamWidth 1) or beam-search decoding of one source (ids) with the key/value cache; the n-best translations, best first. */
export function transformerTranslateIds(decoder: TransformerSeq2SeqDecoder, source: ArrayLike<number>, opts: TranslateOptions = {}): Translation[] {
  return transformerTranslateManyIds(decoder, [source], opts)[0];
}

/** The reference decoder: beamSearch over the prefix-recomputing step function of `decoder.prepare` (no cache). */
export function transformerTranslateIdsUncached(decoder: TransformerSeq2SeqDecoder, source: ArrayLike<number>, opts: TranslateOptions = {}): Translation[] {
  const model = decoder.model;
  const stepper = decoder.prepare(source);
  const hyps = beamSearch({
    step: stepper.step, initialState: stepper.initialState, startToken: model.ids.sos, eosToken: model.ids.eos,
    beamWidth: opts.beamWidth ?? 1, nBest: opts.nBest ?? 1, maxLength: transformerMaxOutput(model, source.length, opts),
    lengthPenalty: opts.lengthPenalty as LengthPenalty | undefined, forbid: [model.ids.pad, model.ids.sos],
  });
  return hyps.map((h) => toTranslation(model, h));
}

/** The longest output (<EOS> included) decoded for a source of `sourceLength` tokens: 2·T_x + 10 unless given, below maxLength. */
function transformerMaxOutput(model: TransformerSeq2SeqModel, sourceLength: number, opts: TranslateOptions): number {
  return Math.min(opts.maxLength ?? 2 * sourceLength + 10, model.config.maxLength - 1);
}

function toTranslation(model: TransformerSeq2SeqModel, h: Hypothesis): Translation {
  const ids = h.finished ? h.tokens.slice(0, -1) : h.tokens.slice();
  return { ids, text: transformerTargetText(model, ids), logProb: h.logProb, score: h.score, finished: h.finished };
}

/** Sources decoded together by transformerTranslateManyIds (chunk × beam width decoder rows per step). */
export const TRANSFORMER_DECODE_CHUNK = 64;

/**
 * Greedy or beam-search decoding of many sources with the key/value cache: chunks of up to `chunk`
 * sources (in order of length, so a chunk pads little) are encoded as one batch and searched together
 * (beamSearchBatch over a TransformerSeq2SeqBatchDecoder), every live hypothesis of the chunk one row of
 * each decoder step. Each source's n-best list is the one beamSearch gives over the reference step
 * function (transformerTranslateIdsUncached), up to float rounding. One list per source, in order.
 * The buffers are the decoder's (kept between calls; `decoder.release()` gives them back).
 */
export function transformerTranslateManyIds(
  decoder: TransformerSeq2SeqDecoder, sources: readonly ArrayLike<number>[], opts: TranslateOptions = {}, chunk = TRANSFORMER_DECODE_CHUNK,
): Translation[][] {
  if (!Number.isInteger(chunk) || chunk < 1) throw new Error(`transformerTranslateManyIds: expected chunk to be an integer ≥ 1, got ${chunk}`);
  const model = decoder.model;
  const beamWidth = opts.beamWidth ?? 1;
  const order = sources.map((_, i) => i).sort((a, b) => sources[a].length - sources[b].length);
  const out = new Array<Translation[]>(sources.length);
  const weights = Object.values(transformerSeq2SeqParameters(model).params).map((m) => m.data);
  withConstantOperands(weights, () => {
    for (let start = 0; start < order.length; start += chunk) {
      const picked = order.slice(start, start + chunk);
      const maxLength = picked.map((i) => transformerMaxOutput(model, sources[i].length, opts));
      const buffers = decoder.cacheBuffers(picked.length * beamWidth, Math.max(...maxLength), Math.max(...picked.map((i) => sources[i].length)));
      const batch = new TransformerSeq2SeqBatchDecoder(model, picked.map((i) => sources[i]), beamWidth, buffers);
      const lists = beamSearchBatch(batch, {
        startToken: model.ids.sos, eosToken: model.ids.eos, beamWidth, nBest: opts.nBest ?? 1, maxLength,
        lengthPenalty: opts.lengthPenalty, forbid: [model.ids.pad, model.ids.sos],
      });
      lists.forEach((hyps, j) => { out[picked[j]] = hyps.map((h) => toTranslation(model, h)); });
    }
  });
  return out;
}

/** The rows of one decoder step: R rows (a bucket), their tokens, slots and sources, and its buffers. */
interface StepBatch {
  readonly rows: number;
  readonly ws: TransformerStepWorkspace;
  /** Embedded tokens plus the position's row, the decoder's output [R, d]; logits [R, V]. */
  readonly x: Matrix; readonly h: Matrix; readonly logits: Matrix;
  readonly tokens: Int32Array;
  readonly where: StepRows & { rowSources: Int32Array };
}

/**
 * The cached decoding buffers of one model, kept from chunk to chunk: the key/value cache of `slots`
 * hypotheses of up to `maxSteps` positions, and the step buffers by row bucket. One batch decoder at a
 * time uses them. `release` gives every buffer back at once (explicit: the wasm heap would otherwise
 * see them again only after a garbage collection).
 */
export class TransformerDecodeBuffers {
  readonly cache: KvCache;
  private readonly batches = new Map<number, StepBatch>();
  /** Row t of the target position table as a [1, d] view (made once: a step allocates nothing). */
  readonly positionRows: Matrix[];

  /** The encoder's buffers and the cross memory by (T_x rounded up to 8, S), the most recently used last. */
  private readonly sourceBatches = new Map<string, SourceBatch>();

  constructor(readonly model: TransformerSeq2SeqModel, readonly slots: number, readonly maxSteps: number, readonly maxSourceLength: number) {
    this.cache = createKvCache(model.decoder, { slots, maxSteps });
    const table = positionTable(model.targetPositions);
    this.positionRows = Array.from({ length: maxSteps }, (_, t) => table.rowView(t, 1));
  }

  /** The step batch of R rows, made on first use. */
  batch(rows: number): StepBatch {
    let b = this.batches.get(rows);
    if (!b) {
      const { dModel: d, dtype } = this.model.config;
      b = {
        rows, ws: createTransformerStepWorkspace(this.model.decoder, rows, Math.max(this.maxSteps, this.maxSourceLength)),
        x: Matrix.zeros(rows, d, dtype), h: Matrix.zeros(rows, d, dtype), logits: Matrix.zeros(rows, this.model.targetVocab.size, dtype),
        tokens: new Int32Array(rows),
        where: { n: 0, position: 0, rowSlots: new Int32Array(rows), rowSources: new Int32Array(rows) },
      };
      this.batches.set(rows, b);
    }
    return b;
  }

  /**
   * Encode S sources as one right-padded time-major batch (T_x rounded up to a multiple of 8, the padding
   * masked as keys) and project the memory for every decoder layer: the returned CrossMemory is these
   * buffers' and valid until the next encode. At most SOURCE_SHAPES shapes are kept (the least recently
   * used released), so decoding sources of many lengths allocates a few times, not once per chunk.
   */
  encode(sources: readonly ArrayLike<number>[]): CrossMemory {
    const model = this.model, S = sources.length;
    const longest = Math.max(...sources.map((ids) => ids.length));
    const Tx = Math.min(Math.ceil(longest / 8) * 8, model.config.maxLength);
    const key = `${Tx}x${S}`;
    let sb = this.sourceBatches.get(key);
    if (sb) {
      this.sourceBatches.delete(key);
    } else {
      if (this.sourceBatches.size >= SOURCE_SHAPES) {
        const [oldest, old] = this.sourceBatches.entries().next().value as [string, SourceBatch];
        this.sourceBatches.delete(oldest);
        releaseSourceBatch(old);
      }
      sb = createSourceBatch(model, Tx, S);
    }
    this.sourceBatches.set(key, sb);
    sb.srcIds.fill(model.sourceVocab.id(PAD));
    sb.srcMask.data.fill(0);
    sources.forEach((ids, s) => {
      for (let t = 0; t < ids.length; t++) {
        sb.srcIds[t * S + s] = ids[t];
        sb.srcMask.set(t, s, 1);
      }
    });
    embed(sb.x, model.sourceEmbedding, model.sourcePositions, sb.srcIds, S);
    transformerEncoderForward(sb.memory, sb.ws, sb.x, { keyPaddingMask: sb.srcMask }, DROPOUT_OFF);
    return loadCrossMemory(sb.cross, model.decoder, sb.memory, sources.map((ids) => ids.length));
  }

  release(): void {
    releaseKvCache(this.cache);
    for (const sb of this.sourceBatches.values()) releaseSourceBatch(sb);
    this.sourceBatches.clear();
    for (const b of this.batches.values()) {
      releaseTransformerStepWorkspace(b.ws);
      releaseMatrices(b, [b.x, b.h, b.logits]);
    }
    this.batches.clear();
  }
}

/** The bucket of a step of n live rows: 8, 12, 16, 24, 32, 48, … (or all rows), so a run keeps a handful of step batches. */
function rowBucket(n: number, all: number): number {
  let rows = 8;
  while (rows < n) rows = (rows & (rows - 1)) === 0 ? rows + rows / 2 : (rows / 3) * 4;
  return Math.min(rows, all);
}

/**
 * The Transformer as beamSearchBatch's model (decode/beam.ts BatchStepModel) with a key/value cache:
 * S sources encoded as one right-padded batch (key padding masked), the memory projected once per
 * decoder layer into cross-attention keys and values (CrossMemory); K slots per source (slot s·K + k).
 * A step feeds one token per live slot at position t (the number of steps so far): embedding plus
 * P[t], one transformerStackStep over the live rows packed into a bucket (the extra rows are ignored),
 * the output layer, log-softmax into the slot's row. `reorder` copies the cache rows 0 … t of each
 * slot's parent. After the step batches exist (one per bucket), step and reorder allocate nothing.
 */
export class TransformerSeq2SeqBatchDecoder implements BatchStepModel {
  readonly sources: number;
  readonly slots: number;
  readonly vocabSize: number;
  private readonly memory: CrossMemory;
  private position = 0;

  constructor(readonly model: TransformerSeq2SeqModel, sources: readonly ArrayLike<number>[], slots: number, private readonly buffers: TransformerDecodeBuffers) {
    const op = 'TransformerSeq2SeqBatchDecoder';
    const S = sources.length;
    if (S < 1) throw new Error(`${op}: expected at least one source, got none`);
    if (!Number.isInteger(slots) || slots < 1 || S * slots > buffers.slots) throw new Error(`${op}: expected slots ≥ 1 with sources × slots ≤ the buffers' ${buffers.slots}, got ${S} × ${slots}`);
    this.sources = S;
    this.slots = slots;
    this.vocabSize = model.targetVocab.size;
    const lengths = sources.map((ids) => ids.length);
    const Tx = Math.max(...lengths);
    if (Math.min(...lengths) < 1 || Tx > Math.min(model.config.maxLength, buffers.maxSourceLength)) {
      throw new InputError(`translate: expected sources of 1 to ${Math.min(model.config.maxLength, buffers.maxSourceLength)} tokens, got ${Math.min(...lengths)} to ${Tx}`);
    }
    this.memory = buffers.encode(sources);
  }

  step(tokens: Int32Array, logProbs: Float64Array, live: Int32Array, n: number): void {
    if (n < 1) return;
    const model = this.model, K = this.slots, V = this.vocabSize;
    const t = this.position++;
    if (t >= this.buffers.maxSteps) throw new Error(`TransformerSeq2SeqBatchDecoder: expected at most ${this.buffers.maxSteps} steps (the buffers' maxSteps), got step ${t + 1}`);
    const b = this.buffers.batch(rowBucket(n, this.sources * K));
    for (let r = 0; r < b.rows; r++) {
      const slot = r < n ? live[r] : live[0];
      b.tokens[r] = tokens[slot];
      b.where.rowSlots[r] = slot;
      b.where.rowSources[r] = Math.floor(slot / K);
    }
    b.where.n = n;
    b.where.position = t;
    embeddingForward(b.x, model.targetEmbedding, b.tokens);
    addBias(b.x, b.x, this.buffers.positionRows[t]);
    transformerStackStep(b.h, b.ws, b.x, this.buffers.cache, b.where, this.memory);
    denseForward(b.logits, model.output, b.h);
    const L = b.logits;
    for (let r = 0; r < n; r++) logSoftmaxRow(logProbs, live[r] * V, L.data, L.offset + r * L.stride, V);
  }

  reorder(parents: Int32Array): void {
    reorderKvCache(this.buffers.cache, parents, this.position);
  }

  /** Steps taken (the position the next step feeds). */
  get steps(): number {
    return this.position;
  }

  /** Start the hypotheses again from position 0 (the cache's rows are overwritten as they are fed). */
  rewind(): void {
    this.position = 0;
  }
}

/** Source batches kept by a TransformerDecodeBuffers. */
const SOURCE_SHAPES = 8;

/** The encoder's buffers for S sources of T_x steps, and the cross memory they fill. */
interface SourceBatch {
  readonly srcIds: Int32Array;
  readonly srcMask: Matrix;
  readonly x: Matrix; readonly memory: Matrix;
  readonly ws: TransformerEncoderWorkspace;
  readonly cross: CrossMemory;
}

function createSourceBatch(model: TransformerSeq2SeqModel, Tx: number, S: number): SourceBatch {
  const { dModel: d, dtype } = model.config;
  return {
    srcIds: new Int32Array(Tx * S), srcMask: Matrix.zeros(Tx, S, dtype),
    x: Matrix.zeros(Tx * S, d, dtype), memory: Matrix.zeros(Tx * S, d, dtype),
    ws: createTransformerEncoderWorkspace(model.encoder, Tx, S),
    cross: allocateCrossMemory(model.decoder, { sources: S, steps: Tx }),
  };
}

function releaseSourceBatch(sb: SourceBatch): void {
  releaseTransformerEncoderWorkspace(sb.ws);
  releaseCrossMemory(sb.cross);
  releaseMatrices(sb, [sb.srcMask, sb.x, sb.memory]);
}

/**
 * Cross-attention of every output step (ids without <EOS>; <EOS> gets a row too) over the source:
 * [layer][head] → rows T_y, columns T_x ("attend draws each head").
 */
export function transformerAttentionMaps(decoder: TransformerSeq2SeqDecoder, source: readonly number[], output: readonly number[]): number[][][][] {
  const model = decoder.model;
  const stepper = decoder.prepare(source);
  const maps = model.decoder.layers.map(() => Array.from({ length: model.config.numHeads }, () => [] as number[][]));
  let state = stepper.initialState;
  let input = model.ids.sos;
  for (const token of [...output, model.ids.eos]) {
    state = stepper.step(state, input).state;
    stepper.lastCrossAttention().forEach((heads, l) => heads.forEach((row, h) => maps[l][h].push(row)));
    input = token;
  }
  return maps;
}

// ---- the model file --------------------------------------------------------------------------

export interface TransformerSeq2SeqJSON {
  kind: 'seqgrad.transformer-seq2seq';
  version: 1;
  config: TransformerSeq2SeqConfig;
  sourceVocabulary: VocabularyJSON;
  targetVocabulary: VocabularyJSON;
  weights: Record<string, MatrixJSON>;
  training?: Record<string, unknown>;
}

export function transformerSeq2SeqToJSON(model: TransformerSeq2SeqModel, training?: Record<string, unknown>): TransformerSeq2SeqJSON {
  const weights: Record<string, MatrixJSON> = {};
  for (const [name, p] of Object.entries(transformerSeq2SeqParameters(model).params)) weights[name] = matrixToJSON(p);
  const json: TransformerSeq2SeqJSON = {
    kind: 'seqgrad.transformer-seq2seq', version: 1, config: { ...model.config },
    sourceVocabulary: model.sourceVocab.toJSON(), targetVocabulary: model.targetVocab.toJSON(), weights,
  };
  if (training) json.training = training;
  return json;
}

export function transformerSeq2SeqFromJSON(json: unknown, source = 'model'): TransformerSeq2SeqModel {
  const fail = (what: string): never => { throw new InputError(`${source}: ${what}`); };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail('expected a JSON object');
  const j = json as Partial<TransformerSeq2SeqJSON>;
  if (j.kind !== 'seqgrad.transformer-seq2seq') fail(`expected kind "seqgrad.transformer-seq2seq", got ${JSON.stringify(j.kind)}`);
  if (j.version !== 1) fail(`expected version 1, got ${JSON.stringify(j.version)}`);
  let config: TransformerSeq2SeqConfig;
  let sourceVocab: Vocabulary, targetVocab: Vocabulary;
  try {
    config = resolveTransformerSeq2SeqConfig((j.config ?? {}) as TransformerSeq2SeqOptions, 'config');
    sourceVocab = Vocabulary.fromJSON(j.sourceVocabulary as VocabularyJSON);
    targetVocab = Vocabulary.fromJSON(j.targetVocabulary as VocabularyJSON);
  } catch (err) {
    return fail((err as Error).message);
  }
  if (!j.weights || typeof j.weights !== 'object') fail('has no weights');
  const model = createTransformerSeq2Seq({ ...config, sourceVocab, targetVocab }, { rng: new Rng(0) });
  copyWeightsFromJSON(transformerSeq2SeqParameters(model).params, j.weights as Record<string, MatrixJSON>, fail, 'this Transformer seq2seq model');
  return model;
}

