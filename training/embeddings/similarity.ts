/**
 * Using word embeddings (the notes' "Properties of word embeddings"): cosine similarity,
 * nearest neighbours, analogies and the two standard intrinsic evaluations.
 *
 *   cos(u, v) = uᵀv / (‖u‖·‖v‖)   (and its backward, so objectives on cosines can be trained)
 *   analogy a : b :: c : ?   = argmax_w cos(e_w, e_b − e_a + e_c),  w ∉ {a, b, c}   (3CosAdd, default)
 *                            or argmax_w cos(e_b − e_a, e_w − e_c)                (the course notebook's)
 *
 * Nearest neighbours of many queries are one GEMM: with every row of E scaled to unit length
 * once (Ê [V, d]) and the queries scaled too (Q̂ [Q, d]), S = Q̂·Êᵀ [Q, V] holds every cosine.
 *
 * Analogy inputs are unit vectors (e_b − e_a + e_c is formed from ê_a, ê_b, ê_c), as word2vec.c's
 * compute-accuracy and gensim do (3CosAdd); `unitInputs: false` uses the raw vectors instead.
 *
 * Evaluations: analogy files in the `questions-words.txt` format (`: section` lines, then 4 words
 * per line; accuracy per section over the questions whose 4 words are all in the vocabulary, and
 * the coverage), and word-similarity lists (`word1 word2 score`; Spearman's ρ between the human
 * scores and the cosines, with average ranks for ties).
 */
import { gemm } from '../../engine/gemm.js';
import { type FloatArray, Matrix, shapeOf } from '../../engine/matrix.js';
import type { WordVectors } from '../io/vectors.js';

/** cos(u, v) = uᵀv / (‖u‖‖v‖); 0 when either vector is zero. */
export function cosineSimilarity(u: ArrayLike<number>, v: ArrayLike<number>): number {
  if (u.length !== v.length) {
    throw new Error(`cosineSimilarity: expected vectors of equal length, got ${u.length} and ${v.length}`);
  }
  let dot = 0, uu = 0, vv = 0;
  for (let i = 0; i < u.length; i++) {
    dot += u[i] * v[i];
    uu += u[i] * u[i];
    vv += v[i] * v[i];
  }
  return uu === 0 || vv === 0 ? 0 : dot / Math.sqrt(uu * vv);
}

/**
 * Backward of c = cos(u, v) = uᵀv / (‖u‖‖v‖), for training objectives built on cosines (analogies,
 * a bias projection): with dc = ∂L/∂c, ACCUMULATES
 *   du += dc · (v / (‖u‖‖v‖) − c · u / ‖u‖²),   dv += dc · (u / (‖u‖‖v‖) − c · v / ‖v‖²).
 * Either of du, dv may be null (not wanted). A zero vector has cos ≡ 0 (cosineSimilarity's
 * convention), so nothing is added when u or v is zero. du and dv must not alias u, v or each other.
 */
export function cosineSimilarityBackward(
  du: FloatArray | null, dv: FloatArray | null, u: ArrayLike<number>, v: ArrayLike<number>, dc: number,
): void {
  const op = 'cosineSimilarityBackward';
  if (u.length !== v.length) throw new Error(`${op}: expected vectors of equal length, got ${u.length} and ${v.length}`);
  if (du && du.length !== u.length) throw new Error(`${op}: expected du of length ${u.length}, got ${du.length}`);
  if (dv && dv.length !== v.length) throw new Error(`${op}: expected dv of length ${v.length}, got ${dv.length}`);
  let dot = 0, uu = 0, vv = 0;
  for (let i = 0; i < u.length; i++) {
    dot += u[i] * v[i];
    uu += u[i] * u[i];
    vv += v[i] * v[i];
  }
  if (uu === 0 || vv === 0) return;
  const inv = 1 / Math.sqrt(uu * vv), c = dot * inv;
  if (du) for (let i = 0; i < u.length; i++) du[i] += dc * (v[i] * inv - (c * u[i]) / uu);
  if (dv) for (let i = 0; i < v.length; i++) dv[i] += dc * (u[i] * inv - (c * v[i]) / vv);
}

/** out[r, :] = x[r, :] / ‖x[r, :]‖ (a zero row stays zero). out may alias x. */
export function normalizeRows(out: Matrix, x: Matrix): Matrix {
  if (out.rows !== x.rows || out.cols !== x.cols) {
    throw new Error(`normalizeRows: expected out to have the shape of x ${shapeOf(x)}, got ${shapeOf(out)}`);
  }
  for (let r = 0; r < x.rows; r++) {
    const s = x.offset + r * x.stride, o = out.offset + r * out.stride;
    let ss = 0;
    for (let c = 0; c < x.cols; c++) ss += x.data[s + c] * x.data[s + c];
    const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
    for (let c = 0; c < x.cols; c++) out.data[o + c] = x.data[s + c] * inv;
  }
  return out;
}

/** Ê: a copy of the vectors with unit rows (compute once, pass to the functions below). */
export function unitRows(vectors: Matrix): Matrix {
  return normalizeRows(Matrix.zeros(vectors.rows, vectors.cols, vectors.dtype), vectors);
}

export interface Neighbor {
  word: string;
  index: number;
  similarity: number;
}

export interface NeighborOptions {
  /** Ê = unitRows(wv.vectors), if already computed. */
  unit?: Matrix;
  /** Per query, rows that may not be returned (e.g. the query word itself). */
  exclude?: ArrayLike<number>[];
  /** Search only the first `maxVocab` rows (the most frequent words in a sorted file). */
  maxVocab?: number;
}

/** Rows of the score matrix handled per GEMM (bounds the [chunk, V] buffer). */
const QUERY_CHUNK = 256;

/**
 * The k nearest rows (by cosine) of every query: queries [Q, d] → Q lists of k neighbours, best
 * first. One GEMM per chunk of 256 queries: S = Q̂·Êᵀ.
 */
export function nearestNeighbors(wv: WordVectors, queries: Matrix, k: number, opts: NeighborOptions = {}): Neighbor[][] {
  const E = wv.vectors;
  if (queries.cols !== E.cols) {
    throw new Error(`nearestNeighbors: expected queries of dimension ${E.cols}, got ${shapeOf(queries)}`);
  }
  if (!Number.isInteger(k) || k <= 0) throw new Error(`nearestNeighbors: expected k to be a positive integer, got ${k}`);
  if (opts.exclude && opts.exclude.length !== queries.rows) {
    throw new Error(`nearestNeighbors: expected one exclusion list per query (${queries.rows}), got ${opts.exclude.length}`);
  }
  const vocab = Math.min(opts.maxVocab ?? E.rows, E.rows);
  const unit = (opts.unit ?? unitRows(E)).rowView(0, vocab);
  const q = normalizeRows(Matrix.zeros(queries.rows, queries.cols, E.dtype), queries);
  const results: Neighbor[][] = [];
  const scores = Matrix.zeros(Math.min(QUERY_CHUNK, Math.max(q.rows, 1)), vocab, E.dtype);
  for (let start = 0; start < q.rows; start += QUERY_CHUNK) {
    const n = Math.min(QUERY_CHUNK, q.rows - start);
    const s = scores.rowView(0, n);
    gemm(s, q.rowView(start, n), unit, false, true);
    for (let i = 0; i < n; i++) {
      const excluded = opts.exclude?.[start + i];
      const best = topK(s.data, s.offset + i * s.stride, vocab, k, excluded);
      results.push(best.map(([index, similarity]) => ({ word: wv.words[index], index, similarity })));
    }
  }
  return results;
}

/** The k largest entries of row[0 … n) (skipping `excluded`), as [index, value] best first. */
function topK(row: ArrayLike<number>, offset: number, n: number, k: number, excluded?: ArrayLike<number>): [number, number][] {
  const best: [number, number][] = [];
  for (let j = 0; j < n; j++) {
    const v = row[offset + j];
    if (best.length === k && v <= best[k - 1][1]) continue;
    if (excluded && isIn(excluded, j)) continue;
    let pos = best.length;
    while (pos > 0 && best[pos - 1][1] < v) pos--;
    best.splice(pos, 0, [j, v]);
    if (best.length > k) best.pop();
  }
  return best;
}

function isIn(list: ArrayLike<number>, x: number): boolean {
  for (let i = 0; i < list.length; i++) if (list[i] === x) return true;
  return false;
}

/** Row of `word`, or a clear error naming it. */
export function wordIndex(wv: WordVectors, word: string, op = 'wordIndex'): number {
  const i = wv.index.get(word);
  if (i === undefined) throw new Error(`${op}: '${word}' is not in the vocabulary (${wv.words.length} words)`);
  return i;
}

function rowOf(m: Matrix, r: number): Matrix {
  return m.rowView(r, 1);
}

/** The k words most similar to `word` (the word itself excluded). */
export function similarWords(wv: WordVectors, word: string, k = 10, opts: Omit<NeighborOptions, 'exclude'> = {}): Neighbor[] {
  const i = wordIndex(wv, word, 'similarWords');
  return nearestNeighbors(wv, rowOf(wv.vectors, i), k, { ...opts, exclude: [[i]] })[0];
}

/**
 * How an analogy a : b :: c : ? scores a candidate w:
 * - '3cosadd' (default; word2vec.c, gensim, the notes): cos(e_w, e_b − e_a + e_c);
 * - 'course' (the course notebook's complete_analogy): cos(e_b − e_a, e_w − e_c), on the raw
 *   vectors unless unitInputs is set.
 */
export type AnalogyScoring = '3cosadd' | 'course';

export interface AnalogyOptions extends Omit<NeighborOptions, 'exclude'> {
  scoring?: AnalogyScoring;
  /** Use unit vectors e/‖e‖ for a, b, c (and w) (default: true for 3cosadd as word2vec.c and gensim, false for course as the notebook). */
  unitInputs?: boolean;
}

/** e_b − e_a + e_c as a [1, d] matrix (from unit vectors unless unitInputs is false). */
export function analogyTarget(wv: WordVectors, a: number, b: number, c: number, unit: Matrix | null): Matrix {
  const src = unit ?? wv.vectors;
  const d = src.cols;
  const out = Matrix.zeros(1, d, src.dtype);
  for (let j = 0; j < d; j++) out.data[j] = src.get(b, j) - src.get(a, j) + src.get(c, j);
  return out;
}

/**
 * The score of every word w of the first maxVocab rows for a : b :: c : ? (a, b and c included:
 * the caller excludes them), by `opts.scoring`. 3CosAdd is one GEMM of the unit target against Ê;
 * the course's cos(δ, e_w − e_c) with δ = e_b − e_a is one GEMM of [δ; e_c] against E:
 *   δ·(e_w − e_c) / (‖δ‖·√(‖e_w‖² − 2 e_w·e_c + ‖e_c‖²))   (0 where e_w = e_c or δ = 0).
 */
export function analogyScores(wv: WordVectors, a: string, b: string, c: string, opts: AnalogyOptions = {}): Float64Array {
  const ia = wordIndex(wv, a, 'analogy'), ib = wordIndex(wv, b, 'analogy'), ic = wordIndex(wv, c, 'analogy');
  const scoring = opts.scoring ?? '3cosadd';
  const vocab = Math.min(opts.maxVocab ?? wv.vectors.rows, wv.vectors.rows);
  if (scoring === '3cosadd') {
    const unit = opts.unit ?? unitRows(wv.vectors);
    const target = analogyTarget(wv, ia, ib, ic, opts.unitInputs === false ? null : unit);
    const scores = Matrix.zeros(1, vocab, wv.vectors.dtype);
    gemm(scores, normalizeRows(target, target), unit.rowView(0, vocab), false, true);
    return Float64Array.from(scores.data.subarray(0, vocab));
  }
  if (scoring !== 'course') throw new Error(`analogy: expected scoring '3cosadd' or 'course', got '${String(scoring)}'`);
  return courseAnalogyScores(opts.unitInputs === true ? (opts.unit ?? unitRows(wv.vectors)) : wv.vectors, ia, ib, ic, vocab);
}

/** cos(e_b − e_a, e_w − e_c) for w < vocab, over the rows of `src` (raw or unit vectors). */
function courseAnalogyScores(src: Matrix, a: number, b: number, c: number, vocab: number): Float64Array {
  const d = src.cols;
  const queries = Matrix.zeros(2, d, src.dtype); // [δ; e_c]
  for (let j = 0; j < d; j++) {
    queries.set(0, j, src.get(b, j) - src.get(a, j));
    queries.set(1, j, src.get(c, j));
  }
  const dots = Matrix.zeros(2, vocab, src.dtype);
  const rows = src.rowView(0, vocab);
  gemm(dots, queries, rows, false, true);
  let deltaDotC = 0, deltaNorm2 = 0, cNorm2 = 0;
  for (let j = 0; j < d; j++) {
    const delta = queries.get(0, j), ec = queries.get(1, j);
    deltaDotC += delta * ec;
    deltaNorm2 += delta * delta;
    cNorm2 += ec * ec;
  }
  const scores = new Float64Array(vocab);
  for (let w = 0; w < vocab; w++) {
    let ww = 0;
    for (let j = 0; j < d; j++) ww += rows.get(w, j) * rows.get(w, j);
    const diffNorm2 = ww - 2 * dots.get(1, w) + cNorm2;
    scores[w] = diffNorm2 > 0 && deltaNorm2 > 0 ? (dots.get(0, w) - deltaDotC) / Math.sqrt(deltaNorm2 * diffNorm2) : 0;
  }
  return scores;
}

/**
 * a : b :: c : ? — the k best answers w ∉ {a, b, c} by `opts.scoring` (3CosAdd by default:
 * argmax_w cos(e_w, e_b − e_a + e_c)); `similarity` is the score. analogyScores gives every word's.
 */
export function analogy(wv: WordVectors, a: string, b: string, c: string, k = 1, opts: AnalogyOptions = {}): Neighbor[] {
  if (!Number.isInteger(k) || k <= 0) throw new Error(`analogy: expected k to be a positive integer, got ${k}`);
  const scores = analogyScores(wv, a, b, c, opts);
  const excluded = [a, b, c].map((w) => wordIndex(wv, w, 'analogy'));
  return topK(scores, 0, scores.length, k, excluded).map(([index, similarity]) => ({ word: wv.words[index], index, similarity }));
}

// ---------------------------------------------------------------------------------------------
// Analogy files (questions-words.txt format)

export interface AnalogyQuestion {
  /** a, b, c, expected d: a is to b as c is to d. */
  words: [string, string, string, string];
  /** 1-based line in the file. */
  line: number;
}

export interface AnalogySection {
  name: string;
  questions: AnalogyQuestion[];
}

/**
 * Parse `: section` headers and lines of 4 words. Blank lines and lines starting with `#` or
 * `//` are skipped. Questions before the first header go into a section named 'default'.
 */
export function parseAnalogies(text: string, source: string): AnalogySection[] {
  const sections: AnalogySection[] = [];
  let current: AnalogySection | null = null;
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '').trim();
    if (line.length === 0 || line.startsWith('#') || line.startsWith('//')) continue;
    if (line.startsWith(':')) {
      const name = line.slice(1).trim();
      if (name.length === 0) throw new Error(`parseAnalogies: ${source} line ${i + 1}: expected a section name after ':'`);
      current = { name, questions: [] };
      sections.push(current);
      continue;
    }
    const words = line.split(/\s+/);
    if (words.length !== 4) {
      throw new Error(`parseAnalogies: ${source} line ${i + 1}: expected 4 words (a b c d), got ${words.length}: '${line}'`);
    }
    if (!current) {
      current = { name: 'default', questions: [] };
      sections.push(current);
    }
    current.questions.push({ words: words as [string, string, string, string], line: i + 1 });
  }
  if (sections.every((s) => s.questions.length === 0)) throw new Error(`parseAnalogies: ${source} holds no questions`);
  return sections;
}

export interface AnalogyScore {
  name: string;
  /** Questions in the file. */
  total: number;
  /** Questions whose 4 words are all in the vocabulary (the ones scored). */
  answered: number;
  correct: number;
  /** correct / answered (0 when nothing was answered). */
  accuracy: number;
  /** answered / total. */
  coverage: number;
}

export interface AnalogyReport {
  sections: AnalogyScore[];
  /** Sections whose name starts with 'gram' (questions-words.txt's syntactic part) and the rest. */
  semantic: AnalogyScore;
  syntactic: AnalogyScore;
  overall: AnalogyScore;
}

export interface AnalogyEvalOptions {
  /** Match words ignoring case (default true, like gensim): the first row of each lower-cased word counts. */
  caseInsensitive?: boolean;
  /** Use only the first maxVocab rows (gensim's restrict_vocab; files are sorted by frequency). */
  maxVocab?: number;
  /** '3cosadd' (default) or the course notebook's 'course' (see AnalogyScoring). */
  scoring?: AnalogyScoring;
  /** Default: true for 3cosadd, false for course (as analogy). */
  unitInputs?: boolean;
  unit?: Matrix;
}

/**
 * Accuracy of argmax_w cos(e_w, e_b − e_a + e_c) (w ∉ {a, b, c}) = d on each section (or of the
 * course's argmax_w cos(e_b − e_a, e_w − e_c) with scoring 'course'). Questions
 * with a word outside the vocabulary are not scored but counted in `total` (the coverage).
 */
export function evaluateAnalogies(wv: WordVectors, sections: AnalogySection[], opts: AnalogyEvalOptions = {}): AnalogyReport {
  const caseInsensitive = opts.caseInsensitive ?? true;
  const vocab = Math.min(opts.maxVocab ?? wv.words.length, wv.words.length);
  const E = wv.vectors;
  const unitAll = opts.unit ?? unitRows(E);
  const unit = unitAll.rowView(0, vocab);
  const key = (w: string): string => (caseInsensitive ? w.toLowerCase() : w);
  // canonical[j] = the first row with row j's key; lookups and exclusions go through it.
  const rowOfKey = new Map<string, number>();
  const canonical = new Int32Array(vocab);
  for (let j = 0; j < vocab; j++) {
    const kj = key(wv.words[j]);
    const first = rowOfKey.get(kj);
    if (first === undefined) rowOfKey.set(kj, j);
    canonical[j] = first ?? j;
  }

  const scores: AnalogyScore[] = [];
  const targets = Matrix.zeros(QUERY_CHUNK, E.cols, E.dtype);
  const sims = Matrix.zeros(QUERY_CHUNK, vocab, E.dtype);
  const scoring = opts.scoring ?? '3cosadd';
  if (scoring !== '3cosadd' && scoring !== 'course') throw new Error(`evaluateAnalogies: expected scoring '3cosadd' or 'course', got '${String(scoring)}'`);
  const src = scoring === 'course' ? (opts.unitInputs === true ? unitAll : E) : opts.unitInputs === false ? E : unitAll;
  const bestOf = (scores: ArrayLike<number>, base: number, a: number, b: number, c: number): number => {
    let best = -1, bestScore = -Infinity;
    for (let j = 0; j < vocab; j++) {
      const v = scores[base + j];
      if (v <= bestScore) continue;
      const cj = canonical[j];
      if (cj === a || cj === b || cj === c) continue;
      best = j;
      bestScore = v;
    }
    return best;
  };
  for (const section of sections) {
    const known: [number, number, number, number][] = [];
    for (const q of section.questions) {
      const ids = q.words.map((w) => rowOfKey.get(key(w)) ?? -1);
      if (ids.every((id) => id >= 0)) known.push(ids as [number, number, number, number]);
    }
    let correct = 0;
    if (scoring === 'course') {
      // One [2, V] GEMM per question (cos(e_b − e_a, e_w − e_c) has no single target vector).
      for (const [a, b, c, d] of known) {
        const best = bestOf(courseAnalogyScores(src, a, b, c, vocab), 0, a, b, c);
        if (best >= 0 && canonical[best] === d) correct++;
      }
      scores.push(score(section.name, section.questions.length, known.length, correct));
      continue;
    }
    for (let start = 0; start < known.length; start += QUERY_CHUNK) {
      const n = Math.min(QUERY_CHUNK, known.length - start);
      const t = targets.rowView(0, n);
      for (let i = 0; i < n; i++) {
        const [a, b, c] = known[start + i];
        for (let j = 0; j < E.cols; j++) t.set(i, j, src.get(b, j) - src.get(a, j) + src.get(c, j));
      }
      normalizeRows(t, t);
      const s = sims.rowView(0, n);
      gemm(s, t, unit, false, true);
      for (let i = 0; i < n; i++) {
        const [a, b, c, d] = known[start + i];
        const best = bestOf(s.data, s.offset + i * s.stride, a, b, c);
        if (best >= 0 && canonical[best] === d) correct++;
      }
    }
    scores.push(score(section.name, section.questions.length, known.length, correct));
  }
  const sum = (name: string, list: AnalogyScore[]): AnalogyScore =>
    score(name, list.reduce((s, x) => s + x.total, 0), list.reduce((s, x) => s + x.answered, 0), list.reduce((s, x) => s + x.correct, 0));
  return {
    sections: scores,
    semantic: sum('semantic', scores.filter((s) => !s.name.startsWith('gram'))),
    syntactic: sum('syntactic', scores.filter((s) => s.name.startsWith('gram'))),
    overall: sum('overall', scores),
  };
}

function score(name: string, total: number, answered: number, correct: number): AnalogyScore {
  return {
    name, total, answered, correct,
    accuracy: answered === 0 ? 0 : correct / answered,
    coverage: total === 0 ? 0 : answered / total,
  };
}

// ---------------------------------------------------------------------------------------------
// Word-similarity lists and Spearman's ρ

export interface SimilarityPair {
  word1: string;
  word2: string;
  /** The human judgement. */
  score: number;
  line: number;
}

/**
 * Parse `word1 word2 score` lines (space, tab or comma separated, as WordSim-353 / SimLex
 * exports). Blank lines and lines starting with `#` are skipped; a first line whose score is
 * not a number is taken as a column header and skipped.
 */
export function parseSimilarityPairs(text: string, source: string): SimilarityPair[] {
  const pairs: SimilarityPair[] = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  let seenData = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '').trim();
    if (line.length === 0 || line.startsWith('#')) continue;
    const fields = line.split(/[\s,]+/);
    if (fields.length !== 3) {
      throw new Error(`parseSimilarityPairs: ${source} line ${i + 1}: expected 'word1 word2 score', got ${fields.length} fields: '${line}'`);
    }
    const value = Number(fields[2]);
    if (!Number.isFinite(value) || fields[2].trim() === '') {
      if (!seenData) {
        seenData = true; // a header line
        continue;
      }
      throw new Error(`parseSimilarityPairs: ${source} line ${i + 1}: the score '${fields[2]}' is not a number`);
    }
    seenData = true;
    pairs.push({ word1: fields[0], word2: fields[1], score: value, line: i + 1 });
  }
  if (pairs.length === 0) throw new Error(`parseSimilarityPairs: ${source} holds no pairs`);
  return pairs;
}

/** Ranks 1 … n of x (ascending); tied values share the average of their ranks. */
export function averageRanks(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => x[i] - x[j]);
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && x[order[j + 1]] === x[order[i]]) j++;
    const rank = (i + j) / 2 + 1; // average of ranks i+1 … j+1
    for (let k = i; k <= j; k++) ranks[order[k]] = rank;
    i = j + 1;
  }
  return ranks;
}

/** Pearson's correlation coefficient (NaN when either input is constant). */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length || x.length < 2) {
    throw new Error(`pearson: expected two sequences of equal length ≥ 2, got ${x.length} and ${y.length}`);
  }
  const n = x.length;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx === 0 || syy === 0 ? NaN : sxy / Math.sqrt(sxx * syy);
}

/** Spearman's ρ: Pearson's correlation of the average ranks (correct with ties). */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new Error(`spearman: expected sequences of equal length, got ${x.length} and ${y.length}`);
  return pearson(averageRanks(x), averageRanks(y));
}

export interface SimilarityReport {
  /** Spearman's ρ between the human scores and the cosines over the pairs found. */
  spearman: number;
  total: number;
  /** Pairs whose two words are in the vocabulary. */
  found: number;
  coverage: number;
  /** The missing words, in file order, without repeats. */
  missing: string[];
  pairs: { word1: string; word2: string; human: number; cosine: number }[];
}

/** Spearman's ρ of a similarity list against the cosines of the vectors (case-insensitive by default). */
export function evaluateSimilarity(wv: WordVectors, list: SimilarityPair[], opts: { caseInsensitive?: boolean } = {}): SimilarityReport {
  const caseInsensitive = opts.caseInsensitive ?? true;
  const lookup = new Map<string, number>();
  wv.words.forEach((w, i) => {
    const k = caseInsensitive ? w.toLowerCase() : w;
    if (!lookup.has(k)) lookup.set(k, i);
  });
  const find = (w: string): number | undefined => lookup.get(caseInsensitive ? w.toLowerCase() : w);
  const missing = new Set<string>();
  const pairs: SimilarityReport['pairs'] = [];
  const d = wv.vectors.cols;
  const rowArray = (i: number): Float64Array => {
    const out = new Float64Array(d);
    for (let j = 0; j < d; j++) out[j] = wv.vectors.get(i, j);
    return out;
  };
  for (const p of list) {
    const i = find(p.word1), j = find(p.word2);
    if (i === undefined) missing.add(p.word1);
    if (j === undefined) missing.add(p.word2);
    if (i === undefined || j === undefined) continue;
    pairs.push({ word1: p.word1, word2: p.word2, human: p.score, cosine: cosineSimilarity(rowArray(i), rowArray(j)) });
  }
  const rho = pairs.length >= 2 ? spearman(pairs.map((p) => p.human), pairs.map((p) => p.cosine)) : NaN;
  return { spearman: rho, total: list.length, found: pairs.length, coverage: pairs.length / list.length, missing: [...missing], pairs };
}
