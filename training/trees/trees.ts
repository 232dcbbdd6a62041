/**
 * Parse trees for recursive networks (Goodfellow et al. §10.6; Socher et al. 2011, 2013): the
 * Penn / Stanford Sentiment Treebank bracket format, binarisation, printing, and a seeded
 * generator of small sentiment trees whose labels follow explicit composition rules.
 *
 * The bracket format. A node is `(LABEL child child …)`; a child is a node or a bare word.
 *   SST:       (3 (2 it) (4 (3 works) (2 .)))     every node labelled, words under a label
 *   Penn:      (S (NP (DT the) (NN cat)) (VP (VBD sat)))
 *   unlabeled: ((a b) c)                          parsed with { labeled: false }
 * `(LABEL word)` is a labelled leaf; a bare word is an unlabelled leaf. A Penn-style outer
 * wrapper without a label and with one child, `( (S …) )`, is unwrapped in labelled mode.
 * Errors name the source (when given), line and column, e.g.
 *   parseTree: trees.txt:3:14: unbalanced parentheses: '(' at 3:1 is never closed
 */

import type { Rng } from '../../engine/rng.js';
import { InputError } from '../core/errors.js';

/** A node of a parse tree: a leaf carries a word, an internal node its children. */
export interface Tree {
  /** The node's label ('3', 'NP', '@NP'), or null when the node has none. */
  label: string | null;
  /** The word at a leaf; null at an internal node. */
  word: string | null;
  /** The children of an internal node (at least one); empty at a leaf. */
  children: Tree[];
}

export function treeLeaf(word: string, label: string | null = null): Tree {
  return { label, word, children: [] };
}

export function treeNode(label: string | null, children: Tree[]): Tree {
  return { label, word: null, children };
}

export function isLeaf(tree: Tree): boolean {
  return tree.word !== null;
}

/** A malformed tree, at a line and column (an InputError: the CLI exits with code 2). */
export class TreeParseError extends InputError {
  readonly line: number;
  readonly column: number;
  constructor(message: string, line: number, column: number) {
    super(message);
    this.line = line;
    this.column = column;
  }
}

export interface ParseTreeOptions {
  /** Every node starts with a label (Penn/SST, default true); false reads `((a b) c)`. */
  labeled?: boolean;
  /** A file name for error messages. */
  source?: string;
}

type Token =
  | { kind: 'open' | 'close'; text: string; line: number; column: number }
  | { kind: 'word'; text: string; line: number; column: number };

/** Split into '(', ')' and words (maximal runs of anything else but whitespace), with positions (1-based). */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let column = 1;
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '\n') {
      line++;
      column = 1;
      i++;
    } else if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\f' || ch === '\v') {
      column++;
      i++;
    } else if (ch === '(' || ch === ')') {
      tokens.push({ kind: ch === '(' ? 'open' : 'close', text: ch, line, column });
      column++;
      i++;
    } else {
      const start = i;
      const startColumn = column;
      while (i < text.length && !/[\s()]/.test(text[i])) {
        i++;
        column++;
      }
      tokens.push({ kind: 'word', text: text.slice(start, i), line, column: startColumn });
    }
  }
  return tokens;
}

/** A recursive-descent reader over the tokens of one text. */
class TreeReader {
  private pos = 0;
  /** Index of the '(' that opens the current top-level tree. */
  private treeStart = 0;
  constructor(
    private readonly op: string,
    private readonly tokens: Token[],
    private readonly labeled: boolean,
    private readonly source: string | undefined,
    private readonly endLine: number,
    private readonly endColumn: number,
  ) {}

  get done(): boolean {
    return this.pos >= this.tokens.length;
  }

  fail(message: string, line: number, column: number): never {
    const where = `${this.source ? `${this.source}:` : ''}${line}:${column}`;
    throw new TreeParseError(`${this.op}: ${where}: ${message}`, line, column);
  }

  /** One top-level tree: must start with '('. */
  readTopLevel(): Tree {
    const t = this.tokens[this.pos];
    if (t.kind !== 'open') {
      this.fail(
        t.kind === 'close'
          ? `unbalanced parentheses: ')' has no matching '('`
          : `expected '(' to start a tree, got '${t.text}'`,
        t.line, t.column,
      );
    }
    const tree = this.readNode();
    // Penn wrapper `( (S …) )`: no label, one child.
    if (this.labeled && tree.label === null && tree.children.length === 1 && !isLeaf(tree.children[0])) {
      return tree.children[0];
    }
    return tree;
  }

  private readNode(): Tree {
    const open = this.tokens[this.pos++]; // '('
    let label: string | null = null;
    const first = this.tokens[this.pos];
    if (first === undefined) this.unclosed(open);
    if (this.labeled) {
      if (first.kind === 'word') {
        label = first.text;
        this.pos++;
      } else if (first.kind === 'close') {
        this.fail(`empty node '()'`, open.line, open.column);
      } else if (!this.isPennWrapper()) {
        this.fail(`missing label: expected a label after '(', got '('`, first.line, first.column);
      }
    }
    const children: Tree[] = [];
    for (;;) {
      const t = this.tokens[this.pos];
      if (t === undefined) this.unclosed(open);
      if (t.kind === 'close') {
        this.pos++;
        break;
      }
      if (t.kind === 'open') children.push(this.readNode());
      else {
        children.push(treeLeaf(t.text));
        this.pos++;
      }
    }
    if (children.length === 0) {
      if (label === null) this.fail(`empty node '()'`, open.line, open.column);
      this.fail(`empty node: label '${label}' has no word or children`, open.line, open.column);
    }
    // `(LABEL word)`: a labelled leaf.
    if (label !== null && children.length === 1 && isLeaf(children[0]) && children[0].label === null) {
      return treeLeaf(children[0].word as string, label);
    }
    return treeNode(label, children);
  }

  /** At the token after an unlabelled '(': true for `( (` … `) )` at the top, a Penn wrapper. */
  private isPennWrapper(): boolean {
    // Only the outermost node (the '(' at token 0 of this tree) may omit its label.
    const openIndex = this.pos - 1;
    if (openIndex !== this.treeStart) return false;
    let depth = 0;
    for (let i = this.pos; i < this.tokens.length; i++) {
      const k = this.tokens[i].kind;
      if (k === 'open') depth++;
      else if (k === 'close') {
        depth--;
        if (depth === 0) return this.tokens[i + 1]?.kind === 'close';
        if (depth < 0) return false;
      } else if (depth === 0) return false;
    }
    return false;
  }

  next(): Tree {
    this.treeStart = this.pos;
    return this.readTopLevel();
  }

  trailing(): never {
    const t = this.tokens[this.pos];
    if (t.kind === 'close') this.fail(`unbalanced parentheses: ')' has no matching '('`, t.line, t.column);
    this.fail(`trailing text after the tree: '${t.text}'`, t.line, t.column);
  }

  private unclosed(open: Token): never {
    this.fail(
      `unbalanced parentheses: '(' at ${open.line}:${open.column} is never closed (input ends)`,
      this.endLine, this.endColumn,
    );
  }
}

function makeReader(op: string, text: string, options: ParseTreeOptions): TreeReader {
  if (typeof text !== 'string') throw new Error(`${op}: expected a string, got ${typeof text}`);
  const lines = text.split('\n');
  const endLine = lines.length;
  const endColumn = lines[lines.length - 1].length + 1;
  return new TreeReader(op, tokenize(text), options.labeled ?? true, options.source, endLine, endColumn);
}

/** Parse exactly one tree; anything but whitespace after it is an error. */
export function parseTree(text: string, options: ParseTreeOptions = {}): Tree {
  const reader = makeReader('parseTree', text, options);
  if (reader.done) reader.fail('expected a tree, got empty input', 1, 1);
  const tree = reader.next();
  if (!reader.done) reader.trailing();
  return tree;
}

/** Parse every tree of a text (SST files hold one per line; any whitespace separates them). */
export function parseTrees(text: string, options: ParseTreeOptions = {}): Tree[] {
  const reader = makeReader('parseTrees', text, options);
  const trees: Tree[] = [];
  while (!reader.done) trees.push(reader.next());
  return trees;
}

/** Back to the bracket format: `(3 (2 it) (4 (3 works) (2 .)))`; unlabelled nodes print as `(a b)`. */
export function treeToString(tree: Tree): string {
  if (isLeaf(tree)) return tree.label === null ? (tree.word as string) : `(${tree.label} ${tree.word})`;
  const inner = tree.children.map(treeToString).join(' ');
  return tree.label === null ? `(${inner})` : `(${tree.label} ${inner})`;
}

/** The words at the leaves, left to right. */
export function treeLeaves(tree: Tree): string[] {
  const out: string[] = [];
  const visit = (t: Tree): void => {
    if (isLeaf(t)) out.push(t.word as string);
    else t.children.forEach(visit);
  };
  visit(tree);
  return out;
}

/** Number of nodes (leaves included). */
export function treeSize(tree: Tree): number {
  return isLeaf(tree) ? 1 : 1 + tree.children.reduce((n, c) => n + treeSize(c), 0);
}

/** Longest root-to-leaf path in edges (a leaf has depth 0). */
export function treeDepth(tree: Tree): number {
  return isLeaf(tree) ? 0 : 1 + Math.max(...tree.children.map(treeDepth));
}

/** True when every internal node has exactly two children. */
export function isBinary(tree: Tree): boolean {
  return isLeaf(tree) || (tree.children.length === 2 && tree.children.every(isBinary));
}

export interface BinarizeOptions {
  /**
   * Label of the nodes that right-factoring introduces: 'none' (null: no training target there,
   * the default), 'copy' (the parent's label) or 'marked' ('@' + the parent's label, Penn style).
   */
  intermediate?: 'none' | 'copy' | 'marked';
}

/**
 * A binary tree with the same leaves in the same order, as the recursive net needs.
 *
 * Right factoring: (X a b c d) → (X a (X' b (X' c d))), X' the intermediate label (see options).
 * Unary nodes collapse into their child keeping the outer label (the label of the larger phrase;
 * the inner one when the outer is null): (3 (2 good)) → (3 good), (S (VP (V go) (N home))) →
 * (S (V go) (N home)). The input is not modified.
 */
export function binarize(tree: Tree, options: BinarizeOptions = {}): Tree {
  const mode = options.intermediate ?? 'none';
  const intermediateLabel = (label: string | null): string | null => {
    if (label === null || mode === 'none') return null;
    return mode === 'copy' ? label : `@${label}`;
  };
  const visit = (t: Tree): Tree => {
    if (isLeaf(t)) return treeLeaf(t.word as string, t.label);
    if (t.children.length === 1) {
      const child = visit(t.children[0]);
      return { ...child, label: t.label ?? child.label };
    }
    const kids = t.children.map(visit);
    const inner = intermediateLabel(t.label);
    let right = kids[kids.length - 1];
    for (let i = kids.length - 2; i >= 1; i--) right = treeNode(inner, [kids[i], right]);
    return treeNode(t.label, [kids[0], right]);
  };
  return visit(tree);
}

// ───────────────────────── the sentiment tree generator ─────────────────────────

/**
 * Sentiment of a phrase on the scale −2 … +2 (very negative … very positive); the class is
 * s + 2 with 5 classes (SST's 0–4), or sign(s) + 1 with 3 classes (negative, neutral, positive).
 */
export type Sentiment = -2 | -1 | 0 | 1 | 2;

/** The generator's lexicon: adjectives by lexical sentiment, the neutral function words. */
export const SENTIMENT_LEXICON = {
  strongPositive: ['great', 'wonderful', 'brilliant', 'excellent', 'superb'],
  positive: ['good', 'nice', 'fun', 'charming', 'clever', 'solid'],
  neutral: ['long', 'animated', 'french', 'quiet'],
  negative: ['bad', 'dull', 'boring', 'weak', 'messy', 'slow'],
  strongNegative: ['awful', 'terrible', 'dreadful', 'horrible', 'painful'],
  intensifiers: ['very', 'really', 'extremely', 'truly'],
  subjects: [['the', 'movie'], ['the', 'film'], ['the', 'plot'], ['the', 'acting'], ['this', 'story'], ['the', 'ending']],
  verbs: ['is', 'was', 'seems', 'feels'],
} as const;

const clampSentiment = (s: number): Sentiment => Math.max(-2, Math.min(2, s)) as Sentiment;

/**
 * The composition rules (the point of the data: the same words compose to different labels, so
 * order and structure matter and a bag of words cannot tell the cases apart):
 *   intensify   (very X):          ±1 → ±2, ±2 stays, 0 stays        "very good" = +2
 *   negate      (not X):           s ≠ 0 → −sign(s)·1, 0 stays       "not good" = −1, "not bad" = +1,
 *                                  (negation flips and dampens)      "not great" = −1, "not very good" = −1
 *   at all      ((not X) (at all)): intensify the negated phrase     "not good at all" = −2,
 *                                                                    "not bad at all" = +2
 *   contrast    (X (but Y)):       the clause after "but" decides: Y "good but not great" = −1,
 *                                                                    "bad but fun" = +1
 *   conjunction (X (and Y)):       clamp(x + y, −2, 2)               "good and fun" = +2, "good and dull" = 0
 *   sentence    ((the movie) (is P)): P; (is P) = P; function words and nouns are neutral (0).
 * Every node of a generated tree is labelled; leaves with their lexical sentiment.
 */
export const sentimentRules = {
  intensify: (s: Sentiment): Sentiment => clampSentiment(s * 2),
  negate: (s: Sentiment): Sentiment => (s === 0 ? 0 : (-Math.sign(s) as Sentiment)),
  atAll: (s: Sentiment): Sentiment => clampSentiment(s * 2),
  but: (_x: Sentiment, y: Sentiment): Sentiment => y,
  and: (x: Sentiment, y: Sentiment): Sentiment => clampSentiment(x + y),
};

export interface SentimentTreeOptions {
  /** 5 (SST's very negative … very positive, default) or 3 (negative, neutral, positive). */
  classes?: 3 | 5;
  /** Probability that an adjective phrase is negated (default 0.4). */
  negation?: number;
  /** Probability of an intensifier before an adjective (default 0.3). */
  intensifier?: number;
  /** Probability that a negated phrase gets "at all" (default 0.3). */
  atAll?: number;
  /** Probability that the predicate is two phrases joined by "but" or "and" (default 0.35). */
  conjunction?: number;
}

/** The class of a sentiment: s + 2 (5 classes) or sign(s) + 1 (3 classes). */
export function sentimentClass(s: Sentiment, classes: 3 | 5): number {
  return classes === 5 ? s + 2 : Math.sign(s) + 1;
}

/** A generated tree with its sentiments kept as numbers while building. */
interface Built {
  tree: Tree;
  s: Sentiment;
}

/**
 * Generate `count` labelled binary sentiment trees, e.g.
 *   (1 (2 (2 the) (2 movie)) (1 (2 is) (1 (2 not) (3 good))))       "the movie is not good"
 * Labels follow `sentimentRules` (documented there); the same seed gives the same trees.
 */
export function generateSentimentTrees(rng: Rng, count: number, options: SentimentTreeOptions = {}): Tree[] {
  if (!Number.isInteger(count) || count < 0) {
    throw new Error(`generateSentimentTrees: expected a non-negative integer count, got ${count}`);
  }
  const classes = options.classes ?? 5;
  if (classes !== 3 && classes !== 5) {
    throw new Error(`generateSentimentTrees: expected classes 3 or 5, got ${classes}`);
  }
  const p = {
    negation: options.negation ?? 0.4,
    intensifier: options.intensifier ?? 0.3,
    atAll: options.atAll ?? 0.3,
    conjunction: options.conjunction ?? 0.35,
  };
  for (const [name, v] of Object.entries(p)) {
    if (!(v >= 0 && v <= 1)) throw new Error(`generateSentimentTrees: expected ${name} in [0, 1], got ${v}`);
  }
  const L = SENTIMENT_LEXICON;
  const pick = <T>(items: readonly T[]): T => items[rng.int(items.length)];
  const label = (s: Sentiment): string => String(sentimentClass(s, classes));
  const word = (w: string, s: Sentiment = 0): Built => ({ tree: treeLeaf(w, label(s)), s });
  const join = (a: Built, b: Built, s: Sentiment): Built => ({ tree: treeNode(label(s), [a.tree, b.tree]), s });

  const adjective = (): Built => {
    const polarity = rng.int(5);
    const list = [L.strongNegative, L.negative, L.neutral, L.positive, L.strongPositive][polarity];
    return word(pick(list), ([-2, -1, 0, 1, 2] as const)[polarity]);
  };
  // A: adj | (very adj)
  const adjectivePhrase = (): Built => {
    const adj = adjective();
    if (rng.uniform() >= p.intensifier) return adj;
    return join(word(pick(L.intensifiers)), adj, sentimentRules.intensify(adj.s));
  };
  // N: A | (not A) | ((not A) (at all))
  const negatablePhrase = (): Built => {
    const a = adjectivePhrase();
    if (rng.uniform() >= p.negation) return a;
    const negated = join(word('not'), a, sentimentRules.negate(a.s));
    if (rng.uniform() >= p.atAll) return negated;
    return join(negated, join(word('at'), word('all'), 0), sentimentRules.atAll(negated.s));
  };
  // P: N | (N (but N)) | (N (and N))
  const predicate = (): Built => {
    const x = negatablePhrase();
    if (rng.uniform() >= p.conjunction) return x;
    const y = negatablePhrase();
    if (rng.int(2) === 0) return join(x, join(word('but'), y, y.s), sentimentRules.but(x.s, y.s));
    return join(x, join(word('and'), y, y.s), sentimentRules.and(x.s, y.s));
  };
  // S: ((the movie) (is P))
  const sentence = (): Tree => {
    const [det, noun] = pick(L.subjects);
    const subject = join(word(det), word(noun), 0);
    const pred = predicate();
    const verbPhrase = join(word(pick(L.verbs)), pred, pred.s);
    return join(subject, verbPhrase, pred.s).tree;
  };

  const trees: Tree[] = [];
  for (let i = 0; i < count; i++) trees.push(sentence());
  return trees;
}
