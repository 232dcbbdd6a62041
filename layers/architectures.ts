/**
 * The notes' RNN architectures as thin, documented compositions of the pieces in layers/:
 * an input stage (embedding lookup or given vectors), a recurrent stack (layers/stacked.ts: any
 * cells, any depth, uni- or bidirectional layers) and an output head (layers/heads.ts). Every
 * piece keeps its own parameters and gradient buffers; each architecture has a forward that
 * returns the loss and a backward that accumulates (+=) every gradient, including the
 * embedding's (sparse: touched rows only).
 *
 *   many-to-many, T_x = T_y   x⟨1…T⟩ → a⟨1…T⟩ → ŷ⟨1…T⟩           tagging (named entities), per-step LM
 *   many-to-one               x⟨1…T_b⟩ → a⟨T_b⟩ → ŷ               sentiment classification
 *   one-to-many               x (or ∅) → ŷ⟨1⟩, ŷ⟨1⟩ → ŷ⟨2⟩, …        music / text generation
 *   encoder-decoder           encoder: x⟨1…T_x⟩ → final state;  decoder: one-to-many started from it
 *
 * Time-major shapes as everywhere: T steps of B sequences are [T·B, ·] matrices (row t·B + b),
 * token ids are T·B numbers in the same order, masks are [T, B] (right-padded: 1…1 then 0…0).
 * Padded positions may hold any id or target (e.g. −1): they are never looked up or scored.
 *
 * Lifetimes: results are views into the workspace (valid until its next forward); a workspace
 * for T steps also runs shorter sequences of the same batch size.
 */
import { Matrix, copyInto, shapeOf, zero } from '../engine/matrix.js';
import { logSoftmaxRow } from '../engine/softmax.js';
import type { RecurrentCell } from './cells/cell.js';
import type { DenseLayer } from './dense.js';
import { embeddingBackward, embeddingForward, embeddingZeroGrad, type Embedding } from './embedding.js';
import { isBidirectional, maskLengths } from './bidirectional.js';
import {
  createHeadWorkspace, headBackward, headForward, headLogits, headZeroGrads,
  type HeadLossOptions, type HeadTargets, type HeadWorkspace, type OutputHead,
} from './heads.js';
import type { DropoutMode } from './dropout.js';
import { isStackedRnn } from './interchange.js';
import {
  createStackedWorkspace, copyLayerStates, stackedBackward, stackedForward, stackedParameters, stackedZeroGrads,
  type LayerState, type StackedRnn, type StackedWorkspace,
} from './stacked.js';

// =============================================================================================
// The shared input stage + recurrent stack ("encoder")

/**
 * An input stage and a recurrent stack. With an embedding E [V, d] (d = rnn.inputSize), inputs
 * may be token ids (looked up: x⟨t⟩ = E[id⟨t⟩]); inputs given as an [T·B, D] matrix skip it.
 * Alone, it is the encoder of an encoder-decoder: its final state goes out (`finalState`), and
 * the decoder's ∂L/∂h0 comes back as `dFinal`.
 */
export interface SequenceEncoder {
  readonly embedding: Embedding | null;
  readonly rnn: StackedRnn;
}

/** Token ids (T·B, needs an embedding) or input vectors [T·B, D]. */
export type SequenceInput = ArrayLike<number> | Matrix;

export function createEncoder(rnn: StackedRnn, embedding: Embedding | null = null): SequenceEncoder {
  checkEmbedding('createEncoder', rnn, embedding);
  return { embedding, rnn };
}

function checkEmbedding(op: string, rnn: StackedRnn, embedding: Embedding | null): void {
  if (embedding === null) return;
  if (embedding.weight.cols !== rnn.inputSize) {
    throw new Error(`${op}: expected an embedding of dimension d = ${rnn.inputSize} (the stack's input size), got E ${shapeOf(embedding.weight)}`);
  }
  if (embedding.weight.dtype !== rnn.dtype) {
    throw new Error(`${op}: expected the embedding to be ${rnn.dtype} like the stack, got ${embedding.weight.dtype}`);
  }
}

/** Buffers of an encoder for up to T steps of batch B. Fields are internal. */
export class EncoderWorkspace {
  readonly encoder: SequenceEncoder;
  readonly steps: number;
  readonly batch: number;
  readonly stacked: StackedWorkspace;
  /** E[ids]  [T·B, d] (null without an embedding). */
  readonly embedded: Matrix | null;
  /** The looked-up ids (padded positions replaced by a valid row). */
  readonly ids: Int32Array;
  /** Rows of the last forward, and whether it looked ids up. */
  lastRows = 0;
  lastUsedIds = false;

  constructor(encoder: SequenceEncoder, steps: number, batch: number) {
    this.encoder = encoder;
    this.steps = steps;
    this.batch = batch;
    this.stacked = createStackedWorkspace(encoder.rnn, steps, batch);
    this.embedded = encoder.embedding ? Matrix.zeros(steps * batch, encoder.rnn.inputSize, encoder.rnn.dtype) : null;
    this.ids = new Int32Array(steps * batch);
  }
}

export function createEncoderWorkspace(encoder: SequenceEncoder, steps: number, batch: number): EncoderWorkspace {
  return new EncoderWorkspace(encoder, steps, batch);
}

export interface EncoderForwardOptions {
  /** Initial state per layer (undefined: zeros). */
  h0?: readonly (LayerState | undefined)[];
  /** [T, B] mask (right-padded). */
  mask?: Matrix;
  /** The stack's dropout in this call (layers/stacked.ts): off by default (evaluation). */
  dropout?: DropoutMode;
}

export interface EncoderForwardResult {
  /** The top layer's outputs y⟨1…T⟩  [T·B, W], 0 at padded steps. */
  outputs: Matrix;
  /** Final state per layer: a⟨T_b⟩ (and for a bidirectional layer, ← at t = 1). */
  finalState: readonly LayerState[];
}

export interface EncoderBackwardOptions {
  /** ∂L/∂finalState per layer (e.g. a decoder's dh0). */
  dFinal?: readonly (LayerState | undefined)[];
  /** With input vectors: false skips ∂L/∂x. Ignored for ids (the embedding decides). */
  inputGradient?: boolean;
}

export interface EncoderBackwardResult {
  /** ∂L/∂x [T·B, D] (for ids: ∂L/∂E[ids], already scattered into the embedding), or null. */
  dx: Matrix | null;
  dh0: readonly LayerState[];
}

/** Copy ids into ws.ids, replacing padded positions by a row that exists (never read for the loss). */
function takeIds(op: string, ws: EncoderWorkspace, ids: ArrayLike<number>, rows: number, mask: Matrix | undefined, B: number): Int32Array {
  const emb = ws.encoder.embedding as Embedding;
  const filler = emb.paddingIdx >= 0 ? emb.paddingIdx : 0;
  const out = ws.ids.subarray(0, rows);
  for (let r = 0; r < rows; r++) {
    const padded = mask !== undefined && mask.get(Math.floor(r / B), r % B) === 0;
    out[r] = padded ? filler : ids[r];
    if (!padded && (!Number.isInteger(ids[r]) || ids[r] < 0 || ids[r] >= emb.weight.rows)) {
      throw new Error(`${op}: expected token ids in [0, ${emb.weight.rows}), got ${ids[r]} at position ${r}`);
    }
  }
  return out;
}

function inputRows(op: string, input: SequenceInput, ws: EncoderWorkspace): number {
  const rows = input instanceof Matrix ? input.rows : input.length;
  if (rows === 0 || rows % ws.batch !== 0 || rows / ws.batch > ws.steps) {
    throw new Error(`${op}: expected T·B inputs with B = ${ws.batch} and 1 ≤ T ≤ ${ws.steps}, got ${input instanceof Matrix ? shapeOf(input) : `${rows} ids`}`);
  }
  return rows;
}

/** Look up (or take) the inputs and run the stack: x [T·B, D] or ids [T·B] → outputs, final states. */
export function encoderForward(
  encoder: SequenceEncoder, ws: EncoderWorkspace, input: SequenceInput, opts: EncoderForwardOptions = {},
): EncoderForwardResult {
  const op = 'encoderForward';
  if (ws.encoder !== encoder) throw new Error(`${op}: expected a workspace created for this encoder (createEncoderWorkspace), got one of another`);
  const rows = inputRows(op, input, ws);
  let x: Matrix;
  if (input instanceof Matrix) {
    x = input;
    ws.lastUsedIds = false;
  } else {
    if (!encoder.embedding || !ws.embedded) throw new Error(`${op}: expected input vectors [T·B, ${encoder.rnn.inputSize}] for an encoder without embedding, got ${rows} token ids`);
    if (opts.mask && (opts.mask.rows * opts.mask.cols !== rows || opts.mask.cols !== ws.batch)) {
      throw new Error(`${op}: expected mask to be [${rows / ws.batch}, ${ws.batch}], got ${shapeOf(opts.mask)}`);
    }
    const ids = takeIds(op, ws, input, rows, opts.mask, ws.batch);
    x = rows === ws.embedded.rows ? ws.embedded : ws.embedded.rowView(0, rows);
    embeddingForward(x, encoder.embedding, ids);
    ws.lastUsedIds = true;
  }
  ws.lastRows = rows;
  return stackedForward(encoder.rnn, ws.stacked, x, opts);
}

/**
 * BPTT through the stack (dOutputs [T·B, W] or null when the loss sits on final states only),
 * then into the embedding when the last forward looked ids up.
 */
export function encoderBackward(
  encoder: SequenceEncoder, ws: EncoderWorkspace, dOutputs: Matrix | null, opts: EncoderBackwardOptions = {},
): EncoderBackwardResult {
  const op = 'encoderBackward';
  if (ws.encoder !== encoder) throw new Error(`${op}: expected a workspace created for this encoder, got one of another`);
  if (ws.lastRows === 0) throw new Error(`${op}: expected an encoderForward on this workspace first, got none`);
  if (ws.lastUsedIds) {
    const emb = encoder.embedding as Embedding;
    const r = stackedBackward(encoder.rnn, ws.stacked, dOutputs, { dFinal: opts.dFinal, inputGradient: !emb.frozen });
    if (r.dx) embeddingBackward(emb, ws.ids.subarray(0, ws.lastRows), r.dx);
    return r;
  }
  return stackedBackward(encoder.rnn, ws.stacked, dOutputs, { dFinal: opts.dFinal, inputGradient: opts.inputGradient });
}

// =============================================================================================
// Many-to-many, T_x = T_y

/** x⟨t⟩ → a⟨t⟩ → ŷ⟨t⟩ at every step (the head reads the top layer's outputs). */
export interface ManyToManyModel extends SequenceEncoder {
  readonly head: OutputHead;
}

export function createManyToMany(parts: { rnn: StackedRnn; head: OutputHead; embedding?: Embedding | null }): ManyToManyModel {
  const embedding = parts.embedding ?? null;
  checkEmbedding('createManyToMany', parts.rnn, embedding);
  checkHead('createManyToMany', parts.rnn, parts.head);
  return { embedding, rnn: parts.rnn, head: parts.head };
}

function checkHead(op: string, rnn: StackedRnn, head: OutputHead): void {
  if (head.inputSize !== rnn.outputSize) {
    throw new Error(`${op}: expected a head reading ${rnn.outputSize} inputs (the stack's output width), got one reading ${head.inputSize}`);
  }
  if (head.dtype !== rnn.dtype) throw new Error(`${op}: expected the head to be ${rnn.dtype} like the stack, got ${head.dtype}`);
}

export class ManyToManyWorkspace {
  readonly encoder: EncoderWorkspace;
  readonly head: HeadWorkspace;
  constructor(model: ManyToManyModel, steps: number, batch: number) {
    this.encoder = createEncoderWorkspace(model, steps, batch);
    this.head = createHeadWorkspace(model.head, steps * batch);
  }
}

export function createManyToManyWorkspace(model: ManyToManyModel, steps: number, batch: number): ManyToManyWorkspace {
  return new ManyToManyWorkspace(model, steps, batch);
}

export interface SequenceLossOptions extends EncoderForwardOptions {
  /** 'sum' (default): L = Σ_t L⟨t⟩ over valid steps; 'mean': divided by the number of valid steps. */
  reduction?: HeadLossOptions['reduction'];
}

export interface SequenceLossResult extends EncoderForwardResult {
  /** The loss, summed over time (and batch) on valid steps. */
  loss: number;
  /** The head's logits Z [T·B, K] (many-to-one: [B, K]), e.g. for accuracy. */
  logits: Matrix;
}

/** The first `rows` rows of the head's logits (what the last headForward wrote). */
function lastLogits(ws: HeadWorkspace, rows: number): Matrix {
  return rows === ws.logits.rows ? ws.logits : ws.logits.rowView(0, rows);
}

/**
 * L = Σ_t Σ_b m⟨t⟩_b L(ŷ⟨t⟩_b, y⟨t⟩_b): targets are T·B class ids (softmax head) or a
 * [T·B, K] label matrix (sigmoid head); the mask weights both the recurrence and the loss.
 */
export function manyToManyForward(
  model: ManyToManyModel, ws: ManyToManyWorkspace, input: SequenceInput, targets: HeadTargets, opts: SequenceLossOptions = {},
): SequenceLossResult {
  const r = encoderForward(model, ws.encoder, input, opts);
  const loss = headForward(model.head, ws.head, r.outputs, targets, { mask: opts.mask, reduction: opts.reduction });
  return { loss, logits: lastLogits(ws.head, r.outputs.rows), outputs: r.outputs, finalState: r.finalState };
}

/** Gradients of the last manyToManyForward: head, stack, embedding (or ∂L/∂x for vector inputs). */
export function manyToManyBackward(
  model: ManyToManyModel, ws: ManyToManyWorkspace, opts: EncoderBackwardOptions = {},
): EncoderBackwardResult {
  const dOutputs = headBackward(model.head, ws.head);
  return encoderBackward(model, ws.encoder, dOutputs, opts);
}

/** Per-step logits Z [T·B, K] without a loss (prediction). */
export function manyToManyLogits(
  model: ManyToManyModel, ws: ManyToManyWorkspace, input: SequenceInput, opts: EncoderForwardOptions = {},
): EncoderForwardResult & { logits: Matrix } {
  const r = encoderForward(model, ws.encoder, input, opts);
  return { ...r, logits: headLogits(model.head, ws.head, r.outputs) };
}

// =============================================================================================
// Many-to-one

/**
 * x⟨1…T_b⟩ → the top layer's output at each sequence's last valid step → head → one label per
 * sequence. For a bidirectional top layer the summary is [a→⟨T_b⟩, a←⟨1⟩] (the forward
 * direction's final state and the backward direction's state at t = 1, i.e. each direction's
 * final state); for a residual top layer it is the layer's output (state + skip) at those steps.
 */
export interface ManyToOneModel extends SequenceEncoder {
  readonly head: OutputHead;
}

export function createManyToOne(parts: { rnn: StackedRnn; head: OutputHead; embedding?: Embedding | null }): ManyToOneModel {
  const embedding = parts.embedding ?? null;
  checkEmbedding('createManyToOne', parts.rnn, embedding);
  checkHead('createManyToOne', parts.rnn, parts.head);
  return { embedding, rnn: parts.rnn, head: parts.head };
}

export class ManyToOneWorkspace {
  readonly encoder: EncoderWorkspace;
  readonly head: HeadWorkspace;
  /** The per-sequence summary [B, W] and the scattered gradient ∂L/∂outputs [T·B, W]. */
  readonly summary: Matrix;
  readonly dOutputs: Matrix;
  readonly lengths: Int32Array;
  lastSteps = 0;
  constructor(model: ManyToOneModel, steps: number, batch: number) {
    this.encoder = createEncoderWorkspace(model, steps, batch);
    this.head = createHeadWorkspace(model.head, batch);
    this.summary = Matrix.zeros(batch, model.rnn.outputSize, model.rnn.dtype);
    this.dOutputs = Matrix.zeros(steps * batch, model.rnn.outputSize, model.rnn.dtype);
    this.lengths = new Int32Array(batch);
  }
}

export function createManyToOneWorkspace(model: ManyToOneModel, steps: number, batch: number): ManyToOneWorkspace {
  return new ManyToOneWorkspace(model, steps, batch);
}

/** Columns [0, split) come from step T_b − 1 (→), columns [split, W) from step 0 (←). */
function summarySplit(rnn: StackedRnn): number {
  const top = rnn.layers[rnn.layers.length - 1].unit;
  return isBidirectional(top) ? top.forward.hiddenSize : rnn.outputSize;
}

/**
 * out [B, W] ← the last valid outputs: out[b, :split] = outputs⟨T_b⟩_b, out[b, split:] = outputs⟨1⟩_b.
 * With split = W (a unidirectional top layer) it is simply each sequence's output at its last step.
 */
export function lastValidOutputs(out: Matrix, outputs: Matrix, lengths: Int32Array, batch: number, split: number): Matrix {
  const W = out.cols;
  for (let b = 0; b < batch; b++) {
    const o = out.offset + b * out.stride;
    const last = outputs.offset + ((lengths[b] - 1) * batch + b) * outputs.stride;
    const first = outputs.offset + b * outputs.stride;
    for (let c = 0; c < split; c++) out.data[o + c] = outputs.data[last + c];
    for (let c = split; c < W; c++) out.data[o + c] = outputs.data[first + c];
  }
  return out;
}

function sequenceLengths(op: string, ws: ManyToOneWorkspace, mask: Matrix | undefined, T: number, B: number): void {
  maskLengths(op, ws.lengths, mask, T, B);
  for (let b = 0; b < B; b++) {
    if (ws.lengths[b] === 0) throw new Error(`${op}: expected every sequence to have at least one valid step, sequence ${b} has none`);
  }
}

/** L = Σ_b L(ŷ_b, y_b): targets are B class ids (softmax head) or a [B, K] label matrix (sigmoid). */
export function manyToOneForward(
  model: ManyToOneModel, ws: ManyToOneWorkspace, input: SequenceInput, targets: HeadTargets,
  opts: EncoderForwardOptions & { reduction?: HeadLossOptions['reduction'] } = {},
): SequenceLossResult & { summary: Matrix } {
  const op = 'manyToOneForward';
  const r = encoderForward(model, ws.encoder, input, opts);
  const B = ws.encoder.batch;
  const T = r.outputs.rows / B;
  sequenceLengths(op, ws, opts.mask, T, B);
  lastValidOutputs(ws.summary, r.outputs, ws.lengths, B, summarySplit(model.rnn));
  ws.lastSteps = T;
  const loss = headForward(model.head, ws.head, ws.summary, targets, { reduction: opts.reduction });
  return { loss, logits: lastLogits(ws.head, B), outputs: r.outputs, finalState: r.finalState, summary: ws.summary };
}

/** Gradients of the last manyToOneForward: ∂L/∂summary is scattered back to the steps it came from. */
export function manyToOneBackward(
  model: ManyToOneModel, ws: ManyToOneWorkspace, opts: EncoderBackwardOptions = {},
): EncoderBackwardResult {
  const dSummary = headBackward(model.head, ws.head);
  const B = ws.encoder.batch;
  const rows = ws.lastSteps * B;
  const dOutputs = rows === ws.dOutputs.rows ? ws.dOutputs : ws.dOutputs.rowView(0, rows);
  zero(dOutputs);
  const split = summarySplit(model.rnn);
  const W = dOutputs.cols;
  for (let b = 0; b < B; b++) {
    const s = dSummary.offset + b * dSummary.stride;
    const last = dOutputs.offset + ((ws.lengths[b] - 1) * B + b) * dOutputs.stride;
    const first = dOutputs.offset + b * dOutputs.stride;
    for (let c = 0; c < split; c++) dOutputs.data[last + c] += dSummary.data[s + c];
    for (let c = split; c < W; c++) dOutputs.data[first + c] += dSummary.data[s + c];
  }
  return encoderBackward(model, ws.encoder, dOutputs, opts);
}

/** Per-sequence logits [B, K] without a loss (prediction). */
export function manyToOneLogits(
  model: ManyToOneModel, ws: ManyToOneWorkspace, input: SequenceInput, opts: EncoderForwardOptions = {},
): Matrix {
  const op = 'manyToOneLogits';
  const r = encoderForward(model, ws.encoder, input, opts);
  const B = ws.encoder.batch;
  sequenceLengths(op, ws, opts.mask, r.outputs.rows / B, B);
  lastValidOutputs(ws.summary, r.outputs, ws.lengths, B, summarySplit(model.rnn));
  return headLogits(model.head, ws.head, ws.summary);
}

// =============================================================================================
// One-to-many (and the decoder of an encoder-decoder)

/**
 * A single input x (or x = ∅) → ŷ⟨1⟩, then the previous output fed back as the next input:
 *   input⟨1⟩ = x  ([B, d] vectors, a start token's embedding, or zeros for ∅)
 *   input⟨t⟩ = E[y⟨t−1⟩]   t ≥ 2
 * where y⟨t−1⟩ is the ground truth during training (teacher forcing, `oneToManyForward`) and the
 * model's own choice at generation (`oneToManyGenerate`, with a caller-supplied `pick`).
 * The stack must be unidirectional (generation cannot look ahead); the head is a softmax over
 * the embedding's vocabulary. Started from h0 = an encoder's final state it is the decoder of an
 * encoder-decoder; its backward returns ∂L/∂h0 to hand to `encoderBackward` as dFinal.
 */
export interface OneToManyModel extends SequenceEncoder {
  readonly embedding: Embedding;
  readonly head: OutputHead;
}

export function createOneToMany(parts: { rnn: StackedRnn; head: OutputHead; embedding: Embedding }): OneToManyModel {
  const op = 'createOneToMany';
  checkEmbedding(op, parts.rnn, parts.embedding);
  checkHead(op, parts.rnn, parts.head);
  if (parts.rnn.layers.some((layer) => isBidirectional(layer.unit))) {
    throw new Error(`${op}: expected a unidirectional stack (outputs are fed back step by step), got a bidirectional layer`);
  }
  if (parts.head.kind !== 'softmax' || parts.head.outputSize !== parts.embedding.weight.rows) {
    throw new Error(`${op}: expected a softmax head over the embedding's ${parts.embedding.weight.rows} tokens, got a ${parts.head.kind} head of ${parts.head.outputSize}`);
  }
  return { embedding: parts.embedding, rnn: parts.rnn, head: parts.head };
}

/**
 * The first input: [B, d] vectors, a token id (its embedding, every row), one token id per row
 * (an Int32Array or number[] of length B), or null/undefined for x = ∅ (zeros).
 */
export type FirstInput = Matrix | number | Int32Array | readonly number[] | null | undefined;

export class OneToManyWorkspace {
  readonly encoder: EncoderWorkspace;
  readonly head: HeadWorkspace;
  /** The inputs [first; E[y⟨1…T−1⟩]]  [T·B, d]. */
  readonly inputs: Matrix;
  /** ids fed at steps 2…T (and the start token at step 1 when given as an id). */
  readonly fedIds: Int32Array;
  readonly startIds: Int32Array;
  lastRows = 0;
  lastFirst: 'vectors' | 'token' | 'none' = 'none';
  constructor(model: OneToManyModel, steps: number, batch: number) {
    this.encoder = createEncoderWorkspace(model, steps, batch);
    this.head = createHeadWorkspace(model.head, steps * batch);
    this.inputs = Matrix.zeros(steps * batch, model.rnn.inputSize, model.rnn.dtype);
    this.fedIds = new Int32Array(steps * batch);
    this.startIds = new Int32Array(batch);
  }
}

export function createOneToManyWorkspace(model: OneToManyModel, steps: number, batch: number): OneToManyWorkspace {
  return new OneToManyWorkspace(model, steps, batch);
}

/** Write input⟨1⟩ into rows [0, B) of `inputs`; returns what kind it was. */
function writeFirstInput(op: string, model: OneToManyModel, inputs: Matrix, first: FirstInput, B: number, startIds: Int32Array): 'vectors' | 'token' | 'none' {
  const rows = inputs.rowView(0, B);
  if (first instanceof Matrix) {
    if (first.rows !== B || first.cols !== inputs.cols) {
      throw new Error(`${op}: expected the first input to be [${B}, ${inputs.cols}] (B × d), got ${shapeOf(first)}`);
    }
    copyInto(rows, first);
    return 'vectors';
  }
  if (typeof first === 'number') {
    startIds.fill(first, 0, B);
    embeddingForward(rows, model.embedding, startIds.subarray(0, B));
    return 'token';
  }
  if (first instanceof Int32Array || Array.isArray(first)) {
    if (first.length !== B) throw new Error(`${op}: expected ${B} first token ids (one per row), got ${first.length}`);
    startIds.set(first);
    embeddingForward(rows, model.embedding, startIds.subarray(0, B));
    return 'token';
  }
  if (first !== null && first !== undefined) {
    throw new Error(`${op}: expected the first input as a Matrix, a token id, an Int32Array or number[] of ids, or null; got ${describeFirst(first)}`);
  }
  zero(rows);
  return 'none';
}

/** The batch a first input implies: its rows, its number of ids, else 1. */
function firstBatch(first: FirstInput): number {
  if (first instanceof Matrix) return first.rows;
  return first instanceof Int32Array || Array.isArray(first) ? first.length : 1;
}

function describeFirst(first: unknown): string {
  return ArrayBuffer.isView(first) ? first.constructor.name : typeof first;
}

export interface OneToManyForwardOptions extends SequenceLossOptions {
  /** input⟨1⟩ (default ∅: zeros). */
  first?: FirstInput;
}

/**
 * Teacher forcing: targets y⟨1…T⟩ are T·B token ids; the input at step t ≥ 2 is E[y⟨t−1⟩].
 * L = Σ_t Σ_b m⟨t⟩_b · (−log ŷ⟨t⟩_b[y⟨t⟩_b]).
 */
export function oneToManyForward(
  model: OneToManyModel, ws: OneToManyWorkspace, targets: ArrayLike<number>, opts: OneToManyForwardOptions = {},
): SequenceLossResult {
  const op = 'oneToManyForward';
  const B = ws.encoder.batch;
  const rows = targets.length;
  if (rows === 0 || rows % B !== 0 || rows / B > ws.encoder.steps) {
    throw new Error(`${op}: expected T·B target ids with B = ${B} and 1 ≤ T ≤ ${ws.encoder.steps}, got ${rows}`);
  }
  if (opts.mask && (opts.mask.rows !== rows / B || opts.mask.cols !== B)) {
    throw new Error(`${op}: expected mask to be [${rows / B}, ${B}], got ${shapeOf(opts.mask)}`);
  }
  const inputs = rows === ws.inputs.rows ? ws.inputs : ws.inputs.rowView(0, rows);
  ws.lastFirst = writeFirstInput(op, model, inputs, opts.first, B, ws.startIds);
  const emb = model.embedding;
  const filler = emb.paddingIdx >= 0 ? emb.paddingIdx : 0;
  const fed = ws.fedIds.subarray(0, rows - B);
  for (let r = 0; r < rows - B; r++) {
    // Step t + 1 is fed y⟨t⟩; when step t + 1 is padding, the fed id is never used.
    const padded = opts.mask !== undefined && opts.mask.get(Math.floor(r / B) + 1, r % B) === 0;
    fed[r] = padded ? filler : targets[r];
  }
  if (rows > B) embeddingForward(inputs.rowView(B, rows - B), emb, fed);
  ws.lastRows = rows;
  const r = encoderForward(model, ws.encoder, inputs, opts);
  const loss = headForward(model.head, ws.head, r.outputs, targets, { mask: opts.mask, reduction: opts.reduction });
  return { loss, logits: lastLogits(ws.head, r.outputs.rows), outputs: r.outputs, finalState: r.finalState };
}

export interface OneToManyBackwardResult {
  /** ∂L/∂(first input) [B, d] when it was given as vectors, else null (a start token's gradient goes to E). */
  dFirst: Matrix | null;
  /** ∂L/∂h0 per layer: hand it to encoderBackward as dFinal in an encoder-decoder. */
  dh0: readonly LayerState[];
}

/** Gradients of the last oneToManyForward: head, stack, embedding (fed tokens), first input, h0. */
export function oneToManyBackward(
  model: OneToManyModel, ws: OneToManyWorkspace, opts: { dFinal?: readonly (LayerState | undefined)[] } = {},
): OneToManyBackwardResult {
  const op = 'oneToManyBackward';
  if (ws.lastRows === 0) throw new Error(`${op}: expected a oneToManyForward on this workspace first, got none`);
  const B = ws.encoder.batch;
  const rows = ws.lastRows;
  const dOutputs = headBackward(model.head, ws.head);
  const { dx, dh0 } = encoderBackward(model, ws.encoder, dOutputs, { dFinal: opts.dFinal, inputGradient: true });
  const dInputs = dx as Matrix;
  if (rows > B) embeddingBackward(model.embedding, ws.fedIds.subarray(0, rows - B), dInputs.rowView(B, rows - B));
  if (ws.lastFirst === 'token') embeddingBackward(model.embedding, ws.startIds.subarray(0, B), dInputs.rowView(0, B));
  return { dFirst: ws.lastFirst === 'vectors' ? dInputs.rowView(0, B) : null, dh0 };
}

export interface GenerateOptions {
  /** Sequences generated at once (default 1, or first.rows, or the number of first ids). */
  batch?: number;
  /** input⟨1⟩ (default ∅: zeros); a token id is e.g. `<BOS>`/`<EOS>` for a language model or decoder. */
  first?: FirstInput;
  /** Initial state per layer, e.g. an encoder's final state (batch rows). */
  h0?: readonly (LayerState | undefined)[];
  /** At most this many tokens per sequence (≥ 1). */
  maxSteps: number;
  /**
   * Choose y⟨t⟩ from the logits of one sequence ([K] scores; a scratch buffer, valid during the
   * call): greedy = argmax, sampling = a draw from softmax(logits / τ) with the caller's Rng.
   * `row` is the sequence, `step` the time step (0-based).
   */
  pick: (logits: Float64Array, row: number, step: number) => number;
  /** A sequence ends after emitting this token (it is included); all stop → generation stops. */
  stopToken?: number;
}

/**
 * Generation step by step: y⟨t⟩ = pick(logits⟨t⟩), fed back as input⟨t+1⟩ = E[y⟨t⟩]. Returns the
 * tokens of every sequence (each ends with stopToken unless maxSteps came first). Allocates a
 * one-step workspace per call and nothing per step.
 */
export function oneToManyGenerate(model: OneToManyModel, opts: GenerateOptions): number[][] {
  const op = 'oneToManyGenerate';
  if (!Number.isInteger(opts.maxSteps) || opts.maxSteps < 1) throw new Error(`${op}: expected maxSteps to be an integer ≥ 1, got ${opts.maxSteps}`);
  if (typeof opts.pick !== 'function') throw new Error(`${op}: expected a pick(logits, row, step) function, got ${typeof opts.pick}`);
  const B = opts.batch ?? firstBatch(opts.first);
  if (!Number.isInteger(B) || B < 1) throw new Error(`${op}: expected batch to be a positive integer, got ${B}`);
  const V = model.head.outputSize;
  const enc = createEncoderWorkspace(model, 1, B);
  const headWs = createHeadWorkspace(model.head, B);
  const input = Matrix.zeros(B, model.rnn.inputSize, model.rnn.dtype);
  const tokens = new Int32Array(B);
  const scratch = new Float64Array(V);
  const done = new Uint8Array(B);
  const out: number[][] = Array.from({ length: B }, () => []);
  writeFirstInput(op, model, input, opts.first, B, tokens);
  let state: readonly (LayerState | undefined)[] | undefined = opts.h0;
  let running = B;
  for (let step = 0; step < opts.maxSteps && running > 0; step++) {
    const r = encoderForward(model, enc, input, { h0: state });
    state = r.finalState; // views into enc: the next forward copies them into its initial state first
    const logits = headLogits(model.head, headWs, r.outputs);
    for (let b = 0; b < B; b++) {
      for (let k = 0; k < V; k++) scratch[k] = logits.get(b, k);
      if (done[b]) { tokens[b] = 0; continue; }
      const y = opts.pick(scratch, b, step);
      if (!Number.isInteger(y) || y < 0 || y >= V) throw new Error(`${op}: expected pick to return a token id in [0, ${V}), got ${y}`);
      tokens[b] = y;
      out[b].push(y);
      if (opts.stopToken !== undefined && y === opts.stopToken) { done[b] = 1; running--; }
    }
    embeddingForward(input, model.embedding, tokens);
  }
  return out;
}

/**
 * The step contract of training/sampling.ts and training/beam.ts for one sequence (B = 1):
 * step(state, token) feeds `token` (a negative token feeds input⟨1⟩ = `first`, default ∅) from
 * `state` (null: h0 = zeros) and returns the log-probabilities of the next token and the new
 * state. States are fresh copies (a beam keeps several), so this allocates per step.
 */
export function oneToManyStepFunction(
  model: OneToManyModel, opts: { first?: Matrix | null } = {},
): (state: readonly LayerState[] | null, token: number) => { logProbs: Float64Array; state: LayerState[] } {
  const enc = createEncoderWorkspace(model, 1, 1);
  const headWs = createHeadWorkspace(model.head, 1);
  const input = Matrix.zeros(1, model.rnn.inputSize, model.rnn.dtype);
  const id = new Int32Array(1);
  const V = model.head.outputSize;
  return (state, token) => {
    if (token < 0) writeFirstInput('oneToManyStep', model, input, opts.first ?? null, 1, id);
    else {
      id[0] = token;
      embeddingForward(input, model.embedding, id);
    }
    const r = encoderForward(model, enc, input, { h0: state ?? undefined });
    const logits = headLogits(model.head, headWs, r.outputs); // [1, V]
    const logProbs = new Float64Array(V);
    logSoftmaxRow(logProbs, 0, logits.data, logits.offset, V);
    return { logProbs, state: copyLayerStates(r.finalState) };
  };
}

/**
 * The bridge from a bidirectional encoder to a unidirectional decoder of hidden size H→ + H←:
 * each state tensor of a bidirectional layer becomes [s→, s←]  [B, H→ + H←] (both directions
 * must have the same number of state tensors); unidirectional layers pass through unchanged.
 * Allocates the merged matrices (once per batch, not per step).
 */
export function concatDirections(states: readonly LayerState[]): LayerState[] {
  return states.map((s, l) => {
    if (!s.backward) return { forward: s.forward };
    const back = s.backward;
    if (back.length !== s.forward.length) {
      throw new Error(`concatDirections: expected both directions of layer ${l} to have the same number of state tensors, got ${s.forward.length} and ${back.length}`);
    }
    return {
      forward: s.forward.map((f, k) => {
        const merged = Matrix.zeros(f.rows, f.cols + back[k].cols, f.dtype);
        copyInto(merged.colView(0, f.cols), f);
        copyInto(merged.colView(f.cols, back[k].cols), back[k]);
        return merged;
      }),
    };
  });
}

/**
 * Backward of concatDirections: ∂L/∂[s→, s←] (e.g. a decoder's dh0) split into the two
 * directions (column views, no copy), shaped like `like` (the encoder's final states) — pass
 * the result to encoderBackward as dFinal.
 */
export function splitDirections(dMerged: readonly LayerState[], like: readonly LayerState[]): LayerState[] {
  if (dMerged.length !== like.length) {
    throw new Error(`splitDirections: expected one gradient per layer (${like.length}), got ${dMerged.length}`);
  }
  return like.map((s, l) => {
    if (!s.backward) return { forward: dMerged[l].forward };
    const back = s.backward;
    return {
      forward: s.forward.map((f, k) => dMerged[l].forward[k].colView(0, f.cols)),
      backward: back.map((b, k) => dMerged[l].forward[k].colView(s.forward[k].cols, b.cols)),
    };
  });
}

// =============================================================================================
// Parameters of any of the above

/** Parameters and gradients by name (the same names in both records). */
export interface NamedParameters {
  params: Record<string, Matrix>;
  grads: Record<string, Matrix>;
}

/** The parts every model of seqgrad is built from, as `namedParameters` names them. */
export interface NamedParts {
  /** The input embedding E [V, d]. */
  embedding?: Embedding | null;
  /** The recurrent stack; a lone cell is named as layer 0 of a stack. */
  rnn?: StackedRnn | RecurrentCell;
  /** The output layer (a softmax or sigmoid head's dense layer): W [K, W_L], b [1, K]. */
  head?: DenseLayer;
}

/**
 * The one parameter-naming scheme of seqgrad — the names of optimizer state, gradient checks,
 * model files and checkpoints of the language model, these architectures and seq2seq:
 *
 *   embedding.weight            E [V, d]
 *   rnn.l{k}.{p}                layer k of the recurrent stack (k = 0 at the bottom): the cell's
 *                               parameters p = W_x, W_a, b (and b_a, p_u, … of its kind; layouts in
 *                               layers/interchange.ts)
 *   rnn.l{k}_reverse.{p}        the right-to-left cell of a bidirectional layer k
 *   head.W, head.b              the output layer
 *
 * `l{k}` and `_reverse` are PyTorch's: rnn.l{k}.W_x is rnn.weight_ih_l{k} of a PyTorch model with
 * `self.rnn = nn.LSTM(…)` (loadRnnStateDict / rnnStateDict of layers/interchange.ts with prefix
 * 'rnn.'), and `embedding.weight` is nn.Embedding's. A model with two of these parts names each under a
 * `prefix`: seq2seq has encoder.embedding.weight, encoder.rnn.l0_reverse.W_x, …,
 * decoder.embedding.weight, decoder.rnn.l0.W_x, decoder.head.W, and its own bridge.* and attention.*.
 * Order: embedding, stack bottom-up (forward before reverse), head. The embedding's gradient is
 * dense storage, non-zero on touched rows only.
 */
export function namedParameters(parts: NamedParts, prefix = ''): NamedParameters {
  const params: Record<string, Matrix> = {};
  const grads: Record<string, Matrix> = {};
  const add = (name: string, p: Matrix, g: Matrix): void => {
    params[prefix + name] = p;
    grads[prefix + name] = g;
  };
  if (parts.embedding) add('embedding.weight', parts.embedding.weight, parts.embedding.grad);
  if (parts.rnn && isStackedRnn(parts.rnn)) {
    const stack = stackedParameters(parts.rnn, 'rnn.');
    for (const name of Object.keys(stack.params)) add(name, stack.params[name], stack.grads[name]);
  } else if (parts.rnn) {
    for (const name of Object.keys(parts.rnn.params)) add(`rnn.l0.${name}`, parts.rnn.params[name], parts.rnn.grads[name]);
  }
  if (parts.head) {
    add('head.W', parts.head.params.W, parts.head.grads.W);
    if (parts.head.params.b && parts.head.grads.b) add('head.b', parts.head.params.b, parts.head.grads.b);
  }
  return { params, grads };
}

/**
 * Every weight of any model above, by `namedParameters`' scheme (under `prefix`, default none):
 * what a model file saves, a frozen embedding included. Give an optimizer `trainableParameters`.
 */
export function modelParameters(model: SequenceEncoder & { head?: OutputHead }, prefix = ''): NamedParameters {
  return namedParameters({ embedding: model.embedding, rnn: model.rnn, head: model.head?.dense }, prefix);
}

/**
 * The parameters an optimizer may move: `modelParameters` without a frozen embedding. Frozen means
 * untouched by every optimizer — its gradient is never written, and leaving it out of the list is
 * what also keeps weight decay (λθ, or AdamW's shrink) off it.
 */
export function trainableParameters(model: SequenceEncoder & { head?: OutputHead }, prefix = ''): NamedParameters {
  const named = modelParameters(model, prefix);
  if (model.embedding?.frozen) {
    delete named.params[`${prefix}embedding.weight`];
    delete named.grads[`${prefix}embedding.weight`];
  }
  return named;
}

/** Zero every gradient of the model (the embedding's touched rows, the stack, the head). */
export function modelZeroGrads(model: SequenceEncoder & { head?: OutputHead }): void {
  if (model.embedding) embeddingZeroGrad(model.embedding);
  stackedZeroGrads(model.rnn);
  if (model.head) headZeroGrads(model.head);
}
