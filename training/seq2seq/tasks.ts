/**
 * Synthetic sequence-to-sequence tasks with long inputs, for the notes' curve "BLEU falls with
 * sentence length without attention" (Bahdanau et al. 2014, fig. 2): a fixed-size encoding must carry
 * the whole input, so an encoder-decoder without attention degrades as the input grows, one with
 * attention does not.
 *
 * Tokens are single letters separated by spaces, so a pair works both word-level (BLEU over tokens)
 * and char-level. Lengths are drawn uniformly from [minLength, maxLength] (default 5–60).
 *   reversal:        "c a f b"  →  "b f a c"
 *   transliteration: each source letter becomes one or two upper-case target letters by a fixed,
 *                    seeded table (monotone alignment like a real transliteration, target length ≠
 *                    source length):  "c a f" → "Q K D Q R" with c → Q K, a → D, f → Q R
 * Pairs are written as TSV, one `source<TAB>target` per line.
 */
import type { Rng } from '../../engine/rng.js';
import { isRng, resolveCreateOptions, type CreateOptions } from '../../engine/create.js';
import { readTextFile, writeFileAtomic } from '../io/files.js';

export interface SeqPair {
  source: string;
  target: string;
}

export interface SeqTaskOptions {
  /** Shortest input in tokens (default 5). */
  minLength?: number;
  /** Longest input in tokens (default 60). */
  maxLength?: number;
  /** Number of distinct source tokens, 2–26 (default 20: letters a–t). */
  vocabSize?: number;
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = LOWER.toUpperCase();

function resolve(op: string, options: SeqTaskOptions): Required<SeqTaskOptions> {
  const minLength = options.minLength ?? 5;
  const maxLength = options.maxLength ?? 60;
  const vocabSize = options.vocabSize ?? 20;
  if (!Number.isInteger(minLength) || !Number.isInteger(maxLength) || minLength < 1 || maxLength < minLength) {
    throw new Error(`${op}: expected integer lengths 1 ≤ minLength ≤ maxLength, got ${minLength} and ${maxLength}`);
  }
  if (!Number.isInteger(vocabSize) || vocabSize < 2 || vocabSize > 26) {
    throw new Error(`${op}: expected vocabSize in [2, 26], got ${vocabSize}`);
  }
  return { minLength, maxLength, vocabSize };
}

function randomTokens(rng: Rng, opts: Required<SeqTaskOptions>): string[] {
  const length = opts.minLength + rng.int(opts.maxLength - opts.minLength + 1);
  return Array.from({ length }, () => LOWER[rng.int(opts.vocabSize)]);
}

/** n reversal pairs: the target is the source's tokens in reverse order. */
export function reversalPairs(n: number, rng: Rng, options: SeqTaskOptions = {}): SeqPair[] {
  const opts = resolve('reversalPairs', options);
  return Array.from({ length: n }, () => {
    const tokens = randomTokens(rng, opts);
    return { source: tokens.join(' '), target: [...tokens].reverse().join(' ') };
  });
}

/** Source letter → its one or two target letters. */
export type TransliterationTable = Record<string, string[]>;

/**
 * A random table for the first `config.vocabSize` letters (default 20): each maps to 1 or 2 letters of
 * A–Z, drawn from `options.rng` (default `new Rng(DEFAULT_SEED)`; a table has no dtype).
 */
export function createTransliteration(config?: { vocabSize?: number }, options?: Pick<CreateOptions, 'rng'>): TransliterationTable;
/** @deprecated Use `createTransliteration({ vocabSize }, { rng })`. */
export function createTransliteration(rng: Rng, vocabSize?: number): TransliterationTable;
export function createTransliteration(first?: { vocabSize?: number } | Rng, second?: Pick<CreateOptions, 'rng'> | number): TransliterationTable {
  const op = 'createTransliteration';
  const legacy = isRng(first);
  const vocabSize = (legacy ? second as number | undefined : first?.vocabSize) ?? 20;
  const { rng } = resolveCreateOptions(op, legacy ? { rng: first } : second as Pick<CreateOptions, 'rng'> | undefined);
  resolve(op, { vocabSize });
  const table: TransliterationTable = {};
  for (let i = 0; i < vocabSize; i++) {
    const width = 1 + rng.int(2);
    table[LOWER[i]] = Array.from({ length: width }, () => UPPER[rng.int(26)]);
  }
  return table;
}

/** Apply the table token by token. */
export function transliterate(tokens: readonly string[], table: TransliterationTable): string[] {
  return tokens.flatMap((t) => {
    const out = table[t];
    if (!out) throw new Error(`transliterate: expected a token of the table (${Object.keys(table).join('')}), got '${t}'`);
    return out;
  });
}

/** n transliteration pairs under `table` (its size sets the vocabulary; options.vocabSize is ignored). */
export function transliterationPairs(n: number, rng: Rng, table: TransliterationTable, options: SeqTaskOptions = {}): SeqPair[] {
  const opts = resolve('transliterationPairs', { ...options, vocabSize: Object.keys(table).length });
  return Array.from({ length: n }, () => {
    const tokens = randomTokens(rng, opts);
    return { source: tokens.join(' '), target: transliterate(tokens, table).join(' ') };
  });
}

/** `source<TAB>target` lines (each ending in a newline). Tabs or newlines inside a pair throw. */
export function pairsToTsv(pairs: readonly SeqPair[]): string {
  return pairs.map((p, i) => {
    for (const [name, text] of [['source', p.source], ['target', p.target]] as const) {
      if (/[\t\r\n]/.test(text)) throw new Error(`pairsToTsv: expected no tab or newline in the ${name} of pair ${i}, got ${JSON.stringify(text)}`);
    }
    return `${p.source}\t${p.target}\n`;
  }).join('');
}

/** Write pairs as TSV atomically. */
export function writePairsTsv(path: string, pairs: readonly SeqPair[]): void {
  writeFileAtomic(path, pairsToTsv(pairs));
}

/**
 * Parse `source<TAB>target` lines (blank lines skipped). A line without exactly one tab throws,
 * naming `what` (e.g. the file) and the line number.
 */
export function parsePairsTsv(text: string, what = 'pairs'): SeqPair[] {
  const pairs: SeqPair[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const parts = line.split('\t');
    if (parts.length !== 2) {
      throw new Error(`parsePairsTsv: expected 'source<TAB>target' in ${what} line ${i + 1}, got ${parts.length - 1} tabs`);
    }
    pairs.push({ source: parts[0], target: parts[1] });
  });
  return pairs;
}

/** Read a pairs file (clear error when missing or empty). */
export function readPairsTsv(path: string): SeqPair[] {
  return parsePairsTsv(readTextFile(path, 'pairs file'), path);
}
