import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SPECIALS,
  detokenize,
  EOS,
  PAD,
  tokenizeChars,
  tokenizeSentences,
  tokenizeText,
  tokenizeWords,
  UNK,
  Vocabulary,
} from '../../../training/text/vocab.js';

describe('Vocabulary.build', () => {
  // Counts: the ×4, cat ×2, sat ×2, mat ×1, on ×1.
  const corpus = 'the cat sat on the mat the cat sat the'.split(' ');

  it('puts the specials first, then tokens by count (ties in code-unit order)', () => {
    const v = Vocabulary.build(corpus);
    expect(DEFAULT_SPECIALS).toEqual([PAD, EOS, UNK]);
    expect(v.tokens).toEqual([PAD, EOS, UNK, 'the', 'cat', 'sat', 'mat', 'on']);
    expect(v.counts).toEqual([0, 0, 0, 4, 2, 2, 1, 1]);
    expect(v.size).toBe(8);
    expect(v.id('the')).toBe(3);
    expect(v.token(4)).toBe('cat');
  });

  it('does not depend on the order of the input', () => {
    expect(Vocabulary.build([...corpus].reverse()).tokens).toEqual(Vocabulary.build(corpus).tokens);
  });

  it('minCount: rarer tokens map to <UNK>, whose count is the number of dropped occurrences', () => {
    const v = Vocabulary.build(corpus, { minCount: 2 });
    expect(v.tokens).toEqual([PAD, EOS, UNK, 'the', 'cat', 'sat']);
    // mat ×1 + on ×1 dropped.
    expect(v.counts[v.id(UNK)]).toBe(2);
    expect(v.encode(['the', 'mat', 'dog'])).toEqual([3, 2, 2]);
    expect(v.has('mat')).toBe(false);
  });

  it('maxSize counts the specials and keeps the most frequent', () => {
    const v = Vocabulary.build(corpus, { maxSize: 5 });
    expect(v.tokens).toEqual([PAD, EOS, UNK, 'the', 'cat']);
    // sat ×2 + mat + on dropped.
    expect(v.counts[2]).toBe(4);
    expect(() => Vocabulary.build(corpus, { maxSize: 2 })).toThrow(/maxSize to be an integer ≥ the 3 specials, got 2/);
  });

  it('custom specials; without <UNK>, unknown tokens throw a clear error', () => {
    const v = Vocabulary.build(['a', 'b', '\n', 'a'], { specials: ['\n'] });
    expect(v.tokens).toEqual(['\n', 'a', 'b']);
    expect(v.counts).toEqual([1, 2, 1]);
    expect(v.unkId).toBe(-1);
    expect(() => v.id('z')).toThrow('Vocabulary.id: token "z" is not in the vocabulary, which has no <UNK>');
    expect(() => v.token(3)).toThrow('Vocabulary.token: expected an integer id in [0, 3), got 3');
  });

  it('encode/decode round-trip known tokens', () => {
    const v = Vocabulary.build(corpus);
    const tokens = ['the', 'cat', 'on', 'the', 'mat', EOS];
    expect(v.decode(v.encode(tokens))).toEqual(tokens);
  });

  it('toJSON/fromJSON round-trip through JSON text and refuse broken input', () => {
    const v = Vocabulary.build(corpus, { minCount: 2 });
    const back = Vocabulary.fromJSON(JSON.parse(JSON.stringify(v)));
    expect(back.tokens).toEqual(v.tokens);
    expect(back.counts).toEqual(v.counts);
    expect(back.id('nope')).toBe(v.id(UNK));
    const json = v.toJSON();
    expect(() => Vocabulary.fromJSON({ ...json, tokens: [...json.tokens.slice(0, -1), 'the'] })).toThrow(/token "the" appears twice/);
    expect(() => Vocabulary.fromJSON({ ...json, counts: json.counts.slice(1) })).toThrow(/equal length/);
    expect(() => Vocabulary.fromJSON({ kind: 'other' } as never)).toThrow(/kind "seqgrad.vocabulary"/);
  });
});

describe('tokenisers', () => {
  it('tokenizeWords splits words and punctuation, keeps inner apostrophes and hyphens', () => {
    expect(tokenizeWords('The apple and pear salad.')).toEqual(['The', 'apple', 'and', 'pear', 'salad', '.']);
    expect(tokenizeWords("Don't stop, well-known café!", { lowercase: true })).toEqual(["don't", 'stop', ',', 'well-known', 'café', '!']);
    expect(tokenizeWords('  \n ')).toEqual([]);
  });

  it('tokenizeChars keeps code points whole', () => {
    expect(tokenizeChars('aé😀\n')).toEqual(['a', 'é', '😀', '\n']);
  });

  it("tokenizeSentences appends <EOS> to each sentence (the notes' example)", () => {
    expect(tokenizeSentences(['Cats average 15 hours of sleep a day.', '   ', 'Hi'], { level: 'word', lowercase: true })).toEqual([
      ['cats', 'average', '15', 'hours', 'of', 'sleep', 'a', 'day', '.', EOS],
      ['hi', EOS],
    ]);
    expect(tokenizeSentences(['Rex'], { level: 'char', lowercase: true })).toEqual([['r', 'e', 'x', EOS]]);
    expect(() => tokenizeText('x', { level: 'byte' as 'char' })).toThrow(/level "char" or "word", got "byte"/);
  });

  it('detokenize joins characters, or words without a space before punctuation, and stops at <EOS>', () => {
    expect(detokenize(['r', 'e', 'x', EOS, 'z'], 'char')).toBe('rex');
    expect(detokenize(['the', 'apple', ',', 'pear', PAD, 'salad', '.', EOS], 'word')).toBe('the apple, pear salad.');
  });

  it('a word vocabulary from tokenised sentences maps rare words to <UNK>', () => {
    const sentences = tokenizeSentences(['the cat sat', 'the dog sat', 'the cat ran'], { level: 'word' });
    const v = Vocabulary.build(sentences.flat(), { minCount: 2 });
    // the ×3, <EOS> ×3 (a special), cat ×2, sat ×2; dog, ran → <UNK>.
    expect(v.tokens).toEqual([PAD, EOS, UNK, 'the', 'cat', 'sat']);
    expect(v.counts).toEqual([0, 3, 2, 3, 2, 2]);
    expect(v.decode(v.encode(sentences[1]))).toEqual(['the', UNK, 'sat', EOS]);
  });
});
