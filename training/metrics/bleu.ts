/**
 * BLEU (Papineni, Roukos, Ward & Zhu 2002), corpus level.
 *
 *   p_n  = Σ_candidates Σ_ngram min(count_cand(ngram), max_ref count_ref(ngram))
 *          / Σ_candidates (number of n-grams in the candidate)          (modified, "clipped" precision)
 *   c    = Σ candidate lengths,  r = Σ length of the reference closest to each candidate
 *          (ties: the shorter one, as NLTK and mteval)
 *   BP   = 1 if c > r, else exp(1 − r/c)   (0 when c = 0)
 *   BLEU = BP · exp(Σ_{n=1..N} (1/N) · log p_n)
 *
 * Counts are summed over the corpus before dividing (not an average of sentence scores). Tokens
 * compare exactly (case-sensitive); tokenise and lower-case before if wanted.
 *
 * Smoothing (Chen & Cherry 2014 numbering, as NLTK's SmoothingFunction):
 *   'none'    any p_n = 0 makes BLEU 0.
 *   'add-1'   p_n = (m_n + 1) / (l_n + 1) for n ≥ 2; p_1 unsmoothed (Lin & Och 2004; NLTK method2).
 *   'epsilon' p_n = ε / l_n where m_n = 0 (NLTK method1, ε = 0.1 by default).
 * When a corpus has no n-gram of some order at all (l_n = 0, every candidate shorter than n), l_n
 * is taken as 1, so p_n = 0 before smoothing (NLTK does the same per sentence).
 */

export type BleuToken = string | number;
export type BleuSmoothing = 'none' | 'add-1' | 'epsilon';

export interface BleuOptions {
  /** Highest n-gram order N (default 4); weights are uniform 1/N. */
  maxN?: number;
  /** Default 'none'. */
  smoothing?: BleuSmoothing;
  /** ε of 'epsilon' smoothing (default 0.1). */
  epsilon?: number;
}

export interface BleuResult {
  /** The score in [0, 1]. */
  bleu: number;
  /** p_1 … p_N after smoothing. */
  precisions: number[];
  /** Clipped matches m_n per order (before smoothing). */
  matches: number[];
  /** Candidate n-gram counts l_n per order. */
  totals: number[];
  brevityPenalty: number;
  /** c: total candidate length. */
  candidateLength: number;
  /** r: total closest-reference length. */
  referenceLength: number;
}

/**
 * Corpus BLEU of `candidates[i]` against `references[i]` (one or more references each).
 * Candidates first, as torchtext's bleu_score (NLTK's corpus_bleu takes references first).
 */
export function corpusBleu(
  candidates: readonly (readonly BleuToken[])[],
  references: readonly (readonly (readonly BleuToken[])[])[],
  opts: BleuOptions = {},
): BleuResult {
  const op = 'corpusBleu';
  const maxN = opts.maxN ?? 4;
  const smoothing = opts.smoothing ?? 'none';
  const epsilon = opts.epsilon ?? 0.1;
  if (!Number.isInteger(maxN) || maxN < 1) throw new Error(`${op}: expected maxN to be an integer ≥ 1, got ${maxN}`);
  if (!['none', 'add-1', 'epsilon'].includes(smoothing)) throw new Error(`${op}: expected smoothing none|add-1|epsilon, got ${JSON.stringify(smoothing)}`);
  if (!(epsilon > 0)) throw new Error(`${op}: expected epsilon > 0, got ${epsilon}`);
  if (candidates.length !== references.length) {
    throw new Error(`${op}: expected one reference list per candidate, got ${candidates.length} candidates and ${references.length} reference lists`);
  }

  const matches = new Array<number>(maxN).fill(0);
  const totals = new Array<number>(maxN).fill(0);
  let c = 0;
  let r = 0;
  candidates.forEach((candidate, i) => {
    const refs = references[i];
    if (!Array.isArray(refs) || refs.length === 0) throw new Error(`${op}: expected at least one reference for candidate ${i}, got none`);
    c += candidate.length;
    r += closestReferenceLength(candidate.length, refs);
    for (let n = 1; n <= maxN; n++) {
      const { matched, total } = clippedMatches(candidate, refs, n);
      matches[n - 1] += matched;
      totals[n - 1] += total;
    }
  });

  const precisions = matches.map((m, k) => {
    const l = Math.max(1, totals[k]);
    if (smoothing === 'add-1' && k > 0) return (m + 1) / (l + 1);
    if (smoothing === 'epsilon' && m === 0) return epsilon / l;
    return m / l;
  });
  const brevityPenalty = c === 0 ? 0 : c > r ? 1 : Math.exp(1 - r / c);
  let logSum = 0;
  for (const p of precisions) logSum += Math.log(p);
  const bleu = precisions.some((p) => p === 0) || brevityPenalty === 0 ? 0 : brevityPenalty * Math.exp(logSum / maxN);
  return { bleu, precisions, matches, totals, brevityPenalty, candidateLength: c, referenceLength: r };
}

/** BLEU of one candidate against its references (corpus BLEU of a one-sentence corpus). */
export function sentenceBleu(candidate: readonly BleuToken[], references: readonly (readonly BleuToken[])[], opts: BleuOptions = {}): BleuResult {
  return corpusBleu([candidate], [references], opts);
}

/** Σ_ngram min(count in candidate, max count in any reference), and the candidate's n-gram count. */
export function clippedMatches(candidate: readonly BleuToken[], references: readonly (readonly BleuToken[])[], n: number): { matched: number; total: number } {
  const counts = ngramCounts(candidate, n);
  const maxRef = new Map<string, number>();
  for (const ref of references) {
    for (const [gram, count] of ngramCounts(ref, n)) {
      if (counts.has(gram) && count > (maxRef.get(gram) ?? 0)) maxRef.set(gram, count);
    }
  }
  let matched = 0;
  let total = 0;
  for (const [gram, count] of counts) {
    total += count;
    matched += Math.min(count, maxRef.get(gram) ?? 0);
  }
  return { matched, total };
}

/** The reference length closest to `length`; on a tie the shorter. */
export function closestReferenceLength(length: number, references: readonly (readonly BleuToken[])[]): number {
  let best = references[0].length;
  for (const ref of references) {
    const d = Math.abs(ref.length - length);
    const bestD = Math.abs(best - length);
    if (d < bestD || (d === bestD && ref.length < best)) best = ref.length;
  }
  return best;
}

function ngramCounts(tokens: readonly BleuToken[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    // Type-tagged keys, so the string "1" and the number 1 never collide; \u0001 separates tokens.
    let key = '';
    for (let k = 0; k < n; k++) {
      const tok = tokens[i + k];
      key += (typeof tok === 'number' ? '#' : '$') + String(tok) + '\u0001';
    }
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
