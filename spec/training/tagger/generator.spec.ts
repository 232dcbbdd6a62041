import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../../engine/rng.js';
import {
  AMBIGUOUS_STARTS, generateTaggedSentences, hasAmbiguousFirstWord, loadNameLists, sentenceText,
} from '../../../training/tagger/tagger.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-tagger-names-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const names = loadNameLists();

describe('the shipped name lists', () => {
  it('hold a few hundred distinct capitalised names, with every ambiguous word among the first names', () => {
    expect(names.first.length).toBeGreaterThanOrEqual(200);
    expect(names.last.length).toBeGreaterThanOrEqual(200);
    for (const list of [names.first, names.last]) {
      expect(new Set(list).size).toBe(list.length);
      for (const n of list) expect(n).toMatch(/^[A-Z][a-z]+$|^Mc[A-Z][a-z]+$/);
    }
    for (const word of Object.keys(AMBIGUOUS_STARTS)) expect(names.first, word).toContain(word);
    // The notes' examples.
    for (const n of ['Harry', 'Hermione', 'Teddy']) expect(names.first).toContain(n);
    for (const n of ['Potter', 'Granger', 'Roosevelt']) expect(names.last).toContain(n);
  });

  it('a malformed list is an input error naming the file and line', () => {
    fs.writeFileSync(path.join(dir, 'first.txt'), 'Anna\n# a comment\n\nbob smith\n');
    fs.writeFileSync(path.join(dir, 'last.txt'), 'Jones\n');
    const err = (() => { try { loadNameLists(dir); } catch (e) { return e as Error; } return null; })();
    expect(err?.name).toBe('InputError');
    expect(err?.message).toBe(`loadNameLists: ${path.join(dir, 'first.txt')}:4: expected one capitalised name per line, got "bob smith"`);
  });
});

describe('the sentence generator', () => {
  it('is deterministic: same seed, same sentences; another seed, others', () => {
    const a = generateTaggedSentences(new Rng(11), 200, names);
    expect(generateTaggedSentences(new Rng(11), 200, names)).toEqual(a);
    const b = generateTaggedSentences(new Rng(12), 200, names);
    expect(b.map((s) => s.tokens.join(' '))).not.toEqual(a.map((s) => s.tokens.join(' ')));
  });

  it('reproduces the notes\' example with its labels: Harry Potter and Hermione Granger invented a new spell', () => {
    const tiny = { first: ['Harry', 'Hermione'], last: ['Potter', 'Granger'] };
    const sentences = generateTaggedSentences(new Rng(3), 3000, tiny, { ambiguousRate: 0, lastNameRate: 1 });
    const example = sentences.find((s) => sentenceText(s.tokens) === 'Harry Potter and Hermione Granger invented a new spell.');
    expect(example).toBeDefined();
    expect(example!.labels).toEqual([1, 1, 0, 1, 1, 0, 0, 0, 0, 0]);
  });

  it('labels: 1 exactly on name tokens — every 1 is a listed name, every lower-case word or punctuation is 0', () => {
    const first = new Set(names.first), last = new Set(names.last);
    const sentences = generateTaggedSentences(new Rng(5), 2000, names);
    let ones = 0;
    for (const s of sentences) {
      expect(s.labels.length).toBe(s.tokens.length);
      s.tokens.forEach((t, i) => {
        if (s.labels[i] === 1) {
          ones++;
          expect(first.has(t) || last.has(t), t).toBe(true);
        }
        if (!/^[A-Z]/.test(t)) expect(s.labels[i], `${t} in ${sentenceText(s.tokens)}`).toBe(0);
      });
      expect(s.tokens.at(-1)).toBe('.');
    }
    expect(ones).toBeGreaterThan(2000); // most sentences name someone
  });

  it('an ambiguous first word is a name (followed by a template) or an ordinary word (followed by its continuation), about half each', () => {
    const sentences = generateTaggedSentences(new Rng(8), 2000, names, { ambiguousRate: 1 });
    let asName = 0;
    for (const s of sentences) {
      expect(hasAmbiguousFirstWord(s)).toBe(true);
      const rest = s.tokens.slice(1, -1).join(' ');
      if (s.labels[0] === 1) asName++;
      else expect(AMBIGUOUS_STARTS[s.tokens[0]].some((c) => rest === c || rest.startsWith(`${c} `)), sentenceText(s.tokens)).toBe(true);
    }
    // Binomial(2000, 1/2): 3 standard deviations ≈ 0.034.
    expect(Math.abs(asName / 2000 - 0.5)).toBeLessThan(0.035);
    const none = generateTaggedSentences(new Rng(8), 500, names, { ambiguousRate: 0 });
    // With rate 0, an ambiguous first word only comes from a random first name (as a name, label 1).
    for (const s of none.filter((x) => hasAmbiguousFirstWord(x))) expect(s.labels[0]).toBe(1);
  });

  it('bad options throw naming the option', () => {
    expect(() => generateTaggedSentences(new Rng(1), 3, names, { ambiguousRate: 2 })).toThrow('generateTaggedSentences: expected ambiguousRate in [0, 1], got 2');
    expect(() => generateTaggedSentences(new Rng(1), -1, names)).toThrow('generateTaggedSentences: expected a count ≥ 0, got -1');
  });
});
