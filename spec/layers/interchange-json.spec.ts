import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Matrix, type DType } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import { createBidirectional, isBidirectional } from '../../layers/bidirectional.js';
import type { RecurrentCell } from '../../layers/cells/cell.js';
import { CELL_KINDS, createCell } from '../../layers/cells/create-cell.js';
import { isStackedRnn, type RecurrentLayer } from '../../layers/interchange.js';
import { createSequenceWorkspace, sequenceForward } from '../../layers/sequence.js';
import { createStack, createStackedWorkspace, stackedForward } from '../../layers/stacked.js';
import {
  layerFromJSON, layerParameters, layerToJSON, loadLayer, saveLayer, type LayerJSON,
} from '../../training/io/layer-json.js';

const dir = mkdtempSync(join(tmpdir(), 'seqgrad-layer-json-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The raw bytes of a matrix's entries (row-major). */
function bytesOf(m: Matrix): Buffer {
  return Buffer.from(m.clone().data.buffer);
}

function cellsOf(layer: RecurrentLayer): RecurrentCell[] {
  if (isStackedRnn(layer)) return layer.layers.flatMap((l) => (isBidirectional(l.unit) ? [l.unit.forward, l.unit.backward] : [l.unit]));
  if (isBidirectional(layer)) return [layer.forward, layer.backward];
  return [layer];
}

/** Parameters with values that do not survive a decimal round trip at 6 digits (and a −0). */
function scramble(layer: RecurrentLayer, rng: Rng): void {
  for (const p of Object.values(layerParameters(layer))) {
    for (let r = 0; r < p.rows; r++) for (let c = 0; c < p.cols; c++) p.set(r, c, (rng.uniform() - 0.5) * Math.PI);
  }
  const first = Object.values(layerParameters(layer))[0];
  first.set(0, 0, -0);
}

function exampleLayers(dtype: DType): [string, RecurrentLayer][] {
  const rng = new Rng(9);
  const cell = (kind: (typeof CELL_KINDS)[number], inputSize: number, hiddenSize: number, activation?: 'relu') =>
    createCell({ kind, inputSize, hiddenSize, activation }, { dtype, rng });
  const out: [string, RecurrentLayer][] = CELL_KINDS.map((kind) => [`${kind} cell`, cell(kind, 3, 4)]);
  out.push(['relu rnn cell', cell('rnn', 2, 3, 'relu')]);
  out.push(['bidirectional lstm/gru-simple', createBidirectional(cell('lstm', 3, 4), cell('gru-simple', 3, 2))]);
  out.push(['stack: bidirectional peephole, residual gru, rnn', createStack([
    { cell: cell('lstm-peephole', 3, 2), backwardCell: cell('gru-reset-after', 3, 3) },
    { cell: cell('gru', 5, 5), residual: true },
    { cell: cell('rnn', 5, 2, 'relu') },
  ])]);
  for (const [, layer] of out) scramble(layer, rng);
  return out;
}

describe('whole layers as JSON: save → load is exact', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    for (const [name, layer] of exampleLayers(dtype)) {
      it(`${dtype} ${name}: same structure, bitwise-equal weights, same outputs`, () => {
        const path = join(dir, `${dtype}-${name.replace(/[^a-z0-9]+/gi, '_')}.json`);
        saveLayer(path, layer);
        const loaded = loadLayer(path);
        expect(layerToJSON(loaded).config).toEqual(layerToJSON(layer).config);
        const a = layerParameters(layer), b = layerParameters(loaded);
        expect(Object.keys(b)).toEqual(Object.keys(a));
        for (const key of Object.keys(a)) {
          expect(b[key].dtype).toBe(dtype);
          expect(bytesOf(b[key]).equals(bytesOf(a[key])), key).toBe(true);
        }
        expect(Object.is(Object.values(b)[0].get(0, 0), -0)).toBe(true);
        // Not the same objects: the loaded layer has its own cells.
        expect(cellsOf(loaded)[0]).not.toBe(cellsOf(layer)[0]);
        expect(forwardOnce(loaded)).toEqual(forwardOnce(layer));
      });
    }
  }

  it('the file names the format, version, kind, dtype, config and shapes', () => {
    const layer = exampleLayers('float32')[4][1]; // the plain lstm cell
    const json = layerToJSON(layer);
    expect(json).toMatchObject({
      format: 'seqgrad.recurrent-layer', version: 1, kind: 'cell', dtype: 'float32',
      config: { kind: 'lstm', inputSize: 3, hiddenSize: 4, dtype: 'float32' },
      shapes: { W_x: [16, 3], W_a: [16, 4], b: [1, 16] },
    });
    expect(json.weights.W_x).toMatchObject({ rows: 16, cols: 3, dtype: 'float32' });
    expect(Buffer.from(json.weights.W_x.data, 'base64').length).toBe(16 * 3 * 4);
  });

  it('writes atomically: no temporary file is left behind, an existing file is replaced whole', () => {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    const path = join(sub, 'layer.json');
    writeFileSync(path, 'old');
    saveLayer(path, exampleLayers('float64')[0][1]);
    expect(readdirSync(sub)).toEqual(['layer.json']);
    expect(JSON.parse(readFileSync(path, 'utf8')).format).toBe('seqgrad.recurrent-layer');
  });
});

/** Outputs of a forward pass over a fixed input (for "same model" checks). */
function forwardOnce(layer: RecurrentLayer): number[][] {
  const T = 3, B = 2;
  const rng = new Rng(4);
  const D = layer.inputSize;
  const dtype = cellsOf(layer)[0].dtype;
  const x = Matrix.zeros(T * B, D, dtype);
  for (let r = 0; r < T * B; r++) for (let c = 0; c < D; c++) x.set(r, c, rng.uniform() - 0.5);
  if (isStackedRnn(layer)) return stackedForward(layer, createStackedWorkspace(layer, T, B), x).outputs.toArray();
  if (isBidirectional(layer)) {
    const stack = createStack([{ cell: layer.forward, backwardCell: layer.backward }]);
    return stackedForward(stack, createStackedWorkspace(stack, T, B), x).outputs.toArray();
  }
  return sequenceForward(layer, createSequenceWorkspace(layer, T, B), x).outputs.toArray();
}

describe('loading a bad layer file names the file and what is wrong', () => {
  const good = (): LayerJSON => JSON.parse(JSON.stringify(layerToJSON(exampleLayers('float64')[7][1]))) as LayerJSON; // bidirectional
  const write = (name: string, content: unknown): string => {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
  const expectLoadError = (path: string, message: string | RegExp) => {
    let err: Error | undefined;
    try {
      loadLayer(path);
    } catch (e) {
      err = e as Error;
    }
    expect(err?.name).toBe('InputError');
    expect(err?.message).toContain(path);
    if (typeof message === 'string') expect(err?.message).toContain(message);
    else expect(err?.message).toMatch(message);
  };

  it('missing file, not JSON, not a layer, wrong version', () => {
    expectLoadError(join(dir, 'nope.json'), 'layer file');
    expectLoadError(write('broken.json', '{"format": "seqgrad.recurrent-layer",\n "version": 1,'), /not valid JSON at line 2/);
    expectLoadError(write('lm.json', { kind: 'seqgrad.language-model', version: 1 }), 'expected format "seqgrad.recurrent-layer", got undefined (not a seqgrad recurrent layer)');
    expectLoadError(write('v2.json', { ...good(), version: 2 }), 'expected version 1, got 2');
  });

  it('a bad kind, dtype or config', () => {
    expectLoadError(write('kind.json', { ...good(), kind: 'transformer' }), 'expected kind "cell", "bidirectional" or "stacked", got "transformer"');
    expectLoadError(write('dtype.json', { ...good(), dtype: 'float16' }), 'expected dtype "float32" or "float64", got "float16"');
    const j = good() as Extract<LayerJSON, { kind: 'bidirectional' }>;
    expectLoadError(write('cellkind.json', { ...j, config: { ...j.config, backward: { ...j.config.backward, kind: 'gru2' } } }), /expected config\.backward\.kind to be one of rnn, gru, .*got "gru2"/);
    expectLoadError(write('size.json', { ...j, config: { ...j.config, forward: { ...j.config.forward, hiddenSize: -1 } } }), /bad config\.forward: createLstmCell: expected positive integer inputSize and hiddenSize/);
    expectLoadError(write('cdtype.json', { ...j, config: { ...j.config, forward: { ...j.config.forward, dtype: 'float32' } } }), "expected config.forward.dtype to be the file's dtype float64, got \"float32\"");
  });

  it('missing, extra, mis-shaped or corrupt weights', () => {
    const j = good();
    const { 'l0_reverse.W_a': _gone, ...fewer } = j.weights;
    expectLoadError(write('missing.json', { ...j, weights: fewer }), "lacks weight 'l0_reverse.W_a' (expected float64 [4, 2])");
    expectLoadError(write('extra.json', { ...j, weights: { ...j.weights, 'l1.W_x': j.weights['l0.W_x'] } }), /has weights entry 'l1\.W_x', which this bidirectional layer does not have/);
    expectLoadError(write('shape.json', { ...j, shapes: { ...j.shapes, 'l0.b': [16, 1] } }), "expected shapes['l0.b'] to be [1, 16], got [16,1]");
    expectLoadError(write('wshape.json', { ...j, weights: { ...j.weights, 'l0.b': { ...j.weights['l0.b'], rows: 16, cols: 1 } } }), "expected weight 'l0.b' to be float64 [1, 16], got float64 [16, 1]");
    expectLoadError(write('bytes.json', { ...j, weights: { ...j.weights, 'l0.b': { ...j.weights['l0.b'], data: 'AAAA' } } }), "weight 'l0.b': matrixFromJSON: expected 128 bytes for float64 [1, 16], got 3");
    expectLoadError(write('wdtype.json', { ...j, weights: { ...j.weights, 'l0.b': { ...j.weights['l0.b'], dtype: 'float32', data: Buffer.alloc(64).toString('base64') } } }), "expected weight 'l0.b' to be float64 [1, 16], got float32 [1, 16]");
  });

  it('layerFromJSON without a file names its source', () => {
    expect(() => layerFromJSON(null)).toThrow('layer JSON: expected a JSON object, got null');
    expect(() => layerFromJSON({ ...good(), kind: 'stacked' }, 'checkpoint x')).toThrow(/^checkpoint x: expected config to be \{ layers: \[\.\.\.\] \}/);
  });
});
