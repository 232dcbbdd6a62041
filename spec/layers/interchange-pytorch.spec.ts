import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Matrix } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import {
  bidirectionalBackward, bidirectionalForward, createBidirectional, createBidirectionalWorkspace,
} from '../../layers/bidirectional.js';
import type { CellKind, RecurrentCell } from '../../layers/cells/cell.js';
import { createCell } from '../../layers/cells/create-cell.js';
import {
  isStackedRnn, loadRnnStateDict, rnnGradStateDict, rnnStateDict, type RecurrentLayer, type TensorJSON,
  type TorchStateDict,
} from '../../layers/interchange.js';
import { createSequenceWorkspace, sequenceBackward, sequenceForward } from '../../layers/sequence.js';
import {
  createStack, createStackedRnn, createStackedWorkspace, stackedBackward, stackedForward,
} from '../../layers/stacked.js';
import { isBidirectional } from '../../layers/bidirectional.js';

// Reference values from PyTorch 1.13's nn.RNN (tanh, relu), nn.GRU and nn.LSTM in float64, written
// by spec/fixtures/gen_torch_cells.py (layout described there): plain, bidirectional, 2-layer
// bidirectional, and 2-layer bidirectional on a packed (ragged) batch. Tolerance 1e−10.

type Nested = number[][];
interface TorchCase {
  name: string;
  config: {
    cell: 'rnn-tanh' | 'rnn-relu' | 'gru' | 'lstm'; num_layers: number; bidirectional: boolean;
    T: number; B: number; D: number; H: number; lengths: number[] | null;
  };
  state_dict: Record<string, number[] | Nested>;
  x: Nested; h0: Nested[]; c0?: Nested[];
  output: Nested; h_n: Nested[]; c_n?: Nested[];
  upstream: { output: Nested; h_n: Nested[]; c_n?: Nested[] };
  grads: { x: Nested; h0: Nested[]; c0?: Nested[]; state_dict: Record<string, number[] | Nested> };
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/torch-cells.json', import.meta.url), 'utf8')) as {
  dtype: string; cases: TorchCase[];
};

const TOL = 1e-10;
const KIND: Record<TorchCase['config']['cell'], { kind: CellKind; activation?: 'tanh' | 'relu' }> = {
  'rnn-tanh': { kind: 'rnn', activation: 'tanh' },
  'rnn-relu': { kind: 'rnn', activation: 'relu' },
  gru: { kind: 'gru-reset-after' },
  lstm: { kind: 'lstm' },
};

const f64 = (rows: Nested): Matrix => Matrix.fromArray(rows, 'float64');

/** Largest |a − b| over two tensors of the same (nested) shape. */
function maxDiff(actual: unknown, expected: unknown): number {
  if (Array.isArray(expected)) {
    expect(Array.isArray(actual)).toBe(true);
    expect((actual as unknown[]).length).toBe(expected.length);
    return expected.reduce((m: number, e, i) => Math.max(m, maxDiff((actual as unknown[])[i], e)), 0);
  }
  return Math.abs((actual as number) - (expected as number));
}

/** A seqgrad layer shaped like the PyTorch module of the case (weights still random). */
function buildLayer(c: TorchCase, seed = 1): RecurrentLayer {
  const { kind, activation } = KIND[c.config.cell];
  const rng = new Rng(seed);
  const opts = { inputSize: c.config.D, hiddenSize: c.config.H, dtype: 'float64' as const, activation, rng };
  if (c.config.num_layers > 1) {
    return createStackedRnn({ ...opts, kind, numLayers: c.config.num_layers, bidirectional: c.config.bidirectional });
  }
  if (c.config.bidirectional) return createBidirectional(createCell({ ...opts, kind }), createCell({ ...opts, kind }));
  return createCell({ ...opts, kind });
}

function maskOf(c: TorchCase): Matrix | undefined {
  const { lengths, T, B } = c.config;
  if (!lengths) return undefined;
  const mask = Matrix.zeros(T, B, 'float64');
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) mask.set(t, b, t < lengths[b] ? 1 : 0);
  return mask;
}

/** PyTorch's (layers·dirs, B, H) h and c → the state of unit i = layer·dirs + dir: [h] or [h, c]. */
function torchState(h: Nested[], c: Nested[] | undefined, i: number): Matrix[] {
  return c ? [f64(h[i]), f64(c[i])] : [f64(h[i])];
}

interface RunResult {
  output: Nested;
  /** Per unit in PyTorch's order: [h] or [h, c] as nested arrays. */
  finalStates: Nested[][];
  dx: Nested;
  dh0: Nested[][];
}

/**
 * Forward with the case's x, h0 (c0) and lengths; backward with its upstream gradients — through
 * whichever seqgrad API fits the layer (cell runner, bidirectional wrapper or stack).
 */
function run(layer: RecurrentLayer, c: TorchCase): RunResult {
  const { T, B } = c.config;
  const x = f64(c.x);
  const mask = maskOf(c);
  const dOut = f64(c.upstream.output);
  const h0 = (i: number) => torchState(c.h0, c.c0, i);
  const dFinal = (i: number) => torchState(c.upstream.h_n, c.upstream.c_n, i);
  const arrays = (state: readonly Matrix[]) => state.map((m) => m.toArray());
  if (isStackedRnn(layer)) {
    const ws = createStackedWorkspace(layer, T, B);
    const dirs = c.config.bidirectional ? 2 : 1;
    const perLayer = <S>(f: (i: number) => S) => layer.layers.map((_, l) => (dirs === 2
      ? { forward: f(2 * l) as Matrix[], backward: f(2 * l + 1) as Matrix[] }
      : { forward: f(l) as Matrix[] }));
    const fwd = stackedForward(layer, ws, x, { h0: perLayer(h0), mask });
    const output = fwd.outputs.toArray();
    const finalStates = fwd.finalState.flatMap((s) => (s.backward ? [arrays(s.forward), arrays(s.backward)] : [arrays(s.forward)]));
    const bwd = stackedBackward(layer, ws, dOut, { dFinal: perLayer(dFinal) });
    const dh0 = bwd.dh0.flatMap((s) => (s.backward ? [arrays(s.forward), arrays(s.backward)] : [arrays(s.forward)]));
    return { output, finalStates, dx: (bwd.dx as Matrix).toArray(), dh0 };
  }
  if (isBidirectional(layer)) {
    const ws = createBidirectionalWorkspace(layer, T, B);
    const fwd = bidirectionalForward(layer, ws, x, { h0: { forward: h0(0), backward: h0(1) }, mask });
    const output = fwd.outputs.toArray();
    const finalStates = [arrays(fwd.finalState.forward), arrays(fwd.finalState.backward)];
    const bwd = bidirectionalBackward(layer, ws, dOut, { dFinal: { forward: dFinal(0), backward: dFinal(1) } });
    return { output, finalStates, dx: (bwd.dx as Matrix).toArray(), dh0: [arrays(bwd.dh0.forward), arrays(bwd.dh0.backward)] };
  }
  const ws = createSequenceWorkspace(layer, T, B);
  const fwd = sequenceForward(layer, ws, x, { h0: h0(0), mask });
  const output = fwd.outputs.toArray();
  const finalStates = [arrays(fwd.finalState)];
  const bwd = sequenceBackward(layer, ws, dOut, { dFinal: dFinal(0) });
  return { output, finalStates, dx: bwd.dx.toArray(), dh0: [arrays(bwd.dh0)] };
}

/** PyTorch's stacked state tensors (layers·dirs, B, H) as per-unit lists, to compare with RunResult. */
function expectedStates(h: Nested[], cs: Nested[] | undefined): Nested[][] {
  return h.map((hi, i) => (cs ? [hi, cs[i]] : [hi]));
}

/** { shape, data } form of a nested tensor (the other JSON form a state_dict may take). */
function flatForm(value: number[] | Nested): TensorJSON {
  if (Array.isArray(value[0])) {
    const rows = value as Nested;
    return { shape: [rows.length, rows[0].length], data: rows.flat() };
  }
  return { shape: [value.length], data: [...(value as number[])] };
}

function sameBits(a: Matrix, b: Matrix): boolean {
  const x = a.clone(), y = b.clone();
  return Buffer.from(x.data.buffer).equals(Buffer.from(y.data.buffer));
}

function allParams(layer: RecurrentLayer): Matrix[] {
  const cells: RecurrentCell[] = isStackedRnn(layer)
    ? layer.layers.flatMap((l) => (isBidirectional(l.unit) ? [l.unit.forward, l.unit.backward] : [l.unit]))
    : isBidirectional(layer) ? [layer.forward, layer.backward] : [layer];
  return cells.flatMap((cell) => Object.values(cell.params));
}

describe('PyTorch state_dicts reproduce nn.RNN / nn.GRU / nn.LSTM outputs and gradients (float64 fixture)', () => {
  it('the fixture holds float64 plain, bidirectional, 2-layer and packed cases of the four cells', () => {
    expect(fixture.dtype).toBe('float64');
    expect(fixture.cases.map((c) => c.name)).toEqual(['rnn-tanh', 'rnn-relu', 'gru', 'lstm'].flatMap((cell) => [
      `${cell} plain`, `${cell} bidir`, `${cell} bidir2`, `${cell} bidir2-packed`,
    ]));
  });

  for (const c of fixture.cases) {
    it(`${c.name}: outputs, final states, and gradients of x, h0${c.c0 ? ', c0' : ''} and every state_dict entry`, () => {
      const layer = buildLayer(c);
      loadRnnStateDict(layer, c.state_dict as TorchStateDict);
      const r = run(layer, c);
      expect(maxDiff(r.output, c.output)).toBeLessThan(TOL);
      expect(maxDiff(r.finalStates, expectedStates(c.h_n, c.c_n))).toBeLessThan(TOL);
      expect(maxDiff(r.dx, c.grads.x)).toBeLessThan(TOL);
      expect(maxDiff(r.dh0, expectedStates(c.grads.h0, c.grads.c0))).toBeLessThan(TOL);
      // Gradients under PyTorch's names (fused RNN/LSTM bias: both bias_ih and bias_hh get ∂L/∂b).
      const grads = rnnGradStateDict(layer, { nested: true });
      expect(Object.keys(grads)).toEqual(Object.keys(c.grads.state_dict));
      for (const [key, g] of Object.entries(c.grads.state_dict)) {
        expect(maxDiff(grads[key], g), key).toBeLessThan(TOL);
      }
      // Sanity: the outputs are not trivially small (the comparison can fail).
      expect(maxDiff(c.output, c.output.map((row) => row.map(() => 0)))).toBeGreaterThan(0.05);
    });
  }

  it('the { shape, data } form of a state_dict loads the same weights as nested arrays', () => {
    for (const c of fixture.cases.filter((k) => k.config.num_layers === 2 && !k.config.lengths)) {
      const nested = buildLayer(c, 1);
      const flat = buildLayer(c, 2);
      loadRnnStateDict(nested, c.state_dict as TorchStateDict);
      const sd: TorchStateDict = {};
      for (const [k, v] of Object.entries(c.state_dict)) sd[k] = flatForm(v);
      loadRnnStateDict(flat, sd);
      const a = allParams(nested), b = allParams(flat);
      a.forEach((m, i) => expect(sameBits(m, b[i])).toBe(true));
    }
  });
});

describe('saving to PyTorch layout and loading back', () => {
  it('PyTorch → seqgrad → PyTorch: weights copied, RNN/LSTM bias_ih = bias_ih + bias_hh and bias_hh = 0, GRU biases kept', () => {
    for (const c of fixture.cases) {
      const layer = buildLayer(c);
      loadRnnStateDict(layer, c.state_dict as TorchStateDict);
      const saved = rnnStateDict(layer, { nested: true });
      expect(Object.keys(saved)).toEqual(Object.keys(c.state_dict));
      for (const [key, value] of Object.entries(c.state_dict)) {
        const isGru = c.config.cell === 'gru';
        if (key.startsWith('weight_') || isGru) {
          expect(saved[key], key).toEqual(value);
        } else if (key.startsWith('bias_ih')) {
          const sum = (value as number[]).map((v, j) => v + (c.state_dict[key.replace('bias_ih', 'bias_hh')] as number[])[j]);
          expect(saved[key], key).toEqual(sum);
        } else {
          expect(saved[key], key).toEqual((value as number[]).map(() => 0));
        }
      }
    }
  });

  it('the re-saved state_dict reproduces the same outputs and gradients', () => {
    for (const c of fixture.cases.filter((k) => k.config.num_layers === 2)) {
      const first = buildLayer(c, 1);
      loadRnnStateDict(first, c.state_dict as TorchStateDict);
      const second = buildLayer(c, 2);
      loadRnnStateDict(second, rnnStateDict(first));
      const a = run(first, c), b = run(second, c);
      expect(b.output).toEqual(a.output);
      expect(b.finalStates).toEqual(a.finalStates);
      expect(maxDiff(b.output, c.output)).toBeLessThan(TOL);
      expect(rnnGradStateDict(second)).toEqual(rnnGradStateDict(first));
    }
  });

  it('seqgrad → PyTorch layout → seqgrad is exact for float32 and float64 cells, pairs and stacks', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const rng = new Rng(5);
      const layers: [RecurrentLayer, () => RecurrentLayer][] = [];
      for (const [kind, activation] of [['rnn', 'relu'], ['gru-reset-after', undefined], ['lstm', undefined]] as const) {
        const make = (seed: number) => createStackedRnn({
          kind, activation, inputSize: 3, hiddenSize: 4, numLayers: 3, bidirectional: true,
        }, { dtype, rng: new Rng(seed) });
        layers.push([make(rng.nextUint32()), () => make(rng.nextUint32())]);
        const cell = (seed: number) => createCell({
          kind, activation, inputSize: 2, hiddenSize: 5,
        }, { dtype, rng: new Rng(seed) });
        layers.push([cell(11), () => cell(12)]);
        layers.push([createBidirectional(cell(13), cell(14)), () => createBidirectional(cell(15), cell(16))]);
      }
      for (const [source, fresh] of layers) {
        // Fused RNN/LSTM biases survive too: saving puts all of b into bias_ih.
        const target = fresh();
        loadRnnStateDict(target, rnnStateDict(source));
        const a = allParams(source), b = allParams(target);
        expect(b.length).toBe(a.length);
        a.forEach((m, i) => expect(sameBits(m, b[i])).toBe(true));
      }
    }
  });

  it('a stack with different cells per layer maps each layer by its own kind', () => {
    const rng = new Rng(3);
    const stack = createStack([
      { cell: createCell({ kind: 'lstm', inputSize: 2, hiddenSize: 3 }, { dtype: 'float64', rng }) },
      { cell: createCell({ kind: 'gru-reset-after', inputSize: 3, hiddenSize: 2 }, { dtype: 'float64', rng }) },
    ]);
    const sd = rnnStateDict(stack, { nested: true });
    expect(Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, [(v as unknown[]).length, Array.isArray((v as unknown[])[0]) ? ((v as unknown[][])[0]).length : null]]))).toEqual({
      weight_ih_l0: [12, 2], weight_hh_l0: [12, 3], bias_ih_l0: [12, null], bias_hh_l0: [12, null],
      weight_ih_l1: [6, 3], weight_hh_l1: [6, 2], bias_ih_l1: [6, null], bias_hh_l1: [6, null],
    });
  });
});

describe('state_dict errors name the key and the shapes', () => {
  const lstmCase = fixture.cases.find((c) => c.name === 'lstm bidir2') as TorchCase;
  const load = (sd: Record<string, unknown>, opts = {}) => () => loadRnnStateDict(buildLayer(lstmCase), sd as TorchStateDict, opts);
  const sd = lstmCase.state_dict;

  it('a missing key', () => {
    const { weight_hh_l1_reverse: _gone, ...rest } = sd;
    expect(load(rest)).toThrow(/loadRnnStateDict: the state_dict lacks 'weight_hh_l1_reverse' \[12, 3\] \(expected for a 2-layer stack of bidirectional lstm\)/);
  });

  it('an unexpected key (with a hint for LSTM projections)', () => {
    expect(load({ ...sd, weight_hr_l0: [[1]] })).toThrow(/unexpected key\(s\) 'weight_hr_l0' \(LSTM projections, proj_size > 0, are not supported\)/);
    expect(load({ ...sd, weight_ih_l2: [[1]] })).toThrow(/unexpected key\(s\) 'weight_ih_l2' in the state_dict of a 2-layer stack/);
  });

  it('other parts of a model beside the recurrent keys: ignored without a prefix, an error under one unless extraKeys is ignore', () => {
    expect(load({ ...sd, 'embedding.weight': [[1, 2]], 'linear.bias': [0] })).not.toThrow();
    const prefixed = Object.fromEntries(Object.entries(sd).map(([k, v]) => [`rnn.${k}`, v]));
    expect(load({ ...prefixed, 'rnn.extra': [0] }, { prefix: 'rnn.' })).toThrow(/unexpected key\(s\) 'rnn.extra'/);
    expect(load({ ...prefixed, 'rnn.extra': [0], 'linear.bias': [0] }, { prefix: 'rnn.', extraKeys: 'ignore' })).not.toThrow();
    expect(load({ ...sd, bias: [0] }, { extraKeys: 'error' })).toThrow(/unexpected key\(s\) 'bias'/);
  });

  it('a wrong shape, in either JSON form, and a ragged or non-numeric tensor', () => {
    const wide = (sd.weight_ih_l1 as Nested).map((row) => [...row, 0]);
    expect(load({ ...sd, weight_ih_l1: wide })).toThrow("loadRnnStateDict: key 'weight_ih_l1': expected shape [12, 6], got [12, 7]");
    expect(load({ ...sd, bias_hh_l0: { shape: [1, 12], data: new Array(12).fill(0) } })).toThrow("key 'bias_hh_l0': expected shape [12], got [1, 12]");
    expect(load({ ...sd, bias_hh_l0: { shape: [12], data: [1, 2] } })).toThrow("key 'bias_hh_l0': expected { shape, data } or nested arrays of numbers, got shape [12] (12 entries) with 2 data entries");
    const ragged = (sd.weight_hh_l0 as Nested).map((row, i) => (i === 3 ? row.slice(1) : row));
    expect(load({ ...sd, weight_hh_l0: ragged })).toThrow(/key 'weight_hh_l0': .*ragged array: value\[3\] has an array of 2, expected an array of 3/);
    expect(load({ ...sd, bias_ih_l0: 'zeros' })).toThrow("key 'bias_ih_l0': expected { shape, data } or nested arrays of numbers, got string");
    const withNull = (sd.bias_ih_l0 as number[]).map((v, i) => (i === 2 ? null : v));
    expect(load({ ...sd, bias_ih_l0: withNull })).toThrow("key 'bias_ih_l0': expected { shape, data } or nested arrays of numbers, got null at flat index 2");
  });

  it('a failed load leaves the layer unchanged', () => {
    const layer = buildLayer(lstmCase);
    const before = allParams(layer).map((m) => m.clone());
    const bad = { ...sd, bias_hh_l1_reverse: [0, 0] };
    expect(() => loadRnnStateDict(layer, bad as TorchStateDict)).toThrow("key 'bias_hh_l1_reverse': expected shape [12], got [2]");
    allParams(layer).forEach((m, i) => expect(sameBits(m, before[i])).toBe(true));
  });

  it('a prefix selects a submodule of a bigger state_dict and ignores the rest', () => {
    const big: Record<string, unknown> = { 'embedding.weight': [[1, 2]], 'decoder.bias': [0] };
    for (const [k, v] of Object.entries(sd)) big[`rnn.${k}`] = v;
    const layer = buildLayer(lstmCase);
    loadRnnStateDict(layer, big as TorchStateDict, { prefix: 'rnn.' });
    expect(maxDiff(run(layer, lstmCase).output, lstmCase.output)).toBeLessThan(TOL);
    expect(Object.keys(rnnStateDict(layer, { prefix: 'rnn.' }))[0]).toBe('rnn.weight_ih_l0');
    expect(load(big)).toThrow(/lacks 'weight_ih_l0'/);
  });

  it('cells and stacks PyTorch lacks are refused with the reason', () => {
    const rng = new Rng(1);
    const opts = { inputSize: 2, hiddenSize: 2, rng };
    expect(() => rnnStateDict(createCell({ ...opts, kind: 'gru' }))).toThrow(/rnnStateDict: expected cells of kind rnn, gru-reset-after, lstm, got a 'gru' cell at l0: PyTorch has no GRU with the reset before the matmul .*Keras GRU\(reset_after=False\)/);
    expect(() => rnnStateDict(createCell({ ...opts, kind: 'lstm-peephole' }))).toThrow(/got a 'lstm-peephole' cell at l0: PyTorch has no 'lstm-peephole' cell: save it as seqgrad JSON/);
    expect(() => loadRnnStateDict(createCell({ ...opts, kind: 'gru-simple' }), {})).toThrow(/got a 'gru-simple' cell at l0/);
    const residual = createStackedRnn({ kind: 'lstm', inputSize: 2, hiddenSize: 2, numLayers: 2, residual: true }, { rng });
    expect(() => rnnStateDict(residual)).toThrow('rnnStateDict: expected a stack without residual connections (PyTorch\'s recurrent modules have none), layer 1 is residual');
  });
});
