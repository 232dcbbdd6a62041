import { describe, expect, it } from 'vitest';
import { clippedMatches, closestReferenceLength, corpusBleu, sentenceBleu } from '../../../training/metrics/bleu.js';

const words = (s: string): string[] => s.split(' ');

// Papineni et al. 2002, Example 1 (also NLTK's bleu_score doctest).
const hyp1 = words('It is a guide to action which ensures that the military always obeys the commands of the party');
const ref1a = words('It is a guide to action that ensures that the military will forever heed Party commands');
const ref1b = words('It is the guiding principle which guarantees the military forces always being under the command of the Party');
const ref1c = words('It is the practical guide for the army always to heed the directions of the party');
const hyp2 = words('he read the book because he was interested in world history');
const ref2a = words('he was interested in world history because he read the book');

describe('BLEU modified precision', () => {
  it('clips "the the the the the the the" to the most a reference holds (the paper\'s example: 2/7)', () => {
    const candidate = words('the the the the the the the');
    const refs = [words('the cat is on the mat'), words('there is a cat on the mat')];
    // count(the) = 7 in the candidate; reference 1 has 2, reference 2 has 1 → clipped 2.
    expect(clippedMatches(candidate, refs, 1)).toEqual({ matched: 2, total: 7 });
    // "the the" ×6 in the candidate, in no reference.
    expect(clippedMatches(candidate, refs, 2)).toEqual({ matched: 0, total: 6 });
    // Unigram BLEU: c = 7, closest reference length 7 → BP = 1, BLEU = 2/7.
    expect(sentenceBleu(candidate, refs, { maxN: 1 }).bleu).toBeCloseTo(2 / 7, 15);
    // Without smoothing the zero bigram precision makes BLEU-4 zero.
    expect(sentenceBleu(candidate, refs).bleu).toBe(0);
  });

  it('counts the paper\'s Example 1 by hand: 17/18, 10/17, 7/16, 4/15', () => {
    const refs = [ref1a, ref1b, ref1c];
    // Unigrams: every token but "obeys" occurs in some reference, "the" ×3 clipped by ref1b's 3 → 17 of 18.
    // Bigrams (10): It is, is a, a guide, guide to, to action, ensures that, that the, the military, of the, the party.
    // Trigrams (7): It is a, is a guide, a guide to, guide to action, ensures that the, that the military, of the party.
    // 4-grams (4): It is a guide, is a guide to, a guide to action, ensures that the military.
    const r = sentenceBleu(hyp1, refs);
    expect(r.matches).toEqual([17, 10, 7, 4]);
    expect(r.totals).toEqual([18, 17, 16, 15]);
    // c = 18, reference lengths 16, 18, 16 → r = 18, BP = 1.
    expect(r.brevityPenalty).toBe(1);
    const expected = Math.exp((Math.log(17 / 18) + Math.log(10 / 17) + Math.log(7 / 16) + Math.log(4 / 15)) / 4);
    expect(r.bleu).toBeCloseTo(expected, 14);
    // NLTK's documented value for sentence_bleu([ref1a, ref1b, ref1c], hyp1): 0.5045666840058485.
    expect(r.bleu).toBeCloseTo(0.5045666840058485, 12);
  });
});

describe('corpus BLEU', () => {
  it('sums counts over the corpus before dividing (NLTK corpus_bleu example)', () => {
    // hyp2 vs ref2a: 11/11, 9/10, 6/9, 4/8; lengths 11 and 11.
    // Corpus: (17+11)/(18+11), (10+9)/(17+10), (7+6)/(16+9), (4+4)/(15+8); c = r = 29 → BP = 1.
    const r = corpusBleu([hyp1, hyp2], [[ref1a, ref1b, ref1c], [ref2a]]);
    expect(r.matches).toEqual([28, 19, 13, 8]);
    expect(r.totals).toEqual([29, 27, 25, 23]);
    const expected = Math.exp((Math.log(28 / 29) + Math.log(19 / 27) + Math.log(13 / 25) + Math.log(8 / 23)) / 4);
    expect(r.bleu).toBeCloseTo(expected, 14);
    // NLTK's documented value: 0.5920778868801042 (not the mean of the sentence scores).
    expect(r.bleu).toBeCloseTo(0.5920778868801042, 12);
    const mean = (sentenceBleu(hyp1, [ref1a, ref1b, ref1c]).bleu + sentenceBleu(hyp2, [ref2a]).bleu) / 2;
    expect(Math.abs(r.bleu - mean)).toBeGreaterThan(1e-3);
  });

  it('brevity penalty exp(1 − r/c) for short candidates, 1 for long ones', () => {
    // c = 2, r = 6: BP = exp(1 − 3) = e^−2; p1 = 2/2, p2 = 1/1.
    const short = sentenceBleu(words('the cat'), [words('the cat is on the mat')], { maxN: 2 });
    expect(short.brevityPenalty).toBeCloseTo(Math.exp(-2), 15);
    expect(short.bleu).toBeCloseTo(Math.exp(-2), 15);
    // c = 7 > r = 6: no penalty even though the candidate is longer.
    expect(sentenceBleu(words('the cat is on the mat .'), [words('the cat is on the mat')], { maxN: 1 }).brevityPenalty).toBe(1);
    // Corpus sums: c = 2 + 6 = 8, r = 6 + 6 = 12 → BP = exp(1 − 12/8) = exp(−0.5).
    const corpus = corpusBleu([words('the cat'), words('the cat is on the mat')], [[words('the cat is on the mat')], [words('the cat is on the mat')]], { maxN: 1 });
    expect(corpus.candidateLength).toBe(8);
    expect(corpus.referenceLength).toBe(12);
    expect(corpus.brevityPenalty).toBeCloseTo(Math.exp(-0.5), 15);
  });

  it('takes the closest reference length, the shorter on a tie', () => {
    expect(closestReferenceLength(5, [words('a b c d e f g'), words('a b c d')])).toBe(4);
    expect(closestReferenceLength(5, [words('a b c d e f'), words('a b c d')])).toBe(4); // 6 and 4 tie → 4
    // With r = 4 < c = 5 there is no penalty; had the tie gone to 6, BP would be exp(1 − 6/5).
    expect(sentenceBleu(words('a b c d e'), [words('a b c d e f'), words('a b c d')], { maxN: 1 }).brevityPenalty).toBe(1);
  });

  it('an empty candidate scores 0; mismatched inputs throw', () => {
    expect(sentenceBleu([], [words('a b')]).bleu).toBe(0);
    expect(() => corpusBleu([words('a')], [])).toThrow(/one reference list per candidate/);
    expect(() => corpusBleu([words('a')], [[]])).toThrow(/at least one reference for candidate 0/);
    expect(() => sentenceBleu(words('a'), [words('a')], { maxN: 0 })).toThrow(/maxN/);
  });

  it('works on token ids as well as strings, without confusing 1 and "1"', () => {
    expect(sentenceBleu([1, 2, 3, 4], [[1, 2, 3, 4]]).bleu).toBe(1);
    expect(sentenceBleu([1, 2], [['1', '2']], { maxN: 1 }).matches).toEqual([0]);
  });
});

describe('BLEU smoothing', () => {
  // Candidate "the cat sat", reference "the cat is here":
  //   p1 = 2/3 (the, cat), p2 = 1/2 ("the cat"), p3 = 0/1, p4 = 0/0 → denominator taken as 1.
  //   c = 3, r = 4: BP = exp(1 − 4/3) = exp(−1/3).
  const cand = words('the cat sat');
  const ref = [words('the cat is here')];
  const bp = Math.exp(-1 / 3);

  it('none: a zero precision gives BLEU 0', () => {
    const r = sentenceBleu(cand, ref);
    expect(r.matches).toEqual([2, 1, 0, 0]);
    expect(r.totals).toEqual([3, 2, 1, 0]);
    expect(r.bleu).toBe(0);
  });

  it("add-1 (Lin & Och; NLTK method2) for n > 1: p = 2/3, 2/3, 1/2, 1/2", () => {
    const r = sentenceBleu(cand, ref, { smoothing: 'add-1' });
    // p1 unsmoothed 2/3; p2 = (1+1)/(2+1); p3 = (0+1)/(1+1); p4 = (0+1)/(1+1).
    expect(r.precisions[0]).toBeCloseTo(2 / 3, 15);
    expect(r.precisions[1]).toBeCloseTo(2 / 3, 15);
    expect(r.precisions.slice(2)).toEqual([0.5, 0.5]);
    // BLEU = BP · (2/3 · 2/3 · 1/2 · 1/2)^(1/4) = BP · (1/9)^(1/4) = BP/√3.
    expect(r.bleu).toBeCloseTo(bp / Math.sqrt(3), 14);
  });

  it('epsilon (NLTK method1): zero matches become ε/l_n', () => {
    const r = sentenceBleu(cand, ref, { smoothing: 'epsilon' });
    // p = 2/3, 1/2, 0.1/1, 0.1/1 → BLEU = BP · (2/3 · 1/2 · 0.01)^(1/4) = BP · (1/300)^(1/4).
    expect(r.precisions[2]).toBeCloseTo(0.1, 15);
    expect(r.bleu).toBeCloseTo(bp * Math.pow(1 / 300, 0.25), 14);
    expect(sentenceBleu(cand, ref, { smoothing: 'epsilon', epsilon: 0.5 }).precisions[3]).toBe(0.5);
  });
});
