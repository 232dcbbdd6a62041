/**
 * Data-parallel RNN encoder-decoder training (training/seq2seq/parallel.ts): the same N and seed
 * give the same bits, N = 1 is the single-thread path, N = 2 and 3 follow N = 1 within float32
 * rounding (epoch boundaries, a last batch smaller than N included), resume stays bit-identical, a worker's failure reaches the
 * caller as one line and leaves no thread running, and dropout and the js backend are refused with
 * one line (the Transformer's threads: transformer-parallel.spec.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { backendName, setBackend } from '../../../engine/backend.js';
import { Rng } from '../../../engine/rng.js';
import { initWasmBackend } from '../../../engine/wasm/index.js';
import { InputError } from '../../../training/core/errors.js';
import { runningWorkerThreads } from '../../../training/parallel/pool.js';
import { generateDatePairs } from '../../../training/seq2seq/dates.js';
import { createSeq2Seq, seq2seqParameters, type Seq2SeqOptions } from '../../../training/seq2seq/model.js';
import { reversalPairs } from '../../../training/seq2seq/tasks.js';
import {
  prepareSeq2SeqData, readSeq2SeqCheckpoint, resumeSeq2SeqTrainer, Seq2SeqTrainer, type PreparedSeq2SeqData,
} from '../../../training/seq2seq/train.js';

beforeAll(async () => {
  setBackend((await initWasmBackend()).name);
});

// 180 training pairs in batches of 16: 12 batches an epoch, the last one of 4 examples.
const dateData = (): PreparedSeq2SeqData => prepareSeq2SeqData(generateDatePairs(200, new Rng(1)), { level: 'char', valFraction: 0.1, seed: 2 });
const DATE_MODEL: Seq2SeqOptions = { cell: 'gru', embeddingDim: 6, encoderHidden: 8, bidirectional: true, attention: 'bahdanau', attentionSize: 6, seed: 3 };

function dateTrainer(extra: Seq2SeqOptions = {}): Seq2SeqTrainer {
  const data = dateData();
  const model = createSeq2Seq({ ...DATE_MODEL, ...extra, sourceVocab: data.sourceVocab, targetVocab: data.targetVocab });
  return new Seq2SeqTrainer(model, data, { batch: 16, optimizer: { kind: 'adam', lr: 0.01 }, clipNorm: 1 });
}

/** Every bit of the weights and the optimizer state. */
function bits(trainer: Seq2SeqTrainer): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const add = (name: string, data: Float32Array | Float64Array): void => {
    out[name] = Array.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  };
  for (const [name, p] of Object.entries(seq2seqParameters(trainer.model).params)) add(name, p.data);
  for (const [name, slots] of Object.entries(trainer.optimizer.slots)) {
    for (const [slot, m] of Object.entries(slots)) add(`${name}.${slot}`, m.data);
  }
  return out;
}

/** 14 steps: past the epoch's last (4-example) batch into the next epoch. */
function trained(threads: number | undefined, steps = 14): Seq2SeqTrainer {
  const t = dateTrainer();
  const result = t.run({ maxSteps: steps, maxEvalExamples: 0, evalEvery: 1000, ...(threads === undefined ? {} : { threads }) });
  expect(result.threads).toBe(threads ?? 1);
  return t;
}

/** |a − b| of two trainers' weights, the worst entry. */
function worstWeightGap(a: Seq2SeqTrainer, b: Seq2SeqTrainer): Record<string, number> {
  const pa = seq2seqParameters(a.model).params, pb = seq2seqParameters(b.model).params;
  const gaps: Record<string, number> = {};
  for (const name of Object.keys(pb)) {
    let worst = 0;
    for (let i = 0; i < pb[name].data.length; i++) worst = Math.max(worst, Math.abs(pa[name].data[i] - pb[name].data[i]));
    gaps[name] = worst;
  }
  return gaps;
}

describe('data-parallel seq2seq training', () => {
  it('runs on the wasm backend (the one that shares its memory with the workers)', () => {
    expect(backendName()).toBe('wasm');
  });

  it('threads 1 is the single-thread path: the same bits as no threads option', () => {
    expect(bits(trained(1, 4))).toEqual(bits(trained(undefined, 4)));
  });

  it('threads 2: the same bits in two runs, the losses and weights of one thread within float32 rounding, no thread left', () => {
    const a = trained(2), b = trained(2), one = trained(1);
    expect(bits(a)).toEqual(bits(b));
    expect(a.lossHistory).toEqual(b.lossHistory);
    expect(runningWorkerThreads()).toBe(0);
    expect(a.lossHistory).toHaveLength(14);
    // The per-token gradients are those of one thread; only the order of the sums differs.
    a.lossHistory.forEach((loss, i) => expect(Math.abs(loss - one.lossHistory[i])).toBeLessThan(1e-5 * Math.abs(loss)));
    for (const [name, gap] of Object.entries(worstWeightGap(a, one))) expect(gap, name).toBeLessThan(1e-4);
    expect(a.lossHistory).not.toEqual(one.lossHistory); // really another summation order (else the test proves nothing)
  });

  it('LSTM with general attention on 3 threads, with a last batch of 2 examples (an empty share)', () => {
    const data = prepareSeq2SeqData(reversalPairs(40, new Rng(4), { minLength: 2, maxLength: 6, vocabSize: 6 }), { level: 'word', valFraction: 0.05, seed: 1 });
    expect(data.train.length % 4).toBe(2);
    const run = (threads: number): number[] => {
      const model = createSeq2Seq({ cell: 'lstm', embeddingDim: 5, encoderHidden: 6, attention: 'general', seed: 8, sourceVocab: data.sourceVocab, targetVocab: data.targetVocab });
      const t = new Seq2SeqTrainer(model, data, { batch: 4, optimizer: { kind: 'adam', lr: 0.01 }, clipNorm: 1 });
      return t.run({ maxSteps: 12, maxEvalExamples: 0, evalEvery: 1000, threads }).lossHistory;
    };
    const three = run(3), one = run(1);
    expect(three).toHaveLength(12);
    three.forEach((loss, i) => expect(Math.abs(loss - one[i])).toBeLessThan(1e-5 * loss));
    expect(runningWorkerThreads()).toBe(0);
  });

  it('resumes bit-identically with threads 2: K steps + checkpoint + resume + the rest = all steps straight', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-seq2seq-parallel-'));
    try {
      const straight = trained(2, 14);
      const file = path.join(dir, 'ckpt.json');
      dateTrainer().run({ maxSteps: 9, maxEvalExamples: 0, evalEvery: 1000, checkpointPath: file, threads: 2 });
      const resumed = resumeSeq2SeqTrainer(readSeq2SeqCheckpoint(file), dateData());
      resumed.run({ maxSteps: 14, maxEvalExamples: 0, evalEvery: 1000, threads: 2 });
      expect(bits(resumed)).toEqual(bits(straight));
      expect(resumed.lossHistory).toEqual(straight.lossHistory);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a worker's failure stops the run with its one-line message, and no worker thread is left", () => {
    const t = dateTrainer();
    // A bad id in the first batch's last example, which only worker 1 reads.
    const firstBatch = t.order.current();
    const bad = t.data.sourceVocab.size + 7;
    (t.data.train[firstBatch[firstBatch.length - 1]].source as number[])[0] = bad;
    let message = '';
    try {
      t.run({ maxSteps: 3, maxEvalExamples: 0, threads: 2 });
    } catch (err) {
      message = (err as Error).message;
    }
    // Position 7: the last row of worker 1's share of 8 (one thread would say 15).
    expect(message).toBe(`encoderForward: expected token ids in [0, ${t.data.sourceVocab.size}), got ${bad} at position 7`);
    expect(runningWorkerThreads()).toBe(0);
    expect(t.step).toBe(0); // nothing was updated
  });

  it('refuses threads > 1 with dropout and on the js backend, each in one line', () => {
    const dropout = dateTrainer({ dropout: 0.2, encoderLayers: 2 });
    expect(dropout.parallelUnsupported()).toBe('dropout');
    expect(() => dropout.run({ maxSteps: 1, threads: 2 })).toThrow(/^Seq2SeqTrainer\.run: threads > 1 do not support dropout yet: expected threads 1, got 2$/);
    const previous = setBackend('js');
    try {
      const t = dateTrainer();
      expect(() => t.run({ maxSteps: 1, threads: 2 })).toThrow(InputError);
      expect(() => t.run({ maxSteps: 1, threads: 2 })).toThrow(/^seq2seq train: --threads > 1 needs the wasm backend .*, got backend 'js'; use --threads 1$/);
      expect(t.run({ maxSteps: 1, maxEvalExamples: 0, threads: 1 }).steps).toBe(1);
    } finally {
      setBackend(previous);
    }
    expect(runningWorkerThreads()).toBe(0);
  });
});
