/**
 * `seqgrad nplm`: train Bengio et al.'s neural probabilistic language model (2003) on a text file
 * or a directory of .txt files, hold out the end of every document for validation, print the
 * training and validation perplexity after every epoch, and write the learnt embedding E in
 * word2vec's text format. Thin: training/text/corpus.ts, training/embeddings/nplm.ts, io/vectors.ts.
 */
import { parseArgs, positiveNumber, printHelp, UsageError, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';
import { readCorpusInput } from '../files.js';
import { evaluateNplm, holdOutDocumentTails, trainNplm, type NplmEpochInfo } from '../../training/embeddings/nplm.js';
import { writeVectors } from '../../training/io/vectors.js';
import { planOutputs } from '../../training/io/outputs.js';
import { interrupted, stopFlag } from '../interrupt.js';

const spec: Record<string, FlagSpec> = {
  corpus: { type: 'string', description: 'a text file, or a directory of .txt files' },
  context: { type: 'int', description: 'n, previous words that predict the next', min: 1, default: 3 },
  embedding: { type: 'int', description: 'embedding size m', min: 1, default: 30 },
  hidden: { type: 'int', description: 'hidden tanh units h', min: 1, default: 50 },
  'min-count': { type: 'int', description: 'words seen fewer times become <UNK>', min: 1, default: 1 },
  epochs: { type: 'int', description: 'passes over the training words', min: 1, default: 5 },
  batch: { type: 'int', description: 'positions per SGD step', min: 1, default: 32 },
  lr: { type: 'number', description: 'SGD learning rate (on the batch-mean loss)', default: 0.1 },
  'val-fraction': { type: 'number', description: 'the last fraction of every document held out for validation', default: 0.1 },
  'time-limit': { type: 'number', description: 'stop before this many seconds have passed' },
  seed: { type: 'int', description: 'seed of the weights and the order of the positions', default: 1 },
  out: { type: 'string', description: 'the embedding E (word2vec text format)', default: 'nplm.txt' },
  json: { type: 'boolean', description: 'print the run summary as JSON' },
  help: { type: 'boolean', description: '' },
};

export const nplmCommand: Command = {
  name: 'nplm',
  summary: "Bengio's neural probabilistic language model: train, validation perplexity per epoch, write its embeddings",
  run(argv) {
    const { flags } = parseArgs('nplm', argv, spec);
    if (flags.help) return printHelp(
      'seqgrad nplm --corpus FILE|DIR [--context 3] [--embedding 30] [--hidden 50] [--epochs 5] [--lr 0.1] [--val-fraction 0.1] [--out nplm.txt] [--json]',
      this.summary, spec,
    );
    for (const name of ['lr', 'time-limit']) positiveNumber('nplm', flags, name);
    const vf = flags['val-fraction'] as number;
    if (!(vf >= 0 && vf < 1)) throw new UsageError(`nplm: --val-fraction expects a number in [0, 1), got ${vf}`);
    planOutputs({ command: 'nplm', inputs: { '--corpus': flags.corpus as string | undefined }, outputs: { '--out': flags.out as string } });
    const corpus = readCorpusInput('nplm', flags.corpus as string | undefined);
    const [train, validation] = holdOutDocumentTails(corpus.documents.map((d) => d.tokens), vf);
    const epochs: NplmEpochInfo[] = [];
    const result = trainNplm(train, {
      contextSize: flags.context as number, dim: flags.embedding as number, hidden: flags.hidden as number,
      minCount: flags['min-count'] as number, epochs: flags.epochs as number, batchSize: flags.batch as number,
      lr: flags.lr as number, seed: flags.seed as number, validation,
      timeLimitSeconds: flags['time-limit'] as number | undefined, signal: stopFlag,
      onEpoch: (e) => {
        epochs.push(e);
        if (!flags.json) {
          const val = e.validation ? `, validation perplexity ${e.validation.perplexity.toFixed(2)} (${e.validation.words} words)` : '';
          console.log(`epoch ${e.epoch + 1}: training perplexity ${e.perplexity.toFixed(2)}${val}`);
        }
      },
    });
    const out = flags.out as string;
    writeVectors(out, result.vocab.tokens, result.model.embedding.weight, { header: true });
    // A run stopped inside an epoch (time limit, Ctrl-C) is scored where it stopped.
    const finished = result.stopReason === 'epochs' && result.validation.length > 0;
    const last = finished ? result.validation.at(-1)! : validation.length > 0 ? evaluateNplm(result.model, result.vocab, validation) : null;
    if (flags.json) {
      console.log(JSON.stringify({
        corpus: flags.corpus, vocabulary: result.vocab.size, trainWords: train.reduce((s, d) => s + d.length, 0),
        validationWords: validation.reduce((s, d) => s + d.length, 0), stopReason: result.stopReason,
        epochs: epochs.map((e) => ({ epoch: e.epoch + 1, loss: e.loss, perplexity: e.perplexity, validation: e.validation ?? null })),
        validation: last, out,
      }, null, 2));
    } else {
      if (last && !finished) console.log(`validation perplexity ${last.perplexity.toFixed(2)} (${last.words} words) when stopped by ${result.stopReason}`);
      console.log(`${result.vocab.size} words × ${String(flags.embedding)} → ${out} (stopped by ${result.stopReason})`);
    }
    return interrupted('nplm', null, [out]);
  },
};
