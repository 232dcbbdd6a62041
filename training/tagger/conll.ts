/**
 * CoNLL-style tagged text, the usual exchange format of sequence-labelling data (CoNLL-2000
 * chunking, CoNLL-2003 NER, the Universal Dependencies tools' two-column exports): one token per
 * line, a blank line between sentences. Pure functions on the text (no file system).
 *
 * Columns are separated by tabs (or, on a line without a tab, by runs of spaces, as the CoNLL-2003
 * files are). The FIRST column is the token and the LAST the tag, so `token<TAB>tag` and the
 * four-column CoNLL-2003 lines (`EU NNP B-NP B-ORG`: token, POS, chunk, NER) both give (token, tag);
 * the columns in between are ignored. `-DOCSTART-` lines (document separators) are skipped, as are
 * lines starting with `#` (comments in CoNLL-U style exports).
 */
import { InputError } from '../core/errors.js';

export interface ConllSentence {
  tokens: string[];
  tags: string[];
  /** The 1-based line of each token (for messages). */
  lines: number[];
}

/** Sentences of a CoNLL text; every problem is an InputError naming `source` and the line. */
export function parseConll(text: string, source: string): ConllSentence[] {
  const sentences: ConllSentence[] = [];
  let current: ConllSentence = { tokens: [], tags: [], lines: [] };
  const flush = (): void => {
    if (current.tokens.length > 0) sentences.push(current);
    current = { tokens: [], tags: [], lines: [] };
  };
  text.replace(/^\uFEFF/, '').split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return flush();
    if (line.startsWith('-DOCSTART-') || line.startsWith('#')) return;
    const columns = (line.includes('\t') ? line.split('\t') : line.trim().split(/ +/)).map((c) => c.trim());
    const token = columns[0], tag = columns[columns.length - 1];
    if (columns.length < 2 || token === '' || tag === '') {
      throw new InputError(`CoNLL file ${source} line ${i + 1}: expected 'token<TAB>tag', got ${JSON.stringify(line.slice(0, 60))}`);
    }
    current.tokens.push(token);
    current.tags.push(tag);
    current.lines.push(i + 1);
  });
  flush();
  if (sentences.length === 0) throw new InputError(`CoNLL file ${source} holds no tagged tokens`);
  return sentences;
}

/** The distinct tags, 'O' (outside, when present) first and the rest by code point. */
export function conllTagSet(sentences: readonly ConllSentence[]): string[] {
  const tags = [...new Set(sentences.flatMap((s) => s.tags))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return tags.includes('O') ? ['O', ...tags.filter((t) => t !== 'O')] : tags;
}

/** Tag ids of every token; a tag not in `tags` is an InputError naming the file and its line. */
export function conllTagIds(sentences: readonly ConllSentence[], tags: readonly string[], source: string): number[][] {
  const index = new Map(tags.map((t, i) => [t, i]));
  return sentences.map((s) => s.tags.map((tag, k) => {
    const id = index.get(tag);
    if (id === undefined) throw new InputError(`CoNLL file ${source} line ${s.lines[k]}: tag '${tag}' is not one of the model's tags (${tags.join(', ')})`);
    return id;
  }));
}
