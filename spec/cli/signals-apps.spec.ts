/**
 * Ctrl-C during `sentiment train`, `tagger train`, `trigger train` and `tree train` (issue 12): the
 * CLI is spawned, SIGINT is sent once its progress line shows training under way, and the run
 * must end with exit 130, a complete model file, and a line saying where it was saved.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ESPEAK_MISSING_MESSAGE, hasEspeak } from '../../training/trigger/audio/synth.js';
import { repoRoot, runSeqgradSignalled } from './helpers.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-signals-apps-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const at = (name: string): string => path.join(dir, name);

const interrupted = (args: string[], ready: RegExp) => runSeqgradSignalled(args, ready);

const json = (file: string): Record<string, unknown> => JSON.parse(fs.readFileSync(file, 'utf8'));

describe('SIGINT during the application trainers', () => {
  it('sentiment, tagger and tree train: exit 130, the model saved and named', async () => {
    fs.writeFileSync(at('own.tsv'), Array.from({ length: 60 }, (_, i) => `${i % 2 ? 'pos' : 'neg'}\tsentence number ${i} is ${i % 2 ? 'good' : 'bad'}`).join('\n'));
    const [sentiment, tagger, tree] = await Promise.all([
      interrupted(['sentiment', 'train', '--data', at('own.tsv'), '--epochs', '1000000', '--out', at('sentiment.json')], /epochs/),
      interrupted(['tagger', 'train', '--direction', 'uni', '--train', '200', '--test', '50', '--steps', '1000000', '--out', at('tagger')], /updates/),
      interrupted(['tree', 'train', '--count', '60', '--test-count', '20', '--epochs', '1000000', '--out', at('tree.json')], /batches/),
    ]);
    expect(sentiment.code).toBe(130);
    expect(sentiment.stderr).toMatch(/seqgrad sentiment train: interrupted by SIGINT; saved .*sentiment\.json/);
    expect(json(at('sentiment.json'))).toMatchObject({ kind: 'seqgrad.sentiment', classes: ['neg', 'pos'] });

    expect(tagger.code).toBe(130);
    expect(tagger.stderr).toMatch(/seqgrad tagger train: interrupted by SIGINT after step \d+; saved .*tagger-uni\.json/);
    expect(json(at('tagger-uni.json'))).toMatchObject({ kind: 'seqgrad.model', config: { shape: 'many-to-many' }, tagger: { vocab: { kind: 'seqgrad.vocabulary' } } });

    expect(tree.code).toBe(130);
    expect(tree.stderr).toMatch(/seqgrad tree train: interrupted by SIGINT; saved .*tree\.json/);
    expect(json(at('tree.json'))).toMatchObject({ kind: 'seqgrad.treenet' });
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  }, 180_000);

  const skipNote = hasEspeak() ? '' : ` — skipped: ${ESPEAK_MISSING_MESSAGE}`;
  if (!hasEspeak()) console.warn(`spec/cli/signals-apps: ${ESPEAK_MISSING_MESSAGE}`);
  it.skipIf(!hasEspeak())(`trigger train (a data set synthesized with espeak-ng): exit 130, the model saved and named${skipNote}`, async () => {
    const synth = spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'trigger', 'synth', '--out', at('clips'), '--train', '6', '--test', '2',
      '--seconds', '2', '--variants', '2', '--wavs', '0', '--bands', '16'], { cwd: repoRoot, encoding: 'utf8' });
    expect(synth.status, synth.stderr).toBe(0);
    const trigger = await interrupted(['trigger', 'train', '--data', at('clips'), '--epochs', '1000000', '--hidden', '8', '--out', at('trigger.json'), '--plot', at('trigger.svg')], /batches/);
    expect(trigger.code).toBe(130);
    expect(trigger.stderr).toMatch(/seqgrad trigger train: interrupted by SIGINT after step \d+; saved .*trigger\.json/);
    expect(json(at('trigger.json'))).toMatchObject({ format: 'seqgrad.trigger-model' });
  }, 180_000);
});
