/**
 * Sequence to sequence (the notes' "Sequence models & attention mechanism"): an encoder RNN reads
 * x⟨1…T_x⟩, a decoder RNN — a conditional language model P(y⟨1⟩ … y⟨T_y⟩ | x) — writes y.
 *
 * Encoder (layers/architectures.ts: source embedding + a stack of any cells, optionally
 * bidirectional and deep):
 *   h⟨i⟩ = top layer's output at source step i                  H_enc [T_x·B, n_h]  (n_h = H or 2H)
 *   m_k  = top layer's final state k, both directions side by side  [B, n_h]   (k = 0: a, k = 1: c of an LSTM)
 * Bridge (the encoder's final state becomes the decoder's initial state):
 *   h′⟨0⟩_k = m_k                                    when n_h = H_dec (same sizes: a plain copy)
 *   h′⟨0⟩_0 = tanh(W_b0 m_0 + b_b0),  h′⟨0⟩_1 = W_b1 m_1 + b_b1     otherwise (a dense bridge per state tensor)
 * Context (Cho et al. 2014, the form the issue asks for):
 *   attention none:   c⟨t⟩ = c = m_0 for every t                                   [B, n_h]
 *   attention on:     c⟨t⟩ = Σ_i α⟨t,i⟩ h⟨i⟩, α⟨t⟩ = softmax_i(e⟨t,i⟩) over the valid source positions,
 *                     e⟨t,i⟩ = score(h′⟨t−1⟩, h⟨i⟩): Bahdanau vᵀ tanh(W h′ + U h + b), Luong dot h′·h or
 *                     general h′ᵀW_a h (layers/attention.ts). The query is the decoder state before step t.
 * Decoder step t = 1 … T_y (teacher forcing: y⟨0⟩ = <SOS>, then the true previous token):
 *   h′⟨t⟩ = f(W′ h′⟨t−1⟩ + U e(y⟨t−1⟩) + C c⟨t⟩ + b)     the cell reads x⟨t⟩ = [e(y⟨t−1⟩), c⟨t⟩]; its
 *                                                         fused W_x = [U | C]  [G, d + n_h]
 *   s⟨t⟩  = O_h h′⟨t⟩ + O_y e(y⟨t−1⟩) + O_c c⟨t⟩ + b_o     one dense layer over [h′⟨t⟩, e, c⟨t⟩]:
 *                                                         output.W = [O_h | O_y | O_c]  [V_y, H_dec + d + n_h]
 *   L = Σ_t Σ_b m⟨t,b⟩ · −log softmax(s⟨t⟩_b)[y⟨t⟩_b]    (target mask m [T_y, B] for ragged targets)
 * Captioning (one-to-many): no encoder; a given feature vector f [B, F] plays m_0 = m_1 = c (always
 * through the dense bridge), so the decoder is P(y | f).
 *
 * Ragged batches: source mask [T_x, B] (right-padded; the encoder keeps each row's state at its last
 * valid step and attention gives padded positions α = 0); target mask [T_y, B] (padded steps run but
 * add nothing to L, and since they come after a row's last real step they change nothing earlier).
 *
 * Backward (all by hand): cross-entropy → output layer (one GEMM over all steps) → BPTT through the
 * decoder steps t = T_y … 1 with the runner's step driver (layers/sequence.ts); at each step
 * ∂L/∂x⟨t⟩ = ∂L/∂xp⟨t⟩ · W_x splits into ∂e and ∂c⟨t⟩; ∂c⟨t⟩ goes through the attention step
 * (into ∂h′⟨t−1⟩ and ∂H_enc) or, without attention, sums into ∂m_0 → bridge → the encoder's final
 * state gradient and its outputs' gradient → encoder BPTT → source embedding.
 *
 * Memory: `createSeq2SeqWorkspace(model, T_x, T_y, B)` allocates everything once; a batch with a
 * shorter source runs attention over the workspace's T_x positions with the extra ones masked (one
 * attention workspace, not one per source length); a decoder step allocates nothing.
 *
 * Parameter names (optimizer state, model file), by layers/architectures.ts' namedParameters under
 * the prefixes encoder. and decoder.: encoder.embedding.weight, encoder.rnn.l0.W_x,
 * encoder.rnn.l0_reverse.W_x, …, bridge.a.W/b (bridge.c.W/b for an LSTM), decoder.embedding.weight,
 * decoder.rnn.l0.W_x/W_a/b (and the cell's other parameters), attention.W/U/b/v (or attention.W_a),
 * decoder.head.W, decoder.head.b. Files written before this scheme named them source_embedding.weight,
 * encoder.l0.W_x, target_embedding.weight, decoder.W_x, output.W: loading maps those names
 * (seq2seqFormerNames).
 *
 * The model file is JSON { kind: "seqgrad.seq2seq", version: 1, config, sourceVocabulary,
 * targetVocabulary, weights: name → raw little-endian bytes in base64 (exact round trip), training? }.
 * This module touches no file system (the playground decodes in a browser); `model-file.ts` reads and
 * writes the file (atomically) under Node.
 */
import { withConstantOperands } from '../../engine/backend.js';
import { crossEntropyBackward, crossEntropy } from '../../engine/cross-entropy.js';
import { tanh, tanhBackward } from '../../engine/activations.js';
import { gemm } from '../../engine/gemm.js';
import { Matrix, copyInto, expectShape, stepView, zero, type DType } from '../../engine/matrix.js';
import { add, scale as scaleMatrix } from '../../engine/ops.js';
import { Rng } from '../../engine/rng.js';
import { DROPOUT_OFF, type DropoutMode } from '../../layers/dropout.js';
import type { RnnDropoutMode } from '../../layers/stacked-dropout.js';
import {
  cellRegularizationOf, resolveRnnRegularization, stackRegularizationOf, withoutInertDropout, type RnnRegularization,
} from '../core/rnn-regularization.js';
import { logSoftmax, logSoftmaxRow } from '../../engine/softmax.js';
import {
  createEncoder, createEncoderWorkspace, encoderBackward, encoderForward, namedParameters,
  type EncoderWorkspace, type NamedParameters, type SequenceEncoder,
} from '../../layers/architectures.js';
import {
  attentionDecodeStep, attentionKeysBackward, attentionKeysForward, attentionStepBackward, attentionStepForward, attentionWeights,
  createAttention, createAttentionDecodeScratch, createAttentionMemory, createAttentionWorkspace, zeroAttentionGrads,
  type Attention, type AttentionDecodeScratch, type AttentionMemory, type AttentionScore, type AttentionWorkspace,
} from '../../layers/attention/attention.js';
import { isBidirectional } from '../../layers/bidirectional.js';
import type { CellKind, RecurrentCell } from '../../layers/cells/cell.js';
import { CELL_KINDS, createCell } from '../../layers/cells/create-cell.js';
import { createDense, denseBackward, denseForward, denseZeroGrad, type DenseLayer } from '../../layers/dense.js';
import {
  createEmbedding, embeddingBackward, embeddingForward, embeddingZeroGrad, type Embedding,
} from '../../layers/embedding.js';
import {
  backwardStep, beginBackwardSteps, beginSteps, createSequenceWorkspace, endBackwardSteps, forwardStep,
  projectStepInput, stateAt, stateGradient, zeroGrads, type SequenceWorkspace,
} from '../../layers/sequence.js';
import {
  createStackedRnn, stackedZeroGrads, type LayerState,
} from '../../layers/stacked.js';
import {
  beamSearchBatch, scoreSequence, type BatchStepModel, type Hypothesis, type LengthPenalty, type SequenceScore,
  type StepFunction,
} from '../decode/beam.js';
import { checkConfigAgainstWeights, checkModelSize, copyWeightsFromJSON, withCurrentNames } from '../io/weights-json.js';
import { matrixToJSON, type MatrixJSON } from '../io/tensors.js';
import {
  EOS, PAD, SOS, UNK, Vocabulary, detokenize, tokenizeText, type TokenLevel, type VocabularyJSON,
} from '../text/vocab.js';
import { InputError } from '../core/errors.js';
import { resolveCreateOptions, type CreateOptions } from '../../engine/create.js';

export type Seq2SeqAttention = 'none' | 'bahdanau' | 'dot' | 'general';
export const SEQ2SEQ_ATTENTIONS: readonly Seq2SeqAttention[] = ['none', 'bahdanau', 'dot', 'general'];
export type Seq2SeqForm = 'encoder-decoder' | 'captioning';

/**
 * Everything that fixes the model's structure (saved in the model file). Dropout (only when set)
 * acts in the encoder's stack, as nn.LSTM's `dropout` argument; layerNorm makes every cell
 * layer-normalised, the decoder's too.
 */
export interface Seq2SeqConfig extends RnnRegularization {
  /** 'encoder-decoder' (x → y) or 'captioning' (feature vector → y). */
  form: Seq2SeqForm;
  /** Source tokens are characters or words. */
  sourceLevel: TokenLevel;
  /** Target tokens are characters or words (grapheme-to-phoneme: letters in, space-separated phonemes out). */
  targetLevel: TokenLevel;
  /** Lower-case both sides before tokenising. */
  lowercase: boolean;
  /** Cell kind of the encoder and the decoder. */
  cell: CellKind;
  /** d, the size of the source and target embeddings. */
  embeddingDim: number;
  /** H of each encoder direction. */
  encoderHidden: number;
  /** Stacked encoder layers. */
  encoderLayers: number;
  /** Every encoder layer bidirectional (n_h = 2H). */
  bidirectional: boolean;
  /** H_dec, the decoder's state size. */
  decoderHidden: number;
  attention: Seq2SeqAttention;
  /** n_att of the Bahdanau score (0 for the other kinds). */
  attentionSize: number;
  /** F, the size of the feature vector (captioning; 0 otherwise). */
  featureSize: number;
  /** Seed of the initial weights. */
  seed: number;
  dtype: DType;
}

/** What `createSeq2Seq` accepts; anything left out takes the default shown. */
export interface Seq2SeqOptions {
  form?: Seq2SeqForm;            // 'encoder-decoder'
  level?: TokenLevel;            // 'char': the shorthand for both sides
  sourceLevel?: TokenLevel;      // level
  targetLevel?: TokenLevel;      // level
  lowercase?: boolean;           // false
  cell?: CellKind;               // 'lstm'
  embeddingDim?: number;         // 32
  encoderHidden?: number;        // 64
  encoderLayers?: number;        // 1
  bidirectional?: boolean;       // false
  decoderHidden?: number;        // the encoder's output width n_h (captioning: 64)
  attention?: Seq2SeqAttention;  // 'none'
  attentionSize?: number;        // bahdanau: decoderHidden
  featureSize?: number;          // captioning only, required there
  seed?: number;                 // 1
  dtype?: DType;                 // 'float32'
  dropout?: number;              // 0 (none)
  dropoutMode?: RnnDropoutMode;  // 'between'
  layerNorm?: boolean;           // false
}

export interface Seq2SeqModel {
  readonly config: Seq2SeqConfig;
  /** null for captioning. */
  readonly sourceVocab: Vocabulary | null;
  readonly targetVocab: Vocabulary;
  /** Source embedding + recurrent stack (null for captioning). */
  readonly encoder: SequenceEncoder | null;
  /** One dense layer per decoder state tensor ([a] or [a, c]), or null when the state is copied. */
  readonly bridge: DenseLayer[] | null;
  readonly targetEmbedding: Embedding;
  readonly decoder: RecurrentCell;
  readonly attention: Attention | null;
  readonly output: DenseLayer;
  /** n_h: width of an encoder output h⟨i⟩, of m_k and of the context c (F for captioning). */
  readonly contextSize: number;
  /** Token ids the decoder uses. */
  readonly ids: { pad: number; sos: number; eos: number };
}

const TARGET_SPECIALS = [PAD, SOS, EOS, UNK];
const SOURCE_SPECIALS = [PAD, UNK];

/** The token levels of the two sides, as options give them: `level` sets both, a side's own wins. */
export interface Seq2SeqLevelOptions {
  level?: TokenLevel;
  sourceLevel?: TokenLevel;
  targetLevel?: TokenLevel;
}

/**
 * Source and target levels from `level` (the shorthand for both; default 'char') and the sides'
 * own `sourceLevel` / `targetLevel`; throws naming the field when one is not 'char' or 'word'.
 */
export function resolveLevels(opts: Seq2SeqLevelOptions, op: string): { sourceLevel: TokenLevel; targetLevel: TokenLevel } {
  const levels = { sourceLevel: opts.sourceLevel ?? opts.level ?? 'char', targetLevel: opts.targetLevel ?? opts.level ?? 'char' };
  for (const [name, value] of Object.entries(levels)) {
    if (value !== 'char' && value !== 'word') throw new Error(`${op}: expected ${name} 'char' or 'word', got ${JSON.stringify(value)}`);
  }
  return levels;
}

/** Vocabulary of source texts: `<PAD>`, `<UNK>`, then the tokens by frequency. */
export function buildSourceVocabulary(tokens: Iterable<string>, opts: { minCount?: number; maxSize?: number } = {}): Vocabulary {
  return Vocabulary.build(tokens, { ...opts, specials: [...SOURCE_SPECIALS] });
}

/** Vocabulary of target texts: `<PAD>`, `<SOS>`, `<EOS>`, `<UNK>`, then the tokens by frequency. */
export function buildTargetVocabulary(tokens: Iterable<string>, opts: { minCount?: number; maxSize?: number } = {}): Vocabulary {
  return Vocabulary.build(tokens, { ...opts, specials: [...TARGET_SPECIALS] });
}

function attentionScore(kind: Seq2SeqAttention): AttentionScore {
  return kind === 'bahdanau' ? 'additive' : (kind as AttentionScore);
}

/** Fill in the defaults and check every field; throws naming the field. */
export function resolveSeq2SeqConfig(opts: Seq2SeqOptions, op = 'createSeq2Seq'): Seq2SeqConfig {
  const form = opts.form ?? 'encoder-decoder';
  if (form !== 'encoder-decoder' && form !== 'captioning') throw new Error(`${op}: expected form 'encoder-decoder' or 'captioning', got ${JSON.stringify(form)}`);
  const captioning = form === 'captioning';
  const encoderHidden = opts.encoderHidden ?? 64;
  const bidirectional = opts.bidirectional ?? false;
  const featureSize = captioning ? (opts.featureSize ?? 0) : 0;
  const contextSize = captioning ? featureSize : (bidirectional ? 2 : 1) * encoderHidden;
  const attention = opts.attention ?? 'none';
  const decoderHidden = opts.decoderHidden ?? (captioning ? 64 : contextSize);
  const config: Seq2SeqConfig = {
    form,
    ...resolveLevels(opts, op),
    lowercase: opts.lowercase ?? false,
    cell: opts.cell ?? 'lstm',
    embeddingDim: opts.embeddingDim ?? 32,
    encoderHidden: captioning ? 0 : encoderHidden,
    encoderLayers: captioning ? 0 : (opts.encoderLayers ?? 1),
    bidirectional: captioning ? false : bidirectional,
    decoderHidden,
    attention,
    attentionSize: attention === 'bahdanau' ? (opts.attentionSize ?? decoderHidden) : 0,
    featureSize,
    seed: opts.seed ?? 1,
    dtype: opts.dtype ?? 'float32',
  };
  if (!CELL_KINDS.includes(config.cell)) throw new Error(`${op}: expected cell among ${CELL_KINDS.join('|')}, got ${JSON.stringify(config.cell)}`);
  if (!SEQ2SEQ_ATTENTIONS.includes(attention)) throw new Error(`${op}: expected attention among ${SEQ2SEQ_ATTENTIONS.join('|')}, got ${JSON.stringify(attention)}`);
  const positive = (name: string, v: number): void => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${op}: expected ${name} to be an integer ≥ 1, got ${v}`);
  };
  positive('embeddingDim', config.embeddingDim);
  positive('decoderHidden', config.decoderHidden);
  if (captioning) {
    positive('featureSize (the captioning feature vector F)', config.featureSize);
    if (attention !== 'none') throw new Error(`${op}: the captioning form has no source sequence to attend to: expected attention 'none', got '${attention}'`);
  } else {
    positive('encoderHidden', config.encoderHidden);
    positive('encoderLayers', config.encoderLayers);
  }
  if (attention === 'bahdanau') positive('attentionSize', config.attentionSize);
  if (attention === 'dot' && config.decoderHidden !== contextSize) {
    throw new Error(`${op}: the dot score needs decoderHidden = the encoder's output width ${contextSize}${bidirectional ? ' (2 × encoderHidden, bidirectional)' : ''}, got ${config.decoderHidden}`);
  }
  if (!Number.isInteger(config.seed)) throw new Error(`${op}: expected an integer seed, got ${config.seed}`);
  if (config.dtype !== 'float32' && config.dtype !== 'float64') throw new Error(`${op}: expected dtype float32 or float64, got ${JSON.stringify(config.dtype)}`);
  if (typeof config.lowercase !== 'boolean' || typeof config.bidirectional !== 'boolean') {
    throw new Error(`${op}: expected lowercase and bidirectional to be true or false`);
  }
  if (captioning && (opts.dropout ?? 0) > 0) {
    throw new InputError(`${op}: dropout acts in the encoder's stack and the captioning form has none: expected no dropout, got ${opts.dropout}`);
  }
  return { ...config, ...resolveRnnRegularization(op, opts, config.cell, config.encoderLayers, 'encoderLayers') };
}

/**
 * The config of a model FILE (model file, checkpoint, safetensors document), resolved as a new model's except
 * that dropout which never acted — 'between' on one encoder layer, or any on the captioning form (encoderLayers
 * 0), saved before resolveSeq2SeqConfig refused it — is dropped first (withoutInertDropout,
 * training/core/rnn-regularization.ts): the file loads as the same model.
 */
export function resolveSeq2SeqFileConfig(config: Seq2SeqConfig, op: string): Seq2SeqConfig {
  return resolveSeq2SeqConfig(withoutInertDropout(config, config?.encoderLayers), op);
}

function isLstm(kind: CellKind): boolean {
  return kind === 'lstm' || kind === 'lstm-peephole';
}

/** What `createSeq2Seq` builds from: the structure and both vocabularies (no source vocabulary for captioning). */
export type Seq2SeqCreateConfig = Seq2SeqOptions & { sourceVocab?: Vocabulary | null; targetVocab: Vocabulary };

/**
 * A new model over `config.sourceVocab` (null or left out for captioning) and `config.targetVocab`.
 * Initialisation from `options.rng` (default: a generator seeded with config.seed, whose default is
 * DEFAULT_SEED); `options.dtype` overrides config.dtype. Cells PyTorch's U(−1/√H, 1/√H) with the LSTM
 * forget bias 1; embeddings N(0, 1); attention Xavier; dense layers nn.Linear's default.
 */
export function createSeq2Seq(config: Seq2SeqCreateConfig, options?: CreateOptions): Seq2SeqModel;
/** @deprecated Use `createSeq2Seq({ ...opts, sourceVocab, targetVocab }, { rng })`. */
export function createSeq2Seq(opts: Seq2SeqOptions, sourceVocab: Vocabulary | null, targetVocab: Vocabulary, rng?: Rng): Seq2SeqModel;
export function createSeq2Seq(
  first: Seq2SeqOptions & { sourceVocab?: Vocabulary | null; targetVocab?: Vocabulary },
  second?: CreateOptions | Vocabulary | null, oldTarget?: Vocabulary, oldRng?: Rng,
): Seq2SeqModel {
  const op = 'createSeq2Seq';
  const legacy = second === null || second instanceof Vocabulary;
  const { sourceVocab: configSource, targetVocab: configTarget, ...opts } = first;
  const sourceVocab = (legacy ? second : configSource ?? null) as Vocabulary | null;
  const targetVocab = (legacy ? oldTarget : configTarget) as Vocabulary;
  const options: CreateOptions = legacy ? { rng: oldRng } : (second as CreateOptions | undefined) ?? {};
  const config = resolveSeq2SeqConfig({ ...opts, dtype: options.dtype ?? opts.dtype }, op);
  const gen = resolveCreateOptions(op, { rng: options.rng ?? new Rng(config.seed) }).rng;
  const captioning = config.form === 'captioning';
  if (!(targetVocab instanceof Vocabulary)) throw new Error(`${op}: expected a target Vocabulary, got ${typeof targetVocab}`);
  checkModelSize(op, config.encoderLayers * config.encoderHidden ** 2 + config.decoderHidden ** 2 + targetVocab.size * config.decoderHidden,
    `encoder hidden ${config.encoderHidden} × ${config.encoderLayers} layer(s), decoder hidden ${config.decoderHidden}`);
  for (const special of [PAD, SOS, EOS]) {
    if (!targetVocab.has(special)) throw new Error(`${op}: expected the target vocabulary to contain ${special} (buildTargetVocabulary adds it)`);
  }
  if (captioning && sourceVocab !== null) throw new Error(`${op}: the captioning form reads feature vectors, expected no source vocabulary, got one`);
  if (!captioning && !(sourceVocab instanceof Vocabulary)) throw new Error(`${op}: expected a source Vocabulary, got ${sourceVocab === null ? 'null' : typeof sourceVocab}`);
  const { dtype, embeddingDim: d, decoderHidden: Hd } = config;
  const cellExtras = { ...(isLstm(config.cell) ? { forgetBias: 1 } : {}), ...cellRegularizationOf(config) };

  let encoder: SequenceEncoder | null = null;
  let contextSize = config.featureSize;
  if (!captioning) {
    const sourceEmbedding = createEmbedding({ vocabSize: (sourceVocab as Vocabulary).size, dim: d }, { rng: gen, dtype });
    const rnn = createStackedRnn({
      kind: config.cell, inputSize: d, hiddenSize: config.encoderHidden, numLayers: config.encoderLayers,
      bidirectional: config.bidirectional, ...cellExtras, ...stackRegularizationOf(config),
    }, { rng: gen, dtype });
    encoder = createEncoder(rnn, sourceEmbedding);
    contextSize = rnn.outputSize;
  }
  const decoder = createCell({
    inputSize: d + contextSize, hiddenSize: Hd, ...cellExtras, kind: config.cell,
  }, { rng: gen, dtype });
  let bridge: DenseLayer[] | null = null;
  if (captioning || contextSize !== Hd) {
    bridge = [];
    for (let k = 0; k < decoder.stateCount; k++) bridge.push(createDense({
      inputSize: contextSize, outputSize: Hd,
    }, { rng: gen, dtype }));
  }
  const targetEmbedding = createEmbedding({ vocabSize: targetVocab.size, dim: d }, { rng: gen, dtype });
  const attention = config.attention === 'none' ? null : createAttention({
    score: attentionScore(config.attention), querySize: Hd, encoderSize: contextSize,
    attentionSize: config.attention === 'bahdanau' ? config.attentionSize : undefined,
  }, { rng: gen, dtype });
  const output = createDense({ inputSize: Hd + d + contextSize, outputSize: targetVocab.size }, { rng: gen, dtype });
  return {
    config, sourceVocab, targetVocab, encoder, bridge, targetEmbedding, decoder, attention, output, contextSize,
    ids: { pad: targetVocab.id(PAD), sos: targetVocab.id(SOS), eos: targetVocab.id(EOS) },
  };
}

// ---- parameters ----------------------------------------------------------------------------

/** Every parameter and its gradient buffer by name (layers/architectures.ts' scheme), in forward order. */
export function seq2seqParameters(model: Seq2SeqModel): NamedParameters {
  const params: Record<string, Matrix> = {};
  const grads: Record<string, Matrix> = {};
  const add = (name: string, p: Matrix, g: Matrix): void => {
    params[name] = p;
    grads[name] = g;
  };
  const addAll = (named: NamedParameters): void => {
    for (const name of Object.keys(named.params)) add(name, named.params[name], named.grads[name]);
  };
  if (model.encoder) addAll(namedParameters({ embedding: model.encoder.embedding, rnn: model.encoder.rnn }, 'encoder.'));
  model.bridge?.forEach((dense, k) => {
    const name = k === 0 ? 'bridge.a' : 'bridge.c';
    add(`${name}.W`, dense.params.W, dense.grads.W);
    add(`${name}.b`, dense.params.b as Matrix, dense.grads.b as Matrix);
  });
  addAll(namedParameters({ embedding: model.targetEmbedding, rnn: model.decoder }, 'decoder.'));
  if (model.attention) {
    for (const name of Object.keys(model.attention.params)) add(`attention.${name}`, model.attention.params[name], model.attention.grads[name]);
  }
  addAll(namedParameters({ head: model.output }, 'decoder.'));
  return { params, grads };
}

/**
 * current name → the name files written before the one naming scheme used: encoder.embedding.weight
 * was source_embedding.weight, encoder.rnn.l<k>… was encoder.l<k>…, decoder.embedding.weight was
 * target_embedding.weight, decoder.rnn.l0.<p> was decoder.<p>, decoder.head.<p> was output.<p>.
 * For model files and checkpoints (weights and optimizer state) of those versions.
 */
export function seq2seqFormerNames(model: Seq2SeqModel): Record<string, string> {
  const former: Record<string, string> = {};
  for (const name of Object.keys(seq2seqParameters(model).params)) {
    const old = name
      .replace(/^encoder\.embedding\./, 'source_embedding.')
      .replace(/^encoder\.rnn\./, 'encoder.')
      .replace(/^decoder\.embedding\./, 'target_embedding.')
      .replace(/^decoder\.rnn\.l0\./, 'decoder.')
      .replace(/^decoder\.head\./, 'output.');
    if (old !== name) former[name] = old;
  }
  return former;
}

export function seq2seqParameterCount(model: Seq2SeqModel): number {
  return Object.values(seq2seqParameters(model).params).reduce((s, p) => s + p.size, 0);
}

/** Zero every gradient buffer (the backward pass accumulates). */
export function seq2seqZeroGrad(model: Seq2SeqModel): void {
  if (model.encoder) {
    embeddingZeroGrad(model.encoder.embedding as Embedding);
    stackedZeroGrads(model.encoder.rnn);
  }
  model.bridge?.forEach(denseZeroGrad);
  embeddingZeroGrad(model.targetEmbedding);
  zeroGrads(model.decoder);
  if (model.attention) zeroAttentionGrads(model.attention);
  denseZeroGrad(model.output);
}

// ---- batches -------------------------------------------------------------------------------

/** One training example as token ids: the target WITHOUT <SOS>/<EOS> (the batch adds them). */
export interface Seq2SeqExample {
  /** Source token ids (encoder-decoder; at least one). */
  source?: readonly number[];
  /** Feature vector of length F (captioning). */
  features?: ArrayLike<number>;
  target: readonly number[];
}

/** A padded, time-major batch. */
export interface Seq2SeqBatch {
  batch: number;
  /** T_x (0 for captioning). */
  srcSteps: number;
  /** T_y = longest target + 1 (the <EOS>). */
  tgtSteps: number;
  /** [T_x·B] source ids, <PAD> at padded positions. */
  srcIds: Int32Array;
  /** [T_x, B] 1 = real source token. */
  srcMask: Matrix | null;
  /** [B, F] (captioning), else null. */
  features: Matrix | null;
  /** [T_y·B] decoder inputs y⟨t−1⟩: <SOS>, y⟨1⟩, …; <PAD> where padded. */
  tgtIn: Int32Array;
  /** [T_y·B] decoder targets y⟨t⟩: y⟨1⟩, …, <EOS>; <PAD> where padded. */
  tgtOut: Int32Array;
  /** [T_y, B] 1 = a target that counts. */
  tgtMask: Matrix;
  /** Real target tokens in the batch (Σ tgtMask). */
  tokens: number;
}

/** Pad and transpose examples into a time-major batch (targets get <SOS> in front and <EOS> behind). */
export function makeSeq2SeqBatch(model: Seq2SeqModel, examples: readonly Seq2SeqExample[]): Seq2SeqBatch {
  const op = 'makeSeq2SeqBatch';
  const B = examples.length;
  if (B === 0) throw new Error(`${op}: expected at least one example, got none`);
  const captioning = model.config.form === 'captioning';
  const { pad, sos, eos } = model.ids;
  const dtype = model.config.dtype;
  let Tx = 0;
  let Ty = 0;
  examples.forEach((ex, b) => {
    if (!Array.isArray(ex.target)) throw new Error(`${op}: expected example ${b} to have a target id array, got ${typeof ex.target}`);
    Ty = Math.max(Ty, ex.target.length + 1);
    if (captioning) {
      if (!ex.features || ex.features.length !== model.config.featureSize) {
        throw new Error(`${op}: expected example ${b} to have a feature vector of length F = ${model.config.featureSize}, got ${ex.features ? ex.features.length : 'none'}`);
      }
    } else {
      if (!ex.source || ex.source.length === 0) throw new Error(`${op}: expected example ${b} to have at least one source token, got ${ex.source ? 0 : 'none'}`);
      Tx = Math.max(Tx, ex.source.length);
    }
  });
  const srcIds = new Int32Array(Tx * B).fill(captioning ? 0 : (model.sourceVocab as Vocabulary).id(PAD));
  const srcMask = captioning ? null : Matrix.zeros(Tx, B, dtype);
  const features = captioning ? Matrix.zeros(B, model.config.featureSize, dtype) : null;
  const tgtIn = new Int32Array(Ty * B).fill(pad);
  const tgtOut = new Int32Array(Ty * B).fill(pad);
  const tgtMask = Matrix.zeros(Ty, B, dtype);
  let tokens = 0;
  examples.forEach((ex, b) => {
    if (captioning) {
      for (let j = 0; j < model.config.featureSize; j++) (features as Matrix).set(b, j, (ex.features as ArrayLike<number>)[j]);
    } else {
      (ex.source as readonly number[]).forEach((id, t) => {
        srcIds[t * B + b] = id;
        (srcMask as Matrix).set(t, b, 1);
      });
    }
    const y = ex.target;
    for (let t = 0; t <= y.length; t++) {
      tgtIn[t * B + b] = t === 0 ? sos : y[t - 1];
      tgtOut[t * B + b] = t === y.length ? eos : y[t];
      tgtMask.set(t, b, 1);
      tokens++;
    }
  });
  return { batch: B, srcSteps: Tx, tgtSteps: Ty, srcIds, srcMask, features, tgtIn, tgtOut, tgtMask, tokens };
}

// ---- the workspace -------------------------------------------------------------------------

/** Buffers for batches of B examples with T_x ≤ srcSteps and T_y ≤ tgtSteps. Fields are internal. */
export class Seq2SeqWorkspace {
  readonly model: Seq2SeqModel;
  readonly srcSteps: number;
  readonly tgtSteps: number;
  readonly batch: number;
  readonly encoderWs: EncoderWorkspace | null;
  /** Attention over srcSteps positions; a shorter batch's H_enc is copied into paddedEncoder. */
  readonly attentionWs: AttentionWorkspace | null;
  /** H_enc padded to srcSteps with zero rows  [srcSteps·B, n_h], and its mask [srcSteps, B]. */
  readonly paddedEncoder: Matrix | null;
  readonly paddedMask: Matrix | null;
  /** m_k, the encoder's final state (or the features) per decoder state tensor  [B, n_h]. */
  readonly summary: Matrix[];
  readonly dSummary: Matrix[];
  /** h′⟨0⟩ per decoder state tensor, the bridge's output  [B, H_dec]. */
  readonly initialState: Matrix[];
  /** The decoder cell's runner workspace: the state history h′⟨0…T_y⟩, x⟨t⟩·W_xᵀ + b, its gradient, the caches. */
  readonly decoderSteps: SequenceWorkspace;
  /** [h′⟨t⟩, e(y⟨t−1⟩), c⟨t⟩] per step  [T_y·B, H_dec + d + n_h]: the output layer's input. */
  readonly z: Matrix;
  /** Step views of z: the whole row block, the cell's input [e, c], and c alone. */
  readonly zSteps: Matrix[];
  readonly inputSteps: Matrix[];
  readonly contextSteps: Matrix[];
  readonly hiddenSteps: Matrix[];
  readonly logits: Matrix;
  readonly dLogits: Matrix;
  /** ∂L/∂z  [T_y·B, H_dec + d + n_h]. */
  readonly dz: Matrix;
  /** ∂L/∂[e, c] per step (cell + output layer)  [T_y·B, d + n_h]. */
  readonly dInput: Matrix;
  /** Σ_t ∂L/∂c⟨t⟩ (no attention)  [B, n_h]. */
  readonly dContextSum: Matrix;
  /** ∂L/∂H_enc (attention)  [T_x·B, n_h]. */
  readonly dEncoder: Matrix | null;
  /** ∂L/∂f (captioning)  [B, F]. */
  readonly dFeatures: Matrix | null;
  /** Pre-activations of the bridge a: none stored; h′⟨0⟩ itself is the tanh output. Scratch [B, H_dec]. */
  readonly bridgeScratch: Matrix;
  /** Copies of the last batch's targets (the backward pass reads them). */
  readonly tgtIn: Int32Array;
  readonly tgtOut: Int32Array;
  lastBatch: Seq2SeqBatch | null = null;

  constructor(model: Seq2SeqModel, srcSteps: number, tgtSteps: number, batch: number) {
    const op = 'createSeq2SeqWorkspace';
    const captioning = model.config.form === 'captioning';
    for (const [name, v] of [['tgtSteps', tgtSteps], ['batch', batch]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`${op}: expected ${name} to be an integer ≥ 1, got ${v}`);
    }
    if (!captioning && (!Number.isInteger(srcSteps) || srcSteps < 1)) throw new Error(`${op}: expected srcSteps to be an integer ≥ 1, got ${srcSteps}`);
    this.model = model;
    this.srcSteps = captioning ? 0 : srcSteps;
    this.tgtSteps = tgtSteps;
    this.batch = batch;
    const B = batch, Ty = tgtSteps;
    const { dtype, embeddingDim: d, decoderHidden: H } = model.config;
    const nc = model.contextSize;
    const cell = model.decoder;
    this.encoderWs = model.encoder ? createEncoderWorkspace(model.encoder, srcSteps, B) : null;
    this.summary = [];
    this.dSummary = [];
    this.initialState = [];
    for (let k = 0; k < cell.stateCount; k++) {
      this.summary.push(Matrix.zeros(B, nc, dtype));
      this.dSummary.push(Matrix.zeros(B, nc, dtype));
      this.initialState.push(Matrix.zeros(B, H, dtype));
    }
    this.decoderSteps = createSequenceWorkspace(cell, Ty, B);
    const width = H + d + nc;
    this.z = Matrix.zeros(Ty * B, width, dtype);
    this.dz = Matrix.zeros(Ty * B, width, dtype);
    this.dInput = Matrix.zeros(Ty * B, d + nc, dtype);
    this.logits = Matrix.zeros(Ty * B, model.targetVocab.size, dtype);
    this.dLogits = Matrix.zeros(Ty * B, model.targetVocab.size, dtype);
    this.zSteps = [];
    this.inputSteps = [];
    this.contextSteps = [];
    this.hiddenSteps = [];
    for (let t = 0; t < Ty; t++) {
      const zt = stepView(this.z, t, B);
      this.zSteps.push(zt);
      this.hiddenSteps.push(zt.colView(0, H));
      this.inputSteps.push(zt.colView(H, d + nc));
      this.contextSteps.push(zt.colView(H + d, nc));
    }
    this.dContextSum = Matrix.zeros(B, nc, dtype);
    this.dEncoder = model.attention ? Matrix.zeros(srcSteps * B, nc, dtype) : null;
    this.attentionWs = model.attention ? createAttentionWorkspace(model.attention, srcSteps, Ty, B) : null;
    this.paddedEncoder = model.attention ? Matrix.zeros(srcSteps * B, nc, dtype) : null;
    this.paddedMask = model.attention ? Matrix.zeros(srcSteps, B, dtype) : null;
    this.dFeatures = captioning ? Matrix.zeros(B, nc, dtype) : null;
    this.bridgeScratch = Matrix.zeros(B, H, dtype);
    this.tgtIn = new Int32Array(Ty * B);
    this.tgtOut = new Int32Array(Ty * B);
  }
}

export function createSeq2SeqWorkspace(model: Seq2SeqModel, srcSteps: number, tgtSteps: number, batch: number): Seq2SeqWorkspace {
  return new Seq2SeqWorkspace(model, srcSteps, tgtSteps, batch);
}

function rows(m: Matrix, n: number): Matrix {
  return m.rows === n ? m : m.rowView(0, n);
}

function checkBatch(op: string, model: Seq2SeqModel, ws: Seq2SeqWorkspace, batch: Seq2SeqBatch): void {
  if (ws.model !== model) throw new Error(`${op}: expected a workspace created for this model (createSeq2SeqWorkspace), got one of another model`);
  if (batch.batch !== ws.batch) throw new Error(`${op}: expected a batch of B = ${ws.batch} (the workspace's), got ${batch.batch}`);
  if (batch.tgtSteps < 1 || batch.tgtSteps > ws.tgtSteps) throw new Error(`${op}: expected 1 ≤ T_y ≤ ${ws.tgtSteps}, got ${batch.tgtSteps}`);
  if (model.config.form === 'captioning') {
    if (!batch.features) throw new Error(`${op}: expected features [B, F] for the captioning form, got none`);
    expectShape(op, 'features', batch.features, ws.batch, model.config.featureSize);
  } else {
    if (batch.srcSteps < 1 || batch.srcSteps > ws.srcSteps) throw new Error(`${op}: expected 1 ≤ T_x ≤ ${ws.srcSteps}, got ${batch.srcSteps}`);
    if (!batch.srcMask) throw new Error(`${op}: expected a source mask [T_x, B], got none`);
    expectShape(op, 'srcMask', batch.srcMask, batch.srcSteps, ws.batch);
    if (batch.srcIds.length !== batch.srcSteps * ws.batch) throw new Error(`${op}: expected ${batch.srcSteps * ws.batch} source ids, got ${batch.srcIds.length}`);
  }
  expectShape(op, 'tgtMask', batch.tgtMask, batch.tgtSteps, ws.batch);
  const n = batch.tgtSteps * ws.batch;
  if (batch.tgtIn.length !== n || batch.tgtOut.length !== n) {
    throw new Error(`${op}: expected ${n} decoder input and target ids, got ${batch.tgtIn.length} and ${batch.tgtOut.length}`);
  }
}

// ---- forward -------------------------------------------------------------------------------

/**
 * Encoder (or features) → m_k; the bridge → h′⟨0⟩ (ws.initialState). Returns the encoder outputs
 * H_enc (null for captioning).
 */
function encodeAndBridge(model: Seq2SeqModel, ws: Seq2SeqWorkspace, batch: Seq2SeqBatch, dropout: DropoutMode): Matrix | null {
  const states = model.decoder.stateCount;
  let encoderOutputs: Matrix | null = null;
  if (model.encoder) {
    const r = encoderForward(model.encoder, ws.encoderWs as EncoderWorkspace, batch.srcIds, { mask: batch.srcMask as Matrix, dropout });
    encoderOutputs = r.outputs;
    const top = r.finalState[r.finalState.length - 1];
    const Hf = top.forward[0].cols;
    for (let k = 0; k < states; k++) {
      copyInto(ws.summary[k].colView(0, Hf), top.forward[k]);
      if (top.backward) copyInto(ws.summary[k].colView(Hf, top.backward[k].cols), top.backward[k]);
    }
  } else {
    for (let k = 0; k < states; k++) copyInto(ws.summary[k], batch.features as Matrix);
  }
  const h0 = ws.initialState;
  for (let k = 0; k < states; k++) {
    if (model.bridge) {
      denseForward(h0[k], model.bridge[k], ws.summary[k]);
      if (k === 0) tanh(h0[k], h0[k]);
    } else {
      copyInto(h0[k], ws.summary[k]);
    }
  }
  return encoderOutputs;
}

/**
 * Attention keys over the workspace's srcSteps positions: H_enc [T_x·B, n_h] is copied into the
 * padded buffer (rows beyond T_x·B zero, their mask 0), so one attention workspace serves every T_x.
 */
function attentionKeysPadded(ws: Seq2SeqWorkspace, encoderOutputs: Matrix, srcMask: Matrix): AttentionWorkspace {
  const aws = ws.attentionWs as AttentionWorkspace;
  const padded = ws.paddedEncoder as Matrix, mask = ws.paddedMask as Matrix;
  const n = encoderOutputs.rows;
  copyInto(padded.rowView(0, n), encoderOutputs);
  if (n < padded.rows) zero(padded.rowView(n, padded.rows - n));
  zero(mask);
  copyInto(mask.rowView(0, srcMask.rows), srcMask);
  attentionKeysForward(aws, padded, mask);
  return aws;
}

/**
 * Teacher-forced forward pass over a batch: returns L = Σ over the counted target tokens of
 * −log P(y⟨t⟩ | x, y⟨<t⟩) (sum, not mean), and keeps what seq2seqBackward needs in `ws`.
 * The logits [T_y·B, V] stay in ws.logits. `dropout`: the encoder stack's dropout in this call
 * (training: `{ kind: 'sample', rng }`); off by default.
 */
export function seq2seqForward(model: Seq2SeqModel, ws: Seq2SeqWorkspace, batch: Seq2SeqBatch, dropout: DropoutMode = DROPOUT_OFF): number {
  const op = 'seq2seqForward';
  checkBatch(op, model, ws, batch);
  const B = ws.batch, Ty = batch.tgtSteps, n = Ty * B;
  const { embeddingDim: d, decoderHidden: H } = model.config;
  const encoderOutputs = encodeAndBridge(model, ws, batch, dropout);

  // e(y⟨t−1⟩) for all steps at once, into the e columns of z.
  ws.tgtIn.set(batch.tgtIn);
  ws.tgtOut.set(batch.tgtOut);
  const zAll = rows(ws.z, n);
  embeddingForward(zAll.colView(H, d), model.targetEmbedding, batch.tgtIn);

  let aws: AttentionWorkspace | null = null;
  if (model.attention) aws = attentionKeysPadded(ws, encoderOutputs as Matrix, batch.srcMask as Matrix);
  else for (let t = 0; t < Ty; t++) copyInto(ws.contextSteps[t], ws.summary[0]);

  const steps = ws.decoderSteps;
  beginSteps(steps, Ty, { h0: ws.initialState });
  for (let t = 0; t < Ty; t++) {
    if (aws) attentionStepForward(ws.contextSteps[t], aws, t, stateAt(steps, t)[0]); // c⟨t⟩ from the query h′⟨t−1⟩
    projectStepInput(steps, t, ws.inputSteps[t]); // U e + C c + b
    copyInto(ws.hiddenSteps[t], forwardStep(steps, t)[0]);
  }

  const logits = rows(ws.logits, n);
  denseForward(logits, model.output, zAll);
  ws.lastBatch = batch;
  return crossEntropy(logits, batch.tgtOut, { mask: batch.tgtMask });
}

/** Per-example losses Σ_t −log P(y⟨t⟩ | …) of the last forward (one number per batch row). */
export function seq2seqExampleLosses(ws: Seq2SeqWorkspace): Float64Array {
  const batch = ws.lastBatch;
  if (!batch) throw new Error('seq2seqExampleLosses: expected a seq2seqForward on this workspace first, got none');
  const B = ws.batch;
  const out = new Float64Array(B);
  const V = ws.logits.cols;
  const row = new Float64Array(V);
  for (let t = 0; t < batch.tgtSteps; t++) {
    for (let b = 0; b < B; b++) {
      if (batch.tgtMask.get(t, b) === 0) continue;
      const r = t * B + b;
      logSoftmaxRow(row, 0, ws.logits.data, ws.logits.offset + r * ws.logits.stride, V);
      out[b] -= row[batch.tgtOut[r]];
    }
  }
  return out;
}

// ---- backward ------------------------------------------------------------------------------

/**
 * BPTT through the last seq2seqForward of `ws` for the loss `scale · L` (e.g. 1 / tokens for the
 * mean per token). Accumulates (+=) into every gradient buffer of the model; for captioning,
 * writes ∂(scale·L)/∂f into ws.dFeatures.
 */
export function seq2seqBackward(model: Seq2SeqModel, ws: Seq2SeqWorkspace, scale = 1): void {
  const op = 'seq2seqBackward';
  const batch = ws.lastBatch;
  if (!batch || ws.model !== model) throw new Error(`${op}: expected a seq2seqForward of this model on this workspace first, got none`);
  const B = ws.batch, Ty = batch.tgtSteps, n = Ty * B;
  const { embeddingDim: d, decoderHidden: H } = model.config;
  const nc = model.contextSize;
  const cell = model.decoder;
  const aws = model.attention ? ws.attentionWs : null;

  // Output layer: ∂L/∂s → ∂L/∂z = [∂h′, ∂e, ∂c] for every step (one GEMM each).
  const logits = rows(ws.logits, n);
  const dLogits = rows(ws.dLogits, n);
  crossEntropyBackward(dLogits, logits, ws.tgtOut.subarray(0, n), { mask: batch.tgtMask });
  if (scale !== 1) scaleMatrix(dLogits, dLogits, scale);
  const zAll = rows(ws.z, n);
  const dz = rows(ws.dz, n);
  denseBackward(model.output, zAll, dLogits, dz);

  // Decoder BPTT, t = T_y … 1.
  const steps = ws.decoderSteps;
  beginBackwardSteps(steps);
  zero(ws.dContextSum);
  if (ws.dEncoder) zero(ws.dEncoder);
  const Wx = cell.params.W_x;
  for (let t = Ty - 1; t >= 0; t--) {
    const dzt = stepView(dz, t, B);
    const dh = stateGradient(steps)[0];
    add(dh, dh, dzt.colView(0, H)); // ∂L/∂h′⟨t⟩ from s⟨t⟩
    const dxp = backwardStep(steps, t);
    const dInput = stepView(ws.dInput, t, B); // ∂L/∂[e, c⟨t⟩] = dxp·W_x + (from s⟨t⟩)
    gemm(dInput, dxp, Wx, false, false);
    add(dInput, dInput, dzt.colView(H, d + nc));
    const dContext = dInput.colView(d, nc);
    if (aws) attentionStepBackward(stateGradient(steps)[0], ws.dEncoder as Matrix, aws, t, dContext); // into ∂h′⟨t−1⟩ and ∂H_enc
    else add(ws.dContextSum, ws.dContextSum, dContext);
  }
  const carry = stateGradient(steps); // ∂L/∂h′⟨0⟩

  // The cell's input projection over all steps, and the target embedding.
  endBackwardSteps(steps, zAll.colView(H, d + nc));
  embeddingBackward(model.targetEmbedding, ws.tgtIn.subarray(0, n), rows(ws.dInput, n).colView(0, d));
  if (aws) attentionKeysBackward(ws.dEncoder as Matrix, aws);

  // Bridge: ∂L/∂h′⟨0⟩ → ∂L/∂m_k (plus, without attention, the context's Σ_t ∂c⟨t⟩ on m_0).
  const h0 = ws.initialState;
  for (let k = 0; k < cell.stateCount; k++) {
    const dm = ws.dSummary[k];
    if (model.bridge) {
      let dPre = carry[k];
      if (k === 0) {
        // tanh' = 1 − h′⟨0⟩²
        dPre = ws.bridgeScratch;
        tanhBackward(dPre, carry[k], h0[k]);
      }
      denseBackward(model.bridge[k], ws.summary[k], dPre, dm);
    } else {
      copyInto(dm, carry[k]);
    }
  }
  if (!aws) add(ws.dSummary[0], ws.dSummary[0], ws.dContextSum);

  if (model.encoder) {
    const encoder = model.encoder;
    const L = encoder.rnn.layers.length;
    const top = encoder.rnn.layers[L - 1];
    const dFinal: (LayerState | undefined)[] = new Array<LayerState | undefined>(L).fill(undefined);
    if (isBidirectional(top.unit)) {
      const Hf = top.unit.forward.hiddenSize, Hb = top.unit.backward.hiddenSize;
      dFinal[L - 1] = {
        forward: ws.dSummary.map((m) => m.colView(0, Hf)),
        backward: ws.dSummary.map((m) => m.colView(Hf, Hb)),
      };
    } else {
      dFinal[L - 1] = { forward: ws.dSummary };
    }
    const dEncoder = ws.dEncoder ? ws.dEncoder.rowView(0, batch.srcSteps * B) : null;
    encoderBackward(encoder, ws.encoderWs as EncoderWorkspace, dEncoder, { dFinal });
  } else {
    const dF = ws.dFeatures as Matrix;
    copyInto(dF, ws.dSummary[0]);
    for (let k = 1; k < cell.stateCount; k++) add(dF, dF, ws.dSummary[k]);
  }
}

// ---- text ↔ ids ----------------------------------------------------------------------------

/** Tokens of a source (or, with side 'target', a target) text the way the model reads it (that side's level, lower-casing). */
export function seq2seqTokens(model: Seq2SeqModel, text: string, side: 'source' | 'target' = 'source'): string[] {
  const level = side === 'source' ? model.config.sourceLevel : model.config.targetLevel;
  return tokenizeText(text, { level, lowercase: model.config.lowercase });
}

/** Source text → ids (unknown tokens → <UNK>). */
export function encodeSource(model: Seq2SeqModel, text: string): number[] {
  if (!model.sourceVocab) throw new Error('encodeSource: a captioning model has no source vocabulary');
  return model.sourceVocab.encode(seq2seqTokens(model, text));
}

/** Target text → ids, without <EOS>. */
export function encodeTarget(model: Seq2SeqModel, text: string): number[] {
  return model.targetVocab.encode(seq2seqTokens(model, text, 'target'));
}

/** Decoder ids → text (stops at <EOS>). */
export function decodeTarget(model: Seq2SeqModel, ids: readonly number[]): string {
  return detokenize(model.targetVocab.decode([...ids]), model.config.targetLevel);
}

// ---- decoding: a step function over one source -----------------------------------------------

/** A decoder state for beam search: h′ (and c′) of one hypothesis, [1, H_dec] each. Never mutated. */
export interface Seq2SeqDecoderState {
  readonly state: readonly Matrix[];
}

/**
 * The decoder of one source sentence (batch 1) as beam.ts's step function:
 *   step(state, y⟨t−1⟩) → (log P(· | x, y⟨<t⟩) over the target vocabulary, the next state).
 * The encoder runs once (in `prepare`); a step reuses preallocated [1, ·] buffers, and allocates only
 * the new state it returns (beam search keeps several states alive).
 */
export interface Seq2SeqStepper {
  initialState: Seq2SeqDecoderState;
  step(state: Seq2SeqDecoderState, token: number): { logProbs: Float64Array; state: Seq2SeqDecoderState };
  /** α of the last step over the T_x source positions (attention models; null otherwise). */
  lastAlpha(): Float64Array | null;
  /** T_x (0 for captioning). */
  sourceLength: number;
}

/** Reusable inference buffers for one model (batch 1). */
export class Seq2SeqDecoder {
  readonly model: Seq2SeqModel;
  private readonly encoderWs = new Map<number, EncoderWorkspace>();
  private readonly attentionWs = new Map<number, AttentionWorkspace>();
  /** One decoder step of batch 1 on the runner's step driver (state⟨0⟩ = the hypothesis' state). */
  private readonly steps: SequenceWorkspace;
  private readonly summary: Matrix[];
  private readonly input: Matrix;
  private readonly z: Matrix;
  private readonly logits: Matrix;
  private readonly logProbsM: Matrix;
  private readonly logProbs: Float64Array;

  constructor(model: Seq2SeqModel) {
    this.model = model;
    const { dtype, embeddingDim: d, decoderHidden: H } = model.config;
    const nc = model.contextSize;
    const cell = model.decoder;
    this.steps = createSequenceWorkspace(cell, 1, 1);
    this.summary = [];
    for (let k = 0; k < cell.stateCount; k++) this.summary.push(Matrix.zeros(1, nc, dtype));
    this.z = Matrix.zeros(1, H + d + nc, dtype);
    this.input = this.z.colView(H, d + nc);
    this.logits = Matrix.zeros(1, model.targetVocab.size, dtype);
    this.logProbsM = Matrix.zeros(1, model.targetVocab.size, 'float64');
    this.logProbs = this.logProbsM.data as Float64Array;
  }

  /**
   * Encode one source (token ids; or the feature vector for captioning) and return its step
   * function. The stepper is valid until the next `prepare` of this decoder.
   */
  prepare(source: readonly number[] | ArrayLike<number>): Seq2SeqStepper {
    const op = 'Seq2SeqDecoder.prepare';
    const model = this.model;
    const { dtype } = model.config;
    const cell = model.decoder;
    let aws: AttentionWorkspace | null = null;
    let sourceLength = 0;
    if (model.encoder) {
      const ids = source as readonly number[];
      sourceLength = ids.length;
      if (sourceLength === 0) throw new Error(`${op}: expected at least one source token, got none`);
      let ews = this.encoderWs.get(sourceLength);
      if (!ews) {
        ews = createEncoderWorkspace(model.encoder, sourceLength, 1);
        this.encoderWs.set(sourceLength, ews);
      }
      const mask = Matrix.zeros(sourceLength, 1, dtype);
      for (let t = 0; t < sourceLength; t++) mask.set(t, 0, 1);
      const r = encoderForward(model.encoder, ews, Int32Array.from(ids), { mask });
      const top = r.finalState[r.finalState.length - 1];
      const Hf = top.forward[0].cols;
      for (let k = 0; k < cell.stateCount; k++) {
        copyInto(this.summary[k].colView(0, Hf), top.forward[k]);
        if (top.backward) copyInto(this.summary[k].colView(Hf, top.backward[k].cols), top.backward[k]);
      }
      if (model.attention) {
        aws = this.attentionWs.get(sourceLength) ?? null;
        if (!aws) {
          aws = createAttentionWorkspace(model.attention, sourceLength, 1, 1);
          this.attentionWs.set(sourceLength, aws);
        }
        attentionKeysForward(aws, r.outputs, mask);
      }
    } else {
      if (source.length !== model.config.featureSize) {
        throw new Error(`${op}: expected a feature vector of length F = ${model.config.featureSize}, got ${source.length}`);
      }
      for (let k = 0; k < cell.stateCount; k++) for (let j = 0; j < source.length; j++) this.summary[k].set(0, j, source[j]);
    }
    const initial: Matrix[] = [];
    for (let k = 0; k < cell.stateCount; k++) {
      const h = Matrix.zeros(1, model.config.decoderHidden, dtype);
      if (model.bridge) {
        denseForward(h, model.bridge[k], this.summary[k]);
        if (k === 0) tanh(h, h);
      } else {
        copyInto(h, this.summary[k]);
      }
      initial.push(h);
    }
    const alpha = aws ? new Float64Array(sourceLength) : null;
    let haveAlpha = false;
    const step = (state: Seq2SeqDecoderState, token: number): { logProbs: Float64Array; state: Seq2SeqDecoderState } => {
      this.stepInto(state, token, aws);
      if (aws && alpha) {
        const w = attentionWeights(aws, 0);
        for (let i = 0; i < sourceLength; i++) alpha[i] = w.get(0, i);
        haveAlpha = true;
      }
      return { logProbs: this.logProbs, state: { state: stateAt(this.steps, 1).map((m) => m.clone()) } };
    };
    return {
      initialState: { state: initial },
      step,
      lastAlpha: () => (haveAlpha && alpha ? alpha.slice() : null),
      sourceLength,
    };
  }

  /** One decoder step for state and token, leaving the new state in stateAt(this.steps, 1) and log P in this.logProbs. */
  private stepInto(state: Seq2SeqDecoderState, token: number, aws: AttentionWorkspace | null): void {
    const model = this.model;
    const { embeddingDim: d, decoderHidden: H } = model.config;
    const nc = model.contextSize;
    const V = model.targetVocab.size;
    if (!Number.isInteger(token) || token < 0 || token >= V) throw new Error(`Seq2SeqDecoder.step: expected a target token id in [0, ${V}), got ${token}`);
    const steps = this.steps;
    beginSteps(steps, 1, { h0: state.state });
    const E = model.targetEmbedding.weight;
    for (let j = 0; j < d; j++) this.z.set(0, H + j, E.get(token, j));
    const context = this.z.colView(H + d, nc);
    if (aws) attentionStepForward(context, aws, 0, stateAt(steps, 0)[0]);
    else copyInto(context, this.summary[0]);
    projectStepInput(steps, 0, this.input);
    copyInto(this.z.colView(0, H), forwardStep(steps, 0)[0]);
    denseForward(this.logits, model.output, this.z);
    logSoftmax(this.logProbsM, this.logits.dtype === 'float64' ? this.logits : toFloat64(this.logits, this.logProbsM));
  }
}

// ---- decoding: many sources and hypotheses as one batch -----------------------------------------

/** The buffers of one batch size (a bucket of live-row counts): made on first use, then reused. */
interface PackedBatch {
  readonly rows: number;
  readonly steps: SequenceWorkspace;
  readonly h0: Matrix[];
  readonly beginOptions: { h0: readonly Matrix[] };
  readonly attention: AttentionDecodeScratch | null;
  /** The source of each packed row (attention). */
  readonly rowSources: Int32Array;
  /** [h′⟨t⟩, e(y⟨t−1⟩), c⟨t⟩] of every row [rows, H_dec + d + n_h] and its column blocks. */
  readonly z: Matrix;
  readonly hidden: Matrix;
  readonly embedded: Matrix;
  readonly context: Matrix;
  readonly input: Matrix;
  readonly logits: Matrix;
  readonly tokens: Int32Array;
}

/**
 * The decoder over S sources with K hypothesis slots each (beam.ts's BatchStepModel; slot s·K + k
 * belongs to source s). The encoder runs once, over the S sources as one right-padded batch (source
 * mask; the encoder keeps each row's state at its last real step), and the attention keys are
 * projected once, for the S sources, kept source-major (AttentionMemory: each source read only up
 * to its length). A step is one batched decoder step — target embedding rows, attention context,
 * cell, output layer, log-softmax: the per-hypothesis decoder's step (Seq2SeqDecoder) on many rows —
 * over the live slots only, packed into the rows of a batch (sizes in buckets; the extra rows are
 * ignored); attention runs per source over its packed rows (attentionDecodeStep), reading the
 * memory in place. Slot states stay in slot layout. After warm-up (one batch per bucket), `step`
 * and `reorder` allocate nothing.
 */
export class Seq2SeqBatchDecoder implements BatchStepModel {
  readonly model: Seq2SeqModel;
  readonly sources: number;
  readonly slots: number;
  readonly vocabSize: number;
  /** T_x of each source (0 for captioning). */
  readonly sourceLengths: number[];
  /** m_0 [S, n_h] (the context without attention); H_enc [T_x·S, n_h], its mask and keys (attention). */
  private readonly summary0: Matrix;
  private readonly memory: AttentionMemory | null;
  /** Slot states [S·K, H_dec] per state tensor, and the states the last step produced (slot layout). */
  private readonly state: Matrix[];
  private readonly next: Matrix[];
  private readonly buffers: Seq2SeqDecodeBuffers;

  /**
   * sources: token ids (at least one each), or feature vectors of length F for captioning; slots ≥ 1.
   * `buffers` (translateManyIds passes one to every chunk) lends the workspaces; default: new ones.
   */
  constructor(
    model: Seq2SeqModel, sources: readonly (readonly number[] | ArrayLike<number>)[], slots: number, buffers?: Seq2SeqDecodeBuffers,
  ) {
    const op = 'Seq2SeqBatchDecoder';
    const S = sources.length;
    if (S === 0) throw new Error(`${op}: expected at least one source, got none`);
    if (!Number.isInteger(slots) || slots < 1) throw new Error(`${op}: expected slots to be an integer ≥ 1, got ${slots}`);
    const { dtype, decoderHidden: H } = model.config;
    this.model = model;
    this.sources = S;
    this.slots = slots;
    this.vocabSize = model.targetVocab.size;
    const longest = sources.reduce((m, ids) => Math.max(m, ids.length), 1);
    this.buffers = buffers && buffers.model === model && buffers.slots === slots && buffers.maxSourceLength >= longest
      ? buffers : new Seq2SeqDecodeBuffers(model, slots, longest);
    const { summary, encoderOutputs, lengths } = encodeSources(op, model, sources, this.buffers);
    this.sourceLengths = lengths;
    this.summary0 = summary[0];
    this.memory = model.attention && encoderOutputs
      ? createAttentionMemory(model.attention, encoderOutputs, lengths, this.buffers.memory) : null;
    this.buffers.memory = this.memory;
    // h′⟨0⟩ of every source through the bridge, one copy per slot.
    this.state = [];
    this.next = [];
    for (let k = 0; k < model.decoder.stateCount; k++) {
      const h0 = Matrix.zeros(S, H, dtype);
      if (model.bridge) {
        denseForward(h0, model.bridge[k], summary[k]);
        if (k === 0) tanh(h0, h0);
      } else {
        copyInto(h0, summary[k]);
      }
      const m = Matrix.zeros(S * slots, H, dtype);
      for (let r = 0; r < S * slots; r++) copyRow(m, r, h0, Math.floor(r / slots));
      this.state.push(m);
      this.next.push(Matrix.zeros(S * slots, H, dtype));
    }
  }

  /** The batch for n live rows: the smallest bucket (8, 12, 16, 24, 32, 48, …, or all slots) that holds them. */
  private batchFor(n: number): PackedBatch {
    const all = this.sources * this.slots;
    let rows = 8;
    while (rows < n) rows = (rows & (rows - 1)) === 0 ? rows + rows / 2 : (rows / 3) * 4;
    if (rows > all) rows = all;
    return this.buffers.batches.get(rows) ?? this.makeBatch(rows);
  }

  private makeBatch(rows: number): PackedBatch {
    const model = this.model;
    const { dtype, embeddingDim: d, decoderHidden: H } = model.config;
    const nc = model.contextSize;
    const h0: Matrix[] = [];
    for (let k = 0; k < model.decoder.stateCount; k++) h0.push(Matrix.zeros(rows, H, dtype));
    const z = Matrix.zeros(rows, H + d + nc, dtype);
    const batch: PackedBatch = {
      rows, steps: createSequenceWorkspace(model.decoder, 1, rows), h0, beginOptions: { h0 },
      attention: model.attention ? createAttentionDecodeScratch(model.attention, rows, this.buffers.maxSourceLength) : null,
      rowSources: new Int32Array(rows),
      z, hidden: z.colView(0, H), embedded: z.colView(H, d), context: z.colView(H + d, nc), input: z.colView(H, d + nc),
      logits: Matrix.zeros(rows, this.vocabSize, dtype), tokens: new Int32Array(rows),
    };
    this.buffers.batches.set(rows, batch);
    return batch;
  }

  /**
   * Packed row r reads slot live[r] (r < n; live in increasing order, so the rows of a source are
   * consecutive); the rest of the batch repeats live[0] and its outputs are ignored.
   */
  private pack(batch: PackedBatch, tokens: Int32Array, live: Int32Array, n: number): void {
    const K = this.slots;
    for (let r = 0; r < batch.rows; r++) {
      const slot = r < n ? live[r] : live[0];
      batch.tokens[r] = tokens[slot];
      batch.rowSources[r] = Math.floor(slot / K);
      for (let k = 0; k < this.state.length; k++) copyRow(batch.h0[k], r, this.state[k], slot);
    }
    if (this.memory === null) {
      for (let r = 0; r < batch.rows; r++) copyRow(batch.context, r, this.summary0, batch.rowSources[r]); // c⟨t⟩ = m_0
    }
  }

  step(tokens: Int32Array, logProbs: Float64Array, rows: Int32Array, n: number): void {
    if (n < 1) return;
    const model = this.model, V = this.vocabSize;
    const batch = this.batchFor(n);
    this.pack(batch, tokens, rows, n);
    embeddingForward(batch.embedded, model.targetEmbedding, batch.tokens);
    const steps = batch.steps;
    beginSteps(steps, 1, batch.beginOptions);
    if (this.memory && batch.attention) attentionDecodeStep(batch.context, this.memory, batch.h0[0], batch.rowSources, n, batch.attention);
    projectStepInput(steps, 0, batch.input);
    const out = forwardStep(steps, 0);
    copyInto(batch.hidden, out[0]);
    denseForward(batch.logits, model.output, batch.z);
    const L = batch.logits;
    for (let r = 0; r < n; r++) {
      logSoftmaxRow(logProbs, rows[r] * V, L.data, L.offset + r * L.stride, V);
      for (let k = 0; k < this.next.length; k++) copyRow(this.next[k], rows[r], out[k], r);
    }
  }

  /** Every slot takes the state of its parent slot (slots without a live hypothesis get any state: never read). */
  reorder(parents: Int32Array): void {
    for (let k = 0; k < this.state.length; k++) {
      const out = this.state[k], src = this.next[k];
      for (let r = 0; r < out.rows; r++) copyRow(out, r, src, parents[r]);
    }
  }
}

/**
 * The buffers batched decoding reuses from one chunk of sources to the next (translateManyIds): the
 * encoder workspaces (by batch size, for up to maxSourceLength steps), the attention memory's storage
 * and the packed decoder batches (by rows). For one model and slot count, and one decoder at a time:
 * a new Seq2SeqBatchDecoder on these buffers overwrites what the previous one reads.
 */
export class Seq2SeqDecodeBuffers {
  readonly encoders = new Map<number, EncoderWorkspace>();
  readonly batches = new Map<number, PackedBatch>();
  memory: AttentionMemory | null = null;

  constructor(readonly model: Seq2SeqModel, readonly slots: number, readonly maxSourceLength: number) {}

  encoderWorkspace(batch: number): EncoderWorkspace {
    let ws = this.encoders.get(batch);
    if (!ws) {
      ws = createEncoderWorkspace(this.model.encoder as SequenceEncoder, this.maxSourceLength, batch);
      this.encoders.set(batch, ws);
    }
    return ws;
  }
}

/** out[row, :] = src[srcRow, :] (same widths). */
function copyRow(out: Matrix, row: number, src: Matrix, srcRow: number): void {
  const od = out.data, sd = src.data, o = out.offset + row * out.stride, p = src.offset + srcRow * src.stride;
  for (let j = 0; j < out.cols; j++) od[o + j] = sd[p + j];
}

/**
 * Encode S sources as one right-padded batch: m_k [S, n_h] per decoder state tensor, H_enc
 * [T_x·S, n_h] and the mask [T_x, S] (null for captioning, whose m_k are the feature vectors).
 */
function encodeSources(
  op: string, model: Seq2SeqModel, sources: readonly (readonly number[] | ArrayLike<number>)[], buffers: Seq2SeqDecodeBuffers,
): { summary: Matrix[]; encoderOutputs: Matrix | null; srcMask: Matrix | null; lengths: number[] } {
  const { dtype } = model.config;
  const S = sources.length;
  const nc = model.contextSize;
  const states = model.decoder.stateCount;
  const summary: Matrix[] = [];
  for (let k = 0; k < states; k++) summary.push(Matrix.zeros(S, nc, dtype));
  if (!model.encoder) {
    sources.forEach((f, s) => {
      if (f.length !== model.config.featureSize) throw new Error(`${op}: expected feature vector ${s} of length F = ${model.config.featureSize}, got ${f.length}`);
      for (let k = 0; k < states; k++) for (let j = 0; j < f.length; j++) summary[k].set(s, j, f[j]);
    });
    return { summary, encoderOutputs: null, srcMask: null, lengths: sources.map(() => 0) };
  }
  const lengths = sources.map((ids, s) => {
    if (ids.length === 0) throw new Error(`${op}: expected at least one token in source ${s}, got none`);
    return ids.length;
  });
  const Tx = Math.max(...lengths);
  const srcIds = new Int32Array(Tx * S).fill((model.sourceVocab as Vocabulary).id(PAD));
  const srcMask = Matrix.zeros(Tx, S, dtype);
  sources.forEach((ids, s) => {
    for (let t = 0; t < ids.length; t++) {
      srcIds[t * S + s] = ids[t];
      srcMask.set(t, s, 1);
    }
  });
  const ews = buffers.encoderWorkspace(S);
  const r = encoderForward(model.encoder, ews, srcIds, { mask: srcMask });
  const top = r.finalState[r.finalState.length - 1];
  const Hf = top.forward[0].cols;
  for (let k = 0; k < states; k++) {
    copyInto(summary[k].colView(0, Hf), top.forward[k]);
    if (top.backward) copyInto(summary[k].colView(Hf, top.backward[k].cols), top.backward[k]);
  }
  return { summary, encoderOutputs: r.outputs, srcMask, lengths };
}

/** Copy a [1, V] float32 row into the float64 buffer (then log-softmax runs in place, in float64). */
function toFloat64(src: Matrix, out: Matrix): Matrix {
  for (let j = 0; j < src.cols; j++) out.data[out.offset + j] = src.data[src.offset + j];
  return out;
}

// ---- translation and error analysis --------------------------------------------------------

export interface TranslateOptions {
  /** Beam width B (default 1: greedy decoding, the argmax at every step). */
  beamWidth?: number;
  /** Hypotheses to return (default 1). */
  nBest?: number;
  /** Length normalisation of the final scores (default none; the notes' α = 0.7 with 'notes'). */
  lengthPenalty?: LengthPenalty;
  /** Longest output in tokens, <EOS> included (default 2·T_x + 10, or 50 for captioning). */
  maxLength?: number;
}

export interface Translation {
  /** Output ids, <EOS> removed. */
  ids: number[];
  text: string;
  /** Σ log P of the tokens (<EOS> included). */
  logProb: number;
  /** logProb under the length penalty (the beam's ranking key). */
  score: number;
  /** False when maxLength cut the hypothesis before <EOS>. */
  finished: boolean;
}

/** Target ids the decoder must never emit: <PAD> and <SOS>. */
export function forbiddenTargets(model: Seq2SeqModel): number[] {
  return [model.ids.pad, model.ids.sos];
}

/** 2·T_x + 10, or 50 for captioning (T_x = 0). */
function defaultMaxLengthFor(sourceLength: number): number {
  return sourceLength > 0 ? 2 * sourceLength + 10 : 50;
}

/**
 * Greedy or beam-search decoding (training/beam.ts) of one source: token ids, or the feature vector
 * of a captioning model. Returns the n-best translations, best first. (translateManyIds with one
 * source: the hypotheses of the beam are one batched decoder step.)
 */
export function translateIds(decoder: Seq2SeqDecoder, source: readonly number[] | ArrayLike<number>, opts: TranslateOptions = {}): Translation[] {
  return translateManyIds(decoder.model, [source], opts)[0];
}

/** Sources decoded together by translateManyIds (R = this × beam width decoder rows per step). */
export const DECODE_CHUNK = 64;

/**
 * translateIds for many sources: chunks of up to `chunk` sources (in order of source length, so a
 * chunk pads little) are encoded as one batch each and searched together (beamSearchBatch over a
 * Seq2SeqBatchDecoder): every step advances every live hypothesis of every source of the chunk as
 * one decoder batch. Each source's n-best list is the one translateIds would give alone, up to float
 * rounding. Returns one list per source, in the order given.
 */
export function translateManyIds(
  model: Seq2SeqModel, sources: readonly (readonly number[] | ArrayLike<number>)[], opts: TranslateOptions = {}, chunk = DECODE_CHUNK,
): Translation[][] {
  if (!Number.isInteger(chunk) || chunk < 1) throw new Error(`translateManyIds: expected chunk to be an integer ≥ 1, got ${chunk}`);
  const beamWidth = opts.beamWidth ?? 1;
  const order = sources.map((_, i) => i).sort((a, b) => sources[a].length - sources[b].length);
  const out: Translation[][] = new Array<Translation[]>(sources.length);
  const buffers = decodeBuffersFor(model, beamWidth, sources.reduce((m, ids) => Math.max(m, ids.length), 1));
  // the weights are constant while decoding: the wasm backend packs each once for the whole call
  const weights = Object.values(seq2seqParameters(model).params).map((m) => m.data);
  withConstantOperands(weights, () => decodeChunks(model, sources, order, chunk, opts, buffers, out));
  return out;
}

function decodeChunks(
  model: Seq2SeqModel, sources: readonly (readonly number[] | ArrayLike<number>)[], order: number[], chunk: number,
  opts: TranslateOptions, buffers: Seq2SeqDecodeBuffers, out: Translation[][],
): void {
  const beamWidth = opts.beamWidth ?? 1;
  for (let start = 0; start < order.length; start += chunk) {
    const picked = order.slice(start, start + chunk);
    const decoder = new Seq2SeqBatchDecoder(model, picked.map((i) => sources[i]), beamWidth, buffers);
    const lists = beamSearchBatch(decoder, {
      startToken: model.ids.sos,
      eosToken: model.ids.eos,
      beamWidth,
      nBest: opts.nBest ?? 1,
      maxLength: opts.maxLength ?? decoder.sourceLengths.map(defaultMaxLengthFor),
      lengthPenalty: opts.lengthPenalty,
      forbid: forbiddenTargets(model),
    });
    lists.forEach((hyps, j) => { out[picked[j]] = hyps.map((h) => toTranslation(model, h)); });
  }
}

/**
 * The decode buffers of a model, kept with it (a WeakMap: they go when the model goes) so that
 * repeated translateManyIds calls (an evaluation after every few training steps, a benchmark) allocate
 * their workspaces once; replaced when the beam width changes or a longer source arrives.
 */
const decodeBuffers = new WeakMap<Seq2SeqModel, Seq2SeqDecodeBuffers>();

function decodeBuffersFor(model: Seq2SeqModel, slots: number, longest: number): Seq2SeqDecodeBuffers {
  const kept = decodeBuffers.get(model);
  if (kept && kept.slots === slots && kept.maxSourceLength >= longest) return kept;
  const buffers = new Seq2SeqDecodeBuffers(model, slots, Math.max(longest, kept?.maxSourceLength ?? 0));
  decodeBuffers.set(model, buffers);
  return buffers;
}

function toTranslation(model: Seq2SeqModel, h: Hypothesis): Translation {
  const ids = h.finished ? h.tokens.slice(0, -1) : h.tokens.slice();
  return { ids, text: decodeTarget(model, ids), logProb: h.logProb, score: h.score, finished: h.finished };
}

/** Translate a source text (tokenised like the training data). */
export function translate(decoder: Seq2SeqDecoder, text: string, opts: TranslateOptions = {}): Translation[] {
  const ids = encodeSource(decoder.model, text);
  if (ids.length === 0) throw new InputError(`translate: expected a source with at least one token, got ${JSON.stringify(text)}`);
  return translateIds(decoder, ids, opts);
}

/**
 * Score a given output (ids without <EOS>; the <EOS> is scored too) under the model: log P(y | x)
 * and its length-normalised score, summed exactly as beam search sums them.
 */
export function scoreTarget(
  decoder: Seq2SeqDecoder, source: readonly number[] | ArrayLike<number>, target: readonly number[], lengthPenalty?: LengthPenalty,
): SequenceScore {
  const model = decoder.model;
  const stepper = decoder.prepare(source);
  return scoreSequence({
    step: stepper.step, initialState: stepper.initialState, startToken: model.ids.sos,
    tokens: [...target, model.ids.eos], lengthPenalty,
  });
}

/**
 * α of every output step over the source positions, for `output` (ids without <EOS>; <EOS> gets a
 * row too): rows T_y, columns T_x. Needs an attention model.
 */
export function attentionMap(decoder: Seq2SeqDecoder, source: readonly number[], output: readonly number[]): number[][] {
  const model = decoder.model;
  if (!model.attention) throw new InputError(`attentionMap: the model has attention '${model.config.attention}', there are no attention weights to show`);
  const stepper = decoder.prepare(source);
  const rowsOut: number[][] = [];
  let state = stepper.initialState;
  let input = model.ids.sos;
  for (const token of [...output, model.ids.eos]) {
    const out = stepper.step(state, input);
    rowsOut.push(Array.from(stepper.lastAlpha() as Float64Array));
    state = out.state;
    input = token;
  }
  return rowsOut;
}

export type ErrorVerdict = 'correct' | 'search' | 'model';

export interface ErrorAttribution {
  /** 'correct' when ŷ = y*; else 'search' when P(y*|x) > P(ŷ|x) (beam search missed a better output), else 'model'. */
  verdict: ErrorVerdict;
  /** Normalised scores (log P under the length penalty) of y* and ŷ. */
  referenceScore: number;
  outputScore: number;
  referenceLogProb: number;
  outputLogProb: number;
}

export interface AttributeErrorOptions<S> {
  step: StepFunction<S>;
  initialState: S;
  startToken: number;
  /** y*, the human output, as fed to the scorer (usually ending with <EOS>). */
  reference: readonly number[];
  /** ŷ, the decoder's output, likewise. */
  output: readonly number[];
  lengthPenalty?: LengthPenalty;
}

/**
 * The notes' error analysis for one example: compute P(y*|x) and P(ŷ|x) under the model with the same
 * normalisation (scoreSequence). If the model prefers the human output, the search failed to find it
 * (search at fault: widen the beam); otherwise the model ranks a wrong output at least as high
 * (model at fault: more data, regularisation, a different architecture).
 */
export function attributeError<S>(opts: AttributeErrorOptions<S>): ErrorAttribution {
  const ref = scoreSequence({ step: opts.step, initialState: opts.initialState, startToken: opts.startToken, tokens: opts.reference, lengthPenalty: opts.lengthPenalty });
  const out = scoreSequence({ step: opts.step, initialState: opts.initialState, startToken: opts.startToken, tokens: opts.output, lengthPenalty: opts.lengthPenalty });
  const same = opts.reference.length === opts.output.length && opts.reference.every((t, i) => t === opts.output[i]);
  const verdict: ErrorVerdict = same ? 'correct' : ref.score > out.score ? 'search' : 'model';
  return { verdict, referenceScore: ref.score, outputScore: out.score, referenceLogProb: ref.logProb, outputLogProb: out.logProb };
}

/** attributeError for a seq2seq model: source ids, reference and output ids (without <EOS>). */
export function attributeTranslationError(
  decoder: Seq2SeqDecoder, source: readonly number[] | ArrayLike<number>, reference: readonly number[], output: Translation,
  lengthPenalty?: LengthPenalty,
): ErrorAttribution {
  const model = decoder.model;
  const stepper = decoder.prepare(source);
  const eos = model.ids.eos;
  return attributeError({
    step: stepper.step, initialState: stepper.initialState, startToken: model.ids.sos,
    reference: [...reference, eos], output: output.finished ? [...output.ids, eos] : output.ids, lengthPenalty,
  });
}

// ---- the model file ------------------------------------------------------------------------

export interface Seq2SeqModelJSON {
  kind: 'seqgrad.seq2seq';
  version: 1;
  config: Seq2SeqConfig;
  sourceVocabulary: VocabularyJSON | null;
  targetVocabulary: VocabularyJSON;
  weights: Record<string, MatrixJSON>;
  /** Free-form facts about the training run. */
  training?: Record<string, unknown>;
}

export function seq2seqToJSON(model: Seq2SeqModel, training?: Record<string, unknown>): Seq2SeqModelJSON {
  const weights: Record<string, MatrixJSON> = {};
  for (const [name, p] of Object.entries(seq2seqParameters(model).params)) weights[name] = matrixToJSON(p);
  const json: Seq2SeqModelJSON = {
    kind: 'seqgrad.seq2seq', version: 1, config: { ...model.config },
    sourceVocabulary: model.sourceVocab ? model.sourceVocab.toJSON() : null,
    targetVocabulary: model.targetVocab.toJSON(), weights,
  };
  if (training) json.training = training;
  return json;
}

/** Rebuild a model from its JSON; every problem is an InputError naming `source` and the field. */
export function seq2seqFromJSON(json: unknown, source = 'model'): Seq2SeqModel {
  const fail = (what: string): never => { throw new InputError(`${source}: ${what}`); };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail(`expected a JSON object, got ${json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json}`);
  const j = json as Partial<Seq2SeqModelJSON>;
  if (j.kind !== 'seqgrad.seq2seq') fail(`expected kind "seqgrad.seq2seq", got ${JSON.stringify(j.kind)} (not a seqgrad sequence-to-sequence model)`);
  if (j.version !== 1) fail(`expected version 1, got ${JSON.stringify(j.version)}`);
  if (!j.config || typeof j.config !== 'object') fail('has no config');
  let config: Seq2SeqConfig;
  try {
    config = resolveSeq2SeqFileConfig(j.config as Seq2SeqConfig, 'config');
  } catch (err) {
    return fail((err as Error).message);
  }
  let sourceVocab: Vocabulary | null = null;
  let targetVocab: Vocabulary;
  try {
    sourceVocab = j.sourceVocabulary ? Vocabulary.fromJSON(j.sourceVocabulary) : null;
    targetVocab = Vocabulary.fromJSON(j.targetVocabulary as VocabularyJSON);
  } catch (err) {
    return fail(`bad vocabulary: ${(err as Error).message}`);
  }
  if (!j.weights || typeof j.weights !== 'object') fail('has no weights');
  // At least one [H, H] recurrent matrix per encoder layer, the decoder's, and its output layer.
  const needed = config.encoderLayers * config.encoderHidden ** 2 + config.decoderHidden ** 2 + targetVocab.size * config.decoderHidden;
  checkConfigAgainstWeights(needed, j.weights as Record<string, MatrixJSON>, fail, `encoder hidden ${config.encoderHidden} × ${config.encoderLayers} layer(s), decoder hidden ${config.decoderHidden}`);
  let model: Seq2SeqModel;
  try {
    model = createSeq2Seq({ ...config, sourceVocab, targetVocab }, { rng: new Rng(0) });
  } catch (err) {
    return fail((err as Error).message);
  }
  const { params } = seq2seqParameters(model);
  const weights = withCurrentNames(j.weights as Record<string, MatrixJSON>, seq2seqFormerNames(model));
  copyWeightsFromJSON(params, weights, fail, 'this model');
  return model;
}
