/**
 * The one architecture every exported seqgrad model has — the language model, the tagger and the
 * sentiment classifier are all of it — described by a small JSON config so that any other
 * framework can rebuild it:
 *
 *   x⟨t⟩ = E[id⟨t⟩]  (nn.Embedding, [T·B, d])   or  one-hot(id⟨t⟩)  ([T·B, V], embeddingDim = 0)
 *   a⟨t⟩ = L stacked cells of one kind, H units, uni- or bidirectional   [T·B, W], W = H or 2H
 *   z    = a·Wᵀ + b  (nn.Linear [K, W]) at every step (readout 'every-step', [T·B, K]) or on
 *          each sequence's last valid step ('last-step', [B, K]; bidirectional: [a→⟨T⟩, a←⟨1⟩])
 *   ŷ    = softmax(z) or σ(z) (head)
 *
 * In a safetensors file (training/io/safetensors.ts) the tensors carry PyTorch's state_dict
 * names (training/io/torch-state.ts: 'embedding.weight', 'rnn.weight_ih_l0' …, 'linear.weight',
 * 'linear.bias') and `__metadata__` holds
 *   "format": "seqgrad", "seqgrad.net": JSON of the NetDescription below,
 * plus whatever the application adds (its model kind, config and vocabulary, as JSON strings).
 */
import { Matrix, type DType } from '../../engine/matrix.js';
import type { Rng } from '../../engine/rng.js';
import { isRng, resolveCreateOptions, type CreateOptions } from '../../engine/create.js';
import {
  createManyToMany, createManyToManyWorkspace, createManyToOne, createManyToOneWorkspace, manyToManyLogits, manyToOneLogits,
} from '../../layers/architectures.js';
import { isBidirectional } from '../../layers/bidirectional.js';
import type { CellKind, RecurrentCell } from '../../layers/cells/cell.js';
import { CELL_KINDS } from '../../layers/cells/create-cell.js';
import { createEmbedding, type Embedding } from '../../layers/embedding.js';
import { createOutputHead, type HeadKind, type OutputHead } from '../../layers/heads.js';
import { createStackedRnn, type StackedRnn } from '../../layers/stacked.js';
import { InputError } from '../core/errors.js';
import { readJsonInput } from './model-file.js';
import { readSafetensorsFile, writeSafetensorsFile, type SafeTensor } from './safetensors.js';
import {
  checkTensorNames, embeddingTensors, linearTensors, loadEmbeddingTensors, loadLinearTensors, loadRecurrentTensors,
  recurrentShapes, recurrentTensors,
} from './torch-state.js';

export type Readout = 'every-step' | 'last-step';

/** Everything that fixes the structure; stored as JSON in `__metadata__['seqgrad.net']`. */
export interface NetDescription {
  cell: CellKind;
  /** 'rnn' only: the non-linearity (nn.RNN's nonlinearity). */
  activation?: 'tanh' | 'relu';
  /** V: ids are in [0, V). */
  vocabSize: number;
  /** d of the embedding; 0 = one-hot input of width V. */
  embeddingDim: number;
  /** H per direction. */
  hidden: number;
  /** L stacked layers. */
  layers: number;
  bidirectional: boolean;
  /** K: classes or labels of the linear output layer. */
  outputSize: number;
  head: HeadKind;
  readout: Readout;
  dtype: DType;
}

/** The parts of a model of that architecture (views of the application model's own layers). */
export interface SequenceNet {
  embedding: Embedding | null;
  rnn: StackedRnn;
  head: OutputHead;
  readout: Readout;
}

export const NET_METADATA_KEY = 'seqgrad.net';

/** The first cell of every layer (and each layer's cells) must share kind, H and activation. */
function firstCell(rnn: StackedRnn): RecurrentCell {
  const unit = rnn.layers[0].unit;
  return isBidirectional(unit) ? unit.forward : unit;
}

/**
 * The description of a net; throws (naming what differs) for structures the description cannot
 * hold: mixed cell kinds or sizes, residual layers, some layers bidirectional and some not.
 */
export function describeNet(net: SequenceNet): NetDescription {
  const op = 'describeNet';
  const first = firstCell(net.rnn);
  const bidirectional = isBidirectional(net.rnn.layers[0].unit);
  net.rnn.layers.forEach((layer, l) => {
    const cells = isBidirectional(layer.unit) ? [layer.unit.forward, layer.unit.backward] : [layer.unit];
    if (layer.residual) throw new Error(`${op}: expected a stack without residual connections, layer ${l} is residual`);
    if (isBidirectional(layer.unit) !== bidirectional) throw new Error(`${op}: expected every layer to be ${bidirectional ? 'bi' : 'uni'}directional like layer 0, layer ${l} is not`);
    for (const c of cells) {
      if (c.kind !== first.kind || c.hiddenSize !== first.hiddenSize || c.config.activation !== first.config.activation) {
        throw new Error(`${op}: expected every cell to be a ${first.kind} of H=${first.hiddenSize} like layer 0's, layer ${l} has a ${c.kind} of H=${c.hiddenSize}`);
      }
    }
  });
  const desc: NetDescription = {
    cell: first.kind,
    vocabSize: net.embedding ? net.embedding.weight.rows : net.rnn.inputSize,
    embeddingDim: net.embedding ? net.embedding.weight.cols : 0,
    hidden: first.hiddenSize,
    layers: net.rnn.layers.length,
    bidirectional,
    outputSize: net.head.outputSize,
    head: net.head.kind,
    readout: net.readout,
    dtype: net.rnn.dtype,
  };
  if (first.kind === 'rnn') desc.activation = first.config.activation ?? 'tanh';
  return desc;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' ? 'an object' : String(value);
}

/** Check a parsed description field by field; every problem is an InputError `${source}: …`. */
export function parseNetDescription(json: unknown, source: string): NetDescription {
  const fail = (what: string): never => { throw new InputError(`${source}: ${what}`); };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return fail(`expected the net config to be a JSON object, got ${describeValue(json)}`);
  const j = json as Record<string, unknown>;
  const positive = (name: string, min = 1): number => {
    const v = j[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(`expected the net config's ${name} to be an integer ≥ ${min}, got ${describeValue(v)}`);
    return v as number;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[]): T => {
    const v = j[name];
    if (typeof v !== 'string' || !allowed.includes(v as T)) fail(`expected the net config's ${name} to be one of ${allowed.join(', ')}, got ${describeValue(v)}`);
    return v as T;
  };
  const cell = oneOf('cell', CELL_KINDS);
  if (typeof j.bidirectional !== 'boolean') fail(`expected the net config's bidirectional to be true or false, got ${describeValue(j.bidirectional)}`);
  const desc: NetDescription = {
    cell,
    vocabSize: positive('vocabSize'),
    embeddingDim: positive('embeddingDim', 0),
    hidden: positive('hidden'),
    layers: positive('layers'),
    bidirectional: j.bidirectional as boolean,
    outputSize: positive('outputSize'),
    head: oneOf('head', ['softmax', 'sigmoid'] as const),
    readout: oneOf('readout', ['every-step', 'last-step'] as const),
    dtype: oneOf('dtype', ['float32', 'float64'] as const),
  };
  if (cell === 'rnn') desc.activation = j.activation === undefined ? 'tanh' : oneOf('activation', ['tanh', 'relu'] as const);
  else if (j.activation !== undefined) fail(`expected no activation for a '${cell}' cell (only 'rnn' has one), got ${describeValue(j.activation)}`);
  return desc;
}

/**
 * A net of the described structure; its weights come from `options.rng` (default `new Rng(DEFAULT_SEED)`;
 * then usually from a file), in `options.dtype` (default desc.dtype, else float32).
 */
export function createSequenceNet(desc: Omit<NetDescription, 'dtype'> & { dtype?: DType }, options?: CreateOptions): SequenceNet;
/** @deprecated Use `createSequenceNet(desc, { rng })`. */
export function createSequenceNet(desc: NetDescription, rng: Rng): SequenceNet;
export function createSequenceNet(desc: Omit<NetDescription, 'dtype'> & { dtype?: DType }, second?: CreateOptions | Rng): SequenceNet {
  const { rng, dtype } = resolveCreateOptions('createSequenceNet', isRng(second) ? { rng: second } : second, desc.dtype);
  const embedding = desc.embeddingDim > 0 ? createEmbedding({
    vocabSize: desc.vocabSize, dim: desc.embeddingDim,
  }, { rng, dtype }) : null;
  const rnn = createStackedRnn({
    kind: desc.cell, inputSize: embedding ? desc.embeddingDim : desc.vocabSize, hiddenSize: desc.hidden,
    numLayers: desc.layers, bidirectional: desc.bidirectional,
    ...(desc.cell === 'rnn' ? { activation: desc.activation ?? 'tanh' } : {}),
  }, { rng, dtype });
  const head = createOutputHead({ kind: desc.head, inputSize: rnn.outputSize, outputSize: desc.outputSize }, { rng, dtype });
  return { embedding, rnn, head, readout: desc.readout };
}

/** Every weight of the net under PyTorch's names: embedding.weight, rnn.*, linear.weight, linear.bias. */
export function sequenceNetTensors(net: SequenceNet): Record<string, SafeTensor> {
  return {
    ...(net.embedding ? embeddingTensors(net.embedding) : {}),
    ...recurrentTensors(net.rnn, 'rnn.'),
    ...linearTensors(net.head.dense),
  };
}

/** The names and shapes the net expects. */
export function sequenceNetShapes(net: SequenceNet): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  if (net.embedding) shapes['embedding.weight'] = [net.embedding.weight.rows, net.embedding.weight.cols];
  Object.assign(shapes, recurrentShapes(net.rnn, 'rnn.'));
  const { W, b } = net.head.dense.params;
  shapes['linear.weight'] = [W.rows, W.cols];
  if (b) shapes['linear.bias'] = [b.cols];
  return shapes;
}

/**
 * Copy tensors into the net: every name and shape is checked first (one InputError naming the
 * source and the tensor; the net is left unchanged), then the weights are copied.
 */
export function loadSequenceNetTensors(net: SequenceNet, tensors: Record<string, SafeTensor>, source: string, what = 'this model'): void {
  checkTensorNames(tensors, sequenceNetShapes(net), source, what);
  if (net.embedding) loadEmbeddingTensors(net.embedding, tensors);
  loadRecurrentTensors(net.rnn, tensors, 'rnn.', source);
  loadLinearTensors(net.head.dense, tensors);
}

/** A one-line summary of a description, for messages ("2-layer bidirectional lstm, H=64, …"). */
export function netSummary(desc: NetDescription): string {
  const input = desc.embeddingDim > 0 ? `embedding ${desc.vocabSize}×${desc.embeddingDim}` : `one-hot ${desc.vocabSize}`;
  return `${input} → ${desc.layers}-layer ${desc.bidirectional ? 'bidirectional ' : ''}${desc.cell}${desc.activation ? `(${desc.activation})` : ''} H=${desc.hidden} → linear ${desc.outputSize} (${desc.head}, ${desc.readout})`;
}

/** The metadata block of a net: format and the description as a JSON string. */
export function netMetadata(net: SequenceNet): Record<string, string> {
  return { format: 'seqgrad', [NET_METADATA_KEY]: JSON.stringify(describeNet(net)) };
}

/** Write the net's weights and description (plus `extra` metadata strings) as safetensors. */
export function saveSequenceNet(path: string, net: SequenceNet, extra: Record<string, string> = {}): void {
  writeSafetensorsFile(path, sequenceNetTensors(net), { ...netMetadata(net), ...extra });
}

export interface LoadedSequenceNet {
  net: SequenceNet;
  description: NetDescription;
  metadata: Record<string, string>;
}

/** Parse a JSON string of the metadata; an InputError names the key. */
export function metadataJSON(metadata: Record<string, string>, key: string, source: string): unknown {
  const text = metadata[key];
  if (text === undefined) throw new InputError(`${source}: expected __metadata__ to hold '${key}', got only ${Object.keys(metadata).map((k) => `'${k}'`).join(', ') || 'no keys'}`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(`${source}: expected __metadata__['${key}'] to be a JSON string, could not parse it (${(err as Error).message})`);
  }
}

/**
 * Read a safetensors file into a new net. The structure comes from `description` when given (a
 * PyTorch state_dict carries none), else from the file's `__metadata__['seqgrad.net']`.
 */
export function loadSequenceNet(path: string, description?: NetDescription): LoadedSequenceNet {
  const source = `safetensors file ${path}`;
  const file = readSafetensorsFile(path);
  const desc = description ?? parseNetDescription(metadataJSON(file.metadata, NET_METADATA_KEY, source), `${source}: __metadata__['${NET_METADATA_KEY}']`);
  const net = createSequenceNet(desc);
  loadSequenceNetTensors(net, file.tensors, source, `a ${netSummary(desc)}`);
  return { net, description: desc, metadata: file.metadata };
}

/**
 * The net's logits for B full-length sequences of T ids (time-major: ids[t·B + b]): [T·B, K] for
 * 'every-step', [B, K] for 'last-step'. A fresh workspace per call (for checks and exports, not
 * for training loops).
 */
export function sequenceNetLogits(net: SequenceNet, ids: ArrayLike<number>, steps: number, batch: number): Matrix {
  if (ids.length !== steps * batch) throw new Error(`sequenceNetLogits: expected T·B = ${steps * batch} ids, got ${ids.length}`);
  const input = net.embedding ? ids : oneHot(ids, net.rnn.inputSize, net.rnn.dtype);
  if (net.readout === 'every-step') {
    const model = createManyToMany({ rnn: net.rnn, head: net.head, embedding: net.embedding });
    return manyToManyLogits(model, createManyToManyWorkspace(model, steps, batch), input).logits.clone();
  }
  const model = createManyToOne({ rnn: net.rnn, head: net.head, embedding: net.embedding });
  return manyToOneLogits(model, createManyToOneWorkspace(model, steps, batch), input).clone();
}

/** [n, V] rows one-hot(ids[i]). */
function oneHot(ids: ArrayLike<number>, width: number, dtype: DType): Matrix {
  const x = Matrix.zeros(ids.length, width, dtype);
  for (let i = 0; i < ids.length; i++) {
    if (!Number.isInteger(ids[i]) || ids[i] < 0 || ids[i] >= width) throw new Error(`sequenceNetLogits: expected ids in [0, ${width}), got ${ids[i]} at position ${i}`);
    x.set(i, ids[i], 1);
  }
  return x;
}

// ---- a whole application model: which model, its net, and what the application needs -------

/**
 * What rebuilds an application model from tensors: the model kind ('language-model', 'tagger',
 * 'sentiment'), the net's description (optional when the application can derive it) and the
 * application's own part (its config, vocabulary, classes). In a safetensors file it is
 * `__metadata__` = { format: "seqgrad", "seqgrad.model": model, "seqgrad.net": JSON(net),
 * "seqgrad.app": JSON(app) }; for a file without it (a PyTorch state_dict), `seqgrad import
 * --config FILE.json` reads it as one JSON object { model, net?, app }.
 */
export interface ModelDocument {
  model: string;
  net?: NetDescription;
  app: Record<string, unknown>;
}

/** An application model ready to export: its document and its net (views of its weights). */
export interface ExportableModel {
  document: ModelDocument & { net: NetDescription };
  net: SequenceNet;
}

/** The ExportableModel of a net and an application part. */
export function exportable(model: string, net: SequenceNet, app: Record<string, unknown>): ExportableModel {
  return { document: { model, net: describeNet(net), app }, net };
}

/** The metadata strings of a document. */
export function documentMetadata(doc: ModelDocument): Record<string, string> {
  const out: Record<string, string> = { format: 'seqgrad', 'seqgrad.model': doc.model, 'seqgrad.app': JSON.stringify(doc.app) };
  if (doc.net) out[NET_METADATA_KEY] = JSON.stringify(doc.net);
  return out;
}

/** Write an exportable model as safetensors: PyTorch names, and the document in `__metadata__`. */
export function saveModelSafetensors(path: string, model: ExportableModel): void {
  writeSafetensorsFile(path, sequenceNetTensors(model.net), documentMetadata(model.document));
}

function checkDocument(json: unknown, source: string): ModelDocument {
  const fail = (what: string): never => { throw new InputError(`${source}: ${what}`); };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return fail(`expected a JSON object { model, net?, app }, got ${describeValue(json)}`);
  const { model, net, app } = json as Record<string, unknown>;
  if (typeof model !== 'string') return fail(`expected "model" to name the model kind (language-model, tagger, sentiment), got ${describeValue(model)}`);
  if (app === null || typeof app !== 'object' || Array.isArray(app)) return fail(`expected "app" to be an object (the model's config and vocabulary), got ${describeValue(app)}`);
  const doc: ModelDocument = { model, app: app as Record<string, unknown> };
  if (net !== undefined) doc.net = parseNetDescription(net, `${source}: net`);
  return doc;
}

/** The document in a file's `__metadata__`; an InputError when it is missing or malformed. */
export function documentFromMetadata(metadata: Record<string, string>, source: string): ModelDocument {
  if (metadata['seqgrad.model'] === undefined) {
    throw new InputError(`${source}: expected seqgrad's config in __metadata__ ('seqgrad.model', 'seqgrad.app'), found none: a state_dict saved elsewhere needs --config FILE.json ({ model, net?, app })`);
  }
  const json: Record<string, unknown> = { model: metadata['seqgrad.model'], app: metadataJSON(metadata, 'seqgrad.app', source) };
  if (metadata[NET_METADATA_KEY] !== undefined) json.net = metadataJSON(metadata, NET_METADATA_KEY, source);
  return checkDocument(json, `${source}: __metadata__`);
}

/** Read a `--config` file: one JSON object { model, net?, app }. */
export function readModelDocument(path: string): ModelDocument {
  return checkDocument(readJsonInput(path, 'config file'), `config file ${path}`);
}

/**
 * Copy a file's tensors into an application's freshly built net. When the document carries a net
 * description, the net built from the application's config must be the same (field by field):
 * a config and a file that disagree are an InputError naming the field.
 */
export function loadNetFromFile(net: SequenceNet, tensors: Record<string, SafeTensor>, doc: ModelDocument, source: string): void {
  const built = describeNet(net);
  if (doc.net) {
    for (const key of new Set([...Object.keys(built), ...Object.keys(doc.net)]) as Set<keyof NetDescription>) {
      if (built[key] !== doc.net[key]) {
        throw new InputError(`${source}: the net config says ${key} = ${JSON.stringify(doc.net[key])}, the ${doc.model} config builds ${JSON.stringify(built[key])}`);
      }
    }
  }
  loadSequenceNetTensors(net, tensors, source, `a ${netSummary(built)}`);
}

/** Read a safetensors file and the document that rebuilds it (from `configPath`, else from the file). */
export function readModelSafetensors(path: string, configPath?: string): { tensors: Record<string, SafeTensor>; document: ModelDocument; source: string } {
  const source = `safetensors file ${path}`;
  const file = readSafetensorsFile(path);
  const document = configPath ? readModelDocument(configPath) : documentFromMetadata(file.metadata, source);
  return { tensors: file.tensors, document, source };
}
