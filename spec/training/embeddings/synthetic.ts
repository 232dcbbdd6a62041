/**
 * A tiny synthetic corpus for the word-vector specs: two groups of words (animals, vehicles) that
 * share their contexts within a group. Each sentence is `the X c c a c` with X from one group and
 * each context word c from X's group with probability 0.8, else from the other group (the overlap
 * gives GloVe, which ignores zero counts, something to separate). Words of one group are
 * interchangeable by construction, so trained vectors must put them closer to each other than to
 * the other group — the independent reason behind the expectations.
 */
import { Rng } from '../../../engine/rng.js';
import type { Matrix } from '../../../engine/matrix.js';

export const GROUPS = [['cat', 'dog', 'horse', 'cow'], ['car', 'bus', 'train', 'truck']];
const CONTEXTS = [['eats', 'sleeps', 'runs', 'barn', 'grass', 'fur'], ['drives', 'road', 'engine', 'fuel', 'wheels', 'parks']];

export function syntheticSentences(seed: number, sentences: number): string[][] {
  const rng = new Rng(seed);
  const docs: string[][] = [];
  for (let i = 0; i < sentences; i++) {
    const g = rng.int(2);
    const pick = (a: string[]): string => a[rng.int(a.length)];
    const ctx = (): string => pick(CONTEXTS[rng.uniform() < 0.8 ? g : 1 - g]);
    docs.push(['the', pick(GROUPS[g]), ctx(), ctx(), 'a', ctx()]);
  }
  return docs;
}

function cosine(E: Matrix, i: number, j: number): number {
  let dot = 0, a = 0, b = 0;
  for (let c = 0; c < E.cols; c++) {
    const x = E.get(i, c), y = E.get(j, c);
    dot += x * y;
    a += x * x;
    b += y * y;
  }
  return dot / Math.sqrt(a * b);
}

/**
 * Over the 8 group words: mean cosine within a group minus mean cosine across groups, and how
 * many words have their nearest neighbour (among the 8) in their own group.
 */
export function groupSeparation(words: string[], E: Matrix): { gap: number; nearestInGroup: number } {
  const all = GROUPS.flat();
  const rows = all.map((w) => {
    const r = words.indexOf(w);
    if (r < 0) throw new Error(`groupSeparation: '${w}' is not in the vocabulary`);
    return r;
  });
  let within = 0, nWithin = 0, across = 0, nAcross = 0, nearestInGroup = 0;
  for (let i = 0; i < all.length; i++) {
    let best = -1, bestCos = -Infinity;
    for (let j = 0; j < all.length; j++) {
      if (i === j) continue;
      const c = cosine(E, rows[i], rows[j]);
      if (c > bestCos) {
        bestCos = c;
        best = j;
      }
      if (j > i) {
        if ((i < 4) === (j < 4)) (within += c), nWithin++;
        else (across += c), nAcross++;
      }
    }
    if ((best < 4) === (i < 4)) nearestInGroup++;
  }
  return { gap: within / nWithin - across / nAcross, nearestInGroup };
}
