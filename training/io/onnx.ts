/**
 * ONNX export of the shared architecture (training/io/sequence-net.ts) with ONNX's own recurrent
 * operators, written by seqgrad's protobuf encoder (training/io/protobuf.ts; IR version 8, opset 14):
 *
 *   ids (int64 [T, B])
 *     → Gather(embedding.weight, ids)                 [T, B, d]      or OneHot(ids, V) [T, B, V]
 *     → per layer k: RNN | GRU | LSTM (direction forward or bidirectional)   Y [T, dirs, B, H]
 *                    → Transpose [0, 2, 1, 3] → Reshape [0, 0, −1]            [T, B, dirs·H]
 *     → 'every-step': MatMul(·, linear.weightᵀ) + linear.bias = logits        [T, B, K]
 *       'last-step':  [Y⟨T⟩ forward, Y⟨1⟩ backward] → MatMul + Add = logits  [B, K]
 *     → Softmax(logits) or Sigmoid(logits) = probabilities
 *
 * Gate orders (ONNX's operator definitions; seqgrad's rows in layers/interchange.ts):
 *   RNN   one block, activations Tanh or Relu; Wb = b, Rb = 0
 *   LSTM  ONNX [i o f c] ← seqgrad [Γu Γf c̃ Γo] blocks [0, 3, 1, 2]; Wb = b, Rb = 0;
 *         'lstm-peephole': P [dirs, 3H] = [p_u, p_o, p_f] (ONNX's peephole is exactly the notes')
 *   GRU   ONNX [z r h], H′ = (1 − z) ∗ h̃ + z ∗ H:
 *         'gru-reset-after' (PyTorch's): blocks [1, 0, 2] of [r z n], Wb = b, Rb = b_a,
 *           linear_before_reset = 1 (h̃ = tanh(W_h x + Wb_h + r ∗ (R_h H + Rb_h)));
 *         'gru' (the notes', reset before the matmul): linear_before_reset = 0 and z = 1 − Γu,
 *           i.e. the Γu block negated (σ(−v) = 1 − σ(v)); r = Γr, h̃ = c̃;
 *         'gru-simple' (Γr ≡ 1): the same with an r block of zero weights and bias 40:
 *           σ(40) rounds to exactly 1 in float32.
 * ONNX runtimes run float32: float64 models are exported with their weights rounded to float32.
 * The model's document (training/io/sequence-net.ts) goes into the file's metadata_props.
 */
import { isBidirectional } from '../../layers/bidirectional.js';
import type { CellKind, RecurrentCell } from '../../layers/cells/cell.js';
import type { Matrix } from '../../engine/matrix.js';
import { ProtoWriter } from './protobuf.js';
import { documentMetadata, type ExportableModel, type SequenceNet } from './sequence-net.js';

export const ONNX_OPSET = 14;
export const ONNX_IR_VERSION = 8;

const FLOAT = 1;
const INT64 = 7;

interface Initializer {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

type Attribute =
  | { name: string; int: number }
  | { name: string; string: string }
  | { name: string; strings: string[] }
  | { name: string; ints: number[] };

interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Attribute[];
}

/** A graph under construction: initializers and nodes in topological order. */
class GraphBuilder {
  readonly initializers: Initializer[] = [];
  readonly nodes: OnnxNode[] = [];

  float(name: string, dims: number[], data: Float32Array): string {
    this.initializers.push({ name, dims, data });
    return name;
  }

  int64(name: string, dims: number[], values: number[]): string {
    this.initializers.push({ name, dims, data: BigInt64Array.from(values.map((v) => BigInt(v))) });
    return name;
  }

  node(op: string, inputs: string[], output: string, attributes: Attribute[] = []): string {
    this.nodes.push({ op, inputs, outputs: [output], attributes });
    return output;
  }
}

/** How one ONNX gate block is made from seqgrad's row blocks: block `from` times `sign`, or zeros plus `bias`. */
interface BlockSource {
  from: number | null;
  sign: 1 | -1;
  bias?: number;
}

interface CellMapping {
  op: 'RNN' | 'GRU' | 'LSTM';
  blocks: BlockSource[];
  /** GRU only. */
  linearBeforeReset?: 0 | 1;
  /** 'gru-reset-after': Rb from b_a (else Rb = 0). */
  recurrentBias: boolean;
  peephole: boolean;
}

const plain = (from: number): BlockSource => ({ from, sign: 1 });

function cellMapping(kind: CellKind): CellMapping {
  switch (kind) {
    case 'rnn': return { op: 'RNN', blocks: [plain(0)], recurrentBias: false, peephole: false };
    case 'lstm': return { op: 'LSTM', blocks: [plain(0), plain(3), plain(1), plain(2)], recurrentBias: false, peephole: false };
    case 'lstm-peephole': return { op: 'LSTM', blocks: [plain(0), plain(3), plain(1), plain(2)], recurrentBias: false, peephole: true };
    case 'gru-reset-after': return { op: 'GRU', blocks: [plain(1), plain(0), plain(2)], linearBeforeReset: 1, recurrentBias: true, peephole: false };
    case 'gru': return { op: 'GRU', blocks: [{ from: 1, sign: -1 }, plain(0), plain(2)], linearBeforeReset: 0, recurrentBias: false, peephole: false };
    case 'gru-simple': return { op: 'GRU', blocks: [{ from: 0, sign: -1 }, { from: null, sign: 1, bias: 40 }, plain(1)], linearBeforeReset: 0, recurrentBias: false, peephole: false };
    default: throw new Error(`sequenceNetToOnnx: no ONNX mapping for a '${kind as string}' cell`);
  }
}

/** Entry (row, col) of seqgrad's fused layout (a bias [1, G] is read as a G × 1 column). */
type Entries = (row: number, col: number) => number;

const entriesOf = (m: Matrix): Entries => (r, c) => m.get(r, c);
const biasEntries = (b: Matrix): Entries => (r) => b.get(0, r);

/** Rows of `m` rearranged into ONNX's blocks of H rows (a missing block: zeros, or the bias value). */
function blockRows(out: Float32Array, at: number, m: Entries | null, blocks: BlockSource[], H: number, cols: number, isBias: boolean): void {
  blocks.forEach((block, k) => {
    for (let i = 0; i < H; i++) {
      for (let c = 0; c < cols; c++) {
        const target = at + (k * H + i) * cols + c;
        if (block.from === null || m === null) out[target] = isBias ? (block.bias ?? 0) : 0;
        else out[target] = block.sign * m(block.from * H + i, c) || 0; // || 0: −0 → 0 keeps zeros plain
      }
    }
  });
}

/** One recurrent layer as an ONNX RNN/GRU/LSTM node; returns Y [T, dirs, B, H]. */
function recurrentLayer(g: GraphBuilder, input: string, cells: RecurrentCell[], k: number): string {
  const first = cells[0];
  if (cells.some((c) => c.config.layerNorm)) throw new Error(`sequenceNetToOnnx: ONNX's ${first.kind.toUpperCase()} has no layer normalisation, got a layer-normalised ${first.kind} cell`);
  const map = cellMapping(first.kind);
  const H = first.hiddenSize, D = first.inputSize, G = map.blocks.length * H, dirs = cells.length;
  const W = new Float32Array(dirs * G * D), R = new Float32Array(dirs * G * H), B = new Float32Array(dirs * 2 * G);
  const P = map.peephole ? new Float32Array(dirs * 3 * H) : null;
  cells.forEach((cell, d) => {
    const p = cell.params;
    blockRows(W, d * G * D, entriesOf(p.W_x), map.blocks, H, D, false);
    blockRows(R, d * G * H, entriesOf(p.W_a), map.blocks, H, H, false);
    blockRows(B, d * 2 * G, biasEntries(p.b), map.blocks, H, 1, true);
    blockRows(B, d * 2 * G + G, map.recurrentBias ? biasEntries(p.b_a) : null, map.blocks.map((b) => ({ ...b, bias: 0 })), H, 1, true);
    if (P) {
      [p.p_u, p.p_o, p.p_f].forEach((vec, j) => {
        for (let i = 0; i < H; i++) P[d * 3 * H + j * H + i] = vec.get(0, i);
      });
    }
  });
  const name = `rnn.l${k}`;
  const inputs = [input, g.float(`${name}.W`, [dirs, G, D], W), g.float(`${name}.R`, [dirs, G, H], R), g.float(`${name}.B`, [dirs, 2 * G], B)];
  if (P) inputs.push('', '', '', g.float(`${name}.P`, [dirs, 3 * H], P));
  const attributes: Attribute[] = [
    { name: 'hidden_size', int: H },
    { name: 'direction', string: dirs === 2 ? 'bidirectional' : 'forward' },
  ];
  if (map.op === 'RNN') {
    const activation = first.config.activation === 'relu' ? 'Relu' : 'Tanh';
    attributes.push({ name: 'activations', strings: cells.map(() => activation) });
  }
  if (map.linearBeforeReset !== undefined) attributes.push({ name: 'linear_before_reset', int: map.linearBeforeReset });
  return g.node(map.op, inputs, `${name}.Y`, attributes);
}

function flatFloat(m: Matrix, transpose: boolean): Float32Array {
  const out = new Float32Array(m.rows * m.cols);
  for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) out[transpose ? c * m.rows + r : r * m.cols + c] = m.get(r, c);
  return out;
}

/** The ONNX graph of a net: nodes and initializers, input 'ids', outputs 'logits' and 'probabilities'. */
function buildGraph(net: SequenceNet): { graph: GraphBuilder; outputRank: 2 | 3 } {
  const g = new GraphBuilder();
  let x: string;
  if (net.embedding) {
    const E = net.embedding.weight;
    x = g.node('Gather', [g.float('embedding.weight', [E.rows, E.cols], flatFloat(E, false)), 'ids'], 'x', [{ name: 'axis', int: 0 }]);
  } else {
    const V = net.rnn.inputSize;
    x = g.node('OneHot', ['ids', g.int64('one_hot.depth', [], [V]), g.float('one_hot.values', [2], Float32Array.from([0, 1]))], 'x', [{ name: 'axis', int: -1 }]);
  }
  const merge = g.int64('merge_directions.shape', [3], [0, 0, -1]);
  let y = '';
  net.rnn.layers.forEach((layer, k) => {
    const cells = isBidirectional(layer.unit) ? [layer.unit.forward, layer.unit.backward] : [layer.unit];
    y = recurrentLayer(g, x, cells, k);
    const t = g.node('Transpose', [y], `rnn.l${k}.Y_TBDH`, [{ name: 'perm', ints: [0, 2, 1, 3] }]);
    x = g.node('Reshape', [t, merge], `rnn.l${k}.out`);
  });
  let features = x;
  if (net.readout === 'last-step') {
    const last = g.int64('index.last', [], [-1]), zero = g.int64('index.0', [], [0]);
    const atLast = g.node('Gather', [y, last], 'readout.Y_last', [{ name: 'axis', int: 0 }]);
    const forward = g.node('Gather', [atLast, zero], 'readout.forward', [{ name: 'axis', int: 0 }]);
    features = forward;
    if (isBidirectional(net.rnn.layers[net.rnn.layers.length - 1].unit)) {
      const atFirst = g.node('Gather', [y, zero], 'readout.Y_first', [{ name: 'axis', int: 0 }]);
      const backward = g.node('Gather', [atFirst, g.int64('index.1', [], [1])], 'readout.backward', [{ name: 'axis', int: 0 }]);
      features = g.node('Concat', [forward, backward], 'readout.summary', [{ name: 'axis', int: 1 }]);
    }
  }
  const { W, b } = net.head.dense.params;
  let logits = g.node('MatMul', [features, g.float('linear.weight_t', [W.cols, W.rows], flatFloat(W, true))], b ? 'linear.matmul' : 'logits');
  if (b) logits = g.node('Add', [logits, g.float('linear.bias', [b.cols], flatFloat(b, false))], 'logits');
  g.node(net.head.kind === 'softmax' ? 'Softmax' : 'Sigmoid', [logits], 'probabilities', net.head.kind === 'softmax' ? [{ name: 'axis', int: -1 }] : []);
  return { graph: g, outputRank: net.readout === 'last-step' ? 2 : 3 };
}

// ---- encoding (onnx.proto field numbers) ---------------------------------------------------

function tensorProto(t: Initializer): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.data instanceof Float32Array ? FLOAT : INT64);
  w.string(8, t.name);
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  w.bytes(9, littleEndian(bytes, t.data.BYTES_PER_ELEMENT));
  return w;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function littleEndian(bytes: Uint8Array, width: number): Uint8Array {
  if (LITTLE_ENDIAN) return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += width) for (let k = 0; k < width; k++) out[i + k] = bytes[i + width - 1 - k];
  return out;
}

function attributeProto(a: Attribute): ProtoWriter {
  const w = new ProtoWriter().string(1, a.name);
  if ('int' in a) w.int(3, a.int).int(20, 2);
  else if ('string' in a) w.string(4, a.string).int(20, 3);
  else if ('ints' in a) {
    for (const v of a.ints) w.int(8, v);
    w.int(20, 7);
  } else {
    for (const s of a.strings) w.string(9, s);
    w.int(20, 8);
  }
  return w;
}

function nodeProto(n: OnnxNode, index: number): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, `${n.op}_${index}`).string(4, n.op);
  for (const a of n.attributes ?? []) w.message(5, attributeProto(a));
  return w;
}

/** ValueInfoProto of a tensor with named (symbolic) or fixed dimensions. */
function valueInfo(name: string, elemType: number, dims: (string | number)[]): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of dims) shape.message(1, typeof d === 'string' ? new ProtoWriter().string(2, d) : new ProtoWriter().int(1, d));
  const tensorType = new ProtoWriter().int(1, elemType).message(2, shape);
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
}

/**
 * The model as an ONNX file's bytes: input 'ids' (int64 [T, B], time-major), outputs 'logits'
 * and 'probabilities' ([T, B, K], or [B, K] for 'last-step' models).
 */
export function sequenceNetToOnnx(model: ExportableModel): Uint8Array {
  const { graph, outputRank } = buildGraph(model.net);
  const K = model.net.head.outputSize;
  const outDims = outputRank === 3 ? ['T', 'B', K] : ['B', K];
  const g = new ProtoWriter();
  graph.nodes.forEach((n, i) => g.message(1, nodeProto(n, i)));
  g.string(2, `seqgrad ${model.document.model}`);
  for (const t of graph.initializers) g.message(5, tensorProto(t));
  g.message(11, valueInfo('ids', INT64, ['T', 'B']));
  g.message(12, valueInfo('logits', FLOAT, outDims));
  g.message(12, valueInfo('probabilities', FLOAT, outDims));
  const m = new ProtoWriter()
    .int(1, ONNX_IR_VERSION)
    .string(2, 'seqgrad')
    .message(7, g)
    .message(8, new ProtoWriter().string(1, '').int(2, ONNX_OPSET));
  for (const [key, value] of Object.entries(documentMetadata(model.document))) m.message(14, new ProtoWriter().string(1, key).string(2, value));
  return m.finish();
}
