import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { sentimentCommand } from '../../../cli/commands/sentiment.js';
import { Matrix } from '../../../engine/matrix.js';
import { Rng } from '../../../engine/rng.js';
import {
  buildSentimentVocabulary, encodeSentence, evaluateSentiment, predictSentiment, trainSentiment,
  type SentimentExample,
} from '../../../training/sentiment/sentiment.js';
import { averageModelFactory, makeSentimentBatch } from '../../../training/classify/sentence-classifier.js';
import { type LstmSentimentModel, lstmModelFactory } from '../../../training/sentiment/lstm.js';
import { makeWordVectors } from '../../../training/io/vectors.js';
import { Vocabulary } from '../../../training/text/vocab.js';

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/** A d = 1, H = 1 model with hand-set weights: W_x = [w_i, w_f, w_g, w_o], W_a = [u_i, u_f, u_g, u_o], b. */
function tinyModel(): { model: LstmSentimentModel; E: number[]; w: number[]; u: number[]; b: number[]; Wy: number[][]; by: number[] } {
  const words = ['<PAD>', '<UNK>', 'good', 'bad'];
  const vocab = new Vocabulary(words, words.map(() => 1));
  const model = lstmModelFactory.create(vocab, ['neg', 'pos'], new Rng(1), { dim: 1, hidden: 1, dtype: 'float64' }) as LstmSentimentModel;
  const E = [0, 0, 0.7, -1.2], w = [0.5, -0.3, 1.1, 0.8], u = [0.2, 0.9, -0.6, 0.4], b = [0.1, 1, -0.2, 0.3];
  const Wy = [[1.5], [-2]], by = [0.25, -0.5];
  const p = model.params();
  p.E.data.set(E);
  p['rnn.l0.W_x'].data.set(w);
  p['rnn.l0.W_a'].data.set(u);
  p['rnn.l0.b'].data.set(b);
  p['head.W'].data.set(Wy.flat());
  p['head.b'].data.set(by);
  return { model, E, w, u, b, Wy, by };
}

describe('sentiment model (b): embedding → LSTM many-to-one → softmax', () => {
  it('computes the notes\' LSTM equations and reads each sentence\'s last valid state (hand computation, ragged batch)', () => {
    const { model, E, w, u, b, Wy, by } = tinyModel();
    // The notes' equations with gate order [Γu Γf c̃ Γo], scalar case.
    const step = (x: number, a: number, c: number): [number, number] => {
      const gu = sigmoid(w[0] * x + u[0] * a + b[0]);
      const gf = sigmoid(w[1] * x + u[1] * a + b[1]);
      const ct = Math.tanh(w[2] * x + u[2] * a + b[2]);
      const go = sigmoid(w[3] * x + u[3] * a + b[3]);
      const cNext = gu * ct + gf * c;
      return [go * Math.tanh(cNext), cNext];
    };
    const run = (ids: number[]): number[] => {
      let a = 0, c = 0;
      for (const id of ids) [a, c] = step(E[id], a, c);
      return [Wy[0][0] * a + by[0], Wy[1][0] * a + by[1]];
    };
    const sentences = [[2, 3, 2], [3], [2, 2]];
    const z = model.forward(makeSentimentBatch(sentences, [0, 1, 0], 0, 'float64'));
    sentences.forEach((s, i) => {
      const expected = run(s);
      expect(z.get(i, 0)).toBeCloseTo(expected[0], 12);
      expect(z.get(i, 1)).toBeCloseTo(expected[1], 12);
    });
  });

  it('gives an empty sentence the initial state a⟨0⟩ = 0, so z = b_y', () => {
    const { model, by } = tinyModel();
    const z = model.forward(makeSentimentBatch([[2, 3], []], [0, 1], 0, 'float64'));
    expect(z.toArray()[1]).toEqual(by);
  });

  it('bidirectional: the summary is [a→⟨T_b⟩, a←⟨1⟩], i.e. each direction\'s final state (checked against a one-way LSTM on the reversed words)', () => {
    const words = ['<PAD>', '<UNK>', 'a', 'b', 'c', 'd'];
    const vocab = new Vocabulary(words, words.map(() => 1));
    const rng = new Rng(7);
    const H = 2;
    const bi = lstmModelFactory.create(vocab, ['x', 'y'], rng, { dim: 3, hidden: H, bidirectional: true, dtype: 'float64', freeze: false });
    const uni = lstmModelFactory.create(vocab, ['x', 'y'], rng, { dim: 3, hidden: H, dtype: 'float64', freeze: false });
    const pb = bi.params(), pu = uni.params();
    pu.E.data.set(pb.E.data);
    pu['head.W'].data.set([1, 0, 0, 1]); // z = a⟨T⟩ of the one-way model
    pu['head.b'].data.fill(0);
    pb['head.b'].data.fill(0);
    const sentences = [[2, 3, 4, 5], [5, 2], [4]];
    const batch = makeSentimentBatch(sentences, [0, 0, 0], 0, 'float64');
    for (const [dir, reversed] of [['l0', false], ['l0_reverse', true]] as const) {
      for (const k of ['W_x', 'W_a', 'b']) pu[`rnn.l0.${k}`].data.set(pb[`rnn.${dir}.${k}`].data);
      // Read only one half of [a→, a←].
      pb['head.W'].data.set(reversed ? [0, 0, 1, 0, 0, 0, 0, 1] : [1, 0, 0, 0, 0, 1, 0, 0]);
      const zBi = bi.forward(batch).clone();
      const zUni = uni.forward(makeSentimentBatch(sentences.map((s) => (reversed ? s.slice().reverse() : s)), [0, 0, 0], 0, 'float64'));
      for (let i = 0; i < sentences.length; i++) for (let c = 0; c < H; c++) expect(zBi.get(i, c)).toBeCloseTo(zUni.get(i, c), 12);
    }
  });

  it('does not depend on padding: a sentence gets the same logits alone and in a longer ragged batch (2-layer bi-LSTM)', () => {
    const words = ['<PAD>', '<UNK>', 'a', 'b', 'c'];
    const vocab = new Vocabulary(words, words.map(() => 1));
    const model = lstmModelFactory.create(vocab, ['x', 'y', 'z'], new Rng(3), { dim: 4, hidden: 3, layers: 2, bidirectional: true, dtype: 'float64', freeze: false });
    const sentences = [[2, 3, 4, 2, 3, 4, 2], [4, 3], [2]];
    const together = model.forward(makeSentimentBatch(sentences, [0, 0, 0], 0, 'float64')).clone();
    sentences.forEach((s, i) => {
      const alone = model.forward(makeSentimentBatch([s], [0], 0, 'float64'));
      for (let c = 0; c < 3; c++) expect(together.get(i, c)).toBeCloseTo(alone.get(0, c), 12);
    });
  });

  it('throws on a backward without the matching forward and on a wrong dLogits shape', () => {
    const { model } = tinyModel();
    const batch = makeSentimentBatch([[2, 3], [3]], [0, 1], 0, 'float64');
    expect(() => model.backward(batch, Matrix.zeros(2, 2, 'float64'))).toThrow(/LstmSentimentModel.backward: expected the batch of the last forward/);
    model.forward(batch);
    expect(() => model.backward(batch, Matrix.zeros(2, 3, 'float64'))).toThrow(/expected dLogits \[2, 2\], got \[2, 3\]/);
    expect(() => model.backward(makeSentimentBatch([[2]], [0], 0, 'float64'), Matrix.zeros(1, 2, 'float64'))).toThrow(/last forward/);
  });
});

// ---------------------------------------------------------------------------------------------
// Word order: a corpus made of twin sentences with the same bag of words and opposite labels.

const POS = ['good', 'great', 'nice', 'fine'], NEG = ['bad', 'awful', 'poor', 'terrible'];
const PREFIXES = ['', 'the food was', 'the service is', 'it was', 'honestly'];
const example = (text: string, label: number): SentimentExample => ({ text: text.trim(), label, source: 'synthetic' });

/** Two twin pairs: "good , not bad" (+) / "bad , not good" (−) and "not good but bad" (−) / "not bad but good" (+). */
function twins(prefix: string, p: string, n: string): SentimentExample[] {
  return [
    example(`${prefix} ${p} , not ${n}`, 1), example(`${prefix} ${n} , not ${p}`, 0),
    example(`${prefix} not ${p} but ${n}`, 0), example(`${prefix} not ${n} but ${p}`, 1),
  ];
}

/** 30% of the (prefix, p, n) twin groups held out; training adds "good" / "not good" / "bad" / "not bad". */
function wordOrderCorpus(rng: Rng): { train: SentimentExample[]; test: SentimentExample[] } {
  const groups: SentimentExample[][] = [];
  for (const prefix of PREFIXES) for (const p of POS) for (const n of NEG) groups.push(twins(prefix, p, n));
  const order = rng.permutation(groups.length);
  const nTest = Math.round(groups.length * 0.3);
  const test = order.slice(0, nTest).flatMap((i) => groups[i]);
  const train = order.slice(nTest).flatMap((i) => groups[i]);
  for (const prefix of PREFIXES) {
    for (const p of POS) train.push(example(`${prefix} ${p}`, 1), example(`${prefix} not ${p}`, 0));
    for (const n of NEG) train.push(example(`${prefix} ${n}`, 0), example(`${prefix} not ${n}`, 1));
  }
  return { train, test };
}

const NOTES_SENTENCE = 'Completely lacking in good taste, good service, and good ambience.';
const NOUNS = ['taste', 'service', 'ambience', 'food', 'staff', 'music', 'prices', 'decor', 'drinks', 'value', 'coffee', 'location'];

/** "good X", "good X and good Y", "good X, good Y, and good Z". */
function goodList(nouns: string[]): string {
  const parts = nouns.map((n) => `good ${n}`);
  if (parts.length === 1) return parts[0];
  if (parts.length === 2) return `${parts[0]} and ${parts[1]}`;
  return `${parts.slice(0, -1).join(', ')}, and ${parts[parts.length - 1]}`;
}

/** "[Completely l|L]acking in <good list>." (−) and "[Really ]Good …." (+), never the notes' sentence itself. */
function lackingCorpus(rng: Rng, n: number): SentimentExample[] {
  const out: SentimentExample[] = [];
  while (out.length < n) {
    const nouns = rng.permutation(NOUNS.length).slice(0, 1 + rng.int(3)).map((i) => NOUNS[i]);
    const list = goodList(nouns);
    const lacking = rng.uniform() < 0.5, completely = rng.uniform() < 0.5;
    const text = lacking
      ? `${completely ? 'Completely l' : 'L'}acking in ${list}.`
      : `${completely ? 'Really ' : ''}${list[0].toUpperCase()}${list.slice(1)}.`;
    if (text !== NOTES_SENTENCE) out.push(example(text, lacking ? 0 : 1));
  }
  return out;
}

describe('sentiment model (b) vs (a) where word order matters', () => {
  it('the LSTM reaches ≥ 95% on held-out twin sentences; the average model cannot exceed 50% there', () => {
    const rng = new Rng(1);
    const { train, test } = wordOrderCorpus(rng);
    const vocab = buildSentimentVocabulary(train);
    const lstm = lstmModelFactory.create(vocab, ['neg', 'pos'], rng, { dim: 8, hidden: 16 });
    trainSentiment(lstm, train, { epochs: 15, batchSize: 16, optimizer: { kind: 'adam', lr: 0.02 }, rng });
    expect(evaluateSentiment(lstm, test).accuracy).toBeGreaterThanOrEqual(0.95);

    // The bound: model (a)'s logits depend on the multiset of words only (the mean is invariant
    // under permutation), so both sentences of a twin pair get the same class while their labels
    // differ — exactly one of each pair is right, whatever the weights: accuracy = 50% on a set of
    // complete pairs. (float64, so reordered sums cannot break an exact tie by rounding noise.)
    const avg = averageModelFactory.create(vocab, ['neg', 'pos'], rng, { dim: 8, dtype: 'float64' });
    trainSentiment(avg, train, { epochs: 15, batchSize: 16, optimizer: { kind: 'adam', lr: 0.02 }, rng });
    const predictions = predictSentiment(avg, test.map((e) => e.text));
    for (let i = 0; i < test.length; i += 2) expect(predictions[i]).toBe(predictions[i + 1]);
    expect(evaluateSentiment(avg, test).accuracy).toBeLessThanOrEqual(0.5);
  });

  it('classifies the notes\' "Completely lacking in good taste, good service, and good ambience" as negative', () => {
    const rng = new Rng(2);
    const train = lackingCorpus(rng, 200);
    expect(train.some((e) => e.text === NOTES_SENTENCE)).toBe(false);
    const vocab = buildSentimentVocabulary(train);
    const lstm = lstmModelFactory.create(vocab, ['negative', 'positive'], rng, { dim: 8, hidden: 16 });
    trainSentiment(lstm, train, { epochs: 10, batchSize: 16, optimizer: { kind: 'adam', lr: 0.02 }, rng });
    expect(encodeSentence(vocab, NOTES_SENTENCE)).not.toContain(vocab.id('<UNK>'));
    expect(predictSentiment(lstm, [NOTES_SENTENCE, 'Good taste, good service, and good ambience.'])).toEqual([0, 1]);
  });
});

describe('sentiment model (b): model file, pretrained vectors, CLI', () => {
  it('round-trips a 2-layer bidirectional model through JSON (structure read back from the weight shapes)', () => {
    const rng = new Rng(5);
    const words = ['<PAD>', '<UNK>', 'a', 'b', 'c'];
    const vocab = new Vocabulary(words, words.map(() => 1));
    const model = lstmModelFactory.create(vocab, ['x', 'y', 'z'], rng, { dim: 4, hidden: 3, layers: 2, bidirectional: true });
    const json = JSON.parse(JSON.stringify(model.toJSON()));
    expect(json.model).toBe('lstm');
    expect(Object.keys(json.weights)).toContain('rnn.l1_reverse.W_a');
    const copy = lstmModelFactory.fromJSON(json) as LstmSentimentModel;
    expect(copy.config).toEqual({ hidden: 3, layers: 2, bidirectional: true });
    const batch = makeSentimentBatch([[2, 3, 4], [4, 4], [3]], [0, 1, 2], 0);
    expect(Array.from(copy.forward(batch).data)).toEqual(Array.from(model.forward(batch).data));
    expect(() => averageModelFactory.fromJSON(json)).toThrow(/expected a 'avg' model, got 'lstm'/);
  });

  it('uses pretrained vectors: frozen by default (E unchanged, not a parameter), or fine-tuned with freeze: false', () => {
    const rng = new Rng(6);
    const train = lackingCorpus(rng, 40);
    const vocab = buildSentimentVocabulary(train);
    const vectors = makeWordVectors(['GOOD', 'lacking'], Matrix.fromArray([[1, 0, 0.5], [-1, 0.5, 0]]));
    const frozen = lstmModelFactory.create(vocab, ['neg', 'pos'], rng, { dim: 50, hidden: 4, vectors });
    expect(frozen.embedding.frozen).toBe(true);
    expect(frozen.embedding.weight.cols).toBe(3);
    expect(frozen.embedding.weight.toArray()[vocab.id('good')]).toEqual([1, 0, 0.5]);
    expect(Object.keys(frozen.params())).not.toContain('E');
    const e0 = Array.from(frozen.embedding.weight.data);
    const w0 = Array.from(frozen.params()['rnn.l0.W_x'].data);
    trainSentiment(frozen, train, { epochs: 2, batchSize: 8, optimizer: { kind: 'adam', lr: 0.02 }, rng });
    expect(Array.from(frozen.embedding.weight.data)).toEqual(e0);
    expect(Array.from(frozen.params()['rnn.l0.W_x'].data)).not.toEqual(w0);

    const tuned = lstmModelFactory.create(vocab, ['neg', 'pos'], rng, { dim: 50, hidden: 4, vectors, freeze: false });
    trainSentiment(tuned, train, { epochs: 2, batchSize: 8, optimizer: { kind: 'sgd', lr: 0.5 }, rng });
    expect(tuned.embedding.weight.toArray()[vocab.id('good')]).not.toEqual([1, 0, 0.5]);
  });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-sent-lstm-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  afterEach(() => vi.restoreAllMocks());

  async function run(argv: string[]): Promise<{ code: number; out: string }> {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const code = await sentimentCommand.run(argv);
    return { code, out: lines.join('\n') };
  }

  it('`sentiment train --model lstm` trains on Emojify, saves a model that `eval` and `predict` load', async () => {
    const out = path.join(dir, 'lstm.json');
    const train = await run(['train', '--data', 'emojify', '--data-dir', '../shared/data', '--arch', 'lstm', '--embedding', '8', '--hidden', '8',
      '--bidirectional', '--epochs', '2', '--out', out, '--json']);
    expect(train.code).toBe(0);
    const result = JSON.parse(train.out);
    expect(result).toMatchObject({ model: 'lstm', data: 'emojify', train: 132, test: 56 });
    expect(result.confusion.flat().reduce((s: number, v: number) => s + v, 0)).toBe(56);
    const evaluated = JSON.parse((await run(['eval', '--model', out, '--data-dir', '../shared/data', '--json'])).out);
    expect(evaluated.accuracy).toBe(result.testAccuracy);
    const predicted = JSON.parse((await run(['predict', '--model', out, '--json', 'I love you', 'lets play ball'])).out);
    expect(predicted).toHaveLength(2);
  });
});
