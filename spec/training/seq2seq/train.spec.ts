import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../../engine/index.js';
import { NumericalError } from '../../../training/core/errors.js';
import { createSeq2Seq, seq2seqParameters, type Seq2SeqExample } from '../../../training/seq2seq/model.js';
import {
  Seq2SeqTrainer, checkpointPairsFile, lengthBucketedBatches, prepareSeq2SeqData, readSeq2SeqCheckpoint, resumeSeq2SeqRun,
  resumeSeq2SeqTrainer, scoresByLength,
  type Seq2SeqEvalItem,
} from '../../../training/seq2seq/train.js';
import { generateDatePairs } from '../../../training/seq2seq/dates.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seq2seq-train-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('seq2seq data', () => {
  it('splits with the seed, builds the vocabularies on the training split only, and encodes both sides', () => {
    const pairs = [
      { source: 'ab', target: 'x' }, { source: 'ba', target: 'xy' }, { source: 'abc', target: 'y' },
      { source: 'cab', target: 'yy' }, { source: 'q', target: 'z' },
    ];
    const data = prepareSeq2SeqData(pairs, { level: 'char', valFraction: 0.4, seed: 3 });
    expect(data.train).toHaveLength(3);
    expect(data.validation).toHaveLength(2);
    // Every pair lands in exactly one split.
    const seen = [...data.trainPairs, ...data.validationPairs].map((p) => p.source).sort();
    expect(seen).toEqual(pairs.map((p) => p.source).sort());
    // Source vocabulary: <PAD>, <UNK> then the training split's characters only.
    const trainChars = new Set(data.trainPairs.flatMap((p) => [...p.source]));
    expect(data.sourceVocab.tokens.slice(0, 2)).toEqual(['<PAD>', '<UNK>']);
    expect(new Set(data.sourceVocab.tokens.slice(2))).toEqual(trainChars);
    expect(data.targetVocab.tokens.slice(0, 4)).toEqual(['<PAD>', '<SOS>', '<EOS>', '<UNK>']);
    data.train.forEach((ex, i) => expect(data.sourceVocab.decode(ex.source as number[]).join('')).toBe(data.trainPairs[i].source));
    const again = prepareSeq2SeqData(pairs, { level: 'char', valFraction: 0.4, seed: 3 });
    expect(again.validationPairs).toEqual(data.validationPairs);
    expect(data.maxSourceLength).toBe(3);
    expect(data.maxTargetLength).toBe(2);
    expect(() => prepareSeq2SeqData([{ source: '', target: 'x' }], { level: 'char' })).toThrow(/pair 1 has 0 and 1/);
  });

  it('length-bucketed batches cover every example once, B at a time, sorted by source length within a window', () => {
    const rng = new Rng(1);
    const examples: Seq2SeqExample[] = Array.from({ length: 103 }, () => ({ source: new Array(1 + rng.int(30)).fill(2), target: [4] }));
    const batches = lengthBucketedBatches(examples, 8, 4, new Rng(5));
    expect(batches.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 103 }, (_, i) => i));
    // 103 = 3 windows of 32 (4 batches of 8 each) + a last window of 7: 12 batches of 8 and one of 7.
    expect(batches).toHaveLength(13);
    expect(batches.filter((b) => b.length !== 8).map((b) => b.length)).toEqual([7]);
    for (const b of batches) {
      const lengths = b.map((i) => (examples[i].source as number[]).length);
      expect(lengths).toEqual([...lengths].sort((x, y) => x - y));
    }
    // The spread of lengths inside a batch is far below the spread of a random batch (1–30).
    const spread = batches.map((b) => {
      const l = b.map((i) => (examples[i].source as number[]).length);
      return Math.max(...l) - Math.min(...l);
    });
    expect(spread.reduce((a, s) => a + s, 0) / spread.length).toBeLessThan(10);
  });
});

function dateSetup(seed = 1): { trainer: Seq2SeqTrainer; data: ReturnType<typeof prepareSeq2SeqData> } {
  const pairs = generateDatePairs(200, new Rng(seed));
  const data = prepareSeq2SeqData(pairs, { level: 'char', valFraction: 0.1, seed: 2 });
  const model = createSeq2Seq({ cell: 'gru', embeddingDim: 6, encoderHidden: 8, bidirectional: true, attention: 'bahdanau', attentionSize: 6, seed: 3, sourceVocab: data.sourceVocab, targetVocab: data.targetVocab });
  return { trainer: new Seq2SeqTrainer(model, data, { batch: 16, optimizer: { kind: 'adam', lr: 0.01 }, clipNorm: 1 }), data };
}

describe('seq2seq trainer', () => {
  it('K steps, checkpoint, resume, N − K steps give the weights of N uninterrupted steps, bit for bit', () => {
    const straight = dateSetup().trainer;
    straight.run({ maxSteps: 16, maxEvalExamples: 0, evalEvery: 100 }); // 16 steps cross the epoch boundary (12 batches)
    const { trainer: first, data } = dateSetup();
    const ck = path.join(tmp, 'ck.json');
    first.run({ maxSteps: 7, maxEvalExamples: 0, evalEvery: 100, checkpointPath: ck });
    const resumed = resumeSeq2SeqTrainer(readSeq2SeqCheckpoint(ck), data);
    expect(resumed.step).toBe(7);
    const result = resumed.run({ maxSteps: 16, maxEvalExamples: 0, evalEvery: 100 });
    expect(result.steps).toBe(16);
    const a = seq2seqParameters(straight.model).params, b = seq2seqParameters(resumed.model).params;
    for (const name of Object.keys(a)) expect(Array.from(b[name].data), name).toEqual(Array.from(a[name].data));
    expect(result.lossHistory).toEqual(straight.lossHistory);
  });

  it('rebuilds a run from its checkpoint and the pairs: the same split and vocabularies, the same bits', () => {
    const pairs = generateDatePairs(200, new Rng(1));
    const straight = dateSetup().trainer;
    straight.run({ maxSteps: 10, maxEvalExamples: 0, evalEvery: 100 });
    const { trainer: first } = dateSetup();
    first.dataInfo = { file: 'dates.tsv', valFraction: 0.1, seed: 2 };
    const ck = path.join(tmp, 'run.json');
    first.run({ maxSteps: 4, maxEvalExamples: 0, evalEvery: 100, checkpointPath: ck });
    const checkpoint = readSeq2SeqCheckpoint(ck);
    expect(checkpointPairsFile(checkpoint)).toBe('dates.tsv');
    const resumed = resumeSeq2SeqRun(checkpoint, pairs);
    expect(resumed.data.validationPairs).toEqual(straight.data.validationPairs);
    resumed.run({ maxSteps: 10, maxEvalExamples: 0, evalEvery: 100 });
    const a = seq2seqParameters(straight.model).params, b = seq2seqParameters(resumed.model).params;
    for (const name of Object.keys(a)) expect(Array.from(b[name].data), name).toEqual(Array.from(a[name].data));
    expect(() => resumeSeq2SeqRun(checkpoint, pairs.slice(0, 150), 'checkpoint run.json')).toThrow(
      'checkpoint run.json: expected the data it was trained on (180 training / 20 validation pairs), got 135 / 15',
    );
  });

  it('the loss falls, the time limit stops it, and the evaluation reports validation loss, exact match and BLEU', () => {
    const { trainer } = dateSetup();
    let clock = 0;
    const result = trainer.run({ epochs: 50, timeLimitSeconds: 30, maxEvalExamples: 5, now: () => (clock += 1000) });
    // Each step takes 2 fake seconds (two clock reads): it stops before the step that would pass 30 s.
    expect(result.stopReason).toBe('time-limit');
    expect(result.steps).toBeLessThan(20);
    expect(result.lossHistory[result.lossHistory.length - 1]).toBeLessThan(result.lossHistory[0]);
    const e = result.lastEvaluation;
    expect(e).not.toBeNull();
    expect(e?.decoded).toBe(5);
    expect(e?.loss).toBeGreaterThan(0);
    expect(e?.exactMatch).toBeGreaterThanOrEqual(0);
    expect(e?.bleu).toBeGreaterThanOrEqual(0);
  });

  it('stops before the update on a non-finite loss, naming the step', () => {
    const { trainer } = dateSetup();
    trainer.run({ maxSteps: 2, maxEvalExamples: 0, evalEvery: 100 });
    seq2seqParameters(trainer.model).params['decoder.head.b'].data[0] = NaN;
    let err: unknown = null;
    try { trainer.trainStep(); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(NumericalError);
    expect((err as NumericalError).step).toBe(3);
    expect(trainer.step).toBe(2);
  });
});

describe('scores by source length', () => {
  it('groups items in buckets of the given width and scores each (hand-computed)', () => {
    const item = (sourceLength: number, out: string, ref: string): Seq2SeqEvalItem => {
      const o = [...out], r = [...ref];
      return {
        source: 's', reference: ref, output: out, correct: out === ref, sourceLength,
        tokenMatches: r.filter((c, k) => o[k] === c).length, referenceLength: r.length, outputTokens: o, referenceTokens: r,
      };
    };
    const buckets = scoresByLength([
      item(3, 'abcde', 'abcde'), item(5, 'abcdx', 'abcde'), // bucket 1–5
      item(12, 'abc', 'xyz'), // bucket 11–15
    ], 5);
    expect(buckets.map((b) => [b.from, b.to, b.examples])).toEqual([[1, 5, 2], [11, 15, 1]]);
    expect(buckets[0].exactMatch).toBe(0.5);
    expect(buckets[0].tokenAccuracy).toBeCloseTo(9 / 10, 12);
    // BLEU of the first bucket: p1 = 9/10, p2 = 7/8, p3 = 5/6, p4 = 3/4 (the 'x' breaks one n-gram of each order), BP = 1.
    expect(buckets[0].bleu).toBeCloseTo(Math.exp((Math.log(0.9) + Math.log(7 / 8) + Math.log(5 / 6) + Math.log(3 / 4)) / 4), 12);
    expect(buckets[1].bleu).toBe(0);
    expect(buckets[1].tokenAccuracy).toBe(0);
  });
});
