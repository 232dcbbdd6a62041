/**
 * The language model's token sampler (the fast path of sampleText / greedyText): its logits against
 * the generic step (createLmStepper: lmForward with T = B = 1) — the same bits on js, float32
 * tolerance on wasm — for every cell it runs, one-hot and embedding input, one and two layers; the
 * same sequences as the generic path's sampleSequence on a fixed seed (greedy, temperature, top-k,
 * prefix); state in and out; and the cells it does not run left to the generic path.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../../engine/backend.js';
import { Matrix } from '../../../engine/matrix.js';
import { logSoftmaxRow } from '../../../engine/softmax.js';
import { Rng } from '../../../engine/rng.js';
import { initWasmBackend, type WasmBackend } from '../../../engine/wasm/index.js';
import type { CellKind } from '../../../layers/cells/cell.js';
import { sampleSequence } from '../../../training/decode/sampling.js';
import { createLanguageModel, lmParameters, type LanguageModel, type LanguageModelOptions } from '../../../training/lm/model.js';
import { createLmTokenSampler } from '../../../training/lm/token-sampler.js';
import { createLmStepper, greedyText, sampleText, type LmState } from '../../../training/lm/use.js';
import { EOS, UNK, Vocabulary } from '../../../training/text/vocab.js';

let wasm: WasmBackend;
beforeAll(async () => {
  wasm = (await initWasmBackend()) as WasmBackend;
});
afterEach(() => {
  setBackend('js');
});

const chars = [EOS, UNK, ...'abcdefghijklmnopqrst'];
const vocab = new Vocabulary(chars, chars.map(() => 1));

/** A model made on `backend` (its weights in that backend's memory), weights of order 1 so distributions are peaked. */
function model(backend: 'js' | 'wasm', opts: LanguageModelOptions, seed = 3): LanguageModel {
  setBackend(backend);
  const m = createLanguageModel({ level: 'char', hidden: 8, seed, vocab, ...opts });
  const rng = new Rng(seed + 50);
  for (const p of Object.values(lmParameters(m))) for (let i = 0; i < p.data.length; i++) p.data[i] = rng.uniformIn(-1, 1);
  return m;
}

const cases: [string, LanguageModelOptions][] = [
  ['lstm one-hot', { cell: 'lstm' }],
  ['lstm embedding, 2 layers', { cell: 'lstm', embeddingDim: 5, layers: 2 }],
  ['gru-reset-after one-hot, 2 layers', { cell: 'gru-reset-after', layers: 2 }],
  ['gru-reset-after embedding', { cell: 'gru-reset-after', embeddingDim: 6 }],
  ['rnn tanh embedding', { cell: 'rnn', embeddingDim: 7 }],
  ['rnn relu one-hot, 2 layers', { cell: 'rnn', activation: 'relu', layers: 2 }],
  ['lstm H 12 (not a multiple of 8)', { cell: 'lstm', hidden: 12, embeddingDim: 4 }],
];

/** 40 token ids (repeats included, so table rows are reused). */
function tokenIds(): number[] {
  const rng = new Rng(11);
  return Array.from({ length: 40 }, () => rng.int(vocab.size));
}

/** Feed `ids` to both paths; the largest |difference| of the log-probabilities over all steps. */
function largestDifference(m: LanguageModel, ids: number[]): number {
  const sampler = createLmTokenSampler(m);
  expect(sampler).not.toBeNull();
  sampler!.reset();
  const stepper = createLmStepper(m);
  let state: LmState = stepper.initialState();
  const fast = new Float64Array(vocab.size);
  let worst = 0;
  for (const id of ids) {
    const logits = sampler!.step(id);
    logSoftmaxRow(fast, 0, logits, 0, vocab.size);
    const out = stepper.step(state, id);
    state = out.state;
    for (let v = 0; v < vocab.size; v++) worst = Math.max(worst, Math.abs(fast[v] - out.logProbs[v]));
  }
  return worst;
}

describe('LmTokenSampler against the generic step', () => {
  for (const [name, opts] of cases) {
    it(`${name}: js gives the generic step's bits; wasm the same numbers to float32 rounding`, () => {
      const ids = tokenIds();
      expect(largestDifference(model('js', opts), ids)).toBe(0);
      const before = wasm.tokenSteps.wasmCalls;
      expect(largestDifference(model('wasm', opts), ids)).toBeLessThan(2e-5);
      if ((opts.hidden ?? 8) % 4 === 0) expect(wasm.tokenSteps.wasmCalls).toBeGreaterThan(before + ids.length);
    });
  }

  it('float64 models run on the js kernels (the gradient checks\' dtype)', () => {
    setBackend('js');
    const m = createLanguageModel({ level: 'char', cell: 'lstm', hidden: 6, embeddingDim: 3, seed: 4, vocab }, { dtype: 'float64' });
    expect(largestDifference(m, tokenIds())).toBe(0);
  });

  it('reset(state) restarts a stream where state() left it; wrong tokens and states are refused', () => {
    const m = model('wasm', { cell: 'lstm', layers: 2 });
    const s = createLmTokenSampler(m)!;
    s.reset();
    for (const t of [2, 5, 7]) s.step(t);
    const saved = s.state();
    const next = Array.from(s.step(9));
    s.step(4);
    s.reset(saved);
    expect(Array.from(s.step(9))).toEqual(next);
    s.reset();
    const fromZero = Array.from(s.step(9));
    s.reset(saved.map((layer) => layer.map((x) => Matrix.zeros(1, x.cols))));
    expect(Array.from(s.step(9))).toEqual(fromZero);
    expect(() => s.step(vocab.size)).toThrow(/LmTokenSampler.step: expected a token id in \[0, 22\), got 22/);
    expect(() => s.step(1.5)).toThrow(/token id/);
    expect(() => s.reset([saved[0]])).toThrow(/expected the state of 2 layer\(s\), got 1/);
  });

  it('cells without a token step (peephole LSTM, the notes\' GRU, layer norm) get null: the generic path stays', () => {
    for (const opts of [{ cell: 'lstm-peephole' as CellKind }, { cell: 'gru' as CellKind }, { cell: 'lstm' as CellKind, layerNorm: true }]) {
      const m = model('wasm', opts);
      expect(createLmTokenSampler(m)).toBeNull();
      expect(sampleText(m, { seed: 2, maxLength: 6 })[0].tokens.length).toBeGreaterThan(0);
    }
  });
});

/** The generic path's draws, as sampleText made them before the token sampler: sampleSequence over createLmStepper. */
function genericSample(m: LanguageModel, opts: { seed: number; count: number; maxLength: number; temperature?: number; topK?: number; prefix?: string; greedy?: boolean }): string[][] {
  const stepper = createLmStepper(m);
  const eos = m.vocab.id(EOS);
  let state = stepper.initialState();
  let start = eos;
  for (const ch of opts.prefix ?? '') {
    state = stepper.step(state, start).state;
    start = m.vocab.id(ch);
  }
  const rng = new Rng(opts.seed);
  return Array.from({ length: opts.count }, () => m.vocab.decode(sampleSequence({
    step: stepper.step, initialState: state, startToken: start, eosToken: eos, maxLength: opts.maxLength, rng,
    greedy: opts.greedy, temperature: opts.temperature, topK: opts.topK, forbid: [m.vocab.id(UNK)],
  }).tokens));
}

describe('sampleText and greedyText on the token sampler', () => {
  for (const backend of ['js', 'wasm'] as const) {
    it(`${backend}: the generic path's sequences on fixed seeds — temperature 1, 0.6, 1.5, top-k 4, a prefix, greedy`, () => {
      const m = model(backend, { cell: 'lstm', embeddingDim: 5, hidden: 16 }, 7);
      const calls = wasm.tokenSteps.wasmCalls;
      for (const seed of [1, 2, 3]) {
        for (const o of [{}, { temperature: 0.6 }, { temperature: 1.5 }, { topK: 4 }, { prefix: 'abc' }]) {
          const fast = sampleText(m, { seed, count: 4, maxLength: 30, ...o }).map((s) => s.tokens);
          expect(fast).toEqual(genericSample(m, { seed, count: 4, maxLength: 30, ...o }));
        }
      }
      expect(greedyText(m, { maxLength: 30, prefix: 'ab' }).tokens).toEqual(genericSample(m, { seed: 0, count: 1, maxLength: 30, prefix: 'ab', greedy: true })[0]);
      // on wasm the draws came through the token kernels
      if (backend === 'wasm') expect(wasm.tokenSteps.wasmCalls - calls).toBeGreaterThan(1000);
      else expect(wasm.tokenSteps.wasmCalls).toBe(calls);
    });
  }

  it('the log-probability of a sampled sequence is the generic path\'s (to float32 rounding on wasm)', () => {
    const m = model('wasm', { cell: 'gru-reset-after', hidden: 12 }, 5);
    const [fast] = sampleText(m, { seed: 9, maxLength: 40 });
    const stepper = createLmStepper(m);
    let state = stepper.initialState();
    let input = m.vocab.id(EOS);
    let logProb = 0;
    for (const t of fast.tokens) {
      const out = stepper.step(state, input);
      logProb += out.logProbs[m.vocab.id(t)];
      state = out.state;
      input = m.vocab.id(t);
    }
    expect(fast.logProb).toBeCloseTo(logProb, 4);
  });
});
