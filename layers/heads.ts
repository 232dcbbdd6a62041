/**
 * Output heads on top of per-step (or per-sequence) RNN outputs, with their losses — the notes'
 *
 *   softmax head:  ŷ⟨t⟩ = softmax(W_y a⟨t⟩ + b_y),   L = Σ_t L⟨t⟩,  L⟨t⟩ = −Σ_b m⟨t⟩_b log ŷ⟨t⟩_b[y⟨t⟩_b]
 *   sigmoid head:  ŷ⟨t⟩ = σ(W_y a⟨t⟩ + b_y),        L = Σ_t Σ_b Σ_k m · BCE(ŷ⟨t⟩_bk, y⟨t⟩_bk)
 * (the sigmoid head is the notes' named-entity example: one binary label per word, or K labels).
 *
 * Shapes: inputs A [N, H] (N = T·B time-major rows, or B rows for one label per sequence),
 * W_y [K, H], b_y [1, K], logits Z [N, K]; softmax targets are N class ids in [0, K), sigmoid
 * targets an [N, K] matrix in [0, 1]; the mask is [T, B] (T·B = N; per row), or [N, K] per entry
 * for the sigmoid head. Padded rows may hold any target (e.g. −1): they are never read.
 *
 * The loss works on logits (log-sum-exp / the stable BCE of engine/cross-entropy.ts). Forward
 * returns the loss and, in the same pass over the logits, writes ∂L/∂Z into the workspace;
 * backward then runs the dense layer's backward:
 *   dW_y += dZᵀ·A,  db_y += Σ_rows dZ,  dA = dZ·W_y  [N, H] (returned; written, not added).
 */
import {
  binaryCrossEntropyWithLogits, binaryCrossEntropyWithLogitsBackward, crossEntropyForwardBackward, type LossReduction,
} from '../engine/cross-entropy.js';
import { Matrix, shapeOf, type DType } from '../engine/matrix.js';
import { isRng, type CreateOptions } from '../engine/create.js';
import type { Rng } from '../engine/rng.js';
import { createDense, denseBackward, denseForward, denseZeroGrad, type DenseLayer, type DenseOptions } from './dense.js';

export type HeadKind = 'softmax' | 'sigmoid';

export interface OutputHead {
  readonly kind: HeadKind;
  /** Z = A·W_yᵀ + b_y: params.W [K, H], params.b [1, K]. */
  readonly dense: DenseLayer;
  /** H */
  readonly inputSize: number;
  /** K: classes (softmax) or binary labels (sigmoid). */
  readonly outputSize: number;
  readonly dtype: DType;
}

/** Softmax targets: one class id per row. Sigmoid targets: an [N, K] matrix of labels in [0, 1]. */
export type HeadTargets = ArrayLike<number> | Matrix;

/** The structure of a head: its kind, H → K, and the dense layer's options (init, bias). */
export interface OutputHeadConfig extends DenseOptions {
  kind: HeadKind;
  inputSize: number;
  outputSize: number;
}

/** A softmax or sigmoid head H → K, its dense layer initialised from `options.rng` (default seed). */
export function createOutputHead(config: OutputHeadConfig, options?: CreateOptions): OutputHead;
/** @deprecated Use `createOutputHead({ kind, inputSize, outputSize, ...opts }, { rng, dtype })`. */
export function createOutputHead(kind: HeadKind, inputSize: number, outputSize: number, rng: Rng, opts?: DenseOptions): OutputHead;
export function createOutputHead(
  first: OutputHeadConfig | HeadKind, second?: CreateOptions | number, oldOutputSize?: number, oldRng?: Rng, oldOpts: DenseOptions = {},
): OutputHead {
  const config: OutputHeadConfig = typeof first === 'string'
    ? { ...oldOpts, kind: first, inputSize: second as number, outputSize: oldOutputSize as number } : first;
  const options = typeof first === 'string' ? { rng: oldRng } : isRng(second) ? { rng: second } : second as CreateOptions | undefined;
  const { kind, inputSize, outputSize, ...denseOptions } = config;
  if (kind !== 'softmax' && kind !== 'sigmoid') {
    throw new Error(`createOutputHead: expected kind 'softmax' or 'sigmoid', got '${String(kind)}'`);
  }
  const dense = createDense({ ...denseOptions, inputSize, outputSize }, options);
  return { kind, dense, inputSize, outputSize, dtype: dense.dtype };
}

/** Buffers of a head for up to `rows` input rows: logits, their gradient and dA. Fields are internal. */
export class HeadWorkspace {
  readonly head: OutputHead;
  readonly rows: number;
  readonly logits: Matrix;
  readonly dLogits: Matrix;
  readonly dInputs: Matrix;
  lastInputs: Matrix | null = null;

  constructor(head: OutputHead, rows: number) {
    if (!Number.isInteger(rows) || rows < 1) throw new Error(`createHeadWorkspace: expected a positive integer row count, got ${rows}`);
    this.head = head;
    this.rows = rows;
    this.logits = Matrix.zeros(rows, head.outputSize, head.dtype);
    this.dLogits = Matrix.zeros(rows, head.outputSize, head.dtype);
    this.dInputs = Matrix.zeros(rows, head.inputSize, head.dtype);
  }
}

/** Allocate a head's buffers for up to `rows` rows (T·B for per-step heads, B for one label per sequence). */
export function createHeadWorkspace(head: OutputHead, rows: number): HeadWorkspace {
  return new HeadWorkspace(head, rows);
}

export interface HeadLossOptions {
  /** [T, B] row weights (T·B = N; 1 counts, 0 padding), or [N, K] entry weights for the sigmoid head. */
  mask?: Matrix | null;
  /** 'sum' (default, the notes' Σ_t L⟨t⟩) or 'mean' over counted rows (entries for sigmoid). */
  reduction?: LossReduction;
}

function rowsView(m: Matrix, rows: number): Matrix {
  return rows === m.rows ? m : m.rowView(0, rows);
}

function checkInputs(op: string, head: OutputHead, ws: HeadWorkspace, inputs: Matrix): void {
  if (ws.head !== head) throw new Error(`${op}: expected a workspace created for this head (createHeadWorkspace(head, rows)), got one of another head`);
  if (inputs.cols !== head.inputSize || inputs.rows < 1 || inputs.rows > ws.rows) {
    throw new Error(`${op}: expected inputs [N, ${head.inputSize}] with 1 ≤ N ≤ ${ws.rows}, got ${shapeOf(inputs)}`);
  }
  if (inputs.dtype !== head.dtype) throw new Error(`${op}: expected inputs to be ${head.dtype} like the head, got ${inputs.dtype}`);
}

/** Z = A·W_yᵀ + b_y  [N, K] (a view into ws): for prediction and generation, no loss. */
export function headLogits(head: OutputHead, ws: HeadWorkspace, inputs: Matrix): Matrix {
  checkInputs('headLogits', head, ws, inputs);
  const logits = rowsView(ws.logits, inputs.rows);
  denseForward(logits, head.dense, inputs);
  return logits;
}

/**
 * The loss of the head on inputs A [N, H] against `targets` (class ids for softmax, an [N, K]
 * label matrix for sigmoid), summed over time with the mask. Also keeps ∂L/∂Z for headBackward.
 * A is read again by backward: do not change it in between.
 */
export function headForward(
  head: OutputHead, ws: HeadWorkspace, inputs: Matrix, targets: HeadTargets, opts: HeadLossOptions = {},
): number {
  const op = 'headForward';
  checkInputs(op, head, ws, inputs);
  const N = inputs.rows;
  const logits = rowsView(ws.logits, N);
  const dLogits = rowsView(ws.dLogits, N);
  denseForward(logits, head.dense, inputs);
  const lossOpts = { mask: opts.mask, reduction: opts.reduction };
  let loss: number;
  if (head.kind === 'softmax') {
    if (targets instanceof Matrix) {
      throw new Error(`${op}: expected class ids (an array of ${N} integers) for a softmax head, got a matrix ${shapeOf(targets)}`);
    }
    loss = crossEntropyForwardBackward(dLogits, logits, targets, lossOpts);
  } else {
    if (!(targets instanceof Matrix)) {
      throw new Error(`${op}: expected a [${N}, ${head.outputSize}] label matrix for a sigmoid head, got an array of ${targets.length} entries`);
    }
    loss = binaryCrossEntropyWithLogits(logits, targets, lossOpts);
    binaryCrossEntropyWithLogitsBackward(dLogits, logits, targets, lossOpts);
  }
  ws.lastInputs = inputs;
  return loss;
}

/**
 * Backward of the last headForward: accumulates (+=) dW_y, db_y and returns ∂L/∂A [N, H]
 * (written; a view into ws). Rows the mask zeroed get 0.
 */
export function headBackward(head: OutputHead, ws: HeadWorkspace): Matrix {
  const op = 'headBackward';
  if (ws.head !== head) throw new Error(`${op}: expected a workspace created for this head, got one of another head`);
  const inputs = ws.lastInputs;
  if (inputs === null) throw new Error(`${op}: expected a headForward on this workspace first, got none`);
  const N = inputs.rows;
  const dInputs = rowsView(ws.dInputs, N);
  denseBackward(head.dense, inputs, rowsView(ws.dLogits, N), dInputs);
  return dInputs;
}

export function headZeroGrads(head: OutputHead): void {
  denseZeroGrad(head.dense);
}

/** `${prefix}W` and `${prefix}b` (the bias when the dense layer has one). */
export function headParameters(head: OutputHead, prefix = 'head.'): { params: Record<string, Matrix>; grads: Record<string, Matrix> } {
  const params: Record<string, Matrix> = { [`${prefix}W`]: head.dense.params.W };
  const grads: Record<string, Matrix> = { [`${prefix}W`]: head.dense.grads.W };
  if (head.dense.params.b && head.dense.grads.b) {
    params[`${prefix}b`] = head.dense.params.b;
    grads[`${prefix}b`] = head.dense.grads.b;
  }
  return { params, grads };
}
