/**
 * The tagger's model file on the Model API: a `seqgrad.model` file with the vocabulary and tags
 * beside it (loadModel reads it as a many-to-many Model), and the files written before it
 * (format `seqgrad.tagger`, spec/fixtures/tagger/, written by the tagger of commit ad19c7c) still load
 * with every weight the file holds.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Matrix } from '../../../engine/matrix.js';
import { Rng } from '../../../engine/rng.js';
import { loadModel } from '../../../training/model/model-file.js';
import {
  buildTaggerVocabulary, createTagger, evaluateTagSet, loadConllFile, loadTagger, predictTagger, predictTags, saveTagger, trainTagger,
  type LegacyTaggerJSON, type TaggerJSON,
} from '../../../training/tagger/tagger.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/tagger');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-tagger-file-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function base64Of(m: Matrix): string {
  return Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength).toString('base64');
}

function legacy(name: string): LegacyTaggerJSON {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8')) as LegacyTaggerJSON;
}

describe('tagger files written before the Model API (format seqgrad.tagger)', () => {
  for (const name of ['tagset-uni.json', 'names-bi.json']) {
    it(`${name}: its config, vocabulary and every weight of the file (embedding, stack by name, head)`, () => {
      const json = legacy(name);
      const tagger = loadTagger(path.join(FIXTURES, name));
      expect(tagger.config).toEqual(json.config);
      expect(tagger.vocab.tokens).toEqual(json.vocab.tokens);
      const params = tagger.model.parameters;
      expect(base64Of(params['embedding.weight'])).toBe(json.embedding.data);
      expect(base64Of(params['head.W'])).toBe(json.head.W.data);
      expect(base64Of(params['head.b'])).toBe(json.head.b.data);
      const stack = (json.rnn as unknown as { weights: Record<string, { data: string }> }).weights;
      const rnnNames = Object.keys(params).filter((n) => n.startsWith('rnn.'));
      expect(rnnNames.map((n) => n.slice(4)).sort()).toEqual(Object.keys(stack).sort());
      for (const n of rnnNames) expect(base64Of(params[n]), n).toBe(stack[n.slice(4)].data);
    });
  }

  it('a loaded old file saved again is a Model API file that predicts exactly what the old one did', () => {
    const old = loadTagger(path.join(FIXTURES, 'tagset-uni.json'));
    const file = path.join(dir, 'resaved.json');
    saveTagger(file, old);
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as TaggerJSON;
    expect(json.kind).toBe('seqgrad.model');
    expect(json.tagger.tags).toEqual(['O', 'B-LOC', 'B-PER', 'I-PER']);
    const { sentences } = loadConllFile(path.join(FIXTURES, 'tiny.conll'), old.config.tags);
    const tokens = sentences.map((s) => s.tokens);
    expect(predictTags(loadTagger(file), tokens)).toEqual(predictTags(old, tokens));
    expect(evaluateTagSet(loadTagger(file), sentences)).toEqual(evaluateTagSet(old, sentences));
    const names = loadTagger(path.join(FIXTURES, 'names-bi.json'));
    expect(names.config.layerNorm).toBe(true);
    expect(predictTagger(names, [['Teddy', 'bears', '.']])[0]).toHaveLength(3);
  });
});

describe('a tagger model file (Model API)', () => {
  const train = [
    { tokens: ['Ann', 'met', 'Bob', '.'], labels: [1, 0, 1, 0] }, { tokens: ['Bob', 'left', '.'], labels: [1, 0, 0] },
    { tokens: ['we', 'met', 'Ann'], labels: [0, 0, 1] },
  ];

  it('is the Model file of its many-to-many model plus the vocabulary: loadModel reads it and predicts ŷ⟨t⟩ as the tagger does', () => {
    const tagger = createTagger({ vocab: buildTaggerVocabulary(train, 1), embeddingDim: 3, hidden: 4, bidirectional: true }, { rng: new Rng(1) });
    trainTagger(tagger, train, { steps: 3, batchSize: 2 }, new Rng(2));
    const file = path.join(dir, 'names.json');
    saveTagger(file, tagger);
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as TaggerJSON;
    expect(json.tagger.vocab.tokens).toEqual(tagger.vocab.tokens);
    expect(json.tagger.tags).toBeUndefined();
    const model = loadModel(file);
    expect(model.summary).toBe(`many-to-many: embedding ${tagger.vocab.size}×3 → 1-layer bidirectional lstm H=4 → sigmoid 1`);
    const ids = ['Ann', 'left', 'Zed'].map((t) => tagger.vocab.id(t));
    const [yHat] = predictTagger(tagger, [['Ann', 'left', 'Zed']]);
    expect((model.predict([ids]) as number[][][])[0].map((p) => Math.fround(p[0]))).toEqual(Array.from(yHat));
    expect(loadTagger(file).config).toEqual(tagger.config);
  });

  it('a Model file without the tagger part, or of another shape, is refused with one InputError naming the file', () => {
    const tagger = createTagger({ vocab: buildTaggerVocabulary(train, 1), embeddingDim: 2, hidden: 2 });
    const file = path.join(dir, 'bad.json');
    const json = JSON.parse(JSON.stringify({ ...tagger.model.toJSON() }));
    fs.writeFileSync(file, JSON.stringify(json));
    expect(() => loadTagger(file)).toThrow(`tagger model file ${file}: expected the tagger part { vocab, tags? } beside the model`);
    fs.writeFileSync(file, JSON.stringify({ ...json, tagger: { vocab: tagger.vocab.toJSON(), tags: ['O', 'X'] } }));
    expect(() => loadTagger(file)).toThrow(/expected tags to name the 1 classes of the softmax head/);
  });
});
