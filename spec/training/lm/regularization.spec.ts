import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Rng } from '../../../engine/rng.js';
import { InputError } from '../../../training/core/errors.js';
import {
  createLanguageModel, languageModelFromJSON, languageModelToJSON, lmParameters, type LanguageModel, type LanguageModelOptions,
} from '../../../training/lm/model.js';
import {
  createLmTrainer, evaluateLanguageModel, prepareLmCorpus, readLmCheckpoint, resumeLmTrainer,
  type LmTrainConfig, type LmTrainer, type PreparedLmCorpus,
} from '../../../training/lm/train.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-lm-reg-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function toyText(lines: number, seed = 5): string {
  const rng = new Rng(seed);
  const words = ['apple', 'pear', 'salad'];
  return Array.from({ length: lines }, () => words[rng.int(3)]).join('\n') + '\n';
}

const corpus = (): PreparedLmCorpus => prepareLmCorpus(toyText(600), { level: 'word', valFraction: 0.1 });

function model(data: PreparedLmCorpus, extra: LanguageModelOptions = {}): LanguageModel {
  return createLanguageModel({ level: 'word', cell: 'lstm', hidden: 8, layers: 2, embeddingDim: 4, seed: 11, ...extra, vocab: data.vocab });
}

const CONFIG: LmTrainConfig = { seqLen: 8, batch: 10, optimizer: { kind: 'adam', lr: 0.01 }, clip: { mode: 'norm', max: 1 } };

function weights(m: LanguageModel): number[][] {
  return Object.values(lmParameters(m)).map((p) => Array.from(p.data));
}

function train(m: LanguageModel, data: PreparedLmCorpus, steps: number): LmTrainer {
  const t = createLmTrainer(m, data, CONFIG);
  t.run({ maxSteps: steps });
  return t;
}

/** The config fields the language model had before dropout and layer normalisation existed. */
const FORMER_CONFIG_KEYS = ['level', 'lowercase', 'cell', 'hidden', 'layers', 'embeddingDim', 'seed', 'dtype'];

describe('language model dropout and layer normalisation', () => {
  it('absent (or p = 0): the former config keys exactly, the same bits, and no random draw', () => {
    const data = corpus();
    const plain = model(data);
    expect(Object.keys(languageModelToJSON(plain).config)).toEqual(FORMER_CONFIG_KEYS);
    const zero = model(data, { dropout: 0, dropoutMode: 'variational', layerNorm: false });
    expect(Object.keys(languageModelToJSON(zero).config)).toEqual(FORMER_CONFIG_KEYS);
    const a = train(plain, data, 5), b = train(zero, data, 5);
    expect(weights(b.model)).toEqual(weights(a.model));
    expect(a.rng.getState()).toEqual(new Rng(11).getState()); // the trainer's generator drew nothing
  });

  it('dropout changes training, draws from the trainer\'s generator, and is saved in the config', () => {
    const data = corpus();
    for (const dropoutMode of ['between', 'variational'] as const) {
      const m = model(data, { dropout: 0.3, dropoutMode });
      const t = train(m, data, 5);
      expect(weights(t.model)).not.toEqual(weights(train(model(data), data, 5).model));
      expect(t.rng.getState()).not.toEqual(new Rng(11).getState());
      const json = languageModelToJSON(m);
      expect(json.config).toMatchObject({ dropout: 0.3, dropoutMode });
      expect(languageModelFromJSON(JSON.parse(JSON.stringify(json))).stack.dropout).toEqual({ p: 0.3, mode: dropoutMode });
    }
  });

  it('evaluation is without dropout: the same loss as the same weights in a model without it', () => {
    const data = corpus();
    const dropped = train(model(data, { dropout: 0.5, dropoutMode: 'variational' }), data, 4).model;
    const plain = model(data);
    const from = lmParameters(dropped);
    for (const [name, p] of Object.entries(lmParameters(plain))) p.data.set(from[name].data);
    const opts = { seqLen: 8, batch: 4 };
    expect(evaluateLanguageModel(dropped, data.validation, opts).loss).toBe(evaluateLanguageModel(plain, data.validation, opts).loss);
  });

  it('layer normalisation: own parameters under rnn.l<k>.layernorm_*, saved and loaded to the bit', () => {
    const data = corpus();
    const m = train(model(data, { layerNorm: true }), data, 3).model;
    expect(Object.keys(lmParameters(m))).toContain('rnn.l1.layernorm_c.weight');
    const back = languageModelFromJSON(JSON.parse(JSON.stringify(languageModelToJSON(m))));
    expect(back.config.layerNorm).toBe(true);
    expect(weights(back)).toEqual(weights(m));
  });

  it('resumes bit-identically with variational dropout and layer normalisation (masks from the saved generator)', () => {
    const data = corpus();
    const extra: LanguageModelOptions = { dropout: 0.25, dropoutMode: 'variational', layerNorm: true };
    const N = 16, K = 9;
    const straight = createLmTrainer(model(data, extra), data, CONFIG);
    straight.run({ maxSteps: N, evalEvery: 4 });
    const file = path.join(dir, 'ckpt.json');
    createLmTrainer(model(data, extra), data, CONFIG).run({ maxSteps: K, evalEvery: 4, checkpointPath: file });
    const checkpoint = readLmCheckpoint(file);
    const again = prepareLmCorpus(toyText(600), { level: 'word', valFraction: 0.1, vocab: checkpoint.model.vocab });
    const resumed = resumeLmTrainer(checkpoint, again);
    resumed.run({ maxSteps: N, evalEvery: 4 });
    expect(weights(resumed.model)).toEqual(weights(straight.model));
    expect(resumed.lossHistory).toEqual(straight.lossHistory);
    expect(resumed.rng.getState()).toEqual(straight.rng.getState());
  });

  it('refuses options the cell cannot take, naming them', () => {
    const data = corpus();
    expect(() => model(data, { cell: 'gru', dropout: 0.2, dropoutMode: 'variational' })).toThrow(InputError);
    expect(() => model(data, { cell: 'gru', dropout: 0.2, dropoutMode: 'variational' })).toThrow(/variational dropout .* got gru/);
    expect(() => model(data, { cell: 'gru', layerNorm: true })).toThrow(/layer normalisation only for cell lstm, gru-reset-after, got gru/);
    expect(() => model(data, { dropout: 1 })).toThrow(/expected dropout to be a number in \[0, 1\), got 1/);
  });
});
