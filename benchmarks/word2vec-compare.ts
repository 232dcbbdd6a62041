/**
 * seqgrad's word2vec against word2vec.c itself, same settings, same corpus, same machine:
 *
 *   npx tsx benchmarks/word2vec-compare.ts --corpus DIR|FILE [--loss neg,hs] [--method skipgram]
 *       [--dim 100] [--window 5] [--negative 5] [--min-count 5] [--epochs 1] [--sample 1e-3]
 *       [--analogies data/analogies-small.txt] [--seed 1] [--kernel wasm,js] [--threads 1,2] [--json]
 *
 * The corpus is required (e.g. the shared Gutenberg books, ../shared/data/english-corpus from the
 * repository root). Flags are read with node:util's parseArgs: benchmarks/ does not import cli/.
 *
 * The peer is Mikolov's C code as the npm package `word2vec` (an exact pin in
 * benchmarks/peers-word2vec/package.json) builds it on install (`make`, gcc -O3 -march=native);
 * it is installed on demand the first time (npm install --prefix benchmarks/peers-word2vec),
 * never a dependency of seqgrad. Both read the same text: the corpus is tokenised once by
 * training/corpus.ts and written one document per line, so the vocabularies match (word2vec.c adds
 * its `</s>` line-end token). Each count of --threads (default 1) runs both with that many threads
 * (word2vec.c's -threads, seqgrad's Hogwild `threads`; the js kernel runs on one thread only).
 *
 * Reported per run: wall and CPU time (vocabulary + training; word2vec.c's also includes writing
 * its vectors), words/s = epochs·T / CPU time (T = in-vocabulary training words; CPU time is the
 * steadier figure on a shared machine, and sums every thread's) and epochs·T / wall time (what
 * threads gain), and, with the
 * analogy evaluator of training/embeddings.ts, the accuracy on the analogy file's questions whose
 * words are all in both vocabularies (the same evaluator scores both sets of vectors).
 * Run it with `nice` on a shared machine: a full run on the 7-book corpus takes minutes.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readCorpus } from '../training/text/corpus.js';
import { evaluateAnalogies, parseAnalogies, type AnalogyReport } from '../training/embeddings/similarity.js';
import { readTextFile } from '../training/io/files.js';
import { readVectors, writeVectors } from '../training/io/vectors.js';
import { trainWord2Vec, type Word2VecLoss, type Word2VecMethod } from '../training/embeddings/word2vec.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const peerDir = path.join(here, 'peers-word2vec');
const peerBinary = path.join(peerDir, 'node_modules', 'word2vec', 'src', 'word2vec');

/** A bad flag: the message is printed alone and the exit code is 2. */
class FlagError extends Error {}

interface Options {
  corpus: string;
  losses: Word2VecLoss[];
  method: Word2VecMethod;
  dim: number;
  window: number;
  negative: number;
  minCount: number;
  epochs: number;
  sample: number;
  analogies: string;
  seed: number;
  kernels: ('wasm' | 'js')[];
  threads: number[];
  json: boolean;
}

const FLAGS = {
  corpus: { type: 'string' },
  loss: { type: 'string', default: 'neg,hs' },
  method: { type: 'string', default: 'skipgram' },
  dim: { type: 'string', default: '100' },
  window: { type: 'string', default: '5' },
  negative: { type: 'string', default: '5' },
  'min-count': { type: 'string', default: '5' },
  epochs: { type: 'string', default: '1' },
  sample: { type: 'string', default: '1e-3' },
  analogies: { type: 'string', default: path.join(repo, 'data', 'analogies-small.txt') },
  seed: { type: 'string', default: '1' },
  kernel: { type: 'string', default: 'wasm,js' },
  threads: { type: 'string', default: '1' },
  json: { type: 'boolean', default: false },
} as const;

/** A comma-separated list flag whose items are all among `allowed`. */
function listOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T[] {
  const items = text.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
  for (const item of items) {
    if (!allowed.includes(item as T)) throw new FlagError(`word2vec-compare: --${flag} expects ${allowed.join(' and/or ')}, got '${item}'`);
  }
  if (items.length === 0) throw new FlagError(`word2vec-compare: --${flag} expects at least one of ${allowed.join(', ')}`);
  return items as T[];
}

/** A decimal integer flag, ≥ min when given. */
function int(flag: string, text: string, min?: number): number {
  const v = /^-?\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(v) || (min !== undefined && v < min)) {
    throw new FlagError(`word2vec-compare: --${flag} expects an integer${min === undefined ? '' : ` ≥ ${min}`}, got '${text}'`);
  }
  return v;
}

function readOptions(argv: string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new FlagError(`word2vec-compare: ${(err as Error).message}`);
  }
  if (values.corpus === undefined) {
    throw new FlagError('word2vec-compare: expected --corpus DIR|FILE (e.g. --corpus ../shared/data/english-corpus)');
  }
  const sample = Number(values.sample);
  if (values.sample.trim() === '' || !(sample >= 0)) throw new FlagError(`word2vec-compare: --sample expects a number ≥ 0, got '${values.sample}'`);
  return {
    corpus: values.corpus,
    losses: listOf('loss', values.loss, ['neg', 'hs'] as const),
    method: listOf('method', values.method, ['skipgram', 'cbow'] as const)[0],
    dim: int('dim', values.dim, 1),
    window: int('window', values.window, 1),
    negative: int('negative', values.negative, 1),
    minCount: int('min-count', values['min-count'], 1),
    epochs: int('epochs', values.epochs, 1),
    sample,
    analogies: values.analogies,
    seed: int('seed', values.seed),
    kernels: listOf('kernel', values.kernel, ['wasm', 'js'] as const),
    threads: values.threads.split(',').map((t) => int('threads', t.trim(), 1)),
    json: values.json,
  };
}

interface Row {
  impl: string;
  loss: string;
  threads: number;
  vocabulary: number;
  trainWords: number;
  /** Wall-clock seconds. */
  seconds: number;
  /** CPU seconds (user + system): steadier than wall time on a shared machine. */
  cpuSeconds: number;
  /** epochs·T / CPU seconds */
  wordsPerSecond: number;
  /** epochs·T / wall-clock seconds */
  wordsPerWallSecond: number;
  analogy: { answered: number; total: number; correct: number; accuracy: number } | null;
}

function ensurePeer(): void {
  if (fs.existsSync(peerBinary)) return;
  console.error(`word2vec.c not built yet: installing the peer (npm install --prefix ${path.relative(repo, peerDir)}) …`);
  const r = spawnSync('npm', ['install', '--prefix', peerDir, '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (r.status !== 0 || !fs.existsSync(peerBinary)) {
    throw new Error(`word2vec-compare: could not build ${peerBinary} (needs gcc and make; npm exit ${r.status})`);
  }
}

/** CPU seconds of this process (user + system). */
function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** CPU seconds of the waited-for children (Linux /proc/self/stat cutime + cstime), or NaN. */
function childrenCpuSeconds(): number {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); cutime and cstime are fields 16 and 17, in clock ticks (100 Hz)
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return NaN;
  }
}

function analogyScore(vectorsPath: string, sectionsText: string | null, restrictTo: Set<string> | null): Row['analogy'] {
  if (sectionsText === null) return null;
  const wv = readVectors(vectorsPath);
  const sections = parseAnalogies(sectionsText, 'analogies').map((s) => ({
    ...s,
    questions: restrictTo ? s.questions.filter((q) => q.words.every((w) => restrictTo.has(w.toLowerCase()))) : s.questions,
  }));
  const report: AnalogyReport = evaluateAnalogies(wv, sections);
  const o = report.overall;
  const total = parseAnalogies(sectionsText, 'analogies').reduce((n, s) => n + s.questions.length, 0);
  return { answered: o.answered, total, correct: o.correct, accuracy: o.accuracy };
}

function main(): void {
  const options = readOptions(process.argv.slice(2));
  const { losses, method, dim, window, negative, minCount, epochs, sample, seed, kernels } = options;
  ensurePeer();

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-w2v-compare-'));
  const corpus = readCorpus(options.corpus);
  const docs = corpus.documents.map((d) => d.tokens);
  const textPath = path.join(work, 'corpus.txt');
  fs.writeFileSync(textPath, docs.map((d) => d.join(' ')).join('\n') + '\n');
  const analogiesText = options.analogies ? readTextFile(options.analogies, 'analogy file') : null;
  console.error(`corpus: ${corpus.documents.length} files, ${corpus.tokenCount} tokens; work dir ${work}`);

  const rows: Row[] = [];
  /** Both implementations with `loss` on `threads` threads (seqgrad's js kernel on one thread only). */
  const compareAt = (loss: Word2VecLoss, threads: number): void => {
    const ourRuns: { kernel: string; path: string; result: ReturnType<typeof trainWord2Vec>; seconds: number; cpuSeconds: number }[] = [];
    for (const kernel of kernels) {
      if (kernel === 'js' && threads > 1) continue;
      const ours = path.join(work, `seqgrad-${loss}-${kernel}-${threads}.txt`);
      const t0 = performance.now();
      const cpu0 = ownCpuSeconds();
      const result = trainWord2Vec(docs, { method, loss, dim, window, negative, minCount, epochs, sample, seed, kernel, threads });
      const seconds = (performance.now() - t0) / 1000;
      const cpuSeconds = ownCpuSeconds() - cpu0;
      writeVectors(ours, result.words, result.vectors, { header: true });
      ourRuns.push({ kernel, path: ours, result, seconds, cpuSeconds });
      console.error(`${loss}: seqgrad (${kernel}, ${threads} thread(s)) ${seconds.toFixed(1)} s (${cpuSeconds.toFixed(1)} s CPU)`);
    }
    if (ourRuns.length === 0) return;
    const result = ourRuns[0].result;
    // word2vec.c
    const theirs = path.join(work, `word2vec-c-${loss}-${threads}.txt`);
    const args = [
      '-train', textPath, '-output', theirs, '-cbow', method === 'cbow' ? '1' : '0', '-size', String(dim),
      '-window', String(window), '-sample', String(sample), '-hs', loss === 'hs' ? '1' : '0',
      '-negative', loss === 'neg' ? String(negative) : '0', '-threads', String(threads), '-binary', '0', '-iter', String(epochs),
      '-min-count', String(minCount), '-alpha', method === 'cbow' ? '0.05' : '0.025',
    ];
    const c0 = performance.now();
    const cc0 = childrenCpuSeconds();
    const run = spawnSync(peerBinary, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
    const cSeconds = (performance.now() - c0) / 1000;
    const cCpuSeconds = childrenCpuSeconds() - cc0;
    if (run.status !== 0) throw new Error(`word2vec-compare: word2vec.c failed (exit ${run.status}): ${run.stderr}`);
    const cVocab = Number(/Vocab size: (\d+)/.exec(run.stdout)?.[1] ?? NaN);
    // Questions scored: all four words in both vocabularies, so both answer the same questions.
    const cWords = new Set(readVectors(theirs).words);
    const both = new Set(result.words.filter((w) => cWords.has(w)));
    const words = epochs * result.trainWords;
    for (const run of ourRuns) {
      rows.push({
        impl: `seqgrad ${run.kernel}`, loss, threads, vocabulary: run.result.words.length, trainWords: run.result.trainWords,
        seconds: run.seconds, cpuSeconds: run.cpuSeconds, wordsPerSecond: words / run.cpuSeconds, wordsPerWallSecond: words / run.seconds,
        analogy: analogyScore(run.path, analogiesText, both),
      });
    }
    rows.push({
      impl: 'word2vec.c', loss, threads, vocabulary: cVocab, trainWords: result.trainWords, seconds: cSeconds, cpuSeconds: cCpuSeconds,
      wordsPerSecond: words / cCpuSeconds, wordsPerWallSecond: words / cSeconds, analogy: analogyScore(theirs, analogiesText, both),
    });
    console.error(`${loss}: word2vec.c (${threads} thread(s)) ${cSeconds.toFixed(1)} s (${cCpuSeconds.toFixed(1)} s CPU)`);
  };
  for (const loss of losses) for (const threads of options.threads) compareAt(loss, threads);
  if (options.json) {
    console.log(JSON.stringify({ method, dim, window, negative, minCount, epochs, sample, rows }, null, 2));
    fs.rmSync(work, { recursive: true, force: true });
    return;
  }
  console.log(`word2vec ${method}, d=${dim}, window ${window}, min-count ${minCount}, sample ${sample}, ${epochs} epoch(s); ${os.cpus()[0]?.model ?? ''}`);
  console.log('impl          loss  threads  vocab   train words  wall (s)  CPU (s)  words/CPU-s  words/wall-s  analogies (correct/answered of total)');
  for (const r of rows) {
    const a = r.analogy ? `${(100 * r.analogy.accuracy).toFixed(1)}% (${r.analogy.correct}/${r.analogy.answered} of ${r.analogy.total})` : '-';
    console.log(
      `${r.impl.padEnd(13)} ${r.loss.padEnd(5)} ${String(r.threads).padStart(7)}  ${String(r.vocabulary).padStart(6)}  ${String(r.trainWords).padStart(11)}  ` +
      `${r.seconds.toFixed(1).padStart(8)}  ${r.cpuSeconds.toFixed(1).padStart(7)}  ${String(Math.round(r.wordsPerSecond)).padStart(11)}  ` +
      `${String(Math.round(r.wordsPerWallSecond)).padStart(12)}  ${a}`,
    );
  }
  fs.rmSync(work, { recursive: true, force: true });
}

try {
  main();
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = err instanceof FlagError ? 2 : 1;
}
