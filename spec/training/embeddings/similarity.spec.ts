import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Matrix, Rng } from '../../../engine/index.js';
import {
  analogy, analogyScores, averageRanks, cosineSimilarity, cosineSimilarityBackward, evaluateAnalogies, evaluateSimilarity, nearestNeighbors, parseAnalogies,
  parseSimilarityPairs, similarWords, spearman,
} from '../../../training/embeddings/similarity.js';
import { makeWordVectors, type WordVectors } from '../../../training/io/vectors.js';

function vectorsOf(entries: Record<string, number[]>): WordVectors {
  return makeWordVectors(Object.keys(entries), Matrix.fromArray(Object.values(entries), 'float64'));
}

function row(wv: WordVectors, word: string): number[] {
  return wv.vectors.toArray()[wv.index.get(word)!];
}

/** Reference analogy: a plain loop over the vocabulary with cosineSimilarity, no GEMM. */
function bruteForceAnalogy(wv: WordVectors, a: string, b: string, c: string, unitInputs: boolean): string {
  const unit = (v: number[]): number[] => {
    const n = Math.hypot(...v);
    return unitInputs ? v.map((x) => x / n) : v;
  };
  const [ea, eb, ec] = [a, b, c].map((w) => unit(row(wv, w)));
  const target = ea.map((_, j) => eb[j] - ea[j] + ec[j]);
  let best = '', bestCos = -Infinity;
  for (const w of wv.words) {
    if (w === a || w === b || w === c) continue;
    const cos = cosineSimilarity(row(wv, w), target);
    if (cos > bestCos) [best, bestCos] = [w, cos];
  }
  return best;
}

describe('cosine similarity and neighbours', () => {
  it('matches hand values', () => {
    expect(cosineSimilarity([1, 0], [1, 1])).toBeCloseTo(Math.SQRT1_2, 15);
    expect(cosineSimilarity([1, 2, 3], [-2, 1, 0])).toBe(0);
    expect(cosineSimilarity([1, 2], [-2, -4])).toBeCloseTo(-1, 15);
    expect(cosineSimilarity([0, 0], [1, 2])).toBe(0);
    expect(() => cosineSimilarity([1], [1, 2])).toThrow(/cosineSimilarity/);
  });

  it('nearest neighbours of many queries (one GEMM) agree with pairwise cosines', () => {
    const rng = new Rng(11);
    const V = 40, d = 6;
    const m = Matrix.zeros(V, d, 'float64');
    for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal();
    const wv = makeWordVectors(Array.from({ length: V }, (_, i) => `w${i}`), m);
    const queries = Matrix.zeros(5, d, 'float64');
    for (let i = 0; i < queries.data.length; i++) queries.data[i] = rng.normal();
    const result = nearestNeighbors(wv, queries, 4, { exclude: [[0], [], [1, 2], [], []] });
    result.forEach((neighbors, q) => {
      const excluded = [[0], [], [1, 2], [], []][q];
      const expected = wv.words
        .map((w, i) => ({ w, i, c: cosineSimilarity(m.toArray()[i], queries.toArray()[q]) }))
        .filter((x) => !excluded.includes(x.i))
        .sort((x, y) => y.c - x.c)
        .slice(0, 4);
      expect(neighbors.map((n) => n.word)).toEqual(expected.map((x) => x.w));
      neighbors.forEach((n, k) => expect(n.similarity).toBeCloseTo(expected[k].c, 12));
    });
  });

  it('similarWords excludes the word itself and names unknown words', () => {
    const wv = vectorsOf({ cat: [1, 0.1], dog: [1, 0.3], car: [0, 1], kitten: [1, 0] });
    expect(similarWords(wv, 'cat', 2).map((n) => n.word)).toEqual(['kitten', 'dog']);
    expect(() => similarWords(wv, 'zebra')).toThrow(/'zebra' is not in the vocabulary \(4 words\)/);
  });
});

describe('cosineSimilarityBackward', () => {
  it('matches the hand-derived gradient on a 2-D example', () => {
    // u = (1, 0), v = (1, 1): c = 1/√2; ∂c/∂u = v/(‖u‖‖v‖) − c·u/‖u‖² = (1/√2, 1/√2) − (1/√2, 0) = (0, 1/√2);
    // ∂c/∂v = u/(‖u‖‖v‖) − c·v/‖v‖² = (1/√2, 0) − (1/(2√2))(1, 1) = (1/(2√2), −1/(2√2)).
    const du = new Float64Array([10, 10]), dv = new Float64Array(2);
    cosineSimilarityBackward(du, dv, [1, 0], [1, 1], 2);
    const r = Math.SQRT1_2;
    expect([...du].map((x) => x - 10)).toEqual([expect.closeTo(0, 14), expect.closeTo(2 * r, 14)]); // accumulated onto 10
    expect([...dv]).toEqual([expect.closeTo(r, 14), expect.closeTo(-r, 14)]);
    const none = new Float64Array(2);
    cosineSimilarityBackward(none, null, [0, 0], [1, 1], 1);
    expect([...none]).toEqual([0, 0]);
    expect(() => cosineSimilarityBackward(new Float64Array(3), null, [1, 0], [1, 1], 1)).toThrow(/cosineSimilarityBackward: expected du of length 2, got 3/);
  });

  it('trains an analogy objective (king − man + woman → queen) and a debias objective (cos(e, g) → 0)', () => {
    const rng = new Rng(3);
    const d = 8;
    const random = (): Float64Array => Float64Array.from({ length: d }, () => rng.uniformIn(-1, 1));
    const [man, woman, king, queen] = [random(), random(), random(), random()];
    const target = new Float64Array(d), dTarget = new Float64Array(d), dQueen = new Float64Array(d);
    const analogyCos = (): number => {
      for (let j = 0; j < d; j++) target[j] = king[j] - man[j] + woman[j];
      return cosineSimilarity(target, queen);
    };
    const before = analogyCos();
    for (let step = 0; step < 200; step++) {
      analogyCos();
      dTarget.fill(0);
      dQueen.fill(0);
      cosineSimilarityBackward(dTarget, dQueen, target, queen, 1); // ascend L = cos
      for (let j = 0; j < d; j++) {
        king[j] += 0.1 * dTarget[j];
        woman[j] += 0.1 * dTarget[j];
        man[j] -= 0.1 * dTarget[j];
        queen[j] += 0.1 * dQueen[j];
      }
    }
    expect(before).toBeLessThan(0.5);
    expect(analogyCos()).toBeGreaterThan(0.99);

    // Debias: minimise L = cos(e, g)² over e with the bias direction g fixed.
    const g = Float64Array.from({ length: d }, (_, j) => woman[j] - man[j]);
    const doctor = Float64Array.from(g, (x, j) => x + 0.3 * queen[j]);
    const cos0 = cosineSimilarity(doctor, g);
    const dDoctor = new Float64Array(d);
    for (let step = 0; step < 200; step++) {
      dDoctor.fill(0);
      cosineSimilarityBackward(dDoctor, null, doctor, g, 2 * cosineSimilarity(doctor, g));
      for (let j = 0; j < d; j++) doctor[j] -= 0.5 * dDoctor[j];
    }
    expect(Math.abs(cos0)).toBeGreaterThan(0.5);
    expect(Math.abs(cosineSimilarity(doctor, g))).toBeLessThan(1e-3);
  });
});

describe('analogies', () => {
  // Hand-built 3-D vectors: axis 0 = "male", axis 1 = "female", axis 2 = "royal".
  const wv = vectorsOf({
    man: [1, 0, 0], woman: [0, 1, 0], king: [1, 0, 1], queen: [0, 1, 1],
    apple: [0, 0, 1], boy: [0.9, 0, 0.1], girl: [0.1, 0.9, 0.1],
  });

  it('man : woman :: king : queen (unit inputs and raw)', () => {
    // raw: woman − man + king = (0, 1, 1) = queen exactly
    expect(analogy(wv, 'man', 'woman', 'king', 1, { unitInputs: false })[0].word).toBe('queen');
    const [best] = analogy(wv, 'man', 'woman', 'king');
    expect(best.word).toBe('queen');
    // unit inputs: t = (−1 + 1/√2, 1, 1/√2); cos(t, queen) = (1 + 1/√2)(1/√2) / ‖t‖
    const t = [-1 + Math.SQRT1_2, 1, Math.SQRT1_2];
    expect(best.similarity).toBeCloseTo(((1 + Math.SQRT1_2) * Math.SQRT1_2) / Math.hypot(...t), 12);
  });

  it("scoring 'course': cos(e_b − e_a, e_w − e_c) on raw vectors, per-word scores exposed", () => {
    // 2-D: δ = woman − man = (−1, 1). far − king = (−5, 5) ∥ δ: score exactly 1; queen − king = (−0.8, 1):
    // (0.8 + 1)/(√2·√1.64). 3CosAdd (unit inputs) prefers queen: t = (−1 + 1/√2, 1/√2 + 1)·… points near (0, 2).
    const v = vectorsOf({ man: [1, 0], woman: [0, 1], king: [1, 1], queen: [0.2, 2], far: [-4, 6], apple: [3, -1] });
    const scores = analogyScores(v, 'man', 'woman', 'king', { scoring: 'course' });
    expect(scores[v.index.get('far')!]).toBeCloseTo(1, 12);
    expect(scores[v.index.get('queen')!]).toBeCloseTo(1.8 / (Math.SQRT2 * Math.sqrt(1.64)), 12);
    expect(scores[v.index.get('king')!]).toBe(0); // e_w − e_c = 0
    for (const w of v.words) {
      const ew = row(v, w), ec = row(v, 'king');
      const diff = ew.map((x, j) => x - ec[j]);
      expect(scores[v.index.get(w)!]).toBeCloseTo(w === 'king' ? 0 : cosineSimilarity([-1, 1], diff), 12);
    }
    expect(analogy(v, 'man', 'woman', 'king', 1, { scoring: 'course' })[0].word).toBe('far');
    expect(analogy(v, 'man', 'woman', 'king')[0].word).toBe('queen');
    // 3CosAdd's per-word scores are the cosines with the unit-input target.
    const add = analogyScores(v, 'man', 'woman', 'king');
    const t = [-1 + Math.SQRT1_2, 1 + Math.SQRT1_2];
    expect(add[v.index.get('apple')!]).toBeCloseTo(cosineSimilarity(t, [3, -1]), 12);
    expect(() => analogyScores(v, 'man', 'woman', 'king', { scoring: 'x' as never })).toThrow(/analogy: expected scoring '3cosadd' or 'course', got 'x'/);
    // An analogy file scored both ways: each scoring gets exactly the question whose answer it prefers.
    const sections = parseAnalogies(': s\nman woman king far\nman woman king queen\n', 'q.txt');
    expect(evaluateAnalogies(v, sections, { scoring: 'course' }).overall.correct).toBe(1);
    expect(evaluateAnalogies(v, sections, { scoring: 'course' }).sections[0].accuracy).toBe(0.5);
    const byAdd = evaluateAnalogies(v, parseAnalogies(': s\nman woman king queen\n', 'q.txt'));
    const byCourse = evaluateAnalogies(v, parseAnalogies(': s\nman woman king queen\n', 'q.txt'), { scoring: 'course' });
    expect([byAdd.overall.correct, byCourse.overall.correct]).toEqual([1, 0]);
  });

  it('never answers a, b or c, even when b is the closest vector', () => {
    // boy ≈ man, so woman − man + boy ≈ woman; woman is excluded and girl is next.
    expect(bruteForceAnalogy(wv, 'man', 'woman', 'boy', true)).toBe('girl');
    expect(analogy(wv, 'man', 'woman', 'boy')[0].word).toBe('girl');
    const top = analogy(wv, 'man', 'woman', 'boy', 7).map((n) => n.word);
    expect(top).not.toContain('woman');
    expect(top).toHaveLength(4); // 7 words − a, b, c
  });

  it('parses questions-words.txt sections and names bad lines', () => {
    const sections = parseAnalogies(': capital\nAthens Greece Paris France\n\n: family\nboy girl man woman\n', 'q.txt');
    expect(sections.map((s) => [s.name, s.questions.length])).toEqual([['capital', 1], ['family', 1]]);
    expect(sections[1].questions[0]).toEqual({ words: ['boy', 'girl', 'man', 'woman'], line: 5 });
    expect(() => parseAnalogies(': a\nx y z\n', 'q.txt')).toThrow(/q\.txt line 2: expected 4 words \(a b c d\), got 3/);
  });

  it('scores each section over in-vocabulary questions only and reports the coverage', () => {
    const rng = new Rng(5);
    const d = 10;
    const entries: Record<string, number[]> = {};
    const delta = Array.from({ length: d }, () => 3 * rng.normal());
    for (const x of ['paris', 'rome', 'berlin', 'madrid']) {
      const v = Array.from({ length: d }, () => rng.normal());
      entries[x] = v;
      entries[`${x}-country`] = v.map((vi, j) => vi + delta[j]); // b = a + δ: exact analogies
    }
    for (let i = 0; i < 20; i++) entries[`noise${i}`] = Array.from({ length: d }, () => rng.normal());
    const wv2 = vectorsOf(entries);
    const text = [
      ': capitals',
      'Paris Paris-country Rome Rome-country',
      'rome rome-country berlin berlin-country',
      'berlin berlin-country madrid madrid-country',
      'madrid madrid-country oslo oslo-country', // oslo is unknown
      ': mixed',
      'paris noise1 rome noise2',
      'noise3 noise4 noise5 noise6',
    ].join('\n');
    const report = evaluateAnalogies(wv2, parseAnalogies(text, 'q.txt'), { unitInputs: false });
    const capitals = report.sections[0];
    expect([capitals.total, capitals.answered, capitals.correct]).toEqual([4, 3, 3]);
    expect(capitals.accuracy).toBe(1);
    expect(capitals.coverage).toBe(0.75);
    // the 'mixed' section against the brute-force reference
    const mixed = report.sections[1];
    const expected = [['paris', 'noise1', 'rome', 'noise2'], ['noise3', 'noise4', 'noise5', 'noise6']]
      .filter(([a, b, c, dd]) => bruteForceAnalogy(wv2, a, b, c, false) === dd).length;
    expect(mixed.correct).toBe(expected);
    expect(report.overall.total).toBe(6);
    expect(report.overall.answered).toBe(5);
    expect(report.syntactic.total).toBe(0);
    // case-sensitive matching loses the capitalised question
    const strict = evaluateAnalogies(wv2, parseAnalogies(text, 'q.txt'), { unitInputs: false, caseInsensitive: false });
    expect(strict.sections[0].answered).toBe(2);
  });

  it('with unit inputs, agrees with the brute-force reference on random questions', () => {
    const rng = new Rng(8);
    const entries: Record<string, number[]> = {};
    for (let i = 0; i < 25; i++) entries[`w${i}`] = Array.from({ length: 5 }, () => rng.normal());
    const wv3 = vectorsOf(entries);
    const lines: string[] = [': random'];
    const questions: string[][] = [];
    for (let q = 0; q < 30; q++) {
      const [a, b, c, dd] = rng.permutation(25).slice(0, 4).map((i) => `w${i}`);
      // make the expected answer the reference's answer half of the time
      const answer = q % 2 === 0 ? bruteForceAnalogy(wv3, a, b, c, true) : dd;
      questions.push([a, b, c, answer]);
      lines.push([a, b, c, answer].join(' '));
    }
    const expected = questions.filter(([a, b, c, dd]) => bruteForceAnalogy(wv3, a, b, c, true) === dd).length;
    const report = evaluateAnalogies(wv3, parseAnalogies(lines.join('\n'), 'r.txt'));
    expect(report.sections[0].correct).toBe(expected);
    expect(expected).toBeGreaterThanOrEqual(15);
  });

  it('ships a well-formed analogy file of its own', () => {
    const sections = parseAnalogies(fs.readFileSync('data/analogies-small.txt', 'utf8'), 'data/analogies-small.txt');
    expect(sections.map((s) => s.name)).toEqual([
      'capital-common-countries', 'family', 'gram3-comparative', 'gram4-superlative', 'gram7-past-tense', 'gram8-plural',
    ]);
    for (const s of sections) {
      expect(s.questions.length).toBeGreaterThan(50);
      for (const q of s.questions) expect(new Set(q.words.map((w) => w.toLowerCase())).size).toBe(4);
    }
  });
});

describe('word similarity and Spearman ρ', () => {
  it('averages the ranks of ties', () => {
    expect(Array.from(averageRanks([10, 20, 20, 30]))).toEqual([1, 2.5, 2.5, 4]);
    expect(Array.from(averageRanks([3, 1, 3, 3]))).toEqual([3, 1, 3, 3]);
  });

  it('matches scipy.stats.spearmanr on its documented example (with a tie)', () => {
    // scipy docs: spearmanr([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) → 0.8207826816681233
    expect(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])).toBeCloseTo(0.8207826816681233, 14);
    expect(spearman([1, 2, 3], [30, 20, 10])).toBeCloseTo(-1, 15);
  });

  it('gives ρ = 1 when the cosines order the pairs like the human scores, and counts missing words', () => {
    const angle = (deg: number): number[] => [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)];
    const wv = vectorsOf({ a: angle(0), b1: angle(10), b2: angle(25), b3: angle(60), b4: angle(120) });
    const pairs = parseSimilarityPairs('word1\tword2\tscore\na b1 9\na b2 7.5\na b3 4\na b4 1\na zzz 5\n', 'p.txt');
    const report = evaluateSimilarity(wv, pairs);
    expect(report.spearman).toBeCloseTo(1, 15);
    expect(report.found).toBe(4);
    expect(report.coverage).toBe(0.8);
    expect(report.missing).toEqual(['zzz']);
    expect(report.pairs[3].cosine).toBeCloseTo(Math.cos((120 * Math.PI) / 180), 12);
  });

  it('ships a well-formed similarity list of its own, with the judgements documented as such', () => {
    const text = fs.readFileSync('data/similarity-small.txt', 'utf8');
    expect(text).toMatch(/own judgements/);
    const pairs = parseSimilarityPairs(text, 'data/similarity-small.txt');
    expect(pairs.length).toBeGreaterThanOrEqual(40);
    for (const p of pairs) expect(p.score >= 0 && p.score <= 10).toBe(true);
    expect(() => parseSimilarityPairs('a b 1\nc d x\n', 's.txt')).toThrow(/s\.txt line 2: the score 'x' is not a number/);
  });
});
