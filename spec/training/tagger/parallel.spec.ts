/**
 * Data-parallel tagger training (training/tagger/parallel.ts): the same N and seed give the same
 * bits, N = 1 is the single-thread path, N = 2 (name tagger, sigmoid head) and N = 3 (tag set,
 * softmax head, uneven shares) follow N = 1 within float32 rounding, no thread is left, and dropout
 * and the js backend are refused with one line.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../../engine/backend.js';
import { Rng } from '../../../engine/rng.js';
import { initWasmBackend } from '../../../engine/wasm/index.js';
import { modelParameters } from '../../../layers/architectures.js';
import { runningWorkerThreads } from '../../../training/parallel/pool.js';
import {
  buildTaggerVocabulary, createTagger, generateTaggedSentences, loadNameLists, trainTagger, type Tagger, type TaggerConfig, type TaggedSentence,
} from '../../../training/tagger/tagger.js';

beforeAll(async () => {
  setBackend((await initWasmBackend()).name);
});

const names = loadNameLists();
const sentences = (): TaggedSentence[] => generateTaggedSentences(new Rng(5), 60, names);

function trained(threads: number | undefined, config: Partial<TaggerConfig> = {}, data = sentences()): { tagger: Tagger; losses: number[] } {
  const tagger = createTagger({ vocab: buildTaggerVocabulary(data, 1), embeddingDim: 6, hidden: 6, ...config }, { rng: new Rng(3) });
  const r = trainTagger(tagger, data, { steps: 8, batchSize: 10, lr: 0.02, ...(threads === undefined ? {} : { threads }) }, new Rng(4));
  return { tagger, losses: r.losses };
}

function bits(t: Tagger): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [name, p] of Object.entries(modelParameters(t.net).params)) out[name] = Array.from(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength));
  return out;
}

describe('data-parallel tagger training', () => {
  it('threads 1 is the single-thread path: the same bits as no threads option', () => {
    expect(bits(trained(1).tagger)).toEqual(bits(trained(undefined).tagger));
  });

  it('threads 2: the same bits in two runs, one thread within float32 rounding, no thread left', () => {
    const a = trained(2), b = trained(2), one = trained(1);
    expect(bits(a.tagger)).toEqual(bits(b.tagger));
    expect(a.losses).toEqual(b.losses);
    expect(runningWorkerThreads()).toBe(0);
    expect(a.losses).toHaveLength(8);
    a.losses.forEach((loss, i) => expect(Math.abs(loss - one.losses[i])).toBeLessThan(1e-5 * loss));
    const pa = modelParameters(a.tagger.net).params, p1 = modelParameters(one.tagger.net).params;
    for (const name of Object.keys(p1)) {
      let worst = 0;
      for (let i = 0; i < p1[name].data.length; i++) worst = Math.max(worst, Math.abs(pa[name].data[i] - p1[name].data[i]));
      expect(worst, name).toBeLessThan(1e-4);
    }
    expect(bits(a.tagger)).not.toEqual(bits(one.tagger)); // really another summation order (else the test proves nothing)
  });

  it('a tag-set (softmax) GRU tagger on 3 threads: shares of 3, 3 and 4 sentences', () => {
    const data = sentences().map((s) => ({ ...s, labels: s.labels.map((y, t) => (y === 1 ? 1 : t === 0 ? 2 : 0)) }));
    const three = trained(3, { cell: 'gru', tags: ['O', 'NAME', 'FIRST'] }, data), one = trained(1, { cell: 'gru', tags: ['O', 'NAME', 'FIRST'] }, data);
    three.losses.forEach((loss, i) => expect(Math.abs(loss - one.losses[i])).toBeLessThan(1e-5 * loss));
    expect(runningWorkerThreads()).toBe(0);
  });

  it('refuses threads > 1 with dropout and on the js backend, each in one line', () => {
    expect(() => trained(2, { layers: 2, dropout: 0.2 })).toThrow(/^trainTagger: threads > 1 do not support dropout yet: expected threads 1, got 2$/);
    const previous = setBackend('js');
    try {
      expect(() => trained(2)).toThrow(/^tagger train: --threads > 1 needs the wasm backend .*, got backend 'js'; use --threads 1$/);
    } finally {
      setBackend(previous);
    }
    expect(runningWorkerThreads()).toBe(0);
  });
});
