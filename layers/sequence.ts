/**
 * The BPTT runner: forward and backward through T time steps for any `RecurrentCell`.
 *
 * Forward (the notes' "forward propagation through time"), time-major, B sequences at once:
 *   XP = X·W_xᵀ + b                          [T·B, G]  one GEMM for the inputs of all T steps
 *                                                       (XP = X·W_xᵀ for a cell that `ownsBias`)
 *   state⟨t⟩ = cell(XP⟨t⟩, state⟨t−1⟩)        [B, H] each, t = 1 … T (state⟨0⟩ = h0, zeros by default)
 *   output⟨t⟩ = a⟨t⟩ (the first state tensor), 0 where the mask says the step is padding.
 * Backward (BPTT), t = T … 1:
 *   ∂L/∂state⟨t⟩ = ∂L/∂a⟨t⟩ (from dOutputs) + what step t+1 sends back; the cell turns it into
 *   ∂L/∂XP⟨t⟩ and ∂L/∂state⟨t−1⟩; after the loop, one GEMM each over all T·B rows:
 *   dW_a += dZᵀ·State_prev (the cell's accumulateRecurrentGrads; dZ = dXP for RNN and LSTM),
 *   dW_x += dXPᵀ·X,  db += Σ_rows dXP,  dX = dXP·W_x.
 *
 * One-hot input (token ids): `sequenceForward(cell, ws, ids)` with ids an Int32Array of T·B token ids
 * reads x⟨t⟩_b = one-hot(ids[t·B + b]) over the D input columns without building it. The input
 * projection is then a row gather and its gradient a scatter-add — no GEMM over one-hot rows:
 *   XP[r] = W_x[:, id_r]ᵀ + b   (bit-identical to the GEMM: 1·w plus zeros)
 *   dW_x[:, id_r] += dXP[r],  db += Σ_rows dXP   (the same sums, in row order)
 * ∂L/∂x is not formed for ids (backward needs inputGradient: false). With T·B ≥ D both go through
 * W_xᵀ [D, G] in the workspace (one transposition per call), so the gather and the scatter read and
 * write rows; with fewer rows (a sampling step) they read and write W_x's columns directly.
 * The row gather runs per step, B rows into a [B, G] buffer right before the cell reads them
 * (`gatherStepInput`), not for all T·B rows up front: the rows are still in cache when the cell
 * reads them, and the [T·B, G] XP (13 MB for the char-LM: B 32, T 100, G 1024) is neither written
 * nor read back from memory. Same rows, same bits.
 *
 * Embedded ids: with `{ embedding: E }` (E [V, D]) the ids index E's rows, x⟨t⟩_b = E[ids[t·B + b]],
 * and the runner folds E into the input projection instead of gathering X = E[ids] and multiplying
 * all T·B rows — V·D·G multiply-adds instead of T·B·D·G, for each of the three products:
 *   P = E·W_xᵀ [V, G],  XP[r] = P[id_r] + b   (gathered per step, as above)
 *   S [V, G] = Σ_{r: id_r = v} dXP[r] (a scatter-add),  dW_x += Sᵀ·E,  db += Σ_rows dXP,
 *   ∂L/∂E = S·W_x [V, D]  (written; `dEmbedding` of the result, unless inputGradient: false)
 * The same sums as the X path up to their order; worth it when V is well below T·B (a character or
 * small-vocabulary model), which the caller decides.
 *
 * Masks ([T, B], 1 = valid, 0 = padding) give variable-length sequences in one batch: at a masked
 * step a row keeps its state (state⟨t⟩ = state⟨t−1⟩), outputs 0 and gets no gradient — its
 * incoming state gradient passes through unchanged to state⟨t−1⟩. So a masked row's final state is
 * its state at its last valid step, and a padded input's gradient is 0.
 *
 * Memory: `createSequenceWorkspace(cell, T, B)` allocates every buffer once (the state history,
 * XP and its gradient, the cell's caches, the per-step views); forward and backward allocate
 * nothing at all — per time step or per call — once warm (a shorter sequence T' < T makes its
 * views of the workspace on its first run, then reuses them). A workspace for T steps also runs
 * any shorter sequence (T' ≤ T) of the same batch size.
 *
 * The time loops run with the cell's parameters declared constant (`withConstantOperands`): on
 * the wasm backend W_a is then packed for the GEMM once per pass instead of once per step.
 *
 * Lifetimes: the returned matrices (outputs, finalState, dx, dh0) are views into the workspace,
 * valid until its next forward/backward; copy what you keep (`copyState`). The result objects are
 * the workspace's too (reused by its next call). X is read again by backward: do not change it in
 * between.
 *
 * Variational dropout of the recurrent state (Gal & Ghahramani 2016): with `recurrentMask` m [B, H]
 * (entries 0 or 1/(1 − p), one per sequence and unit, the same at every step) the cell reads
 * ã⟨t−1⟩ = a⟨t−1⟩ ∗ m where it reads a⟨t−1⟩, and the runner keeps the unmasked a⟨t−1⟩ in its history:
 *   state⟨t⟩ = cell(XP⟨t⟩, [ã⟨t−1⟩, c⟨t−1⟩])      ∂L/∂a⟨t−1⟩ = (∂L/∂ã⟨t−1⟩) ∗ m      dW_a += dZᵀ·Ã_prev
 * Only for cells whose a⟨t−1⟩ enters through the recurrent products alone (`masksRecurrentProducts`:
 * rnn, lstm, lstm-peephole): a GRU also carries a⟨t−1⟩ into a⟨t⟩ (Γu-interpolation), where a mask
 * would scale the carried state itself. A masked (padded) row carries its unmasked state.
 *
 * Truncated BPTT: run chunk k+1 with `h0 = finalState` of chunk k (copied first — `detachState`);
 * its backward returns dh0 but the training loop simply drops it, so no gradient crosses the
 * chunk boundary.
 *
 * The step driver (`beginSteps`, `projectStepInput`, `forwardStep`, `stateAt`, `beginBackwardSteps`,
 * `stateGradient`, `backwardStep`, `endBackwardSteps`, documented at its section below) runs the
 * same time loop one step at a time, for callers whose input at step t depends on step t−1 (a
 * decoder with attention) or who watch every step (gradient flow). sequenceForward and
 * sequenceBackward are that driver with the inputs of all T steps projected by one GEMM.
 */
import { addRowsKernel, gatherRowsKernel, scatterAddRowsKernel, sumRowsKernel, withConstantOperands } from '../engine/backend.js';
import { gemm, gemmTransAccumulate } from '../engine/gemm.js';
import {
  Matrix, expectSameShape, expectShape, shapeOf, stepView, zero, type FloatArray,
} from '../engine/matrix.js';
import { addBias, sumRows, transpose } from '../engine/ops.js';
import type { CellWorkspace, RecurrentCell } from './cells/cell.js';

/** The workspace's views for sequences of T steps: row prefixes of its buffers (made once per T). */
interface ChunkViews {
  /** Rows [0, T·B) of xp, dxp, dx and outputs. */
  readonly xp: Matrix;
  /** state⟨0…T−1⟩ per state tensor: rows [0, T·B) of each history (the steps' `prev`). */
  readonly prevStates: Matrix[];
  readonly dxp: Matrix;
  readonly dx: Matrix;
  readonly outputs: Matrix;
  /** a⟨1…T⟩ in history[0] (rows B … B + T·B), as one flat span for the memcpy into outputs. */
  readonly historyOutputs: FloatArray;
}

/** Everything the runner needs for T steps of batch B, allocated once. Fields are internal. */
export class SequenceWorkspace {
  readonly cell: RecurrentCell;
  /** Capacity: the longest sequence this workspace runs. */
  readonly steps: number;
  readonly batch: number;
  readonly cellWorkspace: CellWorkspace;
  /** XP = X·W_xᵀ + b  [T·B, G] and its gradient. */
  readonly xp: Matrix;
  readonly dxp: Matrix;
  /** State history per state tensor: block s (rows s·B … s·B+B−1) is state⟨s⟩, s = 0 … T  [(T+1)·B, H]. */
  readonly history: Matrix[];
  /** The outputs a⟨1…T⟩ with zeros at masked steps  [T·B, H]. */
  readonly outputs: Matrix;
  /** ∂L/∂X  [T·B, D]. */
  readonly dx: Matrix;
  /** The recurrent dropout mask m [B, H] of the last forward, or null (see the header). */
  recurrentMask: Matrix | null = null;
  /** ã⟨0…T−1⟩ = a⟨t⟩ ∗ m [T·B, H] and the per-step state lists the cell reads with it (made on first use). */
  maskedHistory: Matrix | null = null;
  maskedPrevStates: Matrix[][] | null = null;
  /** maskedInputs[T]: what accumulateRecurrentGrads reads after T masked steps (made once per T). */
  readonly maskedInputs: (Matrix[] | undefined)[] = [];
  /**
   * Ping-pong buffers of the state gradient ([B, H] each): dState is ∂L/∂state⟨t⟩ of the step the
   * backward pass is at, dStateSpare receives ∂L/∂state⟨t−1⟩; they swap after every step.
   */
  dState: Matrix[];
  dStateSpare: Matrix[];
  /** The pass-through rows of masked steps ([B, H] each). */
  readonly passThrough: Matrix[];
  /** Per-step views (precomputed so the time loop allocates nothing). */
  readonly xpSteps: Matrix[];
  readonly dxpSteps: Matrix[];
  readonly prevStates: Matrix[][];
  readonly nextStates: Matrix[][];
  /** valid[t·B + b] = 1 when step t of row b is real data; stepMasked[t] = 1 when any row of step t is padding. */
  readonly valid: Uint8Array;
  readonly stepMasked: Uint8Array;
  /** What the last forward saw (backward needs it); null X when the step driver ran it or ids came. */
  lastX: Matrix | null = null;
  /** The token ids of the last forward when it read one-hot input by ids, else null. */
  lastIds: Int32Array | null = null;
  /** W_xᵀ, then dW_xᵀ [D, G]: the id path's row-major copy (made on its first use). */
  inputWeightT: Matrix | null = null;
  /**
   * The id paths' per-step gather (see the header): XP⟨t⟩[b] = stepTable[ids[t·B + b]] (+ stepBias)
   * into xpStep [B, G] right before step t; stepTable is W_xᵀ or P = E·W_xᵀ. null: the forward formed
   * XP whole (a matrix input, the step driver, or fewer ids than D) — or `gatheredPerStep` and a
   * backward has since reused the table's buffer for its gradient.
   */
  stepTable: Matrix | null = null;
  gatheredPerStep = false;
  stepBias: Matrix | null = null;
  stepInputIds: Int32Array | null = null;
  /** [B, G], made on the first per-step gather. */
  xpStep: Matrix | null = null;
  /** Step t's B ids (copied per step: no subarray view per step). */
  readonly stepIds: Int32Array;
  /** The id paths' gradient chunks (scatterRowsAndBias): their ids, and their rows of dXP as a reused view. */
  readonly chunkIds = new Int32Array(ID_GRADIENT_CHUNK_ROWS);
  readonly chunkRows: { data: FloatArray; offset: number; stride: number };
  /** The embedding the last forward read its ids through, or null (see the header). */
  lastEmbedding: Matrix | null = null;
  /** P = E·W_xᵀ, then S [V, G], and ∂L/∂E [V, D]: the embedded-ids path's buffers (made on first use, per V). */
  embeddingTable: Matrix | null = null;
  embeddingGrad: Matrix | null = null;
  lastSteps = 0;
  lastMasked = false;
  /** The step driver's position: forward steps run since beginSteps; the next backward step (−1: none). */
  forwardDone = 0;
  backwardNext = -1;
  /** chunkViews[T]: the views for sequences of T steps, made on first use. */
  readonly chunkViews: (ChunkViews | undefined)[] = [];
  /**
   * The cell's parameter arrays, declared constant around the time loops (`withConstantOperands`):
   * the wasm backend then packs W_a once per pass instead of once per step.
   */
  readonly constantWeights: FloatArray[];
  /** The time loops as functions made once (a closure per call would be garbage); they read loopOutputsGrad. */
  readonly forwardLoop: () => void;
  readonly backwardLoop: () => void;
  /** dOutputs of the running sequenceBackward (null outside it, or when the loss sits on the final state). */
  loopOutputsGrad: Matrix | null = null;
  /** Step t's rows of loopOutputsGrad (refilled per step; its data is a placeholder outside backward). */
  readonly outputStep: { data: FloatArray; offset: number; stride: number };
  /** The result objects handed out (reused: a call allocates nothing). */
  readonly forwardResult: SequenceForwardResult;
  readonly backwardResult: SequenceBackwardResult<Matrix | null>;

  constructor(cell: RecurrentCell, steps: number, batch: number) {
    if (!Number.isInteger(steps) || steps < 1 || !Number.isInteger(batch) || batch < 1) {
      throw new Error(`createSequenceWorkspace: expected positive integer steps and batch, got T=${steps}, B=${batch}`);
    }
    const { hiddenSize: H, inputSize: D, gateWidth: G, dtype } = cell;
    this.cell = cell;
    this.steps = steps;
    this.batch = batch;
    this.cellWorkspace = cell.createWorkspace(steps, batch);
    this.xp = Matrix.zeros(steps * batch, G, dtype);
    this.dxp = Matrix.zeros(steps * batch, G, dtype);
    this.history = [];
    this.dState = [];
    this.dStateSpare = [];
    this.passThrough = [];
    for (let k = 0; k < cell.stateCount; k++) {
      this.history.push(Matrix.zeros((steps + 1) * batch, H, dtype));
      this.dState.push(Matrix.zeros(batch, H, dtype));
      this.dStateSpare.push(Matrix.zeros(batch, H, dtype));
      this.passThrough.push(Matrix.zeros(batch, H, dtype));
    }
    this.outputs = Matrix.zeros(steps * batch, H, dtype);
    this.dx = Matrix.zeros(steps * batch, D, dtype);
    this.xpSteps = [];
    this.dxpSteps = [];
    this.prevStates = [];
    this.nextStates = [];
    for (let t = 0; t < steps; t++) {
      this.xpSteps.push(stepView(this.xp, t, batch));
      this.dxpSteps.push(stepView(this.dxp, t, batch));
      this.prevStates.push(this.history.map((h) => stepView(h, t, batch)));
      this.nextStates.push(this.history.map((h) => stepView(h, t + 1, batch)));
    }
    this.valid = new Uint8Array(steps * batch);
    this.stepMasked = new Uint8Array(steps);
    this.constantWeights = Object.values(cell.params).map((m) => m.data);
    this.stepIds = new Int32Array(batch);
    this.chunkRows = { data: this.dx.data, offset: 0, stride: 0 };
    this.outputStep = { data: this.dx.data, offset: 0, stride: 0 };
    this.forwardLoop = () => runForwardSteps(this);
    this.backwardLoop = () => runBackwardSteps(this);
    this.forwardResult = { outputs: this.outputs, finalState: this.nextStates[steps - 1] };
    this.backwardResult = { dx: this.dx, dh0: this.dState, dEmbedding: null };
    chunkViewsFor(this, steps);
  }
}

/** The views of `ws` for T steps (the whole buffers when T is its capacity). */
function chunkViewsFor(ws: SequenceWorkspace, T: number): ChunkViews {
  return ws.chunkViews[T] ?? makeChunkViews(ws, T);
}

/** Separate from the lookup: its closure would make the lookup allocate a context per call. */
function makeChunkViews(ws: SequenceWorkspace, T: number): ChunkViews {
  const rows = T * ws.batch;
  const prefix = (m: Matrix) => (T === ws.steps ? m : m.rowView(0, rows));
  const source = ws.history[0].rowView(ws.batch, rows); // contiguous: history is a whole matrix
  const views: ChunkViews = {
    xp: prefix(ws.xp),
    prevStates: ws.history.map((h) => h.rowView(0, rows)),
    dxp: prefix(ws.dxp),
    dx: prefix(ws.dx),
    outputs: prefix(ws.outputs),
    historyOutputs: source.data.subarray(source.offset, source.offset + rows * source.cols),
  };
  ws.chunkViews[T] = views;
  return views;
}

/** Allocate the runner's and the cell's buffers for sequences of up to T steps of batch B. */
export function createSequenceWorkspace(cell: RecurrentCell, steps: number, batch: number): SequenceWorkspace {
  return new SequenceWorkspace(cell, steps, batch);
}

export interface SequenceForwardOptions {
  /** Initial state, one [B, H] matrix per state tensor ([a0] or [a0, c0]); zeros when absent. Copied. */
  h0?: readonly Matrix[];
  /** [T, B] validity mask: 1 = real step, 0 = padding. Absent: every step is valid. */
  mask?: Matrix;
  /**
   * Variational dropout of the recurrent state: m [B, H] (0 or 1/(1 − p)), the cell reads
   * a⟨t−1⟩ ∗ m at every step (see the header). Read during forward and backward: keep it unchanged.
   */
  recurrentMask?: Matrix | null;
  /**
   * With token ids: the embedding E [V, D] whose rows they index (x⟨t⟩ = E[id]), folded into the
   * input projection (see the header). Read during forward and backward: keep it unchanged in between.
   */
  embedding?: Matrix | null;
}

export interface SequenceForwardResult {
  /** a⟨1…T⟩  [T·B, H], 0 at masked steps (a view into the workspace). */
  outputs: Matrix;
  /** state⟨T⟩ per state tensor, [B, H] each; for a masked row, its state at its last valid step. */
  finalState: readonly Matrix[];
}

export interface SequenceBackwardOptions {
  /** ∂L/∂ finalState, one [B, H] per state tensor (e.g. from a decoder or a many-to-one head). */
  dFinal?: readonly Matrix[];
  /**
   * false: skip ∂L/∂X (one GEMM of T·B·G·D multiply-adds) when X is data, not a layer's output;
   * `dx` is then null. Default true.
   */
  inputGradient?: boolean;
}

export interface SequenceBackwardResult<DX extends Matrix | null = Matrix> {
  /** ∂L/∂X  [T·B, D] (written, not accumulated; 0 at masked steps); null with inputGradient: false. */
  dx: DX;
  /** ∂L/∂h0 per state tensor, [B, H] each. */
  dh0: readonly Matrix[];
  /** ∂L/∂E [V, D] (written) when the forward read ids through an embedding and inputGradient is not false; else null. */
  dEmbedding?: Matrix | null;
}

function checkWorkspace(op: string, cell: RecurrentCell, ws: SequenceWorkspace): void {
  if (ws.cell !== cell) {
    throw new Error(`${op}: expected a workspace created for this ${cell.kind} cell, got one of a ${ws.cell.kind} cell (createSequenceWorkspace(cell, T, B))`);
  }
}

/**
 * Forward through the sequence x [T·B, D] (T ≤ ws.steps, B = ws.batch), or through the one-hot
 * inputs of T·B token ids in [0, D) (an Int32Array; see the header).
 * Returns the outputs [T·B, H] and the final state(s); both are views into `ws`.
 */
export function sequenceForward(
  cell: RecurrentCell, ws: SequenceWorkspace, x: Matrix | Int32Array, opts: SequenceForwardOptions = NO_OPTIONS,
): SequenceForwardResult {
  const op = 'sequenceForward';
  checkWorkspace(op, cell, ws);
  const B = ws.batch;
  const T = checkSequenceInput(op, cell, ws, x);
  const views = chunkViewsFor(ws, T);
  startForward(op, ws, T, opts);

  // XP = X·W_xᵀ + b for all T steps at once; for ids, a row gather of W_xᵀ (or E·W_xᵀ), per step.
  const xp = views.xp;
  if (x instanceof Matrix) {
    gemm(xp, x, cell.params.W_x, false, true, 1, 0);
    if (cell.ownsBias !== true) addBias(xp, xp, cell.params.b);
  } else if (opts.embedding) {
    gatherEmbeddedProjection(op, ws, x, opts.embedding);
  } else {
    gatherInputProjection(op, ws, xp, x);
  }

  withConstantOperands(ws.constantWeights, ws.forwardLoop);

  const outputs = views.outputs;
  outputs.data.set(views.historyOutputs, outputs.offset); // outputs = a⟨1…T⟩ (both contiguous)
  if (ws.lastMasked) zeroMaskedRows(outputs, ws.valid, T * B);

  if (x instanceof Matrix) ws.lastX = x;
  else ws.lastIds = x;
  ws.lastEmbedding = x instanceof Matrix ? null : opts.embedding ?? null;
  const result = ws.forwardResult;
  result.outputs = outputs;
  result.finalState = ws.nextStates[T - 1];
  return result;
}

/**
 * BPTT through the last forward of `ws`. dOutputs [T·B, H] is ∂L/∂outputs (null: the loss sits
 * on the final state only); entries at masked steps are ignored. Accumulates (+=) into
 * cell.grads; returns dx [T·B, D] and dh0 (views into `ws`).
 */
export function sequenceBackward(
  cell: RecurrentCell, ws: SequenceWorkspace, dOutputs: Matrix | null,
  opts: SequenceBackwardOptions & { inputGradient: false },
): SequenceBackwardResult<null>;
export function sequenceBackward(
  cell: RecurrentCell, ws: SequenceWorkspace, dOutputs: Matrix | null, opts?: SequenceBackwardOptions,
): SequenceBackwardResult;
export function sequenceBackward(
  cell: RecurrentCell, ws: SequenceWorkspace, dOutputs: Matrix | null, opts: SequenceBackwardOptions = NO_OPTIONS,
): SequenceBackwardResult<Matrix | null> {
  const op = 'sequenceBackward';
  checkWorkspace(op, cell, ws);
  const x = ws.lastX ?? ws.lastIds;
  if (x === null) throw new Error(`${op}: expected a sequenceForward on this workspace first, got none`);
  if (x === ws.lastIds && ws.lastEmbedding === null && opts.inputGradient !== false) {
    throw new Error(`${op}: the last forward read token ids (one-hot input, data): expected inputGradient: false, got ${String(opts.inputGradient ?? 'the default true')}`);
  }
  const T = ws.lastSteps;
  const B = ws.batch;
  const H = cell.hiddenSize;
  if (dOutputs !== null) {
    expectShape(op, 'dOutputs', dOutputs, T * B, H);
    if (dOutputs.dtype !== cell.dtype) throw new Error(`${op}: expected dOutputs to be ${cell.dtype}, got ${dOutputs.dtype}`);
  }

  startBackward(op, ws, opts.dFinal);
  ws.loopOutputsGrad = dOutputs;
  try {
    withConstantOperands(ws.constantWeights, ws.backwardLoop);
  } finally {
    ws.loopOutputsGrad = null; // keep no caller's matrix alive
    ws.outputStep.data = ws.dx.data;
  }

  // The recurrent and input projections' gradients, one GEMM each over all T steps.
  const views = chunkViewsFor(ws, T);
  recurrentBackward(ws, views);
  inputProjectionBackward(ws, views.dxp, x);
  const result = ws.backwardResult;
  result.dh0 = ws.dState;
  result.dx = null;
  result.dEmbedding = null;
  if (opts.inputGradient === false) return result;
  if (ws.lastEmbedding !== null) {
    result.dEmbedding = embeddingInputGradient(ws);
    return result;
  }
  const dx = views.dx;
  gemm(dx, views.dxp, cell.params.W_x, false, false, 1, 0);
  result.dx = dx;
  return result;
}

// ---- The step driver ------------------------------------------------------------------------
//
// The runner's time loop, one step at a time, on a SequenceWorkspace (its state history, the
// cell's caches, the masks): for loops whose input at step t depends on step t−1's output (the
// seq2seq decoder feeds attention's context c⟨t⟩, computed from the state, into the cell) and for
// loops that look at every step (gradient flow's ‖∂L/∂a⟨t⟩‖). Steps are 0-based: step t reads
// row block t of the inputs and state⟨t⟩, and writes state⟨t+1⟩ (state⟨0⟩ = h0).
//
//   beginSteps(ws, T, { h0, mask })    state⟨0⟩ = h0 (zeros when absent); T ≤ ws.steps
//   for t = 0 … T−1:
//     projectStepInput(ws, t, x⟨t⟩)    xp⟨t⟩ = x⟨t⟩·W_xᵀ + b   (x⟨t⟩ [B, D] may depend on stateAt(ws, t))
//     forwardStep(ws, t)               state⟨t+1⟩ = cell(xp⟨t⟩, state⟨t⟩), masked rows carried; returns it
//   beginBackwardSteps(ws, dFinal)     ∂L/∂state⟨T⟩ = dFinal (zeros when absent)
//   for t = T−1 … 0:
//     add ∂L/∂a⟨t+1⟩ from outside (the step's output, a head, attention) into stateGradient(ws)[0]
//     backwardStep(ws, t)              returns ∂L/∂xp⟨t⟩ [B, G]; stateGradient(ws) is now ∂L/∂state⟨t⟩
//   endBackwardSteps(ws, X)            dW_a (the cell's accumulateRecurrentGrads), dW_x += dXPᵀ·X,
//                                      db += Σ dXP over the T steps (X [T·B, D]: the inputs)
//
// ∂L/∂x⟨t⟩ = ∂L/∂xp⟨t⟩·W_x is the caller's (one GEMM per step, or one over all steps). The steps must
// come in this order (each call checks it), backward after all T forward steps. Nothing allocates;
// the returned matrices are views into `ws`, valid until it runs the step again. sequenceForward and
// sequenceBackward run the same steps (after one GEMM for the inputs of all T steps).

/** Start a forward pass of T steps (1 ≤ T ≤ ws.steps): state⟨0⟩ = h0 (copied; zeros when absent), mask [T, B]. */
export function beginSteps(ws: SequenceWorkspace, steps: number, opts: SequenceForwardOptions = NO_OPTIONS): void {
  const op = 'beginSteps';
  if (!Number.isInteger(steps) || steps < 1 || steps > ws.steps) {
    throw new Error(`${op}: expected an integer number of steps in [1, ${ws.steps}] (the workspace's), got ${steps}`);
  }
  startForward(op, ws, steps, opts);
}

/** xp⟨t⟩ = x⟨t⟩·W_xᵀ + b into the workspace, x⟨t⟩ [B, D] (step t's input, before forwardStep(ws, t)). */
export function projectStepInput(ws: SequenceWorkspace, t: number, x: Matrix): void {
  checkStep('projectStepInput', ws, t, ws.lastSteps - 1);
  const xp = ws.xpSteps[t];
  gemm(xp, x, ws.cell.params.W_x, false, true, 1, 0);
  if (ws.cell.ownsBias !== true) addBias(xp, xp, ws.cell.params.b);
}

/** Run step t (the next one) of the cell on xp⟨t⟩; returns state⟨t+1⟩ (views into ws). */
export function forwardStep(ws: SequenceWorkspace, t: number): readonly Matrix[] {
  const op = 'forwardStep';
  checkStep(op, ws, t, ws.lastSteps - 1);
  if (t !== ws.forwardDone) throw new Error(`${op}: expected step ${ws.forwardDone} (steps run in order from 0), got ${t}`);
  runForwardStep(ws, t);
  return ws.nextStates[t];
}

/** state⟨t⟩ for t = 0 … T (state⟨0⟩ = h0), one [B, H] view per state tensor. */
export function stateAt(ws: SequenceWorkspace, t: number): readonly Matrix[] {
  checkStep('stateAt', ws, t, ws.lastSteps);
  return t === 0 ? ws.prevStates[0] : ws.nextStates[t - 1];
}

/**
 * Start BPTT over the T steps of the last forward (all run): ∂L/∂state⟨T⟩ = dFinal (copied; zeros
 * when absent). Returns stateGradient(ws).
 */
export function beginBackwardSteps(ws: SequenceWorkspace, dFinal?: readonly Matrix[]): readonly Matrix[] {
  const op = 'beginBackwardSteps';
  if (ws.lastSteps === 0 || ws.forwardDone !== ws.lastSteps) {
    throw new Error(`${op}: expected a forward pass of all its steps first, got ${ws.forwardDone} of ${ws.lastSteps}`);
  }
  startBackward(op, ws, dFinal);
  return ws.dState;
}

/**
 * ∂L/∂state⟨t+1⟩ before backwardStep(ws, t) — add what reaches the state from outside the cell
 * here — and ∂L/∂state⟨t⟩ after it (after step 0: ∂L/∂h0). Views into ws; they change after every step.
 */
export function stateGradient(ws: SequenceWorkspace): readonly Matrix[] {
  return ws.dState;
}

/**
 * BPTT through step t (the next one, T−1 down to 0); returns ∂L/∂xp⟨t⟩ [B, G] (a view into ws).
 * The recurrent parameters' gradients are formed by endBackwardSteps, over all T steps at once.
 */
export function backwardStep(ws: SequenceWorkspace, t: number): Matrix {
  const op = 'backwardStep';
  if (t !== ws.backwardNext) {
    throw new Error(`${op}: expected step ${ws.backwardNext} (beginBackwardSteps first, then T−1 down to 0), got ${t}`);
  }
  runBackwardStep(ws, t);
  return ws.dxpSteps[t];
}

/**
 * After the last backwardStep: the recurrent parameters' gradients (the cell's
 * accumulateRecurrentGrads) and the input projection's, over the T steps, one GEMM each:
 * dW_x += dXPᵀ·X and db += Σ_rows dXP. x [T·B, D] holds the inputs x⟨0…T−1⟩ the steps read.
 */
export function endBackwardSteps(ws: SequenceWorkspace, x: Matrix): void {
  const op = 'endBackwardSteps';
  if (ws.backwardNext !== -1 || ws.lastSteps === 0) throw new Error(`${op}: expected every backward step first, got step ${ws.backwardNext} next`);
  const views = chunkViewsFor(ws, ws.lastSteps);
  recurrentBackward(ws, views);
  inputProjectionBackward(ws, views.dxp, x);
}

function checkStep(op: string, ws: SequenceWorkspace, t: number, last: number): void {
  if (ws.lastSteps === 0) throw new Error(`${op}: expected beginSteps (or sequenceForward) on this workspace first, got none`);
  if (!Number.isInteger(t) || t < 0 || t > last) throw new Error(`${op}: expected a step in [0, ${last}], got ${t}`);
}

/** The forward's start, shared by sequenceForward and beginSteps. */
function startForward(op: string, ws: SequenceWorkspace, T: number, opts: SequenceForwardOptions): void {
  setInitialState(op, ws.cell, ws, opts.h0);
  ws.lastMasked = readMask(op, ws, opts.mask, T);
  ws.recurrentMask = opts.recurrentMask ? checkRecurrentMask(op, ws, opts.recurrentMask) : null;
  ws.lastSteps = T;
  ws.lastX = null; // sequenceForward sets one of them once its steps ran
  ws.lastIds = null;
  ws.stepTable = null; // sequenceForward sets it for ids after this
  ws.gatheredPerStep = false;
  ws.stepBias = null;
  ws.stepInputIds = null;
  ws.forwardDone = 0;
  ws.backwardNext = -1;
}

/** Step t of the forward: the cell, then the masked rows keep their state. */
function runForwardStep(ws: SequenceWorkspace, t: number): void {
  const prev = ws.prevStates[t];
  const next = ws.nextStates[t];
  const xp = ws.stepTable === null ? ws.xpSteps[t] : gatherStepInput(ws, t);
  ws.cell.stepForward(ws.cellWorkspace, t, xp, cellPrevStates(ws, t, true), next);
  if (ws.lastMasked && ws.stepMasked[t] === 1) carryMaskedRows(ws, t, prev, next);
  ws.forwardDone = t + 1;
}

/** Steps 0 … T−1 of sequenceForward (T = ws.lastSteps), inside its constant-weights scope. */
function runForwardSteps(ws: SequenceWorkspace): void {
  for (let t = 0; t < ws.lastSteps; t++) runForwardStep(ws, t);
}

/** Steps T−1 … 0 of sequenceBackward, each after adding ∂L/∂a⟨t+1⟩ of the step's output. */
function runBackwardSteps(ws: SequenceWorkspace): void {
  const dOutputs = ws.loopOutputsGrad, B = ws.batch;
  for (let t = ws.lastSteps - 1; t >= 0; t--) {
    if (dOutputs !== null) addStepOutputGradient(ws, ws.dState[0], dOutputs, t, B, ws.lastMasked ? ws.valid : null);
    runBackwardStep(ws, t);
  }
}

/** The backward's start, shared by sequenceBackward and beginBackwardSteps. */
function startBackward(op: string, ws: SequenceWorkspace, dFinal: readonly Matrix[] | undefined): void {
  setFinalGradient(op, ws.cell, ws.dState, dFinal, ws.batch);
  ws.backwardNext = ws.lastSteps - 1;
}

/**
 * Step t of BPTT: the cell turns dState = ∂L/∂state⟨t+1⟩ into ∂L/∂xp⟨t⟩ and ∂L/∂state⟨t⟩ (in
 * dStateSpare; a masked row's gradient passes through unchanged); then the two swap.
 */
function runBackwardStep(ws: SequenceWorkspace, t: number): void {
  const carry = ws.dState, spare = ws.dStateSpare;
  const maskedStep = ws.lastMasked && ws.stepMasked[t] === 1;
  if (maskedStep) moveMaskedRowsAside(ws, t, carry);
  ws.cell.stepBackward(ws.cellWorkspace, t, carry, ws.dxpSteps[t], spare, cellPrevStates(ws, t, false), ws.nextStates[t]);
  if (ws.recurrentMask !== null) multiplyRows(spare[0], ws.recurrentMask); // ∂L/∂a⟨t−1⟩ = ∂L/∂ã⟨t−1⟩ ∗ m
  if (maskedStep) addPassThrough(ws, t, spare);
  ws.dState = spare;
  ws.dStateSpare = carry;
  ws.backwardNext = t - 1;
}

/** The cell's recurrent weight gradients over the T steps of the last forward (one GEMM, not T). */
function recurrentBackward(ws: SequenceWorkspace, views: ChunkViews): void {
  ws.cell.accumulateRecurrentGrads(ws.cellWorkspace, ws.lastSteps, views.dxp, recurrentInputs(ws, views));
}

/** The cells whose a⟨t−1⟩ enters a step only through the recurrent products (so a mask on it is Gal's). */
export function masksRecurrentProducts(cell: RecurrentCell): boolean {
  return cell.kind === 'rnn' || cell.kind === 'lstm' || cell.kind === 'lstm-peephole';
}

function checkRecurrentMask(op: string, ws: SequenceWorkspace, m: Matrix): Matrix {
  if (!masksRecurrentProducts(ws.cell)) {
    throw new Error(`${op}: a recurrent dropout mask needs a cell whose a⟨t−1⟩ enters only through W_a (rnn, lstm, lstm-peephole), got ${ws.cell.kind}`);
  }
  expectShape(op, 'recurrentMask', m, ws.batch, ws.cell.hiddenSize);
  if (m.dtype !== ws.cell.dtype) throw new Error(`${op}: expected recurrentMask to be ${ws.cell.dtype}, got ${m.dtype}`);
  if (ws.maskedHistory === null) allocateMaskedHistory(ws);
  return m;
}

function allocateMaskedHistory(ws: SequenceWorkspace): void {
  const { steps: T, batch: B, cell } = ws;
  const masked = Matrix.zeros(T * B, cell.hiddenSize, cell.dtype);
  ws.maskedHistory = masked;
  ws.maskedPrevStates = ws.prevStates.map((states, t) => [stepView(masked, t, B), ...states.slice(1)]);
}

/**
 * The state list step t's cell reads: state⟨t⟩ itself, or [ã⟨t⟩ = a⟨t⟩ ∗ m, c⟨t⟩] with a recurrent
 * mask (ã written when `fill`, in forward; backward reads the value forward wrote).
 */
function cellPrevStates(ws: SequenceWorkspace, t: number, fill: boolean): readonly Matrix[] {
  const m = ws.recurrentMask;
  if (m === null) return ws.prevStates[t];
  const states = (ws.maskedPrevStates as Matrix[][])[t];
  if (fill) {
    const a = ws.prevStates[t][0], out = states[0];
    for (let r = 0; r < a.rows; r++) {
      const o = out.offset + r * out.stride, s = a.offset + r * a.stride, k = m.offset + r * m.stride;
      for (let j = 0; j < a.cols; j++) out.data[o + j] = a.data[s + j] * m.data[k + j];
    }
  }
  return states;
}

/** What accumulateRecurrentGrads reads: state⟨0…T−1⟩, with ã in place of a under a recurrent mask. */
function recurrentInputs(ws: SequenceWorkspace, views: ChunkViews): readonly Matrix[] {
  if (ws.recurrentMask === null) return views.prevStates;
  const T = ws.lastSteps;
  const cached = ws.maskedInputs[T];
  if (cached) return cached;
  const masked = ws.maskedHistory as Matrix;
  const inputs = [T === ws.steps ? masked : masked.rowView(0, T * ws.batch), ...views.prevStates.slice(1)];
  ws.maskedInputs[T] = inputs;
  return inputs;
}

/** d ∗= m, row by row (both [B, H]). */
function multiplyRows(d: Matrix, m: Matrix): void {
  for (let r = 0; r < d.rows; r++) {
    const o = d.offset + r * d.stride, k = m.offset + r * m.stride;
    for (let j = 0; j < d.cols; j++) d.data[o + j] *= m.data[k + j];
  }
}

/** dW_x += dXPᵀ·X (a scatter-add for one-hot ids), db += Σ_rows dXP (dxp [T·B, G], x [T·B, D]). */
function inputProjectionBackward(ws: SequenceWorkspace, dxp: Matrix, x: Matrix | Int32Array): void {
  ws.stepTable = null; // the id paths reuse its buffer for the gradient below
  const withBias = ws.cell.ownsBias !== true;
  if (x instanceof Matrix) {
    gemmTransAccumulate(ws.cell.grads.W_x, dxp, x);
    if (withBias) sumRows(ws.cell.grads.b, dxp, true);
  } else if (ws.lastEmbedding !== null) {
    scatterEmbeddedGradient(ws, dxp, x, ws.lastEmbedding);
  } else {
    scatterInputGradient(ws, dxp, x);
  }
}

/**
 * Rows of dXP per chunk of `scatterRowsAndBias`: 64 rows of the char-LM's G = 1024 are 256 KiB, still
 * in L2 when the bias sum reads them right after the scatter-add.
 */
const ID_GRADIENT_CHUNK_ROWS = 64;

/**
 * table[id_r] += dXP[r] over the rows and db += Σ_rows dXP (unless the cell adds b itself), both in
 * row order as one scatter-add and one sumRows over all rows would (the same bits), but chunk by
 * chunk: dXP ([T·B, G], 13 MB for the char-LM) is read from memory once instead of twice.
 */
function scatterRowsAndBias(ws: SequenceWorkspace, table: Matrix, dxp: Matrix, ids: Int32Array): void {
  const scatter = scatterAddRowsKernel(), sum = sumRowsKernel();
  const G = ws.cell.gateWidth, bias = ws.cell.ownsBias !== true ? ws.cell.grads.b : null;
  const chunkIds = ws.chunkIds, rows = ws.chunkRows;
  rows.data = dxp.data;
  rows.stride = dxp.stride;
  for (let r0 = 0; r0 < ids.length; r0 += ID_GRADIENT_CHUNK_ROWS) {
    const n = Math.min(ID_GRADIENT_CHUNK_ROWS, ids.length - r0);
    for (let i = 0; i < n; i++) chunkIds[i] = ids[r0 + i];
    rows.offset = dxp.offset + r0 * dxp.stride;
    scatter(n, G, table, chunkIds, rows, -1);
    if (bias !== null) sum(n, G, bias, rows, true);
  }
  rows.data = ws.dx.data; // keep no caller's array
}

/** Checks x (a [T·B, D] matrix or T·B token ids) against the cell and workspace; returns T. */
function checkSequenceInput(op: string, cell: RecurrentCell, ws: SequenceWorkspace, x: Matrix | Int32Array): number {
  const B = ws.batch;
  const D = cell.inputSize;
  if (!(x instanceof Matrix)) {
    if (!(x instanceof Int32Array) || x.length === 0 || x.length % B !== 0 || x.length / B > ws.steps) {
      throw new Error(`${op}: expected x to be [T·B, D] or an Int32Array of T·B token ids with B = ${B} and 1 ≤ T ≤ ${ws.steps}, got ${x instanceof Int32Array ? `${x.length} ids` : typeof x}`);
    }
    return x.length / B;
  }
  if (x.cols !== D || x.rows === 0 || x.rows % B !== 0 || x.rows / B > ws.steps) {
    throw new Error(
      `${op}: expected x to be [T·B, D] with B = ${B}, D = ${D} and 1 ≤ T ≤ ${ws.steps}, got ${shapeOf(x)}`,
    );
  }
  if (x.dtype !== cell.dtype) throw new Error(`${op}: expected x to be ${cell.dtype} like the cell, got ${x.dtype}`);
  return x.rows / B;
}

/** The id path's [D, G] buffer (allocated on first use, then reused). */
function inputWeightT(ws: SequenceWorkspace): Matrix {
  const cell = ws.cell;
  return ws.inputWeightT ?? (ws.inputWeightT = Matrix.zeros(cell.inputSize, cell.gateWidth, cell.dtype));
}

/**
 * XP[r] = W_x[:, id_r]ᵀ + b for the one-hot rows of `ids`: a row gather of W_xᵀ, or — fewer rows
 * than D (a sampling step), where transposing W_x would cost more than the gather — of W_x's columns.
 */
function gatherInputProjection(op: string, ws: SequenceWorkspace, xp: Matrix, ids: Int32Array): void {
  const { params, inputSize: D, gateWidth: G } = ws.cell;
  for (let r = 0; r < ids.length; r++) {
    const id = ids[r];
    if (id < 0 || id >= D) throw new Error(`${op}: expected token ids in [0, ${D}) (the cell's input size), got ${id} at position ${r}`);
  }
  const withBias = ws.cell.ownsBias !== true; // false: the cell adds b itself
  if (ids.length >= D) {
    gatherPerStep(ws, transpose(inputWeightT(ws), params.W_x), ids);
    return;
  }
  const w = params.W_x, wd = w.data, xd = xp.data, bd = params.b.data, bo = params.b.offset;
  for (let r = 0; r < ids.length; r++) {
    const start = w.offset + ids[r], o = xp.offset + r * xp.stride;
    if (withBias) for (let g = 0; g < G; g++) xd[o + g] = wd[start + g * w.stride] + bd[bo + g];
    else for (let g = 0; g < G; g++) xd[o + g] = wd[start + g * w.stride];
  }
}

/**
 * dW_x[:, id_r] += dXP[r] over the rows: summed in row order into dW_xᵀ, then added transposed; or,
 * with fewer rows than D, added into W_x's columns directly.
 */
function scatterInputGradient(ws: SequenceWorkspace, dxp: Matrix, ids: Int32Array): void {
  const { grads, gateWidth: G, inputSize: D } = ws.cell;
  if (ids.length < D) {
    const dW = grads.W_x, wd = dW.data, dd = dxp.data;
    for (let r = 0; r < ids.length; r++) {
      const start = dW.offset + ids[r], o = dxp.offset + r * dxp.stride;
      for (let g = 0; g < G; g++) wd[start + g * dW.stride] += dd[o + g];
    }
    if (ws.cell.ownsBias !== true) sumRows(grads.b, dxp, true);
    return;
  }
  const dwt = inputWeightT(ws);
  zero(dwt);
  scatterRowsAndBias(ws, dwt, dxp, ids);
  const td = dwt.data;
  const dW = grads.W_x, wd = dW.data;
  for (let g = 0; g < G; g++) {
    const w = dW.offset + g * dW.stride;
    for (let d = 0; d < D; d++) wd[w + d] += td[dwt.offset + d * dwt.stride + g];
  }
}

/** The embedded-ids path's [V, G] table for an embedding of V rows, and its [V, D] gradient (made once per V). */
function embeddingTable(ws: SequenceWorkspace, V: number): Matrix {
  const { inputSize: D, gateWidth: G, dtype } = ws.cell;
  if (ws.embeddingTable === null || ws.embeddingTable.rows !== V) {
    ws.embeddingTable = Matrix.zeros(V, G, dtype);
    ws.embeddingGrad = Matrix.zeros(V, D, dtype);
  }
  return ws.embeddingTable;
}

/** P = E·W_xᵀ [V, G], then XP[r] = P[id_r] + b, gathered per step (see the header). */
function gatherEmbeddedProjection(op: string, ws: SequenceWorkspace, ids: Int32Array, E: Matrix): void {
  const { params, inputSize: D, dtype } = ws.cell;
  if (E.cols !== D || E.dtype !== dtype) {
    throw new Error(`${op}: expected the embedding to be [V, ${D}] ${dtype} (the cell's input size and dtype), got ${shapeOf(E)} ${E.dtype}`);
  }
  for (let r = 0; r < ids.length; r++) {
    const id = ids[r];
    if (id < 0 || id >= E.rows) throw new Error(`${op}: expected token ids in [0, ${E.rows}) (the embedding's rows), got ${id} at position ${r}`);
  }
  const table = embeddingTable(ws, E.rows);
  gemm(table, E, params.W_x, false, true, 1, 0);
  gatherPerStep(ws, table, ids);
}

/** Let the forward steps gather XP⟨t⟩ from `table` (+ b unless the cell adds it) as they go. */
function gatherPerStep(ws: SequenceWorkspace, table: Matrix, ids: Int32Array): void {
  const { gateWidth: G, dtype } = ws.cell;
  ws.stepTable = table;
  ws.gatheredPerStep = true;
  ws.stepBias = ws.cell.ownsBias !== true ? ws.cell.params.b : null;
  ws.stepInputIds = ids;
  ws.xpStep ??= Matrix.zeros(ws.batch, G, dtype);
}

/** XP⟨t⟩[b] = stepTable[ids[t·B + b]] (+ b) into ws.xpStep [B, G]; returns it. */
function gatherStepInput(ws: SequenceWorkspace, t: number): Matrix {
  const B = ws.batch, ids = ws.stepInputIds as Int32Array, stepIds = ws.stepIds, xp = ws.xpStep as Matrix;
  for (let b = 0; b < B; b++) stepIds[b] = ids[t * B + b];
  gatherRowsKernel()(B, xp.cols, xp, ws.stepTable as Matrix, stepIds, ws.stepBias);
  return xp;
}

/**
 * xp⟨t⟩ = x⟨t⟩·W_xᵀ + b of step t of the last forward [B, G]: the step's rows of XP, or — when the
 * forward gathered its ids per step — gathered again (into the workspace's step buffer, valid until
 * the next call), which works until the backward pass reuses the gather's table for its gradient.
 * For inspection after a forward (layers/internals.ts), not for the hot path.
 */
export function stepInputProjection(op: string, ws: SequenceWorkspace, t: number): Matrix {
  checkStep(op, ws, t, ws.lastSteps - 1);
  if (ws.stepTable !== null) return gatherStepInput(ws, t);
  if (ws.gatheredPerStep) {
    throw new Error(`${op}: expected no backward pass since the forward over token ids (it reuses the input table), got one: read the step before backward`);
  }
  return ws.xpSteps[t];
}

/** S = the rows of dXP summed per id [V, G], then dW_x += Sᵀ·E (S stays for ∂L/∂E). */
function scatterEmbeddedGradient(ws: SequenceWorkspace, dxp: Matrix, ids: Int32Array, E: Matrix): void {
  const S = embeddingTable(ws, E.rows);
  zero(S);
  scatterRowsAndBias(ws, S, dxp, ids);
  gemm(ws.cell.grads.W_x, S, E, true, false, 1, 1);
}

/** ∂L/∂E = S·W_x [V, D] (after scatterEmbeddedGradient). */
function embeddingInputGradient(ws: SequenceWorkspace): Matrix {
  const S = embeddingTable(ws, (ws.lastEmbedding as Matrix).rows);
  return gemm(ws.embeddingGrad as Matrix, S, ws.cell.params.W_x, false, false, 1, 0);
}

/** The default options of forward and backward (shared: a default `{}` would be a fresh object per call). */
const NO_OPTIONS: Readonly<SequenceForwardOptions & SequenceBackwardOptions> = Object.freeze({});

/** out ← src for two same-shape matrices (checked by the caller), row by row: no views, no allocation. */
function copyRows(out: Matrix, src: Matrix): void {
  const od = out.data, sd = src.data, cols = out.cols;
  for (let r = 0; r < out.rows; r++) {
    const o = out.offset + r * out.stride, s = src.offset + r * src.stride;
    for (let c = 0; c < cols; c++) od[o + c] = sd[s + c];
  }
}

function setInitialState(op: string, cell: RecurrentCell, ws: SequenceWorkspace, h0: readonly Matrix[] | undefined): void {
  const first = ws.prevStates[0];
  if (h0 === undefined) {
    for (const s of first) zero(s);
    return;
  }
  if (h0.length !== cell.stateCount) {
    throw new Error(`${op}: expected h0 to hold ${cell.stateCount} state matrices (${cell.stateCount === 2 ? '[a0, c0]' : '[a0]'}), got ${h0.length}`);
  }
  for (let k = 0; k < h0.length; k++) {
    const s = h0[k];
    // the name is built only on failure (a template string per call would be garbage)
    if (s.rows !== ws.batch || s.cols !== cell.hiddenSize) expectShape(op, `h0[${k}]`, s, ws.batch, cell.hiddenSize);
    if (s.dtype !== cell.dtype) throw new Error(`${op}: expected h0[${k}] to be ${cell.dtype}, got ${s.dtype}`);
    copyRows(first[k], s);
  }
}

function setFinalGradient(
  op: string, cell: RecurrentCell, carry: Matrix[], dFinal: readonly Matrix[] | undefined, batch: number,
): void {
  if (dFinal === undefined) {
    for (const d of carry) zero(d);
    return;
  }
  if (dFinal.length !== cell.stateCount) {
    throw new Error(`${op}: expected dFinal to hold ${cell.stateCount} matrices, got ${dFinal.length}`);
  }
  for (let k = 0; k < dFinal.length; k++) {
    const d = dFinal[k];
    if (d.rows !== batch || d.cols !== cell.hiddenSize) expectShape(op, `dFinal[${k}]`, d, batch, cell.hiddenSize);
    if (d.dtype !== cell.dtype) throw new Error(`${op}: expected dFinal[${k}] to be ${cell.dtype}, got ${d.dtype}`);
    copyRows(carry[k], d);
  }
}

/** Fill ws.valid / ws.stepMasked from a [T, B] mask of 0/1; returns whether any step is padding. */
function readMask(op: string, ws: SequenceWorkspace, mask: Matrix | undefined, T: number): boolean {
  if (mask === undefined) return false;
  expectShape(op, 'mask', mask, T, ws.batch);
  const B = ws.batch;
  let any = false;
  for (let t = 0; t < T; t++) {
    let stepAny = 0;
    const row = mask.offset + t * mask.stride;
    for (let b = 0; b < B; b++) {
      const m = mask.data[row + b];
      if (m !== 0 && m !== 1) throw new Error(`${op}: expected mask entries 0 or 1, got ${m} at [${t}, ${b}]`);
      ws.valid[t * B + b] = m;
      if (m === 0) stepAny = 1;
    }
    ws.stepMasked[t] = stepAny;
    if (stepAny === 1) any = true;
  }
  return any;
}

/** A padded row keeps its state: next[k][b, :] = prev[k][b, :]. */
function carryMaskedRows(ws: SequenceWorkspace, t: number, prev: Matrix[], next: Matrix[]): void {
  const B = ws.batch;
  for (let b = 0; b < B; b++) {
    if (ws.valid[t * B + b] === 1) continue;
    for (let k = 0; k < prev.length; k++) copyRow(next[k], b, prev[k], b);
  }
}

function zeroMaskedRows(m: Matrix, valid: Uint8Array, rows: number): void {
  for (let r = 0; r < rows; r++) {
    if (valid[r] === 0) {
      const o = m.offset + r * m.stride;
      m.data.fill(0, o, o + m.cols);
    }
  }
}

/** carry += dOutputs⟨t⟩ on the valid rows (a padded step's output is the constant 0). */
function addStepOutputGradient(
  ws: SequenceWorkspace, carry: Matrix, dOutputs: Matrix, t: number, B: number, valid: Uint8Array | null,
): void {
  const H = carry.cols;
  if (valid === null) {
    const step = ws.outputStep; // rows [t·B, t·B + B) of dOutputs, without a view object per step
    step.data = dOutputs.data;
    step.offset = dOutputs.offset + t * B * dOutputs.stride;
    step.stride = dOutputs.stride;
    addRowsKernel()(B, H, carry, step);
    return;
  }
  const cd = carry.data, gd = dOutputs.data;
  for (let b = 0; b < B; b++) {
    if (valid !== null && valid[t * B + b] === 0) continue;
    const c = carry.offset + b * carry.stride;
    const g = dOutputs.offset + (t * B + b) * dOutputs.stride;
    for (let j = 0; j < H; j++) cd[c + j] += gd[g + j];
  }
}

/** Before the cell's backward: keep the padded rows' gradient aside and zero them, so the cell sees none. */
function moveMaskedRowsAside(ws: SequenceWorkspace, t: number, carry: Matrix[]): void {
  const B = ws.batch;
  for (let b = 0; b < B; b++) {
    if (ws.valid[t * B + b] === 1) continue;
    for (let k = 0; k < carry.length; k++) {
      copyRow(ws.passThrough[k], b, carry[k], b);
      zeroRow(carry[k], b);
    }
  }
}

/** After the cell's backward: the padded rows' gradient reaches state⟨t−1⟩ unchanged. */
function addPassThrough(ws: SequenceWorkspace, t: number, dPrev: Matrix[]): void {
  const B = ws.batch;
  for (let b = 0; b < B; b++) {
    if (ws.valid[t * B + b] === 1) continue;
    for (let k = 0; k < dPrev.length; k++) {
      const dst = dPrev[k], src = ws.passThrough[k];
      const o = dst.offset + b * dst.stride, s = src.offset + b * src.stride;
      for (let j = 0; j < dst.cols; j++) dst.data[o + j] += src.data[s + j];
    }
  }
}

function copyRow(dst: Matrix, dstRow: number, src: Matrix, srcRow: number): void {
  const o = dst.offset + dstRow * dst.stride, s = src.offset + srcRow * src.stride;
  for (let j = 0; j < dst.cols; j++) dst.data[o + j] = src.data[s + j];
}

function zeroRow(m: Matrix, row: number): void {
  const o = m.offset + row * m.stride;
  m.data.fill(0, o, o + m.cols);
}

/** Fresh copies of a state (e.g. `finalState`, which lives in the workspace). */
export function copyState(state: readonly Matrix[]): Matrix[] {
  return state.map((s) => s.clone());
}

/**
 * The state to carry into the next chunk of truncated BPTT: a copy, cut from the workspace that
 * produced it. There is no autograd graph here — "detaching" means the next chunk takes it as a
 * constant h0 and its dh0 is dropped, so no gradient flows back across the boundary.
 */
export function detachState(state: readonly Matrix[]): Matrix[] {
  return copyState(state);
}

/** out[k] ← src[k] for each state tensor (no allocation; for a loop that carries state in place). */
export function copyStateInto(out: readonly Matrix[], src: readonly Matrix[]): void {
  if (out.length !== src.length) {
    throw new Error(`copyStateInto: expected ${out.length} state matrices, got ${src.length}`);
  }
  for (let k = 0; k < out.length; k++) {
    if (out[k].rows !== src[k].rows || out[k].cols !== src[k].cols) expectSameShape('copyInto', 'out', out[k], 'src', src[k]);
    copyRows(out[k], src[k]);
  }
}

/** A zero state for batch B: [a0] or [a0, c0], each [B, H]. */
export function zeroState(cell: RecurrentCell, batch: number): Matrix[] {
  const out: Matrix[] = [];
  for (let k = 0; k < cell.stateCount; k++) out.push(Matrix.zeros(batch, cell.hiddenSize, cell.dtype));
  return out;
}

/** Zero every gradient buffer of the cell (backward passes accumulate). */
export function zeroGrads(cell: RecurrentCell): void {
  for (const name in cell.grads) zero(cell.grads[name]); // for-in, not Object.values: no array per call
}
