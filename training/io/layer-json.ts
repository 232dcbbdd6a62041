/**
 * Whole recurrent layers as JSON — a cell, a bidirectional pair or a stack — exact to the bit.
 *
 *   {
 *     "format": "seqgrad.recurrent-layer", "version": 1,
 *     "kind": "cell" | "bidirectional" | "stacked",
 *     "dtype": "float32" | "float64",
 *     "config":  cell:          CellConfig  { kind, inputSize, hiddenSize, dtype, activation? }
 *                bidirectional: { forward: CellConfig, backward: CellConfig }
 *                stacked:       { layers: [{ cell: CellConfig, backwardCell?: CellConfig, residual: boolean }] }
 *     "shapes":  name → [rows, cols] of every parameter,
 *     "weights": name → { rows, cols, dtype, data: base64 of the raw little-endian bytes } (matrixToJSON)
 *   }
 * Parameter names: a cell's own (W_x, W_a, b, b_a, p_u, …); bidirectional `l0.W_x` /
 * `l0_reverse.W_x` (bidirectionalParameters); stacked `l{k}.W_x`, `l{k}_reverse.W_x`
 * (stackedParameters). The layouts behind the names are documented in layers/interchange.ts.
 *
 * The config is what rebuilds the structure (createCell / createBidirectional / createStack);
 * initialisation options (init, forgetBias, irnnStd) are not stored: the weights replace them.
 * Files are written atomically (training/io.ts). Every problem when loading is an Error named
 * 'InputError' (the CLI exits with 2) whose message starts with the source ("layer file m.json")
 * and names the field or weight.
 */
import { copyInto, shapeOf, type DType, type Matrix } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import {
  bidirectionalParameters, createBidirectional, isBidirectional,
} from '../../layers/bidirectional.js';
import type { CellConfig, RecurrentCell } from '../../layers/cells/cell.js';
import { CELL_KINDS, createCell } from '../../layers/cells/create-cell.js';
import { isStackedRnn, type RecurrentLayer } from '../../layers/interchange.js';
import { createStack, stackedParameters, type StackedLayerSpec } from '../../layers/stacked.js';
import { readJsonFile, writeFileAtomic } from './files.js';
import { matrixFromJSON, matrixToJSON, type MatrixJSON } from './tensors.js';
import { storedWeightCount } from './weights-json.js';
import { InputError } from '../core/errors.js';

export const LAYER_FORMAT = 'seqgrad.recurrent-layer';

export interface StackedLayerConfig {
  cell: CellConfig;
  backwardCell?: CellConfig;
  residual: boolean;
}

export type LayerJSON =
  | LayerJSONBase<'cell', CellConfig>
  | LayerJSONBase<'bidirectional', { forward: CellConfig; backward: CellConfig }>
  | LayerJSONBase<'stacked', { layers: StackedLayerConfig[] }>;

interface LayerJSONBase<K extends string, C> {
  format: typeof LAYER_FORMAT;
  version: 1;
  kind: K;
  dtype: DType;
  config: C;
  shapes: Record<string, [number, number]>;
  weights: Record<string, MatrixJSON>;
}

/** Every parameter of the layer under its JSON name. */
export function layerParameters(layer: RecurrentLayer): Record<string, Matrix> {
  if (isStackedRnn(layer)) return stackedParameters(layer).params;
  if (isBidirectional(layer)) return bidirectionalParameters(layer).params;
  return { ...layer.params };
}

function layerKindAndConfig(layer: RecurrentLayer): Pick<LayerJSON, 'kind' | 'config'> {
  if (isStackedRnn(layer)) {
    const layers = layer.layers.map((l): StackedLayerConfig => (isBidirectional(l.unit)
      ? { cell: { ...l.unit.forward.config }, backwardCell: { ...l.unit.backward.config }, residual: l.residual }
      : { cell: { ...l.unit.config }, residual: l.residual }));
    return { kind: 'stacked', config: { layers } };
  }
  if (isBidirectional(layer)) {
    return { kind: 'bidirectional', config: { forward: { ...layer.forward.config }, backward: { ...layer.backward.config } } };
  }
  return { kind: 'cell', config: { ...layer.config } };
}

/** The layer as JSON: structure, shapes and the exact bytes of every weight. */
export function layerToJSON(layer: RecurrentLayer): LayerJSON {
  const params = layerParameters(layer);
  const shapes: Record<string, [number, number]> = {};
  const weights: Record<string, MatrixJSON> = {};
  for (const [name, p] of Object.entries(params)) {
    shapes[name] = [p.rows, p.cols];
    weights[name] = matrixToJSON(p);
  }
  return { format: LAYER_FORMAT, version: 1, ...layerKindAndConfig(layer), dtype: layer.dtype, shapes, weights } as LayerJSON;
}


function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Rebuild one cell's structure from its config (weights come later). */
function cellFromConfig(config: unknown, where: string, dtype: DType, fail: (what: string) => never, storedWeights?: number): RecurrentCell {
  if (!isObject(config)) return fail(`expected ${where} to be a cell config { kind, inputSize, hiddenSize, dtype }, got ${describe(config)}`);
  const { kind, inputSize, hiddenSize, activation, layerNorm } = config;
  if (typeof kind !== 'string' || !(CELL_KINDS as readonly string[]).includes(kind)) {
    return fail(`expected ${where}.kind to be one of ${CELL_KINDS.join(', ')}, got ${describe(kind)}`);
  }
  if (config.dtype !== dtype) return fail(`expected ${where}.dtype to be the file's dtype ${dtype}, got ${describe(config.dtype)}`);
  // A cell holds at least W_a [H, H] and W_x [H, in]: refuse sizes the file's weights cannot fill before allocating them.
  const needed = Number(hiddenSize) * (Number(hiddenSize) + Number(inputSize));
  if (storedWeights !== undefined && needed > storedWeights) {
    return fail(`${where} (hidden ${String(hiddenSize)}, input ${String(inputSize)}) needs at least ${needed} weights, the file holds ${storedWeights}`);
  }
  try {
    return createCell({
      kind: kind as CellConfig['kind'], inputSize: inputSize as number, hiddenSize: hiddenSize as number,
      activation: activation as CellConfig['activation'], ...(layerNorm === true ? { layerNorm: true } : {}),
    }, { dtype, rng: new Rng(0) });
  } catch (err) {
    return fail(`bad ${where}: ${(err as Error).message}`);
  }
}

/**
 * Build a layer's structure (fresh weights) from the kind and config of its JSON; `fail` throws naming the field.
 * With `storedWeights` (how many weights the file holds), a cell whose sizes need more is refused before it is allocated.
 */
export function structureFromJSON(json: Record<string, unknown>, dtype: DType, fail: (what: string) => never, storedWeights?: number): RecurrentLayer {
  const { kind, config } = json;
  const wrap = <T>(build: () => T, what: string): T => {
    try {
      return build();
    } catch (err) {
      return fail(`bad ${what}: ${(err as Error).message}`);
    }
  };
  if (kind === 'cell') return cellFromConfig(config, 'config', dtype, fail, storedWeights);
  if (kind === 'bidirectional') {
    if (!isObject(config)) return fail(`expected config to be { forward, backward }, got ${describe(config)}`);
    const forward = cellFromConfig(config.forward, 'config.forward', dtype, fail, storedWeights);
    const backward = cellFromConfig(config.backward, 'config.backward', dtype, fail, storedWeights);
    return wrap(() => createBidirectional(forward, backward), 'bidirectional config');
  }
  if (kind === 'stacked') {
    if (!isObject(config) || !Array.isArray(config.layers) || config.layers.length === 0) {
      return fail(`expected config to be { layers: [...] } with at least one layer, got ${describe(isObject(config) ? config.layers : config)}`);
    }
    const specs = config.layers.map((l: unknown, k: number): StackedLayerSpec => {
      if (!isObject(l)) return fail(`expected config.layers[${k}] to be { cell, backwardCell?, residual }, got ${describe(l)}`);
      if (typeof l.residual !== 'boolean') return fail(`expected config.layers[${k}].residual to be true or false, got ${describe(l.residual)}`);
      const cell = cellFromConfig(l.cell, `config.layers[${k}].cell`, dtype, fail, storedWeights);
      const backwardCell = l.backwardCell === undefined ? undefined : cellFromConfig(l.backwardCell, `config.layers[${k}].backwardCell`, dtype, fail, storedWeights);
      return { cell, backwardCell, residual: l.residual };
    });
    return wrap(() => createStack(specs), 'stacked config');
  }
  return fail(`expected kind "cell", "bidirectional" or "stacked", got ${describe(kind)}`);
}

/**
 * Rebuild a layer from its JSON (as written by `layerToJSON`). `source` starts every error
 * message ("layer file m.json"); the errors are InputErrors naming the field or weight.
 */
export function layerFromJSON(json: unknown, source = 'layer JSON'): RecurrentLayer {
  const fail = (what: string): never => { throw new InputError(`${source}: ${what}`); };
  if (!isObject(json)) return fail(`expected a JSON object, got ${describe(json)}`);
  if (json.format !== LAYER_FORMAT) return fail(`expected format "${LAYER_FORMAT}", got ${describe(json.format)} (not a seqgrad recurrent layer)`);
  if (json.version !== 1) return fail(`expected version 1, got ${JSON.stringify(json.version)}`);
  const dtype = json.dtype;
  if (dtype !== 'float32' && dtype !== 'float64') return fail(`expected dtype "float32" or "float64", got ${describe(dtype)}`);
  const layer = structureFromJSON(json, dtype, fail, storedWeightCount(json.weights));
  const params = layerParameters(layer);

  const shapes = json.shapes;
  if (!isObject(shapes)) return fail(`expected shapes to be an object (name → [rows, cols]), got ${describe(shapes)}`);
  const weights = json.weights;
  if (!isObject(weights)) return fail(`expected weights to be an object (name → matrix), got ${describe(weights)}`);
  for (const table of [['shapes', shapes], ['weights', weights]] as const) {
    for (const name of Object.keys(table[1])) {
      if (!(name in params)) return fail(`has ${table[0]} entry '${name}', which this ${String(json.kind)} layer does not have (it has ${Object.keys(params).join(', ')})`);
    }
  }

  // Decode and check every weight before copying any.
  const decoded: [Matrix, Matrix][] = [];
  for (const [name, p] of Object.entries(params)) {
    const want = `${dtype} ${shapeOf(p)}`;
    const shape = shapes[name];
    if (!Array.isArray(shape) || shape.length !== 2 || shape[0] !== p.rows || shape[1] !== p.cols) {
      return fail(`expected shapes['${name}'] to be [${p.rows}, ${p.cols}], got ${shape === undefined ? 'nothing' : JSON.stringify(shape)}`);
    }
    if (!(name in weights)) return fail(`lacks weight '${name}' (expected ${want})`);
    let m: Matrix;
    try {
      m = matrixFromJSON(weights[name] as MatrixJSON);
    } catch (err) {
      return fail(`weight '${name}': ${(err as Error).message}`);
    }
    if (m.rows !== p.rows || m.cols !== p.cols || m.dtype !== p.dtype) {
      return fail(`expected weight '${name}' to be ${want}, got ${m.dtype} ${shapeOf(m)}`);
    }
    decoded.push([p, m]);
  }
  for (const [p, m] of decoded) copyInto(p, m);
  return layer;
}

/** Write the layer to `path` as JSON, atomically (temp file + rename). */
export function saveLayer(path: string, layer: RecurrentLayer): void {
  writeFileAtomic(path, `${JSON.stringify(layerToJSON(layer))}\n`);
}

/** Read a layer written by `saveLayer`; errors name the file and what is wrong with it. */
export function loadLayer(path: string): RecurrentLayer {
  let json: unknown;
  try {
    json = readJsonFile(path, 'layer file');
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  return layerFromJSON(json, `layer file ${path}`);
}
