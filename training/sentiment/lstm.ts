/**
 * Sentiment model (b) of the notes (Sequence Models, week 2): embedding → LSTM many-to-one → softmax.
 * Unlike model (a) it reads the words in order, so "not good" and "good , not bad" can differ
 * from what their bags of words say, and "Completely lacking in good taste, good service, and
 * good ambience" can come out negative although 'good' appears three times.
 *
 * For a batch of B sentences padded to T words (time-major ids [T·B], right-padded mask m [T, B],
 * lengths T_b = Σ_t m⟨t⟩_b):
 *   x⟨t⟩_b  = E[id⟨t⟩_b]                                   [T·B, d]   (embedding lookup)
 *   a⟨t⟩    = LSTM(a⟨t−1⟩, c⟨t−1⟩, x⟨t⟩), a⟨0⟩ = c⟨0⟩ = 0   [B, H] per step (layers/lstm.ts; L stacked layers)
 *   s_b     = a⟨T_b⟩_b                                      [B, H]     (last valid state of the top layer)
 *             bidirectional: s_b = [a→⟨T_b⟩_b, a←⟨1⟩_b]      [B, 2H]    (each direction's final state)
 *             empty sentence (T_b = 0): s_b = 0             (= the initial state)
 *   z       = s·W_yᵀ + b_y                                  [B, C]     (W_y [C, W], b_y [1, C])
 * and the shared loop applies L = −(1/B) Σ_b log softmax(z_b)[y_b].
 * Backward, from dZ [B, C]: dW_y += dZᵀ·s, db_y += Σ dZ, dS = dZ·W_y; dS_b is placed at the step
 * it came from (∂L/∂outputs⟨T_b⟩_b, and ∂L/∂outputs⟨1⟩_b for the backward half), then BPTT
 * through the stack (layers/stacked.ts) and dE[id] += dx (touched rows; nothing when frozen).
 *
 * The model is a layers/architectures.ts ManyToOneModel (embedding + stacked RNN + softmax head).
 * It runs the encoder itself instead of manyToOneForward because the SentimentModel contract
 * hands logits out and takes ∂L/∂z back (the loss lives in the shared training loop).
 * Workspaces are kept per batch size and grown to the longest batch seen.
 */
import { Matrix, copyInto, shapeOf, zero, type DType } from '../../engine/matrix.js';
import { DROPOUT_OFF, type DropoutMode } from '../../layers/dropout.js';
import { resolveRnnRegularization, stackRegularizationOf, withoutInertDropout, type RnnRegularization } from '../core/rnn-regularization.js';
import type { Rng } from '../../engine/rng.js';
import { NO_INIT } from '../../engine/init.js';
import {
  createEncoderWorkspace, createManyToOne, encoderBackward, encoderForward, modelParameters, modelZeroGrads,
  type EncoderWorkspace, type ManyToOneModel,
} from '../../layers/architectures.js';
import { isBidirectional, maskLengths } from '../../layers/bidirectional.js';
import { denseBackward, denseForward } from '../../layers/dense.js';
import { wrapEmbedding, type Embedding } from '../../layers/embedding.js';
import { createOutputHead } from '../../layers/heads.js';
import { createStackedRnn } from '../../layers/stacked.js';
import type { ParamSet } from '../core/optimizers.js';
import { matrixFromJSON, matrixToJSON, type MatrixJSON } from '../io/tensors.js';
import { checkModelSize } from '../io/weights-json.js';
import { checkModelJSON, createSentimentEmbedding, type SentimentBatch, type SentimentModel, type SentimentModelFactory, type SentimentModelJSON, type SentimentModelOptions } from '../classify/sentence-classifier.js';
import { PAD, Vocabulary } from '../text/vocab.js';
import { resolveCreateOptions, type CreateOptions } from '../../engine/create.js';

/** The recurrent part's structure (stored implicitly in the model file's weight shapes). */
export interface LstmSentimentConfig {
  /** H per direction. */
  hidden: number;
  /** L stacked LSTM layers. */
  layers: number;
  bidirectional: boolean;
}

/** Buffers for batches of B sentences of up to T words. */
class LstmSentimentWorkspace {
  readonly steps: number;
  readonly batch: number;
  readonly encoder: EncoderWorkspace;
  /** s [B, W] and ∂L/∂s. */
  readonly summary: Matrix;
  readonly dSummary: Matrix;
  /** ∂L/∂outputs [T·B, W]: dS scattered back to the steps s came from. */
  readonly dOutputs: Matrix;
  readonly logits: Matrix;
  readonly lengths: Int32Array;
  /** Steps of the last forward (0: none yet). */
  lastSteps = 0;

  constructor(net: ManyToOneModel, steps: number, batch: number) {
    const W = net.rnn.outputSize, dtype = net.rnn.dtype;
    this.steps = steps;
    this.batch = batch;
    this.encoder = createEncoderWorkspace(net, steps, batch);
    this.summary = Matrix.zeros(batch, W, dtype);
    this.dSummary = Matrix.zeros(batch, W, dtype);
    this.dOutputs = Matrix.zeros(steps * batch, W, dtype);
    this.logits = Matrix.zeros(batch, net.head.outputSize, dtype);
    this.lengths = new Int32Array(batch);
  }
}

export class LstmSentimentModel implements SentimentModel {
  readonly kind = 'lstm';
  readonly classes: string[];
  readonly vocab: Vocabulary;
  readonly net: ManyToOneModel;
  readonly config: LstmSentimentConfig;
  readonly dtype: DType;
  /** Dropout and layer normalisation, as set (saved in the model file's `rnn`). */
  readonly regularization: RnnRegularization;
  private readonly workspaces = new Map<number, LstmSentimentWorkspace>();
  private last: LstmSentimentWorkspace | null = null;

  constructor(vocab: Vocabulary, classes: string[], net: ManyToOneModel, regularization: RnnRegularization = {}) {
    const op = 'LstmSentimentModel';
    if (!net.embedding) throw new Error(`${op}: expected a many-to-one model with an embedding, got none`);
    if (net.embedding.weight.rows !== vocab.size) {
      throw new Error(`${op}: expected an embedding of ${vocab.size} rows (the vocabulary), got ${shapeOf(net.embedding.weight)}`);
    }
    if (net.head.kind !== 'softmax' || net.head.outputSize !== classes.length) {
      throw new Error(`${op}: expected a softmax head over ${classes.length} classes, got a ${net.head.kind} head of ${net.head.outputSize}`);
    }
    const first = net.rnn.layers[0].unit;
    const cell = isBidirectional(first) ? first.forward : first;
    if (net.rnn.layers.some((l) => (isBidirectional(l.unit) ? l.unit.forward.kind : l.unit.kind) !== 'lstm')) {
      throw new Error(`${op}: expected LSTM layers only, got ${net.rnn.layers.map((l) => (isBidirectional(l.unit) ? `bi-${l.unit.forward.kind}` : l.unit.kind)).join(', ')}`);
    }
    this.vocab = vocab;
    this.classes = classes;
    this.net = net;
    this.dtype = net.rnn.dtype;
    this.config = { hidden: cell.hiddenSize, layers: net.rnn.layers.length, bidirectional: isBidirectional(first) };
    this.regularization = regularization;
  }

  get embedding(): Embedding {
    return this.net.embedding!;
  }

  /** E (unless frozen), 'rnn.l0.W_x', 'rnn.l0.W_a', 'rnn.l0.b', ('rnn.l0_reverse.…'), 'head.W', 'head.b'. */
  params(): ParamSet {
    return this.named('params');
  }

  grads(): ParamSet {
    return this.named('grads');
  }

  private named(which: 'params' | 'grads'): ParamSet {
    const all = modelParameters(this.net)[which];
    const out: ParamSet = {};
    if (!this.embedding.frozen) out.E = all['embedding.weight'];
    for (const [k, m] of Object.entries(all)) if (k !== 'embedding.weight') out[k] = m;
    return out;
  }

  /** The workspace for batch size B, grown (to the next multiple of 8 steps) when T is longer. */
  private workspaceFor(T: number, B: number): LstmSentimentWorkspace {
    let ws = this.workspaces.get(B);
    if (!ws || ws.steps < T) {
      ws = new LstmSentimentWorkspace(this.net, Math.ceil(T / 8) * 8, B);
      this.workspaces.set(B, ws);
    }
    return ws;
  }

  /** z = s·W_yᵀ + b_y with s_b the top layer's last valid state ([B, C], a view into the workspace). */
  forward(batch: SentimentBatch, dropout: DropoutMode = DROPOUT_OFF): Matrix {
    const op = 'LstmSentimentModel.forward';
    checkBatch(op, batch);
    const { steps: T, batch: B } = batch;
    const ws = this.workspaceFor(T, B);
    maskLengths(op, ws.lengths, batch.mask, T, B);
    const { outputs } = encoderForward(this.net, ws.encoder, batch.ids, { mask: batch.mask, dropout });
    gatherLastValid(ws.summary, outputs, ws.lengths, B, this.summarySplit());
    ws.lastSteps = T;
    this.last = ws;
    return denseForward(ws.logits, this.net.head.dense, ws.summary);
  }

  /** From dZ [B, C]: head, then dS to the steps s came from, then BPTT and the embedding's touched rows. */
  backward(batch: SentimentBatch, dLogits: Matrix): void {
    const op = 'LstmSentimentModel.backward';
    const ws = this.last;
    if (!ws || ws.lastSteps !== batch.steps || ws.batch !== batch.batch) {
      throw new Error(`${op}: expected the batch of the last forward (T = ${ws?.lastSteps ?? 0}, B = ${ws?.batch ?? 0}), got T = ${batch.steps}, B = ${batch.batch}`);
    }
    const B = ws.batch, T = ws.lastSteps;
    if (dLogits.rows !== B || dLogits.cols !== this.classes.length) {
      throw new Error(`${op}: expected dLogits [${B}, ${this.classes.length}], got ${shapeOf(dLogits)}`);
    }
    denseBackward(this.net.head.dense, ws.summary, dLogits, ws.dSummary);
    const dOutputs = ws.dOutputs.rowView(0, T * B);
    zero(dOutputs);
    scatterLastValid(dOutputs, ws.dSummary, ws.lengths, B, this.summarySplit());
    encoderBackward(this.net, ws.encoder, dOutputs);
  }

  zeroGrad(): void {
    modelZeroGrads(this.net);
  }

  /** Columns [0, split) of s come from step T_b (→), columns [split, W) from step 1 (←). */
  private summarySplit(): number {
    const top = this.net.rnn.layers[this.net.rnn.layers.length - 1].unit;
    return isBidirectional(top) ? top.forward.hiddenSize : this.net.rnn.outputSize;
  }

  toJSON(): SentimentModelJSON {
    const weights: Record<string, MatrixJSON> = {};
    for (const [k, m] of Object.entries(modelParameters(this.net).params)) weights[k === 'embedding.weight' ? 'E' : k] = matrixToJSON(m);
    return {
      kind: 'seqgrad.sentiment', version: 1, model: this.kind, classes: this.classes.slice(),
      vocab: this.vocab.toJSON(), frozen: this.embedding.frozen,
      ...(Object.keys(this.regularization).length > 0 ? { rnn: { ...this.regularization } } : {}), weights,
    };
  }
}

function checkBatch(op: string, batch: SentimentBatch): void {
  const { steps: T, batch: B } = batch;
  if (!(T >= 1 && B >= 1) || batch.ids.length !== T * B || batch.mask.rows !== T || batch.mask.cols !== B || batch.labels.length !== B) {
    throw new Error(`${op}: expected ids [T·B = ${T * B}], mask [${T}, ${B}], labels [${B}], got ${batch.ids.length}, ${shapeOf(batch.mask)}, ${batch.labels.length}`);
  }
}

/**
 * s [B, W] ← s_b[:split] = outputs⟨T_b⟩_b, s_b[split:] = outputs⟨1⟩_b; a zero row when T_b = 0
 * (then every output of b is padding: the sentence's state never left a⟨0⟩ = 0).
 */
export function gatherLastValid(s: Matrix, outputs: Matrix, lengths: Int32Array, batch: number, split: number): Matrix {
  const W = s.cols;
  for (let b = 0; b < batch; b++) {
    const o = s.offset + b * s.stride;
    if (lengths[b] === 0) {
      s.data.fill(0, o, o + W);
      continue;
    }
    const last = outputs.offset + ((lengths[b] - 1) * batch + b) * outputs.stride;
    const first = outputs.offset + b * outputs.stride;
    for (let c = 0; c < split; c++) s.data[o + c] = outputs.data[last + c];
    for (let c = split; c < W; c++) s.data[o + c] = outputs.data[first + c];
  }
  return s;
}

/** Backward of gatherLastValid, accumulating: dOutputs⟨T_b⟩_b[:split] += dS_b[:split], dOutputs⟨1⟩_b[split:] += dS_b[split:]. */
export function scatterLastValid(dOutputs: Matrix, dS: Matrix, lengths: Int32Array, batch: number, split: number): void {
  const W = dS.cols;
  for (let b = 0; b < batch; b++) {
    if (lengths[b] === 0) continue;
    const s = dS.offset + b * dS.stride;
    const last = dOutputs.offset + ((lengths[b] - 1) * batch + b) * dOutputs.stride;
    const first = dOutputs.offset + b * dOutputs.stride;
    for (let c = 0; c < split; c++) dOutputs.data[last + c] += dS.data[s + c];
    for (let c = split; c < W; c++) dOutputs.data[first + c] += dS.data[s + c];
  }
}

/**
 * A new model (b): the sentiment embedding (random, or pretrained vectors frozen / fine-tuned as
 * for model (a)), L LSTM layers of H units (PyTorch init, forget-gate bias 1), a softmax head
 * (Xavier). Sizes from opts: hidden (default 64), layers (default 1), bidirectional (default false).
 */
export function createLstmSentimentModel(
  config: SentimentModelOptions & { vocab: Vocabulary; classes: string[] }, options?: CreateOptions,
): LstmSentimentModel;
/** @deprecated Use `createLstmSentimentModel({ vocab, classes, ...opts }, { rng, dtype })`. */
export function createLstmSentimentModel(vocab: Vocabulary, classes: string[], rng: Rng, opts: SentimentModelOptions): LstmSentimentModel;
export function createLstmSentimentModel(
  first: Vocabulary | (SentimentModelOptions & { vocab: Vocabulary; classes: string[] }), second?: CreateOptions | string[],
  oldRng?: Rng, oldOpts?: SentimentModelOptions,
): LstmSentimentModel {
  const op = 'createLstmSentimentModel';
  const { vocab, classes, ...config } = first instanceof Vocabulary
    ? { ...(oldOpts as SentimentModelOptions), vocab: first, classes: second as string[] } : first;
  const resolved = resolveCreateOptions(op, first instanceof Vocabulary ? { rng: oldRng } : second as CreateOptions | undefined, config.dtype);
  const rng = resolved.rng;
  const opts: SentimentModelOptions = { ...config, dtype: resolved.dtype };
  const hidden = opts.hidden ?? 64, layers = opts.layers ?? 1;
  if (!Number.isInteger(hidden) || hidden < 1) throw new Error(`${op}: expected hidden to be a positive integer, got ${hidden}`);
  if (!Number.isInteger(layers) || layers < 1) throw new Error(`${op}: expected layers to be a positive integer, got ${layers}`);
  const regularization = resolveRnnRegularization(op, opts, 'lstm', layers);
  // At least E [V, d], W_a [H, H] and W_x [H, d] per layer and direction, and the head [C, H]: checked before allocating.
  const d = opts.vectors ? opts.vectors.vectors.cols : opts.dim, directions = opts.bidirectional ? 2 : 1;
  checkModelSize(op, vocab.size * d + directions * layers * hidden * (hidden + d) + classes.length * hidden,
    `an LSTM of hidden ${hidden} × ${layers} layer(s) over ${vocab.size} words of size ${d}`);
  const { embedding } = createSentimentEmbedding({ ...opts, vocab }, { rng });
  const dtype = embedding.weight.dtype;
  const rnn = createStackedRnn({
    kind: 'lstm', inputSize: embedding.weight.cols, hiddenSize: hidden, numLayers: layers,
    bidirectional: opts.bidirectional === true, forgetBias: 1, ...stackRegularizationOf(regularization),
  }, { rng, dtype });
  const head = createOutputHead({
    kind: 'softmax', inputSize: rnn.outputSize, outputSize: classes.length, init: 'xavier',
  }, { rng, dtype });
  return new LstmSentimentModel(vocab, classes, createManyToOne({ rnn, head, embedding }), regularization);
}

/** The structure a model file's weights describe: layers from 'rnn.lN.W_x', H from W_a [4H, H], '_reverse' → bidirectional. */
export function lstmConfigFromWeights(weights: Record<string, MatrixJSON>): LstmSentimentConfig {
  let layers = 0;
  while (weights[`rnn.l${layers}.W_x`]) layers++;
  const Wa = weights['rnn.l0.W_a'];
  if (layers === 0 || !Wa) {
    throw new Error(`sentiment model: expected LSTM weights 'rnn.l0.W_x', 'rnn.l0.W_a', got ${Object.keys(weights).join(', ')}`);
  }
  return { hidden: Wa.cols, layers, bidirectional: weights['rnn.l0_reverse.W_x'] !== undefined };
}

/**
 * A model of this structure over the embedding matrix E [V, d] (wrapped, not copied; frozen or
 * not), its other weights left at zero (NO_INIT) — for weights loaded or shared right after
 * (a model file's, a training thread's view of the main thread's).
 */
export function lstmSentimentOver(
  E: Matrix, vocab: Vocabulary, classes: string[], config: LstmSentimentConfig, regularization: RnnRegularization, frozen: boolean,
): LstmSentimentModel {
  const embedding = wrapEmbedding(E, { frozen, paddingIdx: vocab.has(PAD) ? vocab.id(PAD) : undefined });
  const rng = NO_INIT;
  const rnn = createStackedRnn({
    kind: 'lstm', inputSize: E.cols, hiddenSize: config.hidden, numLayers: config.layers,
    bidirectional: config.bidirectional, ...stackRegularizationOf(regularization),
  }, { rng, dtype: E.dtype });
  const head = createOutputHead({ kind: 'softmax', inputSize: rnn.outputSize, outputSize: classes.length }, { rng, dtype: E.dtype });
  return new LstmSentimentModel(vocab, classes, createManyToOne({ rnn, head, embedding }), regularization);
}

export const lstmModelFactory: SentimentModelFactory = {
  kind: 'lstm',
  create: createLstmSentimentModel,
  fromJSON(json) {
    checkModelJSON(json, 'lstm');
    const vocab = Vocabulary.fromJSON(json.vocab);
    // The sizes come from the weights' shapes: decode them first, so a shape the data cannot fill
    // ("rows": 1e9 with no bytes) fails here instead of sizing the network built below.
    const decoded = Object.fromEntries(Object.entries(json.weights ?? {}).map(([name, w]) => {
      try {
        return [name, matrixFromJSON(w)];
      } catch (err) {
        throw new Error(`sentiment model: weight '${name}': ${(err as Error).message}`);
      }
    }));
    const config = lstmConfigFromWeights(json.weights);
    if (!decoded.E) throw new Error(`sentiment model: expected the embedding weight 'E' in the model file, got ${Object.keys(json.weights).join(', ')}`);
    // Dropout that never acted (saved before it was refused) is dropped: the same model, and the file loads.
    const regularization = resolveRnnRegularization('sentiment model rnn', withoutInertDropout(json.rnn ?? {}, config.layers), 'lstm', config.layers);
    const model = lstmSentimentOver(decoded.E, vocab, json.classes, config, regularization, json.frozen);
    const { params } = modelParameters(model.net);
    for (const [name, target] of Object.entries(params)) {
      if (name === 'embedding.weight') continue;
      const m = decoded[name];
      if (!m) throw new Error(`sentiment model: expected weight '${name}' in the model file, got none`);
      if (m.rows !== target.rows || m.cols !== target.cols) {
        throw new Error(`sentiment model: expected '${name}' to be ${shapeOf(target)}, got ${shapeOf(m)}`);
      }
      copyInto(target, m);
    }
    return model;
  },
};
