import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../../engine/rng.js';
import { CELL_KINDS } from '../../../layers/cells/create-cell.js';
import { InputError } from '../../../training/core/errors.js';
import { gradCheckCases } from '../../../training/gradcheck-suite.js';
import { modelCases } from '../../../training/model/gradcheck-cases.js';
import { DEFAULT_SEED } from '../../../engine/create.js';
import {
  checkpointFile, createModel, loadCheckpoint, loadModel, modelFromJSON, saveModel,
  type ModelConfig, type ModelJSON, type SequenceData,
} from '../../../training/model/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'seqgrad-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Ragged sequences of ids in [2, V) of lengths 2…6, from a seeded Rng. */
function sequences(rng: Rng, count: number, V: number): number[][] {
  return Array.from({ length: count }, () => Array.from({ length: 2 + rng.int(5) }, () => 2 + rng.int(V - 2)));
}

/** many-to-one: class 1 iff token 1 occurs (planted at a random position). */
function containsTask(rng: Rng, count: number): SequenceData {
  const inputs = sequences(rng, count, 8);
  const targets = inputs.map((seq) => {
    const y = rng.int(2);
    if (y === 1) seq[rng.int(seq.length)] = 1;
    return y;
  });
  return { inputs, targets };
}

/** many-to-many: the label of step t is the parity of the number of 1s in x⟨1…t⟩ (needs memory). */
function parityTask(rng: Rng, count: number): SequenceData {
  const inputs = Array.from({ length: count }, () => Array.from({ length: 2 + rng.int(5) }, () => rng.int(2)));
  const targets = inputs.map((seq) => {
    let parity = 0;
    return seq.map((x) => (parity ^= x));
  });
  return { inputs, targets };
}

const reverseSources = [[2, 3, 4], [3, 4, 5], [5, 2], [4, 4, 2, 3], [2, 5, 3]];
const reverseTask: SequenceData = { inputs: reverseSources, targets: reverseSources.map((s) => [...s].reverse().concat([1])) };

const configs: Record<string, ModelConfig> = {
  'many-to-one': { shape: 'many-to-one', vocabSize: 8, embeddingDim: 4, rnn: { cell: 'gru', hidden: 8 }, outputSize: 2 },
  'many-to-many': { shape: 'many-to-many', vocabSize: 2, embeddingDim: 0, rnn: { cell: 'lstm', hidden: 8, bidirectional: false }, outputSize: 2 },
  'one-to-many': { shape: 'one-to-many', vocabSize: 5, embeddingDim: 4, rnn: { cell: 'lstm', hidden: 8 }, startToken: 0, stopToken: 4 },
  'encoder-decoder': { shape: 'encoder-decoder', vocabSize: 6, embeddingDim: 4, rnn: { cell: 'gru-reset-after', hidden: 6, bidirectional: true }, outputSize: 6, startToken: 0, stopToken: 1 },
};

function taskFor(shape: string): SequenceData {
  const rng = new Rng(7);
  switch (shape) {
    case 'many-to-one': return containsTask(rng, 48);
    case 'many-to-many': return parityTask(rng, 48);
    case 'one-to-many': return { targets: [[1, 2, 3, 4], [2, 3, 1, 4], [3, 3, 2, 4]] };
    default: return reverseTask;
  }
}

describe('Model.fit', () => {
  // Chance level: softmax over K classes starts near ln K; learning must cut the loss well below it.
  // (The one-to-many task's first token is 1, 2 or 3 with equal odds: its loss cannot go below
  // 3·ln 3 / 12 ≈ 0.27 per prediction, nor its accuracy above 10/12.)
  for (const shape of Object.keys(configs)) {
    it(`lowers the loss of a small ${shape} task to under a third of its start`, () => {
      const model = createModel(configs[shape]);
      const data = taskFor(shape);
      const before = model.evaluate(data).loss;
      const result = model.fit(data, { epochs: { 'many-to-many': 40, 'one-to-many': 150 }[shape] ?? 60, batchSize: 16 });
      const after = model.evaluate(data);
      expect(result.stopReason).toBe('epochs');
      expect(result.losses.length).toBe(result.steps);
      expect(after.loss).toBeLessThan(before / 3);
      expect(after.accuracy).toBeGreaterThan(0.8);
    }, 60_000);
  }

  it('trains a sigmoid head on one-hot inputs (per-step labels, K = 1 as plain numbers)', () => {
    const data = parityTask(new Rng(3), 32);
    const model = createModel({ shape: 'many-to-many', vocabSize: 2, embeddingDim: 0, rnn: { cell: 'gru', hidden: 6 }, head: 'sigmoid', outputSize: 1 });
    const before = model.evaluate(data).loss;
    model.fit(data, { epochs: 40, batchSize: 8 });
    expect(model.evaluate(data).loss).toBeLessThan(before / 3);
  }, 60_000);

  it('follows the learning-rate schedule: a linear decay to 0 after one step leaves the weights of step 1', () => {
    const data = taskFor('many-to-one');
    const once = createModel(configs['many-to-one'], { rng: new Rng(5) });
    once.fit(data, { maxSteps: 1, batchSize: 8, rng: new Rng(9) });
    const decayed = createModel(configs['many-to-one'], { rng: new Rng(5) });
    // lr at update k is lr·(1 − k/1) → 0 for k ≥ 1: updates 2 and 3 move nothing (Adam's step is lr·…).
    const r = decayed.fit(data, { maxSteps: 3, batchSize: 8, rng: new Rng(9), optimizer: { kind: 'adam', lr: 0.01, schedule: { kind: 'linear', totalSteps: 1 } } });
    expect(r.steps).toBe(3);
    expect(decayed.toJSON().weights).toEqual(once.toJSON().weights);
  });

  it('stops early after `patience` validations without improvement and restores the best weights', () => {
    const train = taskFor('many-to-one');
    // Validation labels are the opposite of the rule being learned: its loss rises as training goes on.
    const validation = { inputs: train.inputs, targets: (train.targets as number[]).map((y) => 1 - y) };
    const model = createModel(configs['many-to-one']);
    const result = model.fit(train, { epochs: 50, batchSize: 16, validation, validateEvery: 1, earlyStopping: { patience: 3 } });
    expect(result.stopReason).toBe('early-stopping');
    expect(result.best).not.toBeNull();
    const best = result.best as NonNullable<typeof result.best>;
    const last = result.validations[result.validations.length - 1];
    expect(last.step).toBe(best.step + 3);
    expect(last.loss).toBeGreaterThan(best.loss);
    expect(result.restoredBest).toBe(true);
    // The restored weights score exactly what the best validation recorded.
    expect(model.evaluate(validation).loss).toBe(best.loss);
  });

  it('honours the stop flag (Ctrl-C) between steps and writes its checkpoint, which loads as the model', () => {
    const flag = { stopRequested: false };
    const model = createModel(configs['many-to-one']);
    const file = path.join(dir, 'stopped.ckpt.json');
    const result = model.fit(taskFor('many-to-one'), {
      epochs: 100, batchSize: 8, signal: flag, checkpoint: checkpointFile(file, { every: 1000 }),
      onProgress: (p) => { if (p.step === 3) flag.stopRequested = true; },
    });
    expect(result.stopReason).toBe('interrupted');
    expect(result.steps).toBe(3);
    const json = JSON.parse(readFileSync(file, 'utf8')) as ModelJSON;
    expect(json.training?.step).toBe(3);
    expect(json.training?.optimizer.step).toBe(3);
    expect(loadModel(file).predict([[1, 2, 3]])).toEqual(model.predict([[1, 2, 3]]));
  });

  it('resumes a checkpointed run bit-identically: weights, losses, validations (Ctrl-C mid-epoch)', () => {
    const data = taskFor('many-to-one');
    const validation = { inputs: data.inputs?.slice(0, 16), targets: data.targets.slice(0, 16) };
    const opts = {
      epochs: 3, batchSize: 10, validation, validateEvery: 2, earlyStopping: { patience: 100 },
      optimizer: { kind: 'adam' as const, lr: 0.01, schedule: { kind: 'step' as const, stepSize: 3, gamma: 0.5 } },
    };
    const whole = createModel(configs['many-to-one'], { rng: new Rng(2) });
    const full = whole.fit(data, opts);
    const flag = { stopRequested: false };
    const file = path.join(dir, 'resume.ckpt.json');
    const first = createModel(configs['many-to-one'], { rng: new Rng(2) });
    // 48 sequences in batches of 10: step 7 is the second batch of epoch 2.
    const stopped = first.fit(data, { ...opts, signal: flag, checkpoint: checkpointFile(file), onProgress: (p) => { if (p.step === 7) flag.stopRequested = true; } });
    expect(stopped.steps).toBe(7);
    const { model, resume } = loadCheckpoint(file);
    const rest = model.fit(data, { ...opts, resume });
    expect(rest.steps).toBe(full.steps);
    expect(rest.losses).toEqual(full.losses);
    expect(rest.validations).toEqual(full.validations);
    expect(model.toJSON().weights).toEqual(whole.toJSON().weights);
    saveModel(path.join(dir, 'not-a-checkpoint.json'), model);
    expect(() => loadCheckpoint(path.join(dir, 'not-a-checkpoint.json'))).toThrow(/expected the training state of a checkpoint/);
  });

  it('refuses bad options with one InputError naming Model.fit', () => {
    const model = createModel(configs['many-to-one']);
    const data = taskFor('many-to-one');
    expect(() => model.fit(data, { earlyStopping: { patience: 2 } })).toThrow(/Model\.fit: expected validation data with earlyStopping/);
    expect(() => model.fit(data, { batchSize: 0 })).toThrow(InputError);
    expect(() => model.fit({ inputs: [[1, 9]], targets: [0] })).toThrow(/Model\.fit: data: expected inputs\[0\]\[1\] to be a token id in \[0, 8\), got 9/);
    expect(() => model.fit(data, { optimizer: { kind: 'adam', lr: -1 } })).toThrow(InputError);
  });
});

describe('Model.fit: dropLast, a gradient hook, dropout and layer normalisation, initialisation options', () => {
  it('dropLast: every step sees batchSize sequences, an epoch is ⌊n/B⌋ steps without repeats, then a fresh shuffle', () => {
    const data = taskFor('many-to-one'); // 48 sequences: 4 steps of 10 per epoch, 8 left out each time
    const model = createModel(configs['many-to-one']);
    const batches: number[][] = [];
    const result = model.fit(data, {
      maxSteps: 8, batchSize: 10, dropLast: true,
      gradient: (ids) => { batches.push([...ids]); return model.lossAndGradients(model.batch(data, ids)); },
    });
    expect(result.epochs).toBe(2);
    expect(batches.map((b) => b.length)).toEqual(new Array(8).fill(10));
    for (const epoch of [batches.slice(0, 4).flat(), batches.slice(4).flat()]) expect(new Set(epoch).size).toBe(40);
    expect(batches.slice(4).flat()).not.toEqual(batches.slice(0, 4).flat());
  });

  it('a gradient hook that computes the model\'s own gradient trains bit for bit as fit does without it', () => {
    const data = taskFor('many-to-many');
    const plain = createModel(configs['many-to-many'], { rng: new Rng(4) });
    const r1 = plain.fit(data, { maxSteps: 5, batchSize: 12 });
    const hooked = createModel(configs['many-to-many'], { rng: new Rng(4) });
    let calls = 0;
    const r2 = hooked.fit(data, { maxSteps: 5, batchSize: 12, gradient: (ids) => { calls++; return hooked.lossAndGradients(hooked.batch(data, ids)); } });
    expect(calls).toBe(5);
    expect(r2.losses).toEqual(r1.losses);
    expect(hooked.toJSON().weights).toEqual(plain.toJSON().weights);
  });

  it('rnn.dropout: masks in fit only (the training loss moves, evaluation and prediction are deterministic); the config is saved', () => {
    const data = taskFor('many-to-one');
    const config: ModelConfig = { ...configs['many-to-one'], rnn: { cell: 'lstm', hidden: 8, layers: 2, dropout: 0.5 } };
    const withDropout = createModel(config, { rng: new Rng(3) });
    const without = createModel({ ...config, rnn: { cell: 'lstm', hidden: 8, layers: 2 } }, { rng: new Rng(3) });
    expect(withDropout.toJSON().weights).toEqual(without.toJSON().weights); // the same initial weights
    expect(withDropout.evaluate(data)).toEqual(without.evaluate(data)); // no masks outside fit
    const a = withDropout.fit(data, { maxSteps: 1, batchSize: 8, rng: new Rng(1) });
    const b = without.fit(data, { maxSteps: 1, batchSize: 8, rng: new Rng(1) });
    expect(a.losses[0]).not.toBe(b.losses[0]);
    expect(withDropout.predict([[1, 2, 3]])).toEqual(withDropout.predict([[1, 2, 3]]));
    const file = path.join(dir, 'dropout.json');
    saveModel(file, withDropout);
    expect(loadModel(file).config.rnn).toEqual({ cell: 'lstm', hidden: 8, layers: 2, bidirectional: false, residual: false, dropout: 0.5, dropoutMode: 'between' });
    expect(() => createModel({ ...config, rnn: { cell: 'gru', hidden: 4, dropout: 0.5, dropoutMode: 'variational' } })).toThrow(/createModel: config: .*variational dropout/);
  });

  it('rnn.layerNorm: layer-normalised cells, their gains and biases saved and loaded (predictions bit for bit)', () => {
    const model = createModel({ ...configs['many-to-one'], rnn: { cell: 'lstm', hidden: 4, layerNorm: true } });
    const plain = createModel({ ...configs['many-to-one'], rnn: { cell: 'lstm', hidden: 4 } });
    expect(Object.keys(model.parameters).length).toBeGreaterThan(Object.keys(plain.parameters).length);
    model.fit(taskFor('many-to-one'), { maxSteps: 2, batchSize: 8 });
    const file = path.join(dir, 'layer-norm.json');
    saveModel(file, model);
    const loaded = loadModel(file);
    expect(loaded.config.rnn.layerNorm).toBe(true);
    expect(loaded.predict([[1, 2, 3], [4]])).toEqual(model.predict([[1, 2, 3], [4]]));
    expect(() => createModel({ ...configs['many-to-one'], rnn: { cell: 'rnn', hidden: 4, layerNorm: true } })).toThrow(/createModel: config: .*layer normalisation/);
  });

  it('init: E ~ N(0, embeddingStd²) from the same draws, the LSTM forget-gate bias set; neither is saved', () => {
    const config: ModelConfig = { shape: 'many-to-many', vocabSize: 6, embeddingDim: 3, rnn: { cell: 'lstm', hidden: 4 }, outputSize: 2 };
    const standard = createModel(config, { rng: new Rng(8) });
    const scaled = createModel(config, { rng: new Rng(8), init: { embeddingStd: 0.3, forgetBias: 1 } });
    const E1 = standard.parameters['embedding.weight'].toArray().flat(), E3 = scaled.parameters['embedding.weight'].toArray().flat();
    E1.forEach((v, i) => expect(E3[i]).toBeCloseTo(0.3 * v, 6));
    expect(standard.parameters['rnn.l0.b'].toArray().flat().filter((v) => v === 1)).toHaveLength(0);
    expect(scaled.parameters['rnn.l0.b'].toArray().flat().filter((v) => v === 1)).toHaveLength(4);
    expect(scaled.toJSON().config).toEqual(standard.toJSON().config);
  });
});

describe('Model.predict', () => {
  it('gives probabilities that sum to 1 per sequence (many-to-one) and per step (many-to-many)', () => {
    const m2o = createModel({ ...configs['many-to-one'], shape: 'many-to-one' }).predict([[2, 3], [4, 5, 6, 7]]);
    expect(m2o.length).toBe(2);
    for (const p of m2o) expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const m2m = createModel({ ...configs['many-to-many'], shape: 'many-to-many' }).predict([[0, 1, 1], [1]]);
    expect(m2m.map((s) => s.length)).toEqual([3, 1]);
    for (const s of m2m) for (const p of s) expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('generates what a trained one-to-many model learned, continuing a prefix and stopping at stopToken', () => {
    const model = createModel(configs['one-to-many']);
    model.fit({ targets: [[1, 2, 3, 4]] }, { epochs: 80 });
    expect(model.predict([[]])).toEqual([[1, 2, 3, 4]]);
    expect(model.predict([[1, 2]])).toEqual([[3, 4]]);
    expect(model.predict([[]], { maxSteps: 2 })).toEqual([[1, 2]]);
  });

  it('samples from the Rng it is given: the same seed draws the same tokens', () => {
    const model = createModel({ ...configs['one-to-many'], shape: 'one-to-many' });
    const draw = (seed: number): number[][] => model.predict([[], [], []], { sample: true, temperature: 2, maxSteps: 8, rng: new Rng(seed) });
    expect(draw(5)).toEqual(draw(5));
    expect([6, 7, 8].map(draw)).not.toEqual([5, 5, 5].map(draw));
  });
});

describe('save → load', () => {
  for (const [shape, config] of Object.entries(configs)) {
    it(`${shape}: the loaded model predicts bit for bit what was saved`, () => {
      const model = createModel(config, { rng: new Rng(11) });
      model.fit(taskFor(shape), { maxSteps: 2 });
      const file = path.join(dir, `${shape}.json`);
      saveModel(file, model);
      const loaded = loadModel(file);
      expect(loaded.config).toEqual(model.config);
      const inputs = shape === 'one-to-many' ? [[], [2]] : shape === 'many-to-many' ? [[0, 1, 1], [1]] : [[2, 3, 4], [3]];
      const opts = { maxSteps: 5 };
      expect(loaded.predict(inputs, opts)).toEqual(model.predict(inputs, opts));
      expect(loaded.evaluate(taskFor(shape))).toEqual(model.evaluate(taskFor(shape)));
    });
  }

  it('builds, saves and loads every cell kind (uni-, bidirectional, residual), float64 too', () => {
    for (const cell of CELL_KINDS) {
      for (const rnn of [{ cell, hidden: 3, layers: 2, bidirectional: true }, { cell, hidden: 3, layers: 2, residual: true }]) {
        const model = createModel({ shape: 'many-to-one', vocabSize: 5, embeddingDim: 2, rnn, outputSize: 3 }, { dtype: 'float64' });
        expect(model.parameters['rnn.l1.W_x'].dtype).toBe('float64');
        const loaded = modelFromJSON(JSON.parse(JSON.stringify(model.toJSON())));
        expect(loaded.predict([[1, 2, 3], [4]])).toEqual(model.predict([[1, 2, 3], [4]]));
      }
    }
  });

  it('names the default seed: createModel without an rng is createModel with new Rng(DEFAULT_SEED)', () => {
    const a = createModel(configs['many-to-one']).toJSON();
    const b = createModel(configs['many-to-one'], { rng: new Rng(DEFAULT_SEED) }).toJSON();
    const c = createModel(configs['many-to-one'], { rng: new Rng(DEFAULT_SEED + 1) }).toJSON();
    expect(a.weights).toEqual(b.weights);
    expect(a.weights).not.toEqual(c.weights);
  });
});

describe('a bad model file', () => {
  const good = (): ModelJSON => createModel(configs['many-to-one']).toJSON();
  const load = (json: unknown, name: string): unknown => {
    const file = path.join(dir, name);
    writeFileSync(file, typeof json === 'string' ? json : JSON.stringify(json));
    try {
      loadModel(file);
    } catch (err) {
      return err;
    }
    throw new Error('expected loadModel to throw');
  };
  const cases: [string, () => unknown, RegExp][] = [
    ['not JSON', () => '{"kind": "seqgrad.model",', /not valid JSON|JSON/],
    ['another kind', () => ({ ...good(), kind: 'seqgrad.language-model' }), /expected kind "seqgrad\.model", got "seqgrad\.language-model"/],
    ['a bad config field', () => ({ ...good(), config: { ...good().config, rnn: { cell: 'lstmx', hidden: 4 } } }), /config: expected rnn\.cell to be one of rnn, gru/],
    ['a missing weight', () => { const j = good(); delete (j.weights as Record<string, unknown>)['head.b']; return j; }, /lacks weight 'head\.b'/],
    ['an extra weight', () => { const j = good(); j.weights['head.extra'] = j.weights['head.b']; return j; }, /has weight 'head\.extra'/],
    ['a weight of another shape', () => { const j = good(); j.weights['head.b'] = j.weights['head.W']; return j; }, /expected weight 'head\.b' to be float32 \[1, 2\], got float32 \[2, 8\]/],
    ['a non-finite weight', () => {
      const j = good();
      const bytes = Buffer.from(new Float32Array([Number.NaN, 0]).buffer);
      j.weights['head.b'] = { rows: 1, cols: 2, dtype: 'float32', data: bytes.toString('base64') };
      return j;
    }, /weight 'head\.b': .*expected finite values, got NaN/],
    ['a config far bigger than its weights (checked before allocating)', () => ({ ...good(), config: { ...good().config, rnn: { cell: 'gru', hidden: 2000 } } }), /needs at least .* weights, the file holds/],
  ];
  for (const [what, json, message] of cases) {
    it(`${what}: one InputError naming the file`, () => {
      const err = load(json(), `${what.replace(/\W+/g, '-')}.json`) as Error;
      expect(err).toBeInstanceOf(InputError);
      expect(err.message.split('\n').length).toBe(1);
      expect(err.message).toMatch(/model file .*\.json/);
      expect(err.message).toMatch(message);
    });
  }
});

describe('the Model gradient checks', () => {
  it('are registered in the suite (spec/training/check/gradcheck-suite.spec.ts runs them at ≤ 1e−7)', () => {
    expect(modelCases.length).toBeGreaterThan(0);
    for (const c of modelCases) expect(gradCheckCases).toContain(c);
  });
});
