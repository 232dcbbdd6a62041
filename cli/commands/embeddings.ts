/**
 * Commands that use word vectors: `seqgrad analogy | similar | eval-analogies | eval-similarity |
 * tsne | debias`. Thin: read the vectors file (word2vec or GloVe text format, detected), call
 * training/embeddings.ts, tsne.ts, debias.ts, print a table or JSON.
 */
import { deprecated, parseArgs, printHelp, type FlagSpec, type FlagValues } from '../args.js';
import type { Command } from '../command.js';
import { createProgress } from '../progress.js';
import { Matrix } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import { debiasWordVectors, type BiasMethod, type EqualizeVariant } from '../../training/embeddings/debias.js';
import {
  analogy, analogyScores, evaluateAnalogies, evaluateSimilarity, nearestNeighbors, parseAnalogies, parseSimilarityPairs,
  type AnalogyScore, type AnalogyScoring,
} from '../../training/embeddings/similarity.js';
import { readTextFile, writeFileAtomic } from '../../training/io/files.js';
import { planOutputs } from '../../training/io/outputs.js';
import { scatterSvg } from '../../training/plot/charts.js';
import { tsne } from '../../training/embeddings/tsne.js';
import { readVectors, writeVectors, type ReadVectorsResult } from '../../training/io/vectors.js';
import { InputError } from '../../training/core/errors.js';


function loadVectors(path: string | undefined, limit: number | undefined, command: string): ReadVectorsResult {
  if (!path) throw new InputError(`${command}: expected a vectors file as the first argument (see 'seqgrad ${command} --help')`);
  try {
    return readVectors(path, { limit });
  } catch (err) {
    throw new InputError((err as Error).message);
  }
}

function rowOf(wv: ReadVectorsResult, word: string, path: string): number {
  const i = wv.index.get(word);
  if (i === undefined) throw new InputError(`'${word}' is not in the vocabulary of ${path} (${wv.words.length} words)`);
  return i;
}

function readInput(path: string, what: string): string {
  try {
    return readTextFile(path, what);
  } catch (err) {
    throw new InputError((err as Error).message);
  }
}

const LIMIT: FlagSpec = { type: 'int', description: 'read only the first N vectors (files are sorted by frequency)' };
const JSON_FLAG: FlagSpec = { type: 'boolean', description: 'print the result as JSON' };
const HELP: FlagSpec = { type: 'boolean', description: '' };

function parse(command: string, argv: string[], spec: Record<string, FlagSpec>, usage: string, summary: string): { flags: FlagValues; positionals: string[] } | null {
  const parsed = parseArgs(command, argv, spec);
  if (parsed.flags.help) {
    printHelp(usage, summary, spec);
    return null;
  }
  for (const name of ['k', 'limit', 'top', 'iterations']) {
    const v = parsed.flags[name] as number | undefined;
    if (name in spec && v !== undefined && v < 1) throw new InputError(`${command}: --${name} expects an integer ≥ 1, got ${v}`);
  }
  return parsed;
}

// ---------------------------------------------------------------------------------------------

const ANALOGY_SPEC: Record<string, FlagSpec> = {
  k: { type: 'int', description: 'how many answers', default: 5 },
  scoring: { type: 'string', description: "3cosadd: cos(e_w, e_b − e_a + e_c); course: the notebook's cos(e_b − e_a, e_w − e_c) on raw vectors", default: '3cosadd', choices: ['3cosadd', 'course'] },
  scores: { type: 'boolean', description: 'also list every word with its score, best first (a, b, c included)' },
  raw: { type: 'boolean', description: 'form e_b − e_a + e_c from the raw vectors instead of unit vectors' },
  limit: LIMIT,
  json: JSON_FLAG,
  help: HELP,
};

export const analogyCommand: Command = {
  name: 'analogy',
  summary: 'a : b :: c : ? — argmax cos(e_w, e_b − e_a + e_c) (or the course\'s cos(e_b − e_a, e_w − e_c)) over the vocabulary',
  run(argv) {
    const p = parse('analogy', argv, ANALOGY_SPEC, 'seqgrad analogy VECTORS a b c [--k 5] [--scoring 3cosadd|course] [--scores] [--json]', this.summary);
    if (!p) return 0;
    const [path, a, b, c, ...extra] = p.positionals;
    if (!c || extra.length > 0) throw new InputError(`analogy: expected VECTORS a b c (4 arguments), got ${p.positionals.length}`);
    const wv = loadVectors(path, p.flags.limit as number | undefined, 'analogy');
    for (const w of [a, b, c]) rowOf(wv, w, path);
    const opts = { scoring: p.flags.scoring as AnalogyScoring, unitInputs: p.flags.raw ? false : undefined };
    const answers = analogy(wv, a, b, c, p.flags.k as number, opts);
    const scores = p.flags.scores ? rankedScores(wv.words, analogyScores(wv, a, b, c, opts)) : undefined;
    if (p.flags.json) {
      console.log(JSON.stringify({ a, b, c, scoring: opts.scoring, answers: answers.map(({ word, similarity }) => ({ word, similarity })), scores }, null, 2));
      return 0;
    }
    console.log(`${a} : ${b} :: ${c} : ${answers[0]?.word ?? '?'}`);
    answers.forEach((n, i) => console.log(`  ${String(i + 1).padStart(2)}. ${n.word.padEnd(20)} ${n.similarity.toFixed(4)}`));
    if (scores) {
      console.log(`every word's score (${opts.scoring}):`);
      for (const s of scores) console.log(`  ${s.word.padEnd(20)} ${s.score.toFixed(4)}`);
    }
    return 0;
  },
};

function rankedScores(words: string[], scores: Float64Array): { word: string; score: number }[] {
  return Array.from(scores, (score, i) => ({ word: words[i], score })).sort((x, y) => y.score - x.score);
}

// ---------------------------------------------------------------------------------------------

const SIMILAR_SPEC: Record<string, FlagSpec> = {
  k: { type: 'int', description: 'how many neighbours', default: 10 },
  limit: LIMIT,
  json: JSON_FLAG,
  help: HELP,
};

export const similarCommand: Command = {
  name: 'similar',
  summary: 'nearest neighbours by cosine similarity (all query words in one GEMM)',
  run(argv) {
    const p = parse('similar', argv, SIMILAR_SPEC, 'seqgrad similar VECTORS word [word …] [--k 10] [--json]', this.summary);
    if (!p) return 0;
    const [path, ...words] = p.positionals;
    if (words.length === 0) throw new InputError('similar: expected VECTORS and at least one word');
    const wv = loadVectors(path, p.flags.limit as number | undefined, 'similar');
    const rows = words.map((w) => rowOf(wv, w, path));
    const queries = Matrix.zeros(rows.length, wv.vectors.cols, wv.vectors.dtype);
    rows.forEach((r, i) => {
      for (let c = 0; c < wv.vectors.cols; c++) queries.set(i, c, wv.vectors.get(r, c));
    });
    const result = nearestNeighbors(wv, queries, p.flags.k as number, { exclude: rows.map((r) => [r]) });
    if (p.flags.json) {
      console.log(JSON.stringify(words.map((word, i) => ({ word, neighbors: result[i].map(({ word: w, similarity }) => ({ word: w, similarity })) })), null, 2));
      return 0;
    }
    words.forEach((word, i) => {
      console.log(`${word}:`);
      result[i].forEach((n, j) => console.log(`  ${String(j + 1).padStart(2)}. ${n.word.padEnd(20)} ${n.similarity.toFixed(4)}`));
    });
    return 0;
  },
};

// ---------------------------------------------------------------------------------------------

const EVAL_SPEC: Record<string, FlagSpec> = {
  limit: { type: 'int', description: 'only the first N vectors take part (gensim: restrict_vocab)', default: 30000 },
  'case-sensitive': { type: 'boolean', description: 'match words with their case (default: ignore case)' },
  raw: { type: 'boolean', description: 'form e_b − e_a + e_c from the raw vectors instead of unit vectors' },
  scoring: { type: 'string', description: "3cosadd, or the course notebook's cos(e_b − e_a, e_w − e_c) on raw vectors", default: '3cosadd', choices: ['3cosadd', 'course'] },
  json: JSON_FLAG,
  help: HELP,
};

function formatScores(rows: AnalogyScore[]): string {
  const header = ['section', 'correct', 'answered', 'total', 'accuracy', 'coverage'];
  const body = rows.map((s) => [s.name, String(s.correct), String(s.answered), String(s.total),
    s.answered > 0 ? `${(100 * s.accuracy).toFixed(1)}%` : '—', `${(100 * s.coverage).toFixed(1)}%`]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export const evalAnalogiesCommand: Command = {
  name: 'eval-analogies',
  summary: 'accuracy per section on a questions-words.txt-format analogy file (in-vocabulary questions)',
  run(argv) {
    const p = parse('eval-analogies', argv, EVAL_SPEC, 'seqgrad eval-analogies VECTORS QUESTIONS [--limit 30000] [--json]', this.summary);
    if (!p) return 0;
    const [path, questionsPath] = p.positionals;
    if (!questionsPath || p.positionals.length > 2) throw new InputError('eval-analogies: expected VECTORS QUESTIONS (2 arguments)');
    const wv = loadVectors(path, undefined, 'eval-analogies');
    let sections;
    try {
      sections = parseAnalogies(readInput(questionsPath, 'analogy file'), questionsPath);
    } catch (err) {
      throw new InputError((err as Error).message);
    }
    const started = Date.now();
    const report = evaluateAnalogies(wv, sections, {
      maxVocab: p.flags.limit as number, caseInsensitive: !p.flags['case-sensitive'], unitInputs: p.flags.raw ? false : undefined,
      scoring: p.flags.scoring as AnalogyScoring,
    });
    const seconds = (Date.now() - started) / 1000;
    if (p.flags.json) {
      console.log(JSON.stringify({ vectors: path, questions: questionsPath, seconds, ...report }, null, 2));
      return 0;
    }
    console.log(formatScores([...report.sections, report.semantic, report.syntactic, report.overall]));
    console.log(`\n${path}: ${wv.words.length} words (first ${Math.min(p.flags.limit as number, wv.words.length)} searched), d = ${wv.vectors.cols}; ${seconds.toFixed(1)} s`);
    return 0;
  },
};

// ---------------------------------------------------------------------------------------------

const SIM_SPEC: Record<string, FlagSpec> = {
  'case-sensitive': { type: 'boolean', description: 'match words with their case (default: ignore case)' },
  json: JSON_FLAG,
  help: HELP,
};

export const evalSimilarityCommand: Command = {
  name: 'eval-similarity',
  summary: "Spearman's ρ between a word-similarity list (word1 word2 score) and the cosines",
  run(argv) {
    const p = parse('eval-similarity', argv, SIM_SPEC, 'seqgrad eval-similarity VECTORS PAIRS [--json]', this.summary);
    if (!p) return 0;
    const [path, pairsPath] = p.positionals;
    if (!pairsPath || p.positionals.length > 2) throw new InputError('eval-similarity: expected VECTORS PAIRS (2 arguments)');
    const wv = loadVectors(path, undefined, 'eval-similarity');
    let pairs;
    try {
      pairs = parseSimilarityPairs(readInput(pairsPath, 'similarity list'), pairsPath);
    } catch (err) {
      throw new InputError((err as Error).message);
    }
    const report = evaluateSimilarity(wv, pairs, { caseInsensitive: !p.flags['case-sensitive'] });
    if (p.flags.json) {
      console.log(JSON.stringify(report, null, 2));
      return 0;
    }
    console.log(`Spearman ρ = ${report.spearman.toFixed(4)} over ${report.found} of ${report.total} pairs (coverage ${(100 * report.coverage).toFixed(1)}%)`);
    if (report.missing.length > 0) console.log(`missing words: ${report.missing.join(', ')}`);
    return 0;
  },
};

// ---------------------------------------------------------------------------------------------

const TSNE_SPEC: Record<string, FlagSpec> = {
  words: { type: 'list', description: 'the words to plot' },
  top: { type: 'int', description: 'plot the first N words of the file that contain a letter' },
  plot: { type: 'string', description: 'write the SVG scatter plot here' },
  out: deprecated('plot'),
  perplexity: { type: 'number', description: 'effective neighbours (lowered to (n − 1)/3 for few points)', default: 30 },
  iterations: { type: 'int', description: 'gradient steps', default: 1000 },
  'learning-rate': { type: 'number', description: 'η', default: 200 },
  seed: { type: 'int', description: 'seed of the initial layout', default: 1 },
  title: { type: 'string', description: 'plot title' },
  json: { type: 'boolean', description: 'print the 2-D coordinates as JSON' },
  help: HELP,
};

export const tsneCommand: Command = {
  name: 'tsne',
  summary: 'exact t-SNE of word vectors to 2-D, with an SVG scatter plot of the labelled words',
  run(argv) {
    const p = parse('tsne', argv, TSNE_SPEC, 'seqgrad tsne VECTORS --words a,b,c | --top N [--plot plot.svg] [--json]', this.summary);
    if (!p) return 0;
    const [path] = p.positionals;
    const words = p.flags.words as string[] | undefined;
    const top = p.flags.top as number | undefined;
    if ((words === undefined) === (top === undefined)) throw new InputError('tsne: expected exactly one of --words a,b,c and --top N');
    if (top !== undefined && top < 2) throw new InputError(`tsne: expected --top N with N ≥ 2, got ${top}`);
    planOutputs({ command: 'tsne', inputs: { VECTORS: path }, outputs: { '--plot': p.flags.plot as string | undefined } });
    const wv = loadVectors(path, undefined, 'tsne');
    let rows: number[];
    if (words) rows = words.map((w) => rowOf(wv, w, path));
    else {
      rows = [];
      for (let i = 0; i < wv.words.length && rows.length < top!; i++) if (/\p{L}/u.test(wv.words[i])) rows.push(i);
    }
    if (rows.length < 3) throw new InputError(`tsne: expected at least 3 words to plot, got ${rows.length}`);
    const d = wv.vectors.cols;
    const x = Matrix.zeros(rows.length, d, 'float64');
    rows.forEach((r, i) => {
      for (let c = 0; c < d; c++) x.set(i, c, wv.vectors.get(r, c));
    });
    let perplexity = p.flags.perplexity as number;
    const maxPerplexity = Math.max(1, (rows.length - 1) / 3);
    if (perplexity > maxPerplexity) {
      console.error(`tsne: perplexity ${perplexity} is too large for ${rows.length} points; using ${maxPerplexity.toFixed(1)}`);
      perplexity = maxPerplexity;
    }
    const iterations = p.flags.iterations as number;
    const progress = createProgress({ label: 't-SNE', total: iterations, unit: 'it' });
    const started = Date.now();
    let finalKl = NaN;
    const y = tsne(x, new Rng(p.flags.seed as number), {
      perplexity, iterations, learningRate: p.flags['learning-rate'] as number,
      onProgress: (iter, kl) => {
        finalKl = kl;
        progress.update(iter, { KL: kl.toFixed(4) });
      },
    });
    progress.finish(`t-SNE: ${rows.length} points, KL(P‖Q) = ${finalKl.toFixed(4)}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const points = rows.map((r, i) => ({ x: y.get(i, 0), y: y.get(i, 1), label: wv.words[r] }));
    if (p.flags.plot) {
      const title = (p.flags.title as string | undefined) ?? `t-SNE of ${rows.length} words (${path}, perplexity ${perplexity.toFixed(1)})`;
      writeFileAtomic(p.flags.plot as string, scatterSvg({ title, points, xLabel: 't-SNE dimension 1', yLabel: 't-SNE dimension 2' }));
    }
    if (p.flags.json) console.log(JSON.stringify({ perplexity, kl: finalKl, points: points.map((q) => ({ word: q.label, x: q.x, y: q.y })) }, null, 2));
    else if (p.flags.plot) console.log(`wrote ${p.flags.plot}`);
    else points.forEach((q) => console.log(`${q.label}\t${q.x.toFixed(4)}\t${q.y.toFixed(4)}`));
    return 0;
  },
};

// ---------------------------------------------------------------------------------------------

const DEBIAS_SPEC: Record<string, FlagSpec> = {
  pairs: { type: 'list', description: 'definitional pairs a:b for the bias direction', default: ['woman:man', 'she:he', 'her:his', 'girl:boy', 'mother:father'] },
  method: { type: 'string', description: 'bias direction: mean of differences or first principal component', default: 'mean', choices: ['mean', 'pca'] },
  equalize: { type: 'list', description: 'pairs a:b to equalize' },
  'equalize-variant': { type: 'string', description: "equalize formula: the paper's on unit vectors, or the course notebook's on raw vectors (with --pairs woman:man)", default: 'paper', choices: ['paper', 'course'] },
  neutralize: { type: 'list', description: 'words to neutralize (default: every word in no pair and not in --keep)' },
  keep: { type: 'list', description: 'words left alone (legitimately gendered, e.g. king,queen)' },
  renormalize: { type: 'boolean', description: "rescale neutralized vectors to unit length (the paper's option)" },
  report: { type: 'list', description: 'words whose projections to print (default: --neutralize and --equalize words)' },
  out: { type: 'string', description: 'write the debiased vectors here (same format as the input)' },
  json: JSON_FLAG,
  help: HELP,
};

function parsePairs(list: string[] | undefined, flag: string): [string, string][] {
  return (list ?? []).map((item) => {
    const parts = item.split(':');
    if (parts.length !== 2 || !parts[0] || !parts[1]) throw new InputError(`debias: --${flag} expects pairs a:b, got '${item}'`);
    return [parts[0], parts[1]];
  });
}

export const debiasCommand: Command = {
  name: 'debias',
  summary: 'Bolukbasi et al. debiasing: bias direction, neutralize, equalize; projections before/after',
  run(argv) {
    const p = parse('debias', argv, DEBIAS_SPEC, 'seqgrad debias VECTORS [--pairs a:b,…] [--equalize a:b,…] [--neutralize w,…] [--out FILE] [--json]', this.summary);
    if (!p) return 0;
    const [path] = p.positionals;
    planOutputs({ command: 'debias', inputs: { VECTORS: path }, outputs: { '--out': p.flags.out as string | undefined } });
    const wv = loadVectors(path, undefined, 'debias');
    const definitional = parsePairs(p.flags.pairs as string[], 'pairs');
    const equalizePairs = parsePairs(p.flags.equalize as string[] | undefined, 'equalize');
    const neutralizeWords = p.flags.neutralize as string[] | undefined;
    for (const w of [...definitional.flat(), ...equalizePairs.flat(), ...(neutralizeWords ?? []), ...((p.flags.report as string[] | undefined) ?? [])]) {
      rowOf(wv, w, path);
    }
    const result = debiasWordVectors(wv, {
      definitional, method: p.flags.method as BiasMethod, equalize: equalizePairs, neutralize: neutralizeWords,
      equalizeVariant: p.flags['equalize-variant'] as EqualizeVariant,
      keep: p.flags.keep as string[] | undefined, renormalize: p.flags.renormalize === true,
      reportWords: p.flags.report as string[] | undefined,
    });
    if (p.flags.out) writeVectors(p.flags.out as string, result.vectors.words, result.vectors.vectors, { header: wv.format === 'word2vec' });
    if (p.flags.json) {
      console.log(JSON.stringify({ neutralized: result.neutralized, equalized: result.equalized, report: result.report }, null, 2));
      return 0;
    }
    console.log(`bias direction from ${definitional.length} pairs (${p.flags.method}); neutralized ${result.neutralized} words, equalized ${result.equalized} pairs`);
    console.log(`${'word'.padEnd(16)}${'e·ĝ before'.padStart(12)}${'after'.padStart(12)}${'cos before'.padStart(12)}${'after'.padStart(12)}`);
    for (const r of result.report) {
      console.log(`${r.word.padEnd(16)}${r.before.toFixed(4).padStart(12)}${r.after.toFixed(4).padStart(12)}${r.cosBefore.toFixed(4).padStart(12)}${r.cosAfter.toFixed(4).padStart(12)}`);
    }
    if (p.flags.out) console.log(`wrote ${p.flags.out}`);
    return 0;
  },
};

export const embeddingCommands: Command[] = [
  analogyCommand, similarCommand, evalAnalogiesCommand, evalSimilarityCommand, tsneCommand, debiasCommand,
];
