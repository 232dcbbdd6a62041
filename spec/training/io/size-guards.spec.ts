/**
 * Sizes checked before allocating (issue 12): a flag or a small model file that asks for a huge
 * sentiment, tagger, trigger or tree model gets one InputError naming the sizes, instead of
 * "Invalid typed array length" or gigabytes of zeros. Each hostile file is a real saved model with
 * one configuration field blown up, so it can only be refused by the check under test.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../cli/helpers.js';
import { Rng } from '../../../engine/rng.js';
import { averageModelFactory } from '../../../training/classify/sentence-classifier.js';
import { InputError } from '../../../training/core/errors.js';
import { layerFromJSON, layerToJSON } from '../../../training/io/layer-json.js';
import { MAX_MODEL_WEIGHTS, storedWeightCount } from '../../../training/io/weights-json.js';
import { lstmModelFactory } from '../../../training/sentiment/lstm.js';
import { buildSentimentVocabulary } from '../../../training/sentiment/sentiment.js';
import { buildTaggerVocabulary, createTagger, taggerFromJSON, taggerToJSON } from '../../../training/tagger/tagger.js';
import { generateSentimentTrees } from '../../../training/trees/trees.js';
import { trainTreeNet, treeModelsFromJSON, treeModelsToJSON } from '../../../training/trees/treenet.js';
import { createTriggerModel, triggerModelFromJSON, triggerModelToJSON } from '../../../training/trigger/trigger.js';
import { createStackedRnn } from '../../../layers/stacked.js';

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));
function inputError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error('expected an InputError');
}

describe('model sizes checked before allocating', () => {
  it('storedWeightCount counts only what the base64 data can fill', () => {
    const eight = Buffer.from(new Float32Array(8).buffer).toString('base64');
    expect(storedWeightCount({ a: { rows: 2, cols: 4, dtype: 'float32', data: eight }, b: { rows: 1e9, cols: 1e3, dtype: 'float32', data: eight } })).toBe(16);
    expect(storedWeightCount({ c: { rows: 2, cols: 2, dtype: 'float64', data: eight } })).toBe(4);
    expect(storedWeightCount(null)).toBe(0);
  });

  it('sentiment: --dim / --hidden too large; an LSTM file whose shapes claim more than its bytes', () => {
    const vocab = buildSentimentVocabulary([{ text: 'good bad', label: 0, source: 'x' }]);
    expect(inputError(() => averageModelFactory.create(vocab, ['a', 'b'], new Rng(1), { dim: MAX_MODEL_WEIGHTS }))).toMatch(/averageModelFactory\.create: .* needs at least .* weights, more than the 268435456/);
    expect(inputError(() => lstmModelFactory.create(vocab, ['a', 'b'], new Rng(1), { dim: 4, hidden: 1e6 }))).toMatch(/createLstmSentimentModel: an LSTM of hidden 1000000/);
    const json = clone(lstmModelFactory.create(vocab, ['a', 'b'], new Rng(1), { dim: 4, hidden: 3 }).toJSON());
    json.weights['rnn.l0.W_a'].rows = 400_000; // hidden 100,000 claimed, 36 values stored
    expect(() => lstmModelFactory.fromJSON(json)).toThrow(/weight 'rnn\.l0\.W_a': matrixFromJSON: expected 4800000 bytes for float32 \[400000, 3\], got 144/);
  });

  it('tagger: --hidden too large; a file whose config asks for more than its weights', () => {
    const vocab = buildTaggerVocabulary([{ tokens: ['a', 'b'], labels: [0, 1] }], 1);
    expect(inputError(() => createTagger({ vocab, hidden: 1e6 }, { rng: new Rng(1) }))).toMatch(/createTagger: a lstm tagger of hidden 1000000/);
    const json = clone(taggerToJSON(createTagger({ vocab, hidden: 4, embeddingDim: 3 }, { rng: new Rng(1) })));
    json.config.rnn.layers = 100_000;
    expect(inputError(() => taggerFromJSON(json, 'tagger file t.json'))).toMatch(/^tagger file t\.json: its config \(many-to-many: embedding \d+×3 → 100000-layer bidirectional lstm H=4 → sigmoid 1\) needs at least \d+ weights, the file holds \d+$/);
    // The format before the Model API keeps its own check.
    const legacy = JSON.parse(fs.readFileSync(path.join(repoRoot, 'spec/fixtures/tagger/names-bi.json'), 'utf8'));
    legacy.config.layers = 100_000;
    expect(inputError(() => taggerFromJSON(legacy, 'tagger file t.json'))).toMatch(/^tagger file t\.json: its config \(embedding 2, hidden 2 × 100000 layer\(s\), \d+ words\) needs at least \d+ weights, the file holds \d+$/);
  });

  it('trigger and layer files: a config or a cell larger than the stored weights', () => {
    expect(inputError(() => createTriggerModel({ bands: 16, hidden: 1e6 }, { rng: new Rng(1) }))).toMatch(/createTriggerModel: a gru of hidden 1000000/);
    const json = clone(triggerModelToJSON(createTriggerModel({ bands: 4, hidden: 3 }, { rng: new Rng(1) })));
    json.config.layers = 100_000;
    expect(inputError(() => triggerModelFromJSON(json, 'm.json'))).toMatch(/^m\.json: expected config hidden 3, bands 4, layers 1 \(the rnn's\), got 3, 4, 100000$/);
    const layer = clone(layerToJSON(createStackedRnn({ kind: 'gru', inputSize: 2, hiddenSize: 3, numLayers: 1, rng: new Rng(1) })));
    (layer.config as { layers: { cell: { hiddenSize: number } }[] }).layers[0].cell.hiddenSize = 100_000;
    expect(inputError(() => layerFromJSON(layer, 'l.json'))).toMatch(/^l\.json: config\.layers\[0\]\.cell \(hidden 100000, input 2\) needs at least 10000200000 weights, the file holds \d+$/);
  });

  it('tree: --dim too large; a file whose dim asks for more than its weights', () => {
    const trees = generateSentimentTrees(new Rng(1), 6);
    expect(inputError(() => trainTreeNet(trees, { dim: 1e6, epochs: 1 }, new Rng(2)))).toMatch(/trainTreeNet: a recursive net of dim 1000000/);
    const json = clone(treeModelsToJSON(trainTreeNet(trees, { dim: 3, epochs: 1 }, new Rng(2)), null));
    json.tree.dim = 100_000;
    expect(() => treeModelsFromJSON(json, 'tree.json')).toThrow(/^treeModelsFromJSON: tree\.json: its config \(dim 100000, \d classes, \d+ words\) needs at least \d+ weights, the file holds \d+$/);
  });
});
