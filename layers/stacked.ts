/**
 * Deep (stacked) RNNs, the notes' "deep RNNs": L recurrent layers, layer l reading the outputs of
 * layer l − 1 at the same step,
 *
 *   a[l]⟨t⟩ = f_l(a[l]⟨t−1⟩, y[l−1]⟨t⟩)        y[−1]⟨t⟩ = x⟨t⟩
 *   y[l]⟨t⟩ = a[l]⟨t⟩                          (plain)
 *   y[l]⟨t⟩ = a[l]⟨t⟩ + y[l−1]⟨t⟩              (residual: a skip connection around layer l)
 * with shapes x [T·B, D], y[l] [T·B, W_l] (W_l = H_l, or H→ + H← for a bidirectional layer).
 *
 * Each layer has its own cell kind and size (`createStack`), or all layers share one
 * configuration (`createStackedRnn`, PyTorch's nn.RNN/GRU/LSTM(num_layers, bidirectional)).
 * A layer is optionally bidirectional (y[l]⟨t⟩ = [a→[l]⟨t⟩, a←[l]⟨t⟩], layers/bidirectional.ts).
 *
 * Skip connections are residual connections *between consecutive layers*, one flag per layer:
 * layer l with `residual: true` adds its own input y[l−1] to its output, which needs equal widths
 * (W_l = W_{l−1}, or W_0 = D for the first layer); a mismatch throws at creation. There is no
 * "input to every layer" skip. `createStackedRnn({ residual: true })` puts one on every layer
 * l ≥ 1 (their widths always match there). At padded steps the sum is set to 0 like every
 * output, so y[l] is 0 at padding for every l.
 *
 * Initial states (h0) and final states are per layer; masks ([T, B], right-padded when any layer
 * is bidirectional) apply to every layer. Backward runs the layers top to bottom:
 *   ∂L/∂y[l−1] = ∂L/∂x of layer l  (+ ∂L/∂y[l] on valid rows when layer l is residual)
 * and accumulates (+=) into every cell's grads. Nothing is allocated per time step.
 *
 * Dropout (optional, `createStack(specs, { dropout: { p, mode } })`): 'between' drops each layer's
 * output except the last's (PyTorch's nn.LSTM dropout), 'variational' drops every layer's input, the
 * stack's output and every cell's recurrent state with one mask per sequence (Gal & Ghahramani);
 * layers/stacked-dropout.ts has the equations. A forward call samples the masks only when given
 * `dropout: { kind: 'sample', rng }` (training); by default it is off (evaluation: the identity).
 */
import { Matrix, copyInto, expectShape, shapeOf, type DType } from '../engine/matrix.js';
import type { CreateOptions } from '../engine/create.js';
import { cellOptionsOf, type CellKind, type CellSettings, type RecurrentCell } from './cells/cell.js';
import { createCell, type CreateCellOptions } from './cells/create-cell.js';
import {
  bidirectionalBackward, bidirectionalForward, bidirectionalParameters, bidirectionalZeroGrads, createBidirectional,
  createBidirectionalWorkspace, isBidirectional, maskLengths,
  type BidirectionalRnn, type BidirectionalWorkspace,
} from './bidirectional.js';
import { DROPOUT_OFF, type DropoutMode } from './dropout.js';
import {
  createSequenceWorkspace, masksRecurrentProducts, sequenceBackward, sequenceForward, zeroGrads, type SequenceWorkspace,
} from './sequence.js';
import {
  StackDropout, beginStackDropout, checkRnnDropout, dropAt, dropBackwardAt, inertDropoutProblem, recurrentMasks,
  type RnnDropout, type RnnDropoutMode,
} from './stacked-dropout.js';

/** One recurrent layer: a single cell (left to right) or a bidirectional pair. */
export type RecurrentUnit = RecurrentCell | BidirectionalRnn;

/**
 * The state of one layer: the forward (or only) direction's [a] / [a, c], and for a
 * bidirectional layer the backward direction's too. A BidirectionalState is a LayerState.
 */
export interface LayerState {
  forward: readonly Matrix[];
  backward?: readonly Matrix[];
}

export interface StackedLayer {
  readonly unit: RecurrentUnit;
  /** y[l] = a[l] + y[l−1] (widths equal). */
  readonly residual: boolean;
  readonly inputSize: number;
  /** W_l: H, or H→ + H← when bidirectional. */
  readonly outputSize: number;
}

export interface StackedRnn {
  readonly layers: readonly StackedLayer[];
  /** D: the width of x. */
  readonly inputSize: number;
  /** W_{L−1}: the width of the top layer's outputs. */
  readonly outputSize: number;
  readonly dtype: DType;
  /** Dropout in training (layers/stacked-dropout.ts); null or absent: none. */
  readonly dropout?: RnnDropout | null;
}

/** A layer of `createStack`: a cell, optionally a second cell for the backward direction, a skip flag. */
export interface StackedLayerSpec {
  cell: RecurrentCell;
  /** When given, the layer is bidirectional with this cell reading right to left. */
  backwardCell?: RecurrentCell;
  /** Add the layer's input to its output (default false). */
  residual?: boolean;
}

/**
 * A stack from explicit layers (any cell per layer); layer l's inputSize must be layer l−1's width.
 * `dropout` with p > 0 adds dropout in training; 'between' needs two layers or more (refused on one, where
 * it would do nothing: inertDropoutProblem); 'variational' needs cells whose a⟨t−1⟩ enters only through W_a
 * (rnn, lstm, lstm-peephole: layers/sequence.ts).
 */
export function createStack(specs: readonly StackedLayerSpec[], opts: { dropout?: RnnDropout | null } = {}): StackedRnn {
  const op = 'createStack';
  if (!Array.isArray(specs) || specs.length === 0) throw new Error(`${op}: expected at least one layer, got ${Array.isArray(specs) ? 0 : typeof specs}`);
  const layers: StackedLayer[] = [];
  const inputSize = specs[0].cell.inputSize;
  const dtype = specs[0].cell.dtype;
  let width = inputSize;
  specs.forEach((spec, l) => {
    const unit: RecurrentUnit = spec.backwardCell ? createBidirectional(spec.cell, spec.backwardCell) : spec.cell;
    if (unit.inputSize !== width) {
      throw new Error(`${op}: expected layer ${l} to read ${width} inputs (${l === 0 ? 'the first cell\'s input size' : `the width of layer ${l - 1}`}), got a cell with inputSize ${unit.inputSize}`);
    }
    if (unit.dtype !== dtype) throw new Error(`${op}: expected every layer to be ${dtype}, layer ${l} is ${unit.dtype}`);
    const outputSize = isBidirectional(unit) ? unit.outputSize : unit.hiddenSize;
    const residual = spec.residual === true;
    if (residual && outputSize !== width) {
      throw new Error(`${op}: a residual layer needs its output width to equal its input width, layer ${l} maps ${width} → ${outputSize}`);
    }
    layers.push({ unit, residual, inputSize: width, outputSize });
    width = outputSize;
  });
  const dropout = opts.dropout ? checkRnnDropout(op, opts.dropout) : null;
  const inert = dropout && inertDropoutProblem(dropout, layers.length);
  if (inert) throw new Error(`${op}: ${inert}`);
  if (dropout?.mode === 'variational') checkVariationalCells(op, layers);
  return { layers, inputSize, outputSize: width, dtype, dropout: dropout && dropout.p > 0 ? dropout : null };
}

function checkVariationalCells(op: string, layers: readonly StackedLayer[]): void {
  for (const [l, layer] of layers.entries()) {
    const cells = isBidirectional(layer.unit) ? [layer.unit.forward, layer.unit.backward] : [layer.unit];
    const bad = cells.find((c) => !masksRecurrentProducts(c));
    if (bad) {
      throw new Error(`${op}: variational dropout masks the recurrent state a⟨t−1⟩ where W_a reads it, which needs an rnn, lstm or lstm-peephole cell; layer ${l} is ${bad.kind} (use dropout mode 'between')`);
    }
  }
}

/** PyTorch-style configuration of a uniform stack (nn.LSTM(input_size, hidden_size, num_layers, bidirectional)). */
export interface StackedRnnOptions extends Omit<CreateCellOptions, 'inputSize'> {
  kind: CellKind;
  inputSize: number;
  /** L ≥ 1 (default 1). */
  numLayers?: number;
  /** Every layer bidirectional (default false): layers l ≥ 1 then read 2H inputs. */
  bidirectional?: boolean;
  /** A residual connection around every layer l ≥ 1 (default false). */
  residual?: boolean;
  /** Dropout probability in training (default 0: none), PyTorch's `dropout` with mode 'between'. */
  dropout?: number;
  /** 'between' (default) or 'variational' (layers/stacked-dropout.ts). */
  dropoutMode?: RnnDropoutMode;
}

/** The structure of a uniform stack (the rng belongs in the constructor's options). */
export type StackedRnnConfig = CellSettings<StackedRnnOptions>;

/**
 * L layers of one cell kind and hidden size. Cells are created (and initialised from options.rng,
 * default seed: engine/create.ts) in PyTorch's order: layer 0 forward, layer 0 backward, layer 1 forward, …
 */
export function createStackedRnn(config: StackedRnnConfig, options?: CreateOptions): StackedRnn {
  const opts = cellOptionsOf<StackedRnnOptions>('createStackedRnn', config, options);
  const numLayers = opts.numLayers ?? 1;
  if (!Number.isInteger(numLayers) || numLayers < 1) {
    throw new Error(`createStackedRnn: expected numLayers to be a positive integer, got ${numLayers}`);
  }
  const { kind, numLayers: _n, bidirectional, residual, dropout, dropoutMode, ...cellOpts } = opts;
  const inert = dropout ? inertDropoutProblem(checkRnnDropout('createStackedRnn', { p: dropout, mode: dropoutMode ?? 'between' }), numLayers, 'numLayers') : null;
  if (inert) throw new Error(`createStackedRnn: ${inert}`);
  const specs: StackedLayerSpec[] = [];
  let width = opts.inputSize;
  for (let l = 0; l < numLayers; l++) {
    const { rng, dtype, ...settings } = cellOpts;
    const cell = createCell({ ...settings, kind, inputSize: width }, { rng, dtype });
    const backwardCell = bidirectional ? createCell({ ...settings, kind, inputSize: width }, { rng, dtype }) : undefined;
    specs.push({ cell, backwardCell, residual: residual === true && l > 0 });
    width = bidirectional ? 2 * opts.hiddenSize : opts.hiddenSize;
  }
  return createStack(specs, { dropout: dropout ? { p: dropout, mode: dropoutMode ?? 'between' } : null });
}

type UnitWorkspace = SequenceWorkspace | BidirectionalWorkspace;

/** Buffers of a whole stack for up to T steps of batch B, allocated once. Fields are internal. */
export class StackedWorkspace {
  readonly stack: StackedRnn;
  readonly steps: number;
  readonly batch: number;
  readonly units: UnitWorkspace[];
  /** y[l] of residual layers  [T·B, W_l] (null for plain layers, whose y[l] is the unit's output). */
  readonly sums: (Matrix | null)[];
  /** ∂L/∂y[l−1] = dx_l + ∂L/∂y[l] for residual layers  [T·B, W_{l−1}] (null for plain layers). */
  readonly dInputs: (Matrix | null)[];
  readonly lengths: Int32Array;
  /** The dropout masks and buffers (null: the stack has no dropout). */
  readonly dropout: StackDropout | null;
  readonly finalState: LayerState[];
  readonly dh0: LayerState[];
  lastSteps = 0;
  lastMask: Matrix | undefined = undefined;
  /** The last forward read token ids (one-hot) instead of an input matrix. */
  lastReadIds = false;
  /** The embedding the last forward's ids went through (folded into layer 0), or null. */
  lastEmbedding: Matrix | null = null;
  /** Option and result objects reused by every call: no allocation per training step. */
  readonly sequenceForwardOpts: {
    h0: readonly Matrix[] | undefined; mask: Matrix | undefined; recurrentMask: Matrix | null; embedding: Matrix | null;
  } = { h0: undefined, mask: undefined, recurrentMask: null, embedding: null };
  readonly bidirectionalForwardOpts: {
    h0: LayerState | undefined; mask: Matrix | undefined; recurrentMasks: { forward: Matrix | null; backward: Matrix | null } | undefined;
  } = { h0: undefined, mask: undefined, recurrentMasks: undefined };
  readonly sequenceBackwardOpts: { dFinal: readonly Matrix[] | undefined; inputGradient: boolean } = { dFinal: undefined, inputGradient: true };
  readonly bidirectionalBackwardOpts: { dFinal: LayerState | undefined; inputGradient: boolean } = { dFinal: undefined, inputGradient: true };
  readonly forwardResult: { outputs: Matrix | null; finalState: readonly LayerState[] };
  readonly backwardResult: { dx: Matrix | null; dh0: readonly LayerState[]; dEmbedding: Matrix | null };

  constructor(stack: StackedRnn, steps: number, batch: number) {
    this.stack = stack;
    this.steps = steps;
    this.batch = batch;
    this.units = stack.layers.map((layer) => (isBidirectional(layer.unit)
      ? createBidirectionalWorkspace(layer.unit, steps, batch)
      : createSequenceWorkspace(layer.unit, steps, batch)));
    this.sums = stack.layers.map((layer) => (layer.residual ? Matrix.zeros(steps * batch, layer.outputSize, stack.dtype) : null));
    this.dInputs = stack.layers.map((layer) => (layer.residual ? Matrix.zeros(steps * batch, layer.inputSize, stack.dtype) : null));
    this.lengths = new Int32Array(batch);
    this.dropout = stack.dropout ? createStackDropout(stack, stack.dropout, steps, batch) : null;
    this.finalState = stack.layers.map(() => ({ forward: [] }));
    this.dh0 = stack.layers.map(() => ({ forward: [] }));
    this.forwardResult = { outputs: null, finalState: this.finalState };
    this.backwardResult = { dx: null, dh0: this.dh0, dEmbedding: null };
  }
}

function createStackDropout(stack: StackedRnn, config: RnnDropout, steps: number, batch: number): StackDropout {
  const widths = [...stack.layers.map((layer) => layer.inputSize), stack.outputSize];
  const hidden = stack.layers.map((layer) => (isBidirectional(layer.unit)
    ? { forward: layer.unit.forward.hiddenSize, backward: layer.unit.backward.hiddenSize }
    : { forward: layer.unit.hiddenSize, backward: null }));
  return new StackDropout(config, widths, hidden, steps, batch, stack.dtype);
}

export function createStackedWorkspace(stack: StackedRnn, steps: number, batch: number): StackedWorkspace {
  if (!Number.isInteger(steps) || steps < 1 || !Number.isInteger(batch) || batch < 1) {
    throw new Error(`createStackedWorkspace: expected positive integer steps and batch, got T=${steps}, B=${batch}`);
  }
  return new StackedWorkspace(stack, steps, batch);
}

export interface StackedForwardOptions {
  /** Initial state per layer (entries may be undefined: zeros); length L. Copied. */
  h0?: readonly (LayerState | undefined)[];
  /** [T, B] validity mask (1 = real step; right-padded when a layer is bidirectional). */
  mask?: Matrix;
  /**
   * The stack's dropout in this call: DROPOUT_OFF (default: evaluation), `{ kind: 'sample', rng }`
   * (training: fresh masks) or DROPOUT_FIXED (the masks of the previous call: gradient checks).
   */
  dropout?: DropoutMode;
  /**
   * With token ids: the embedding E [V, D] they index, folded into the first layer's input
   * projection (layers/sequence.ts); backward then gives ∂L/∂E as `dEmbedding`. Not with a dropout
   * of the stack's input (variational), which would have to drop E[ids] itself.
   */
  embedding?: Matrix | null;
}

export interface StackedForwardResult {
  /** y[L−1]  [T·B, W], 0 at padded steps (a view into the workspace). */
  outputs: Matrix;
  /** Final state per layer (views into the workspace). */
  finalState: readonly LayerState[];
}

export interface StackedBackwardOptions {
  /** ∂L/∂finalState per layer (undefined entries: none), e.g. from a decoder; length L. */
  dFinal?: readonly (LayerState | undefined)[];
  /** false: skip ∂L/∂x (dx is null), e.g. when x is data. Default true. */
  inputGradient?: boolean;
}

export interface StackedBackwardResult {
  /** ∂L/∂x  [T·B, D] (written; 0 at padded steps), or null with inputGradient: false. */
  dx: Matrix | null;
  /** ∂L/∂h0 per layer (views into the workspace). */
  dh0: readonly LayerState[];
  /** ∂L/∂E [V, D] (written) after a forward of ids through `embedding` with inputGradient; else null. */
  dEmbedding: Matrix | null;
}

function checkWorkspace(op: string, stack: StackedRnn, ws: StackedWorkspace): void {
  if (ws.stack !== stack) {
    throw new Error(`${op}: expected a workspace created for this stack (createStackedWorkspace(stack, T, B)), got one of another stack`);
  }
}

function checkPerLayer(op: string, name: string, list: readonly unknown[] | undefined, L: number): void {
  if (list !== undefined && list.length !== L) {
    throw new Error(`${op}: expected ${name} to hold one entry per layer (${L}), got ${list.length}`);
  }
}

function zeroPaddedRows(m: Matrix, mask: Matrix, B: number): void {
  for (let r = 0; r < m.rows; r++) {
    if (mask.get(Math.floor(r / B), r % B) === 0) {
      const o = m.offset + r * m.stride;
      m.data.fill(0, o, o + m.cols);
    }
  }
}

/**
 * Forward through every layer: x [T·B, D] (T ≤ ws.steps) → y[L−1] [T·B, W]. Returns views into
 * `ws`. x is read again by backward: do not change it in between.
 * x may also be T·B token ids (an Int32Array): one-hot inputs of width D that the first layer
 * reads by a row gather of its W_x (layers/sequence.ts); that layer must then be unidirectional
 * and not residual, and backward needs inputGradient: false.
 */
export function stackedForward(
  stack: StackedRnn, ws: StackedWorkspace, x: Matrix | Int32Array, opts: StackedForwardOptions = {},
): StackedForwardResult {
  const op = 'stackedForward';
  checkWorkspace(op, stack, ws);
  const B = ws.batch;
  const T = checkStackInput(op, stack, ws, x);
  const L = stack.layers.length;
  checkPerLayer(op, 'h0', opts.h0, L);
  if (opts.mask) maskLengthsOrShape(op, ws, opts.mask, T, B);

  const mode = opts.dropout ?? DROPOUT_OFF;
  const embedding = x instanceof Matrix ? null : opts.embedding ?? null;
  if (embedding !== null && ws.dropout !== null && ws.dropout.points[0] !== null) {
    throw new Error(`${op}: an embedding folded into the first layer needs a stack that does not drop its input, got ${ws.dropout.config.mode} dropout (pass x = E[ids] instead)`);
  }
  const drop = ws.dropout !== null && beginStackDropout(ws.dropout, mode) ? ws.dropout : null;
  let input: Matrix | Int32Array = x;
  for (let l = 0; l < L; l++) {
    const layer = stack.layers[l];
    const h0 = opts.h0?.[l];
    if (input instanceof Matrix) input = dropAt(drop, l, input, mode);
    const masks = recurrentMasks(drop, l);
    let outputs: Matrix;
    if (isBidirectional(layer.unit)) {
      const unitOpts = ws.bidirectionalForwardOpts;
      unitOpts.h0 = h0;
      unitOpts.mask = opts.mask;
      unitOpts.recurrentMasks = masks ?? undefined;
      const r = bidirectionalForward(layer.unit, ws.units[l] as BidirectionalWorkspace, input as Matrix, unitOpts);
      outputs = r.outputs;
      ws.finalState[l].forward = r.finalState.forward;
      ws.finalState[l].backward = r.finalState.backward;
    } else {
      if (h0?.backward !== undefined) throw new Error(`${op}: layer ${l} is unidirectional, got a backward initial state for it`);
      const unitOpts = ws.sequenceForwardOpts;
      unitOpts.h0 = h0?.forward;
      unitOpts.mask = opts.mask;
      unitOpts.recurrentMask = masks?.forward ?? null;
      unitOpts.embedding = l === 0 ? embedding : null;
      const r = sequenceForward(layer.unit, ws.units[l] as SequenceWorkspace, input, unitOpts);
      outputs = r.outputs;
      ws.finalState[l].forward = r.finalState;
    }
    if (layer.residual) {
      const sum = (ws.sums[l] as Matrix).rowView(0, T * B);
      addInto(sum, outputs, input as Matrix);
      if (opts.mask) zeroPaddedRows(sum, opts.mask, B);
      outputs = sum;
    }
    input = outputs;
  }
  input = dropAt(drop, L, input as Matrix, mode);
  ws.lastSteps = T;
  ws.lastMask = opts.mask;
  ws.lastReadIds = !(x instanceof Matrix);
  ws.lastEmbedding = embedding;
  ws.forwardResult.outputs = input as Matrix;
  return ws.forwardResult as StackedForwardResult;
}

/** x: [T·B, D], or T·B token ids when the first layer can read them; returns T. */
function checkStackInput(op: string, stack: StackedRnn, ws: StackedWorkspace, x: Matrix | Int32Array): number {
  const B = ws.batch;
  if (x instanceof Matrix) {
    if (x.cols !== stack.inputSize || x.rows === 0 || x.rows % B !== 0 || x.rows / B > ws.steps) {
      throw new Error(`${op}: expected x to be [T·B, D] with B = ${B}, D = ${stack.inputSize} and 1 ≤ T ≤ ${ws.steps}, got ${shapeOf(x)}`);
    }
    return x.rows / B;
  }
  const first = stack.layers[0];
  if (isBidirectional(first.unit) || first.residual) {
    throw new Error(`${op}: token-id input needs a unidirectional, non-residual first layer, got a ${isBidirectional(first.unit) ? 'bidirectional' : 'residual'} one (pass one-hot rows [T·B, D] instead)`);
  }
  if (!(x instanceof Int32Array) || x.length === 0 || x.length % B !== 0 || x.length / B > ws.steps) {
    throw new Error(`${op}: expected x to be [T·B, D] or an Int32Array of T·B token ids with B = ${B} and 1 ≤ T ≤ ${ws.steps}, got ${x instanceof Int32Array ? `${x.length} ids` : typeof x}`);
  }
  return x.length / B;
}

/** Shape-check the mask here so the error names the stack (the units re-check its entries). */
function maskLengthsOrShape(op: string, ws: StackedWorkspace, mask: Matrix, T: number, B: number): void {
  expectShape(op, 'mask', mask, T, B);
  if (ws.stack.layers.some((layer) => isBidirectional(layer.unit))) maskLengths(op, ws.lengths, mask, T, B);
}

/** out = a + b (same shapes; out may be a fresh buffer, a and b views). */
function addInto(out: Matrix, a: Matrix, b: Matrix): void {
  for (let r = 0; r < out.rows; r++) {
    const o = out.offset + r * out.stride, p = a.offset + r * a.stride, q = b.offset + r * b.stride;
    for (let c = 0; c < out.cols; c++) out.data[o + c] = a.data[p + c] + b.data[q + c];
  }
}

/**
 * BPTT through every layer of the last forward of `ws`, top to bottom. dOutputs [T·B, W] is
 * ∂L/∂y[L−1] (null: the loss sits on final states only). Accumulates (+=) into every cell's grads.
 */
export function stackedBackward(
  stack: StackedRnn, ws: StackedWorkspace, dOutputs: Matrix | null, opts: StackedBackwardOptions = {},
): StackedBackwardResult {
  const op = 'stackedBackward';
  checkWorkspace(op, stack, ws);
  const T = ws.lastSteps;
  if (T === 0) throw new Error(`${op}: expected a stackedForward on this workspace first, got none`);
  const B = ws.batch;
  const L = stack.layers.length;
  checkPerLayer(op, 'dFinal', opts.dFinal, L);
  if (dOutputs !== null) {
    expectShape(op, 'dOutputs', dOutputs, T * B, stack.outputSize);
    if (dOutputs.dtype !== stack.dtype) throw new Error(`${op}: expected dOutputs to be ${stack.dtype}, got ${dOutputs.dtype}`);
  }
  const wantInput = opts.inputGradient !== false;
  if (wantInput && ws.lastReadIds && ws.lastEmbedding === null) {
    throw new Error(`${op}: the last forward read token ids (one-hot input, data): expected inputGradient: false, got true`);
  }

  const drop = ws.dropout;
  let dOut: Matrix | null = dOutputs === null ? null : dropBackwardAt(drop, L, dOutputs);
  for (let l = L - 1; l >= 0; l--) {
    const layer = stack.layers[l];
    const dFinal = opts.dFinal?.[l];
    // Layer 0's dx is only needed when the caller wants ∂L/∂x.
    const inputGradient = l > 0 || wantInput;
    let dx: Matrix | null;
    if (isBidirectional(layer.unit)) {
      const unitOpts = ws.bidirectionalBackwardOpts;
      unitOpts.dFinal = dFinal;
      unitOpts.inputGradient = inputGradient;
      const r = bidirectionalBackward(layer.unit, ws.units[l] as BidirectionalWorkspace, dOut, unitOpts);
      dx = r.dx;
      ws.dh0[l].forward = r.dh0.forward;
      ws.dh0[l].backward = r.dh0.backward;
    } else {
      if (dFinal?.backward !== undefined) throw new Error(`${op}: layer ${l} is unidirectional, got a backward final-state gradient for it`);
      const unitOpts = ws.sequenceBackwardOpts;
      unitOpts.dFinal = dFinal?.forward;
      unitOpts.inputGradient = inputGradient;
      const r = sequenceBackward(layer.unit, ws.units[l] as SequenceWorkspace, dOut, unitOpts);
      dx = r.dx;
      if (l === 0) ws.backwardResult.dEmbedding = r.dEmbedding ?? null;
      ws.dh0[l].forward = r.dh0;
    }
    if (layer.residual && inputGradient) {
      // y[l] = a[l] + y[l−1] on valid rows (0 at padding): the skip passes ∂L/∂y[l] straight down.
      const sum = (ws.dInputs[l] as Matrix).rowView(0, T * B);
      if (dOut === null) {
        copyInto(sum, dx as Matrix);
      } else {
        addInto(sum, dx as Matrix, dOut);
        if (ws.lastMask) zeroPaddedRows(sum, ws.lastMask, B);
      }
      dx = sum;
    }
    // Layer l read u[l] = y[l−1] ∗ m: ∂L/∂y[l−1] = ∂L/∂u[l] ∗ m (nothing was dropped at token ids).
    dOut = dx === null || (l === 0 && ws.lastReadIds) ? dx : dropBackwardAt(drop, l, dx);
  }
  ws.backwardResult.dx = wantInput && !ws.lastReadIds ? dOut : null;
  return ws.backwardResult;
}

/** Zero every cell's gradient buffers. */
export function stackedZeroGrads(stack: StackedRnn): void {
  for (const layer of stack.layers) {
    if (isBidirectional(layer.unit)) bidirectionalZeroGrads(layer.unit);
    else zeroGrads(layer.unit);
  }
}

/**
 * Parameters and gradients by name: `${prefix}l${l}.${param}` and, for bidirectional layers,
 * `${prefix}l${l}_reverse.${param}` (e.g. 'l0.W_x', 'l1_reverse.W_a').
 */
export function stackedParameters(
  stack: StackedRnn, prefix = '',
): { params: Record<string, Matrix>; grads: Record<string, Matrix> } {
  const params: Record<string, Matrix> = {};
  const grads: Record<string, Matrix> = {};
  stack.layers.forEach((layer, l) => {
    const name = `${prefix}l${l}`;
    if (isBidirectional(layer.unit)) {
      const p = bidirectionalParameters(layer.unit, name);
      Object.assign(params, p.params);
      Object.assign(grads, p.grads);
    } else {
      for (const k of Object.keys(layer.unit.params)) {
        params[`${name}.${k}`] = layer.unit.params[k];
        grads[`${name}.${k}`] = layer.unit.grads[k];
      }
    }
  });
  return { params, grads };
}

/** Fresh zero initial states for every layer (batch B), shaped like the stack's final states. */
export function stackedZeroState(stack: StackedRnn, batch: number): LayerState[] {
  const zeros = (cell: RecurrentCell): Matrix[] => Array.from({ length: cell.stateCount }, () => Matrix.zeros(batch, cell.hiddenSize, cell.dtype));
  return stack.layers.map((layer) => (isBidirectional(layer.unit)
    ? { forward: zeros(layer.unit.forward), backward: zeros(layer.unit.backward) }
    : { forward: zeros(layer.unit) }));
}

/** Fresh copies of a per-layer state (final states live in the workspace). */
export function copyLayerStates(states: readonly LayerState[]): LayerState[] {
  return states.map((s) => (s.backward
    ? { forward: s.forward.map((m) => m.clone()), backward: s.backward.map((m) => m.clone()) }
    : { forward: s.forward.map((m) => m.clone()) }));
}
