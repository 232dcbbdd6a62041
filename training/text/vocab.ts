/**
 * Vocabularies and tokenisers, with the notes' special tokens.
 *
 * The notes (Sequence Models, week 1, "Language model and sequence generation"): tokenise the
 * training set, map each token to an index, append `<EOS>` to every sentence so the model learns
 * where sentences end, and replace words outside the vocabulary (too rare, or beyond the size
 * limit) by `<UNK>`. A vocabulary is saved inside the model file (toJSON/fromJSON) so a model and
 * its token ids never drift apart.
 *
 * Id order: the specials first, in the order given, then the other tokens by descending count,
 * ties by code-unit order of the token. The order does not depend on the order of the input, so
 * the same corpus always gives the same ids.
 */

export const EOS = '<EOS>';
export const UNK = '<UNK>';
export const PAD = '<PAD>';
/** Start-of-sequence token, for decoders that need one distinct from `<EOS>`. */
export const SOS = '<SOS>';

/** The specials a vocabulary gets when `build` is not told otherwise. */
export const DEFAULT_SPECIALS: readonly string[] = [PAD, EOS, UNK];

export interface VocabularyBuildOptions {
  /** Tokens seen fewer times than this become `<UNK>` (default 1: keep everything). */
  minCount?: number;
  /** Largest number of entries, specials included (default: no limit). The rarest go first. */
  maxSize?: number;
  /** Tokens that always get the first ids, in this order (default `[PAD, EOS, UNK]`). */
  specials?: string[];
}

export interface VocabularyJSON {
  kind: 'seqgrad.vocabulary';
  version: 1;
  tokens: string[];
  counts: number[];
}

export class Vocabulary {
  /** Token of each id. */
  readonly tokens: string[];
  /** Training-corpus count of each id (`<UNK>` also counts the dropped tokens it stands for). */
  readonly counts: number[];
  /** Id of `<UNK>`, or −1 when this vocabulary has none (then unknown tokens throw). */
  readonly unkId: number;
  private readonly ids: Map<string, number>;

  constructor(tokens: string[], counts: number[]) {
    if (!Array.isArray(tokens) || !Array.isArray(counts) || tokens.length !== counts.length) {
      throw new Error(
        `Vocabulary: expected tokens and counts arrays of equal length, got ${describeLength(tokens)} and ${describeLength(counts)}`,
      );
    }
    const ids = new Map<string, number>();
    tokens.forEach((token, i) => {
      if (typeof token !== 'string' || token.length === 0) {
        throw new Error(`Vocabulary: expected token ${i} to be a non-empty string, got ${JSON.stringify(token)}`);
      }
      if (ids.has(token)) throw new Error(`Vocabulary: token ${JSON.stringify(token)} appears twice (ids ${ids.get(token)} and ${i})`);
      const count = counts[i];
      if (!Number.isInteger(count) || count < 0) {
        throw new Error(`Vocabulary: expected count ${i} to be a non-negative integer, got ${count}`);
      }
      ids.set(token, i);
    });
    this.tokens = tokens.slice();
    this.counts = counts.slice();
    this.ids = ids;
    this.unkId = ids.get(UNK) ?? -1;
  }

  /** Count the tokens and keep those that pass `minCount` and fit in `maxSize`. */
  static build(tokens: Iterable<string>, opts: VocabularyBuildOptions = {}): Vocabulary {
    const minCount = opts.minCount ?? 1;
    const maxSize = opts.maxSize ?? Infinity;
    const specials = opts.specials ?? [...DEFAULT_SPECIALS];
    if (!Number.isInteger(minCount) || minCount < 1) {
      throw new Error(`Vocabulary.build: expected minCount to be an integer ≥ 1, got ${minCount}`);
    }
    if (maxSize !== Infinity && (!Number.isInteger(maxSize) || maxSize < specials.length)) {
      throw new Error(`Vocabulary.build: expected maxSize to be an integer ≥ the ${specials.length} specials, got ${maxSize}`);
    }
    const counts = new Map<string, number>();
    for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);

    const specialSet = new Set(specials);
    const candidates = [...counts.entries()]
      .filter(([token, count]) => !specialSet.has(token) && count >= minCount)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const kept = candidates.slice(0, Math.max(0, maxSize - specials.length));
    const keptSet = new Set(kept.map(([token]) => token));

    let dropped = 0;
    for (const [token, count] of counts) if (!specialSet.has(token) && !keptSet.has(token)) dropped += count;

    const outTokens = [...specials, ...kept.map(([token]) => token)];
    const outCounts = [...specials.map((s) => (counts.get(s) ?? 0) + (s === UNK ? dropped : 0)), ...kept.map(([, c]) => c)];
    return new Vocabulary(outTokens, outCounts);
  }

  get size(): number {
    return this.tokens.length;
  }

  /** Id of `token`; `<UNK>`'s id when unknown; throws when unknown and there is no `<UNK>`. */
  id(token: string): number {
    const id = this.ids.get(token);
    if (id !== undefined) return id;
    if (this.unkId >= 0) return this.unkId;
    throw new Error(`Vocabulary.id: token ${JSON.stringify(token)} is not in the vocabulary, which has no ${UNK}`);
  }

  has(token: string): boolean {
    return this.ids.has(token);
  }

  /** Token of `id`; throws outside [0, size). */
  token(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.tokens.length) {
      throw new Error(`Vocabulary.token: expected an integer id in [0, ${this.tokens.length}), got ${id}`);
    }
    return this.tokens[id];
  }

  encode(tokens: string[]): number[] {
    return tokens.map((t) => this.id(t));
  }

  decode(ids: number[]): string[] {
    return ids.map((i) => this.token(i));
  }

  toJSON(): VocabularyJSON {
    return { kind: 'seqgrad.vocabulary', version: 1, tokens: this.tokens.slice(), counts: this.counts.slice() };
  }

  static fromJSON(json: VocabularyJSON): Vocabulary {
    if (!json || typeof json !== 'object' || json.kind !== 'seqgrad.vocabulary') {
      throw new Error(`Vocabulary.fromJSON: expected an object with kind "seqgrad.vocabulary", got ${describeKind(json)}`);
    }
    if (json.version !== 1) throw new Error(`Vocabulary.fromJSON: expected version 1, got ${String(json.version)}`);
    return new Vocabulary(json.tokens, json.counts);
  }
}

/**
 * Word-level tokens: runs of letters, digits and inner apostrophes/hyphens ("don't", "well-known")
 * are words; every other non-space character is a token of its own ("salad." → "salad", ".").
 */
export function tokenizeWords(text: string, opts: { lowercase?: boolean } = {}): string[] {
  const source = opts.lowercase ? text.toLowerCase() : text;
  return source.match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*|[^\s\p{L}\p{N}]/gu) ?? [];
}

/** Character-level tokens: one token per Unicode code point (so "é" or an emoji stays whole). */
export function tokenizeChars(text: string): string[] {
  return Array.from(text);
}

export type TokenLevel = 'char' | 'word';

export interface TokenizeOptions {
  level: TokenLevel;
  /** Lower-case the text first (default false). */
  lowercase?: boolean;
}

/**
 * The notes' preparation of a training set: each sentence becomes its tokens followed by `<EOS>`.
 * Empty (whitespace-only) sentences are skipped.
 */
export function tokenizeSentences(sentences: Iterable<string>, opts: TokenizeOptions): string[][] {
  const out: string[][] = [];
  for (const sentence of sentences) {
    if (sentence.trim().length === 0) continue;
    out.push([...tokenizeText(sentence, opts), EOS]);
  }
  return out;
}

/** Tokens of one text at the given level (no `<EOS>` added). */
export function tokenizeText(text: string, opts: TokenizeOptions): string[] {
  if (opts.level === 'char') return tokenizeChars(opts.lowercase ? text.toLowerCase() : text);
  if (opts.level === 'word') return tokenizeWords(text, { lowercase: opts.lowercase });
  throw new Error(`tokenizeText: expected level "char" or "word", got ${JSON.stringify((opts as { level: unknown }).level)}`);
}

/**
 * Tokens back to text: characters are concatenated; words are joined by spaces, with no space
 * before closing punctuation. Stops at the first `<EOS>`; `<PAD>` and `<SOS>` are dropped.
 */
export function detokenize(tokens: string[], level: TokenLevel): string {
  const kept: string[] = [];
  for (const token of tokens) {
    if (token === EOS) break;
    if (token === PAD || token === SOS) continue;
    kept.push(token);
  }
  if (level === 'char') return kept.join('');
  let text = '';
  for (const token of kept) {
    const glue = text.length === 0 || /^[.,!?;:)\]}'’%]$/u.test(token) || /[([{]$/u.test(text) ? '' : ' ';
    text += glue + token;
  }
  return text;
}

function describeLength(value: unknown): string {
  return Array.isArray(value) ? `${value.length} entries` : typeof value;
}

function describeKind(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value === null ? 'null' : typeof value);
  return `kind ${JSON.stringify((value as { kind?: unknown }).kind)}`;
}
