/**
 * Data-parallel Transformer encoder-decoder training (training/seq2seq/transformer-parallel.ts): N = 1
 * is the single-thread path, the same N and seed give the same bits, N = 2 and 3 follow N = 1 within
 * float32 rounding WITH dropout (the whole batch's masks are drawn on the calling thread and each
 * share takes its rows, so N does not change them), resume with threads stays bit-identical, and a
 * worker's failure reaches the caller as one line and leaves no thread running.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { backendName, setBackend } from '../../../engine/backend.js';
import { Rng } from '../../../engine/rng.js';
import { runningWorkerThreads } from '../../../training/parallel/pool.js';
import { generateDatePairs } from '../../../training/seq2seq/dates.js';
import { reversalPairs } from '../../../training/seq2seq/tasks.js';
import { prepareSeq2SeqData, type PreparedSeq2SeqData } from '../../../training/seq2seq/train.js';
import { initWasmBackend } from '../../../engine/wasm/index.js';
import { createTransformerSeq2Seq, transformerSeq2SeqParameters, type TransformerSeq2SeqOptions } from '../../../training/seq2seq/transformer-model.js';
import {
  TransformerSeq2SeqTrainer, readAnySeq2SeqCheckpoint, resumeTransformerSeq2SeqTrainer, type TransformerSeq2SeqCheckpointJSON,
} from '../../../training/seq2seq/transformer-train.js';

beforeAll(async () => {
  setBackend((await initWasmBackend()).name);
});

// 90 training pairs in batches of 16: 6 batches an epoch, the last one of 10 examples.
const dateData = (): PreparedSeq2SeqData => prepareSeq2SeqData(generateDatePairs(100, new Rng(1)), { level: 'char', valFraction: 0.1, seed: 2 });
const MODEL: TransformerSeq2SeqOptions = { dModel: 8, numHeads: 2, encoderLayers: 1, decoderLayers: 1, dimFeedforward: 16, dropout: 0.1, maxLength: 40, seed: 3 };

function dateTrainer(data = dateData()): TransformerSeq2SeqTrainer {
  const model = createTransformerSeq2Seq(MODEL, data.sourceVocab, data.targetVocab);
  return new TransformerSeq2SeqTrainer(model, data, { batch: 16, optimizer: { kind: 'adam', lr: 0.01 }, clipNorm: 1 });
}

/** Every bit of the weights and the optimizer state. */
function bits(trainer: TransformerSeq2SeqTrainer): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const add = (name: string, data: Float32Array | Float64Array): void => {
    out[name] = Array.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  };
  for (const [name, p] of Object.entries(transformerSeq2SeqParameters(trainer.model).params)) add(name, p.data);
  for (const [name, slots] of Object.entries(trainer.optimizer.slots)) {
    for (const [slot, m] of Object.entries(slots)) add(`${name}.${slot}`, m.data);
  }
  return out;
}

const RUN = { maxEvalExamples: 0, evalEvery: 1000 };

/** 8 steps: past the epoch's last (10-example) batch into the next epoch. */
function trained(threads: number | undefined, steps = 8): TransformerSeq2SeqTrainer {
  const t = dateTrainer();
  const result = t.run({ ...RUN, maxSteps: steps, ...(threads === undefined ? {} : { threads }) });
  expect(result.threads).toBe(threads ?? 1);
  return t;
}

/**
 * The worst |a − b| over the weights of two trainers, but the key biases b_k: their gradient is 0 in
 * exact arithmetic (q·b_k adds the same to every score of a softmax row), so in float32 it is rounding
 * noise, which Adam's g/√v turns into steps of ±lr whatever its size — any change of summation order moves them.
 */
function worstWeightGap(a: Record<string, { data: ArrayLike<number> }>, b: Record<string, { data: ArrayLike<number> }>): number {
  let worst = 0;
  for (const name of Object.keys(b)) {
    if (name.endsWith('.b_k')) continue;
    for (let i = 0; i < b[name].data.length; i++) worst = Math.max(worst, Math.abs(a[name].data[i] - b[name].data[i]));
  }
  return worst;
}

describe('data-parallel Transformer seq2seq training', () => {
  it('runs on the wasm backend (the one that shares its memory with the workers)', () => {
    expect(backendName()).toBe('wasm');
  });

  it('threads 1 is the single-thread path: the same bits as no threads option', () => {
    expect(bits(trained(1, 3))).toEqual(bits(trained(undefined, 3)));
  });

  it('threads 2 with dropout: the same bits in two runs; the losses, weights and dropout generator of one thread within float32 rounding; no thread left', () => {
    const a = trained(2), b = trained(2), one = trained(1);
    expect(bits(a)).toEqual(bits(b));
    expect(runningWorkerThreads()).toBe(0);
    expect(a.lossHistory).toHaveLength(8);
    // The masks are one thread's (drawn whole, then shared out): the generator ends where one thread's does.
    expect(a.dropoutRng.getState()).toEqual(one.dropoutRng.getState());
    a.lossHistory.forEach((loss, i) => expect(Math.abs(loss - one.lossHistory[i])).toBeLessThan(1e-5 * loss));
    expect(worstWeightGap(transformerSeq2SeqParameters(a.model).params, transformerSeq2SeqParameters(one.model).params)).toBeLessThan(1e-4);
    expect(a.lossHistory).not.toEqual(one.lossHistory); // really another summation order (else the test proves nothing)
    // Other masks would move the losses far more than rounding does: the comparison above can fail.
    const other = dateTrainer();
    other.dropoutRng.setState(new Rng(77).getState());
    other.run({ ...RUN, maxSteps: 8, threads: 1 });
    expect(Math.max(...other.lossHistory.map((loss, i) => Math.abs(loss - one.lossHistory[i]) / loss))).toBeGreaterThan(1e-3);
  });

  it('3 threads with a last batch of 2 examples (an empty share), word level', () => {
    const data = prepareSeq2SeqData(reversalPairs(40, new Rng(4), { minLength: 2, maxLength: 6, vocabSize: 6 }), { level: 'word', valFraction: 0.05, seed: 1 });
    expect(data.train.length % 4).toBe(2);
    const run = (threads: number): number[] => {
      const model = createTransformerSeq2Seq({ ...MODEL, maxLength: 16 }, data.sourceVocab, data.targetVocab);
      const t = new TransformerSeq2SeqTrainer(model, data, { batch: 4, optimizer: { kind: 'adam', lr: 0.01 }, clipNorm: 1 });
      return t.run({ ...RUN, maxSteps: 12, threads }).lossHistory;
    };
    const three = run(3), one = run(1);
    expect(three).toHaveLength(12);
    three.forEach((loss, i) => expect(Math.abs(loss - one[i])).toBeLessThan(1e-5 * loss));
    expect(runningWorkerThreads()).toBe(0);
  });

  it('resumes bit-identically with threads 2: K steps + checkpoint + resume + the rest = all steps straight', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-ts2s-parallel-'));
    try {
      const straight = trained(2, 8);
      const file = path.join(dir, 'ckpt.json');
      dateTrainer().run({ ...RUN, maxSteps: 4, checkpointPath: file, threads: 2 });
      const checkpoint = readAnySeq2SeqCheckpoint(file).checkpoint as TransformerSeq2SeqCheckpointJSON;
      const resumed = resumeTransformerSeq2SeqTrainer(checkpoint, dateData());
      resumed.run({ ...RUN, maxSteps: 8, threads: 2 });
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
      t.run({ ...RUN, maxSteps: 3, threads: 2 });
    } catch (err) {
      message = (err as Error).message;
    }
    // Position 7: the last row of worker 1's share of 8 (one thread would say 15).
    expect(message).toBe(`embeddingForward: expected token ids in [0, ${t.data.sourceVocab.size}), got ${bad} at position 7`);
    expect(runningWorkerThreads()).toBe(0);
    expect(t.step).toBe(0); // nothing was updated
  });
});
