/**
 * Model files and checkpoints a careless or hostile user may hand in: a configuration far larger
 * than its weights, a NaN weight, an impossible training position; and checkpoints that must stay
 * bounded however long the run.
 */
import { describe, expect, it } from 'vitest';
import { Matrix } from '../../../engine/matrix.js';
import { Rng } from '../../../engine/rng.js';
import { InputError, NumericalError } from '../../../training/core/errors.js';
import { MAX_MODEL_WEIGHTS } from '../../../training/io/model-file.js';
import { createLanguageModel, languageModelFromJSON, languageModelToJSON } from '../../../training/lm/model.js';
import { sampleText, sampleTextStream } from '../../../training/lm/use.js';
import { LM_CHECKPOINT_LOSSES, createLmTrainer, lmCheckpointFromJSON, prepareLmCorpus, resumeLmTrainer } from '../../../training/lm/train.js';

const text = Array.from({ length: 300 }, (_, i) => ['apple', 'pear', 'salad'][new Rng(i).int(3)]).join('\n') + '\n';
const corpus = prepareLmCorpus(text, { level: 'word', valFraction: 0.1 });
const model = (): ReturnType<typeof createLanguageModel> =>
  createLanguageModel({ level: 'word', cell: 'gru', hidden: 4, embeddingDim: 3, seed: 2, vocab: corpus.vocab });

function inputError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error('expected an InputError');
}

describe('hostile model files', () => {
  it('refuses a configuration that needs more weights than the file holds, before allocating it', () => {
    const json = JSON.parse(JSON.stringify(languageModelToJSON(model())));
    json.config.layers = 100000;
    expect(inputError(() => languageModelFromJSON(json, 'model file m.json'))).toMatch(
      /^model file m\.json: its config \(gru, hidden 4, 100000 layer\(s\)\) needs at least 1600\d+ weights, the file holds \d+$/,
    );
    json.config.layers = 1;
    json.config.hidden = 100000;
    expect(inputError(() => languageModelFromJSON(json, 'model file m.json'))).toMatch(/\(gru, hidden 100000, 1 layer\(s\)\) needs at least 1000\d{7} weights, the file holds \d+$/);
  });

  it('refuses a model larger than MAX_MODEL_WEIGHTS when it is created (train --hidden 1000000000)', () => {
    const message = inputError(() => createLanguageModel({ level: 'word', hidden: 1e9, embeddingDim: 3, vocab: corpus.vocab }));
    expect(message).toMatch(new RegExp(`^createLanguageModel: a lstm of hidden 1000000000 × 1 layer\\(s\\) over ${corpus.vocab.size} tokens needs at least .* weights, more than the ${MAX_MODEL_WEIGHTS} a model may have$`));
  });

  it('refuses a weight holding NaN or Infinity, naming the weight and the entry', () => {
    const m = model();
    const json = JSON.parse(JSON.stringify(languageModelToJSON(m)));
    const [name] = Object.keys(json.weights);
    const w = json.weights[name];
    const bytes = Buffer.from(w.data, 'base64');
    bytes.writeFloatLE(NaN, 4 * (w.cols + 1)); // entry [1, 1]
    w.data = bytes.toString('base64');
    expect(inputError(() => languageModelFromJSON(json, 'model file m.json'))).toBe(
      `model file m.json: weight '${name}': matrixFromJSON: expected finite values, got NaN at [1, 1]`,
    );
  });

  it('Matrix.zeros names a bad shape', () => {
    expect(() => Matrix.zeros(-1, 3)).toThrow(/^Matrix\.zeros: expected a non-negative integer shape .*, got \[-1, 3\]$/);
    expect(() => Matrix.zeros(1e6, 1e6)).toThrow(/got \[1000000, 1000000\]/);
  });
});

describe('checkpoints', () => {
  const config = { seqLen: 4, batch: 2, optimizer: { kind: 'adam' as const, lr: 0.01 }, clip: null };

  it('refuses a position that does not fit the data (chunk out of range, step inconsistent)', () => {
    const trainer = createLmTrainer(model(), corpus, config);
    trainer.run({ maxSteps: 3 });
    const json = JSON.parse(JSON.stringify(trainer.checkpointJSON()));
    expect(() => resumeLmTrainer(lmCheckpointFromJSON(JSON.parse(JSON.stringify(json))), corpus)).not.toThrow();
    for (const position of [{ step: 3, epoch: 0, chunk: 999999 }, { step: 999, epoch: 0, chunk: 3 }]) {
      json.position = position;
      expect(inputError(() => resumeLmTrainer(lmCheckpointFromJSON(json, 'checkpoint ck.json'), corpus))).toMatch(
        new RegExp(`checkpoint position \\{ step ${position.step}, epoch 0, chunk ${position.chunk} \\} does not fit this data \\(${trainer.stepsPerEpoch} steps per epoch`),
      );
    }
  });

  it('keep only the last LM_CHECKPOINT_LOSSES training losses, and the step they start at', () => {
    const trainer = createLmTrainer(model(), corpus, config);
    trainer.run({ maxSteps: 2 });
    const extra = 3 * LM_CHECKPOINT_LOSSES;
    for (let i = 0; i < extra; i++) trainer.lossHistory.push(i);
    const json = trainer.checkpointJSON();
    expect(json.lossHistory).toHaveLength(LM_CHECKPOINT_LOSSES);
    expect(json.lossHistory[LM_CHECKPOINT_LOSSES - 1]).toBe(extra - 1);
    expect(json.lossHistoryFirstStep).toBe(2 + extra - LM_CHECKPOINT_LOSSES + 1);
  });
});

describe('bounds of generation', () => {
  it('sampleTextStream yields each sequence as it is drawn, so a huge count holds nothing back', () => {
    const stream = sampleTextStream(model(), { count: 1e9, seed: 3, maxLength: 5 });
    const first = stream.next();
    expect(first.done).toBe(false);
    // the same draws as the eager sampleText of two sequences
    const second = stream.next().value;
    expect([first.value, second]).toEqual(sampleText(model(), { count: 2, seed: 3, maxLength: 5 }));
  });
});

describe('divergence', () => {
  it('stops with a NumericalError when the loss climbs far above its start (lr 1e9), saying no weights were kept', () => {
    const trainer = createLmTrainer(model(), corpus, { seqLen: 4, batch: 2, optimizer: { kind: 'sgd', lr: 1e9 }, clip: { mode: 'norm', max: 5 } });
    let error: unknown = null;
    try {
      trainer.run({ maxSteps: 50 });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(NumericalError);
    expect((error as Error).message).toMatch(/^train: the (loss rose from [\d.]+ to [\d.e+]+|loss is (NaN|Infinity)) at step \d+: training diverged \(lower --lr; training stopped/);
    expect(trainer.position.step).toBeLessThan(50);
  });
});
