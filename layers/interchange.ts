/**
 * Weight interchange with PyTorch and Keras: how seqgrad's fused cell parameters map to the
 * layouts of other frameworks. (Whole-model JSON of seqgrad's own, exact to the bit, lives in
 * training/layer-json.ts.)
 *
 * ## seqgrad's own layout (layers/cells/cell.ts; H = hidden size, D = input size, rows in blocks of H)
 *
 *   kind               row blocks of W_x [G, D], W_a [G, H]   b [1, G]             other parameters
 *   'rnn'              [a]            G = H                   [b_a]                —
 *   'gru-reset-after'  [r z n]        G = 3H                  [b_ir b_iz b_in]     b_a [1, 3H] = [b_hr b_hz b_hn]
 *   'gru'              [Γr Γu c̃]      G = 3H                  [b_r b_u b_c]        —
 *   'gru-simple'       [Γu c̃]         G = 2H                  [b_u b_c]            —
 *   'lstm'             [Γu Γf c̃ Γo]   G = 4H                  [b_u b_f b_c b_o]    —
 *   'lstm-peephole'    [Γu Γf c̃ Γo]   G = 4H                  [b_u b_f b_c b_o]    p_u, p_f, p_o [1, H] each
 * Weights are [out, in]: W_x·x computes the gate pre-activations of a column vector x.
 *
 * ## PyTorch (nn.RNN tanh/relu, nn.GRU, nn.LSTM; any num_layers; bidirectional)
 *
 * A state_dict (`module.state_dict()`) has, for layer k = 0 … L−1 and each direction (the
 * backward direction's names end in `_reverse`), in this order:
 *   weight_ih_l{k}[_reverse]  (G, in_k)   in_0 = D, in_k = H·num_directions for k ≥ 1
 *   weight_hh_l{k}[_reverse]  (G, H)
 *   bias_ih_l{k}[_reverse]    (G)
 *   bias_hh_l{k}[_reverse]    (G)
 * with gate rows [i f g o] (LSTM, G = 4H) and [r z n] (GRU, G = 3H): exactly seqgrad's row
 * blocks, so the weights are copies. The biases:
 *   - nn.GRU is seqgrad's 'gru-reset-after': bias_ih → b, bias_hh → b_a (both kept; b_hn sits
 *     inside r ∗ (W_hn h + b_hn) and cannot be merged).
 *   - nn.RNN and nn.LSTM only ever use bias_ih + bias_hh, and seqgrad keeps that sum as its one
 *     bias b. Loading sums them; saving writes b into bias_ih and zeros into bias_hh. The round
 *     trip PyTorch → seqgrad → PyTorch therefore preserves every output and gradient, not the
 *     split. The gradient of each of the two biases is ∂L/∂b (`rnnGradStateDict`).
 * seqgrad targets: a cell (keys of layer 0), a BidirectionalRnn (l0 and l0_reverse) or a
 * StackedRnn (l0 … l{L−1}, `_reverse` for bidirectional layers), of kinds 'rnn',
 * 'gru-reset-after' and 'lstm'. What the state_dict does not carry, the caller must match when
 * creating the seqgrad layer: nn.RNN's nonlinearity (the cell's `activation`), the sizes,
 * num_layers and bidirectional. Not supported: bias=False (no bias keys), LSTM proj_size > 0
 * (weight_hr_l{k}), residual stacks (PyTorch has no skip connections).
 *
 * Initial and final states: PyTorch's h0/h_n (and c0/c_n) are (num_layers·num_directions, B, H)
 * in the order layer 0 forward, layer 0 backward, layer 1 forward, …; entry i of the first axis
 * is seqgrad's [B, H] state of that layer and direction. PyTorch's input (T, B, D) flattened to
 * (T·B, D) is seqgrad's time-major [T·B, D] sequence; a PackedSequence of lengths T_b is seqgrad's
 * [T, B] right-padded mask.
 *
 * ## A state_dict as JSON
 *
 * `TorchStateDict` maps each name to either `{ shape: number[], data: number[] }` (the entries
 * in row-major order) or nested arrays (what `tensor.tolist()` gives). Loading accepts both;
 * saving writes `{ shape, data }` (or nested arrays with `{ nested: true }`). In Python:
 *   import json, torch
 *   sd = {k: torch.tensor(v['data'], dtype=torch.float64).reshape(v['shape']) for k, v in json.load(open(p)).items()}
 *   module.load_state_dict(sd)                                       # JSON → PyTorch
 *   json.dump({k: {'shape': list(v.shape), 'data': v.flatten().tolist()}
 *              for k, v in module.state_dict().items()}, open(p, 'w'))  # PyTorch → JSON
 * `prefix` addresses the recurrent module inside a bigger model's state_dict ('rnn.' for
 * `self.rnn = nn.LSTM(…)`); keys without the prefix are then ignored. seqgrad's own names follow
 * the same module structure (namedParameters, layers/architectures.ts): a model's rnn.l{k}[_reverse].W_x
 * is rnn.weight_ih_l{k}[_reverse] of a PyTorch model whose stack is `self.rnn` (prefix 'rnn.'),
 * and its embedding.weight is nn.Embedding's `embedding.weight`.
 *
 * ## Keras (SimpleRNN, GRU, LSTM; recurrent_activation 'sigmoid', use_bias=True)
 *
 * `layer.get_weights()` = [kernel (D, G), recurrent_kernel (U, G), bias]: [in, out], i.e. the
 * transposes of seqgrad's W_x and W_a, with gate columns
 *   SimpleRNN  [h]        bias (U)                            → 'rnn' (activation tanh or relu)
 *   LSTM       [i f c o]  bias (4U)                           → 'lstm' (same order; one bias)
 *   GRU reset_after=True (the default since TF 2)  [z r h], bias (2, 3U) = [input; recurrent]
 *                                                             → 'gru-reset-after': reorder to
 *              [r z n]; bias row 0 → b, row 1 → b_a. z is PyTorch's z (h′ = z ∗ h + (1 − z) ∗ hh).
 *   GRU reset_after=False  [z r h], bias (3U)                 → the notes' 'gru':
 *              hh = tanh(x·K_h + b_h + (r ∗ h)·R_h) is the notes' c̃ (reset before the matmul)
 *              and h′ = z ∗ h + (1 − z) ∗ hh is the notes' c = Γu ∗ c̃ + (1 − Γu) ∗ c⟨t−1⟩ with
 *              Γu = 1 − z = σ(−(x·K_z + h·R_z + b_z)): the z block is loaded NEGATED (kernel,
 *              recurrent kernel and bias) into the Γu rows; r → Γr rows, h → c̃ rows.
 * Keras 2.2 and TensorFlow.js default recurrent_activation to 'hard_sigmoid': such weights do not
 * fit seqgrad's σ gates (retrain or convert with the sigmoid activation).
 * Keras' Bidirectional wrapper holds a forward_layer and a backward_layer: load each into the
 * BidirectionalRnn's `forward` and `backward` cell (its backward outputs are re-reversed before
 * the concatenation, as seqgrad's are).
 *
 * ## Cells neither framework has (seqgrad JSON only)
 *
 *   'lstm-peephole' (Gers & Schmidhuber 2000): the 'lstm' layout above plus three diagonal
 *     peephole vectors p_u, p_f, p_o [1, H]:  Γu = σ(… + p_u ∗ c⟨t−1⟩), Γf = σ(… + p_f ∗ c⟨t−1⟩),
 *     Γo = σ(… + p_o ∗ c⟨t⟩). (TF 2's tf.keras.experimental.PeepholeLSTMCell, since removed, had
 *     these equations on top of the Keras LSTM layout, with three (U) peephole vectors; its
 *     default recurrent_activation was hard_sigmoid.)
 *   'gru-simple' (the notes' simplified GRU, Γr ≡ 1): W_x [2H, D], W_a [2H, H] row blocks
 *     [Γu c̃], b [1, 2H] = [b_u b_c].
 *   'gru' (the notes' full GRU): no PyTorch equivalent (reset before the matmul); Keras
 *     reset_after=False as above.
 */
import type { Matrix } from '../engine/matrix.js';
import { isBidirectional, type BidirectionalRnn } from './bidirectional.js';
import type { CellKind, RecurrentCell } from './cells/cell.js';
import type { StackedRnn } from './stacked.js';

/** A tensor as JSON: `{ shape, data }` (row-major entries) or nested arrays (tensor.tolist()). */
export type TensorJSON = { shape: number[]; data: ArrayLike<number> } | number[] | number[][];

/** A PyTorch state_dict as JSON: name → tensor. */
export type TorchStateDict = Record<string, TensorJSON>;

/** Anything seqgrad can map to a PyTorch recurrent module: a cell, a bidirectional pair, a stack. */
export type RecurrentLayer = RecurrentCell | BidirectionalRnn | StackedRnn;

export interface StateDictOptions {
  /** Prepended to every key ('rnn.' for a submodule named rnn). Default ''. */
  prefix?: string;
}

/** Options of loadRnnStateDict. */
export interface LoadStateDictOptions extends StateDictOptions {
  /**
   * What an unexpected key does. 'error': every key under the prefix that the layer lacks throws. 'ignore':
   * none does. Default: 'error' with a prefix; without one (a state_dict with the model's other parts
   * beside the recurrent module's keys), only keys named like a recurrent parameter (`weight_ih_l2`,
   * `weight_hr_l0`, `bias_hh_l1_reverse`, …: a structure that does not match) throw, the rest are ignored.
   */
  extraKeys?: 'error' | 'ignore';
}

/** PyTorch's names of nn.RNN/GRU/LSTM parameters (weight_hr: LSTM projections). */
const RECURRENT_KEY = /^(weight|bias)_(ih|hh|hr)_l\d+(_reverse)?$/;

export interface StateDictSaveOptions extends StateDictOptions {
  /** Write nested arrays (like tensor.tolist()) instead of { shape, data }. Default false. */
  nested?: boolean;
}

/** True for a StackedRnn (as opposed to a cell or a bidirectional pair). */
export function isStackedRnn(layer: RecurrentLayer): layer is StackedRnn {
  return Array.isArray((layer as StackedRnn).layers);
}

// ---------------------------------------------------------------------------------------------
// Tensors as JSON

interface Tensor {
  shape: number[];
  data: ArrayLike<number>;
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value;
}

/** Parse `{ shape, data }` or nested arrays into a flat tensor; throws naming `key`. */
function readTensor(op: string, key: string, value: unknown): Tensor {
  const bad = (what: string): never => {
    throw new Error(`${op}: key '${key}': expected { shape, data } or nested arrays of numbers, ${what}`);
  };
  let tensor: Tensor;
  if (Array.isArray(value)) {
    tensor = flattenNested(value, bad);
  } else if (value !== null && typeof value === 'object' && 'shape' in value && 'data' in value) {
    const { shape, data } = value as { shape: unknown; data: unknown };
    if (!Array.isArray(shape) || !shape.every((n) => Number.isInteger(n) && n >= 0)) {
      return bad(`got shape ${JSON.stringify(shape)}`);
    }
    const isArrayLike = Array.isArray(data) || ArrayBuffer.isView(data);
    if (!isArrayLike) return bad(`got data of type ${describeValue(data)}`);
    const flat = data as ArrayLike<number>;
    const n = shape.reduce((a: number, b: number) => a * b, 1);
    if (flat.length !== n) return bad(`got shape ${formatShape(shape)} (${n} entries) with ${flat.length} data entries`);
    tensor = { shape: shape as number[], data: flat };
  } else {
    return bad(`got ${describeValue(value)}`);
  }
  for (let i = 0; i < tensor.data.length; i++) {
    const v = tensor.data[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) bad(`got ${String(v)} at flat index ${i}`);
  }
  return tensor;
}

/** Nested arrays → { shape, data }, checking that every sub-array of a level has one length. */
function flattenNested(value: unknown[], bad: (what: string) => never): Tensor {
  const shape: number[] = [];
  let level: unknown = value;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  const data: number[] = [];
  const walk = (v: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (Array.isArray(v)) bad(`got an array at ${path}, deeper than the first entry's nesting`);
      data.push(v as number);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      bad(`got a ragged array: ${path} has ${describeValue(v)}, expected an array of ${shape[depth]}`);
    }
    (v as unknown[]).forEach((w, i) => walk(w, depth + 1, `${path}[${i}]`));
  };
  walk(value, 0, 'value');
  return { shape, data };
}

function writeTensor(shape: number[], data: number[], nested: boolean): TensorJSON {
  if (!nested) return { shape, data };
  if (shape.length === 1) return data;
  const out: number[][] = [];
  for (let r = 0; r < shape[0]; r++) out.push(data.slice(r * shape[1], (r + 1) * shape[1]));
  return out;
}

/** Row-major entries of a matrix (any stride). */
function flatten(m: Matrix): number[] {
  const out: number[] = [];
  for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) out.push(m.get(r, c));
  return out;
}

/** m ← data (row-major, m.rows·m.cols entries). */
function fillFrom(m: Matrix, data: ArrayLike<number>): void {
  for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) m.set(r, c, data[r * m.cols + c]);
}

// ---------------------------------------------------------------------------------------------
// PyTorch

const TORCH_KINDS: readonly CellKind[] = ['rnn', 'gru-reset-after', 'lstm'];

function torchUnsupported(kind: CellKind): string {
  switch (kind) {
    case 'gru':
      return "PyTorch has no GRU with the reset before the matmul (the notes' 'gru'): nn.GRU is seqgrad's 'gru-reset-after'; "
        + "the notes' GRU maps to Keras GRU(reset_after=False) (loadKerasWeights) or to seqgrad JSON (layerToJSON)";
    case 'gru-simple':
    case 'lstm-peephole':
      return `PyTorch has no '${kind}' cell: save it as seqgrad JSON (layerToJSON; layout in layers/interchange.ts)`;
    default:
      return `PyTorch has no '${kind}' cell`;
  }
}

/** One direction of one layer: its cell and PyTorch's name suffix ('l0', 'l1_reverse', …). */
interface TorchUnit {
  cell: RecurrentCell;
  suffix: string;
}

function describeLayer(layer: RecurrentLayer): string {
  if (isStackedRnn(layer)) {
    const kinds = [...new Set(layer.layers.map((l) => (isBidirectional(l.unit) ? `bidirectional ${l.unit.forward.kind}` : l.unit.kind)))];
    return `${layer.layers.length}-layer stack of ${kinds.join('/')}`;
  }
  if (isBidirectional(layer)) return `bidirectional ${layer.forward.kind}/${layer.backward.kind} layer`;
  return `${layer.kind} cell (D=${layer.inputSize}, H=${layer.hiddenSize})`;
}

/** The cells of `layer` in PyTorch's order (l0, l0_reverse, l1, …); throws for what PyTorch lacks. */
function torchUnits(op: string, layer: RecurrentLayer): TorchUnit[] {
  const units: TorchUnit[] = [];
  const addLayer = (unit: RecurrentCell | BidirectionalRnn, k: number): void => {
    if (isBidirectional(unit)) {
      units.push({ cell: unit.forward, suffix: `l${k}` }, { cell: unit.backward, suffix: `l${k}_reverse` });
    } else {
      units.push({ cell: unit, suffix: `l${k}` });
    }
  };
  if (isStackedRnn(layer)) {
    layer.layers.forEach((l, k) => {
      if (l.residual) throw new Error(`${op}: expected a stack without residual connections (PyTorch's recurrent modules have none), layer ${k} is residual`);
      addLayer(l.unit, k);
    });
  } else {
    addLayer(layer, 0);
  }
  for (const { cell, suffix } of units) {
    if (!TORCH_KINDS.includes(cell.kind)) {
      throw new Error(`${op}: expected cells of kind ${TORCH_KINDS.join(', ')}, got a '${cell.kind}' cell at ${suffix}: ${torchUnsupported(cell.kind)}`);
    }
    if (cell.config.layerNorm) throw new Error(`${op}: nn.RNN/GRU/LSTM have no layer normalisation, got a layer-normalised ${cell.kind} cell at ${suffix} (save it with layerToJSON)`);
  }
  return units;
}

/** PyTorch's four entries of one unit, with their shapes. */
function torchEntries(unit: TorchUnit, prefix: string): { key: string; name: 'weight_ih' | 'weight_hh' | 'bias_ih' | 'bias_hh'; shape: number[] }[] {
  const { cell, suffix } = unit;
  const G = cell.gateWidth;
  return [
    { key: `${prefix}weight_ih_${suffix}`, name: 'weight_ih', shape: [G, cell.inputSize] },
    { key: `${prefix}weight_hh_${suffix}`, name: 'weight_hh', shape: [G, cell.hiddenSize] },
    { key: `${prefix}bias_ih_${suffix}`, name: 'bias_ih', shape: [G] },
    { key: `${prefix}bias_hh_${suffix}`, name: 'bias_hh', shape: [G] },
  ];
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

/** A hint for keys PyTorch writes for features seqgrad lacks. */
function extraKeyHint(key: string): string {
  if (/weight_hr_l\d+/.test(key)) return ' (LSTM projections, proj_size > 0, are not supported)';
  return '';
}

/**
 * Load a PyTorch state_dict (nn.RNN / nn.GRU / nn.LSTM, as JSON) into a cell, a bidirectional
 * pair or a stack, copying into the existing parameter matrices. Every key is checked before any
 * weight is written: a missing key, an unexpected key (see `extraKeys`) or a wrong shape throws an Error
 * naming the key, the expected and the actual shape, and leaves the layer unchanged.
 * RNN and LSTM: b = bias_ih + bias_hh. GRU ('gru-reset-after'): b = bias_ih, b_a = bias_hh.
 */
export function loadRnnStateDict(layer: RecurrentLayer, stateDict: TorchStateDict, opts: LoadStateDictOptions = {}): void {
  const op = 'loadRnnStateDict';
  const prefix = opts.prefix ?? '';
  if (stateDict === null || typeof stateDict !== 'object' || Array.isArray(stateDict)) {
    throw new Error(`${op}: expected a state_dict object (name → tensor), got ${describeValue(stateDict)}`);
  }
  const units = torchUnits(op, layer);
  const expected = units.flatMap((u) => torchEntries(u, prefix));
  const expectedKeys = new Set(expected.map((e) => e.key));

  const missing = expected.filter((e) => !(e.key in stateDict));
  if (missing.length > 0) {
    const list = missing.map((e) => `'${e.key}' ${formatShape(e.shape)}`).join(', ');
    throw new Error(`${op}: the state_dict lacks ${list} (expected for a ${describeLayer(layer)})`);
  }
  const checked = opts.extraKeys ?? (prefix === '' ? 'recurrent' : 'error');
  const extra = checked === 'ignore' ? [] : Object.keys(stateDict)
    .filter((k) => k.startsWith(prefix) && !expectedKeys.has(k) && (checked === 'error' || RECURRENT_KEY.test(k)));
  if (extra.length > 0) {
    const list = extra.map((k) => `'${k}'${extraKeyHint(k)}`).join(', ');
    throw new Error(`${op}: unexpected key(s) ${list} in the state_dict of a ${describeLayer(layer)} (expected ${[...expectedKeys].map((k) => `'${k}'`).join(', ')})`);
  }

  // Parse and check everything first, so that a bad entry leaves the layer untouched.
  const tensors = new Map<string, Tensor>();
  for (const e of expected) {
    const t = readTensor(op, e.key, stateDict[e.key]);
    if (!sameShape(t.shape, e.shape)) {
      throw new Error(`${op}: key '${e.key}': expected shape ${formatShape(e.shape)}, got ${formatShape(t.shape)}`);
    }
    tensors.set(e.key, t);
  }

  for (const unit of units) {
    const [ih, hh, bih, bhh] = torchEntries(unit, prefix).map((e) => (tensors.get(e.key) as Tensor).data);
    const p = unit.cell.params;
    fillFrom(p.W_x, ih);
    fillFrom(p.W_a, hh);
    if (unit.cell.kind === 'gru-reset-after') {
      fillFrom(p.b, bih);
      fillFrom(p.b_a, bhh);
    } else {
      for (let j = 0; j < unit.cell.gateWidth; j++) p.b.set(0, j, bih[j] + bhh[j]);
    }
  }
}

function exportStateDict(layer: RecurrentLayer, opts: StateDictSaveOptions, op: string, grads: boolean): TorchStateDict {
  const prefix = opts.prefix ?? '';
  const nested = opts.nested === true;
  const out: TorchStateDict = {};
  for (const unit of torchUnits(op, layer)) {
    const source = grads ? unit.cell.grads : unit.cell.params;
    const [ih, hh, bih, bhh] = torchEntries(unit, prefix);
    out[ih.key] = writeTensor(ih.shape, flatten(source.W_x), nested);
    out[hh.key] = writeTensor(hh.shape, flatten(source.W_a), nested);
    out[bih.key] = writeTensor(bih.shape, flatten(source.b), nested);
    if (unit.cell.kind === 'gru-reset-after') {
      out[bhh.key] = writeTensor(bhh.shape, flatten(source.b_a), nested);
    } else {
      // One fused bias: its value goes to bias_ih (bias_hh = 0); its gradient is both biases' gradient.
      out[bhh.key] = writeTensor(bhh.shape, grads ? flatten(source.b) : new Array<number>(unit.cell.gateWidth).fill(0), nested);
    }
  }
  return out;
}

/**
 * The layer's weights as a PyTorch state_dict (keys in PyTorch's order). RNN and LSTM: bias_ih = b,
 * bias_hh = 0 (PyTorch only uses their sum). Throws for cells and stacks PyTorch lacks.
 */
export function rnnStateDict(layer: RecurrentLayer, opts: StateDictSaveOptions = {}): TorchStateDict {
  return exportStateDict(layer, opts, 'rnnStateDict', false);
}

/**
 * The layer's accumulated gradients under PyTorch's state_dict names (what `param.grad` holds in
 * PyTorch after the same backward). RNN and LSTM: bias_ih and bias_hh both get ∂L/∂b.
 */
export function rnnGradStateDict(layer: RecurrentLayer, opts: StateDictSaveOptions = {}): TorchStateDict {
  return exportStateDict(layer, opts, 'rnnGradStateDict', true);
}

// ---------------------------------------------------------------------------------------------
// Keras

/** Keras' `layer.get_weights()` of SimpleRNN / GRU / LSTM, by name or as the list [kernel, recurrent_kernel, bias]. */
export interface KerasRecurrentWeights {
  kernel: TensorJSON;
  recurrent_kernel: TensorJSON;
  bias: TensorJSON;
}

/**
 * How Keras' gate columns map onto seqgrad's gate rows: Keras block k goes to seqgrad row block
 * `rows[k]`, multiplied by `signs[k]`.
 */
interface KerasLayout {
  rows: number[];
  signs: number[];
  /** Keras bias shape: (G) or (2, G) (GRU reset_after=True). */
  twoBiases: boolean;
}

function kerasLayout(op: string, cell: RecurrentCell): KerasLayout {
  if (cell.config.layerNorm) throw new Error(`${op}: Keras' recurrent layers have no layer normalisation, got a layer-normalised ${cell.kind} cell (save it with layerToJSON)`);
  switch (cell.kind) {
    case 'rnn': return { rows: [0], signs: [1], twoBiases: false };
    case 'lstm': return { rows: [0, 1, 2, 3], signs: [1, 1, 1, 1], twoBiases: false };
    // Keras [z r h] → seqgrad [Γr Γu c̃] with Γu = 1 − z (negated z).
    case 'gru': return { rows: [1, 0, 2], signs: [-1, 1, 1], twoBiases: false };
    // Keras [z r h] → seqgrad [r z n].
    case 'gru-reset-after': return { rows: [1, 0, 2], signs: [1, 1, 1], twoBiases: true };
    default:
      throw new Error(`${op}: expected a cell of kind rnn, gru, gru-reset-after or lstm, got '${cell.kind}': Keras has no such layer (save it with layerToJSON)`);
  }
}

function kerasShapes(cell: RecurrentCell, layout: KerasLayout): Record<keyof KerasRecurrentWeights, number[]> {
  const G = cell.gateWidth;
  return {
    kernel: [cell.inputSize, G],
    recurrent_kernel: [cell.hiddenSize, G],
    bias: layout.twoBiases ? [2, G] : [G],
  };
}

const KERAS_NAMES = ['kernel', 'recurrent_kernel', 'bias'] as const;

/**
 * Load Keras weights (kernel (D, G), recurrent_kernel (U, G), bias) into a cell:
 * SimpleRNN → 'rnn', LSTM → 'lstm', GRU reset_after=True → 'gru-reset-after', GRU
 * reset_after=False → 'gru' (the update gate negated: Γu = 1 − z). Checks every shape first.
 */
export function loadKerasWeights(cell: RecurrentCell, weights: KerasRecurrentWeights | TensorJSON[]): void {
  const op = 'loadKerasWeights';
  const layout = kerasLayout(op, cell);
  const shapes = kerasShapes(cell, layout);
  const named = Array.isArray(weights)
    ? (() => {
      if (weights.length !== 3) throw new Error(`${op}: expected get_weights()'s list [kernel, recurrent_kernel, bias], got ${weights.length} arrays`);
      return { kernel: weights[0], recurrent_kernel: weights[1], bias: weights[2] };
    })()
    : weights;
  if (named === null || typeof named !== 'object') throw new Error(`${op}: expected { kernel, recurrent_kernel, bias }, got ${describeValue(named)}`);
  const t: Partial<Record<keyof KerasRecurrentWeights, Tensor>> = {};
  for (const name of KERAS_NAMES) {
    if (!(name in named)) throw new Error(`${op}: missing '${name}' (expected shape ${formatShape(shapes[name])}) for a ${cell.kind} cell`);
    const tensor = readTensor(op, name, named[name]);
    if (!sameShape(tensor.shape, shapes[name])) {
      throw new Error(`${op}: key '${name}': expected shape ${formatShape(shapes[name])} for a ${cell.kind} cell (D=${cell.inputSize}, U=${cell.hiddenSize}), got ${formatShape(tensor.shape)}`);
    }
    t[name] = tensor;
  }
  const kernel = (t.kernel as Tensor).data, recurrent = (t.recurrent_kernel as Tensor).data, bias = (t.bias as Tensor).data;
  const H = cell.hiddenSize, D = cell.inputSize, G = cell.gateWidth;
  const p = cell.params;
  layout.rows.forEach((row, k) => {
    const sign = layout.signs[k];
    for (let i = 0; i < H; i++) {
      const col = k * H + i; // Keras column
      const r = row * H + i; // seqgrad row
      for (let d = 0; d < D; d++) p.W_x.set(r, d, sign * kernel[d * G + col]);
      for (let h = 0; h < H; h++) p.W_a.set(r, h, sign * recurrent[h * G + col]);
      p.b.set(0, r, sign * bias[col]);
      if (layout.twoBiases) p.b_a.set(0, r, sign * bias[G + col]);
    }
  });
}

/**
 * The cell's weights in Keras' layout ({ kernel, recurrent_kernel, bias }, the order of
 * `layer.set_weights([...])`); inverse of `loadKerasWeights`.
 */
export function kerasWeights(cell: RecurrentCell, opts: { nested?: boolean } = {}): KerasRecurrentWeights {
  const op = 'kerasWeights';
  const layout = kerasLayout(op, cell);
  const shapes = kerasShapes(cell, layout);
  const H = cell.hiddenSize, D = cell.inputSize, G = cell.gateWidth;
  const kernel = new Array<number>(D * G).fill(0);
  const recurrent = new Array<number>(H * G).fill(0);
  const bias = new Array<number>((layout.twoBiases ? 2 : 1) * G).fill(0);
  const p = cell.params;
  layout.rows.forEach((row, k) => {
    const sign = layout.signs[k];
    for (let i = 0; i < H; i++) {
      const col = k * H + i, r = row * H + i;
      for (let d = 0; d < D; d++) kernel[d * G + col] = sign * p.W_x.get(r, d);
      for (let h = 0; h < H; h++) recurrent[h * G + col] = sign * p.W_a.get(r, h);
      bias[col] = sign * p.b.get(0, r);
      if (layout.twoBiases) bias[G + col] = sign * p.b_a.get(0, r);
    }
  });
  const nested = opts.nested === true;
  return {
    kernel: writeTensor(shapes.kernel, kernel, nested),
    recurrent_kernel: writeTensor(shapes.recurrent_kernel, recurrent, nested),
    bias: writeTensor(shapes.bias, bias, nested),
  };
}
