/**
 * A recurrent layer saved by the library's model API (training/io/layer-json.ts: a cell, a
 * bidirectional pair or a stack) as safetensors under PyTorch's own names — the state_dict of the
 * matching nn.RNN / nn.GRU / nn.LSTM (num_layers, bidirectional), without a module prefix:
 * 'weight_ih_l0', 'bias_hh_l1_reverse', … (training/io/torch-state.ts; cells PyTorch lacks keep
 * seqgrad's layout under the same names). `__metadata__`: model 'recurrent-layer' and app =
 * { kind, dtype, config } of the layer JSON, which rebuilds the structure. Round trips are
 * bit-identical.
 */
import type { RecurrentLayer } from '../../layers/interchange.js';
import { InputError } from '../core/errors.js';
import { layerToJSON, structureFromJSON } from './layer-json.js';
import { documentMetadata, type ModelDocument } from './sequence-net.js';
import { writeSafetensorsFile, type SafeTensor } from './safetensors.js';
import { checkTensorNames, loadRecurrentTensors, recurrentShapes, recurrentTensors } from './torch-state.js';

export const LAYER_MODEL_KIND = 'recurrent-layer';

/** The document that rebuilds the layer: its kind, dtype and config. */
export function layerDocument(layer: RecurrentLayer): ModelDocument {
  const { kind, dtype, config } = layerToJSON(layer);
  return { model: LAYER_MODEL_KIND, app: { kind, dtype, config } };
}

export function saveLayerSafetensors(path: string, layer: RecurrentLayer): void {
  writeSafetensorsFile(path, recurrentTensors(layer), documentMetadata(layerDocument(layer)));
}

/** Rebuild a layer from a document and tensors; every problem is an InputError naming `source`. */
export function layerFromTensors(tensors: Record<string, SafeTensor>, doc: ModelDocument, source: string): RecurrentLayer {
  const fail = (what: string): never => { throw new InputError(`${source}: ${what}`); };
  if (doc.model !== LAYER_MODEL_KIND) fail(`expected a '${LAYER_MODEL_KIND}' model, got '${doc.model}'`);
  const dtype = doc.app.dtype;
  if (dtype !== 'float32' && dtype !== 'float64') fail(`expected app.dtype "float32" or "float64", got ${JSON.stringify(dtype)}`);
  const layer = structureFromJSON(doc.app, dtype as 'float32' | 'float64', (what) => fail(`app: ${what}`));
  checkTensorNames(tensors, recurrentShapes(layer), source, `this ${String(doc.app.kind)} layer`);
  loadRecurrentTensors(layer, tensors, '', source);
  return layer;
}
