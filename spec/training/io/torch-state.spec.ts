import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Matrix } from '../../../engine/matrix.js';
import { Rng } from '../../../engine/rng.js';
import { createBidirectional } from '../../../layers/bidirectional.js';
import type { CellKind } from '../../../layers/cells/cell.js';
import { CELL_KINDS, createCell } from '../../../layers/cells/create-cell.js';
import type { RecurrentLayer } from '../../../layers/interchange.js';
import { createStackedRnn } from '../../../layers/stacked.js';
import { InputError } from '../../../training/core/errors.js';
import { layerParameters } from '../../../training/io/layer-json.js';
import { decodeSafetensors, encodeSafetensors, writeSafetensorsFile } from '../../../training/io/safetensors.js';
import {
  createSequenceNet, loadSequenceNet, saveSequenceNet, sequenceNetLogits, sequenceNetTensors, type NetDescription,
} from '../../../training/io/sequence-net.js';
import { checkTensorNames, loadRecurrentTensors, recurrentShapes, recurrentTensors } from '../../../training/io/torch-state.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-torch-state-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

type Wrapper = 'cell' | 'bidirectional' | 'stacked';

function build(kind: CellKind, wrapper: Wrapper, seed: number, dtype: 'float32' | 'float64' = 'float32'): RecurrentLayer {
  const rng = new Rng(seed);
  const opts = { inputSize: 3, hiddenSize: 4, rng, dtype, ...(kind === 'rnn' ? { activation: 'relu' as const } : {}) };
  if (wrapper === 'cell') return createCell({ ...opts, kind });
  if (wrapper === 'bidirectional') return createBidirectional(createCell({ ...opts, kind }), createCell({ ...opts, kind }));
  return createStackedRnn({ kind, ...opts, numLayers: 2, bidirectional: true });
}

function bits(m: Matrix): number[] {
  const out: number[] = [];
  const view = m.dtype === 'float64' ? new Float64Array(1) : new Float32Array(1);
  const bytes = new Uint8Array(view.buffer);
  for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) {
    view[0] = m.get(r, c);
    out.push(...bytes);
  }
  return out;
}

describe('recurrent layers under PyTorch names, through safetensors bytes', () => {
  const cases = CELL_KINDS.flatMap((kind) => (['cell', 'bidirectional', 'stacked'] as const).flatMap((w) => (['float32', 'float64'] as const).map((d) => [kind, w, d] as const)));

  it.each(cases)('%s %s %s: bit-identical round trip', (kind, wrapper, dtype) => {
    const source = build(kind, wrapper, 1, dtype);
    const bytes = encodeSafetensors(recurrentTensors(source, 'rnn.'));
    const target = build(kind, wrapper, 2, dtype);
    const { tensors } = decodeSafetensors(bytes);
    checkTensorNames(tensors, recurrentShapes(target, 'rnn.'), 'test', 'the target');
    loadRecurrentTensors(target, tensors, 'rnn.', 'test');
    const a = layerParameters(source), b = layerParameters(target);
    expect(Object.keys(b)).toEqual(Object.keys(a));
    for (const name of Object.keys(a)) expect(bits(b[name]), name).toEqual(bits(a[name]));
  });

  it("uses PyTorch's names, shapes and bias split for nn.LSTM (bidirectional, 2 layers)", () => {
    const stack = build('lstm', 'stacked', 3);
    const tensors = recurrentTensors(stack);
    expect(Object.keys(tensors)).toEqual([
      'weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0',
      'weight_ih_l0_reverse', 'weight_hh_l0_reverse', 'bias_ih_l0_reverse', 'bias_hh_l0_reverse',
      'weight_ih_l1', 'weight_hh_l1', 'bias_ih_l1', 'bias_hh_l1',
      'weight_ih_l1_reverse', 'weight_hh_l1_reverse', 'bias_ih_l1_reverse', 'bias_hh_l1_reverse',
    ]);
    expect(tensors.weight_ih_l1.shape).toEqual([16, 8]); // (4H, 2H): layer 1 reads both directions
    expect(tensors.bias_hh_l0.shape).toEqual([16]);
    expect([...tensors.bias_hh_l0.data].every((v) => v === 0)).toBe(true); // seqgrad's one fused bias goes to bias_ih
  });

  it('names the peephole vectors of the cells PyTorch lacks', () => {
    const shapes = recurrentShapes(build('lstm-peephole', 'cell', 1));
    expect(shapes).toEqual({
      weight_ih_l0: [16, 3], weight_hh_l0: [16, 4], bias_ih_l0: [16], peephole_i_l0: [4], peephole_f_l0: [4], peephole_o_l0: [4],
    });
  });
});

describe('a sequence net in a safetensors file', () => {
  const desc: NetDescription = {
    cell: 'gru-reset-after', vocabSize: 7, embeddingDim: 5, hidden: 4, layers: 2, bidirectional: true,
    outputSize: 3, head: 'softmax', readout: 'every-step', dtype: 'float32',
  };

  it('saves the weights and the config, and loads them back into the same outputs', () => {
    const net = createSequenceNet(desc, { rng: new Rng(11) });
    const file = path.join(dir, 'net.safetensors');
    saveSequenceNet(file, net, { 'seqgrad.model': 'test' });
    const loaded = loadSequenceNet(file);
    expect(loaded.description).toEqual(desc);
    expect(loaded.metadata['seqgrad.model']).toBe('test');
    const ids = [0, 3, 6, 2, 5, 1, 4, 4];
    expect([...sequenceNetLogits(loaded.net, ids, 4, 2).data]).toEqual([...sequenceNetLogits(net, ids, 4, 2).data]);
    expect(Object.keys(sequenceNetTensors(net))).toContain('linear.bias');
  });

  it('refuses tensors whose shapes do not match the config, naming the tensor and both shapes', () => {
    const net = createSequenceNet({ ...desc, hidden: 6 }, { rng: new Rng(1) });
    const file = path.join(dir, 'wrong-shapes.safetensors');
    writeSafetensorsFile(file, sequenceNetTensors(net));
    expect(() => loadSequenceNet(file, desc)).toThrow(InputError);
    expect(() => loadSequenceNet(file, desc)).toThrow(/safetensors file .*wrong-shapes\.safetensors: tensor 'rnn\.weight_ih_l0': expected shape \[12, 5\] for a embedding 7×5 → 2-layer bidirectional gru-reset-after H=4 → linear 3 \(softmax, every-step\), got \[18, 5\]/);
  });

  it('refuses a file without the net config when none is given, and missing or extra tensors', () => {
    const net = createSequenceNet(desc, { rng: new Rng(1) });
    const file = path.join(dir, 'bare.safetensors');
    const tensors = sequenceNetTensors(net);
    writeSafetensorsFile(file, tensors);
    expect(() => loadSequenceNet(file)).toThrow(/expected __metadata__ to hold 'seqgrad\.net', got only no keys/);
    const { 'linear.bias': _dropped, ...rest } = tensors;
    writeSafetensorsFile(file, rest);
    expect(() => loadSequenceNet(file, desc)).toThrow(/lacks tensor 'linear\.bias' \(expected shape \[3\]/);
    writeSafetensorsFile(file, { ...tensors, 'rnn.weight_hr_l0': tensors['linear.bias'] });
    expect(() => loadSequenceNet(file, desc)).toThrow(/has tensor 'rnn\.weight_hr_l0', which a .* does not have/);
  });

  it('refuses a bad config field with one line naming it', () => {
    const net = createSequenceNet(desc, { rng: new Rng(1) });
    const file = path.join(dir, 'bad-config.safetensors');
    writeSafetensorsFile(file, sequenceNetTensors(net), { 'seqgrad.net': JSON.stringify({ ...desc, cell: 'transformer' }) });
    expect(() => loadSequenceNet(file)).toThrow(/__metadata__\['seqgrad\.net'\]: expected the net config's cell to be one of rnn, gru, gru-simple, gru-reset-after, lstm, lstm-peephole, got "transformer"/);
  });
});
