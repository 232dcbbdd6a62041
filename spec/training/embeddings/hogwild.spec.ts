import { describe, expect, it } from 'vitest';
import {
  createHogwildControl, hogwildChunk, hogwildItemsHandedOut, hogwildStopRequested, HogwildThreads, requestHogwildStop, trainClaimedChunks,
} from '../../../training/embeddings/hogwild.js';
import { trainGlove } from '../../../training/embeddings/glove.js';
import { runningWorkerThreads } from '../../../training/parallel/pool.js';
import { Rng } from '../../../engine/rng.js';

describe('Hogwild chunks (hogwild.ts)', () => {
  it('one thread of two: its own region from the front, then the other region from the back, every chunk once', () => {
    const control = createHogwildControl(2);
    const seen: [number, number][] = [];
    expect(trainClaimedChunks(control, 0, 20, 4, (from, to) => seen.push([from, to]) > 0)).toBe(true);
    // regions [0, 10) and [10, 20), chunks of 4 (each region's last one short)
    expect(seen).toEqual([[0, 4], [4, 8], [8, 10], [18, 20], [14, 18], [10, 14]]);
    expect(hogwildItemsHandedOut(control, 20, 4)).toBe(20);
    // every chunk is taken: a thread that comes late gets nothing
    expect(trainClaimedChunks(control, 1, 20, 4, () => { throw new Error('no chunk is left'); })).toBe(true);
  });

  it('two threads take turns: the owner of a region from its front, the other from its back, and they meet without overlap', () => {
    const control = createHogwildControl(2);
    const seen: number[] = [];
    // thread 1 takes one chunk of its region (10 chunks of 10), then thread 0 does everything else
    trainClaimedChunks(control, 1, 200, 10, (from) => seen.push(from) < 1);
    expect(hogwildItemsHandedOut(control, 200, 10)).toBe(10);
    trainClaimedChunks(control, 0, 200, 10, (from) => seen.push(from) > 0);
    expect(seen.slice(0, 12)).toEqual([100, 0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 190]);
    expect(seen.slice().sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, k) => 10 * k));
  });

  it('ends the pass when the work stops, or at the next chunk after a stop request', () => {
    const control = createHogwildControl(2);
    let chunks = 0;
    expect(trainClaimedChunks(control, 0, 100, 10, () => ++chunks < 3)).toBe(false);
    expect(chunks).toBe(3);
    expect(hogwildStopRequested(control)).toBe(false);
    const other = createHogwildControl(2);
    chunks = 0;
    expect(trainClaimedChunks(other, 0, 100, 10, () => {
      if (++chunks === 2) requestHogwildStop(other); // another thread's stop request
      return true;
    })).toBe(false);
    expect(chunks).toBe(2);
  });

  it('chunk sizes: the largest for a long pass, ≥ 16 chunks a thread for a short one, never below the smallest, ≤ 32767 a region', () => {
    expect(hogwildChunk(546_611, 2, 1000, 10_000)).toBe(10_000);
    expect(hogwildChunk(64_000, 2, 1000, 10_000)).toBe(2000);
    expect(hogwildChunk(500, 2, 1000, 10_000)).toBe(1000);
    expect(hogwildChunk(2 * 32767 * 20_000, 2, 1000, 10_000)).toBe(20_000);
  });

  it('a worker that fails to start: the calling thread does the pass, then its one line comes, and no worker thread is left', () => {
    const control = createHogwildControl(2);
    const threads = new HogwildThreads('hogwild-test', 2, 'no-such-job', () => null, control);
    let items = 0;
    try {
      expect(() => threads.pass(50, 10, (from, to) => (items += to - from) > 0)).toThrow(/^threads: no job kind 'no-such-job' in the worker/);
    } finally {
      threads.close();
    }
    expect(items).toBe(50);
    expect(runningWorkerThreads()).toBe(0);
  });
});

describe('trainGlove on Hogwild threads: stop', () => {
  it('a stop request ends every thread mid-epoch (interrupted), and no worker thread is left', () => {
    // Random text over 300 words: tens of thousands of entries, so an epoch has many chunks.
    const rng = new Rng(3);
    const docs = [Array.from({ length: 20_000 }, () => `w${rng.int(300)}`)];
    const stop = new AbortController();
    const r = trainGlove(docs, {
      dim: 5, window: 5, minCount: 1, epochs: 500, seed: 4, threads: 2, progressEvery: 100, signal: stop.signal,
      onProgress: (p) => {
        if (p.stage === 'train' && p.epoch === 1) stop.abort(); // after the calling thread's first chunk of epoch 1
      },
    });
    expect(r.cooccurrences.size).toBeGreaterThan(20 * 1024);
    expect(r.stopReason).toBe('interrupted');
    expect(r.epochCosts.length).toBe(1);
    expect(runningWorkerThreads()).toBe(0);
  });
});
