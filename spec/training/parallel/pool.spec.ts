/**
 * The gradient pool's data-parallel step (training/parallel/pool.ts), on a real gradient job (the
 * tagger's) with three threads: the workers' gradients are summed into the caller's buffers and the
 * losses added in worker order; when the caller's share throws, the step still waits for the
 * workers (and the pool runs the next step); a worker's failure closes the pool and reaches the
 * caller as its one line, with no thread left.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../../engine/backend.js';
import { Matrix, fill } from '../../../engine/matrix.js';
import { Rng } from '../../../engine/rng.js';
import { initWasmBackend } from '../../../engine/wasm/index.js';
import { modelParameters } from '../../../layers/architectures.js';
import { GradientPool, gradientRegionFloats, runningWorkerThreads } from '../../../training/parallel/pool.js';
import { TAGGER_GRADIENT_JOB } from '../../../training/tagger/parallel.js';
import { buildTaggerVocabulary, createTagger, generateTaggedSentences, loadNameLists } from '../../../training/tagger/tagger.js';

beforeAll(async () => {
  setBackend((await initWasmBackend()).name);
});

const THREADS = 3;
/** 12 sentences: the shares are [0, 4) (the caller's), [4, 8) (worker 1) and [8, 12) (worker 2). */
const SENTENCES = 12;

interface Setup {
  pool: GradientPool;
  grads: Record<string, Matrix>;
  /** The step's arguments: [n, tokens] (the tagger job's). */
  args: number[];
  vocabSize: number;
}

let pools: GradientPool[] = [];
afterEach(() => {
  for (const pool of pools) pool.close();
  pools = [];
});

/** A pool of the tagger's gradient job over every sentence; `corrupt` edits the encoded sentences before the workers copy them. */
function setup(corrupt: (encoded: Int32Array[], vocabSize: number) => void = () => {}): Setup {
  const sentences = generateTaggedSentences(new Rng(5), SENTENCES, loadNameLists());
  const tagger = createTagger({ vocab: buildTaggerVocabulary(sentences, 1), embeddingDim: 6, hidden: 6 }, { rng: new Rng(3) });
  const encoded = sentences.map((s) => Int32Array.from(s.tokens, (t) => tagger.vocab.id(t)));
  corrupt(encoded, tagger.vocab.size);
  const data = { encoded, labels: sentences.map((s) => s.labels.slice()), longest: Math.max(...encoded.map((e) => e.length)) };
  const indices = new Int32Array(new SharedArrayBuffer(4 * SENTENCES));
  indices.set(Array.from({ length: SENTENCES }, (_, i) => i));
  const { params, grads } = modelParameters(tagger.net);
  const pool = new GradientPool({
    op: 'pool spec', threads: THREADS, job: TAGGER_GRADIENT_JOB, weights: params, grads,
    regionFloats: gradientRegionFloats(params, 1 << 18),
    init: (k, weights) => ({ vocab: tagger.vocab.toJSON(), config: tagger.config, weights, data, indices, share: k, threads: THREADS }),
  });
  pools.push(pool);
  const tokens = encoded.reduce((n, e) => n + e.length, 0);
  return { pool, grads, args: [SENTENCES, tokens], vocabSize: tagger.vocab.size };
}

/** An own loss for which adding worker 1's and 2's results in another order rounds differently. */
function ownTellingTheOrder(r1: number, r2: number): number {
  for (let i = 1; i < 1000; i++) {
    const own = i / 3; // every bit of the float64 significand set: the sums must round
    const inOrder = own + r1 + r2;
    if (inOrder !== own + (r1 + r2) && inOrder !== own + r2 + r1) return own;
  }
  throw new Error('no own loss tells the order apart');
}

describe('GradientPool.step', () => {
  it("sums the workers' gradients into the caller's and adds the losses, in worker order", () => {
    const { pool, grads, args } = setup();
    const OWN_GRAD = Math.fround(0.1); // a float32 value: the buffers hold it exactly
    // The caller's share writes a known gradient: the step must add the workers' to it, not replace it.
    expect(pool.step(args, () => {
      for (const name in grads) fill(grads[name], OWN_GRAD);
      return 0;
    })).toBe(pool.results[1] + pool.results[2]);
    const [r1, r2] = [pool.results[1], pool.results[2]];
    expect(r1).toBeGreaterThan(0);
    expect(r2).toBeGreaterThan(0);
    let nonzero = 0, otherOrderDiffers = 0;
    for (const name in grads) {
      const g = grads[name].data, w1 = pool.workerGrads[0][name].data, w2 = pool.workerGrads[1][name].data;
      for (let i = 0; i < g.length; i++) {
        expect(g[i]).toBe(Math.fround(Math.fround(OWN_GRAD + w1[i]) + w2[i]));
        if (w1[i] !== 0 && w2[i] !== 0) nonzero++;
        if (Math.fround(Math.fround(OWN_GRAD + w2[i]) + w1[i]) !== g[i]) otherOrderDiffers++;
      }
    }
    expect(nonzero).toBeGreaterThan(0); // the workers really computed gradients
    expect(otherOrderDiffers).toBeGreaterThan(0); // else the order would not be tested

    // The same step again (the weights did not move): the workers' results repeat, and the caller's comes first.
    const own = ownTellingTheOrder(r1, r2);
    expect(pool.step(args, () => own)).toBe(own + r1 + r2);
    expect([pool.results[1], pool.results[2]]).toEqual([r1, r2]);
  });

  it("when the caller's share throws, the step still waits for the workers, throws that error, and the pool runs on", () => {
    const { pool, args } = setup();
    const loss = pool.step(args, () => 0);
    pool.results.fill(Number.NaN);
    expect(() => pool.step(args, () => {
      throw new Error('own share: failed');
    })).toThrow(/^own share: failed$/);
    expect(pool.results[1]).toBeGreaterThan(0); // the workers had finished before the error came out
    expect(pool.results[2]).toBeGreaterThan(0);
    expect(pool.step(args, () => 0)).toBe(loss);
    expect(runningWorkerThreads()).toBe(THREADS - 1);
    pool.close();
    expect(runningWorkerThreads()).toBe(0);
  });

  it("a worker's failure during a step: the caller's share runs, the pool closes, its one line comes out, no thread is left", () => {
    let bad = -1;
    // A token id out of the vocabulary in sentence 9: only worker 2 reads it.
    const { pool, args, vocabSize } = setup((encoded, V) => {
      bad = V + 7;
      encoded[9][0] = bad;
    });
    expect(bad).toBe(vocabSize + 7);
    let ownRan = false;
    let message = '';
    try {
      pool.step(args, () => {
        ownRan = true;
        return 0;
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(ownRan).toBe(true);
    expect(message).toMatch(new RegExp(`^\\w+: expected token ids in \\[0, ${vocabSize}\\), got ${bad} at position \\d+$`));
    expect(runningWorkerThreads()).toBe(0);
    expect(() => pool.step(args, () => 0)).toThrow(/^pool spec: the worker pool is closed$/);
  });

  it('a pool that does not await its workers refuses grads and weights (they are known only once every worker is ready)', () => {
    const grads = { w: Matrix.zeros(2, 2) };
    for (const extra of [{ grads }, { weights: grads }]) {
      expect(() => new GradientPool({
        op: 'pool spec', threads: 2, job: TAGGER_GRADIENT_JOB, regionFloats: 0, awaitReady: false, init: () => null, ...extra,
      })).toThrow(/^pool spec: a pool that does not await its workers takes no grads or weights$/);
    }
    expect(runningWorkerThreads()).toBe(0);
  });
});
