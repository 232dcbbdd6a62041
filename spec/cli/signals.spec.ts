/**
 * Ctrl-C and SIGTERM during training (cli/interrupt.ts): the first signal lets the current step
 * finish, the model and checkpoint are written, the command says where and exits 128 + signal;
 * a second signal aborts at once without leaving a partial or temporary file. The CLI is spawned
 * and real signals are sent once its progress line shows that training is under way.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runSeqgradSignalled } from './helpers.js';

let dir: string;
const at = (name: string): string => path.join(dir, name);
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-signals-'));
  const names = fs.readFileSync(path.join(repoRoot, 'data/dinos.txt'), 'utf8');
  fs.writeFileSync(at('corpus.txt'), names.repeat(20));
  // word2vec/glove: a corpus of made-up words, many epochs, so training is still running when signalled
  const words = Array.from({ length: 200 }, (_, i) => `w${i % 37}x${i % 11}`);
  fs.writeFileSync(at('words.txt'), Array.from({ length: 400 }, (_, i) => words.slice(i % 50, (i % 50) + 40).join(' ')).join('\n'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Spawn `seqgrad args`, send `signals` (ms apart) once stderr contains `ready`, and collect the outcome. */
const signalled = (args: string[], ready: RegExp, signals: NodeJS.Signals[], gapMs = 0) => runSeqgradSignalled(args, ready, signals, gapMs);

const tempFiles = (): string[] => fs.readdirSync(dir).filter((f) => f.includes('.tmp-'));

describe('signals during training', () => {
  it('SIGINT in train and SIGTERM in word2vec and seq2seq train: finish the step, save, say where, exit 130/143', async () => {
    fs.writeFileSync(at('pairs.tsv'), Array.from({ length: 400 }, (_, i) => `${i}abc${i % 7}\t${i % 7}cba${i}`).join('\n'));
    const [train, w2v, s2s] = await Promise.all([
      signalled(['train', '--data', at('corpus.txt'), '--steps', '1000000', '--hidden', '32', '--out', at('lm.json'), '--checkpoint', at('lm-ck.json')], /steps/, ['SIGINT']),
      signalled(['word2vec', '--corpus', at('words.txt'), '--epochs', '100000', '--min-count', '1', '--embedding', '8', '--out', at('vec.txt')], /words/, ['SIGTERM']),
      signalled(['seq2seq', 'train', '--pairs', at('pairs.tsv'), '--steps', '1000000', '--hidden', '16', '--out', at('s2s.json'), '--checkpoint', at('s2s-ck.json')], /steps/, ['SIGTERM']),
    ]);
    expect(train.code).toBe(130);
    expect(train.stderr).toMatch(/seqgrad train: interrupted by SIGINT after step \d+; saved .*lm\.json, .*lm-ck\.json/);
    const model = JSON.parse(fs.readFileSync(at('lm.json'), 'utf8'));
    const checkpoint = JSON.parse(fs.readFileSync(at('lm-ck.json'), 'utf8'));
    expect(checkpoint.position.step).toBeGreaterThan(0);
    expect(checkpoint.position.step).toBeLessThan(1000000);
    expect(model.config.hidden).toBe(32);

    expect(w2v.code).toBe(143);
    expect(w2v.stderr).toMatch(/seqgrad word2vec: interrupted by SIGTERM; saved .*vec\.txt/);
    expect(fs.readFileSync(at('vec.txt'), 'utf8').split('\n')[0]).toMatch(/^\d+ 8$/);

    expect(s2s.code).toBe(143);
    expect(s2s.stderr).toMatch(/interrupted by SIGTERM after step \d+; saved .*s2s\.json, .*s2s-ck\.json/);
    expect(JSON.parse(fs.readFileSync(at('s2s-ck.json'), 'utf8')).trainer.step).toBeGreaterThan(0);
    expect(tempFiles()).toEqual([]);
  }, 120_000);

  it('a second Ctrl-C aborts at once and leaves no partial or temporary file', async () => {
    const r = await signalled(
      ['train', '--data', at('corpus.txt'), '--steps', '1000000', '--hidden', '256', '--out', at('abort.json'), '--checkpoint', at('abort-ck.json'), '--checkpoint-every', '1'],
      /steps/, ['SIGINT', 'SIGINT'], 5,
    );
    expect(r.code).toBe(130);
    expect(tempFiles()).toEqual([]);
    // whatever exists is complete
    for (const f of ['abort.json', 'abort-ck.json']) if (fs.existsSync(at(f))) expect(() => JSON.parse(fs.readFileSync(at(f), 'utf8'))).not.toThrow();
  }, 120_000);
});
