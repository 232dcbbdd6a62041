/**
 * Word vectors on disk, in the two text formats other tools read and write:
 *
 *   word2vec text (word2vec.c `-binary 0`, gensim `save_word2vec_format(binary=False)`):
 *       V d                      ← header: vocabulary size and dimension
 *       the 0.418 0.24968 …      ← one line per word: the word, then d numbers
 *   GloVe text (glove.6B.50d.txt …): the same lines without the header.
 *
 * Fields are separated by spaces or tabs; trailing spaces (word2vec.c writes one) and CRLF line
 * endings are accepted, a UTF-8 byte-order mark is skipped. On read the format is detected from
 * the first line: two non-negative integers followed by lines of 1 + d fields is a header.
 * Malformed lines raise an error that names the file and the line.
 */
import { Matrix, shapeOf, type DType } from '../../engine/matrix.js';
import { readTextFile, writeFileAtomic } from './files.js';

/** A vocabulary of words and their vectors: vectors[i, :] is the vector of words[i]. */
export interface WordVectors {
  readonly words: string[];
  /** [V, d] */
  readonly vectors: Matrix;
  /** word → row (the first row when a word appears twice in a file). */
  readonly index: Map<string, number>;
}

export type VectorsFormat = 'word2vec' | 'glove';

export interface ReadVectorsOptions {
  /** 'auto' (default) detects the header. */
  format?: VectorsFormat | 'auto';
  /** Read only the first `limit` words (files are usually sorted by frequency). */
  limit?: number;
  dtype?: DType;
}

/** The result of reading: the vectors and the format they were found in. */
export interface ReadVectorsResult extends WordVectors {
  format: VectorsFormat;
}

/** Build the word → row index (throws on a non-matching number of words). */
export function makeWordVectors(words: string[], vectors: Matrix): WordVectors {
  if (words.length !== vectors.rows) {
    throw new Error(`makeWordVectors: expected one word per row of vectors ${shapeOf(vectors)}, got ${words.length} words`);
  }
  const index = new Map<string, number>();
  words.forEach((w, i) => {
    if (!index.has(w)) index.set(w, i);
  });
  return { words, vectors, index };
}

/** Read a vectors file (word2vec or GloVe text format). `source` names it in errors. */
export function readVectors(path: string, opts: ReadVectorsOptions = {}): ReadVectorsResult {
  return parseVectors(readTextFile(path, 'vectors file'), path, opts);
}

const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
const UINT = /^\d+$/;

function splitFields(line: string): string[] {
  return line.split(/[ \t]+/).filter((f) => f.length > 0);
}

/** Parse the text of a vectors file; `source` (a file name) appears in every error. */
export function parseVectors(text: string, source: string, opts: ReadVectorsOptions = {}): ReadVectorsResult {
  const op = 'readVectors';
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  const limit = opts.limit ?? Infinity;
  if (limit !== Infinity && (!Number.isInteger(limit) || limit <= 0)) {
    throw new Error(`${op}: expected limit to be a positive integer, got ${limit}`);
  }
  // Physical line numbers (1-based) of the non-blank lines.
  const nonBlank: number[] = [];
  for (let i = 0; i < lines.length; i++) if (lines[i].trim().length > 0) nonBlank.push(i);
  if (nonBlank.length === 0) throw new Error(`${op}: ${source} holds no vectors`);

  const first = splitFields(lines[nonBlank[0]].replace(/\r$/, ''));
  const second = nonBlank.length > 1 ? splitFields(lines[nonBlank[1]].replace(/\r$/, '')) : null;
  const looksLikeHeader =
    first.length === 2 && UINT.test(first[0]) && UINT.test(first[1]) &&
    (second === null || second.length === Number(first[1]) + 1);
  const requested = opts.format ?? 'auto';
  if (requested === 'word2vec' && !looksLikeHeader) {
    throw new Error(`${op}: ${source} line ${nonBlank[0] + 1}: expected the word2vec header 'V d', got '${clip(lines[nonBlank[0]])}'`);
  }
  const format: VectorsFormat = requested === 'auto' ? (looksLikeHeader ? 'word2vec' : 'glove') : requested;

  let body = nonBlank;
  let dim: number;
  let declaredCount = -1;
  if (format === 'word2vec') {
    declaredCount = Number(first[0]);
    dim = Number(first[1]);
    body = nonBlank.slice(1);
    if (dim <= 0) throw new Error(`${op}: ${source} line ${nonBlank[0] + 1}: expected a positive dimension in the header, got ${dim}`);
  } else {
    dim = first.length - 1;
    if (dim <= 0) {
      throw new Error(`${op}: ${source} line ${nonBlank[0] + 1}: expected a word followed by its vector, got '${clip(lines[nonBlank[0]])}'`);
    }
  }
  const count = Math.min(body.length, limit);
  if (declaredCount >= 0 && limit === Infinity && declaredCount !== body.length) {
    throw new Error(`${op}: ${source}: the header announces ${declaredCount} words, the file has ${body.length} vector lines`);
  }

  const vectors = Matrix.zeros(count, dim, opts.dtype ?? 'float32');
  const words: string[] = new Array(count);
  const lineOf = new Map<string, number>();
  for (let k = 0; k < count; k++) {
    const lineNo = body[k] + 1;
    const fields = splitFields(lines[body[k]].replace(/\r$/, ''));
    if (fields.length !== dim + 1) {
      const hint = fields.length > dim + 1 ? ' (a word with spaces in it?)' : '';
      throw new Error(
        `${op}: ${source} line ${lineNo}: expected a word and ${dim} values, got ${fields.length - 1} values${hint}`,
      );
    }
    words[k] = fields[0];
    const earlier = lineOf.get(fields[0]);
    if (earlier !== undefined) throw new Error(`${op}: ${source} line ${lineNo}: '${clip(fields[0])}' is listed twice (first on line ${earlier})`);
    lineOf.set(fields[0], lineNo);
    const base = k * dim;
    for (let c = 0; c < dim; c++) {
      const field = fields[c + 1];
      if (!NUMBER.test(field)) {
        throw new Error(`${op}: ${source} line ${lineNo}: value ${c + 1} of '${clip(fields[0])}' is not a number: '${clip(field)}'`);
      }
      vectors.data[base + c] = Number(field);
      // 1e39 is a number, but Infinity in float32: it would rank NaN first in every similarity.
      if (!Number.isFinite(vectors.data[base + c])) {
        throw new Error(`${op}: ${source} line ${lineNo}: value ${c + 1} of '${clip(fields[0])}' is ${field}, beyond the ${vectors.dtype} range`);
      }
    }
  }
  return { ...makeWordVectors(words, vectors), format };
}

function clip(text: string, max = 40): string {
  const t = text.replace(/\r$/, '');
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

/**
 * The shortest decimal that reads back as the same float32 (6 to 9 significant digits), so a
 * float32 vector written and read again is bit-identical; float64 values use JS's shortest form.
 */
export function formatVectorValue(x: number, dtype: DType): string {
  if (dtype === 'float64' || x === 0 || !Number.isFinite(x)) return String(x);
  for (let p = 6; p < 9; p++) {
    const v = Number(x.toPrecision(p));
    if (Math.fround(v) === x) return String(v);
  }
  return String(Number(x.toPrecision(9)));
}

/** The lines of a vectors file, as chunks (header line first when asked). */
export function* formatVectors(words: string[], vectors: Matrix, opts: { header: boolean }): Generator<string> {
  const op = 'writeVectors';
  if (words.length !== vectors.rows) {
    throw new Error(`${op}: expected one word per row of vectors ${shapeOf(vectors)}, got ${words.length} words`);
  }
  words.forEach((w, i) => {
    if (typeof w !== 'string' || w.length === 0 || /\s/.test(w)) {
      throw new Error(`${op}: expected word ${i} to be non-empty and without whitespace, got ${JSON.stringify(w)}`);
    }
  });
  for (let r = 0; r < vectors.rows; r++) {
    for (let c = 0; c < vectors.cols; c++) {
      if (!Number.isFinite(vectors.get(r, c))) {
        throw new Error(`${op}: the vector of '${words[r]}' has a non-finite value ${vectors.get(r, c)} at column ${c}`);
      }
    }
  }
  if (opts.header) yield `${vectors.rows} ${vectors.cols}\n`;
  const dtype = vectors.dtype;
  let chunk: string[] = [];
  for (let r = 0; r < vectors.rows; r++) {
    const fields = [words[r]];
    for (let c = 0; c < vectors.cols; c++) fields.push(formatVectorValue(vectors.get(r, c), dtype));
    chunk.push(fields.join(' '));
    if (chunk.length === 1000) {
      yield chunk.join('\n') + '\n';
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk.join('\n') + '\n';
}

/**
 * Write vectors atomically (temp file + rename): word2vec text format with `header: true`,
 * GloVe text format with `header: false`.
 */
export function writeVectors(path: string, words: string[], vectors: Matrix, opts: { header: boolean }): void {
  // Validate before the atomic writer opens its temp file (the generator checks lazily).
  const lines = formatVectors(words, vectors, opts);
  const firstChunk = lines.next();
  writeFileAtomic(path, (function* () {
    if (!firstChunk.done) yield firstChunk.value;
    yield* lines;
  })());
}
