import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Matrix, Rng } from '../../../engine/index.js';
import { formatVectorValue, parseVectors, readVectors, writeVectors } from '../../../training/io/vectors.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-vectors-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('vectors files', () => {
  it('reads the word2vec text format (header, trailing spaces, CRLF, BOM)', () => {
    const text = '\uFEFF3 2\r\n</s> 0.1 0.2 \r\nking 1 -2.5e-1 \r\nqueen .5 +3\r\n';
    const wv = parseVectors(text, 'w2v.txt');
    expect(wv.format).toBe('word2vec');
    expect(wv.words).toEqual(['</s>', 'king', 'queen']);
    expect(wv.vectors.rows).toBe(3);
    expect(wv.vectors.get(1, 1)).toBeCloseTo(-0.25, 7);
    expect(wv.vectors.get(2, 0)).toBeCloseTo(0.5, 7);
    expect(wv.index.get('queen')).toBe(2);
  });

  it('reads the GloVe text format (no header) and detects it', () => {
    const wv = parseVectors('the 0.418 0.24968 -0.41242\n, 0.013441 0.23682 -0.16899\n', 'glove.txt');
    expect(wv.format).toBe('glove');
    expect(wv.words).toEqual(['the', ',']);
    expect(wv.vectors.cols).toBe(3);
    expect(wv.vectors.get(0, 0)).toBeCloseTo(0.418, 6);
  });

  it('does not take a GloVe line of numbers for a header when the next line does not fit', () => {
    // "1 2" could be a header "V=1 d=2", but the next line has 2 fields, not 1 + 2.
    const wv = parseVectors('1 2\n2 3\n', 'numbers.txt');
    expect(wv.format).toBe('glove');
    expect(wv.words).toEqual(['1', '2']);
  });

  it('names the file and the line of a malformed line', () => {
    expect(() => parseVectors('2 3\na 1 2 3\nb 1 2\n', 'bad.txt')).toThrow(/bad\.txt line 3: expected a word and 3 values, got 2 values/);
    expect(() => parseVectors('a 1 2\nb 1 x\n', 'bad.txt')).toThrow(/bad\.txt line 2: value 2 of 'b' is not a number: 'x'/);
    expect(() => parseVectors('a 1 2\n\nb 1 2 3 4\n', 'bad.txt')).toThrow(/bad\.txt line 3: expected a word and 2 values, got 4 values/);
    expect(() => parseVectors('a 1 NaN\n', 'bad.txt')).toThrow(/line 1: value 2 of 'a' is not a number: 'NaN'/);
    // 1e39 is beyond float32 (Infinity); a word listed twice would shadow its first vector
    expect(() => parseVectors('a 1 2\nb 1e39 0\n', 'inf.txt')).toThrow(/^readVectors: inf\.txt line 2: value 1 of 'b' is 1e39, beyond the float32 range$/);
    expect(() => parseVectors('2 2\na 1 2\n\na 3 4\n', 'dup.txt')).toThrow(/^readVectors: dup\.txt line 4: 'a' is listed twice \(first on line 2\)$/);
    expect(() => parseVectors('3 2\na 1 2\nb 3 4\n', 'short.txt')).toThrow(/short\.txt: the header announces 3 words, the file has 2/);
    expect(() => parseVectors('a 1 2\n', 'x.txt', { format: 'word2vec' })).toThrow(/x\.txt line 1: expected the word2vec header/);
    expect(() => readVectors(path.join(dir, 'missing.txt'))).toThrow(/vectors file .*missing\.txt does not exist/);
  });

  it('writes both formats atomically and reads them back bit-identically (float32)', () => {
    const rng = new Rng(9);
    const m = Matrix.zeros(50, 7);
    for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal(0, 0.3) * 10 ** rng.int(4) / 100;
    m.data[3] = 0;
    const words = Array.from({ length: 50 }, (_, i) => `w${i}`);
    for (const header of [true, false]) {
      const file = path.join(dir, `v-${header}.txt`);
      writeVectors(file, words, m, { header });
      const text = fs.readFileSync(file, 'utf8');
      const first = text.split('\n')[0];
      if (header) expect(first).toBe('50 7');
      else expect(first.split(' ')).toHaveLength(8);
      expect(text.split('\n')[header ? 1 : 0].startsWith('w0 ')).toBe(true);
      const back = readVectors(file);
      expect(back.format).toBe(header ? 'word2vec' : 'glove');
      expect(back.words).toEqual(words);
      expect(Array.from(back.vectors.data)).toEqual(Array.from(m.data));
    }
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('formats a float32 with the fewest digits that read back as the same float32', () => {
    expect(formatVectorValue(Math.fround(0.1), 'float32')).toBe('0.1');
    expect(formatVectorValue(Math.fround(-1.25), 'float32')).toBe('-1.25');
    const x = Math.fround(0.123456789);
    expect(Math.fround(Number(formatVectorValue(x, 'float32')))).toBe(x);
    expect(formatVectorValue(0.1 + 0.2, 'float64')).toBe('0.30000000000000004');
  });

  it('refuses words a vectors file cannot hold, and non-finite values', () => {
    expect(() => writeVectors(path.join(dir, 'x.txt'), ['two words'], Matrix.zeros(1, 2), { header: true })).toThrow(/writeVectors: expected word 0 to be non-empty and without whitespace/);
    expect(() => writeVectors(path.join(dir, 'x.txt'), ['a'], Matrix.fromArray([[1, NaN]]), { header: true })).toThrow(/writeVectors: the vector of 'a' has a non-finite value/);
    expect(() => writeVectors(path.join(dir, 'x.txt'), ['a', 'b'], Matrix.zeros(1, 2), { header: true })).toThrow(/expected one word per row/);
    expect(fs.existsSync(path.join(dir, 'x.txt'))).toBe(false);
  });
});
