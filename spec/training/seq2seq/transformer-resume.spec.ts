/**
 * Transformer seq2seq checkpoints: K steps + checkpoint + resume + (N − K) steps = N steps straight,
 * bit for bit (dropout masks from the saved generator, batches from the saved order, across an epoch
 * boundary); a checkpoint of other data or of another kind is refused with one line.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../../engine/rng.js';
import { InputError } from '../../../training/core/errors.js';
import { generateDatePairs } from '../../../training/seq2seq/dates.js';
import { prepareSeq2SeqData, type PreparedSeq2SeqData } from '../../../training/seq2seq/train.js';
import { createTransformerSeq2Seq, transformerSeq2SeqParameters } from '../../../training/seq2seq/transformer-model.js';
import {
  TransformerSeq2SeqTrainer, readAnySeq2SeqCheckpoint, resumeTransformerSeq2SeqRun, resumeTransformerSeq2SeqTrainer,
  type TransformerSeq2SeqCheckpointJSON,
} from '../../../training/seq2seq/transformer-train.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-ts2s-resume-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// 54 training pairs in batches of 8: 7 batches an epoch, the last one of 6 examples.
const pairs = generateDatePairs(60, new Rng(1));
const data = (): PreparedSeq2SeqData => prepareSeq2SeqData(pairs, { level: 'char', valFraction: 0.1, seed: 2 });

function trainer(): TransformerSeq2SeqTrainer {
  const d = data();
  const model = createTransformerSeq2Seq({ dModel: 8, numHeads: 2, encoderLayers: 1, decoderLayers: 1, dimFeedforward: 16, dropout: 0.2, maxLength: 40, seed: 5 }, d.sourceVocab, d.targetVocab);
  const t = new TransformerSeq2SeqTrainer(model, d, { batch: 8, optimizer: { kind: 'adam', lr: 0.01 }, clipNorm: 1, seed: 3 });
  t.dataInfo = { file: 'dates.tsv', level: 'char', valFraction: 0.1, seed: 2 };
  return t;
}

/** Every bit of the weights and the optimizer state. */
function bits(t: TransformerSeq2SeqTrainer): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [name, p] of Object.entries(transformerSeq2SeqParameters(t.model).params)) out[name] = Array.from(p.data);
  for (const [name, slots] of Object.entries(t.optimizer.slots)) {
    for (const [slot, m] of Object.entries(slots)) out[`${name}.${slot}`] = Array.from(m.data);
  }
  return out;
}

const RUN = { maxEvalExamples: 2, evalEvery: 3 };

describe('Transformer seq2seq checkpoints', () => {
  it('resume bit-identically with dropout, across an epoch boundary', () => {
    const straight = trainer();
    expect(straight.stepsPerEpoch).toBe(7);
    const N = 10, K = 5; // resumed inside epoch 0, the run ends in epoch 1
    straight.run({ ...RUN, maxSteps: N });
    const file = path.join(dir, 'ck.json');
    trainer().run({ ...RUN, maxSteps: K, checkpointPath: file });
    const any = readAnySeq2SeqCheckpoint(file);
    expect(any.arch).toBe('transformer');
    const checkpoint = any.checkpoint as TransformerSeq2SeqCheckpointJSON;
    expect(checkpoint.trainer.step).toBe(K);
    expect(checkpoint.data).toMatchObject({ file: 'dates.tsv', train: 54, validation: 6 });
    // From the pairs, prepared as the checkpoint says (the same split and vocabularies).
    const resumed = resumeTransformerSeq2SeqRun(checkpoint, pairs);
    expect(resumed.step).toBe(K);
    resumed.run({ ...RUN, maxSteps: N });
    expect(resumed.epoch).toBe(1);
    expect(bits(resumed)).toEqual(bits(straight));
    expect(resumed.lossHistory).toEqual(straight.lossHistory);
    expect(resumed.dropoutRng.getState()).toEqual(straight.dropoutRng.getState());
    const at = (t: TransformerSeq2SeqTrainer): number[][] => t.evaluations.filter((e) => e.step !== K).map((e) => [e.step, e.loss, e.exactMatch]);
    expect(at(resumed)).toEqual(at(straight));
    // Resuming without the saved dropout generator would draw other masks: the test can fail.
    const fresh = trainer();
    fresh.run({ ...RUN, maxSteps: K });
    fresh.dropoutRng.setState(new Rng(99).getState());
    fresh.run({ ...RUN, maxSteps: N });
    expect(fresh.lossHistory.slice(K)).not.toEqual(straight.lossHistory.slice(K));
  });

  it('refuse other data, a position outside the data and a malformed file, naming them', () => {
    const file = path.join(dir, 'ck2.json');
    trainer().run({ ...RUN, maxSteps: 2, checkpointPath: file });
    const checkpoint = readAnySeq2SeqCheckpoint(file).checkpoint as TransformerSeq2SeqCheckpointJSON;
    const fewer = prepareSeq2SeqData(pairs.slice(0, 50), { level: 'char', valFraction: 0.1, seed: 2 });
    expect(() => resumeTransformerSeq2SeqTrainer(checkpoint, fewer, 'checkpoint ck2.json')).toThrow(
      /^checkpoint ck2\.json: expected the data it was trained on \(54 training \/ 6 validation pairs\), got 45 \/ 5$/,
    );
    const far = JSON.parse(JSON.stringify(checkpoint));
    far.trainer.batchInEpoch = 999;
    expect(() => resumeTransformerSeq2SeqTrainer(far, data())).toThrow(InputError);
    expect(() => resumeTransformerSeq2SeqTrainer(far, data())).toThrow(/checkpoint position \{ step 2, epoch 0, batchInEpoch 999 \} does not fit this data \(7 batches per epoch\)/);
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ kind: 'seqgrad.transformer-seq2seq-checkpoint', version: 2 }));
    expect(() => readAnySeq2SeqCheckpoint(bad)).toThrow(InputError);
    expect(() => readAnySeq2SeqCheckpoint(bad)).toThrow(/^checkpoint .*bad\.json: expected a "seqgrad\.transformer-seq2seq-checkpoint" of version 1/);
    fs.writeFileSync(bad, JSON.stringify({ kind: 'something else' }));
    expect(() => readAnySeq2SeqCheckpoint(bad)).toThrow(/expected kind "seqgrad\.seq2seq-checkpoint" version 1, got "something else"/);
  });
});
