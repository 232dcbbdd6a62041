import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createLanguageModel, languageModelToJSON, lmParameters, type LanguageModel,
} from '../../../training/lm/model.js';
import { loadLanguageModel, saveLanguageModel } from '../../../training/lm/model-file.js';
import { Vocabulary } from '../../../training/text/vocab.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-lm-model-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const vocab = new Vocabulary(['<EOS>', '<UNK>', 'a', 'b', 'c'], [3, 0, 5, 2, 1]);

function bytesOf(model: LanguageModel): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [name, p] of Object.entries(lmParameters(model))) {
    out[name] = Array.from(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength));
  }
  return out;
}

function caught(f: () => unknown): Error {
  try {
    f();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('language model structure', () => {
  it('names its parameters embedding → rnn.l<k> → head (layers/architectures.ts\' scheme), with the notes\' shapes', () => {
    const model = createLanguageModel({ cell: 'lstm', hidden: 6, layers: 2, embeddingDim: 3, vocab });
    const shapes = Object.fromEntries(Object.entries(lmParameters(model)).map(([k, p]) => [k, p.shape]));
    // W_x [4H, D], W_a [4H, H], b [1, 4H]; layer 1 reads H; dense W_ya [V, H], b_y [1, V].
    expect(shapes).toEqual({
      'embedding.weight': [5, 3],
      'rnn.l0.W_x': [24, 3], 'rnn.l0.W_a': [24, 6], 'rnn.l0.b': [1, 24],
      'rnn.l1.W_x': [24, 6], 'rnn.l1.W_a': [24, 6], 'rnn.l1.b': [1, 24],
      'head.W': [5, 6], 'head.b': [1, 5],
    });
    // One-hot input: no embedding, the first cell reads V columns.
    const oneHot = createLanguageModel({ cell: 'gru', hidden: 4, vocab });
    expect(Object.keys(lmParameters(oneHot))).toEqual(['rnn.l0.W_x', 'rnn.l0.W_a', 'rnn.l0.b', 'head.W', 'head.b']);
    expect(lmParameters(oneHot)['rnn.l0.W_x'].shape).toEqual([12, 5]);
  });

  it('sets the LSTM forget-gate bias to 1 (block Γf of b)', () => {
    const model = createLanguageModel({ cell: 'lstm', hidden: 3, vocab });
    const b = lmParameters(model)['rnn.l0.b'].toArray()[0];
    expect(b.slice(3, 6)).toEqual([1, 1, 1]);
    expect(b.slice(0, 3).every((v) => Math.abs(v) <= 1 / Math.sqrt(3))).toBe(true);
  });

  it('is deterministic under its seed', () => {
    const a = createLanguageModel({ hidden: 5, seed: 7, vocab });
    const b = createLanguageModel({ hidden: 5, seed: 7, vocab });
    const c = createLanguageModel({ hidden: 5, seed: 8, vocab });
    expect(bytesOf(a)).toEqual(bytesOf(b));
    expect(bytesOf(a)).not.toEqual(bytesOf(c));
  });
});

describe('model file', () => {
  it('keeps init and the RNN activation (a ReLU IRNN loads as a ReLU IRNN); older files without them are the defaults', () => {
    const model = createLanguageModel({ cell: 'rnn', hidden: 5, init: 'irnn', activation: 'relu', vocab });
    expect(model.cells[0].config.activation).toBe('relu');
    expect(model.cells[0].params.W_a.toArray()).toEqual(Array.from({ length: 5 }, (_, r) => Array.from({ length: 5 }, (__, c) => (r === c ? 1 : 0))));
    const file = path.join(dir, 'irnn.json');
    saveLanguageModel(file, model);
    const loaded = loadLanguageModel(file);
    expect(loaded.config).toMatchObject({ init: 'irnn', activation: 'relu' });
    expect(loaded.cells[0].config.activation).toBe('relu');
    const plain = createLanguageModel({ cell: 'lstm', hidden: 5, vocab });
    expect('init' in plain.config || 'activation' in plain.config).toBe(false);
    expect(() => createLanguageModel({ cell: 'lstm', init: 'irnn', vocab })).toThrow(/init 'irnn' is for cell 'rnn', got cell 'lstm'/);
    expect(() => createLanguageModel({ cell: 'gru', activation: 'relu', vocab })).toThrow(/an activation is for cell 'rnn', got cell 'gru'/);
  });

  it('round-trips exactly (every weight to the bit, config, vocabulary) and leaves no temp file', () => {
    const model = createLanguageModel({
      level: 'word', lowercase: true, cell: 'gru', hidden: 7, layers: 2, embeddingDim: 4, seed: 3, vocab,
    });
    // Awkward float32 values: subnormal, −0, the largest finite.
    const w = lmParameters(model)['head.W'].data;
    w[0] = 1.4e-45; w[1] = -0; w[2] = 3.4028234663852886e38;
    const file = path.join(dir, 'model.json');
    saveLanguageModel(file, model, { steps: 12 });
    const loaded = loadLanguageModel(file);
    expect(loaded.config).toEqual(model.config);
    expect(loaded.vocab.tokens).toEqual(vocab.tokens);
    expect(loaded.vocab.counts).toEqual(vocab.counts);
    expect(bytesOf(loaded)).toEqual(bytesOf(model));
    expect(Object.is(lmParameters(loaded)['head.W'].data[1], -0)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['model.json']);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).training).toEqual({ steps: 12 });
  });

  it('rejects missing, empty, non-JSON and malformed files with one line naming the file and the problem', () => {
    const missing = path.join(dir, 'nope.json');
    let err = caught(() => loadLanguageModel(missing));
    expect(err.name).toBe('InputError');
    expect(err.message).toBe(`model file ${missing} does not exist`);

    const empty = path.join(dir, 'empty.json');
    fs.writeFileSync(empty, '  \n');
    expect(caught(() => loadLanguageModel(empty)).message).toBe(`model file ${empty} is empty`);

    const broken = path.join(dir, 'broken.json');
    fs.writeFileSync(broken, '{"kind": "seqgrad.language-model",\n "version": 1,,}');
    err = caught(() => loadLanguageModel(broken));
    expect(err.name).toBe('InputError');
    expect(err.message).toMatch(/model file .*broken\.json is not valid JSON at line 2, column 15/);

    const model = createLanguageModel({ cell: 'lstm', hidden: 4, vocab });
    const write = (name: string, json: unknown): string => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, JSON.stringify(json));
      return f;
    };
    const good = languageModelToJSON(model);
    const other = write('other.json', { kind: 'seqgrad.optimizer', version: 1 });
    expect(caught(() => loadLanguageModel(other)).message).toMatch(/other\.json: expected kind "seqgrad.language-model", got "seqgrad.optimizer"/);

    const wrongShape = structuredClone(good);
    wrongShape.weights['rnn.l0.W_a'] = languageModelToJSON(createLanguageModel({ cell: 'lstm', hidden: 5, vocab })).weights['rnn.l0.W_a'];
    err = caught(() => loadLanguageModel(write('shape.json', wrongShape)));
    expect(err.name).toBe('InputError');
    expect(err.message).toMatch(/shape\.json: expected weight 'rnn\.l0\.W_a' to be float32 \[16, 4\], got float32 \[20, 5\]/);

    const lacking = structuredClone(good);
    delete (lacking.weights as Record<string, unknown>)['head.b'];
    expect(caught(() => loadLanguageModel(write('lacking.json', lacking))).message).toMatch(/lacking\.json: lacks weight 'head\.b'/);

    const truncated = structuredClone(good);
    truncated.weights['head.b'].data = truncated.weights['head.b'].data.slice(0, 8);
    expect(caught(() => loadLanguageModel(write('truncated.json', truncated))).message).toMatch(/truncated\.json: weight 'head\.b': .*expected 20 bytes/);

    const badCell = structuredClone(good);
    (badCell.config as { cell: string }).cell = 'transformer';
    expect(caught(() => loadLanguageModel(write('cell.json', badCell))).message).toMatch(/cell\.json: config: expected cell among .*got "transformer"/);
  });
});
