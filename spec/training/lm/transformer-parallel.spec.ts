/**
 * Data-parallel Transformer LM training (training/lm/transformer-parallel.ts): N = 1 is the
 * single-thread path, the same N and seed give the same bits, N = 2 follows N = 1 within float32
 * rounding WITH dropout (the masks are one thread's, drawn whole and shared out by rows), resume with
 * threads stays bit-identical across an epoch boundary, and a worker's failure reaches the caller as
 * one line and leaves no thread running.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, setBackend } from '../../../engine/backend.js';
import { Rng } from '../../../engine/rng.js';
import { initWasmBackend } from '../../../engine/wasm/index.js';
import { prepareLmCorpus } from '../../../training/lm/train.js';
import { createTransformerLanguageModel, transformerLmParameters } from '../../../training/lm/transformer-model.js';
import { TransformerLmTrainer, readTransformerLmCheckpoint, resumeTransformerLmTrainer } from '../../../training/lm/transformer-train.js';
import { runningWorkerThreads } from '../../../training/parallel/pool.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-tlm-parallel-'));
beforeAll(async () => {
  setBackend((await initWasmBackend()).name);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const text = Array.from({ length: 120 }, (_, i) => 'abcdefghij'.slice(i % 4, 6 + (i % 5))).join('\n');
const data = () => prepareLmCorpus(text, { level: 'char', valFraction: 0.2 });

function trainer(): TransformerLmTrainer {
  const d = data();
  const model = createTransformerLanguageModel({ dModel: 8, numHeads: 2, layers: 2, dimFeedforward: 16, dropout: 0.1, maxLength: 8, seed: 5 }, d.vocab);
  return new TransformerLmTrainer(model, d, { seqLen: 8, batch: 6, optimizer: { kind: 'adam', lr: 0.01 }, clip: { mode: 'norm', max: 1 } });
}

/** Every bit of the weights and the optimizer state. */
function bits(t: TransformerLmTrainer): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const add = (name: string, a: Float32Array | Float64Array): void => {
    out[name] = Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  };
  for (const [name, p] of Object.entries(transformerLmParameters(t.model).params)) add(name, p.data);
  for (const [name, slots] of Object.entries(t.optimizer.slots)) for (const [slot, m] of Object.entries(slots)) add(`${name}.${slot}`, m.data);
  return out;
}

const RUN = { evalEvery: 1000, maxEvalTokens: 50 };

function trained(threads: number | undefined, steps: number): TransformerLmTrainer {
  const t = trainer();
  expect(t.run({ ...RUN, maxSteps: steps, ...(threads === undefined ? {} : { threads }) }).threads).toBe(threads ?? 1);
  return t;
}

/**
 * The worst |a − b| over two trainers' weights, but the key biases b_k: their gradient is 0 in exact
 * arithmetic (q·b_k adds the same to every score of a softmax row), so in float32 it is rounding
 * noise, which Adam's g/√v turns into steps of ±lr whatever its size.
 */
function worstWeightGap(a: TransformerLmTrainer, b: TransformerLmTrainer): number {
  const pa = transformerLmParameters(a.model).params, pb = transformerLmParameters(b.model).params;
  let worst = 0;
  for (const name of Object.keys(pb)) {
    if (name.endsWith('.b_k')) continue;
    for (let i = 0; i < pb[name].data.length; i++) worst = Math.max(worst, Math.abs(pa[name].data[i] - pb[name].data[i]));
  }
  return worst;
}

describe('data-parallel Transformer LM training', () => {
  it('runs on the wasm backend (the one that shares its memory with the workers)', () => {
    expect(backendName()).toBe('wasm');
  });

  it('threads 1 is the single-thread path: the same bits as no threads option', () => {
    expect(bits(trained(1, 3))).toEqual(bits(trained(undefined, 3)));
  });

  it('threads 2 with dropout: the same bits in two runs; losses, weights and generator of one thread within float32 rounding; no thread left', () => {
    const a = trained(2, 8), b = trained(2, 8), one = trained(1, 8);
    expect(bits(a)).toEqual(bits(b));
    expect(runningWorkerThreads()).toBe(0);
    expect(a.rng.getState()).toEqual(one.rng.getState());
    a.lossHistory.forEach((loss, i) => expect(Math.abs(loss - one.lossHistory[i])).toBeLessThan(1e-5 * loss));
    expect(worstWeightGap(a, one)).toBeLessThan(1e-4);
    expect(a.lossHistory).not.toEqual(one.lossHistory); // really another summation order
    // Other masks move the losses far more than rounding: the comparison above can fail.
    const other = trainer();
    other.rng.setState(new Rng(77).getState());
    other.run({ ...RUN, maxSteps: 8 });
    expect(Math.max(...other.lossHistory.map((loss, i) => Math.abs(loss - one.lossHistory[i]) / loss))).toBeGreaterThan(1e-3);
  });

  it('resumes bit-identically with threads 2 across an epoch boundary', () => {
    const straight = trainer();
    const N = straight.stepsPerEpoch + 2, K = straight.stepsPerEpoch - 1;
    straight.run({ ...RUN, maxSteps: N, threads: 2 });
    const file = path.join(dir, 'ck.json');
    trainer().run({ ...RUN, maxSteps: K, checkpointPath: file, threads: 2 });
    const resumed = resumeTransformerLmTrainer(readTransformerLmCheckpoint(file), data());
    resumed.run({ ...RUN, maxSteps: N, threads: 2 });
    expect(bits(resumed)).toEqual(bits(straight));
    expect(resumed.lossHistory).toEqual(straight.lossHistory);
  });

  it("a worker's failure stops the run with its one-line message, and no worker thread is left", () => {
    const t = trainer();
    const V = t.model.vocab.size;
    // The first token of the last stream (B = 6), which only worker 1 reads (streams 3–5; row 2 of its share).
    t.data.train[5 * t.streamLength] = V + 7;
    let message = '';
    try {
      t.run({ ...RUN, maxSteps: 2, threads: 2 });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe(`embeddingForward: expected token ids in [0, ${V}), got ${V + 7} at position 2`);
    expect(runningWorkerThreads()).toBe(0);
    expect(t.step).toBe(0);
  });
});
