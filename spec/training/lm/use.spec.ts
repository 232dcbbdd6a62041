import { describe, expect, it } from 'vitest';
import { Rng } from '../../../engine/rng.js';
import { beamSearch, scoreSequence } from '../../../training/decode/beam.js';
import { createLanguageModel, lmParameters, type LanguageModel } from '../../../training/lm/model.js';
import { beamText, createLmStepper, greedyText, sampleText, sentenceLogProb } from '../../../training/lm/use.js';
import { EOS, UNK, Vocabulary } from '../../../training/text/vocab.js';

const words = ['<EOS>', '<UNK>', 'the', 'apple', 'and', 'pear', 'salad', 'is', 'good'];
const wordVocab = new Vocabulary(words, words.map(() => 1));

function wordModel(seed = 2): LanguageModel {
  const model = createLanguageModel({
    level: 'word', lowercase: true, cell: 'lstm', hidden: 5, embeddingDim: 3, seed, vocab: wordVocab,
  }, { dtype: 'float64' });
  // Weights of order 1, so the distributions are far from uniform.
  const rng = new Rng(seed + 100);
  for (const p of Object.values(lmParameters(model))) for (let i = 0; i < p.data.length; i++) p.data[i] = rng.uniformIn(-1.5, 1.5);
  return model;
}

/**
 * An independent forward pass of the notes' LSTM language model with plain arrays:
 *   x = E[y⟨t−1⟩];  [z_u z_f z_c z_o] = W_x·x + W_a·a + b  (PyTorch's gate order [i f g o]);
 *   Γu, Γf, Γo = σ(·), c̃ = tanh(z_c);  c = Γu c̃ + Γf c;  a = Γo tanh(c);  z = W_ya·a + b_y
 * and log softmax(z)[y⟨t⟩] at each step.
 */
function referenceLogProbs(model: LanguageModel, ids: number[]): number[] {
  const P = Object.fromEntries(Object.entries(lmParameters(model)).map(([k, m]) => [k, m.toArray()]));
  const H = model.config.hidden, V = model.vocab.size;
  const sigma = (v: number): number => 1 / (1 + Math.exp(-v));
  let a = new Array<number>(H).fill(0), c = new Array<number>(H).fill(0);
  const out: number[] = [];
  let input = model.vocab.id(EOS);
  for (const y of ids) {
    const x = P['embedding.weight'][input];
    const z = (row: number): number => {
      let s = P['rnn.l0.b'][0][row];
      x.forEach((xv, k) => { s += P['rnn.l0.W_x'][row][k] * xv; });
      a.forEach((av, k) => { s += P['rnn.l0.W_a'][row][k] * av; });
      return s;
    };
    const nextA: number[] = [], nextC: number[] = [];
    for (let j = 0; j < H; j++) {
      const u = sigma(z(j)), f = sigma(z(H + j)), g = Math.tanh(z(2 * H + j)), o = sigma(z(3 * H + j));
      nextC.push(u * g + f * c[j]);
      nextA.push(o * Math.tanh(nextC[j]));
    }
    a = nextA;
    c = nextC;
    const logits = Array.from({ length: V }, (_, v) => P['head.b'][0][v] + a.reduce((s, av, k) => s + P['head.W'][v][k] * av, 0));
    const logSum = Math.log(logits.reduce((s, l) => s + Math.exp(l), 0));
    out.push(logits[y] - logSum);
    input = y;
  }
  return out;
}

describe('sentence probability by the chain rule', () => {
  it('equals Σ_t log softmax(z⟨t⟩)[y⟨t⟩] of an independent step-by-step forward pass', () => {
    const model = wordModel();
    for (const text of ['The apple and pear salad', 'The apple and pair salad']) {
      const score = sentenceLogProb(model, text);
      const ids = score.tokens.map((t) => model.vocab.id(t));
      const reference = referenceLogProbs(model, ids);
      expect(score.tokens.at(-1)).toBe(EOS);
      expect(score.tokenLogProbs.length).toBe(reference.length);
      score.tokenLogProbs.forEach((lp, t) => expect(lp).toBeCloseTo(reference[t], 12));
      const total = reference.reduce((s, v) => s + v, 0);
      expect(score.logProb).toBeCloseTo(total, 12);
      expect(score.bits).toBeCloseTo(-total / Math.LN2, 12);
      expect(score.perplexity).toBeCloseTo(Math.exp(-total / ids.length), 12);
    }
    const pair = sentenceLogProb(model, 'The apple and pair salad');
    expect(pair.unknownTokens).toBe(1);
    expect(pair.tokens).toEqual(['the', 'apple', 'and', UNK, 'salad', EOS]);
    expect(sentenceLogProb(model, 'The apple and pear salad').logProb).not.toBeCloseTo(pair.logProb, 3);
  });

  it('agrees with the step function scored through beam.ts (one token at a time)', () => {
    const model = wordModel(3);
    const score = sentenceLogProb(model, 'the pear is good');
    const stepper = createLmStepper(model);
    const viaSteps = scoreSequence({
      step: stepper.step, initialState: stepper.initialState(), startToken: model.vocab.id(EOS),
      tokens: score.tokens.map((t) => model.vocab.id(t)),
    });
    expect(viaSteps.logProb).toBeCloseTo(score.logProb, 12);
  });
});

describe('sampling novel sequences', () => {
  it('is deterministic by seed and differs between seeds', () => {
    const model = wordModel();
    const a = sampleText(model, { count: 8, seed: 4 }).map((s) => s.text);
    expect(sampleText(model, { count: 8, seed: 4 }).map((s) => s.text)).toEqual(a);
    expect(sampleText(model, { count: 8, seed: 5 }).map((s) => s.text)).not.toEqual(a);
  });

  it('stops at <EOS> or the length limit and never emits <UNK> unless allowed', () => {
    const model = wordModel();
    const unk = model.vocab.id(UNK);
    model.output.params.b!.data[unk] = 30; // <UNK> now has almost all the probability
    const forbidden = sampleText(model, { count: 5, seed: 1, maxLength: 6 });
    for (const s of forbidden) {
      expect(s.tokens).not.toContain(UNK);
      expect(s.finished ? s.tokens.at(-1) === EOS : s.tokens.length === 6).toBe(true);
    }
    const allowed = sampleText(model, { count: 5, seed: 1, maxLength: 6, forbidUnk: false });
    expect(allowed.flatMap((s) => s.tokens).filter((t) => t === UNK).length).toBeGreaterThan(20);
  });

  it('multiline sampling draws exactly maxLength tokens, each <EOS> a line break', () => {
    const model = wordModel();
    const [s] = sampleText(model, { seed: 3, maxLength: 25, multiline: true });
    expect(s.tokens).toHaveLength(25);
    expect(s.text.split('\n')).toHaveLength(s.tokens.filter((t) => t === EOS).length + 1);
  });

  it('greedy decoding equals temperature 0 and a beam of width 1', () => {
    const model = wordModel(6);
    const greedy = greedyText(model, { maxLength: 8 });
    expect(sampleText(model, { temperature: 0, maxLength: 8 })[0].tokens).toEqual(greedy.tokens);
    expect(beamText(model, { beamWidth: 1, maxLength: 8 })[0].tokens).toEqual(greedy.tokens);
  });

  it('beam hypotheses carry the chain-rule log-probability of their text', () => {
    const model = wordModel(7);
    const hyps = beamText(model, { beamWidth: 4, nBest: 3, maxLength: 6 });
    expect(hyps.length).toBe(3);
    for (const h of hyps.filter((x) => x.finished)) {
      expect(h.logProb).toBeCloseTo(sentenceLogProb(model, h.text).logProb, 10);
    }
    for (let i = 1; i < hyps.length; i++) expect(hyps[i - 1].score).toBeGreaterThanOrEqual(hyps[i].score);
  });

  it('the batched beam (all hypotheses one lmForward) gives beamSearch\'s n-best over the one-row step function', () => {
    for (const [seed, prefix] of [[8, undefined], [9, 'the apple']] as const) {
      const model = wordModel(seed);
      const stepper = createLmStepper(model);
      let state = stepper.initialState();
      let start = model.vocab.id(EOS);
      for (const w of prefix ? prefix.split(' ') : []) {
        state = stepper.step(state, start).state;
        start = model.vocab.id(w);
      }
      const forbid = [model.vocab.id(UNK)];
      const reference = beamSearch({ step: stepper.step, initialState: state, startToken: start, eosToken: model.vocab.id(EOS), beamWidth: 5, nBest: 4, maxLength: 7, forbid, lengthPenalty: { kind: 'notes' } });
      const batched = beamText(model, { beamWidth: 5, nBest: 4, maxLength: 7, prefix, lengthPenalty: { kind: 'notes' } });
      expect(batched.map((h) => h.tokens)).toEqual(reference.map((h) => model.vocab.decode(h.tokens)));
      batched.forEach((h, i) => {
        expect(h.finished).toBe(reference[i].finished);
        expect(Math.abs(h.logProb - reference[i].logProb)).toBeLessThan(1e-10);
        expect(Math.abs(h.score - reference[i].score)).toBeLessThan(1e-10);
      });
    }
  });
});
