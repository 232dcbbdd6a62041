import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCorpus, stripGutenberg, tokenizeCorpusWords } from '../../../training/text/corpus.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-corpus-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('corpus reading', () => {
  it('cuts a Gutenberg book between the START and END markers and drops the BOM', () => {
    const book = '\uFEFFThe Project Gutenberg EBook of X\r\nlicense\r\n*** START OF THIS PROJECT GUTENBERG EBOOK X ***\r\nChapter 1\r\nIt was.\r\n*** END OF THIS PROJECT GUTENBERG EBOOK X ***\r\nmore license\r\n';
    expect(stripGutenberg(book)).toBe('Chapter 1\r\nIt was.\r\n');
    expect(stripGutenberg('\uFEFFplain text')).toBe('plain text');
  });

  it('tokenises by the documented rule: lower case, letters/digits, inner apostrophes', () => {
    expect(tokenizeCorpusWords('“Don’t!” said _Emma_, well-known in 1812; rock’n’roll — ’tis ÉLAN.')).toEqual([
      "don't", 'said', 'emma', 'well', 'known', 'in', '1812', "rock'n'roll", 'tis', 'élan',
    ]);
  });

  it('reads a directory’s .txt files in name order, and a single file', () => {
    const dir = path.join(tmp, 'books');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'b.txt'), 'Second book.');
    fs.writeFileSync(path.join(dir, 'a.txt'), '*** START OF THE BOOK ***\nFirst, book!\n*** END OF THE BOOK ***\n');
    fs.writeFileSync(path.join(dir, 'notes.md'), 'ignored');
    const corpus = readCorpus(dir);
    expect(corpus.documents.map((d) => path.basename(d.path))).toEqual(['a.txt', 'b.txt']);
    expect(corpus.documents.map((d) => d.tokens)).toEqual([['first', 'book'], ['second', 'book']]);
    expect(corpus.tokenCount).toBe(4);
    expect(readCorpus(path.join(dir, 'b.txt')).documents[0].tokens).toEqual(['second', 'book']);
  });

  it('names the path in its errors', () => {
    expect(() => readCorpus(path.join(tmp, 'missing'))).toThrow(/readCorpus: corpus .*missing does not exist/);
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    expect(() => readCorpus(empty)).toThrow(/holds no \.txt file/);
    fs.writeFileSync(path.join(empty, 'x.txt'), '... !!! ---');
    expect(() => readCorpus(empty)).toThrow(/holds no words/);
  });
});
