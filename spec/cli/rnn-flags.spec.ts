/**
 * The recurrent trainers' `--dropout` on one layer with `--dropout-mode between` (the default), where it would
 * drop nothing: every trainer exits 2 with one line saying so (the library's InputError), before any work and
 * without writing its output.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSeqgrad } from './helpers.js';

let dir: string;
const at = (name: string): string => path.join(dir, name);
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-rnn-flags-'));
  fs.writeFileSync(at('pairs.tsv'), 'ab\tba\nabc\tcba\n');
  fs.writeFileSync(at('own.tsv'), Array.from({ length: 20 }, (_, i) => `${i % 2 ? 'pos' : 'neg'}\tsentence ${i} is ${i % 2 ? 'good' : 'bad'}`).join('\n'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const inert = (op: string, field: string): RegExp =>
  new RegExp(`${op}: dropout mode 'between' acts only between stacked layers, so dropout 0\\.3 on one layer would do nothing: expected ${field} ≥ 2 or dropout mode 'variational', got ${field} 1$`);

describe('--dropout with --dropout-mode between on one recurrent layer', () => {
  it('train, seq2seq train, sentiment train and tagger train exit 2 with one line, writing nothing', async () => {
    const runs: [string[], RegExp][] = [
      [['train', '--data', 'data/dinos.txt', '--hidden', '4', '--dropout', '0.3', '--out', at('lm.json')], inert('createLanguageModel', 'layers')],
      [['seq2seq', 'train', '--pairs', at('pairs.tsv'), '--hidden', '4', '--dropout', '0.3', '--out', at('s2s.json')], inert('createSeq2Seq', 'encoderLayers')],
      [['sentiment', 'train', '--arch', 'lstm', '--data', at('own.tsv'), '--dropout', '0.3', '--out', at('sentiment.json')], inert('createLstmSentimentModel', 'layers')],
      [['tagger', 'train', '--direction', 'uni', '--train', '20', '--test', '5', '--dropout', '0.3', '--out', at('tagger')], inert('createTagger', 'layers')],
    ];
    const results = await Promise.all(runs.map(([args]) => runSeqgrad(args)));
    results.forEach((r, i) => {
      const [args, message] = runs[i];
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    });
    expect(fs.readdirSync(dir).sort()).toEqual(['own.tsv', 'pairs.tsv']);
  }, 120_000);
});
