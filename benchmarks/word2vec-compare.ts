/**
 * seqgrad's word2vec against word2vec.c itself, same settings, same corpus, same machine:
 *
 *   npx tsx benchmarks/word2vec-compare.ts [--corpus DIR|FILE] [--loss neg,hs] [--method skipgram]
 *       [--dim 100] [--window 5] [--negative 5] [--min-count 5] [--epochs 1] [--sample 1e-3]
 *       [--analogies data/analogies-small.txt] [--seed 1] [--json]
 *
 * The peer is Mikolov's C code as the npm package `word2vec` (an exact pin in
 * benchmarks/peers-word2vec/package.json) builds it on install (`make`, gcc -O3 -march=native);
 * it is installed on demand the first time (npm install --prefix benchmarks/peers-word2vec),
 * never a dependency of seqgrad. Both read the same text: the corpus is tokenised once by
 * training/corpus.ts and written one document per line, so the vocabularies match (word2vec.c adds
 * its `</s>` line-end token). The C code runs with -threads 1 (seqgrad is single-threaded).
 *
 * Reported per run: wall and CPU time (vocabulary + training; word2vec.c's also includes writing
 * its vectors), words/s = epochs·T / CPU time (T = in-vocabulary training words; CPU time is the
 * steadier figure on a shared machine), and, with the
 * analogy evaluator of training/embeddings.ts, the accuracy on the analogy file's questions whose
 * words are all in both vocabularies (the same evaluator scores both sets of vectors).
 * Run it with `nice` on a shared machine: a full run on the 7-book corpus takes minutes.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type FlagSpec } from '../cli/args.js';
import { readCorpus } from '../training/text/corpus.js';
import { evaluateAnalogies, parseAnalogies, type AnalogyReport } from '../training/embeddings/similarity.js';
import { readTextFile } from '../training/io/files.js';
import { readVectors, writeVectors } from '../training/io/vectors.js';
import { trainWord2Vec, type Word2VecLoss, type Word2VecMethod } from '../training/embeddings/word2vec.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const peerDir = path.join(here, 'peers-word2vec');
const peerBinary = path.join(peerDir, 'node_modules', 'word2vec', 'src', 'word2vec');

const spec: Record<string, FlagSpec> = {
  corpus: { type: 'string', description: 'corpus', default: path.resolve(repo, '..', 'shared', 'data', 'english-corpus') },
  loss: { type: 'list', description: 'losses to compare (neg, hs)', default: ['neg', 'hs'] },
  method: { type: 'string', description: 'skipgram or cbow', choices: ['skipgram', 'cbow'], default: 'skipgram' },
  dim: { type: 'int', description: 'vector size', default: 100 },
  window: { type: 'int', description: 'window', default: 5 },
  negative: { type: 'int', description: 'negatives', default: 5 },
  'min-count': { type: 'int', description: 'min count', default: 5 },
  epochs: { type: 'int', description: 'epochs', default: 1 },
  sample: { type: 'number', description: 'subsampling threshold', default: 1e-3 },
  analogies: { type: 'string', description: 'analogy file (questions-words.txt format)', default: path.join(repo, 'data', 'analogies-small.txt') },
  seed: { type: 'int', description: 'seqgrad seed', default: 1 },
  kernel: { type: 'list', description: "seqgrad kernels to run ('wasm', 'js')", default: ['wasm', 'js'] },
  json: { type: 'boolean', description: 'print the rows as JSON' },
};

interface Row {
  impl: string;
  loss: string;
  vocabulary: number;
  trainWords: number;
  /** Wall-clock seconds. */
  seconds: number;
  /** CPU seconds (user + system): steadier than wall time on a shared machine. */
  cpuSeconds: number;
  /** epochs·T / CPU seconds */
  wordsPerSecond: number;
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
  const { flags } = parseArgs('word2vec-compare', process.argv.slice(2), spec);
  const losses = (flags.loss as string[]).map((l) => {
    if (l !== 'neg' && l !== 'hs') throw new Error(`word2vec-compare: --loss expects neg and/or hs, got '${l}'`);
    return l as Word2VecLoss;
  });
  const method = flags.method as Word2VecMethod;
  const dim = flags.dim as number, window = flags.window as number, negative = flags.negative as number;
  const minCount = flags['min-count'] as number, epochs = flags.epochs as number, sample = flags.sample as number;
  ensurePeer();

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-w2v-compare-'));
  const corpus = readCorpus(flags.corpus as string);
  const docs = corpus.documents.map((d) => d.tokens);
  const textPath = path.join(work, 'corpus.txt');
  fs.writeFileSync(textPath, docs.map((d) => d.join(' ')).join('\n') + '\n');
  const analogiesText = flags.analogies ? readTextFile(flags.analogies as string, 'analogy file') : null;
  console.error(`corpus: ${corpus.documents.length} files, ${corpus.tokenCount} tokens; work dir ${work}`);

  const rows: Row[] = [];
  const kernels = (flags.kernel as string[]).map((k) => {
    if (k !== 'wasm' && k !== 'js') throw new Error(`word2vec-compare: --kernel expects wasm and/or js, got '${k}'`);
    return k as 'wasm' | 'js';
  });
  for (const loss of losses) {
    const ourRuns: { kernel: string; path: string; result: ReturnType<typeof trainWord2Vec>; seconds: number; cpuSeconds: number }[] = [];
    for (const kernel of kernels) {
      const ours = path.join(work, `seqgrad-${loss}-${kernel}.txt`);
      const t0 = performance.now();
      const cpu0 = ownCpuSeconds();
      const result = trainWord2Vec(docs, { method, loss, dim, window, negative, minCount, epochs, sample, seed: flags.seed as number, kernel });
      const seconds = (performance.now() - t0) / 1000;
      const cpuSeconds = ownCpuSeconds() - cpu0;
      writeVectors(ours, result.words, result.vectors, { header: true });
      ourRuns.push({ kernel, path: ours, result, seconds, cpuSeconds });
      console.error(`${loss}: seqgrad (${kernel}) ${seconds.toFixed(1)} s (${cpuSeconds.toFixed(1)} s CPU)`);
    }
    const result = ourRuns[0].result;
    // word2vec.c
    const theirs = path.join(work, `word2vec-c-${loss}.txt`);
    const args = [
      '-train', textPath, '-output', theirs, '-cbow', method === 'cbow' ? '1' : '0', '-size', String(dim),
      '-window', String(window), '-sample', String(sample), '-hs', loss === 'hs' ? '1' : '0',
      '-negative', loss === 'neg' ? String(negative) : '0', '-threads', '1', '-binary', '0', '-iter', String(epochs),
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
    for (const run of ourRuns) {
      rows.push({
        impl: `seqgrad ${run.kernel}`, loss, vocabulary: run.result.words.length, trainWords: run.result.trainWords,
        seconds: run.seconds, cpuSeconds: run.cpuSeconds, wordsPerSecond: (epochs * run.result.trainWords) / run.cpuSeconds,
        analogy: analogyScore(run.path, analogiesText, both),
      });
    }
    rows.push({
      impl: 'word2vec.c', loss, vocabulary: cVocab, trainWords: result.trainWords, seconds: cSeconds, cpuSeconds: cCpuSeconds,
      wordsPerSecond: (epochs * result.trainWords) / cCpuSeconds, analogy: analogyScore(theirs, analogiesText, both),
    });
    console.error(`${loss}: word2vec.c ${cSeconds.toFixed(1)} s (${cCpuSeconds.toFixed(1)} s CPU)`);
  }
  if (flags.json) {
    console.log(JSON.stringify({ method, dim, window, negative, minCount, epochs, sample, rows }, null, 2));
    return;
  }
  console.log(`word2vec ${method}, d=${dim}, window ${window}, min-count ${minCount}, sample ${sample}, ${epochs} epoch(s), 1 thread; ${os.cpus()[0]?.model ?? ''}`);
  console.log('impl          loss  vocab   train words  wall (s)  CPU (s)  words/CPU-s  analogies (correct/answered of total)');
  for (const r of rows) {
    const a = r.analogy ? `${(100 * r.analogy.accuracy).toFixed(1)}% (${r.analogy.correct}/${r.analogy.answered} of ${r.analogy.total})` : '-';
    console.log(
      `${r.impl.padEnd(13)} ${r.loss.padEnd(5)} ${String(r.vocabulary).padStart(6)}  ${String(r.trainWords).padStart(11)}  ` +
      `${r.seconds.toFixed(1).padStart(8)}  ${r.cpuSeconds.toFixed(1).padStart(7)}  ${String(Math.round(r.wordsPerSecond)).padStart(11)}  ${a}`,
    );
  }
  fs.rmSync(work, { recursive: true, force: true });
}

try {
  main();
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
}
