import { describe, expect, it } from 'vitest';
import { DelimitedSyntaxError, detectDelimitedFormat, parseCsv, parseTsv } from '../../../training/io/delimited.js';

describe('delimited records', () => {
  it('CSV: quoted fields hold commas, doubled quotes and line breaks; records keep their first line', () => {
    const text = '\uFEFFlabel,text\r\npos,"I loved it, really"\r\n\r\nneg,"He said ""no"""\nneu,"two\nlines",extra\nlast,no newline';
    expect(parseCsv(text)).toEqual([
      { fields: ['label', 'text'], line: 1 },
      { fields: ['pos', 'I loved it, really'], line: 2 },
      { fields: ['neg', 'He said "no"'], line: 4 },
      { fields: ['neu', 'two\nlines', 'extra'], line: 5 },
      { fields: ['last', 'no newline'], line: 7 },
    ]);
  });

  it('CSV: empty fields are kept, a quote inside an unquoted field is a character', () => {
    expect(parseCsv('a,,c,\n5" tall,x\n""\n')).toEqual([
      { fields: ['a', '', 'c', ''], line: 1 },
      { fields: ['5" tall', 'x'], line: 2 },
      { fields: [''], line: 3 },
    ]);
  });

  it('CSV: a quote left open names the line its record starts on', () => {
    let caught: unknown;
    try {
      parseCsv('label,text\npos,fine\nneg,"never\nclosed\n');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DelimitedSyntaxError);
    expect((caught as DelimitedSyntaxError).line).toBe(3);
  });

  it('TSV: tabs split, no quoting, blank lines skipped, CR dropped', () => {
    expect(parseTsv('a\t"b, c"\r\n\n x \t y\tz\n')).toEqual([
      { fields: ['a', '"b, c"'], line: 1 },
      { fields: [' x ', ' y', 'z'], line: 3 },
    ]);
  });

  it('format: by extension first, then by the first non-blank line', () => {
    expect(detectDelimitedFormat('d/x.CSV', 'a\tb')).toBe('csv');
    expect(detectDelimitedFormat('x.tsv', 'a,b')).toBe('tsv');
    expect(detectDelimitedFormat('x.tab', '')).toBe('tsv');
    expect(detectDelimitedFormat('x.txt', '\n\npos\thello, world')).toBe('tsv');
    expect(detectDelimitedFormat('x.txt', 'label,text\n')).toBe('csv');
    expect(detectDelimitedFormat('x.txt', 'just words')).toBeNull();
  });
});
