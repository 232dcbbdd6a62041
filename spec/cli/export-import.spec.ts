import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { decodeSafetensors, encodeSafetensors } from '../../training/io/safetensors.js';
import { createLanguageModel, saveLanguageModel } from '../../training/lm/model.js';
import { createLstmSentimentModel } from '../../training/sentiment/lstm.js';
import { buildTaggerVocabulary, createTagger, saveTagger } from '../../training/tagger/tagger.js';
import { Vocabulary } from '../../training/text/vocab.js';
import { runSeqgrad } from './helpers.js';

let dir: string;
const file = (name: string): string => path.join(dir, name);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-export-cli-'));
  const chars = Vocabulary.build('the cat sat on the mat'.split(''));
  saveLanguageModel(file('lm.json'), createLanguageModel({ cell: 'gru-reset-after', hidden: 6, layers: 2, embeddingDim: 4 }, chars, new Rng(3)));
  saveLanguageModel(file('lm-peephole.json'), createLanguageModel({ cell: 'lstm-peephole', hidden: 5, embeddingDim: 0 }, chars, new Rng(4)));
  const words = buildTaggerVocabulary([{ tokens: ['Teddy', 'bears', 'are', 'on', 'sale', 'Teddy', 'bears'], labels: [0, 0, 0, 0, 0, 0, 0] }], 1);
  saveTagger(file('tagger.json'), createTagger(words, { hidden: 5, embeddingDim: 4, bidirectional: true }, new Rng(5)));
  const sentimentVocab = Vocabulary.build(['good', 'bad', 'not', 'good'], { specials: ['<PAD>', '<UNK>'] });
  const sentiment = createLstmSentimentModel(sentimentVocab, ['negative', 'positive'], new Rng(6), { dim: 4, hidden: 3, bidirectional: true });
  fs.writeFileSync(file('sentiment.json'), JSON.stringify(sentiment.toJSON()));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The weights of a model file, whatever its kind (each stores its weights' bytes in base64). */
function weightsOf(json: Record<string, unknown>): unknown {
  if (json.kind === 'seqgrad.language-model' || json.kind === 'seqgrad.sentiment') return json.weights;
  return { embedding: json.embedding, rnn: json.rnn, head: json.head };
}

describe('seqgrad export --format safetensors / seqgrad import', () => {
  const names = ['lm', 'lm-peephole', 'tagger', 'sentiment'];

  it('model → safetensors → model is bit-identical for the language model (GRU, peephole LSTM), the tagger and the sentiment model', async () => {
    const exports = await Promise.all(names.map((name) => runSeqgrad(['export', '--model', file(`${name}.json`), '--format', 'safetensors', '--out', file(`${name}.safetensors`)])));
    exports.forEach((run) => expect([run.code, run.stderr]).toEqual([0, '']));
    const imports = await Promise.all(names.map((name) => runSeqgrad(['import', file(`${name}.safetensors`), '--out', file(`${name}-back.json`)])));
    imports.forEach((run) => expect([run.code, run.stderr]).toEqual([0, '']));
    for (const name of names) {
      const before = JSON.parse(fs.readFileSync(file(`${name}.json`), 'utf8'));
      const after = JSON.parse(fs.readFileSync(file(`${name}-back.json`), 'utf8'));
      expect(weightsOf(after), name).toEqual(weightsOf(before));
      expect(after.config ?? after.classes, name).toEqual(before.config ?? before.classes);
    }
  });

  it('imports a state_dict without seqgrad metadata with --config, and names a config that does not fit', async () => {
    const exported = decodeSafetensors(fs.readFileSync(file('lm.safetensors')));
    fs.writeFileSync(file('bare.safetensors'), encodeSafetensors(exported.tensors));
    const config = { model: exported.metadata['seqgrad.model'], app: JSON.parse(exported.metadata['seqgrad.app']) };
    fs.writeFileSync(file('lm-config.json'), JSON.stringify(config));
    const [run, bad] = await Promise.all([
      runSeqgrad(['import', file('bare.safetensors'), '--config', file('lm-config.json'), '--out', file('bare-lm.json')]),
      // PyTorch's nn.LSTM fixture (H = 4) under the GRU language model's config (H = 6).
      runSeqgrad(['import', 'spec/fixtures/torch-safetensors/lstm.safetensors', '--config', file('lm-config.json'), '--out', file('x.json')]),
    ]);
    expect([run.code, run.stderr]).toEqual([0, '']);
    expect(JSON.parse(fs.readFileSync(file('bare-lm.json'), 'utf8')).weights).toEqual(JSON.parse(fs.readFileSync(file('lm.json'), 'utf8')).weights);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^seqgrad import: safetensors file .*lstm\.safetensors: tensor 'embedding\.weight': expected shape \[13, 4\] for a embedding 13×4 → 2-layer gru-reset-after H=6 → linear 13 \(softmax, every-step\), got \[11, 5\]$/);
  });

  it('--format pytorch writes the folder, --format onnx one ONNX file', async () => {
    const [torch, onnx] = await Promise.all([
      runSeqgrad(['export', '--model', file('lm.json'), '--format', 'pytorch', '--out', file('lm-torch')]),
      runSeqgrad(['export', '--model', file('sentiment.json'), '--format', 'onnx', '--out', file('sentiment.onnx')]),
    ]);
    expect([torch.code, torch.stderr, onnx.code, onnx.stderr]).toEqual([0, '', 0, '']);
    expect(fs.readdirSync(file('lm-torch')).sort()).toEqual(['model.py', 'model.safetensors', 'train_ddp.py']);
    expect(decodeSafetensors(fs.readFileSync(file('lm-torch/model.safetensors'))).metadata['seqgrad.model']).toBe('language-model');
    // ModelProto field 1 (ir_version, varint) = 8, then field 2 (producer_name) = "seqgrad".
    expect([...fs.readFileSync(file('sentiment.onnx')).subarray(0, 11)]).toEqual([0x08, 0x08, 0x12, 0x07, ...Buffer.from('seqgrad')]);
  });

  it('answers bad input with one line and exit code 2', async () => {
    fs.writeFileSync(file('truncated.safetensors'), fs.readFileSync('spec/fixtures/torch-safetensors/lstm.safetensors').subarray(0, 300));
    fs.mkdirSync(file('a-folder'), { recursive: true });
    const runs = await Promise.all([
      runSeqgrad(['import', file('truncated.safetensors'), '--out', file('x.json')]),
      runSeqgrad(['import', 'spec/fixtures/torch-safetensors/lstm.safetensors', '--out', file('x.json')]),
      runSeqgrad(['export', '--model', file('lm.json'), '--format', 'safetensors', '--out', file('lm.json')]),
      runSeqgrad(['export', '--model', file('lm.json'), '--format', 'safetensors', '--out', file('a-folder')]),
      runSeqgrad(['export', '--model', file('lm-config.json'), '--format', 'onnx', '--out', file('x.onnx')]),
    ]);
    const expected = [
      /^seqgrad import: safetensors file .*truncated\.safetensors: (header longer than the file|truncated file)/,
      /^seqgrad import: safetensors file .*lstm\.safetensors: expected seqgrad's config in __metadata__ .* needs --config FILE\.json/,
      /^seqgrad export: --out .*lm\.json is also an input/,
      /^seqgrad export: --out .*a-folder exists and is not a regular file$/,
      /^seqgrad export: model file .*lm-config\.json: expected a language model .*, got a file of kind null$/,
    ];
    runs.forEach((run, i) => {
      expect(run.stderr, String(i)).toMatch(expected[i]);
      expect(run.stderr.split('\n')).toHaveLength(1);
      expect(run.code).toBe(2);
    });
  });
});
