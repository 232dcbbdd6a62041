/**
 * `seqgrad bench transformer`: the Transformer encoder-decoder at the dates task's sizes (the CLI's
 * defaults: d = 64, 4 heads, 2 + 2 layers, F = 256), random weights (seeded):
 *   decode    greedy and beam-5 decoding of date sources with the key/value cache (transformerTranslateManyIds,
 *             chunks of 64 sources), and with the reference decoder that re-runs the prefix every step
 *             (transformerTranslateIdsUncached, fewer sources: it is slow); ms per source. <EOS> is made
 *             unreachable (its output bias −10⁴), so every hypothesis runs 11 steps, as the decode suite's.
 *   train     one teacher-forced forward + backward of a batch of 64 date pairs (T_x 32, T_y 16 after the
 *             trainer's padding), ms per step.
 * `--sizes` are the beam widths of the decode rows (default 1 and 5).
 */
import { Rng } from '../../engine/rng.js';
import { DROPOUT_OFF } from '../../layers/dropout.js';
import { generateDatePairs, type DatePair } from '../../training/seq2seq/dates.js';
import { buildSourceVocabulary, buildTargetVocabulary, makeSeq2SeqBatch } from '../../training/seq2seq/model.js';
import { padSeq2SeqBatch } from '../../training/seq2seq/transformer-train.js';
import {
  TransformerSeq2SeqDecoder, batchView, createTransformerSeq2Seq, createTransformerSeq2SeqWorkspace, transformerSeq2SeqBackward,
  transformerSeq2SeqForward, transformerSeq2SeqZeroGrad, transformerSourceIds, transformerTranslateIdsUncached, transformerTranslateManyIds,
  type TransformerSeq2SeqModel,
} from '../../training/seq2seq/transformer-model.js';
import { millis, onBackend, seqgradWorkload, type BenchCase, type Metric, type Suite } from '../harness.js';

const CACHED_SOURCES = 1000;
const REFERENCE_SOURCES = 50;
const STEPS = 11;
const TRAIN_BATCH = 64;

const msPerSource = (n: number): Metric => ({ unit: 'ms/source', higherIsBetter: false, fromMs: (ms) => ms / n });

function datesModel(pairs: DatePair[]): TransformerSeq2SeqModel {
  const model = createTransformerSeq2Seq(
    { level: 'char', dropout: 0, seed: 1 },
    buildSourceVocabulary(pairs.flatMap((q) => [...q.source])), buildTargetVocabulary(pairs.flatMap((q) => [...q.target])),
  );
  return model;
}

function decodeCase(beam: number, cached: boolean): BenchCase {
  const n = cached ? CACHED_SOURCES : REFERENCE_SOURCES;
  return {
    suite: 'transformer',
    name: `decode ${beam === 1 ? 'greedy' : `beam ${beam}`} ${cached ? 'cached' : 'reference'} n=${n}`,
    params: { beam, n, steps: STEPS, cached: cached ? 1 : 0 },
    metric: msPerSource(n),
    ours(backend) {
      const work = onBackend(backend, () => {
        const pairs = generateDatePairs(n, new Rng(3));
        const model = datesModel(pairs);
        model.output.params.b!.data[model.ids.eos] = -1e4;
        const decoder = new TransformerSeq2SeqDecoder(model);
        const sources = pairs.map((q) => transformerSourceIds(model, q.source));
        const opts = { beamWidth: beam, maxLength: STEPS };
        return {
          call: () => (cached ? transformerTranslateManyIds(decoder, sources, opts) : sources.map((s) => transformerTranslateIdsUncached(decoder, s, opts))),
          dispose: () => decoder.release(),
        };
      });
      return seqgradWorkload(backend, () => { work.call(); }, work.dispose);
    },
  };
}

function trainCase(): BenchCase {
  return {
    suite: 'transformer',
    name: `train step B=${TRAIN_BATCH}`,
    params: { batch: TRAIN_BATCH },
    metric: millis(),
    ours(backend) {
      const step = onBackend(backend, () => {
        const pairs = generateDatePairs(TRAIN_BATCH, new Rng(4));
        const model = datesModel(pairs);
        const examples = pairs.map((q) => ({ source: transformerSourceIds(model, q.source), target: model.targetVocab.encode([...q.target]) }));
        const raw = makeSeq2SeqBatch(batchView(model), examples);
        const batch = padSeq2SeqBatch(raw, 32, 16, model.sourceVocab.id('<PAD>'), model.ids.pad);
        const ws = createTransformerSeq2SeqWorkspace(model, batch.srcSteps, batch.tgtSteps, TRAIN_BATCH);
        return () => {
          transformerSeq2SeqZeroGrad(model);
          transformerSeq2SeqForward(model, ws, batch, DROPOUT_OFF);
          transformerSeq2SeqBackward(model, ws);
        };
      });
      return seqgradWorkload(backend, step);
    },
  };
}

export const transformerSuite: Suite = {
  name: 'transformer',
  summary: `the Transformer seq2seq at the dates task's sizes: decoding (${CACHED_SOURCES} sources with the key/value cache, ${REFERENCE_SOURCES} with the reference decoder), ms/source; a train step, ms`,
  sizesHelp: 'beam widths of the decode rows (1 = greedy)',
  defaultSizes: [1, 5],
  cases(ctx) {
    const beams = ctx.sizes ?? this.defaultSizes!;
    for (const beam of beams) if (!Number.isInteger(beam) || beam < 1) throw new Error(`bench transformer: expected beam widths to be positive integers, got ${beam}`);
    return [...beams.flatMap((beam) => [decodeCase(beam, true), decodeCase(beam, false)]), trainCase()];
  },
};
