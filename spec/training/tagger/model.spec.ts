import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { taggerCommand } from '../../../cli/commands/tagger.js';
import { Rng } from '../../../engine/rng.js';
import {
  buildTaggerVocabulary, createTagger, evaluateTagger, generateTaggedSentences, hasAmbiguousFirstWord, loadNameLists, loadTagger, predictTagger,
  saveTagger, tokenScores, trainTagger, type TaggedSentence,
} from '../../../training/tagger/tagger.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-tagger-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('token scores', () => {
  it('precision, recall, F1 and accuracy of the name class, by hand', () => {
    const predicted = [[1, 1, 0, 0], [0, 1, 1]];
    const gold = [[1, 0, 0, 1], [0, 1, 1]];
    // TP: (0,0) (1,1) (1,2) = 3; FP: (0,1) = 1; FN: (0,3) = 1; correct 5 of 7.
    const s = tokenScores(predicted, gold);
    expect([s.truePositives, s.falsePositives, s.falseNegatives, s.tokens]).toEqual([3, 1, 1, 7]);
    expect(s.precision).toBe(3 / 4);
    expect(s.recall).toBe(3 / 4);
    expect(s.f1).toBeCloseTo(3 / 4, 15);
    expect(s.accuracy).toBe(5 / 7);
    expect(() => tokenScores([[1]], [[1, 0]])).toThrow('tokenScores: sentence 0 has 1 predictions for 2 gold labels');
  });
});

/** Random sentences over {a, b, c, x}; y⟨t⟩ = 1 iff the NEXT token is 'x' (the last token: 0). */
function nextIsX(rng: Rng, count: number, T = 8): TaggedSentence[] {
  const alphabet = ['a', 'b', 'c', 'x'];
  return Array.from({ length: count }, () => {
    const tokens = Array.from({ length: T }, () => alphabet[rng.int(alphabet.length)]);
    return { tokens, labels: tokens.map((_, t) => (t + 1 < T && tokens[t + 1] === 'x' ? 1 : 0)) };
  });
}

describe('a toy rule that needs the future: label = 1 iff the next token is x', () => {
  const train = nextIsX(new Rng(1), 512);
  const test = nextIsX(new Rng(2), 300);
  const vocab = buildTaggerVocabulary(train, 1);
  // y⟨t⟩ depends only on x⟨t+1⟩, which is independent of x⟨1…t⟩: no function of the past beats
  // always answering the majority label 0 (P(x) = 1/4 < 1/2). Its accuracy is the share of 0s.
  const labels = test.flatMap((s) => s.labels);
  const majorityRate = labels.filter((y) => y === 0).length / labels.length;

  function accuracy(bidirectional: boolean): number {
    const tagger = createTagger({ vocab, embeddingDim: 8, hidden: 8, bidirectional }, { rng: new Rng(3) });
    trainTagger(tagger, train, { steps: 300, batchSize: 16, lr: 0.02 }, new Rng(4));
    return evaluateTagger(tagger, test).all.accuracy;
  }

  it('the bidirectional tagger reaches ≥ 95%; the unidirectional one stays at the majority rate', () => {
    expect(majorityRate).toBeGreaterThan(0.74); // ≈ (7·3/4 + 1)/8 = 0.78
    expect(majorityRate).toBeLessThan(0.82);
    const bi = accuracy(true);
    const uni = accuracy(false);
    expect(bi).toBeGreaterThanOrEqual(0.95);
    expect(Math.abs(uni - majorityRate)).toBeLessThan(0.03);
  });
});

describe('name tagger: save, load, CLI', () => {
  const names = loadNameLists();
  const train = generateTaggedSentences(new Rng(1), 300, names);
  const tagger = createTagger({
    vocab: buildTaggerVocabulary(train), embeddingDim: 8, hidden: 8, bidirectional: true,
  }, { rng: new Rng(2) });
  trainTagger(tagger, train, { steps: 30, batchSize: 16 }, new Rng(3));
  const modelFile = path.join(dir, 'tagger.json');
  saveTagger(modelFile, tagger);

  async function run(argv: string[]): Promise<{ code: number; out: string }> {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      return { code: await taggerCommand.run(argv), out: lines.join('\n') };
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
  }

  it('a loaded tagger predicts exactly what the saved one did', () => {
    const loaded = loadTagger(modelFile);
    const sentences = train.slice(0, 20).map((s) => s.tokens);
    expect(predictTagger(loaded, sentences)).toEqual(predictTagger(tagger, sentences));
    expect(loaded.config).toEqual(tagger.config);
    expect(loaded.vocab.tokens).toEqual(tagger.vocab.tokens);
  });

  it('tag: tokens, probabilities and tags of each sentence (unknown words reported)', async () => {
    const { code, out } = await run(['tag', '--model', modelFile, 'Teddy Roosevelt was a great president.', 'Zyzzyva bears are on sale.', '--json']);
    expect(code).toBe(0);
    const tagged = JSON.parse(out);
    expect(tagged[0].tokens).toEqual(['Teddy', 'Roosevelt', 'was', 'a', 'great', 'president', '.']);
    const [p] = predictTagger(tagger, [tagged[0].tokens]);
    expect(tagged[0].probabilities).toEqual(Array.from(p, (v) => Number(v.toFixed(4))));
    expect(tagged[0].tags).toEqual(Array.from(p, (v) => (v > 0.5 ? 1 : 0)));
    expect(tagged[1].unknown).toContain('Zyzzyva');
    expect(tagged[1].unknown).toEqual(tagged[1].tokens.filter((t: string) => !tagger.vocab.has(t)));
    expect(tagged[1].unknown).not.toContain('.');
  });

  it('train --json: both models with the same budget, held-out duplicates of training sentences dropped; eval agrees with the library', async () => {
    const prefix = path.join(dir, 'm');
    const { code, out } = await run(['train', '--train', '200', '--test', '100', '--steps', '5', '--embedding', '4', '--hidden', '4', '--out', prefix, '--json']);
    expect(code).toBe(0);
    const r = JSON.parse(out);
    expect(Object.keys(r.models)).toEqual(['uni', 'bi']);
    expect(r.test + r.droppedDuplicates).toBe(100);
    const seen = new Set(generateTaggedSentences(new Rng(1), 200, names).map((s) => s.tokens.join(' ')));
    const heldOut = generateTaggedSentences(new Rng(2), 100, names).filter((s) => !seen.has(s.tokens.join(' ')));
    expect(r.test).toBe(heldOut.length);
    const ambiguous = heldOut.filter((s) => hasAmbiguousFirstWord(s.tokens));
    const asName = ambiguous.filter((s) => s.labels[0] === 1).length;
    expect(r.models.uni.evaluation.ambiguousFirst.sentences).toBe(ambiguous.length);
    expect(r.models.uni.evaluation.ambiguousFirst.majorityRate).toBe(Math.max(asName, ambiguous.length - asName) / ambiguous.length);
    // 4·4 input weights + 4·4 recurrent + 4 biases per gate (the LSTM's 4 gates) per direction.
    expect(r.models.bi.parameters - r.models.uni.parameters).toBe(4 * (4 * 4 + 4 * 4 + 4) + 4);
    const evaluated = await run(['eval', '--model', `${prefix}-bi.json`, '--count', '50', '--seed', '9', '--json']);
    expect(evaluated.code).toBe(0);
    const expected = evaluateTagger(loadTagger(`${prefix}-bi.json`), generateTaggedSentences(new Rng(9), 50, names));
    expect(JSON.parse(evaluated.out).all).toEqual(expected.all);
  });

  it('help and input errors', async () => {
    expect((await run(['train', '--help'])).out).toContain('--direction both|uni|bi');
    expect((await run([])).code).toBe(2);
    await expect(run(['tag', 'a sentence'])).rejects.toThrow('tagger tag: --model is required');
    await expect(run(['tag', '--model', modelFile])).rejects.toThrow('tagger tag: expected at least one sentence');
    const missing = path.join(dir, 'missing.json');
    const err = await run(['eval', '--model', missing]).catch((e: Error) => e);
    expect((err as Error).name).toBe('InputError');
    expect((err as Error).message).toBe(`readTextFile: tagger model file ${missing} does not exist`);
  });
});
