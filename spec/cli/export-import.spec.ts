import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../cli/args.js';
import type { Command } from '../../cli/command.js';
import { exportCommand } from '../../cli/commands/export.js';
import { importCommand } from '../../cli/commands/import.js';
import { InputError } from '../../training/core/errors.js';
import { Rng } from '../../engine/rng.js';
import { createStackedRnn } from '../../layers/stacked.js';
import { saveLayer } from '../../training/io/layer-json.js';
import { decodeSafetensors, encodeSafetensors } from '../../training/io/safetensors.js';
import { buildSourceVocabulary, buildTargetVocabulary, createSeq2Seq } from '../../training/seq2seq/model.js';
import { saveSeq2Seq } from '../../training/seq2seq/model-file.js';
import { createLanguageModel, createLmWorkspace, lmForward } from '../../training/lm/model.js';
import { loadLanguageModel, saveLanguageModel } from '../../training/lm/model-file.js';
import { createLstmSentimentModel } from '../../training/sentiment/lstm.js';
import { buildTaggerVocabulary, createTagger, saveTagger } from '../../training/tagger/tagger.js';
import { Vocabulary } from '../../training/text/vocab.js';
import { runSeqgrad } from './helpers.js';

let dir: string;
const file = (name: string): string => path.join(dir, name);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-export-cli-'));
  const chars = Vocabulary.build('the cat sat on the mat'.split(''));
  saveLanguageModel(file('lm.json'), createLanguageModel({
    cell: 'gru-reset-after', hidden: 6, layers: 2, embeddingDim: 4, vocab: chars,
  }, { rng: new Rng(3) }));
  saveLanguageModel(file('lm-peephole.json'), createLanguageModel({
    cell: 'lstm-peephole', hidden: 5, embeddingDim: 0, vocab: chars,
  }, { rng: new Rng(4) }));
  const words = buildTaggerVocabulary([{ tokens: ['Teddy', 'bears', 'are', 'on', 'sale', 'Teddy', 'bears'], labels: [0, 0, 0, 0, 0, 0, 0] }], 1);
  saveTagger(file('tagger.json'), createTagger({
    vocab: words, hidden: 5, embeddingDim: 4, bidirectional: true,
  }, { rng: new Rng(5) }));
  const sentimentVocab = Vocabulary.build(['good', 'bad', 'not', 'good'], { specials: ['<PAD>', '<UNK>'] });
  const sentiment = createLstmSentimentModel({
    vocab: sentimentVocab, classes: ['negative', 'positive'], dim: 4, hidden: 3, bidirectional: true,
  }, { rng: new Rng(6) });
  fs.writeFileSync(file('sentiment.json'), JSON.stringify({ ...sentiment.toJSON(), meta: { data: 'emojify', seed: 4 } }));
  const source = buildSourceVocabulary('may 3rd 1979'.split('')), target = buildTargetVocabulary('1979-05-03'.split(''));
  saveSeq2Seq(file('seq2seq.json'), createSeq2Seq({ cell: 'lstm', bidirectional: true, encoderHidden: 4, decoderHidden: 5, embeddingDim: 3, attention: 'bahdanau', sourceVocab: source, targetVocab: target }, { rng: new Rng(7) }));
  saveLayer(file('layer.json'), createStackedRnn({
    kind: 'lstm-peephole', inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true,
  }, { rng: new Rng(9), dtype: 'float64' }));
  saveSeq2Seq(file('seq2seq-gru.json'), createSeq2Seq({ cell: 'gru', encoderHidden: 4, embeddingDim: 3, attention: 'general', sourceVocab: source, targetVocab: target }, { rng: new Rng(8) }));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The weights of a model file, whatever its kind (each stores its weights' bytes in base64). */
function weightsOf(json: Record<string, unknown>): unknown {
  if (json.kind === 'seqgrad.language-model' || json.kind === 'seqgrad.sentiment' || json.kind === 'seqgrad.seq2seq' || json.format === 'seqgrad.recurrent-layer') return json.weights;
  return { embedding: json.embedding, rnn: json.rnn, head: json.head };
}

/** A command run in this process (its one-line summary silenced); returns the exit code. */
async function inProcess(command: Command, args: string[]): Promise<number> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    return await command.run(args);
  } finally {
    log.mockRestore();
  }
}

describe('seqgrad export --format safetensors / seqgrad import', () => {
  const names = ['lm', 'lm-peephole', 'tagger', 'sentiment', 'seq2seq', 'seq2seq-gru', 'layer'];

  it('model → safetensors → model is bit-identical for the language model (GRU, peephole LSTM), the tagger, the sentiment and seq2seq models and a float64 layer file', async () => {
    for (const name of names) {
      expect(await inProcess(exportCommand, ['--model', file(`${name}.json`), '--format', 'safetensors', '--out', file(`${name}.safetensors`)])).toBe(0);
      expect(await inProcess(importCommand, [file(`${name}.safetensors`), '--out', file(`${name}-back.json`)])).toBe(0);
      const before = JSON.parse(fs.readFileSync(file(`${name}.json`), 'utf8'));
      const after = JSON.parse(fs.readFileSync(file(`${name}-back.json`), 'utf8'));
      expect(weightsOf(after), name).toEqual(weightsOf(before));
      expect(after.config ?? after.classes, name).toEqual(before.config ?? before.classes);
      expect(after.config ?? after.classes, name).toBeDefined();
      expect(after.meta, name).toEqual(before.meta); // the sentiment model's data and seed (sentiment eval reads them)
    }
  });

  it('imports a state_dict without seqgrad metadata with --config, and names a config that does not fit', async () => {
    const exported = decodeSafetensors(fs.readFileSync(file('lm.safetensors')));
    fs.writeFileSync(file('bare.safetensors'), encodeSafetensors(exported.tensors));
    const config = { model: exported.metadata['seqgrad.model'], app: JSON.parse(exported.metadata['seqgrad.app']) };
    fs.writeFileSync(file('lm-config.json'), JSON.stringify(config));
    expect(await inProcess(importCommand, [file('bare.safetensors'), '--config', file('lm-config.json'), '--out', file('bare-lm.json')])).toBe(0);
    expect(JSON.parse(fs.readFileSync(file('bare-lm.json'), 'utf8')).weights).toEqual(JSON.parse(fs.readFileSync(file('lm.json'), 'utf8')).weights);
    // PyTorch's nn.LSTM fixture (V = 11, d = 5, H = 4) under the GRU language model's config (V = 13, d = 4, H = 6).
    const bad = inProcess(importCommand, ['spec/fixtures/torch-safetensors/lstm.safetensors', '--config', file('lm-config.json'), '--out', file('x.json')]);
    await expect(bad).rejects.toThrow(InputError);
    await expect(bad).rejects.toThrow(/^safetensors file .*lstm\.safetensors: tensor 'embedding\.weight': expected shape \[13, 4\] for a embedding 13×4 → 2-layer gru-reset-after H=6 → linear 13 \(softmax, every-step\), got \[11, 5\]$/);
  });

  it('imports a language model trained in PyTorch (nn.Embedding → 2-layer nn.LSTM → nn.Linear) with --config: same logits to 1e-6', async () => {
    const fixtures = JSON.parse(fs.readFileSync('spec/fixtures/torch-safetensors.json', 'utf8')) as { cases: { name: string; T: number; B: number; ids: number[]; logits: number[][] }[] };
    const c = fixtures.cases.find((x) => x.name === 'lstm-language-model')!;
    const tokens = 'abcdefghijk'.split(''); // V = 11 tokens, ids 0 … 10
    fs.writeFileSync(file('torch-lm-config.json'), JSON.stringify({
      model: 'language-model',
      app: {
        config: { level: 'char', lowercase: false, cell: 'lstm', hidden: 4, layers: 2, embeddingDim: 5, seed: 1, dtype: 'float32' },
        vocabulary: { kind: 'seqgrad.vocabulary', version: 1, tokens, counts: tokens.map(() => 1) },
      },
    }));
    expect(await inProcess(importCommand, ['spec/fixtures/torch-safetensors/lstm-language-model.safetensors', '--config', file('torch-lm-config.json'), '--out', file('torch-lm.json')])).toBe(0);
    const model = loadLanguageModel(file('torch-lm.json'));
    const ws = createLmWorkspace(model, c.T, c.B);
    ws.inputIds.set(c.ids);
    const logits = lmForward(model, ws);
    let worst = 0;
    for (let r = 0; r < logits.rows; r++) for (let k = 0; k < logits.cols; k++) worst = Math.max(worst, Math.abs(logits.get(r, k) - c.logits[r][k]));
    expect(worst).toBeLessThanOrEqual(1e-6);
  });

  it('--format pytorch writes the folder, --format onnx one ONNX file', async () => {
    expect(await inProcess(exportCommand, ['--model', file('lm.json'), '--format', 'pytorch', '--out', file('lm-torch')])).toBe(0);
    expect(await inProcess(exportCommand, ['--model', file('sentiment.json'), '--format', 'onnx', '--out', file('sentiment.onnx')])).toBe(0);
    expect(fs.readdirSync(file('lm-torch')).sort()).toEqual(['model.py', 'model.safetensors', 'train_ddp.py']);
    expect(decodeSafetensors(fs.readFileSync(file('lm-torch/model.safetensors'))).metadata['seqgrad.model']).toBe('language-model');
    // ModelProto field 1 (ir_version, varint) = 8, then field 2 (producer_name) = "seqgrad".
    expect([...fs.readFileSync(file('sentiment.onnx')).subarray(0, 11)]).toEqual([0x08, 0x08, 0x12, 0x07, ...Buffer.from('seqgrad')]);
  });

  it('refuses bad input with errors the CLI prints as one line and exit code 2', async () => {
    fs.writeFileSync(file('truncated.safetensors'), fs.readFileSync('spec/fixtures/torch-safetensors/lstm.safetensors').subarray(0, 300));
    fs.mkdirSync(file('a-folder'), { recursive: true });
    const cases: [Command, string[], typeof InputError | typeof UsageError, RegExp][] = [
      [importCommand, ['spec/fixtures/torch-safetensors/lstm.safetensors', '--out', file('x.json')], InputError, /^safetensors file .*lstm\.safetensors: expected seqgrad's config in __metadata__ .* needs --config FILE\.json/],
      [exportCommand, ['--model', file('lm.json'), '--format', 'safetensors', '--out', file('a-folder')], InputError, /^export: --out .*a-folder is a folder, expected a file$/],
      [exportCommand, ['--model', file('lm-config.json'), '--format', 'onnx', '--out', file('x.onnx')], InputError, /^model file .*lm-config\.json: expected a language model .*, got a file of kind null$/],
      [exportCommand, ['--model', file('seq2seq.json'), '--format', 'onnx', '--out', file('x.onnx')], UsageError, /^export: --format onnx takes a language model, tagger or sentiment model; a seq2seq model exports as --format safetensors$/],
    ];
    for (const [command, args, kind, message] of cases) {
      const run = inProcess(command, args);
      await expect(run).rejects.toThrow(kind);
      await expect(run).rejects.toThrow(message);
    }
    const runs = await Promise.all([
      runSeqgrad(['import', file('truncated.safetensors'), '--out', file('x.json')]),
      runSeqgrad(['export', '--model', file('lm.json'), '--format', 'safetensors', '--out', file('lm.json')]),
    ]);
    expect(runs.map((r) => r.code)).toEqual([2, 2]);
    expect(runs[0].stderr).toMatch(/^seqgrad import: safetensors file .*truncated\.safetensors: (header longer than the file|truncated file)[^\n]*$/);
    expect(runs[1].stderr).toMatch(/^seqgrad export: --out .*lm\.json is the same file as --model .*lm\.json: refusing to overwrite an input$/);
  });
});
