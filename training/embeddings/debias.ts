/**
 * Debiasing word embeddings (Bolukbasi et al. 2016, "Man is to Computer Programmer as Woman is
 * to Homemaker?", arXiv:1607.06520), as in the notes:
 *
 * 1. Bias direction g from definitional pairs (he/she, man/woman, …):
 *    - 'mean': g = (1/K) Σ_k (e_{a_k} − e_{b_k})  (the notes' average of differences);
 *    - 'pca':  the first principal component of the pairs centred on their own means, i.e. of
 *      the rows e_{a_k} − μ_k and e_{b_k} − μ_k (the paper), by power iteration; unit length,
 *      oriented to agree with the 'mean' direction.
 * 2. Neutralize every word that should carry no bias:  e ← e − (e·g / ‖g‖²) g,  so e·g = 0.
 *    The paper then rescales e to unit length (`renormalize: true`); the default keeps the
 *    length (the notes' version), which leaves the other coordinates untouched.
 * 3. Equalize pairs that should differ only along g (actor/actress, …), the paper's formula on
 *    unit vectors, with ĝ = g/‖g‖ and the inputs first scaled to unit length:
 *      μ = (e_1 + e_2)/2,  μ_B = (μ·ĝ)ĝ,  ν = μ − μ_B,  e_iB = (e_i·ĝ)ĝ,
 *      e_i ← ν + √(1 − ‖ν‖²) · (e_iB − μ_B) / ‖e_iB − μ_B‖.
 *    Both results are unit vectors with the same component ν orthogonal to g and opposite
 *    projections ±√(1 − ‖ν‖²) on ĝ, so they are equidistant from every neutralized word.
 *    Two normalisations, selectable (`EqualizeVariant`):
 *    - 'paper' (default): the formula above on unit vectors.
 *    - 'course': the course notebook's version, on the raw (not unit) vectors, with g used as given
 *      (the notebook's g = e_woman − e_man: definitional pairs [['woman', 'man']], method 'mean'),
 *      projections e_B = (e·g/‖g‖²) g, and
 *        e_i ← ν + √|1 − ‖ν‖²| · (e_iB − μ_B) / ‖e_i − ν − μ_B‖:
 *      the denominator is the whole residual ‖e_i − μ‖, not its part along g. Its two results also
 *      have opposite projections (so equidistance holds there too), but of size
 *      √|1 − ‖ν‖²|·|(e_i − μ)·ĝ| / ‖e_i − μ‖, below √(1 − ‖ν‖²), so they are not unit vectors; the
 *      |·| hides 1 − ‖ν‖² < 0 for long raw vectors.
 */
import type { Matrix } from '../../engine/matrix.js';
import { makeWordVectors, type WordVectors } from '../io/vectors.js';

export type BiasMethod = 'mean' | 'pca';

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

function checkSameLength(op: string, a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new Error(`${op}: expected vectors of equal length, got ${a.length} and ${b.length}`);
}

/** The bias direction from definitional pairs [e_a, e_b] (see the file comment for the two methods). */
export function biasDirection(pairs: [ArrayLike<number>, ArrayLike<number>][], method: BiasMethod = 'mean'): Float64Array {
  if (pairs.length === 0) throw new Error('biasDirection: expected at least one definitional pair, got none');
  const d = pairs[0][0].length;
  const mean = new Float64Array(d);
  for (const [a, b] of pairs) {
    checkSameLength('biasDirection', a, b);
    if (a.length !== d) throw new Error(`biasDirection: expected every vector to have ${d} entries, got ${a.length}`);
    for (let i = 0; i < d; i++) mean[i] += (a[i] - b[i]) / pairs.length;
  }
  if (norm(mean) === 0) throw new Error('biasDirection: the pairs do not differ (zero direction)');
  if (method === 'mean') return mean;
  if (method !== 'pca') throw new Error(`biasDirection: expected method 'mean' or 'pca', got '${String(method)}'`);
  return firstPrincipalComponent(pairs, mean);
}

/**
 * Power iteration for the top eigenvector of C = Σ_k Σ_{x ∈ pair k} (x − μ_k)(x − μ_k)ᵀ, started
 * from the mean difference (deterministic); the sign is fixed so that it agrees with `mean`.
 */
function firstPrincipalComponent(pairs: [ArrayLike<number>, ArrayLike<number>][], mean: Float64Array): Float64Array {
  const d = mean.length;
  // The centred rows of a pair are ±(a − b)/2, so C = ½ Σ_k (a_k − b_k)(a_k − b_k)ᵀ.
  const diffs = pairs.map(([a, b]) => Float64Array.from({ length: d }, (_, i) => a[i] - b[i]));
  let v = Float64Array.from(mean, (x) => x / norm(mean));
  for (let iter = 0; iter < 10000; iter++) {
    const next = new Float64Array(d);
    for (const diff of diffs) {
      const s = 0.5 * dot(diff, v);
      for (let i = 0; i < d; i++) next[i] += s * diff[i];
    }
    const len = norm(next);
    for (let i = 0; i < d; i++) next[i] /= len;
    let change = 0;
    for (let i = 0; i < d; i++) change = Math.max(change, Math.abs(next[i] - v[i]));
    v = next;
    if (change < 1e-13) break;
  }
  if (dot(v, mean) < 0) for (let i = 0; i < d; i++) v[i] = -v[i];
  return v;
}

/** The scalar projection e·ĝ = e·g/‖g‖ (the signed length of e along g). */
export function biasProjection(e: ArrayLike<number>, g: ArrayLike<number>): number {
  checkSameLength('biasProjection', e, g);
  const gn = norm(g);
  if (gn === 0) throw new Error('biasProjection: expected a non-zero bias direction');
  return dot(e, g) / gn;
}

/** e − (e·g/‖g‖²) g, optionally rescaled to unit length (the paper's renormalisation). */
export function neutralize(e: ArrayLike<number>, g: ArrayLike<number>, opts: { renormalize?: boolean } = {}): Float64Array {
  checkSameLength('neutralize', e, g);
  const gg = dot(g, g);
  if (gg === 0) throw new Error('neutralize: expected a non-zero bias direction');
  const s = dot(e, g) / gg;
  const out = Float64Array.from({ length: e.length }, (_, i) => e[i] - s * g[i]);
  if (opts.renormalize) {
    const len = norm(out);
    if (len > 0) for (let i = 0; i < out.length; i++) out[i] /= len;
  }
  return out;
}

/** Which equalize formula: Bolukbasi et al.'s on unit vectors, or the course notebook's on raw vectors. */
export type EqualizeVariant = 'paper' | 'course';

/** Equalize a pair along g (see the file comment for the two variants): the new [e_1, e_2]. */
export function equalize(
  e1: ArrayLike<number>, e2: ArrayLike<number>, g: ArrayLike<number>, opts: { variant?: EqualizeVariant } = {},
): [Float64Array, Float64Array] {
  checkSameLength('equalize', e1, e2);
  checkSameLength('equalize', e1, g);
  const gn = norm(g);
  if (gn === 0) throw new Error('equalize: expected a non-zero bias direction');
  const variant = opts.variant ?? 'paper';
  if (variant === 'course') return equalizeCourse(e1, e2, g);
  if (variant !== 'paper') throw new Error(`equalize: expected variant 'paper' or 'course', got '${String(variant)}'`);
  const d = g.length;
  const gHat = Float64Array.from(g, (x) => x / gn);
  const unit = (e: ArrayLike<number>): Float64Array => {
    const len = norm(e);
    if (len === 0) throw new Error('equalize: expected non-zero word vectors');
    return Float64Array.from({ length: d }, (_, i) => e[i] / len);
  };
  const u1 = unit(e1), u2 = unit(e2);
  const p1 = dot(u1, gHat), p2 = dot(u2, gHat);
  checkDistinctProjections(p1, p2);
  const muB = (p1 + p2) / 2; // μ_B = muB·ĝ
  const nu = Float64Array.from({ length: d }, (_, i) => (u1[i] + u2[i]) / 2 - muB * gHat[i]);
  const scale = Math.sqrt(Math.max(0, 1 - dot(nu, nu)));
  // (e_iB − μ_B)/‖e_iB − μ_B‖ = sign(p_i − μ_B)·ĝ
  const s1 = Math.sign(p1 - muB), s2 = Math.sign(p2 - muB);
  return [
    Float64Array.from({ length: d }, (_, i) => nu[i] + scale * s1 * gHat[i]),
    Float64Array.from({ length: d }, (_, i) => nu[i] + scale * s2 * gHat[i]),
  ];
}

function checkDistinctProjections(p1: number, p2: number): void {
  if (Math.abs(p1 - p2) < 1e-12) throw new Error('equalize: the two words have the same projection on g; nothing to equalize');
}

/**
 * The course notebook's equalize on raw vectors: e_B = (e·g/‖g‖²) g, μ = (e_1 + e_2)/2, ν = μ − μ_B,
 * e_i ← ν + √|1 − ‖ν‖²| · (e_iB − μ_B) / ‖e_i − ν − μ_B‖.
 */
function equalizeCourse(e1: ArrayLike<number>, e2: ArrayLike<number>, g: ArrayLike<number>): [Float64Array, Float64Array] {
  const d = g.length;
  const gg = dot(g, g);
  const c1 = dot(e1, g) / gg, c2 = dot(e2, g) / gg; // e_iB = c_i·g
  checkDistinctProjections(c1 * Math.sqrt(gg), c2 * Math.sqrt(gg));
  const cMu = (c1 + c2) / 2; // μ_B = cMu·g
  const nu = Float64Array.from({ length: d }, (_, i) => (e1[i] + e2[i]) / 2 - cMu * g[i]);
  const scale = Math.sqrt(Math.abs(1 - dot(nu, nu)));
  const corrected = (e: ArrayLike<number>, c: number): Float64Array => {
    const residual = Float64Array.from({ length: d }, (_, i) => e[i] - nu[i] - cMu * g[i]); // e_i − ν − μ_B
    const k = (scale * (c - cMu)) / norm(residual);
    return Float64Array.from({ length: d }, (_, i) => nu[i] + k * g[i]);
  };
  return [corrected(e1, c1), corrected(e2, c2)];
}

export interface DebiasOptions {
  /** Definitional pairs for the bias direction, e.g. [['woman', 'man'], ['she', 'he']]. */
  definitional: [string, string][];
  method?: BiasMethod;
  /** Pairs to equalize (e.g. [['actress', 'actor']]). */
  equalize?: [string, string][];
  /** The equalize formula (default 'paper'; 'course': the notebook's, on raw vectors). */
  equalizeVariant?: EqualizeVariant;
  /** Words to neutralize (default: every word in no pair and not in `keep`). */
  neutralize?: string[];
  /** Words that legitimately carry the attribute and are left alone (the paper's gender-specific list). */
  keep?: string[];
  renormalize?: boolean;
  /** Words whose projections the report lists (default: the neutralized words given, the pairs). */
  reportWords?: string[];
}

export interface ProjectionRow {
  word: string;
  /** e·ĝ before and after. */
  before: number;
  after: number;
  /** cos(e, g) before and after (the course notebook's measure). */
  cosBefore: number;
  cosAfter: number;
}

export interface DebiasResult {
  vectors: WordVectors;
  /** The bias direction g (before any change). */
  direction: Float64Array;
  neutralized: number;
  equalized: number;
  report: ProjectionRow[];
}

function rowArray(m: Matrix, r: number): Float64Array {
  return Float64Array.from({ length: m.cols }, (_, c) => m.get(r, c));
}

function setRow(m: Matrix, r: number, v: ArrayLike<number>): void {
  for (let c = 0; c < m.cols; c++) m.set(r, c, v[c]);
}

/** Bias direction, neutralize and equalize on a copy of the vectors, with a before/after report. */
export function debiasWordVectors(wv: WordVectors, opts: DebiasOptions): DebiasResult {
  const find = (w: string): number => {
    const i = wv.index.get(w);
    if (i === undefined) throw new Error(`debias: '${w}' is not in the vocabulary (${wv.words.length} words)`);
    return i;
  };
  const E = wv.vectors;
  const g = biasDirection(opts.definitional.map(([a, b]) => [rowArray(E, find(a)), rowArray(E, find(b))]), opts.method);
  const out = E.clone();
  const pairs = opts.equalize ?? [];
  const inPairs = new Set([...opts.definitional.flat(), ...pairs.flat(), ...(opts.keep ?? [])]);
  const neutralRows = opts.neutralize
    ? opts.neutralize.map(find)
    : wv.words.map((w, i) => (inPairs.has(w) ? -1 : i)).filter((i) => i >= 0 && wv.index.get(wv.words[i]) === i);
  for (const r of neutralRows) setRow(out, r, neutralize(rowArray(E, r), g, { renormalize: opts.renormalize }));
  for (const [a, b] of pairs) {
    const ia = find(a), ib = find(b);
    const [ea, eb] = equalize(rowArray(E, ia), rowArray(E, ib), g, { variant: opts.equalizeVariant });
    setRow(out, ia, ea);
    setRow(out, ib, eb);
  }
  const reportWords = opts.reportWords ?? [...(opts.neutralize ?? []), ...pairs.flat()];
  const gn = norm(g);
  const cos = (v: Float64Array): number => (norm(v) === 0 ? 0 : dot(v, g) / (norm(v) * gn));
  const report = reportWords.map((word) => {
    const r = find(word);
    const before = rowArray(E, r), after = rowArray(out, r);
    return { word, before: dot(before, g) / gn, after: dot(after, g) / gn, cosBefore: cos(before), cosAfter: cos(after) };
  });
  return {
    vectors: makeWordVectors(wv.words.slice(), out),
    direction: g,
    neutralized: neutralRows.length,
    equalized: pairs.length,
    report,
  };
}
