/** seq2seq checkpoints: impossible positions are refused on resume; the loss history they carry is bounded. */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../engine/index.js';
import { InputError } from '../../../training/core/errors.js';
import { createSeq2Seq } from '../../../training/seq2seq/model.js';
import { SEQ2SEQ_CHECKPOINT_LOSSES, Seq2SeqTrainer, prepareSeq2SeqData, resumeSeq2SeqTrainer } from '../../../training/seq2seq/train.js';
import { generateDatePairs } from '../../../training/seq2seq/dates.js';

function setup(): { trainer: Seq2SeqTrainer; data: ReturnType<typeof prepareSeq2SeqData> } {
  const data = prepareSeq2SeqData(generateDatePairs(60, new Rng(1)), { level: 'char', valFraction: 0.1, seed: 2 });
  const model = createSeq2Seq({ cell: 'gru', embeddingDim: 4, encoderHidden: 4, attention: 'none', seed: 3, sourceVocab: data.sourceVocab, targetVocab: data.targetVocab });
  return { trainer: new Seq2SeqTrainer(model, data, { batch: 8, optimizer: { kind: 'adam', lr: 0.01 }, clipNorm: 1 }), data };
}

describe('seq2seq checkpoints', () => {
  it('refuse a position outside the data on resume', () => {
    const { trainer, data } = setup();
    trainer.run({ maxSteps: 2, maxEvalExamples: 0, evalEvery: 100 });
    const json = JSON.parse(JSON.stringify(trainer.toCheckpointJSON()));
    expect(resumeSeq2SeqTrainer(JSON.parse(JSON.stringify(json)), data).step).toBe(2);
    json.trainer.batchInEpoch = 999999;
    expect(() => resumeSeq2SeqTrainer(json, data)).toThrow(InputError);
    expect(() => resumeSeq2SeqTrainer(json, data)).toThrow(
      new RegExp(`checkpoint position \\{ step 2, epoch 0, batchInEpoch 999999 \\} does not fit this data \\(${trainer.stepsPerEpoch} batches per epoch\\)`),
    );
  });

  it('keep the last SEQ2SEQ_CHECKPOINT_LOSSES losses and the step they start at; a resume restores them', () => {
    const { trainer, data } = setup();
    trainer.run({ maxSteps: 1, maxEvalExamples: 0, evalEvery: 100 });
    for (let i = 0; i < 200_000; i++) trainer.lossHistory.push(i);
    const json = trainer.toCheckpointJSON();
    expect(json.trainer.lossHistory).toHaveLength(SEQ2SEQ_CHECKPOINT_LOSSES);
    expect(json.trainer.lossHistory.at(-1)).toBe(199_999);
    expect(json.trainer.lossHistoryFirstStep).toBe(1 + 200_001 - SEQ2SEQ_CHECKPOINT_LOSSES);
    const resumed = resumeSeq2SeqTrainer(JSON.parse(JSON.stringify(json)), data);
    expect(resumed.lossHistoryFirstStep).toBe(json.trainer.lossHistoryFirstStep);
    expect(resumed.lossHistory).toHaveLength(SEQ2SEQ_CHECKPOINT_LOSSES);
  });
});
