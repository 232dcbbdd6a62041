/**
 * The recurrent language model of the notes (Sequence Models week 1, "Language model and sequence
 * generation"): read y⟨1⟩ … y⟨t−1⟩, predict y⟨t⟩.
 *
 *   x⟨t⟩ = E[y⟨t−1⟩]  (a learnt embedding, [T·B, d]; with V ≤ T·B/2 never built either: E is folded
 *                      into the first cell's input projection, E·W_xᵀ gathered per id — foldsEmbedding)
 *          or  one-hot(y⟨t−1⟩)  ([T·B, V], the notes' form;
 *                      never built: the first cell reads the ids, W_x·one-hot(y) = column y of W_x,
 *                      a row gather in layers/sequence.ts, and its gradient a scatter-add)
 *   a⟨t⟩ = cell(x⟨t⟩, a⟨t−1⟩)                         (L stacked cells, each [T·B, H] out)
 *   z⟨t⟩ = a⟨t⟩·W_yaᵀ + b_y                          [T·B, V]   (layers/dense.ts)
 *   ŷ⟨t⟩ = softmax(z⟨t⟩),  L = −Σ_t log ŷ⟨t⟩[y⟨t⟩]   (engine/cross-entropy.ts takes the logits z)
 *
 * Everything is time-major (`[T, B, D]` stored as `[T·B, D]`). The cells run as a deep RNN
 * (layers/stacked.ts). `lmForward` / `lmBackward` run a chunk of T steps for B parallel streams in a preallocated `LmWorkspace`; the state each layer
 * ends the chunk with is kept in `ws.state` and is the next chunk's initial state (truncated BPTT:
 * no gradient crosses that boundary, the next chunk simply starts from these numbers).
 *
 * Parameter names (optimizer state, checkpoints, error messages) follow layers/architectures.ts'
 * namedParameters — for an LSTM with L layers:
 *   embedding.weight [V, d] (absent with one-hot input), rnn.l0.W_x [4H, D], rnn.l0.W_a [4H, H],
 *   rnn.l0.b [1, 4H], rnn.l1.W_x [4H, H], …, head.W [V, H], head.b [1, V].
 * Files written before this scheme named them embedding.weight, lstm.W_x, lstm.l1.W_x, dense.W
 * (the cell kind, then `.l<l>` for layers l ≥ 1): loading maps those names (lmFormerNames).
 *
 * The model file is JSON: { kind: "seqgrad.language-model", version: 1, config, vocabulary,
 * weights: name → matrixToJSON (raw little-endian bytes in base64, so the round trip is exact) }.
 * This module touches no file system (it also runs in a browser); `training/lm/model-file.ts` reads
 * and writes the file (atomically) under Node.
 */
import { crossEntropy } from '../../engine/cross-entropy.js';
import { Matrix, zero, type DType } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import { NO_INIT } from '../../engine/init.js';
import { namedParameters, type NamedParameters } from '../../layers/architectures.js';
import type { CellKind, RecurrentCell } from '../../layers/cells/cell.js';
import { CELL_KINDS, createCell, type CreateCellOptions } from '../../layers/cells/create-cell.js';
import type { RnnActivation } from '../../layers/cells/rnn.js';
import { createDense, denseBackward, denseForward, denseZeroGrad, type DenseLayer } from '../../layers/dense.js';
import {
  createEmbedding, embeddingBackward, embeddingBackwardFromRows, embeddingForward, embeddingZeroGrad, type Embedding,
} from '../../layers/embedding.js';
import { copyStateInto, zeroState } from '../../layers/sequence.js';
import {
  createStack, createStackedWorkspace, stackedBackward, stackedForward, stackedZeroGrads,
  type LayerState, type StackedBackwardOptions, type StackedForwardOptions, type StackedRnn, type StackedWorkspace,
} from '../../layers/stacked.js';
import { checkConfigAgainstWeights, checkModelSize, copyWeightsFromJSON, withCurrentNames } from '../io/weights-json.js';
import { matrixToJSON, type MatrixJSON } from '../io/tensors.js';
import { Vocabulary, type VocabularyJSON } from '../text/vocab.js';
import { InputError } from '../core/errors.js';
import {
  cellRegularizationOf, resolveRnnRegularization, stackDropoutOf, withoutInertDropout, type RnnRegularization,
} from '../core/rnn-regularization.js';
import type { RnnDropoutMode } from '../../layers/stacked-dropout.js';
import { DROPOUT_OFF, type DropoutMode } from '../../layers/dropout.js';
import type { CreateOptions } from '../../engine/create.js';

export type LmLevel = 'char' | 'word';

/** Everything that fixes the model's structure (saved in the model file); dropout and layerNorm only when set. */
export interface LanguageModelConfig extends RnnRegularization {
  /** Tokens are characters or words. */
  level: LmLevel;
  /** The text was lower-cased before tokenising (scoring and prompts do the same). */
  lowercase: boolean;
  cell: CellKind;
  /** H, the state size of every layer. */
  hidden: number;
  /** L, stacked recurrent layers (layer l + 1 reads the outputs a⟨t⟩ of layer l). */
  layers: number;
  /** d of the learnt input embedding; 0 = one-hot input of size V (the notes' x⟨t⟩ = y⟨t−1⟩). */
  embeddingDim: number;
  /** Seed of the initial weights. */
  seed: number;
  dtype: DType;
  /** How the cells were initialised (see LmInit); absent = 'default'. */
  init?: LmInit;
  /** The RNN cell's g (cell 'rnn' only); absent = 'tanh'. */
  activation?: RnnActivation;
}

/**
 * Initialisation of the recurrent cells:
 * - 'default': every weight and the bias U(±1/√H), the LSTM forget-gate bias b_f = 1;
 * - 'pytorch': nn.RNN/GRU/LSTM's own: U(±1/√H) weights, the one bias drawn as PyTorch's
 *   b_ih + b_hh (two U(±1/√H) draws summed), no forget-bias change — the setting of the
 *   published char-rnn results in PyTorch;
 * - 'orthogonal': 'default' with each gate's block of W_a orthogonal (Saxe et al. 2014);
 * - 'irnn': cell 'rnn' only (Le et al. 2015): W_aa = I, b = 0, W_ax ~ N(0, 0.001²); use with ReLU.
 */
export type LmInit = 'default' | 'pytorch' | 'orthogonal' | 'irnn';

export const LM_INITS: readonly LmInit[] = ['default', 'pytorch', 'orthogonal', 'irnn'];

/** What `createLanguageModel` accepts: anything left out takes the default shown. */
export interface LanguageModelOptions {
  level?: LmLevel;            // 'char'
  lowercase?: boolean;        // false
  cell?: CellKind;            // 'lstm'
  hidden?: number;            // 128
  layers?: number;            // 1
  embeddingDim?: number;      // char: 0 (one-hot), word: 64
  seed?: number;              // 1
  dtype?: DType;              // 'float32'
  dropout?: number;           // 0 (none)
  dropoutMode?: RnnDropoutMode; // 'between'
  layerNorm?: boolean;        // false
  init?: LmInit;              // 'default'
  activation?: RnnActivation; // 'tanh' (cell 'rnn' only)
}

export interface LanguageModel {
  readonly config: LanguageModelConfig;
  readonly vocab: Vocabulary;
  /** E [V, d], or null for one-hot input. */
  readonly embedding: Embedding | null;
  /** The L cells, bottom first. */
  readonly cells: RecurrentCell[];
  /** The same cells as a deep RNN (layers/stacked.ts), which runs forward and BPTT through them. */
  readonly stack: StackedRnn;
  /** W_ya [V, H], b_y [1, V]. */
  readonly output: DenseLayer;
}

/** Fill in the defaults and check every field; throws naming the field. */
export function resolveLanguageModelConfig(opts: LanguageModelOptions, op = 'createLanguageModel'): LanguageModelConfig {
  const level = opts.level ?? 'char';
  if (level !== 'char' && level !== 'word') throw new Error(`${op}: expected level 'char' or 'word', got ${JSON.stringify(level)}`);
  const config: LanguageModelConfig = {
    level,
    lowercase: opts.lowercase ?? false,
    cell: opts.cell ?? 'lstm',
    hidden: opts.hidden ?? 128,
    layers: opts.layers ?? 1,
    embeddingDim: opts.embeddingDim ?? (level === 'char' ? 0 : 64),
    seed: opts.seed ?? 1,
    dtype: opts.dtype ?? 'float32',
  };
  if (!CELL_KINDS.includes(config.cell)) throw new Error(`${op}: expected cell among ${CELL_KINDS.join('|')}, got ${JSON.stringify(config.cell)}`);
  const positive = (name: string, v: number): void => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${op}: expected ${name} to be an integer ≥ 1, got ${v}`);
  };
  positive('hidden', config.hidden);
  positive('layers', config.layers);
  if (!Number.isInteger(config.embeddingDim) || config.embeddingDim < 0) {
    throw new Error(`${op}: expected embeddingDim to be an integer ≥ 0 (0 = one-hot input), got ${config.embeddingDim}`);
  }
  if (!Number.isInteger(config.seed)) throw new Error(`${op}: expected an integer seed, got ${config.seed}`);
  if (config.dtype !== 'float32' && config.dtype !== 'float64') throw new Error(`${op}: expected dtype float32 or float64, got ${JSON.stringify(config.dtype)}`);
  if (typeof config.lowercase !== 'boolean') throw new Error(`${op}: expected lowercase to be true or false, got ${JSON.stringify(config.lowercase)}`);
  // init and activation are kept only when they differ from the defaults, so files stay as they were.
  const init = opts.init ?? 'default';
  if (!LM_INITS.includes(init)) throw new Error(`${op}: expected init among ${LM_INITS.join('|')}, got ${JSON.stringify(init)}`);
  if (init === 'irnn' && config.cell !== 'rnn') throw new Error(`${op}: init 'irnn' is for cell 'rnn', got cell '${config.cell}'`);
  if (init !== 'default') config.init = init;
  const activation = opts.activation ?? 'tanh';
  if (activation !== 'tanh' && activation !== 'relu') throw new Error(`${op}: expected activation 'tanh' or 'relu', got ${JSON.stringify(activation)}`);
  if (activation !== 'tanh' && config.cell !== 'rnn') throw new Error(`${op}: an activation is for cell 'rnn', got cell '${config.cell}'`);
  if (activation !== 'tanh') config.activation = activation;
  return { ...config, ...resolveRnnRegularization(op, opts, config.cell, config.layers) };
}

/**
 * The config of a model FILE (model file, checkpoint, safetensors document), resolved as a new model's except
 * that dropout which never acted — saved before resolveLanguageModelConfig refused it — is dropped first
 * (withoutInertDropout, training/core/rnn-regularization.ts): the file loads as the same model.
 */
export function resolveLanguageModelFileConfig(config: LanguageModelConfig, op: string): LanguageModelConfig {
  return resolveLanguageModelConfig(withoutInertDropout(config, config?.layers), op);
}

/**
 * A new model over `config.vocab`, initialised from `options.rng` (default: a generator seeded with
 * config.seed, whose default is DEFAULT_SEED); `options.dtype` overrides config.dtype.
 * Cells as config.init says (default: U(−1/√H, 1/√H) with the LSTM forget-gate bias set to 1);
 * the embedding N(0, 1); the output layer nn.Linear's default.
 */
export function createLanguageModel(config: LanguageModelOptions & { vocab: Vocabulary }, options?: CreateOptions): LanguageModel;
/** @deprecated Use `createLanguageModel({ ...opts, vocab }, { rng })`. */
export function createLanguageModel(opts: LanguageModelOptions, vocab: Vocabulary, rng?: Rng): LanguageModel;
export function createLanguageModel(
  first: LanguageModelOptions & { vocab?: Vocabulary }, second?: Vocabulary | CreateOptions, oldRng?: Rng,
): LanguageModel {
  const legacy = second instanceof Vocabulary;
  const { vocab: configVocab, ...opts } = first;
  const vocab = (legacy ? second : configVocab) as Vocabulary;
  const options: CreateOptions = legacy ? { rng: oldRng } : second ?? {};
  const config = resolveLanguageModelConfig({ ...opts, dtype: options.dtype ?? opts.dtype });
  const rng = options.rng;
  if (!(vocab instanceof Vocabulary) || vocab.size < 2) {
    throw new Error(`createLanguageModel: expected a Vocabulary of at least 2 tokens, got ${vocab instanceof Vocabulary ? vocab.size : typeof vocab}`);
  }
  // At least W_aa [H, H] and W_ax [H, in] per layer, and W_ya [V, H]: checked before allocating.
  const input = config.embeddingDim > 0 ? config.embeddingDim : vocab.size;
  checkModelSize('createLanguageModel', config.layers * config.hidden * (config.hidden + input) + vocab.size * config.hidden,
    `a ${config.cell} of hidden ${config.hidden} × ${config.layers} layer(s) over ${vocab.size} tokens`);
  const gen = rng ?? new Rng(config.seed);
  const V = vocab.size;
  const { dtype } = config;
  const embedding = config.embeddingDim > 0 ? createEmbedding({ vocabSize: V, dim: config.embeddingDim }, { rng: gen, dtype }) : null;
  const cells: RecurrentCell[] = [];
  for (let l = 0; l < config.layers; l++) {
    const inputSize = l === 0 ? (embedding ? config.embeddingDim : V) : config.hidden;
    cells.push(createCell({
      kind: config.cell, inputSize, hiddenSize: config.hidden, ...cellInitOptions(config), ...cellRegularizationOf(config),
    }, { rng: gen, dtype }));
  }
  const output = createDense({ inputSize: config.hidden, outputSize: V }, { rng: gen, dtype });
  const stack = createStack(cells.map((cell) => ({ cell })), { dropout: stackDropoutOf(config) });
  return { config, vocab, embedding, cells, stack, output };
}

/** createCell's options for config.init and config.activation. */
function cellInitOptions(config: LanguageModelConfig): Partial<CreateCellOptions> {
  const isLstm = config.cell === 'lstm' || config.cell === 'lstm-peephole';
  const activation = config.activation ? { activation: config.activation } : {};
  switch (config.init ?? 'default') {
    case 'pytorch': return { init: 'pytorch', pytorchBiasPair: true, ...activation };
    case 'orthogonal': return { init: 'orthogonal', ...(isLstm ? { forgetBias: 1 } : {}), ...activation };
    case 'irnn': return { init: 'irnn', ...activation };
    default: return { init: 'pytorch', ...(isLstm ? { forgetBias: 1 } : {}), ...activation };
  }
}

/** Every parameter and its gradient by name (layers/architectures.ts' scheme), in forward order. */
function lmNamedParameters(model: LanguageModel): NamedParameters {
  return namedParameters({ embedding: model.embedding, rnn: model.stack, head: model.output });
}

/** Every parameter by name, in forward order (embedding, cells bottom-up, output layer). */
export function lmParameters(model: LanguageModel): Record<string, Matrix> {
  return lmNamedParameters(model).params;
}

/** The gradient buffers, with the names and order of `lmParameters`. */
export function lmGradients(model: LanguageModel): Record<string, Matrix> {
  return lmNamedParameters(model).grads;
}

/**
 * The parameters the optimizer updates, by name (and their gradients). lmParameters' — except for
 * a model with init 'pytorch', which is optimised as PyTorch's nn.RNN/GRU/LSTM too: those hold
 * the bias twice (b_ih and b_hh, always summed), so each receives the gradient of the sum and its
 * own optimizer update. With Adam the sum then moves twice as far per step as one bias would (each
 * update is ≈ η·sign(g)), and clip_grad_norm_ counts that gradient twice. A one-bias cell's b is
 * therefore listed twice, as `rnn.l{k}.b` and `rnn.l{k}.b.hh` (the same matrix and gradient), which
 * is exactly that — checked against PyTorch (benchmarks/char_rnn_torch.py). Weight decay then
 * decays the sum rather than b_ih and b_hh apart, the one difference (only with λ > 0). The
 * reset-after GRU has both biases already (b, b_a).
 */
export function lmOptimizerParameters(model: LanguageModel): NamedParameters {
  const named = lmNamedParameters(model);
  if (model.config.init !== 'pytorch' || model.config.cell === 'gru-reset-after') return named;
  const params: Record<string, Matrix> = {};
  const grads: Record<string, Matrix> = {};
  for (const name of Object.keys(named.params)) {
    params[name] = named.params[name];
    grads[name] = named.grads[name];
    if (/^rnn\.l\d+\.b$/.test(name)) {
      params[`${name}.hh`] = named.params[name];
      grads[`${name}.hh`] = named.grads[name];
    }
  }
  return { params, grads };
}

/**
 * current name → the name files written before the one naming scheme used: `rnn.l0.W_x` was
 * `<cell>.W_x` (e.g. lstm.W_x), `rnn.l<l>.W_x` was `<cell>.l<l>.W_x`, `head.W` was `dense.W`.
 * For model files and checkpoints (weights and optimizer state) of those versions.
 */
export function lmFormerNames(model: LanguageModel): Record<string, string> {
  const former: Record<string, string> = {};
  for (const name of Object.keys(lmParameters(model))) {
    const old = formerLmName(name, model.config.cell);
    if (old !== name) former[name] = old;
  }
  return former;
}

function formerLmName(name: string, cell: CellKind): string {
  const layer = /^rnn\.l(\d+)\.(.+)$/.exec(name);
  if (layer) return layer[1] === '0' ? `${cell}.${layer[2]}` : `${cell}.l${layer[1]}.${layer[2]}`;
  return name.replace(/^head\./, 'dense.');
}

/** Total number of trainable numbers. */
export function lmParameterCount(model: LanguageModel): number {
  return Object.values(lmParameters(model)).reduce((s, p) => s + p.size, 0);
}

/** Zero every gradient buffer (the backward passes accumulate). */
export function lmZeroGrad(model: LanguageModel): void {
  if (model.embedding) embeddingZeroGrad(model.embedding);
  stackedZeroGrads(model.stack);
  denseZeroGrad(model.output);
}

// ---- forward and backward over a chunk -----------------------------------------------------

/** The buffers of one (T, B): allocated once, reused by every chunk. Fields are internal. */
export interface LmWorkspace {
  readonly steps: number;
  readonly batch: number;
  /** Input ids, time-major: entry t·B + b is stream b's token at step t. Fill before lmForward. */
  readonly inputIds: Int32Array;
  /** x [T·B, d] (embedding); null for one-hot input, which the first cell reads as ids. */
  readonly x: Matrix | null;
  readonly stack: StackedWorkspace;
  /** Per layer, the state the next chunk starts from ([a] or [a, c], each [B, H]). */
  readonly state: Matrix[][];
  /** The same matrices as the stack's initial states. */
  readonly h0: LayerState[];
  /** z [T·B, V]; lmBackward takes ∂L/∂z in it or in any other [T·B, V] matrix. */
  readonly logits: Matrix;
  /** ∂L/∂a⟨t⟩ of the top layer [T·B, H]. */
  readonly dTop: Matrix;
  /** The top layer's outputs and the step count of the last forward (backward reads them). */
  lastTop: Matrix | null;
  lastSteps: number;
  /** The options passed to the stack on every step (reused: no allocation per training step). */
  readonly forwardOpts: StackedForwardOptions & { dropout: DropoutMode };
  readonly backwardOpts: StackedBackwardOptions;
}

/**
 * `state`: the carried state to use (per layer, [B, H] matrices, taken, not copied — a data-parallel
 * share passes views of its rows of the whole batch's state); default new zeroed matrices.
 */
export function createLmWorkspace(model: LanguageModel, steps: number, batch: number, state?: Matrix[][]): LmWorkspace {
  if (!Number.isInteger(steps) || steps < 1 || !Number.isInteger(batch) || batch < 1) {
    throw new Error(`createLmWorkspace: expected positive integer steps and batch, got T=${steps}, B=${batch}`);
  }
  const { dtype, hidden } = model.config;
  const V = model.vocab.size;
  state ??= model.cells.map((cell) => zeroState(cell, batch));
  const h0: LayerState[] = state.map((forward) => ({ forward }));
  return {
    steps,
    batch,
    inputIds: new Int32Array(steps * batch),
    x: model.embedding ? Matrix.zeros(steps * batch, model.config.embeddingDim, dtype) : null,
    stack: createStackedWorkspace(model.stack, steps, batch),
    state,
    h0,
    logits: Matrix.zeros(steps * batch, V, dtype),
    dTop: Matrix.zeros(steps * batch, hidden, dtype),
    lastTop: null,
    lastSteps: 0,
    forwardOpts: { h0: h0, dropout: DROPOUT_OFF, embedding: null },
    backwardOpts: { inputGradient: model.embedding !== null },
  };
}

/** Set every layer's carried state to 0 (the start of a stream). */
export function lmResetState(ws: LmWorkspace): void {
  for (const layer of ws.state) for (const s of layer) zero(s);
}

/** A fresh copy of the carried state (one list per layer). */
export function lmCopyState(ws: LmWorkspace): Matrix[][] {
  return ws.state.map((layer) => layer.map((s) => s.clone()));
}

/** Overwrite the carried state with `state` (shapes as ws.state). */
export function lmSetState(ws: LmWorkspace, state: readonly (readonly Matrix[])[]): void {
  if (state.length !== ws.state.length) throw new Error(`lmSetState: expected ${ws.state.length} layers of state, got ${state.length}`);
  ws.state.forEach((layer, l) => copyStateInto(layer, state[l]));
}

function rowsOf(m: Matrix, rows: number): Matrix {
  return rows === m.rows ? m : m.rowView(0, rows);
}

/**
 * Forward over T ≤ ws.steps steps of the ids in ws.inputIds[0 … T·B): returns the logits
 * z [T·B, V] (a view into ws). Starts every layer from ws.state and leaves its final state there.
 * `dropout`: the stack's dropout in this call (training: `{ kind: 'sample', rng }`); off by default.
 */
export function lmForward(model: LanguageModel, ws: LmWorkspace, steps: number = ws.steps, dropout: DropoutMode = DROPOUT_OFF): Matrix {
  if (!Number.isInteger(steps) || steps < 1 || steps > ws.steps) {
    throw new Error(`lmForward: expected 1 ≤ steps ≤ ${ws.steps}, got ${steps}`);
  }
  const n = steps * ws.batch;
  const ids = n === ws.inputIds.length ? ws.inputIds : ws.inputIds.subarray(0, n);
  let x: Matrix | Int32Array = ids;
  const fold = foldsEmbedding(model, n);
  if (model.embedding && !fold) {
    x = rowsOf(ws.x as Matrix, n);
    embeddingForward(x, model.embedding, ids);
  } else {
    checkTokenIds(ids, model.vocab.size);
  }
  ws.forwardOpts.embedding = fold ? (model.embedding as Embedding).weight : null;
  ws.forwardOpts.dropout = dropout;
  const { outputs, finalState } = stackedForward(model.stack, ws.stack, x, ws.forwardOpts);
  // h0 was copied into the runners' histories: safe to overwrite it with the final state now.
  for (let l = 0; l < finalState.length; l++) copyStateInto(ws.state[l], finalState[l].forward);
  const logits = rowsOf(ws.logits, n);
  denseForward(logits, model.output, outputs);
  ws.lastTop = outputs;
  ws.lastSteps = steps;
  return logits;
}

/**
 * BPTT through the last lmForward of `ws`, from dLogits = ∂L/∂z [T·B, V] (may be ws.logits).
 * Accumulates (+=) into every gradient buffer of the model. Nothing flows into the carried
 * state's past (truncated BPTT).
 */
export function lmBackward(model: LanguageModel, ws: LmWorkspace, dLogits: Matrix): void {
  const top = ws.lastTop;
  if (top === null) throw new Error('lmBackward: expected an lmForward on this workspace first, got none');
  const n = ws.lastSteps * ws.batch;
  const dTop = rowsOf(ws.dTop, n);
  denseBackward(model.output, top, dLogits, dTop);
  // One-hot input is data: skip ∂L/∂x (a [T·B, V] GEMM) unless an embedding needs it.
  const { dx, dEmbedding } = stackedBackward(model.stack, ws.stack, dTop, ws.backwardOpts);
  const ids = n === ws.inputIds.length ? ws.inputIds : ws.inputIds.subarray(0, n);
  if (model.embedding && dEmbedding) embeddingBackwardFromRows(model.embedding, ids, dEmbedding);
  else if (model.embedding && dx) embeddingBackward(model.embedding, ids, dx);
}

/**
 * Whether a forward of n rows reads its ids through the embedding folded into the first layer's
 * input projection (layers/sequence.ts): three products of V·d·G instead of n·d·G, so when the
 * vocabulary is at most half the rows (a character model, the bench's V 64 at T·B 1600) — and the
 * stack does not drop its input (variational dropout drops E[ids] itself).
 */
function foldsEmbedding(model: LanguageModel, n: number): boolean {
  if (!model.embedding || 2 * model.vocab.size > n) return false;
  return model.stack.dropout?.mode !== 'variational';
}

/** Throws (naming lmForward) unless every id is in [0, V). */
function checkTokenIds(ids: Int32Array, V: number): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id < 0 || id >= V) throw new Error(`lmForward: expected token ids in [0, ${V}), got ${id} at position ${i}`);
  }
}

/** Σ_t −log ŷ⟨t⟩[y⟨t⟩] over the n = T·B rows of logits (for evaluation; no gradient). */
export function lmLoss(logits: Matrix, targets: ArrayLike<number>): number {
  return crossEntropy(logits, targets);
}

// ---- the model file ------------------------------------------------------------------------

export interface LanguageModelJSON {
  kind: 'seqgrad.language-model';
  version: 1;
  config: LanguageModelConfig;
  vocabulary: VocabularyJSON;
  weights: Record<string, MatrixJSON>;
  /** Free-form facts about the training run (steps, validation bits per token, …). */
  training?: Record<string, unknown>;
}

export function languageModelToJSON(model: LanguageModel, training?: Record<string, unknown>): LanguageModelJSON {
  const weights: Record<string, MatrixJSON> = {};
  for (const [name, p] of Object.entries(lmParameters(model))) weights[name] = matrixToJSON(p);
  const json: LanguageModelJSON = {
    kind: 'seqgrad.language-model', version: 1, config: { ...model.config }, vocabulary: model.vocab.toJSON(), weights,
  };
  if (training) json.training = training;
  return json;
}

/**
 * Rebuild a model from its JSON. `source` names where it came from in error messages ("model
 * file m.json"); every problem is an InputError naming the source and the field.
 */
export function languageModelFromJSON(json: unknown, source = 'model'): LanguageModel {
  const fail = (what: string): never => { throw new InputError(`${source}: ${what}`); };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail(`expected a JSON object, got ${describe(json)}`);
  const j = json as Partial<LanguageModelJSON>;
  if (j.kind !== 'seqgrad.language-model') fail(`expected kind "seqgrad.language-model", got ${JSON.stringify(j.kind)} (not a seqgrad language model)`);
  if (j.version !== 1) fail(`expected version 1, got ${JSON.stringify(j.version)}`);
  if (!j.config || typeof j.config !== 'object') fail('has no config');
  let config: LanguageModelConfig;
  try {
    config = resolveLanguageModelFileConfig(j.config as LanguageModelConfig, 'config');
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
  // At least W_aa [H, H] per layer and W_ya [V, H]: checked before anything is allocated.
  const needed = config.layers * config.hidden * config.hidden + vocab.size * config.hidden;
  checkConfigAgainstWeights(needed, j.weights as Record<string, MatrixJSON>, fail, `${config.cell}, hidden ${config.hidden}, ${config.layers} layer(s)`);
  const model = createLanguageModel({ ...config, vocab }, { rng: NO_INIT }); // every weight comes from the file
  const params = lmParameters(model);
  const weights = withCurrentNames(j.weights as Record<string, MatrixJSON>, lmFormerNames(model));
  copyWeightsFromJSON(params, weights, fail, `this ${config.cell} model (${config.layers} layer(s))`);
  return model;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
