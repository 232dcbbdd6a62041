/**
 * Data-parallel LSTM sentiment training (training/sentiment/parallel.ts): the same N and seed give
 * the same bits, N = 1 is the single-thread path, N = 2 and 3 follow N = 1 within float32 rounding
 * (a last batch smaller than N included), the training accuracy counts every share, no thread is
 * left, and the averaged model, dropout, plain SGD and the js backend are refused with one line.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../../engine/backend.js';
import { Rng } from '../../../engine/rng.js';
import { initWasmBackend } from '../../../engine/wasm/index.js';
import { modelParameters } from '../../../layers/architectures.js';
import { averageModelFactory } from '../../../training/classify/sentence-classifier.js';
import { runningWorkerThreads } from '../../../training/parallel/pool.js';
import { lstmModelFactory, type LstmSentimentModel } from '../../../training/sentiment/lstm.js';
import {
  buildSentimentVocabulary, trainSentiment, type EpochInfo, type SentimentExample, type TrainSentimentOptions,
} from '../../../training/sentiment/sentiment.js';

beforeAll(async () => {
  setBackend((await initWasmBackend()).name);
});

/** 42 sentences (batches of 8: the last one of 2), the label set by which of two words comes first. */
function corpus(): SentimentExample[] {
  const rng = new Rng(6);
  const filler = ['the', 'food', 'was', 'and', 'service', 'place'];
  return Array.from({ length: 42 }, (_, i) => {
    const words = Array.from({ length: 2 + rng.int(6) }, () => filler[rng.int(filler.length)]);
    const positive = i % 2 === 0;
    words.splice(rng.int(words.length), 0, positive ? 'good' : 'not', positive ? 'not' : 'good');
    return { text: words.join(' '), label: positive ? 1 : 0, source: `s:${i}` };
  });
}

interface Run {
  model: LstmSentimentModel;
  history: EpochInfo[];
}

function trained(threads: number | undefined, extra: Partial<TrainSentimentOptions> = {}, bidirectional = false): Run {
  const train = corpus();
  const rng = new Rng(2);
  const model = lstmModelFactory.create(buildSentimentVocabulary(train), ['neg', 'pos'], rng, { dim: 5, hidden: 6, bidirectional }) as LstmSentimentModel;
  const history = trainSentiment(model, train, {
    epochs: 3, batchSize: 8, optimizer: { kind: 'adam', lr: 0.02 }, rng, ...(threads === undefined ? {} : { threads }), ...extra,
  });
  return { model, history };
}

function bits(run: Run): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [name, p] of Object.entries(modelParameters(run.model.net).params)) {
    out[name] = Array.from(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength));
  }
  return out;
}

describe('data-parallel sentiment training (LSTM)', () => {
  it('threads 1 is the single-thread path: the same bits as no threads option', () => {
    expect(bits(trained(1))).toEqual(bits(trained(undefined)));
  });

  it('threads 2: the same bits in two runs, one thread within float32 rounding, every share counted, no thread left', () => {
    const a = trained(2), b = trained(2), one = trained(1);
    expect(bits(a)).toEqual(bits(b));
    expect(runningWorkerThreads()).toBe(0);
    expect(a.history).toHaveLength(3);
    a.history.forEach((e, i) => {
      expect(Math.abs(e.loss - one.history[i].loss)).toBeLessThan(1e-5 * e.loss);
      expect(e.trainAccuracy).toBe(one.history[i].trainAccuracy); // the same predictions, counted over all 42
    });
    const pa = modelParameters(a.model.net).params, p1 = modelParameters(one.model.net).params;
    for (const name of Object.keys(p1)) {
      let worst = 0;
      for (let i = 0; i < p1[name].data.length; i++) worst = Math.max(worst, Math.abs(pa[name].data[i] - p1[name].data[i]));
      expect(worst, name).toBeLessThan(1e-4);
    }
    expect(bits(a)).not.toEqual(bits(one)); // really another summation order (else the test proves nothing)
  });

  it('bidirectional on 3 threads, with a last batch of 2 sentences (an empty share)', () => {
    const three = trained(3, {}, true), one = trained(1, {}, true);
    three.history.forEach((e, i) => expect(Math.abs(e.loss - one.history[i].loss)).toBeLessThan(1e-5 * e.loss));
    expect(runningWorkerThreads()).toBe(0);
  });

  it('refuses threads > 1 for the averaged model, dropout, plain SGD and the js backend, each in one line', () => {
    const train = corpus();
    const rng = new Rng(1);
    const vocab = buildSentimentVocabulary(train);
    const avg = averageModelFactory.create(vocab, ['neg', 'pos'], rng, { dim: 4 });
    const opts: TrainSentimentOptions = { epochs: 1, batchSize: 8, optimizer: { kind: 'adam', lr: 0.02 }, rng, threads: 2 };
    expect(() => trainSentiment(avg, train, opts)).toThrow(/^trainSentiment: threads > 1 do not support the 'avg' model \(only 'lstm'\) yet: expected threads 1, got 2$/);
    const dropout = lstmModelFactory.create(vocab, ['neg', 'pos'], rng, { dim: 4, hidden: 4, layers: 2, dropout: 0.3 });
    expect(() => trainSentiment(dropout, train, opts)).toThrow(/^trainSentiment: threads > 1 do not support dropout yet/);
    const lstm = lstmModelFactory.create(vocab, ['neg', 'pos'], rng, { dim: 4, hidden: 4 });
    expect(() => trainSentiment(lstm, train, { ...opts, optimizer: { kind: 'sgd', lr: 0.5 } })).toThrow(/^trainSentiment: threads > 1 do not support plain SGD's sparse embedding update/);
    const previous = setBackend('js');
    try {
      const onJs = lstmModelFactory.create(vocab, ['neg', 'pos'], rng, { dim: 4, hidden: 4 });
      expect(() => trainSentiment(onJs, train, opts)).toThrow(/^sentiment train: --threads > 1 needs the wasm backend .*, got backend 'js'; use --threads 1$/);
    } finally {
      setBackend(previous);
    }
    expect(runningWorkerThreads()).toBe(0);
  });
});
