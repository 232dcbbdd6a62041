/**
 * seqgrad's layers under PyTorch's state_dict names, as safetensors tensors (training/io/
 * safetensors.ts): the names a `torch.nn.Module` would give them, so that a file written here
 * loads with `module.load_state_dict` and a state_dict saved by PyTorch loads here.
 *
 *   recurrent layer (prefix 'rnn.'), for layer k and direction (suffix `_reverse` for ←):
 *     nn.RNN (tanh/relu) 'rnn', nn.GRU 'gru-reset-after', nn.LSTM 'lstm' — PyTorch's own names and
 *     layouts, mapped by layers/interchange.ts (loadRnnStateDict / rnnStateDict, exact):
 *       weight_ih_l{k} (G, in_k), weight_hh_l{k} (G, H), bias_ih_l{k} (G), bias_hh_l{k} (G)
 *     cells PyTorch lacks keep seqgrad's own row layout (layers/interchange.ts) under the same
 *     pattern, with the one fused bias and the extra vectors of the kind:
 *       'gru' [Γr Γu c̃], 'gru-simple' [Γu c̃], 'lstm-peephole' [Γu Γf c̃ Γo]:
 *         weight_ih_l{k} = W_x (G, in_k), weight_hh_l{k} = W_a (G, H), bias_ih_l{k} = b (G)
 *       'lstm-peephole' also peephole_i_l{k} = p_u, peephole_f_l{k} = p_f, peephole_o_l{k} = p_o (H)
 *   nn.Embedding  'embedding.weight' (V, d)
 *   nn.Linear     'linear.weight' (K, W), 'linear.bias' (K)
 * Matrices [1, n] (biases, peepholes) become 1-D tensors (n), as in PyTorch.
 *
 * Loading is strict and checks everything before writing anything: a missing name, a name the
 * layer does not have, or a shape other than the layer's is one InputError naming the source,
 * the tensor, the expected and the actual shape. Tensors of another float dtype are converted to
 * the layer's (F64 → float32 rounds; F32/F16/BF16 → float64 is exact).
 */
import type { Matrix } from '../../engine/matrix.js';
import { isBidirectional } from '../../layers/bidirectional.js';
import type { RecurrentCell } from '../../layers/cells/cell.js';
import type { DenseLayer } from '../../layers/dense.js';
import type { Embedding } from '../../layers/embedding.js';
import {
  isStackedRnn, loadRnnStateDict, rnnStateDict, type RecurrentLayer, type TorchStateDict,
} from '../../layers/interchange.js';
import { InputError } from '../core/errors.js';
import type { SafeTensor } from './safetensors.js';

/** One direction of one layer: its cell and PyTorch's name suffix ('l0', 'l1_reverse', …). */
export interface TorchUnit {
  cell: RecurrentCell;
  suffix: string;
}

/** The cells of `layer` in PyTorch's order: l0, l0_reverse, l1, … */
export function torchUnits(layer: RecurrentLayer): TorchUnit[] {
  const units: TorchUnit[] = [];
  const stackLayers = isStackedRnn(layer) ? layer.layers.map((l) => l.unit) : [layer];
  stackLayers.forEach((unit, k) => {
    if (isBidirectional(unit)) units.push({ cell: unit.forward, suffix: `l${k}` }, { cell: unit.backward, suffix: `l${k}_reverse` });
    else units.push({ cell: unit, suffix: `l${k}` });
  });
  return units;
}

/** The kinds whose names and layout are PyTorch's own (layers/interchange.ts maps them). */
function isTorchKind(cell: RecurrentCell): boolean {
  return (cell.kind === 'rnn' || cell.kind === 'gru-reset-after' || cell.kind === 'lstm') && cell.config.layerNorm !== true;
}

/** seqgrad parameter → name stem, for the kinds PyTorch lacks. */
const OWN_LAYOUT_NAMES: Record<string, string> = {
  W_x: 'weight_ih', W_a: 'weight_hh', b: 'bias_ih', p_u: 'peephole_i', p_f: 'peephole_f', p_o: 'peephole_o',
  // the layer-normalised cells (layers/cells/layer-norm-cells.ts)
  b_a: 'bias_hh', 'layernorm_i.weight': 'layernorm_i_weight', 'layernorm_i.bias': 'layernorm_i_bias',
  'layernorm_h.weight': 'layernorm_h_weight', 'layernorm_h.bias': 'layernorm_h_bias',
  'layernorm_c.weight': 'layernorm_c_weight', 'layernorm_c.bias': 'layernorm_c_bias',
};

/** seqgrad parameters that are vectors [1, n] (1-D (n) in PyTorch); everything else is a matrix. */
const VECTOR_PARAMS = new Set([
  'b', 'b_a', 'p_u', 'p_f', 'p_o',
  'layernorm_i.weight', 'layernorm_i.bias', 'layernorm_h.weight', 'layernorm_h.bias', 'layernorm_c.weight', 'layernorm_c.bias',
]);

/** PyTorch's shape of a seqgrad parameter: a vector [1, n] → (n), a matrix [rows, cols]. */
function torchShape(m: Matrix, vector: boolean): number[] {
  return vector ? [m.cols] : [m.rows, m.cols];
}

/** A matrix as a tensor of its dtype: (n) for a vector [1, n], (rows, cols) otherwise. */
export function matrixTensor(m: Matrix, vector: boolean): SafeTensor {
  const data = m.dtype === 'float64' ? new Float64Array(m.rows * m.cols) : new Float32Array(m.rows * m.cols);
  for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) data[r * m.cols + c] = m.get(r, c);
  return { dtype: m.dtype === 'float64' ? 'F64' : 'F32', shape: torchShape(m, vector), data };
}

/** A tensor from interchange's JSON form (row-major numbers already of the cell's dtype). */
function tensorFromJSON(json: TorchStateDict[string], dtype: 'float32' | 'float64'): SafeTensor {
  const { shape, data } = json as { shape: number[]; data: ArrayLike<number> };
  return dtype === 'float64'
    ? { dtype: 'F64', shape, data: Float64Array.from(data) }
    : { dtype: 'F32', shape, data: Float32Array.from(data) };
}

/** The weights of a recurrent layer under PyTorch's names (`prefix` + 'weight_ih_l0' …). */
export function recurrentTensors(layer: RecurrentLayer, prefix = ''): Record<string, SafeTensor> {
  const out: Record<string, SafeTensor> = {};
  for (const { cell, suffix } of torchUnits(layer)) {
    if (isTorchKind(cell)) {
      for (const [key, json] of Object.entries(rnnStateDict(cell))) {
        out[`${prefix}${key.replace(/_l0$/, `_${suffix}`)}`] = tensorFromJSON(json, cell.dtype);
      }
    } else {
      for (const [name, m] of Object.entries(cell.params)) out[`${prefix}${OWN_LAYOUT_NAMES[name]}_${suffix}`] = matrixTensor(m, VECTOR_PARAMS.has(name));
    }
  }
  return out;
}

/** The names and shapes a layer expects (what `recurrentTensors` writes). */
export function recurrentShapes(layer: RecurrentLayer, prefix = ''): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const { cell, suffix } of torchUnits(layer)) {
    if (isTorchKind(cell)) {
      const G = cell.gateWidth;
      out[`${prefix}weight_ih_${suffix}`] = [G, cell.inputSize];
      out[`${prefix}weight_hh_${suffix}`] = [G, cell.hiddenSize];
      out[`${prefix}bias_ih_${suffix}`] = [G];
      out[`${prefix}bias_hh_${suffix}`] = [G];
    } else {
      for (const [name, m] of Object.entries(cell.params)) out[`${prefix}${OWN_LAYOUT_NAMES[name]}_${suffix}`] = torchShape(m, VECTOR_PARAMS.has(name));
    }
  }
  return out;
}

/** The tensors of an nn.Embedding ('weight' (V, d)). */
export function embeddingTensors(embedding: Embedding, prefix = 'embedding.'): Record<string, SafeTensor> {
  return { [`${prefix}weight`]: matrixTensor(embedding.weight, false) };
}

/** The tensors of an nn.Linear ('weight' (out, in), 'bias' (out)). */
export function linearTensors(dense: DenseLayer, prefix = 'linear.'): Record<string, SafeTensor> {
  const out: Record<string, SafeTensor> = { [`${prefix}weight`]: matrixTensor(dense.params.W, false) };
  if (dense.params.b) out[`${prefix}bias`] = matrixTensor(dense.params.b, true);
  return out;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

/**
 * Check that `tensors` holds exactly the names of `expected` with those shapes; throws one
 * InputError `${source}: …` naming the tensor otherwise.
 */
export function checkTensorNames(tensors: Record<string, SafeTensor>, expected: Record<string, number[]>, source: string, what: string): void {
  const fail = (msg: string): never => { throw new InputError(`${source}: ${msg}`); };
  for (const [name, shape] of Object.entries(expected)) {
    const t = tensors[name];
    if (!t) fail(`lacks tensor '${name}' (expected shape [${shape.join(', ')}] for ${what})`);
    else if (!sameShape(t.shape, shape)) fail(`tensor '${name}': expected shape [${shape.join(', ')}] for ${what}, got [${t.shape.join(', ')}]`);
  }
  for (const name of Object.keys(tensors)) {
    if (!(name in expected)) fail(`has tensor '${name}', which ${what} does not have (expected ${Object.keys(expected).map((k) => `'${k}'`).join(', ')})`);
  }
}

/** m ← t, row-major (shapes checked by the caller). */
export function fillMatrix(m: Matrix, t: SafeTensor): void {
  for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) m.set(r, c, t.data[r * m.cols + c]);
}

/**
 * Copy the tensors named `prefix` + PyTorch's names into a recurrent layer (shapes already
 * checked with `checkTensorNames` against `recurrentShapes`).
 */
export function loadRecurrentTensors(layer: RecurrentLayer, tensors: Record<string, SafeTensor>, prefix: string, source: string): void {
  for (const { cell, suffix } of torchUnits(layer)) {
    if (isTorchKind(cell)) {
      const stateDict: TorchStateDict = {};
      for (const stem of ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh']) stateDict[`${stem}_l0`] = tensors[`${prefix}${stem}_${suffix}`];
      try {
        loadRnnStateDict(cell, stateDict);
      } catch (err) {
        throw new InputError(`${source}: layer ${prefix}${suffix}: ${(err as Error).message}`);
      }
    } else {
      for (const [name, m] of Object.entries(cell.params)) fillMatrix(m, tensors[`${prefix}${OWN_LAYOUT_NAMES[name]}_${suffix}`]);
    }
  }
}

/** Copy 'embedding.weight' into E (shape already checked). */
export function loadEmbeddingTensors(embedding: Embedding, tensors: Record<string, SafeTensor>, prefix = 'embedding.'): void {
  fillMatrix(embedding.weight, tensors[`${prefix}weight`]);
}

/** Copy 'linear.weight' / 'linear.bias' into a dense layer (shapes already checked). */
export function loadLinearTensors(dense: DenseLayer, tensors: Record<string, SafeTensor>, prefix = 'linear.'): void {
  fillMatrix(dense.params.W, tensors[`${prefix}weight`]);
  if (dense.params.b) fillMatrix(dense.params.b, tensors[`${prefix}bias`]);
}
