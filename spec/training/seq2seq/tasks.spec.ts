import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../engine/index.js';
import {
  createTransliteration, pairsToTsv, parsePairsTsv, readPairsTsv, reversalPairs, transliterate, transliterationPairs,
  writePairsTsv,
} from '../../../training/seq2seq/tasks.js';

describe('long-input sequence tasks', () => {
  it('reversal: the target reads the source backwards; lengths cover 5–60', () => {
    const pairs = reversalPairs(500, new Rng(1));
    const lengths = new Set<number>();
    for (const p of pairs) {
      const src = p.source.split(' ');
      expect(p.target.split(' ')).toEqual([...src].reverse());
      for (const t of src) expect(t).toMatch(/^[a-t]$/);
      lengths.add(src.length);
    }
    expect(Math.min(...lengths)).toBe(5);
    expect(Math.max(...lengths)).toBe(60);
    expect(lengths.size).toBe(56);
  });

  it('transliteration: monotone, one or two target letters per source letter, by a fixed table', () => {
    const table = createTransliteration({ vocabSize: 6 }, { rng: new Rng(2) });
    expect(Object.keys(table)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    for (const out of Object.values(table)) {
      expect(out.length === 1 || out.length === 2).toBe(true);
      for (const t of out) expect(t).toMatch(/^[A-Z]$/);
    }
    expect(transliterate(['b', 'a', 'b'], table)).toEqual([...table.b, ...table.a, ...table.b]);
    const pairs = transliterationPairs(200, new Rng(3), table, { minLength: 10, maxLength: 12 });
    for (const p of pairs) {
      const src = p.source.split(' ');
      expect(src.length).toBeGreaterThanOrEqual(10);
      expect(src.length).toBeLessThanOrEqual(12);
      expect(p.target).toBe(src.map((t) => table[t].join(' ')).join(' '));
    }
    expect(() => transliterate(['z'], table)).toThrow("transliterate: expected a token of the table (abcdef), got 'z'");
  });

  it('is deterministic by seed', () => {
    expect(reversalPairs(20, new Rng(4))).toEqual(reversalPairs(20, new Rng(4)));
    expect(reversalPairs(20, new Rng(4))).not.toEqual(reversalPairs(20, new Rng(5)));
    expect(createTransliteration({}, { rng: new Rng(6) })).toEqual(createTransliteration({}, { rng: new Rng(6) }));
    expect(createTransliteration({}, { rng: new Rng(6) })).not.toEqual(createTransliteration({}, { rng: new Rng(7) }));
  });

  it('TSV round-trips; bad lines and bad options are named', () => {
    const pairs = reversalPairs(5, new Rng(7), { minLength: 2, maxLength: 3 });
    expect(parsePairsTsv(pairsToTsv(pairs))).toEqual(pairs);
    const dir = mkdtempSync(join(tmpdir(), 'seqgrad-pairs-'));
    try {
      writePairsTsv(join(dir, 'p.tsv'), pairs);
      expect(readPairsTsv(join(dir, 'p.tsv'))).toEqual(pairs);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(() => parsePairsTsv('a\tb\nc d\n', 'x.tsv')).toThrow("parsePairsTsv: expected 'source<TAB>target' in x.tsv line 2, got 0 tabs");
    expect(() => pairsToTsv([{ source: 'a\tb', target: 'c' }])).toThrow('pairsToTsv: expected no tab or newline in the source of pair 0');
    expect(() => reversalPairs(1, new Rng(0), { minLength: 8, maxLength: 4 })).toThrow(
      'reversalPairs: expected integer lengths 1 ≤ minLength ≤ maxLength, got 8 and 4',
    );
  });
});
