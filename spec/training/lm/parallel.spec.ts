/**
 * Data-parallel language-model training (training/lm/parallel.ts, training/parallel/): the same N
 * and seed give the same bits, N = 1 is the single-thread path, N = 2 follows N = 1 within float32
 * rounding, resume stays bit-identical, a worker's failure reaches the caller as one line and leaves
 * no thread running, and the js backend is refused with one line.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backendName, setBackend } from '../../../engine/backend.js';
import { Rng } from '../../../engine/rng.js';
import { initWasmBackend } from '../../../engine/wasm/index.js';
import { createLanguageModel, lmParameters, type LanguageModel, type LanguageModelOptions } from '../../../training/lm/model.js';
import { batchShares } from '../../../training/lm/parallel.js';
import {
  createLmTrainer, prepareLmCorpus, readLmCheckpoint, resumeLmTrainer, type LmTrainConfig, type LmTrainer, type PreparedLmCorpus,
} from '../../../training/lm/train.js';
import { InputError } from '../../../training/core/errors.js';
import { runningWorkerThreads } from '../../../training/parallel/pool.js';

let dir: string;
beforeAll(async () => {
  setBackend((await initWasmBackend()).name);
});
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-lm-parallel-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function toyText(lines: number, seed = 5): string {
  const rng = new Rng(seed);
  const words = ['apple', 'pear', 'salad', 'plum'];
  return Array.from({ length: lines }, () => words[rng.int(4)]).join('\n') + '\n';
}

const corpusOf = (): PreparedLmCorpus => prepareLmCorpus(toyText(800), { level: 'word', valFraction: 0.1 });
const modelOf = (corpus: PreparedLmCorpus, extra: LanguageModelOptions = {}): LanguageModel =>
  createLanguageModel({ level: 'word', cell: 'lstm', hidden: 12, embeddingDim: 6, seed: 11, ...extra, vocab: corpus.vocab });
const CONFIG: LmTrainConfig = { seqLen: 6, batch: 10, optimizer: { kind: 'adam', lr: 0.01 }, clip: { mode: 'norm', max: 1 } };

/** Every bit of the weights, the optimizer state and the carried state. */
function bits(trainer: LmTrainer): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const add = (name: string, data: Float32Array | Float64Array): void => {
    out[name] = Array.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  };
  for (const [name, p] of Object.entries(lmParameters(trainer.model))) add(name, p.data);
  for (const [name, slots] of Object.entries(trainer.optimizer.slots)) {
    for (const [slot, m] of Object.entries(slots)) add(`${name}.${slot}`, m.data);
  }
  trainer.ws.state.forEach((layer, l) => layer.forEach((s, k) => add(`state.${l}.${k}`, s.data)));
  return out;
}

function trained(threads: number | undefined, steps: number, extra: LanguageModelOptions = {}): LmTrainer {
  const corpus = corpusOf();
  const t = createLmTrainer(modelOf(corpus, extra), corpus, CONFIG);
  const result = t.run({ maxSteps: steps, evalEvery: 1000, ...(threads === undefined ? {} : { threads }) });
  expect(result.threads).toBe(threads ?? 1);
  return t;
}

describe('data-parallel language-model training', () => {
  it('runs on the wasm backend (the one that shares its memory with the workers)', () => {
    expect(backendName()).toBe('wasm');
  });

  it('cuts the batch into contiguous shares that cover it once', () => {
    expect(batchShares(10, 3)).toEqual([{ start: 0, end: 3 }, { start: 3, end: 6 }, { start: 6, end: 10 }]);
    expect(batchShares(4, 1)).toEqual([{ start: 0, end: 4 }]);
  });

  it('threads 1 is the single-thread path: the same bits as no threads option', () => {
    expect(bits(trained(1, 8))).toEqual(bits(trained(undefined, 8)));
  });

  it('threads 2: the same bits in two runs, the losses and weights of one thread within float32 rounding, no thread left', () => {
    const a = trained(2, 8), b = trained(2, 8), one = trained(1, 8);
    expect(bits(a)).toEqual(bits(b));
    expect(a.lossHistory).toEqual(b.lossHistory);
    expect(runningWorkerThreads()).toBe(0);
    // The per-row gradients are those of one thread; only the order of the sums differs.
    a.lossHistory.forEach((loss, i) => expect(Math.abs(loss - one.lossHistory[i])).toBeLessThan(1e-5 * Math.abs(loss)));
    const pa = lmParameters(a.model), p1 = lmParameters(one.model);
    for (const name of Object.keys(p1)) {
      let worst = 0;
      for (let i = 0; i < p1[name].data.length; i++) worst = Math.max(worst, Math.abs(pa[name].data[i] - p1[name].data[i]));
      expect(worst, name).toBeLessThan(1e-4);
    }
    expect(a.lossHistory).not.toEqual(one.lossHistory); // really another summation order (else the test proves nothing)
  });

  it('one-hot char models and GRUs train on threads too (3 threads, uneven shares)', () => {
    const corpus = prepareLmCorpus(toyText(600), { level: 'char', valFraction: 0.1 });
    const run = (threads: number): number[] => {
      const t = createLmTrainer(createLanguageModel({ cell: 'gru', hidden: 8, seed: 2, vocab: corpus.vocab }), corpus, CONFIG);
      return t.run({ maxSteps: 4, evalEvery: 1000, threads }).lossHistory;
    };
    const three = run(3), one = run(1);
    three.forEach((loss, i) => expect(Math.abs(loss - one[i])).toBeLessThan(1e-5 * loss));
  });

  it('resumes bit-identically with threads 2: K steps + checkpoint + load + (N − K) steps = N steps straight', () => {
    const corpus = corpusOf();
    const N = 16, K = 9;
    const straight = createLmTrainer(modelOf(corpus), corpus, CONFIG);
    straight.run({ maxSteps: N, evalEvery: 5, threads: 2 });
    const file = path.join(dir, 'ckpt.json');
    createLmTrainer(modelOf(corpus), corpus, CONFIG).run({ maxSteps: K, evalEvery: 5, checkpointPath: file, threads: 2 });
    const checkpoint = readLmCheckpoint(file);
    const again = prepareLmCorpus(toyText(800), { level: 'word', valFraction: 0.1, vocab: checkpoint.model.vocab });
    const resumed = resumeLmTrainer(checkpoint, again);
    resumed.run({ maxSteps: N, evalEvery: 5, threads: 2 });
    expect(bits(resumed)).toEqual(bits(straight));
    expect(resumed.lossHistory).toEqual(straight.lossHistory);
  });

  it("a worker's failure stops the run with its one-line message, and no worker thread is left", () => {
    const corpus = corpusOf();
    const t = createLmTrainer(modelOf(corpus), corpus, CONFIG);
    // A bad id in the last stream, which only worker 1 reads (the trainer checked the ids when it was made).
    t.data.train[(CONFIG.batch - 1) * t.streamLength + 2] = corpus.vocab.size + 7;
    let message = '';
    try {
      t.run({ maxSteps: 3, threads: 2 });
    } catch (err) {
      message = (err as Error).message;
    }
    // lmForward checks the ids itself when it folds the embedding into the input projection (V ≤ T·B/2)
    expect(message).toMatch(new RegExp(`^(lmForward|embeddingForward): expected token ids in \\[0, ${corpus.vocab.size}\\), got ${corpus.vocab.size + 7} at position \\d+$`));
    expect(runningWorkerThreads()).toBe(0);
    expect(t.position.step).toBe(0); // nothing was updated
  });

  it('refuses threads > 1 on the js backend with one line, and runs threads 1 there', () => {
    const previous = setBackend('js');
    try {
      const corpus = corpusOf();
      const t = createLmTrainer(modelOf(corpus), corpus, CONFIG);
      expect(() => t.run({ maxSteps: 1, threads: 2 })).toThrow(InputError);
      expect(() => t.run({ maxSteps: 1, threads: 2 })).toThrow(/^train: --threads > 1 needs the wasm backend .*, got backend 'js'; use --threads 1$/);
      expect(t.run({ maxSteps: 1, threads: 1 }).steps).toBe(1);
      const f64 = createLmTrainer(modelOf(corpus, { dtype: 'float64' }), corpus, CONFIG);
      setBackend(previous);
      expect(() => f64.run({ maxSteps: 1, threads: 2 })).toThrow(/^train: --threads > 1 trains float32 models only, got a float64 model; use --threads 1$/);
    } finally {
      setBackend(previous);
    }
  });
});
