import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Matrix, zero } from '../../../engine/matrix.js';
import { Rng } from '../../../engine/rng.js';
import { createLanguageModel, lmOptimizerParameters, lmParameters, type LanguageModel } from '../../../training/lm/model.js';
import {
  createLmTrainer, evaluateLanguageModel, prepareLmCorpus, readLmCheckpoint, resumeLmTrainer, tokenizeCorpus,
  type LmTrainConfig, type LmTrainer, type PreparedLmCorpus,
} from '../../../training/lm/train.js';
import { NumericalError } from '../../../training/core/errors.js';
import { EOS } from '../../../training/text/vocab.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-lm-train-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A toy corpus: each line is one of three words, drawn uniformly (seeded). */
function toyText(lines: number, seed = 5): string {
  const rng = new Rng(seed);
  const words = ['apple', 'pear', 'salad'];
  return Array.from({ length: lines }, () => words[rng.int(3)]).join('\n') + '\n';
}

function toyCorpus(lines = 600): PreparedLmCorpus {
  return prepareLmCorpus(toyText(lines), { level: 'word', valFraction: 0.1 });
}

function toyModel(corpus: PreparedLmCorpus, extra: Parameters<typeof createLanguageModel>[0] = {}): LanguageModel {
  return createLanguageModel({
    level: 'word', cell: 'lstm', hidden: 8, embeddingDim: 4, seed: 11, ...extra, vocab: corpus.vocab,
  });
}

const CONFIG: LmTrainConfig = { seqLen: 8, batch: 10, optimizer: { kind: 'adam', lr: 0.01 }, clip: { mode: 'norm', max: 1 } };

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

describe('corpus', () => {
  it('appends <EOS> to every line, skips empty lines unless asked, lower-cases on request', () => {
    expect(tokenizeCorpus('Ab\n\nc\n', { level: 'char', lowercase: true })).toEqual(['a', 'b', EOS, 'c', EOS]);
    expect(tokenizeCorpus('Ab\r\n\r\nc', { level: 'char', keepEmptyLines: true })).toEqual(['A', 'b', EOS, EOS, 'c', EOS]);
    expect(tokenizeCorpus('The apple.\nA pear\n', { level: 'word' })).toEqual(['The', 'apple', '.', EOS, 'A', 'pear', EOS]);
  });

  it('splits off the last fraction as validation and builds the vocabulary on the training part only', () => {
    const c = prepareLmCorpus('ab\nab\nab\nxy\n', { level: 'char', valFraction: 0.25 }); // 12 tokens, 3 held out
    expect(c.train.length).toBe(9);
    expect(c.validation.length).toBe(3);
    expect(c.vocab.tokens).toEqual(['<EOS>', '<UNK>', 'a', 'b']);
    expect(c.vocab.decode(Array.from(c.validation))).toEqual(['<UNK>', '<UNK>', '<EOS>']);
  });
});

describe('corpus as a character stream (char-rnn)', () => {
  it('keeps every character: newlines are tokens (<EOS>), empty lines stay, nothing is appended', () => {
    expect(tokenizeCorpus('Ab\n\nc', { level: 'char', format: 'stream' })).toEqual(['A', 'b', EOS, EOS, 'c']);
    expect(tokenizeCorpus('a\r\n', { level: 'char', format: 'stream', lowercase: true })).toEqual(['a', '\r', EOS]);
    // The same file as lines: the empty line is dropped and an <EOS> is appended after 'c'.
    expect(tokenizeCorpus('Ab\n\nc', { level: 'char' })).toEqual(['A', 'b', EOS, 'c', EOS]);
    expect(() => tokenizeCorpus('a b', { level: 'word', format: 'stream' })).toThrow(/format 'stream' reads characters; expected level 'char', got 'word'/);
  });

  it("builds the vocabulary on the whole file without <UNK> (char-rnn's classes), with <UNK> under --min-count", () => {
    const c = prepareLmCorpus('ab\nab\n\n\nxy', { level: 'char', format: 'stream', valFraction: 0.25 }); // 10 characters, 2 held out
    expect(c.train.length).toBe(8);
    expect(c.validation.length).toBe(2);
    expect([...c.vocab.tokens].sort()).toEqual(['<EOS>', 'a', 'b', 'x', 'y']);
    expect(c.vocab.tokens[0]).toBe(EOS);
    expect(c.vocab.decode(Array.from(c.validation))).toEqual(['x', 'y']);
    const pruned = prepareLmCorpus('ab\nab\n\n\nxy', { level: 'char', format: 'stream', valFraction: 0.25, minCount: 2 });
    expect(pruned.vocab.tokens).toEqual(['<EOS>', '<UNK>', 'a', 'b']);
  });

  it("random batches: B windows at offsets drawn from the trainer's Rng, each from a zero state", () => {
    const corpus = toyCorpus();
    const config: LmTrainConfig = { ...CONFIG, batches: 'random' };
    const trainer = createLmTrainer(toyModel(corpus), corpus, config);
    const twin = new Rng(trainer.model.config.seed); // the trainer's generator starts at the model's seed
    trainer.step();
    trainer.step();
    twin.int(corpus.train.length - 8); // step 1's draws
    for (let b = 1; b < 10; b++) twin.int(corpus.train.length - 8);
    for (let b = 0; b < 10; b++) {
      const start = twin.int(corpus.train.length - 8);
      for (let t = 0; t < 8; t++) expect(trainer.ws.inputIds[t * 10 + b]).toBe(corpus.train[start + t]);
    }
    // Zero state at every step: a carried state overwritten before step 2 changes nothing.
    const a = createLmTrainer(toyModel(corpus), corpus, config), b = createLmTrainer(toyModel(corpus), corpus, config);
    a.step();
    b.step();
    b.ws.state.forEach((layer) => layer.forEach((m) => m.data.fill(0.5)));
    expect(b.step().loss).toBe(a.step().loss);
    expect(() => createLmTrainer(toyModel(corpus), corpus, { ...CONFIG, batches: 'shuffled' as never })).toThrow(/expected batches 'streams' or 'random', got "shuffled"/);
  });
});

describe("init 'pytorch': initialised and optimised as nn.LSTM", () => {
  it('lists each cell bias twice for the optimizer (b_ih, b_hh), so Adam moves it 2·η in its first step', () => {
    const corpus = toyCorpus();
    const model = toyModel(corpus, { init: 'pytorch' });
    expect(model.config.init).toBe('pytorch');
    const { params } = lmOptimizerParameters(model);
    expect(Object.keys(params)).toEqual(['embedding.weight', 'rnn.l0.W_x', 'rnn.l0.W_a', 'rnn.l0.b', 'rnn.l0.b.hh', 'head.W', 'head.b']);
    expect(params['rnn.l0.b.hh']).toBe(params['rnn.l0.b']);
    expect(Object.keys(lmOptimizerParameters(toyModel(corpus)).params)).not.toContain('rnn.l0.b.hh');
    // Adam's first step is η·g/(|g| + ε) ≈ η·sign(g) per update: b gets two updates, W_a one.
    const b0 = params['rnn.l0.b'].clone(), w0 = params['rnn.l0.W_a'].clone();
    const trainer = createLmTrainer(model, corpus, { ...CONFIG, clip: null });
    trainer.step();
    const { grads } = lmOptimizerParameters(model);
    // Entries with |g| > 1e−4, where ε = 1e−8 changes the step by < 1e−4 of itself.
    const moves = (name: string, before: Matrix): number[] =>
      Array.from(params[name].data, (v, i) => (Math.abs(grads[name].data[i]) > 1e-4 ? Math.abs(v - before.data[i]) : -1)).filter((m) => m >= 0);
    expect(moves('rnn.l0.b', b0).length).toBeGreaterThan(10);
    for (const m of moves('rnn.l0.b', b0)) expect(m).toBeCloseTo(2 * 0.01, 5);
    for (const m of moves('rnn.l0.W_a', w0)) expect(m).toBeCloseTo(0.01, 5);
  });

  it('resumes a checkpoint bit-identically (the optimizer state holds both bias entries)', () => {
    const corpus = toyCorpus();
    const straight = createLmTrainer(toyModel(corpus, { init: 'pytorch' }), corpus, CONFIG);
    straight.run({ maxSteps: 6 });
    const file = path.join(dir, 'ckpt-pt.json');
    createLmTrainer(toyModel(corpus, { init: 'pytorch' }), corpus, CONFIG).run({ maxSteps: 3, checkpointPath: file });
    const resumed = resumeLmTrainer(readLmCheckpoint(file), corpus);
    expect(Object.keys(resumed.optimizer.slots)).toContain('rnn.l0.b.hh');
    resumed.run({ maxSteps: 6 });
    expect(bits(resumed)).toEqual(bits(straight));
  });
});

describe('truncated BPTT trainer', () => {
  it('cuts B parallel streams of L = ⌊N/B⌋ tokens and feeds chunk k at positions b·L + k·T + t', () => {
    const corpus = toyCorpus();
    const trainer = createLmTrainer(toyModel(corpus), corpus, CONFIG);
    const L = Math.floor(corpus.train.length / 10);
    expect(trainer.streamLength).toBe(L);
    expect(trainer.stepsPerEpoch).toBe(Math.floor((L - 1) / 8));
    trainer.step();
    trainer.step(); // chunk 1
    for (let t = 0; t < 8; t++) {
      for (let b = 0; b < 10; b++) expect(trainer.ws.inputIds[t * 10 + b]).toBe(corpus.train[b * L + 8 + t]);
    }
  });

  it('allocates no matrix per step after warm-up (workspaces are reused, evaluation included)', () => {
    const corpus = toyCorpus();
    const trainer = createLmTrainer(toyModel(corpus), corpus, CONFIG);
    trainer.run({ maxSteps: 2 }); // warm-up: the evaluation workspace is made at the first evaluation
    const zeros = vi.spyOn(Matrix, 'zeros');
    try {
      trainer.run({ maxSteps: 22, evalEvery: 10 });
      expect(zeros).not.toHaveBeenCalled();
    } finally {
      zeros.mockRestore();
    }
    expect(trainer.position.step).toBe(22);
  });

  it('refuses a corpus too small for one step, naming the sizes', () => {
    const corpus = prepareLmCorpus('a\nb\n', { level: 'char', valFraction: 0 });
    expect(() => createLmTrainer(toyModel(corpus), corpus, CONFIG)).toThrow(/training split has 4 tokens; batch 10 × \(seq-len 8 \+ 1\) = 90/);
  });

  it('is deterministic under the seed and changes with it', () => {
    const corpus = toyCorpus();
    const run = (seed: number): Record<string, number[]> => {
      const t = createLmTrainer(toyModel(corpus, { seed }), corpus, CONFIG);
      t.run({ maxSteps: 6 });
      return bits(t);
    };
    expect(run(3)).toEqual(run(3));
    expect(run(3)).not.toEqual(run(4));
  });

  it('resumes bit-identically: K steps + checkpoint + load + (N − K) steps = N steps straight', () => {
    const corpus = toyCorpus();
    const N = 30, K = 17; // 13 steps per epoch: the run crosses two epoch boundaries, the cut is mid-epoch
    const straight = createLmTrainer(toyModel(corpus), corpus, CONFIG);
    expect(straight.stepsPerEpoch).toBe(13);
    straight.run({ maxSteps: N, evalEvery: 5 });

    const file = path.join(dir, 'ckpt.json');
    const first = createLmTrainer(toyModel(corpus), corpus, CONFIG);
    first.run({ maxSteps: K, evalEvery: 5, checkpointPath: file });
    // A fresh process-like state: everything comes from the file and the corpus text.
    const checkpoint = readLmCheckpoint(file);
    const again = prepareLmCorpus(toyText(600), { level: 'word', valFraction: 0.1, vocab: checkpoint.model.vocab });
    const resumed = resumeLmTrainer(checkpoint, again);
    expect(resumed.position).toEqual({ step: K, epoch: 1, chunk: 4 });
    resumed.run({ maxSteps: N, evalEvery: 5 });

    expect(bits(resumed)).toEqual(bits(straight));
    expect(resumed.lossHistory).toEqual(straight.lossHistory);
    expect(resumed.position).toEqual(straight.position);
    expect(resumed.optimizer.step).toBe(N);
    expect(resumed.rng.getState()).toEqual(straight.rng.getState());
    // Same evaluations at the same steps (the first run's end-of-run evaluation at K is extra).
    const at = (t: LmTrainer): number[][] => t.evaluations.filter((e) => e.step !== K).map((e) => [e.step, e.loss]);
    expect(at(resumed)).toEqual(at(straight));
    expect(at(straight).map(([step]) => step)).toEqual([5, 10, 15, 20, 25, 30]);
  });

  it('refuses to resume on other data', () => {
    const corpus = toyCorpus();
    const file = path.join(dir, 'ckpt.json');
    createLmTrainer(toyModel(corpus), corpus, CONFIG).run({ maxSteps: 2, checkpointPath: file });
    const checkpoint = readLmCheckpoint(file);
    const other = prepareLmCorpus(toyText(600, 6), { level: 'word', valFraction: 0.1, vocab: checkpoint.model.vocab });
    expect(() => resumeLmTrainer(checkpoint, other)).toThrow(/checkpoint was made on other data/);
  });

  it('stops at a NaN gradient naming the step and tensor, keeping the last good checkpoint', () => {
    const corpus = toyCorpus();
    const file = path.join(dir, 'ckpt.json');
    const trainer = createLmTrainer(toyModel(corpus), corpus, CONFIG);
    let err: unknown;
    try {
      trainer.run({
        maxSteps: 20, checkpointPath: file, checkpointEvery: 5,
        afterBackward: (step, grads) => {
          if (step === 7) grads['rnn.l0.W_a'].data[13] = NaN;
        },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NumericalError);
    const e = err as NumericalError;
    expect(e.step).toBe(7);
    expect(e.tensor).toBe('grad of rnn.l0.W_a');
    expect(e.message).toBe(`NaN in grad of rnn.l0.W_a at step 7 (entry [1, 5]); training stopped, the last good checkpoint ${file} (step 5) is kept`);
    const kept = readLmCheckpoint(file);
    expect(kept.state.position.step).toBe(5);
    for (const p of Object.values(lmParameters(kept.model))) expect(p.data.every(Number.isFinite)).toBe(true);
    expect(trainer.position.step).toBe(6); // step 7 made no update
  });

  it('stops at a non-finite loss and names the first bad weight', () => {
    const corpus = toyCorpus();
    const model = toyModel(corpus);
    const trainer = createLmTrainer(model, corpus, CONFIG);
    trainer.run({ maxSteps: 3 });
    lmParameters(model)['head.b'].data[2] = Infinity;
    expect(() => trainer.run({ maxSteps: 5 })).toThrow(/^NaN in loss at step 4 \(first non-finite weight: head\.b\); training stopped/);
  });

  it('clips by global norm as PyTorch (update norm = maxNorm·‖g‖/(‖g‖ + 1e−6)) and reports ‖g‖/maxNorm', () => {
    const corpus = toyCorpus();
    const model = toyModel(corpus, { dtype: 'float64' });
    const maxNorm = 0.01;
    const trainer = createLmTrainer(model, corpus, { seqLen: 8, batch: 10, optimizer: { kind: 'sgd', lr: 1 }, clip: { mode: 'norm', max: maxNorm } });
    const before = Object.values(lmParameters(model)).map((p) => Float64Array.from(p.data));
    const info = trainer.step();
    let sq = 0;
    Object.values(lmParameters(model)).forEach((p, i) => p.data.forEach((v, j) => { sq += (v - before[i][j]) ** 2; }));
    expect(info.gradNorm).toBeGreaterThan(maxNorm);
    expect(info.clipRatio).toBeCloseTo(info.gradNorm / maxNorm, 12);
    expect(Math.sqrt(sq)).toBeCloseTo(maxNorm * info.gradNorm / (info.gradNorm + 1e-6), 12);
  });

  it('clips by value: every update entry within ±m, the largest exactly m; ratio max|g|/m', () => {
    const corpus = toyCorpus();
    const model = toyModel(corpus, { dtype: 'float64' });
    const m = 1e-3;
    const trainer = createLmTrainer(model, corpus, { seqLen: 8, batch: 10, optimizer: { kind: 'sgd', lr: 1 }, clip: { mode: 'value', max: m } });
    const before = Object.values(lmParameters(model)).map((p) => Float64Array.from(p.data));
    const info = trainer.step();
    let largest = 0;
    Object.values(lmParameters(model)).forEach((p, i) => p.data.forEach((v, j) => { largest = Math.max(largest, Math.abs(v - before[i][j])); }));
    expect(info.clipRatio).toBeGreaterThan(1);
    expect(largest).toBeCloseTo(m, 15);
  });

  it('evaluates loss, perplexity and bits per token: a model that outputs uniform logits scores ln V', () => {
    const corpus = toyCorpus();
    const model = toyModel(corpus);
    zero(model.output.params.W);
    zero(model.output.params.b!);
    const V = corpus.vocab.size;
    const e = evaluateLanguageModel(model, corpus.validation, { seqLen: 7, batch: 4 });
    const L = Math.floor(corpus.validation.length / 4);
    expect(e.tokens).toBe(4 * (L - 1));
    expect(e.loss).toBeCloseTo(Math.log(V), 6);
    expect(e.perplexity).toBeCloseTo(V, 5);
    expect(e.bitsPerToken).toBeCloseTo(Math.log2(V), 6);
  });

  it('learns a 3-word toy corpus down to its entropy: (ln 3 + 0)/2 nats per token', () => {
    // After <EOS> each of 3 words has P = 1/3; after a word, <EOS> is certain. A unigram model
    // would get ½ln 2 + ½ln 6 ≈ 1.24; the true conditional entropy is ½ln 3 ≈ 0.549.
    const corpus = toyCorpus(1200);
    const trainer = createLmTrainer(toyModel(corpus), corpus, { ...CONFIG, optimizer: { kind: 'adam', lr: 0.02 } });
    const result = trainer.run({ maxSteps: 300, evalEvery: 100 });
    const entropy = Math.log(3) / 2;
    const val = result.lastEvaluation!.loss;
    expect(val).toBeLessThan(entropy + 0.06);
    expect(val).toBeGreaterThan(entropy - 0.06); // nothing beats the entropy (up to sampling noise)
    expect(result.finalLoss).toBeLessThan(entropy + 0.06);
    expect(result.evaluations[0].loss).toBeGreaterThan(val);
  });

  it('stops early when validation stops improving, and at the time limit', () => {
    const corpus = toyCorpus();
    const frozen = createLmTrainer(toyModel(corpus), corpus, { ...CONFIG, optimizer: { kind: 'sgd', lr: 0 } });
    const r = frozen.run({ maxSteps: 50, evalEvery: 1, patience: 1 }); // lr 0: the loss never improves
    expect(r.stopReason).toBe('early-stopping');
    expect(r.steps).toBe(2);

    let clock = 0;
    const timed = createLmTrainer(toyModel(corpus), corpus, CONFIG);
    const t = timed.run({ maxSteps: 1000, timeLimitSeconds: 10, now: () => (clock += 1000) });
    expect(t.stopReason).toBe('time-limit');
    expect(t.steps).toBeGreaterThan(0);
    expect(t.steps).toBeLessThan(10);
  });

  it('a stop request ends the run after the step under way; the end of the run evaluates and checkpoints there', () => {
    const corpus = toyCorpus();
    const file = path.join(dir, 'ckpt.json');
    const controller = new AbortController();
    const trainer = createLmTrainer(toyModel(corpus), corpus, CONFIG);
    const r = trainer.run({
      maxSteps: 20, evalEvery: 5, checkpointPath: file, signal: controller.signal,
      onProgress: (p) => {
        if (p.step === 7) controller.abort();
      },
    });
    expect(r.stopReason).toBe('interrupted');
    expect(r.steps).toBe(7);
    expect(r.evaluations.map((e) => e.step)).toEqual([5, 7]);
    expect(readLmCheckpoint(file).state.position.step).toBe(7);
  });

  it('early stopping puts back the weights of the best evaluation', () => {
    // A learning rate far too large makes validation worse after the first evaluation; the run must
    // end with the weights it had at that (best) evaluation, not the last ones.
    const corpus = toyCorpus();
    const trainer = createLmTrainer(toyModel(corpus), corpus, { ...CONFIG, optimizer: { kind: 'sgd', lr: 50 }, clip: null });
    const params = lmParameters(trainer.model);
    let best: { loss: number; weights: Record<string, number[]> } | null = null;
    const r = trainer.run({
      maxSteps: 40, evalEvery: 1, patience: 3,
      onEvaluation: (e) => {
        if (best === null || e.loss < best.loss) {
          best = { loss: e.loss, weights: Object.fromEntries(Object.entries(params).map(([k, m]) => [k, Array.from(m.data)])) };
        }
      },
    });
    expect(r.stopReason).toBe('early-stopping');
    expect(r.restoredBest).toBe(true);
    expect(best).not.toBeNull();
    expect(r.bestEvaluation?.loss).toBe(best!.loss);
    for (const [name, m] of Object.entries(params)) expect(Array.from(m.data), name).toEqual(best!.weights[name]);
  });
});
