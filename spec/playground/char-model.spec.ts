import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EOS } from '../../training/text/vocab.js';
import { languageModelFromJSON } from '../../training/lm/model.js';
import { prepareLmCorpus } from '../../training/lm/train.js';
import { sampleText } from '../../training/lm/use.js';
import { CharModelSession, charCorpusTokens } from '../../playground/char-model.js';

const DINOS = readFileSync(new URL('../../data/dinos.txt', import.meta.url), 'utf8');

describe('the playground\'s character model', () => {
  it('reads text as the CLI does for --level char: lines of characters, each ended by <EOS>', () => {
    expect(charCorpusTokens('ab\r\n\nc\n')).toEqual(['a', 'b', EOS, 'c', EOS]);
    // Same vocabulary (ids and order) and same split as `seqgrad train --level char`.
    const page = new CharModelSession(charCorpusTokens(DINOS), { cell: 'gru', hidden: 8, seqLen: 8, batch: 4, lr: 0.01 });
    const cli = prepareLmCorpus(DINOS, { level: 'char', valFraction: 0.1 });
    expect(page.model.vocab.toJSON()).toEqual(cli.vocab.toJSON());
    expect(Array.from(page.validation)).toEqual(Array.from(cli.validation));
  });

  it('learns the dinosaur names: 150 steps take the loss well below ln V (uniform guessing)', () => {
    const s = new CharModelSession(charCorpusTokens(DINOS), { cell: 'lstm', hidden: 32, seqLen: 12, batch: 8, lr: 0.01 });
    const uniform = Math.log(s.model.vocab.size);
    const before = s.validationLoss()!;
    expect(before).toBeGreaterThan(uniform - 0.3);
    for (let i = 0; i < 150; i++) s.step();
    expect(s.steps).toBe(150);
    expect(s.validationLoss()!).toBeLessThan(uniform - 0.6);
  });

  it('saves the CLI\'s model file: it loads back with the same weights and samples the same text', () => {
    const s = new CharModelSession(charCorpusTokens('abc\nbca\ncab\n'.repeat(20)), { cell: 'rnn', hidden: 4, seqLen: 4, batch: 2, lr: 0.01 });
    for (let i = 0; i < 5; i++) s.step();
    const json = JSON.parse(s.toJSON('toy'));
    expect(json.kind).toBe('seqgrad.language-model');
    expect(json.training).toMatchObject({ corpus: 'toy', steps: 5 });
    const loaded = languageModelFromJSON(json, 'toy model');
    const a = sampleText(s.model, { count: 3, seed: 9 }).map((x) => x.text);
    const b = sampleText(loaded, { count: 3, seed: 9 }).map((x) => x.text);
    expect(b).toEqual(a);
  });

  it('refuses a text too short for T, naming what it needs', () => {
    expect(() => new CharModelSession(charCorpusTokens('ab\n'), { cell: 'rnn', hidden: 4, seqLen: 16, batch: 2, lr: 0.01 }))
      .toThrow(/training text: expected at least 18 characters for T = 16 .* got 3/);
  });
});
