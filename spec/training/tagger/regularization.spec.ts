/** The tagger with dropout and layer normalisation: same bits when absent, saved in the config, off at prediction. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { modelParameters } from '../../../layers/architectures.js';
import { Rng } from '../../../engine/rng.js';
import {
  buildTaggerVocabulary, createTagger, loadTagger, predictTagger, saveTagger, trainTagger, type TaggedSentence, type TaggerConfig,
} from '../../../training/tagger/tagger.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-tagger-reg-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const sentences: TaggedSentence[] = [
  { tokens: ['Harry', 'met', 'Sally', '.'], labels: [1, 0, 1, 0] },
  { tokens: ['the', 'cat', 'sat', '.'], labels: [0, 0, 0, 0] },
  { tokens: ['Sally', 'sat', '.'], labels: [1, 0, 0] },
  { tokens: ['the', 'Harry', 'cat', '.'], labels: [0, 1, 0, 0] },
];
const vocab = buildTaggerVocabulary(sentences, 1);

function trained(extra: Partial<TaggerConfig>): { weights: number[][]; rng: Rng; tagger: ReturnType<typeof createTagger> } {
  const tagger = createTagger({ vocab, embeddingDim: 3, hidden: 4, layers: 2, ...extra }, { rng: new Rng(4) });
  const rng = new Rng(5);
  trainTagger(tagger, sentences, { steps: 6, batchSize: 2 }, rng);
  return { weights: Object.values(modelParameters(tagger.net).params).map((p) => Array.from(p.data)), rng, tagger };
}

describe('tagger dropout and layer normalisation', () => {
  it('absent or p = 0: the same bits, no draw, the former config keys', () => {
    const a = trained({}), b = trained({ dropout: 0, layerNorm: false });
    expect(b.weights).toEqual(a.weights);
    expect(b.rng.getState()).toEqual(a.rng.getState());
    expect(Object.keys(b.tagger.config)).toEqual(['embeddingDim', 'hidden', 'bidirectional', 'cell', 'layers']);
  });

  it('dropout acts in training only; the config keeps it and layer normalisation across save and load', () => {
    const plain = trained({});
    const { weights, rng, tagger } = trained({ dropout: 0.3, dropoutMode: 'between', layerNorm: true });
    expect(weights).not.toEqual(plain.weights);
    expect(rng.getState()).not.toEqual(plain.rng.getState());
    const tokens = sentences.map((s) => s.tokens);
    expect(predictTagger(tagger, tokens)).toEqual(predictTagger(tagger, tokens));
    const file = path.join(dir, 't.json');
    saveTagger(file, tagger);
    const loaded = loadTagger(file);
    expect(loaded.config).toMatchObject({ dropout: 0.3, dropoutMode: 'between', layerNorm: true });
    expect(predictTagger(loaded, tokens)).toEqual(predictTagger(tagger, tokens));
  });
});
