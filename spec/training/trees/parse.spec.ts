import { describe, expect, it } from 'vitest';
import { Rng } from '../../../engine/rng.js';
import {
  SENTIMENT_LEXICON, binarize, generateSentimentTrees, isBinary, isLeaf, parseTree, parseTrees, sentimentRules, treeLeaf, treeNode,
  sentimentClass, treeDepth, treeLeaves, treeSize, treeToString, TreeParseError, type Tree,
} from '../../../training/trees/trees.js';

/** The error a parse throws (fails the test when it does not throw). */
function parseError(text: string, options: Parameters<typeof parseTree>[1] = {}): TreeParseError {
  try {
    parseTree(text, options);
  } catch (err) {
    expect(err).toBeInstanceOf(TreeParseError);
    return err as TreeParseError;
  }
  throw new Error(`expected '${text}' to be rejected`);
}

describe('parseTree: the SST / Penn bracket format', () => {
  it('reads the SST example into labelled leaves and nodes', () => {
    const t = parseTree('(3 (2 it) (4 (3 works) (2 .)))');
    expect(t).toEqual(treeNode('3', [treeLeaf('it', '2'), treeNode('4', [treeLeaf('works', '3'), treeLeaf('.', '2')])]));
    expect(treeLeaves(t)).toEqual(['it', 'works', '.']);
    expect(treeSize(t)).toBe(5);
    expect(treeDepth(t)).toBe(2);
    expect(isBinary(t)).toBe(true);
  });

  it('reads Penn trees (multi-letter labels, n-ary nodes, the unlabelled outer wrapper)', () => {
    const t = parseTree('( (S (NP (DT the) (NN cat)) (VP (VBD sat) (PP (IN on) (NP (DT the) (NN mat))))) )');
    expect(t.label).toBe('S');
    expect(treeLeaves(t)).toEqual(['the', 'cat', 'sat', 'on', 'the', 'mat']);
    expect(treeToString(t)).toBe('(S (NP (DT the) (NN cat)) (VP (VBD sat) (PP (IN on) (NP (DT the) (NN mat)))))');
  });

  it('reads unlabelled trees with { labeled: false }', () => {
    const t = parseTree('((a b) c)', { labeled: false });
    expect(t).toEqual(treeNode(null, [treeNode(null, [treeLeaf('a'), treeLeaf('b')]), treeLeaf('c')]));
    expect(treeToString(t)).toBe('((a b) c)');
  });

  it('accepts any whitespace and several trees per text', () => {
    const trees = parseTrees('(1 (0 a)\n\t(2 b))\r\n\n  (3 c)   (4 (2 d) (4 e))\n');
    expect(trees.map(treeToString)).toEqual(['(1 (0 a) (2 b))', '(3 c)', '(4 (2 d) (4 e))']);
    expect(parseTrees('  \n ')).toEqual([]);
  });

  it('prints back exactly what it read (round trip), for every generated tree too', () => {
    const texts = ['(3 (2 it) (4 (3 works) (2 .)))', '(S (A a) (B b) (C c))', '(X a b (Y c))', '(0 (1 -LRB-) (2 x))'];
    for (const text of texts) expect(treeToString(parseTree(text))).toBe(text);
    for (const t of generateSentimentTrees(new Rng(5), 50)) expect(parseTree(treeToString(t))).toEqual(t);
  });
});

describe('parseTree: errors name the position', () => {
  it('an unclosed parenthesis: where the input ends and where the ( was opened', () => {
    const e = parseError('(3 (2 it)\n  (4 (3 works) (2 .))', { source: 'dev.txt' });
    expect(e.message).toBe("parseTree: dev.txt:2:22: unbalanced parentheses: '(' at 1:1 is never closed (input ends)");
    expect([e.line, e.column]).toEqual([2, 22]);
  });

  it('a ) without a matching (', () => {
    const e = parseError('(3 (2 it))\n)');
    expect(e.message).toContain("2:1: unbalanced parentheses: ')' has no matching '('");
    expect(parseError(')').message).toContain("1:1: unbalanced parentheses: ')'");
  });

  it('a missing label (labelled mode) at the offending (', () => {
    const e = parseError('(3 (2 a) ((1 b) (2 c)))');
    expect(e.message).toContain("1:11: missing label: expected a label after '(', got '('");
    // The outer Penn wrapper is the only place a label may be missing, and only with one child.
    expect(parseError('( (1 a) (2 b))').message).toContain('1:3: missing label');
  });

  it('empty nodes', () => {
    expect(parseError('(1 (2 a) ())').message).toContain("1:10: empty node '()'");
    expect(parseError('(1 (2))').message).toContain("1:4: empty node: label '2' has no word or children");
    expect(parseError('(a ())', { labeled: false }).message).toContain("1:4: empty node '()'");
  });

  it('trailing text, bare words at the top, empty input', () => {
    expect(parseError('(1 (2 a) (0 b)) extra').message).toContain("1:17: trailing text after the tree: 'extra'");
    expect(parseError('(1 a) (2 b)').message).toContain("1:7: trailing text after the tree: '('");
    expect(parseError('word').message).toContain("1:1: expected '(' to start a tree, got 'word'");
    expect(parseError('').message).toContain('expected a tree, got empty input');
    expect(() => parseTrees('(1 a)\n(2 b) stray')).toThrow("2:7: expected '(' to start a tree, got 'stray'");
  });

  it('errors are InputErrors (the CLI exits with 2)', () => {
    expect(parseError('(').name).toBe('InputError');
  });
});

describe('binarize: right factoring and unary collapse', () => {
  it('(X a b c d) → (X a (@ b (@ c d))), labels by option', () => {
    const t = parseTree('(X (A a) (B b) (C c) (D d))');
    expect(treeToString(binarize(t))).toBe('(X (A a) ((B b) ((C c) (D d))))');
    expect(treeToString(binarize(t, { intermediate: 'marked' }))).toBe('(X (A a) (@X (B b) (@X (C c) (D d))))');
    expect(treeToString(binarize(t, { intermediate: 'copy' }))).toBe('(X (A a) (X (B b) (X (C c) (D d))))');
    expect(treeToString(t)).toBe('(X (A a) (B b) (C c) (D d))'); // the input is untouched
  });

  it('collapses unary chains keeping the outer label (the inner one when the outer is null)', () => {
    expect(treeToString(binarize(parseTree('(3 (2 good))')))).toBe('(3 good)');
    expect(treeToString(binarize(parseTree('(S (VP (V go) (N home)))')))).toBe('(S (V go) (N home))');
    expect(treeToString(binarize(parseTree('((a b))', { labeled: false })))).toBe('(a b)');
    const inner = binarize(treeNode(null, [treeLeaf('x', '4')]));
    expect(inner).toEqual(treeLeaf('x', '4'));
  });

  it('keeps the leaves in order and makes every node binary', () => {
    const t = parseTree('(S (A a b c) (B (C d) e f g h) i)');
    const b = binarize(t);
    expect(isBinary(b)).toBe(true);
    expect(treeLeaves(b)).toEqual(treeLeaves(t));
    // n leaves → n − 1 internal nodes in a binary tree
    expect(treeSize(b)).toBe(2 * treeLeaves(t).length - 1);
  });
});

describe('the composition rules (hand-computed from the documented table)', () => {
  it('intensify, negate, at all, but, and', () => {
    // very good = +2; very great stays +2; very bad = −2
    expect([sentimentRules.intensify(1), sentimentRules.intensify(2), sentimentRules.intensify(-1), sentimentRules.intensify(0)]).toEqual([2, 2, -2, 0]);
    // not good = −1, not bad = +1, not great = −1, not awful = +1
    expect([sentimentRules.negate(1), sentimentRules.negate(-1), sentimentRules.negate(2), sentimentRules.negate(-2), sentimentRules.negate(0)]).toEqual([-1, 1, -1, 1, 0]);
    // not very good = not(+2) = −1 ("mildly negative")
    expect(sentimentRules.negate(sentimentRules.intensify(1))).toBe(-1);
    // not bad at all = +2, not good at all = −2
    expect(sentimentRules.atAll(sentimentRules.negate(-1))).toBe(2);
    expect(sentimentRules.atAll(sentimentRules.negate(1))).toBe(-2);
    // good but not great = −1; bad but fun = +1
    expect(sentimentRules.but(1, sentimentRules.negate(2))).toBe(-1);
    expect(sentimentRules.but(-1, 1)).toBe(1);
    // good and fun = +2; good and dull = 0; great and wonderful = +2 (clamped)
    expect([sentimentRules.and(1, 1), sentimentRules.and(1, -1), sentimentRules.and(2, 2)]).toEqual([2, 0, 2]);
  });

  it('classes: s + 2 of 5, sign(s) + 1 of 3', () => {
    expect([-2, -1, 0, 1, 2].map((s) => sentimentClass(s as -2, 5))).toEqual([0, 1, 2, 3, 4]);
    expect([-2, -1, 0, 1, 2].map((s) => sentimentClass(s as -2, 3))).toEqual([0, 0, 1, 2, 2]);
  });
});

/**
 * An independent evaluator of the generator's grammar, written from the rule table: it recognises
 * each construction by its words and recomputes every node's sentiment from the lexicon.
 */
function lexical(word: string): number {
  const L = SENTIMENT_LEXICON;
  if ((L.strongPositive as readonly string[]).includes(word)) return 2;
  if ((L.positive as readonly string[]).includes(word)) return 1;
  if ((L.negative as readonly string[]).includes(word)) return -1;
  if ((L.strongNegative as readonly string[]).includes(word)) return -2;
  return 0;
}
const leafWord = (t: Tree): string | null => (isLeaf(t) ? t.word : null);
const clamp = (s: number): number => Math.max(-2, Math.min(2, s));

function expectedSentiment(t: Tree, check: (t: Tree, s: number) => void): number {
  let s: number;
  if (isLeaf(t)) s = lexical(t.word as string);
  else {
    const [l, r] = t.children;
    const ls = expectedSentiment(l, check), rs = expectedSentiment(r, check);
    const lw = leafWord(l);
    const rIsAtAll = !isLeaf(r) && leafWord(r.children[0]) === 'at' && leafWord(r.children[1]) === 'all';
    if (lw === 'not') s = rs === 0 ? 0 : -Math.sign(rs);
    else if (lw !== null && (SENTIMENT_LEXICON.intensifiers as readonly string[]).includes(lw)) s = clamp(2 * rs);
    else if (rIsAtAll) s = clamp(2 * ls);
    else if (lw === 'at' && leafWord(r) === 'all') s = 0;
    else if (lw === 'but' || lw === 'and' || (lw !== null && (SENTIMENT_LEXICON.verbs as readonly string[]).includes(lw))) s = rs;
    else if (!isLeaf(r) && leafWord(r.children[0]) === 'but') s = rs;
    else if (!isLeaf(r) && leafWord(r.children[0]) === 'and') s = clamp(ls + rs);
    else if (lw !== null && leafWord(r) !== null) s = 0; // (the movie)
    else s = rs; // ((the movie) (is P))
  }
  check(t, s);
  return s;
}

describe('generateSentimentTrees', () => {
  it('labels every node by the rules (checked by an independent evaluator), 5 and 3 classes', () => {
    for (const classes of [5, 3] as const) {
      const trees = generateSentimentTrees(new Rng(11), 400, { classes });
      let nodes = 0;
      for (const t of trees) {
        expect(isBinary(t)).toBe(true);
        expectedSentiment(t, (n, s) => {
          nodes++;
          const want = classes === 5 ? s + 2 : Math.sign(s) + 1;
          expect(n.label, `${treeToString(n)} in ${treeToString(t)}`).toBe(String(want));
        });
      }
      expect(nodes).toBeGreaterThan(400 * 7);
    }
  });

  it('covers the constructions and all five root classes', () => {
    const trees = generateSentimentTrees(new Rng(3), 1000);
    const sentences = trees.map((t) => treeLeaves(t).join(' '));
    for (const phrase of [' not ', ' at all', ' but ', ' and ', ' very ']) {
      expect(sentences.some((s) => s.includes(phrase)), phrase).toBe(true);
    }
    const counts = [0, 0, 0, 0, 0];
    for (const t of trees) counts[Number(t.label)]++;
    for (const c of counts) expect(c).toBeGreaterThan(50);
    // Same predicate words, different labels ("boring but not solid" vs "not boring but solid"):
    // the case a bag of words cannot handle. Every sentence starts with subject (2 words) and verb.
    const byBag = new Map<string, Set<string>>();
    for (const t of trees) {
      const key = treeLeaves(t).slice(3).sort().join(' ');
      byBag.set(key, (byBag.get(key) ?? new Set()).add(t.label as string));
    }
    expect([...byBag.values()].some((labels) => labels.size > 1)).toBe(true);
  });

  it('is deterministic per seed and checks its options', () => {
    const a = generateSentimentTrees(new Rng(9), 20).map(treeToString);
    const b = generateSentimentTrees(new Rng(9), 20).map(treeToString);
    const c = generateSentimentTrees(new Rng(10), 20).map(treeToString);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(generateSentimentTrees(new Rng(1), 200, { negation: 0 }).some((t) => treeLeaves(t).includes('not'))).toBe(false);
    expect(() => generateSentimentTrees(new Rng(1), -1)).toThrow('generateSentimentTrees: expected a non-negative integer count, got -1');
    expect(() => generateSentimentTrees(new Rng(1), 1, { classes: 4 as 5 })).toThrow('expected classes 3 or 5, got 4');
    expect(() => generateSentimentTrees(new Rng(1), 1, { negation: 2 })).toThrow('expected negation in [0, 1], got 2');
  });
});
