/**
 * Files written before the one parameter-naming scheme (layers/architectures.ts namedParameters)
 * keep loading. The fixtures in spec/fixtures/legacy-names/ were written by the CLI at commit
 * 659ec59 (see the README there); the old → new name tables below are written out by hand, so a
 * wrong mapping in the loaders cannot agree with itself.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Matrix } from '../../../engine/matrix.js';
import { modelParameters } from '../../../layers/architectures.js';
import { withCurrentNames } from '../../../training/io/model-file.js';
import { lmParameters } from '../../../training/lm/model.js';
import { loadLanguageModel } from '../../../training/lm/model-file.js';
import { prepareLmCorpus, readLmCheckpoint, resumeLmTrainer } from '../../../training/lm/train.js';
import { loadSeq2Seq } from '../../../training/seq2seq/model-file.js';
import { Seq2SeqDecoder, seq2seqFromJSON, seq2seqParameters, translate } from '../../../training/seq2seq/model.js';
import { prepareSeq2SeqData, readSeq2SeqCheckpoint, resumeSeq2SeqTrainer } from '../../../training/seq2seq/train.js';
import { parsePairsTsv } from '../../../training/seq2seq/tasks.js';
import { averageModelFactory, type AverageSentimentModel, type SentimentModelJSON } from '../../../training/classify/sentence-classifier.js';
import { lstmModelFactory, type LstmSentimentModel } from '../../../training/sentiment/lstm.js';
import { loadTagger } from '../../../training/tagger/tagger.js';
import { loadTriggerModel } from '../../../training/trigger/trigger.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/legacy-names');
const fixture = (name: string): string => path.join(FIXTURES, name);

/** What the tests read of the files: weights and optimizer slots as base64 bytes, by name. */
type Stored = Record<string, { data: string }>;
interface CheckpointFile {
  model: { weights: Stored };
  optimizer: { slots: Record<string, Stored> };
  corpus: { level: 'char'; valFraction: number };
  data: { valFraction: number; seed: number };
}
interface LayerFile {
  embedding: { data: string };
  rnn: { weights: Stored };
  head: Stored;
}
const readJson = <T>(name: string): T => JSON.parse(fs.readFileSync(fixture(name), 'utf8')) as T;

/** The raw little-endian bytes of a contiguous matrix, base64 (what a model file stores). */
function base64Of(m: Matrix): string {
  return Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength).toString('base64');
}

/** Every parameter equals the file's weight under its old name (`table`: new → old), and the table covers the file. */
function expectWeightsUnder(params: Record<string, Matrix>, stored: Stored, table: Record<string, string>): void {
  expect(Object.keys(params).sort()).toEqual(Object.keys(table).sort());
  expect(Object.values(table).sort()).toEqual(Object.keys(stored).sort());
  for (const [name, old] of Object.entries(table)) expect(base64Of(params[name]), name).toBe(stored[old].data);
}

const LM_NAMES: Record<string, string> = {
  'embedding.weight': 'embedding.weight',
  'rnn.l0.W_x': 'lstm.W_x', 'rnn.l0.W_a': 'lstm.W_a', 'rnn.l0.b': 'lstm.b',
  'rnn.l1.W_x': 'lstm.l1.W_x', 'rnn.l1.W_a': 'lstm.l1.W_a', 'rnn.l1.b': 'lstm.l1.b',
  'head.W': 'dense.W', 'head.b': 'dense.b',
};

const cell = (prefix: string, old: string): Record<string, string> =>
  Object.fromEntries(['W_x', 'W_a', 'b'].map((p) => [`${prefix}.${p}`, `${old}.${p}`]));

const SEQ2SEQ_NAMES: Record<string, string> = {
  'encoder.embedding.weight': 'source_embedding.weight',
  ...cell('encoder.rnn.l0', 'encoder.l0'), ...cell('encoder.rnn.l0_reverse', 'encoder.l0_reverse'),
  ...cell('encoder.rnn.l1', 'encoder.l1'), ...cell('encoder.rnn.l1_reverse', 'encoder.l1_reverse'),
  'decoder.embedding.weight': 'target_embedding.weight',
  ...cell('decoder.rnn.l0', 'decoder'),
  'attention.W': 'attention.W', 'attention.U': 'attention.U', 'attention.b': 'attention.b', 'attention.v': 'attention.v',
  'decoder.head.W': 'output.W', 'decoder.head.b': 'output.b',
};

describe('withCurrentNames', () => {
  it('moves an entry from its former name to the current one, unless the current one is there', () => {
    const former = { 'rnn.l0.W_x': 'lstm.W_x', 'head.W': 'dense.W', 'head.b': 'dense.b' };
    expect(withCurrentNames({ 'lstm.W_x': 1, 'dense.W': 2, 'head.b': 3, 'dense.b': 4, other: 5 }, former))
      .toEqual({ 'rnn.l0.W_x': 1, 'head.W': 2, 'head.b': 3, 'dense.b': 4, other: 5 });
    expect(withCurrentNames({ toString: 1 }, { 'head.W': 'constructor' })).toEqual({ toString: 1 });
  });
});

describe('files written before the one naming scheme keep loading', () => {
  it('a language model: lstm.W_x, lstm.l1.W_x, dense.W → rnn.l0.W_x, rnn.l1.W_x, head.W', () => {
    const model = loadLanguageModel(fixture('lm.json'));
    expectWeightsUnder(lmParameters(model), readJson<{ weights: Stored }>('lm.json').weights, LM_NAMES);
  });

  it('a language-model checkpoint: weights and the optimizer state per parameter, and training resumes', () => {
    const checkpoint = readLmCheckpoint(fixture('lm-checkpoint.json'));
    const json = readJson<CheckpointFile>('lm-checkpoint.json');
    expectWeightsUnder(lmParameters(checkpoint.model), json.model.weights, LM_NAMES);
    const text = fs.readFileSync(fixture('lm-corpus.txt'), 'utf8');
    const trainer = resumeLmTrainer(checkpoint, prepareLmCorpus(text, { ...json.corpus, vocab: checkpoint.model.vocab }));
    for (const [name, old] of Object.entries(LM_NAMES)) {
      for (const slot of ['expAvg', 'expAvgSq']) expect(base64Of(trainer.optimizer.slots[name][slot]), `${name}.${slot}`).toBe(json.optimizer.slots[old][slot].data);
    }
    expect(trainer.position.step).toBe(3);
    expect(trainer.run({ maxSteps: 4 }).steps).toBe(4);
  });

  it('a seq2seq model: source_embedding, encoder.l0_reverse, decoder.W_x, output.W → encoder.…, decoder.…', () => {
    const model = loadSeq2Seq(fixture('seq2seq.json'));
    expectWeightsUnder(seq2seqParameters(model).params, readJson<{ weights: Stored }>('seq2seq.json').weights, SEQ2SEQ_NAMES);
    expect(translate(new Seq2SeqDecoder(model), 'abc', { beamWidth: 2 })[0].text).toMatch(/^[abc]*$/);
  });

  it('a seq2seq checkpoint: weights and optimizer state, and training resumes', () => {
    const checkpoint = readSeq2SeqCheckpoint(fixture('seq2seq-checkpoint.json'));
    const json = readJson<CheckpointFile>('seq2seq-checkpoint.json');
    const pairs = parsePairsTsv(fs.readFileSync(fixture('pairs.tsv'), 'utf8'), 'pairs.tsv');
    const { sourceVocab, targetVocab } = seq2seqFromJSON(checkpoint.model); // the pairs are encoded with the checkpoint's vocabularies
    const data = prepareSeq2SeqData(pairs, {
      level: 'char', valFraction: json.data.valFraction, seed: json.data.seed, sourceVocab: sourceVocab ?? undefined, targetVocab,
    });
    const trainer = resumeSeq2SeqTrainer(checkpoint, data);
    expectWeightsUnder(seq2seqParameters(trainer.model).params, json.model.weights, SEQ2SEQ_NAMES);
    for (const [name, old] of Object.entries(SEQ2SEQ_NAMES)) {
      for (const slot of ['expAvg', 'expAvgSq']) expect(base64Of(trainer.optimizer.slots[name][slot]), `${name}.${slot}`).toBe(json.optimizer.slots[old][slot].data);
    }
    expect(trainer.step).toBe(3);
    expect(trainer.run({ maxSteps: 4, maxEvalExamples: 0, evalEvery: 100 }).steps).toBe(4);
  });

  it('sentiment (avg: E, W, b; lstm: E and the scheme), tagger and trigger files (rnn and head sections)', () => {
    const avgJson = readJson<SentimentModelJSON>('sentiment-avg.json');
    const avg = averageModelFactory.fromJSON(avgJson) as AverageSentimentModel;
    expect([base64Of(avg.embedding.weight), base64Of(avg.dense.params.W), base64Of(avg.dense.params.b!)])
      .toEqual([avgJson.weights.E.data, avgJson.weights.W.data, avgJson.weights.b.data]);

    const lstmJson = readJson<SentimentModelJSON>('sentiment-lstm.json');
    const lstm = lstmModelFactory.fromJSON(lstmJson) as LstmSentimentModel;
    expectWeightsUnder(modelParameters(lstm.net).params, lstmJson.weights, {
      'embedding.weight': 'E', ...cell('rnn.l0', 'rnn.l0'), ...cell('rnn.l0_reverse', 'rnn.l0_reverse'), 'head.W': 'head.W', 'head.b': 'head.b',
    });

    const taggerJson = readJson<LayerFile>('tagger-bi.json');
    const tagger = loadTagger(fixture('tagger-bi.json'));
    const taggerParams = modelParameters(tagger.net).params;
    expect(base64Of(taggerParams['embedding.weight'])).toBe(taggerJson.embedding.data);
    for (const p of ['l0.W_x', 'l0.b', 'l0_reverse.W_a']) expect(base64Of(taggerParams[`rnn.${p}`])).toBe(taggerJson.rnn.weights[p].data);
    expect(base64Of(taggerParams['head.W'])).toBe(taggerJson.head.W.data);

    const triggerJson = readJson<LayerFile>('trigger.json');
    const trigger = loadTriggerModel(fixture('trigger.json'));
    const triggerParams = modelParameters(trigger.net).params;
    for (const p of ['l0.W_x', 'l0.W_a', 'l0.b']) expect(base64Of(triggerParams[`rnn.${p}`])).toBe(triggerJson.rnn.weights[p].data);
    expect(base64Of(triggerParams['head.b'])).toBe(triggerJson.head.b.data);
  });
});
