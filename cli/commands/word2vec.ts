/**
 * `seqgrad word2vec`: train word vectors (skip-gram or CBOW; full softmax, hierarchical softmax
 * or negative sampling) on a text file or a directory of .txt files (Gutenberg books are cut to
 * their prose), with a progress bar showing words/s and the loss, and write them in word2vec's
 * text format (`V d` header) atomically. Thin: training/text/corpus.ts, training/embeddings/word2vec.ts
 * and vectors.ts.
 */
import { deprecated, parseArgs, printHelp, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';
import { readCorpusInput } from '../files.js';
import { createProgress, type Progress } from '../progress.js';
import { writeVectors } from '../../training/io/vectors.js';
import {
  fullSoftmaxCost, trainWord2Vec, word2vecThreadsRefusal, type Word2VecKernel, type Word2VecLoss, type Word2VecMethod,
} from '../../training/embeddings/word2vec.js';
import { InputError } from '../../training/core/errors.js';
import { planOutputs } from '../../training/io/outputs.js';
import { interrupted, stopFlag } from '../interrupt.js';
import { threadsFromFlags } from '../threads.js';

const spec: Record<string, FlagSpec> = {
  corpus: { type: 'string', description: 'a text file, or a directory of .txt files' },
  method: { type: 'string', description: 'architecture', choices: ['skipgram', 'cbow'], default: 'skipgram' },
  loss: { type: 'string', description: 'output layer', choices: ['softmax', 'hs', 'neg'], default: 'neg' },
  embedding: { type: 'int', description: 'vector size d', min: 1, default: 100 },
  dim: deprecated('embedding'),
  window: { type: 'int', description: 'largest context distance (shrunk at random per position)', min: 1, default: 5 },
  negative: { type: 'int', description: 'negatives per example (--loss neg)', min: 1, default: 5 },
  'min-count': { type: 'int', description: 'drop words seen fewer times', min: 1, default: 5 },
  epochs: { type: 'int', description: 'passes over the corpus (word2vec.c and gensim use 5)', min: 1, default: 5 },
  sample: { type: 'number', description: 'subsampling threshold s (0 = off)', default: 1e-3 },
  alpha: { type: 'number', description: 'starting learning rate (default 0.025 skip-gram, 0.05 CBOW)' },
  seed: { type: 'int', description: 'seed of every random choice', default: 1 },
  kernel: { type: 'string', description: 'inner loops: WebAssembly SIMD or plain JS (auto: wasm when available)', choices: ['auto', 'wasm', 'js'], default: 'auto' },
  threads: {
    type: 'int', min: 1,
    description: "Hogwild threads as word2vec.c's -threads (default: all cores with the wasm kernel, else 1): thread k trains the k-th of N regions of the corpus (then helps with the others' ends), all at the same time on shared vectors without locks, so N > 1 is NOT reproducible bit for bit (the seed fixes only the init and each thread's random choices); 1: the same seed, the same bits",
  },
  out: { type: 'string', description: 'output vectors file (word2vec text format)', default: 'word2vec.txt' },
  json: { type: 'boolean', description: 'print the run summary as JSON' },
  help: { type: 'boolean', description: '' },
};

export const word2vecCommand: Command = {
  name: 'word2vec',
  summary: 'train word2vec vectors (skip-gram/CBOW; softmax, hierarchical softmax or negative sampling)',
  run(argv) {
    const { flags } = parseArgs('word2vec', argv, spec);
    if (flags.help) return printHelp(
      'seqgrad word2vec --corpus FILE|DIR [--method skipgram|cbow] [--loss softmax|hs|neg] [--embedding 100] [--window 5] [--negative 5] [--min-count 5] [--epochs 5] [--seed 1] [--threads N] [--out word2vec.txt]',
      this.summary, spec,
    );
    if ((flags.sample as number) < 0) throw new InputError(`word2vec: --sample expects a number ≥ 0, got ${flags.sample}`);
    if (flags.alpha !== undefined && !((flags.alpha as number) > 0)) throw new InputError(`word2vec: --alpha expects a positive number, got ${flags.alpha}`);
    planOutputs({ command: 'word2vec', inputs: { '--corpus': flags.corpus as string | undefined }, outputs: { '--out': flags.out as string } });
    const corpus = readCorpusInput('word2vec', flags.corpus as string | undefined);
    const method = flags.method as Word2VecMethod;
    const loss = flags.loss as Word2VecLoss;
    const kernel = flags.kernel as Word2VecKernel;
    // The default: every core where the threads can share the wasm kernel's memory.
    const threads = threadsFromFlags(flags, 'wasm', word2vecThreadsRefusal(kernel));
    const label = `word2vec ${method}/${loss}`;
    let progress: Progress | null = null;
    const sentences = corpus.documents.map((d) => d.tokens);
    const shape = {
      method,
      dim: flags.embedding as number,
      window: flags.window as number,
      negative: flags.negative as number,
      minCount: flags['min-count'] as number,
      epochs: flags.epochs as number,
    };
    if (loss === 'softmax') warnOfFullSoftmax(sentences, shape);
    const result = trainWord2Vec(sentences, {
      ...shape, loss,
      sample: flags.sample as number,
      alpha: flags.alpha as number | undefined,
      seed: flags.seed as number,
      kernel,
      threads,
      signal: stopFlag,
      onProgress: (p) => {
        progress ??= createProgress({ label, total: p.totalWords, unit: 'words' });
        progress.update(p.wordsDone, {
          loss: Number.isFinite(p.loss) ? p.loss.toFixed(4) : '-',
          'words/s': Math.round(p.wordsPerSecond),
          alpha: p.alpha.toFixed(5),
        });
      },
    });
    (progress as Progress | null)?.finish(`${result.seconds.toFixed(1)} s`);
    const out = flags.out as string;
    writeVectors(out, result.words, result.vectors, { header: true });
    const summary = {
      corpus: flags.corpus, documents: corpus.documents.length, tokens: corpus.tokenCount,
      method, loss, dim: flags.embedding, window: flags.window, negative: loss === 'neg' ? flags.negative : undefined,
      minCount: flags['min-count'], epochs: flags.epochs, seed: flags.seed, kernel: result.kernel, threads: result.threads,
      vocabulary: result.words.length, trainWords: result.trainWords, examples: result.examples,
      seconds: Number(result.seconds.toFixed(3)), wordsPerSecond: Math.round(result.wordsPerSecond),
      finalLoss: Number(result.finalLoss.toFixed(5)), out,
    };
    if (flags.json) console.log(JSON.stringify(summary, null, 2));
    else {
      console.log(
        `${label}: ${summary.vocabulary} words × ${flags.embedding} from ${summary.trainWords} training words ` +
        `(${corpus.documents.length} file${corpus.documents.length === 1 ? '' : 's'}) in ${summary.seconds} s, ` +
        `${summary.wordsPerSecond} words/s (${result.kernel} kernel, ${result.threads} thread${result.threads === 1 ? '' : 's'}), mean loss of the last epoch ${summary.finalLoss} → ${out}`,
      );
    }
    return interrupted('word2vec', null, [out]);
  },
};

/** Above this many words a full softmax is slow enough to say so before it starts. */
const LARGE_SOFTMAX_VOCABULARY = 1000;

/** One line on stderr before a full-softmax run on a large vocabulary: its cost, and the usual choice instead. */
function warnOfFullSoftmax(sentences: string[][], shape: Parameters<typeof fullSoftmaxCost>[1] & object): void {
  const cost = fullSoftmaxCost(sentences, shape);
  if (cost.vocabulary < LARGE_SOFTMAX_VOCABULARY) return;
  console.error(
    `word2vec: warning: --loss softmax normalises over all V = ${cost.vocabulary} words at every example: ` +
    `about ${cost.multiplyAdds.toExponential(1)} multiply-adds (${cost.examples.toExponential(1)} examples × 3·V·d), ` +
    `${Math.round(cost.timesNegativeSampling)}× the work of negative sampling — use --loss neg (or --loss hs) unless the full softmax is the point`,
  );
}
