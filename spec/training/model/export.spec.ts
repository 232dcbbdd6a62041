/**
 * Model API models through the interchange formats (issue 13): safetensors under PyTorch's names
 * and back bit for bit, the SequenceNet the PyTorch folder and ONNX exporters take (which their own
 * specs check against torch and onnxruntime) computing the model's own outputs, and `seqgrad
 * export` / `seqgrad import` on Model API files.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Command } from '../../../cli/command.js';
import { exportCommand } from '../../../cli/commands/export.js';
import { importCommand } from '../../../cli/commands/import.js';
import { Rng } from '../../../engine/rng.js';
import { CELL_KINDS } from '../../../layers/cells/create-cell.js';
import { InputError } from '../../../training/core/errors.js';
import { readModelSafetensors, sequenceNetLogits } from '../../../training/io/sequence-net.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../../../training/io/safetensors.js';
import { modelExportable, modelFromTensors, saveModelApiSafetensors } from '../../../training/model/export.js';
import { createModel, loadModel, saveModel, type Model, type ModelConfig } from '../../../training/model/index.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-model-export-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string): string => path.join(dir, name);

const configs: Record<string, ModelConfig> = {
  'many-to-one bi-LSTM': { shape: 'many-to-one', vocabSize: 7, embeddingDim: 3, rnn: { cell: 'lstm', hidden: 4, bidirectional: true }, outputSize: 3 },
  'many-to-many one-hot GRU ×2, sigmoid': { shape: 'many-to-many', vocabSize: 5, embeddingDim: 0, rnn: { cell: 'gru', hidden: 3, layers: 2 }, head: 'sigmoid', outputSize: 2 },
  'many-to-many residual RNN': { shape: 'many-to-many', vocabSize: 5, embeddingDim: 3, rnn: { cell: 'rnn', hidden: 3, layers: 3, residual: true, activation: 'relu' }, outputSize: 4 },
  'one-to-many from a start token': { shape: 'one-to-many', vocabSize: 6, embeddingDim: 3, rnn: { cell: 'lstm-peephole', hidden: 4 }, startToken: 0, stopToken: 5 },
  'one-to-many from ∅': { shape: 'one-to-many', vocabSize: 6, embeddingDim: 3, rnn: { cell: 'gru-simple', hidden: 4 } },
  'encoder-decoder bi-GRU (reset after)': { shape: 'encoder-decoder', vocabSize: 6, embeddingDim: 3, rnn: { cell: 'gru-reset-after', hidden: 3, bidirectional: true, layers: 2 }, outputSize: 5, startToken: 0, decoderEmbeddingDim: 2 },
};

function roundTrip(model: Model, name: string): Model {
  saveModelApiSafetensors(file(name), model);
  const { tensors, document, source } = readModelSafetensors(file(name));
  return modelFromTensors(tensors, document, source);
}

describe('Model API models as safetensors', () => {
  for (const [what, config] of Object.entries(configs)) {
    it(`${what}: seqgrad → safetensors → seqgrad is bit-identical`, () => {
      const model = createModel(config, { rng: new Rng(3) });
      const back = roundTrip(model, `${what.replace(/\W+/g, '-')}.safetensors`);
      expect(back.config).toEqual(model.config);
      expect(back.toJSON().weights).toEqual(model.toJSON().weights);
    });
  }

  it('every cell kind, bidirectional and two layers, float64: bit-identical', () => {
    for (const cell of CELL_KINDS) {
      const model = createModel({ shape: 'many-to-one', vocabSize: 5, embeddingDim: 2, rnn: { cell, hidden: 3, layers: 2, bidirectional: true }, outputSize: 2 }, { dtype: 'float64', rng: new Rng(8) });
      expect(roundTrip(model, `${cell}.safetensors`).toJSON().weights, cell).toEqual(model.toJSON().weights);
    }
  });

  it('names the tensors as PyTorch modules would: embedding, rnn, linear (encoder./decoder. for an encoder-decoder)', () => {
    saveModelApiSafetensors(file('names.safetensors'), createModel(configs['many-to-one bi-LSTM']));
    expect(Object.keys(readSafetensorsFile(file('names.safetensors')).tensors)).toEqual(expect.arrayContaining([
      'embedding.weight', 'rnn.weight_ih_l0', 'rnn.weight_hh_l0_reverse', 'rnn.bias_hh_l0', 'linear.weight', 'linear.bias',
    ]));
    saveModelApiSafetensors(file('names-ed.safetensors'), createModel(configs['encoder-decoder bi-GRU (reset after)']));
    const { tensors, metadata } = readSafetensorsFile(file('names-ed.safetensors'));
    expect(Object.keys(tensors)).toEqual(expect.arrayContaining([
      'encoder.embedding.weight', 'encoder.rnn.weight_ih_l1_reverse', 'decoder.embedding.weight', 'decoder.rnn.bias_ih_l1',
      'decoder.linear.weight', 'decoder.linear.bias',
    ]));
    expect(metadata['seqgrad.model']).toBe('model-api');
    expect(tensors['decoder.rnn.weight_hh_l0'].shape).toEqual([18, 6]); // 3 gates × 2H rows, 2H columns
  });

  it('refuses a non-finite tensor, a missing tensor and a net config that contradicts the model config, each with one InputError', () => {
    const model = createModel(configs['many-to-one bi-LSTM']);
    saveModelApiSafetensors(file('bad.safetensors'), model);
    const { tensors, metadata } = readSafetensorsFile(file('bad.safetensors'));
    const { document } = readModelSafetensors(file('bad.safetensors'));
    const nan = { ...tensors, 'linear.bias': { ...tensors['linear.bias'], data: Float32Array.from([0, Number.NaN, 0]) } };
    expect(() => modelFromTensors(nan, document, 'f')).toThrow(/^f: tensor 'linear\.bias': expected finite values, got NaN at entry 1$/);
    const missing = { ...tensors };
    delete missing['rnn.weight_hh_l0'];
    expect(() => modelFromTensors(missing, document, 'f')).toThrow(InputError);
    expect(() => modelFromTensors(missing, document, 'f')).toThrow(/lacks tensor 'rnn\.weight_hh_l0'/);
    const net = { ...document.net, hidden: 5 };
    writeSafetensorsFile(file('bad-net.safetensors'), tensors, { ...metadata, 'seqgrad.net': JSON.stringify(net) });
    const read = readModelSafetensors(file('bad-net.safetensors'));
    expect(() => modelFromTensors(read.tensors, read.document, read.source)).toThrow(/does not match the model config/);
  });
});

describe('the SequenceNet the PyTorch and ONNX exports take', () => {
  it('computes the many-to-one and many-to-many predictions of the model', () => {
    const m2o = createModel({ ...configs['many-to-one bi-LSTM'], shape: 'many-to-one' }, { rng: new Rng(4) });
    const net = (modelExportable(m2o) ?? expect.fail('exportable')).net;
    const seq = [1, 5, 2, 6];
    const z = sequenceNetLogits(net, seq, seq.length, 1);
    const softmax = (row: number[]): number[] => { const e = row.map(Math.exp); const s = e.reduce((a, b) => a + b, 0); return e.map((v) => v / s); };
    const probs = m2o.predict([seq])[0];
    softmax([0, 1, 2].map((k) => z.get(0, k))).forEach((p, k) => expect(probs[k]).toBeCloseTo(p, 6));

    const m2m = createModel({ ...configs['many-to-many one-hot GRU ×2, sigmoid'], shape: 'many-to-many' }, { rng: new Rng(5) });
    const tagNet = (modelExportable(m2m) ?? expect.fail('exportable')).net;
    const zt = sequenceNetLogits(tagNet, seq.map((x) => x % 5), seq.length, 1);
    const tags = m2m.predict([seq.map((x) => x % 5)])[0];
    tags.forEach((p, t) => p.forEach((q, k) => expect(q).toBeCloseTo(1 / (1 + Math.exp(-zt.get(t, k))), 6)));
  });

  it('reads a one-to-many model with a start token as a language model over [start, y⟨1⟩, …, y⟨T−1⟩]', () => {
    const model = createModel(configs['one-to-many from a start token'], { rng: new Rng(6) });
    const y = [3, 1, 4, 5];
    const net = (modelExportable(model) ?? expect.fail('exportable')).net;
    const z = sequenceNetLogits(net, [0, ...y.slice(0, -1)], y.length, 1);
    // Σ_t (log Σ_k e^{z_tk} − z_t[y_t]): the cross-entropy of the model's teacher-forced loss.
    let expected = 0;
    y.forEach((target, t) => {
      let sum = 0;
      for (let k = 0; k < z.cols; k++) sum += Math.exp(z.get(t, k));
      expected += Math.log(sum) - z.get(t, target);
    });
    expect(model.loss(model.batch({ targets: [y] }, [0]), 'sum')).toBeCloseTo(expected, 4);
  });

  it('is none for what the one-stack architecture cannot hold: encoder-decoder, ∅ first input, residual stacks', () => {
    for (const what of ['encoder-decoder bi-GRU (reset after)', 'one-to-many from ∅', 'many-to-many residual RNN']) {
      expect(modelExportable(createModel(configs[what])), what).toBeNull();
    }
  });
});

describe('seqgrad export / import of Model API files', () => {
  async function inProcess(command: Command, args: string[]): Promise<number> {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      return await command.run(args);
    } finally {
      log.mockRestore();
    }
  }

  it('exports as safetensors and imports back to the same model file weights', async () => {
    for (const what of ['many-to-one bi-LSTM', 'encoder-decoder bi-GRU (reset after)']) {
      const model = createModel(configs[what], { rng: new Rng(9) });
      const name = what.replace(/\W+/g, '-');
      saveModel(file(`${name}.json`), model);
      expect(await inProcess(exportCommand, ['--model', file(`${name}.json`), '--format', 'safetensors', '--out', file(`${name}.cli.safetensors`)])).toBe(0);
      expect(await inProcess(importCommand, [file(`${name}.cli.safetensors`), '--out', file(`${name}.back.json`)])).toBe(0);
      expect(loadModel(file(`${name}.back.json`)).toJSON()).toEqual(model.toJSON());
    }
  });

  it('exports a one-stack model as ONNX and as a PyTorch folder; an encoder-decoder only as safetensors', async () => {
    saveModel(file('tagger-like.json'), createModel(configs['many-to-many one-hot GRU ×2, sigmoid']));
    expect(await inProcess(exportCommand, ['--model', file('tagger-like.json'), '--format', 'onnx', '--out', file('tagger-like.onnx')])).toBe(0);
    expect(fs.statSync(file('tagger-like.onnx')).size).toBeGreaterThan(100);
    expect(await inProcess(exportCommand, ['--model', file('tagger-like.json'), '--format', 'pytorch', '--out', file('tagger-like-torch')])).toBe(0);
    expect(fs.readdirSync(file('tagger-like-torch')).sort()).toEqual(['model.py', 'model.safetensors']);
    saveModel(file('ed.json'), createModel(configs['encoder-decoder bi-GRU (reset after)']));
    await expect(inProcess(exportCommand, ['--model', file('ed.json'), '--format', 'onnx', '--out', file('ed.onnx')])).rejects.toThrow(/exports as --format safetensors/);
  });
});
