/**
 * The bidirectional RNN (the notes' BRNN): one cell reads the sequence left to right, another
 * reads it right to left, and every step sees both:
 *
 *   a→⟨t⟩ = f→(x⟨t⟩, a→⟨t−1⟩)         t = 1 … T_b           [B, H→]
 *   a←⟨t⟩ = f←(x⟨t⟩, a←⟨t+1⟩)         t = T_b … 1           [B, H←]
 *   output⟨t⟩ = [a→⟨t⟩, a←⟨t⟩]                              [B, H→ + H←]
 * so a head on top computes the notes' ŷ⟨t⟩ = g(W_y[a→⟨t⟩, a←⟨t⟩] + b_y) (layers/heads.ts).
 * The two cells may be of any kinds and hidden sizes (e.g. an LSTM forward and a GRU backward);
 * they read the same input x [T·B, D].
 *
 * Variable lengths: batches are right-padded ([T, B] mask, each column 1…1 0…0), and T_b is
 * sequence b's own length, so the backward direction starts at each sequence's own last valid
 * step, not at the padding. Implementation: a row map reverses each sequence's valid prefix
 * (row t·B + b ↔ row (T_b − 1 − t)·B + b for t < T_b; padded rows map to themselves), the
 * plain BPTT runner runs the backward cell on the reversed input with the same mask, and its
 * outputs are mapped back. The map is its own inverse, is computed once per forward into a
 * preallocated Int32Array, and nothing is allocated per time step.
 *
 * Outputs [T·B, H→ + H←] are 0 at padded steps. The final states are the forward direction's
 * state at t = T_b and the backward direction's state at t = 1 (it read x⟨T_b⟩ … x⟨1⟩).
 *
 * Backward (BPTT of both directions): ∂L/∂outputs is split into its two column blocks, the
 * backward block is reversed with the same map, each runner backpropagates, and
 *   ∂L/∂x⟨t⟩ = ∂L/∂x⟨t⟩ (via →) + ∂L/∂x⟨t⟩ (via ←, un-reversed).
 * Parameter gradients accumulate (+=) into each cell's `grads`.
 */
import {
  Matrix, copyInto, expectShape, shapeOf, type DType,
} from '../engine/matrix.js';
import type { RecurrentCell } from './cells/cell.js';
import {
  createSequenceWorkspace, sequenceBackward, sequenceForward, zeroGrads, type SequenceWorkspace,
} from './sequence.js';

export interface BidirectionalRnn {
  readonly kind: 'bidirectional';
  /** The left-to-right cell (→). */
  readonly forward: RecurrentCell;
  /** The right-to-left cell (←). */
  readonly backward: RecurrentCell;
  /** D, shared by both cells. */
  readonly inputSize: number;
  /** H→ + H←: the width of an output row. */
  readonly outputSize: number;
  readonly dtype: DType;
}

/** The state of both directions: [a] or [a, c] for each, [B, H→] / [B, H←] matrices. */
export interface BidirectionalState {
  forward: readonly Matrix[];
  backward: readonly Matrix[];
}

/** Pair two cells (any kinds) reading the same input into a bidirectional layer. */
export function createBidirectional(forward: RecurrentCell, backward: RecurrentCell): BidirectionalRnn {
  const op = 'createBidirectional';
  if (forward === backward) {
    throw new Error(`${op}: expected two distinct cells (one per direction), got the same ${forward.kind} cell twice`);
  }
  if (forward.inputSize !== backward.inputSize) {
    throw new Error(`${op}: expected both cells to read the same input size, got forward D=${forward.inputSize} and backward D=${backward.inputSize}`);
  }
  if (forward.dtype !== backward.dtype) {
    throw new Error(`${op}: expected both cells to have one dtype, got forward ${forward.dtype} and backward ${backward.dtype}`);
  }
  return {
    kind: 'bidirectional',
    forward,
    backward,
    inputSize: forward.inputSize,
    outputSize: forward.hiddenSize + backward.hiddenSize,
    dtype: forward.dtype,
  };
}

/** True for a BidirectionalRnn (as opposed to a single RecurrentCell). */
export function isBidirectional(unit: RecurrentCell | BidirectionalRnn): unit is BidirectionalRnn {
  return unit.kind === 'bidirectional';
}

/** Buffers of a bidirectional layer for up to T steps of batch B, allocated once. Fields are internal. */
export class BidirectionalWorkspace {
  readonly layer: BidirectionalRnn;
  readonly steps: number;
  readonly batch: number;
  readonly forwardWs: SequenceWorkspace;
  readonly backwardWs: SequenceWorkspace;
  /** x with each sequence's valid prefix reversed in time  [T·B, D]. */
  readonly reversedX: Matrix;
  /** [a→⟨t⟩, a←⟨t⟩]  [T·B, H→ + H←]. */
  readonly outputs: Matrix;
  /** ∂L/∂(backward direction's outputs), in reversed time  [T·B, H←]. */
  readonly dReversed: Matrix;
  /** ∂L/∂x  [T·B, D]. */
  readonly dx: Matrix;
  /** rowMap[r] = the original row of reversed row r (an involution). */
  readonly rowMap: Int32Array;
  /** T_b of the last forward. */
  readonly lengths: Int32Array;
  lastSteps = 0;
  readonly finalState: BidirectionalState;

  constructor(layer: BidirectionalRnn, steps: number, batch: number) {
    this.layer = layer;
    this.steps = steps;
    this.batch = batch;
    this.forwardWs = createSequenceWorkspace(layer.forward, steps, batch);
    this.backwardWs = createSequenceWorkspace(layer.backward, steps, batch);
    const D = layer.inputSize;
    this.reversedX = Matrix.zeros(steps * batch, D, layer.dtype);
    this.outputs = Matrix.zeros(steps * batch, layer.outputSize, layer.dtype);
    this.dReversed = Matrix.zeros(steps * batch, layer.backward.hiddenSize, layer.dtype);
    this.dx = Matrix.zeros(steps * batch, D, layer.dtype);
    this.rowMap = new Int32Array(steps * batch);
    this.lengths = new Int32Array(batch);
    this.finalState = { forward: [], backward: [] };
  }
}

export function createBidirectionalWorkspace(layer: BidirectionalRnn, steps: number, batch: number): BidirectionalWorkspace {
  if (!Number.isInteger(steps) || steps < 1 || !Number.isInteger(batch) || batch < 1) {
    throw new Error(`createBidirectionalWorkspace: expected positive integer steps and batch, got T=${steps}, B=${batch}`);
  }
  return new BidirectionalWorkspace(layer, steps, batch);
}

export interface BidirectionalForwardOptions {
  /** Initial states of either direction (zeros when absent): the backward one is its state before x⟨T_b⟩. */
  h0?: { forward?: readonly Matrix[]; backward?: readonly Matrix[] };
  /** [T, B] right-padded validity mask (1 = real step); absent: every step is valid. */
  mask?: Matrix;
  /** Variational dropout of either direction's recurrent state, m [B, H] (layers/sequence.ts). */
  recurrentMasks?: { forward?: Matrix | null; backward?: Matrix | null };
}

export interface BidirectionalForwardResult {
  /** [a→⟨t⟩, a←⟨t⟩]  [T·B, H→ + H←], 0 at padded steps (a view into the workspace). */
  outputs: Matrix;
  /** forward: state at t = T_b; backward: state at t = 1 (views into the workspaces). */
  finalState: BidirectionalState;
}

export interface BidirectionalBackwardOptions {
  /** ∂L/∂finalState of either direction (e.g. from a many-to-one summary or a decoder). */
  dFinal?: { forward?: readonly Matrix[]; backward?: readonly Matrix[] };
  /** false: skip ∂L/∂x (dx is null). Default true. */
  inputGradient?: boolean;
}

export interface BidirectionalBackwardResult {
  /** ∂L/∂x  [T·B, D] (written; 0 at padded steps), or null with inputGradient: false. */
  dx: Matrix | null;
  /** ∂L/∂h0 of both directions (views into the workspaces). */
  dh0: BidirectionalState;
}

/**
 * The lengths T_b of a right-padded [T, B] mask (each column 1…1 then 0…0) into `out` [B];
 * without a mask every length is T. Throws (naming `op`) on a wrong shape, an entry other than
 * 0/1, or a 1 after a 0.
 */
export function maskLengths(op: string, out: Int32Array, mask: Matrix | undefined | null, steps: number, batch: number): Int32Array {
  if (out.length < batch) throw new Error(`${op}: expected a lengths buffer of at least ${batch} entries, got ${out.length}`);
  if (!mask) {
    out.fill(steps, 0, batch);
    return out;
  }
  expectShape(op, 'mask', mask, steps, batch);
  for (let b = 0; b < batch; b++) {
    let length = 0;
    for (let t = 0; t < steps; t++) {
      const m = mask.get(t, b);
      if (m !== 0 && m !== 1) throw new Error(`${op}: expected mask entries 0 or 1, got ${m} at [${t}, ${b}]`);
      if (m === 1) {
        if (length !== t) {
          throw new Error(`${op}: expected a right-padded mask (each column 1…1 then 0…0), column ${b} has a 1 at step ${t} after a 0 at step ${length}`);
        }
        length = t + 1;
      }
    }
    out[b] = length;
  }
  return out;
}

/** rowMap[t·B + b] = (T_b − 1 − t)·B + b for t < T_b, itself otherwise. */
function fillReversalMap(rowMap: Int32Array, lengths: Int32Array, steps: number, batch: number): void {
  for (let t = 0; t < steps; t++) {
    for (let b = 0; b < batch; b++) {
      const len = lengths[b];
      rowMap[t * batch + b] = t < len ? (len - 1 - t) * batch + b : t * batch + b;
    }
  }
}

/** out[r, :] = src[map[r], :] for r < rows (out and src must not overlap). */
export function gatherRows(out: Matrix, src: Matrix, map: Int32Array, rows: number): void {
  const cols = out.cols;
  const od = out.data, sd = src.data;
  for (let r = 0; r < rows; r++) {
    const o = out.offset + r * out.stride;
    const s = src.offset + map[r] * src.stride;
    for (let c = 0; c < cols; c++) od[o + c] = sd[s + c];
  }
}

function checkWorkspace(op: string, layer: BidirectionalRnn, ws: BidirectionalWorkspace): void {
  if (ws.layer !== layer) {
    throw new Error(`${op}: expected a workspace created for this layer (createBidirectionalWorkspace(layer, T, B)), got one of another layer`);
  }
}

/**
 * Both directions over x [T·B, D] (T ≤ ws.steps, B = ws.batch). Returns the concatenated outputs
 * [T·B, H→ + H←] and both final states, all views into `ws` (valid until its next forward).
 * x is read again by backward: do not change it in between.
 */
export function bidirectionalForward(
  layer: BidirectionalRnn, ws: BidirectionalWorkspace, x: Matrix, opts: BidirectionalForwardOptions = {},
): BidirectionalForwardResult {
  const op = 'bidirectionalForward';
  checkWorkspace(op, layer, ws);
  const B = ws.batch;
  const D = layer.inputSize;
  if (x.cols !== D || x.rows === 0 || x.rows % B !== 0 || x.rows / B > ws.steps) {
    throw new Error(`${op}: expected x to be [T·B, D] with B = ${B}, D = ${D} and 1 ≤ T ≤ ${ws.steps}, got ${shapeOf(x)}`);
  }
  if (x.dtype !== layer.dtype) throw new Error(`${op}: expected x to be ${layer.dtype} like the cells, got ${x.dtype}`);
  const T = x.rows / B;
  const rows = T * B;
  maskLengths(op, ws.lengths, opts.mask, T, B);
  fillReversalMap(ws.rowMap, ws.lengths, T, B);

  const masks = opts.recurrentMasks;
  const fwd = sequenceForward(layer.forward, ws.forwardWs, x, { h0: opts.h0?.forward, mask: opts.mask, recurrentMask: masks?.forward });
  const reversedX = rows === ws.reversedX.rows ? ws.reversedX : ws.reversedX.rowView(0, rows);
  gatherRows(reversedX, x, ws.rowMap, rows);
  const bwd = sequenceForward(layer.backward, ws.backwardWs, reversedX, { h0: opts.h0?.backward, mask: opts.mask, recurrentMask: masks?.backward });

  const outputs = rows === ws.outputs.rows ? ws.outputs : ws.outputs.rowView(0, rows);
  const Hf = layer.forward.hiddenSize;
  copyInto(outputs.colView(0, Hf), fwd.outputs);
  // Un-reverse: the map is its own inverse, so outputs[map[r]] = bwd[r] is a gather with the same map.
  gatherRows(outputs.colView(Hf, layer.backward.hiddenSize), bwd.outputs, ws.rowMap, rows);

  ws.lastSteps = T;
  ws.finalState.forward = fwd.finalState;
  ws.finalState.backward = bwd.finalState;
  return { outputs, finalState: ws.finalState };
}

/**
 * BPTT through both directions of the last forward of `ws`. dOutputs [T·B, H→ + H←] is
 * ∂L/∂outputs (null: the loss sits on the final states only). Accumulates (+=) into both cells'
 * grads; returns dx and dh0 (views into `ws`).
 */
export function bidirectionalBackward(
  layer: BidirectionalRnn, ws: BidirectionalWorkspace, dOutputs: Matrix | null, opts: BidirectionalBackwardOptions = {},
): BidirectionalBackwardResult {
  const op = 'bidirectionalBackward';
  checkWorkspace(op, layer, ws);
  const T = ws.lastSteps;
  if (T === 0) throw new Error(`${op}: expected a bidirectionalForward on this workspace first, got none`);
  const B = ws.batch;
  const rows = T * B;
  const Hf = layer.forward.hiddenSize, Hb = layer.backward.hiddenSize;
  let dForward: Matrix | null = null;
  let dReversed: Matrix | null = null;
  if (dOutputs !== null) {
    expectShape(op, 'dOutputs', dOutputs, rows, Hf + Hb);
    if (dOutputs.dtype !== layer.dtype) throw new Error(`${op}: expected dOutputs to be ${layer.dtype}, got ${dOutputs.dtype}`);
    dForward = dOutputs.colView(0, Hf);
    dReversed = rows === ws.dReversed.rows ? ws.dReversed : ws.dReversed.rowView(0, rows);
    gatherRows(dReversed, dOutputs.colView(Hf, Hb), ws.rowMap, rows);
  }
  const inputGradient = opts.inputGradient !== false;
  const f = sequenceBackward(layer.forward, ws.forwardWs, dForward, { dFinal: opts.dFinal?.forward, inputGradient });
  const b = sequenceBackward(layer.backward, ws.backwardWs, dReversed, { dFinal: opts.dFinal?.backward, inputGradient });
  const dh0: BidirectionalState = { forward: f.dh0, backward: b.dh0 };
  if (!inputGradient || f.dx === null || b.dx === null) return { dx: null, dh0 };

  // dx[r] = dx→[r] + dx←[map[r]]
  const dx = rows === ws.dx.rows ? ws.dx : ws.dx.rowView(0, rows);
  const D = layer.inputSize;
  const od = dx.data, fd = f.dx.data, bd = b.dx.data;
  for (let r = 0; r < rows; r++) {
    const o = dx.offset + r * dx.stride;
    const s = f.dx.offset + r * f.dx.stride;
    const q = b.dx.offset + ws.rowMap[r] * b.dx.stride;
    for (let c = 0; c < D; c++) od[o + c] = fd[s + c] + bd[q + c];
  }
  return { dx, dh0 };
}

/** Zero both cells' gradient buffers. */
export function bidirectionalZeroGrads(layer: BidirectionalRnn): void {
  zeroGrads(layer.forward);
  zeroGrads(layer.backward);
}

/**
 * Parameters and gradients by name, for optimizers and gradient checks: `${name}.${param}` for
 * the forward cell and `${name}_reverse.${param}` for the backward one (PyTorch's suffix).
 */
export function bidirectionalParameters(
  layer: BidirectionalRnn, name = 'l0',
): { params: Record<string, Matrix>; grads: Record<string, Matrix> } {
  const params: Record<string, Matrix> = {};
  const grads: Record<string, Matrix> = {};
  for (const [suffix, cell] of [['', layer.forward], ['_reverse', layer.backward]] as const) {
    for (const k of Object.keys(cell.params)) {
      params[`${name}${suffix}.${k}`] = cell.params[k];
      grads[`${name}${suffix}.${k}`] = cell.grads[k];
    }
  }
  return { params, grads };
}
