/**
 * `seqgrad glove`: count co-occurrences (symmetric window, 1/d weighting) in a text file or a
 * directory of .txt files and fit GloVe vectors with AdaGrad, with a progress bar, then write them
 * in GloVe's text format (no header) atomically. Thin: training/text/corpus.ts,
 * training/embeddings/glove.ts and vectors.ts.
 */
import { deprecated, parseArgs, printHelp, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';
import { readCorpusInput } from '../files.js';
import { createProgress, type Progress } from '../progress.js';
import { trainGlove } from '../../training/embeddings/glove.js';
import { writeVectors } from '../../training/io/vectors.js';
import { InputError } from '../../training/core/errors.js';
import { planOutputs } from '../../training/io/outputs.js';
import { interrupted, stopFlag } from '../interrupt.js';

const spec: Record<string, FlagSpec> = {
  corpus: { type: 'string', description: 'a text file, or a directory of .txt files' },
  embedding: { type: 'int', description: 'vector size d', min: 1, default: 100 },
  dim: deprecated('embedding'),
  window: { type: 'int', description: 'symmetric window (pairs at distance d weigh 1/d)', min: 1, default: 15 },
  'min-count': { type: 'int', description: 'drop words seen fewer times', min: 1, default: 5 },
  'x-max': { type: 'number', description: 'x_max of f(x) = (x/x_max)^α', default: 100 },
  alpha: { type: 'number', description: 'α of the weighting f', default: 0.75 },
  eta: { type: 'number', description: 'AdaGrad learning rate η', default: 0.05 },
  epochs: { type: 'int', description: 'passes over the co-occurrence entries', min: 1, default: 15 },
  combine: { type: 'string', description: 'final vectors (e + θ)/2 or e + θ', choices: ['average', 'sum'], default: 'average' },
  seed: { type: 'int', description: 'seed of the init and the shuffles', default: 1 },
  threads: {
    type: 'int', min: 1, default: 1,
    description: "Hogwild threads as glove.c's: N > 1 updates the shared vectors from N threads, each on its region of the shuffled entries (then helping with the others' ends), without locks, so a run is NOT reproducible bit for bit (the seed fixes only the init and the shuffles); 1 (default): the same seed, the same bits",
  },
  out: { type: 'string', description: 'output vectors file (GloVe text format)', default: 'glove.txt' },
  json: { type: 'boolean', description: 'print the run summary as JSON' },
  help: { type: 'boolean', description: '' },
};

export const gloveCommand: Command = {
  name: 'glove',
  summary: 'train GloVe vectors (co-occurrence counts, weighted least squares, AdaGrad)',
  run(argv) {
    const { flags } = parseArgs('glove', argv, spec);
    if (flags.help) return printHelp(
      'seqgrad glove --corpus FILE|DIR [--embedding 100] [--window 15] [--min-count 5] [--epochs 15] [--combine average|sum] [--threads 1] [--out glove.txt]',
      this.summary, spec,
    );
    for (const name of ['x-max', 'alpha', 'eta']) {
      if (!((flags[name] as number) > 0)) {
        throw new InputError(`glove: --${name} expects a positive number, got ${String(flags[name])}`);
      }
    }
    planOutputs({ command: 'glove', inputs: { '--corpus': flags.corpus as string | undefined }, outputs: { '--out': flags.out as string } });
    const corpus = readCorpusInput('glove', flags.corpus as string | undefined);
    const epochs = flags.epochs as number;
    let progress: Progress | null = null;
    const result = trainGlove(corpus.documents.map((d) => d.tokens), {
      dim: flags.embedding as number,
      window: flags.window as number,
      minCount: flags['min-count'] as number,
      xMax: flags['x-max'] as number,
      alpha: flags.alpha as number,
      eta: flags.eta as number,
      epochs,
      combine: flags.combine as 'average' | 'sum',
      seed: flags.seed as number,
      threads: flags.threads as number,
      signal: stopFlag,
      onProgress: (p) => {
        if (p.stage === 'count') {
          console.error(`glove: ${p.entries} non-zero co-occurrences counted in ${p.elapsedSeconds.toFixed(1)} s (${Math.round(p.rate)} words/s)`);
          progress = createProgress({ label: 'glove', total: epochs * p.entries, unit: 'entries' });
          return;
        }
        (progress as Progress | null)?.update(p.epoch * p.entries + p.done, {
          epoch: `${p.epoch + 1}/${epochs}`,
          cost: p.cost.toFixed(5),
          'entries/s': Math.round(p.rate),
        });
      },
    });
    (progress as Progress | null)?.finish(`${result.trainSeconds.toFixed(1)} s`);
    const out = flags.out as string;
    writeVectors(out, result.words, result.vectors, { header: false });
    const seconds = result.countSeconds + result.trainSeconds;
    const summary = {
      corpus: flags.corpus, documents: corpus.documents.length, tokens: corpus.tokenCount,
      dim: flags.embedding, window: flags.window, minCount: flags['min-count'], epochs, seed: flags.seed,
      vocabulary: result.words.length, trainWords: result.trainWords, entries: result.cooccurrences.size,
      countSeconds: Number(result.countSeconds.toFixed(3)), trainSeconds: Number(result.trainSeconds.toFixed(3)),
      wordsPerSecond: Math.round(result.wordsPerSecond),
      finalCost: Number(result.epochCosts[result.epochCosts.length - 1].toFixed(6)), out,
    };
    if (flags.json) console.log(JSON.stringify(summary, null, 2));
    else {
      console.log(
        `glove: ${summary.vocabulary} words × ${flags.embedding}, ${summary.entries} co-occurrences, ${epochs} epochs in ` +
        `${seconds.toFixed(1)} s (count ${summary.countSeconds} s, train ${summary.trainSeconds} s), ` +
        `${summary.wordsPerSecond} corpus words/s, final cost ${summary.finalCost} → ${out}`,
      );
    }
    return interrupted('glove', null, [out]);
  },
};
