/**
 * `seqgrad word2vec`: train word vectors (skip-gram or CBOW; full softmax, hierarchical softmax
 * or negative sampling) on a text file or a directory of .txt files (Gutenberg books are cut to
 * their prose), with a progress bar showing words/s and the loss, and write them in word2vec's
 * text format (`V d` header) atomically. Thin: training/corpus.ts, word2vec.ts, vectors.ts.
 */
import { helpText, parseArgs, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';
import { createProgress, type Progress } from '../progress.js';
import { readCorpus, type Corpus } from '../../training/text/corpus.js';
import { writeVectors } from '../../training/embeddings/vectors.js';
import { trainWord2Vec, type Word2VecKernel, type Word2VecLoss, type Word2VecMethod } from '../../training/embeddings/word2vec.js';
import { InputError } from '../../training/core/errors.js';
import { planOutputs } from '../../training/io/outputs.js';
import { stopFlag } from '../interrupt.js';
import { interrupted } from './train.js';

const spec: Record<string, FlagSpec> = {
  corpus: { type: 'string', description: 'a text file, or a directory of .txt files' },
  method: { type: 'string', description: 'architecture', choices: ['skipgram', 'cbow'], default: 'skipgram' },
  loss: { type: 'string', description: 'output layer', choices: ['softmax', 'hs', 'neg'], default: 'neg' },
  dim: { type: 'int', description: 'vector size d', default: 100 },
  window: { type: 'int', description: 'largest context distance (shrunk at random per position)', default: 5 },
  negative: { type: 'int', description: 'negatives per example (--loss neg)', default: 5 },
  'min-count': { type: 'int', description: 'drop words seen fewer times', default: 5 },
  epochs: { type: 'int', description: 'passes over the corpus', default: 1 },
  sample: { type: 'number', description: 'subsampling threshold s (0 = off)', default: 1e-3 },
  alpha: { type: 'number', description: 'starting learning rate (default 0.025 skip-gram, 0.05 CBOW)' },
  seed: { type: 'int', description: 'seed of every random choice', default: 1 },
  kernel: { type: 'string', description: 'inner loops: WebAssembly SIMD or plain JS (auto: wasm when available)', choices: ['auto', 'wasm', 'js'], default: 'auto' },
  out: { type: 'string', description: 'output vectors file (word2vec text format)', default: 'vectors.txt' },
  json: { type: 'boolean', description: 'print the run summary as JSON' },
  help: { type: 'boolean', description: '' },
};


/** Throws an input error (exit 2) unless each named flag is an integer ≥ 1 (or ≥ 0 where allowed). */
export function checkCounts(command: string, flags: Record<string, unknown>, names: string[], zeroOk: string[] = []): void {
  for (const name of names) {
    const v = flags[name];
    const min = zeroOk.includes(name) ? 0 : 1;
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min)) {
      throw new InputError(`${command}: --${name} expects an integer ≥ ${min}, got ${String(v)}`);
    }
  }
}

/** Read the corpus; a missing or empty one is the user's input error (exit 2). */
export function loadCorpusForCli(command: string, path: string | undefined): Corpus {
  if (!path) throw new InputError(`${command}: expected --corpus FILE|DIR (see 'seqgrad ${command} --help')`);
  try {
    return readCorpus(path);
  } catch (err) {
    throw new InputError((err as Error).message);
  }
}

export const word2vecCommand: Command = {
  name: 'word2vec',
  summary: 'train word2vec vectors (skip-gram/CBOW; softmax, hierarchical softmax or negative sampling)',
  run(argv) {
    const { flags } = parseArgs('word2vec', argv, spec);
    if (flags.help) {
      console.log(helpText(
        'seqgrad word2vec --corpus FILE|DIR [--method skipgram|cbow] [--loss softmax|hs|neg] [--dim 100] [--window 5] [--negative 5] [--min-count 5] [--epochs 1] [--seed 1] [--out vectors.txt]',
        this.summary, spec,
      ));
      return 0;
    }
    checkCounts('word2vec', flags, ['dim', 'window', 'negative', 'min-count', 'epochs']);
    if ((flags.sample as number) < 0) throw new InputError(`word2vec: --sample expects a number ≥ 0, got ${flags.sample}`);
    if (flags.alpha !== undefined && !((flags.alpha as number) > 0)) throw new InputError(`word2vec: --alpha expects a positive number, got ${flags.alpha}`);
    planOutputs({ command: 'word2vec', inputs: { '--corpus': flags.corpus as string | undefined }, outputs: { '--out': flags.out as string } });
    const corpus = loadCorpusForCli('word2vec', flags.corpus as string | undefined);
    const method = flags.method as Word2VecMethod;
    const loss = flags.loss as Word2VecLoss;
    const label = `word2vec ${method}/${loss}`;
    let progress: Progress | null = null;
    const result = trainWord2Vec(corpus.documents.map((d) => d.tokens), {
      method, loss,
      dim: flags.dim as number,
      window: flags.window as number,
      negative: flags.negative as number,
      minCount: flags['min-count'] as number,
      epochs: flags.epochs as number,
      sample: flags.sample as number,
      alpha: flags.alpha as number | undefined,
      seed: flags.seed as number,
      kernel: flags.kernel as Word2VecKernel,
      stop: stopFlag,
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
      method, loss, dim: flags.dim, window: flags.window, negative: loss === 'neg' ? flags.negative : undefined,
      minCount: flags['min-count'], epochs: flags.epochs, seed: flags.seed, kernel: result.kernel,
      vocabulary: result.words.length, trainWords: result.trainWords, examples: result.examples,
      seconds: Number(result.seconds.toFixed(3)), wordsPerSecond: Math.round(result.wordsPerSecond),
      finalLoss: Number(result.finalLoss.toFixed(5)), out,
    };
    if (flags.json) console.log(JSON.stringify(summary, null, 2));
    else {
      console.log(
        `${label}: ${summary.vocabulary} words × ${flags.dim} from ${summary.trainWords} training words ` +
        `(${corpus.documents.length} file${corpus.documents.length === 1 ? '' : 's'}) in ${summary.seconds} s, ` +
        `${summary.wordsPerSecond} words/s (${result.kernel} kernel), mean loss of the last epoch ${summary.finalLoss} → ${out}`,
      );
    }
    return interrupted('word2vec', null, [out]);
  },
};
