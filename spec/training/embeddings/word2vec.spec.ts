import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { word2vecCommand } from '../../../cli/commands/word2vec.js';
import { readVectors } from '../../../training/io/vectors.js';
import {
  fullSoftmaxCost, keepProbability, trainWord2Vec, WORD2VEC_HOGWILD_JOB,
  type Word2VecLoss, type Word2VecMethod, type Word2VecProgress,
} from '../../../training/embeddings/word2vec.js';
import { GradientPool, runningWorkerThreads } from '../../../training/parallel/pool.js';
import { createHogwildControl, hogwildStopRequested } from '../../../training/embeddings/hogwild.js';
import { webAssembly } from '../../../engine/wasm/webassembly.js';
import { groupSeparation, syntheticSentences } from './synthetic.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-w2v-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** One document of n words: 'the' every other word, between 20 words w1, w3, … w39 equally often. */
function skewedDocument(n: number): string[] {
  const doc: string[] = [];
  for (let i = 0; i < n; i++) doc.push(i % 2 === 0 ? 'the' : `w${(i * 7919) % 40}`);
  return doc;
}

describe('subsampling (word2vec.c keep rule)', () => {
  it('keeps with (√(f/(sT)) + 1)·(sT)/f, capped at 1', () => {
    // f = 10⁴ of T = 10⁶ with s = 10⁻³: sT = 1000, √10 + 1 = 4.16228 → × 0.1
    expect(keepProbability(1e4, 1e6, 1e-3)).toBeCloseTo((Math.sqrt(10) + 1) * 0.1, 14);
    expect(keepProbability(100, 1e6, 1e-3)).toBe(1); // rare word: (√0.1 + 1)·10 > 1
    expect(keepProbability(5e5, 1e6, 0)).toBe(1); // s = 0 turns it off
  });

  it('the trainer keeps each word at that rate (within 5 standard errors)', () => {
    const doc = skewedDocument(20000);
    const seen = new Map<string, number>();
    for (const w of doc) seen.set(w, (seen.get(w) ?? 0) + 1);
    const kept = new Map<number, number>();
    const result = trainWord2Vec([doc], {
      dim: 4, window: 2, minCount: 1, sample: 1e-3, seed: 3,
      onSentence: (ids) => ids.forEach((id) => kept.set(id, (kept.get(id) ?? 0) + 1)),
    });
    const T = result.trainWords;
    expect(T).toBe(20000);
    for (const word of ['the', 'w7', 'w13']) {
      const id = result.words.indexOf(word);
      const count = seen.get(word)!;
      const p = keepProbability(count, T, 1e-3);
      expect(p).toBeLessThan(1);
      const se = Math.sqrt((p * (1 - p)) / count);
      expect(Math.abs((kept.get(id) ?? 0) / count - p)).toBeLessThanOrEqual(5 * se);
    }
  });
});

describe('trainWord2Vec mechanics', () => {
  it('shrinks the window at random: skip-gram makes window + 1 examples per position on average', () => {
    // b ~ U{0 … w−1}, reach w − b on both sides → E[2(w − b)] = w + 1 (6 for w = 5, not 10)
    const doc = skewedDocument(30000);
    const r = trainWord2Vec([doc], { dim: 4, window: 5, minCount: 1, sample: 0, seed: 1 });
    expect(r.examples / 30000).toBeGreaterThan(5.9);
    expect(r.examples / 30000).toBeLessThan(6.1);
    // sentences are cut at maxSentenceLength: 30 sentences of 1000 lose ≈ 30·2·(Σ boundary pairs)
    const cbow = trainWord2Vec([doc], { method: 'cbow', dim: 4, window: 5, minCount: 1, sample: 0, seed: 1 });
    expect(cbow.examples).toBe(30000); // one example per position
  });

  it('decays the learning rate linearly to the α0·1e−4 floor', () => {
    const reports: Word2VecProgress[] = [];
    const doc = skewedDocument(20000);
    trainWord2Vec([doc], {
      dim: 4, minCount: 1, epochs: 2, alpha: 0.04, sample: 0, seed: 2, progressEvery: 1000, onProgress: (p) => reports.push(p),
    });
    expect(reports.length).toBeGreaterThan(10);
    for (const p of reports.slice(0, -1)) {
      // α is recomputed at most 1% of the run (400 words) + one sentence (≤ 1000 words) earlier
      const expected = 0.04 * (1 - p.wordsDone / (p.totalWords + 1));
      expect(p.alpha).toBeGreaterThanOrEqual(expected - 1e-12);
      expect(p.alpha).toBeLessThanOrEqual(0.04 * (1 - (p.wordsDone - 1400) / (p.totalWords + 1)) + 1e-12);
    }
    const last = reports[reports.length - 1];
    expect(last.wordsDone).toBe(40000);
    expect(last.alpha).toBeGreaterThanOrEqual(0.04 * 1e-4);
    expect(last.alpha).toBeLessThan(0.04 * 0.03);
  });

  it('initialises e ~ U(−0.5/d, 0.5/d) and the output vectors at 0', () => {
    const d = 50;
    const r = trainWord2Vec([skewedDocument(2000)], { dim: d, minCount: 1, alpha: 1e-30, seed: 4 });
    const e = r.vectors.data;
    let sum = 0, sum2 = 0;
    for (const v of e) {
      expect(Math.abs(v)).toBeLessThan(0.5 / d);
      sum += v;
      sum2 += v * v;
    }
    const n = e.length; // 21 words × 50
    const variance = (1 / d) ** 2 / 12; // U(−a, a) with a = 0.5/d: (2a)²/12
    expect(Math.abs(sum / n)).toBeLessThan(5 * Math.sqrt(variance / n)); // mean 0
    expect(Math.abs(sum2 / n / variance - 1)).toBeLessThan(0.15); // 5 standard errors
    expect(Math.max(...Array.from(r.output.data, Math.abs))).toBeLessThan(1e-25);
  });

  it('is reproducible: the same seed gives identical bits, another seed other vectors', () => {
    const docs = syntheticSentences(1, 200);
    for (const [loss, kernel] of [['neg', 'js'], ['hs', 'js'], ['neg', 'wasm'], ['hs', 'wasm']] as const) {
      const a = trainWord2Vec(docs, { loss, kernel, dim: 8, minCount: 1, seed: 42 });
      const b = trainWord2Vec(docs, { loss, kernel, dim: 8, minCount: 1, seed: 42 });
      const c = trainWord2Vec(docs, { loss, kernel, dim: 8, minCount: 1, seed: 43 });
      expect(Buffer.from(a.vectors.data.buffer).equals(Buffer.from(b.vectors.data.buffer))).toBe(true);
      expect(Buffer.from(a.output.data.buffer).equals(Buffer.from(b.output.data.buffer))).toBe(true);
      expect(Buffer.from(a.vectors.data.buffer).equals(Buffer.from(c.vectors.data.buffer))).toBe(false);
    }
  });

  it('the WebAssembly SIMD kernel does the same updates as the JS kernel (float32 sums)', () => {
    const docs = syntheticSentences(5, 100);
    for (const loss of ['softmax', 'hs', 'neg'] as const) {
      for (const method of ['skipgram', 'cbow'] as const) {
        const js = trainWord2Vec(docs, { method, loss, dim: 10, minCount: 1, seed: 5, kernel: 'js' });
        const wasm = trainWord2Vec(docs, { method, loss, dim: 10, minCount: 1, seed: 5, kernel: 'wasm' });
        expect([js.kernel, wasm.kernel]).toEqual(['js', 'wasm']);
        let diff = 0, scale = 0;
        for (let i = 0; i < js.vectors.data.length; i++) {
          diff = Math.max(diff, Math.abs(js.vectors.data[i] - wasm.vectors.data[i]));
          scale = Math.max(scale, Math.abs(js.vectors.data[i]));
        }
        expect(diff / scale).toBeLessThan(1e-4);
        expect(wasm.finalLoss).toBeCloseTo(js.finalLoss, 4);
      }
    }
  });

  it('builds the vocabulary with min-count, by descending count', () => {
    const r = trainWord2Vec([['a', 'b', 'a', 'c', 'a', 'b', 'd']], { dim: 2, minCount: 2, seed: 1 });
    expect(r.words).toEqual(['a', 'b']);
    expect(r.counts).toEqual([3, 2]);
    expect(r.trainWords).toBe(5);
    const hs = trainWord2Vec([['a', 'b', 'a', 'c', 'a', 'b', 'c']], { loss: 'hs', dim: 2, minCount: 1, seed: 1 });
    expect(hs.output.rows).toBe(2); // V − 1 inner nodes
  });

  it('rejects bad options by name', () => {
    const docs = [['a', 'b', 'a', 'b']];
    expect(() => trainWord2Vec(docs, { method: 'glove' as Word2VecMethod })).toThrow(/trainWord2Vec: expected method 'skipgram' or 'cbow', got 'glove'/);
    expect(() => trainWord2Vec(docs, { loss: 'nce' as Word2VecLoss })).toThrow(/expected loss 'softmax', 'hs' or 'neg'/);
    expect(() => trainWord2Vec(docs, { dim: 0 })).toThrow(/expected dim to be an integer ≥ 1, got 0/);
    expect(() => trainWord2Vec(docs, { kernel: 'gpu' as 'js' })).toThrow(/expected kernel 'auto', 'js' or 'wasm', got 'gpu'/);
    expect(() => trainWord2Vec(docs, { minCount: 5 })).toThrow(/at least 2 words seen ≥ minCount = 5 times, got 0/);
  });
});

describe('trainWord2Vec learns: words that share contexts end up closer', () => {
  const docs = syntheticSentences(2, 500);
  const combos: [Word2VecMethod, Word2VecLoss][] = [
    ['skipgram', 'softmax'], ['skipgram', 'hs'], ['skipgram', 'neg'],
    ['cbow', 'softmax'], ['cbow', 'hs'], ['cbow', 'neg'],
  ];
  for (const [method, loss] of combos) {
    // the SIMD kernel for all six; the JS kernel for skip-gram (the same math, checked above)
    for (const kernel of method === 'skipgram' ? (['wasm', 'js'] as const) : (['wasm'] as const)) it(`${method} / ${loss} (${kernel})`, () => {
      const r = trainWord2Vec(docs, { method, loss, kernel, dim: 16, window: 3, minCount: 1, sample: 0, epochs: 8, seed: 2 });
      const { gap, nearestInGroup } = groupSeparation(r.words, r.vectors);
      expect(nearestInGroup).toBe(8);
      expect(gap).toBeGreaterThan(0.1);
      expect(r.finalLoss).toBeLessThan(loss === 'neg' ? 6 * Math.log(2) : Math.log(r.words.length));
    });
  }
});

describe('trainWord2Vec on Hogwild threads (word2vec.c -threads)', () => {
  const docs = syntheticSentences(2, 500);
  const bits = (r: { vectors: { data: ArrayLike<number> & { buffer: ArrayBufferLike } } }) => Buffer.from(r.vectors.data.buffer);

  it('threads 1 is exactly the run without the option (every bit, both kernels)', () => {
    for (const kernel of ['wasm', 'js'] as const) {
      for (const [method, loss] of [['skipgram', 'neg'], ['cbow', 'hs']] as const) {
        const opts = { method, loss, kernel, dim: 8, window: 3, minCount: 1, epochs: 2, seed: 7 };
        const plain = trainWord2Vec(docs, opts);
        const one = trainWord2Vec(docs, { ...opts, threads: 1 });
        expect(one.threads).toBe(1);
        expect(bits(one).equals(bits(plain))).toBe(true);
        expect(Buffer.from(one.output.data.buffer).equals(Buffer.from(plain.output.data.buffer))).toBe(true);
        expect([one.examples, one.finalLoss]).toEqual([plain.examples, plain.finalLoss]);
      }
    }
  });

  it('threads 2 learns as one thread does: the loss falls, the same nearest neighbours, a loss within 10%', () => {
    // Tolerance: the two runs differ only in the order of the updates and the second share's random
    // choices, so they end near the same loss (stated: 10%) and both separate the groups (the reason
    // in synthetic.ts), but not in the same bits.
    const opts = { dim: 16, window: 3, minCount: 1, sample: 0, epochs: 8, seed: 2, progressEvery: 1000 };
    const one = trainWord2Vec(docs, opts);
    const losses: number[] = [];
    const two = trainWord2Vec(docs, { ...opts, threads: 2, onProgress: (p) => losses.push(p.loss) });
    expect(two.threads).toBe(2);
    expect(runningWorkerThreads()).toBe(0);
    expect(two.examples).toBeGreaterThan(0.9 * one.examples);
    expect(two.examples).toBeLessThan(1.1 * one.examples);
    expect(losses.at(-1)!).toBeLessThan(0.8 * losses[0]);
    expect(Math.abs(two.finalLoss - one.finalLoss) / one.finalLoss).toBeLessThan(0.1);
    const a = groupSeparation(one.words, one.vectors), b = groupSeparation(two.words, two.vectors);
    expect([a.nearestInGroup, b.nearestInGroup]).toEqual([8, 8]);
    expect(b.gap).toBeGreaterThan(0.5 * a.gap);
    expect(bits(two).equals(bits(one))).toBe(false); // the worker's share trained with its own random choices
  });

  it('refuses threads > 1 with the js kernel, and a bad count, in one line', () => {
    expect(() => trainWord2Vec(docs, { kernel: 'js', minCount: 1, threads: 2 }))
      .toThrow(/^trainWord2Vec: threads > 1 need the wasm kernel \(the threads share its WebAssembly memory\), got kernel 'js'; use threads 1$/);
    expect(() => trainWord2Vec(docs, { threads: 0 })).toThrow(/^trainWord2Vec: expected threads to be an integer ≥ 1, got 0$/);
  });

  it('a stop request ends every thread mid-epoch (interrupted), and no worker thread is left', () => {
    const stop = new AbortController();
    const reports: Word2VecProgress[] = [];
    const r = trainWord2Vec(docs, {
      minCount: 1, dim: 8, epochs: 50, threads: 2, progressEvery: 500, signal: stop.signal,
      onProgress: (p) => {
        reports.push(p);
        if (p.epoch === 2) stop.abort();
      },
    });
    expect(r.stopReason).toBe('interrupted');
    expect(runningWorkerThreads()).toBe(0);
    const last = reports.at(-1)!;
    // both threads' words are counted, and the run ended in its third epoch of 50
    expect(last.wordsDone).toBeGreaterThan(2 * r.trainWords);
    expect(last.wordsDone).toBeLessThan(3 * r.trainWords);
  });

  it('a failure on the calling thread stops the workers: its one line reaches the caller, no worker thread is left', () => {
    let sentences = 0;
    expect(() => trainWord2Vec(docs, {
      minCount: 1, dim: 8, epochs: 50, threads: 2,
      onSentence: () => {
        if (++sentences === 700) throw new Error('onSentence: stop here');
      },
    })).toThrow(/^onSentence: stop here$/);
    expect(runningWorkerThreads()).toBe(0);
  });

  for (const awaitReady of [true, false]) it(`a worker's failure reaches the caller as one line, and no worker thread is left (awaitReady ${awaitReady})`, () => {
    // Worker 1 of a real job, over data it cannot train on: word ids far outside its 64 KiB of
    // vectors, so its SIMD kernel's first load traps.
    const memory = new (webAssembly()!.Memory)({ initial: 1, maximum: 1, shared: true });
    const shared = (n: number) => new SharedArrayBuffer(n);
    const words = new Int32Array(shared(4 * 8)).fill(1 << 20);
    const init = {
      o: { method: 'skipgram', loss: 'neg', dim: 4, window: 2, negative: 2, minCount: 1, epochs: 1, sample: 0, alpha: 0.025, seed: 1, maxSentenceLength: 1000, progressEvery: 10000, kernel: 'wasm' },
      counts: [4, 4], trainWords: 8, threads: 2, words, docEnds: new Int32Array(shared(4)).fill(8), memory,
      wordCount: new BigInt64Array(shared(8)), control: createHogwildControl(2), stats: new Float64Array(shared(32)),
    };
    const pool = new GradientPool({
      op: 'trainWord2Vec', threads: 2, job: WORD2VEC_HOGWILD_JOB, regionFloats: 0, awaitReady,
      init: (k) => ({ shared: init, thread: k, seed: 1 }),
    });
    pool.post(new Int32Array([8, 4])); // a pass over 8 words in chunks of 4
    expect(() => pool.wait()).toThrow(/^memory access out of bounds$/);
    expect(runningWorkerThreads()).toBe(0);
    expect(hogwildStopRequested(init.control)).toBe(true); // the other threads were told to end their passes
  });
});

describe('seqgrad word2vec', () => {
  it('trains on a file and writes the word2vec text format atomically', () => {
    const corpus = path.join(tmp, 'corpus.txt');
    fs.writeFileSync(corpus, '\uFEFFheader\n*** START OF THE BOOK ***\n' + syntheticSentences(3, 300).map((s) => s.join(' ')).join('.\n') + '\n*** END OF THE BOOK ***\nlicense\n');
    const out = path.join(tmp, 'vectors.txt');
    const log = console.log;
    const lines: string[] = [];
    console.log = (...args: unknown[]) => void lines.push(args.join(' '));
    let code: number | Promise<number>;
    try {
      code = word2vecCommand.run(['--corpus', corpus, '--embedding', '6', '--min-count', '1', '--loss', 'hs', '--out', out, '--json']);
    } finally {
      console.log = log;
    }
    expect(code).toBe(0);
    const summary = JSON.parse(lines.join('\n'));
    expect(summary.vocabulary).toBe(22); // 8 group words + 12 contexts + the, a; no 'header'/'license'
    expect(fs.readFileSync(out, 'utf8').split('\n')[0]).toBe('22 6');
    const wv = readVectors(out);
    expect(wv.format).toBe('word2vec');
    expect(wv.words).toContain('cat');
    expect(wv.words).not.toContain('license');
    expect(fs.readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('--threads: the summary names the threads (default: every core with the wasm kernel, 1 with js); js refuses N > 1 in one line', () => {
    const corpus = path.join(tmp, 'threads.txt');
    fs.writeFileSync(corpus, syntheticSentences(4, 200).map((s) => s.join(' ')).join('.\n'));
    const summaryOf = (argv: string[]) => {
      const spy = vi.spyOn(console, 'log').mockImplementation(() => {});
      try {
        expect(word2vecCommand.run(['--corpus', corpus, '--embedding', '4', '--min-count', '1', '--epochs', '1', '--out', path.join(tmp, 't.txt'), '--json', ...argv])).toBe(0);
        return JSON.parse(spy.mock.calls.map((c) => c.join(' ')).join('\n')) as { threads: number; kernel: string };
      } finally {
        spy.mockRestore();
      }
    };
    expect(summaryOf(['--threads', '2'])).toMatchObject({ threads: 2, kernel: 'wasm' });
    expect(summaryOf([]).threads).toBe(os.availableParallelism());
    expect(summaryOf(['--kernel', 'js'])).toMatchObject({ threads: 1, kernel: 'js' });
    let refusal: Error | undefined;
    try {
      word2vecCommand.run(['--corpus', corpus, '--min-count', '1', '--kernel', 'js', '--threads', '2', '--out', path.join(tmp, 't.txt')]);
    } catch (err) {
      refusal = err as Error;
    }
    expect(refusal?.message).toMatch(/^trainWord2Vec: threads > 1 need the wasm kernel .*; use threads 1$/);
    expect(refusal?.name).toBe('InputError'); // exit 2, one line
    expect(runningWorkerThreads()).toBe(0);
  });

  it('reports a missing corpus as an input error', () => {
    const errorOf = (argv: string[]): Error | undefined => {
      try {
        word2vecCommand.run(argv);
      } catch (err) {
        return err as Error;
      }
      return undefined;
    };
    const missing = errorOf(['--corpus', path.join(tmp, 'nope.txt')]);
    expect(missing?.message).toMatch(/corpus .*nope\.txt does not exist/);
    expect(missing?.name).toBe('InputError');
    expect(errorOf([])?.message).toMatch(/word2vec: expected --corpus FILE\|DIR/);
    const badDim = errorOf(['--corpus', path.join(tmp, 'nope.txt'), '--embedding', '0']);
    expect(badDim?.message).toBe('word2vec: --embedding expects an integer ≥ 1, got 0');
    expect(badDim?.name).toBe('UsageError'); // bad flags: exit 2 like bad input
  });

  it('warns on stderr before a full softmax over a large vocabulary, with its cost and --loss neg instead', () => {
    const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');
    const errors: string[] = [];
    const spies = [
      vi.spyOn(console, 'error').mockImplementation((line: string) => { errors.push(line); }),
      vi.spyOn(console, 'log').mockImplementation(() => {}),
      vi.spyOn(process.stderr, 'write').mockImplementation(() => true),
    ];
    try {
      const run = (n: number, loss: string) => {
        const corpus = path.join(tmp, `words-${n}.txt`);
        fs.writeFileSync(corpus, `${words(n)}\n`);
        errors.length = 0;
        expect(word2vecCommand.run(['--corpus', corpus, '--loss', loss, '--min-count', '1', '--window', '1', '--embedding', '2', '--epochs', '1', '--threads', '1', '--out', path.join(tmp, 'v.txt')])).toBe(0);
        return errors.filter((l) => l.includes('warning'));
      };
      // V = 1000 words seen once: 1000 · 1 epoch · (window 1 + 1) = 2000 examples, each 3·V·d = 6000 multiply-adds.
      const [line] = run(1000, 'softmax');
      expect(line).toMatch(/^word2vec: warning: --loss softmax normalises over all V = 1000 words/);
      expect(line).toContain('about 1.2e+7 multiply-adds (2.0e+3 examples × 3·V·d)');
      expect(line).toContain('167× the work of negative sampling'); // 1000 / (5 + 1)
      expect(line).toMatch(/use --loss neg/);
      expect(run(999, 'softmax')).toEqual([]);
      expect(run(1000, 'hs')).toEqual([]);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });

  it('fullSoftmaxCost: examples and multiply-adds by hand', () => {
    const corpus = [['a', 'b', 'a'], ['c']]; // V = 3, 4 training words
    const skip = fullSoftmaxCost(corpus, { method: 'skipgram', minCount: 1, window: 2, epochs: 2, dim: 4 });
    expect(skip).toEqual({ vocabulary: 3, examples: 4 * 2 * 3, multiplyAdds: 24 * 3 * 3 * 4, timesNegativeSampling: 3 / 6 });
    const cbow = fullSoftmaxCost(corpus, { method: 'cbow', minCount: 2, window: 2, epochs: 1, dim: 4, negative: 2 });
    expect(cbow).toEqual({ vocabulary: 1, examples: 2, multiplyAdds: 2 * 3 * 1 * 4, timesNegativeSampling: 1 / 3 });
  });
});
