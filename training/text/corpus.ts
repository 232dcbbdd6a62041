/**
 * Text corpora for word embeddings: the Project Gutenberg books in shared/data/english-corpus
 * and any plain text file.
 *
 * Reading a file:
 *   1. a UTF-8 byte-order mark is removed;
 *   2. a Gutenberg book is cut to its prose: everything after the line that starts with
 *      `*** START OF` and before the line that starts with `*** END OF` (the license header and
 *      footer go). A file without the markers is kept whole;
 *   3. the text is lower-cased and tokenised by `tokenizeCorpusWords`.
 *
 * The tokenisation rule (documented, deliberately simple): curly apostrophes (’ ‘) become ',
 * and a word is a maximal run of letters and digits, with inner apostrophes kept:
 *   [\p{L}\p{N}]+(?:'[\p{L}\p{N}]+)*   (Unicode classes)
 * so "Don’t" → "don't", "well-known" → "well" "known", "_Emma_" → "emma", "1812," → "1812",
 * and punctuation is dropped (word2vec and GloVe learn from words only).
 */
import { fs, nodePath, type FsStats } from '../io/node-builtins.js';
import { readTextFile } from '../io/files.js';

/** One file of a corpus: its path and its words. */
export interface CorpusDocument {
  path: string;
  tokens: string[];
}

export interface Corpus {
  documents: CorpusDocument[];
  /** Σ of the documents' token counts. */
  tokenCount: number;
}

const WORD = /[\p{L}\p{N}]+(?:'[\p{L}\p{N}]+)*/gu;

/** Lower-cased words of `text` by the rule in the module comment. */
export function tokenizeCorpusWords(text: string): string[] {
  return text.toLowerCase().replace(/[’‘]/g, "'").match(WORD) ?? [];
}

/**
 * The prose of a Project Gutenberg e-book: the BOM removed, then the text between the
 * `*** START OF …` line and the `*** END OF …` line (each marker line excluded). Text without a
 * START marker starts at the beginning, without an END marker runs to the end.
 */
export function stripGutenberg(text: string): string {
  let body = text.replace(/^\uFEFF/, '');
  const start = /^\*\*\* ?START OF[^\n]*\n/m.exec(body);
  if (start) body = body.slice(start.index + start[0].length);
  const end = /^\*\*\* ?END OF/m.exec(body);
  if (end) body = body.slice(0, end.index);
  return body;
}

/** The words of one text file (Gutenberg markers honoured when present). */
export function readCorpusFile(path: string): CorpusDocument {
  return { path, tokens: tokenizeCorpusWords(stripGutenberg(readTextFile(path, 'corpus file'))) };
}

/**
 * A corpus from a file or a directory. A directory contributes its `*.txt` files (not
 * recursive), in sorted name order so the corpus — and every training run on it — is the same
 * on every machine. Throws when the path does not exist or a directory holds no .txt file.
 */
export function readCorpus(path: string): Corpus {
  let stat: FsStats;
  try {
    stat = fs.statSync(path);
  } catch {
    throw new Error(`readCorpus: corpus ${path} does not exist`);
  }
  const files = stat.isDirectory()
    ? fs.readdirSync(path).filter((f) => f.toLowerCase().endsWith('.txt')).sort().map((f) => nodePath.join(path, f))
    : [path];
  if (files.length === 0) throw new Error(`readCorpus: directory ${path} holds no .txt file`);
  const documents = files.map(readCorpusFile);
  const tokenCount = documents.reduce((s, d) => s + d.tokens.length, 0);
  if (tokenCount === 0) throw new Error(`readCorpus: corpus ${path} holds no words`);
  return { documents, tokenCount };
}
