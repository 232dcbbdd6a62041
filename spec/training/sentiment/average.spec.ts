import { describe, expect, it } from 'vitest';
import { Rng } from '../../../engine/index.js';
import {
  buildSentimentVocabulary, confusionReport, evaluateSentiment, loadSentimentData, parseEmojiCsv,
  parseLabelledSentences, trainSentiment, type SentimentExample,
} from '../../../training/sentiment/sentiment.js';
import { averageModelFactory } from '../../../training/classify/sentence-classifier.js';

const DATA = '../shared/data';

describe('sentiment data', () => {
  it('parses sentence<TAB>label lines, skips the header and repairs the cp1252 control characters', () => {
    const text = 'reviews\tsentiment\nGreat food!  \t1\nIt was \u0096 well \u0085 bad.\t0\n';
    const rows = parseLabelledSentences(text, 'x.txt');
    expect(rows.map((r) => [r.text, r.label])).toEqual([['Great food!', 1], ['It was – well … bad.', 0]]);
    expect(rows[1].source).toBe('x.txt:3');
    expect(() => parseLabelledSentences('a\t1\nb\t2\n', 'y.txt')).toThrow(/y\.txt line 2: expected 'sentence<TAB>0\|1'/);
  });

  it('parses both Emojify CSV layouts (extra 4th field; quoted sentence with a trailing tab; CRLF)', () => {
    const train = parseEmojiCsv('never talk to me again,3,,\r\nMiss you so much,0,, [0]\r\nfood is life,4,,', 't.csv');
    expect(train.map((r) => [r.text, r.label])).toEqual([['never talk to me again', 3], ['Miss you so much', 0], ['food is life', 4]]);
    const test = parseEmojiCsv('"I want to eat\t",4\r\n"he did not answer\t",3', 'u.csv');
    expect(test.map((r) => [r.text, r.label])).toEqual([['I want to eat', 4], ['he did not answer', 3]]);
    expect(() => parseEmojiCsv('hello,7', 'v.csv')).toThrow(/v\.csv line 1: expected 'sentence,label' with a label 0–4/);
  });

  it('loads the UCI files with a seeded 80/20 split per source', () => {
    const yelp = loadSentimentData('yelp', DATA, { seed: 1 });
    expect([yelp.train.length, yelp.test.length]).toEqual([800, 200]);
    const again = loadSentimentData('yelp', DATA, { seed: 1 });
    expect(again.test.map((e) => e.source)).toEqual(yelp.test.map((e) => e.source));
    const other = loadSentimentData('yelp', DATA, { seed: 2 });
    expect(other.test.map((e) => e.source)).not.toEqual(yelp.test.map((e) => e.source));
    const trainSources = new Set(yelp.train.map((e) => e.source));
    expect(yelp.test.some((e) => trainSources.has(e.source))).toBe(false);
    // the header line (line 1) never becomes an example
    expect([...yelp.train, ...yelp.test].some((e) => e.source.endsWith(':1'))).toBe(false);

    const all = loadSentimentData('all', DATA, { seed: 1 });
    expect([all.train.length, all.test.length]).toEqual([2400, 600]);
    const singles = (['yelp', 'amazon', 'imdb'] as const).flatMap((s) => loadSentimentData(s, DATA, { seed: 1 }).test.map((e) => e.source));
    expect(all.test.map((e) => e.source).sort()).toEqual(singles.sort());
    const imdb = loadSentimentData('imdb', DATA);
    expect([...imdb.train, ...imdb.test].some((e) => /[\u0080-\u009f]/.test(e.text))).toBe(false);
  });

  it('loads Emojify: 132 training and 56 test sentences, 5 classes', () => {
    const emoji = loadSentimentData('emojify', DATA);
    expect([emoji.train.length, emoji.test.length]).toEqual([132, 56]);
    expect(emoji.classes).toHaveLength(5);
    expect(emoji.test[0]).toMatchObject({ text: 'I want to eat', label: 4 });
    expect(emoji.train[0]).toMatchObject({ text: 'never talk to me again', label: 3 });
    expect(emoji.test.some((e) => e.text.endsWith('\t'))).toBe(false);
  });
});

describe('sentiment model (a): average of embeddings → softmax', () => {
  const synthetic = (n: number, rng: Rng): SentimentExample[] =>
    Array.from({ length: n }, (_, i) => {
      const positive = rng.uniform() < 0.5;
      const filler = ['the', 'food', 'was', 'service', 'and'].slice(0, 1 + rng.int(5));
      return { text: [...filler, positive ? 'great' : 'awful', ...filler].join(' '), label: positive ? 1 : 0, source: `s:${i}` };
    });

  it('learns a separable toy task end to end (Adam) and round-trips through JSON', () => {
    const rng = new Rng(3);
    const train = synthetic(120, rng), test = synthetic(40, rng);
    const v = buildSentimentVocabulary(train);
    const model = averageModelFactory.create(v, ['neg', 'pos'], rng, { dim: 8 });
    const history = trainSentiment(model, train, { epochs: 15, batchSize: 16, optimizer: { kind: 'adam', lr: 0.05 }, rng });
    expect(history[history.length - 1].loss).toBeLessThan(history[0].loss / 4);
    const result = evaluateSentiment(model, test);
    expect(result.accuracy).toBe(1);
    const copy = averageModelFactory.fromJSON(JSON.parse(JSON.stringify(model.toJSON())));
    expect(Array.from(copy.embedding.weight.data)).toEqual(Array.from(model.embedding.weight.data));
    expect(evaluateSentiment(copy, test).predictions).toEqual(result.predictions);
  });

  it('with plain SGD updates only the embedding rows of the words it saw; a frozen E never changes', () => {
    const rng = new Rng(4);
    const train = synthetic(40, rng);
    const v = buildSentimentVocabulary(train, ['unseen']);
    const model = averageModelFactory.create(v, ['neg', 'pos'], rng, { dim: 4 });
    const before = model.embedding.weight.clone();
    trainSentiment(model, train, { epochs: 2, batchSize: 8, optimizer: { kind: 'sgd', lr: 0.5 }, rng });
    const unseen = v.id('unseen'), great = v.id('great');
    expect(model.embedding.weight.toArray()[unseen]).toEqual(before.toArray()[unseen]);
    expect(model.embedding.weight.toArray()[great]).not.toEqual(before.toArray()[great]);

    const frozen = averageModelFactory.create(v, ['neg', 'pos'], rng, { dim: 4, freeze: true });
    const e0 = Array.from(frozen.embedding.weight.data);
    const w0 = Array.from(frozen.params().W.data);
    trainSentiment(frozen, train, { epochs: 2, batchSize: 8, optimizer: { kind: 'adam', lr: 0.05 }, rng });
    expect(Array.from(frozen.embedding.weight.data)).toEqual(e0);
    expect(Array.from(frozen.params().W.data)).not.toEqual(w0);
    expect(Object.keys(frozen.params()).sort()).toEqual(['W', 'b']);
  });

  it('counts a confusion matrix with rows = true class, columns = prediction', () => {
    const r = confusionReport([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3);
    expect(r.confusion).toEqual([[1, 1, 0], [0, 1, 0], [1, 0, 2]]);
    expect(r.accuracy).toBeCloseTo(4 / 6, 15);
  });
});
