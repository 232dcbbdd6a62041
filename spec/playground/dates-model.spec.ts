import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { generateDatePairs } from '../../training/seq2seq/dates.js';
import { loadSeq2Seq } from '../../training/seq2seq/model-file.js';
import { evaluateSeq2Seq } from '../../training/seq2seq/train.js';

const FILE = new URL('../../playground/dates-model.json', import.meta.url);

describe('the dates model the playground ships', () => {
  it('is a seq2seq model file the CLI loads, with attention, at most a few hundred KB', () => {
    expect(statSync(FILE).size).toBeLessThan(400 * 1024);
    const model = loadSeq2Seq(FILE.pathname);
    expect(model.config).toMatchObject({ sourceLevel: 'char', targetLevel: 'char', attention: 'bahdanau', bidirectional: true });
  });

  it('writes fresh dates (a seed it was not trained on) in ISO form', () => {
    const model = loadSeq2Seq(FILE.pathname);
    const pairs = generateDatePairs(60, new Rng(424242));
    const result = evaluateSeq2Seq(model, pairs, { beamWidth: 1 });
    expect(result.exactMatch).toBeGreaterThanOrEqual(0.95);
  });
});
