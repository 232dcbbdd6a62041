/** seq2seq with dropout (in the encoder stack) and layer-normalised cells: config, bits, resume. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../../engine/index.js';
import { createSeq2Seq, seq2seqParameters, seq2seqToJSON, type Seq2SeqOptions } from '../../../training/seq2seq/model.js';
import { Seq2SeqTrainer, prepareSeq2SeqData, readSeq2SeqCheckpoint, resumeSeq2SeqTrainer } from '../../../training/seq2seq/train.js';
import { generateDatePairs } from '../../../training/seq2seq/dates.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seq2seq-reg-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const data = prepareSeq2SeqData(generateDatePairs(80, new Rng(1)), { level: 'char', valFraction: 0.1, seed: 2 });

function trainer(extra: Seq2SeqOptions = {}): Seq2SeqTrainer {
  const model = createSeq2Seq({ cell: 'lstm', embeddingDim: 4, encoderHidden: 6, encoderLayers: 2, attention: 'dot', seed: 3, ...extra, sourceVocab: data.sourceVocab, targetVocab: data.targetVocab });
  return new Seq2SeqTrainer(model, data, { batch: 8, optimizer: { kind: 'adam', lr: 0.01 }, clipNorm: 1 });
}

const weights = (t: Seq2SeqTrainer): number[][] => Object.values(seq2seqParameters(t.model).params).map((p) => Array.from(p.data));
const RUN = { maxEvalExamples: 0, evalEvery: 100 };

describe('seq2seq dropout and layer normalisation', () => {
  it('absent or p = 0: the former config keys and the same bits', () => {
    const plain = trainer(), zero = trainer({ dropout: 0, layerNorm: false });
    expect(Object.keys(seq2seqToJSON(zero.model).config)).toEqual(Object.keys(seq2seqToJSON(plain.model).config));
    expect(Object.keys(seq2seqToJSON(plain.model).config)).not.toContain('dropout');
    plain.run({ ...RUN, maxSteps: 4 });
    zero.run({ ...RUN, maxSteps: 4 });
    expect(weights(zero)).toEqual(weights(plain));
    expect(plain.toCheckpointJSON().trainer).not.toHaveProperty('dropoutRngState');
  });

  it('dropout acts in training, is saved in the config, and a resume redraws the same masks (bit-identical)', () => {
    const extra: Seq2SeqOptions = { dropout: 0.3, dropoutMode: 'variational', layerNorm: true };
    const straight = trainer(extra);
    straight.run({ ...RUN, maxSteps: 12 });
    const plain = trainer();
    plain.run({ ...RUN, maxSteps: 12 });
    expect(weights(straight)).not.toEqual(weights(plain));
    expect(seq2seqToJSON(straight.model).config).toMatchObject(extra);
    const ck = path.join(tmp, 'ck.json');
    trainer(extra).run({ ...RUN, maxSteps: 5, checkpointPath: ck });
    const resumed = resumeSeq2SeqTrainer(readSeq2SeqCheckpoint(ck), data);
    resumed.run({ ...RUN, maxSteps: 12 });
    expect(weights(resumed)).toEqual(weights(straight));
    expect(resumed.lossHistory).toEqual(straight.lossHistory);
  });
});
