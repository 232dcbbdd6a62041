/**
 * Every command checks its output paths before any work starts (training/io/outputs.ts): an
 * output that is an input, two outputs on one file, a FIFO, a folder or a missing folder is
 * refused at once with exit 2, and the inputs are left as they were.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gloveCommand } from '../../cli/commands/glove.js';
import { seq2seqCommand } from '../../cli/commands/seq2seq.js';
import { trainCommand } from '../../cli/commands/train.js';
import { word2vecCommand } from '../../cli/commands/word2vec.js';
import { tsneCommand } from '../../cli/commands/embeddings.js';
import { treeCommand } from '../../cli/commands/tree.js';
import { InputError } from '../../training/core/errors.js';
import { runSeqgrad } from './helpers.js';

let dir: string;
const at = (name: string): string => path.join(dir, name);
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-outputs-'));
  fs.writeFileSync(at('corpus.txt'), 'the cat sat on the mat\nthe dog sat on the log\n');
  fs.writeFileSync(at('pairs.tsv'), 'abc\tcba\nxyz\tzyx\n');
  fs.symlinkSync(at('corpus.txt'), at('corpus-link.txt'));
  fs.linkSync(at('corpus.txt'), at('corpus-hard.txt'));
  execFileSync('mkfifo', [at('fifo')]);
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

async function refusal(run: () => Promise<number> | number): Promise<string> {
  try {
    await run();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error('expected the command to refuse');
}

describe('output paths are checked before any work', () => {
  it('train refuses an output that is its corpus (by name, symlink or hard link) and leaves the corpus alone', async () => {
    const before = fs.readFileSync(at('corpus.txt'), 'utf8');
    for (const out of ['corpus.txt', 'corpus-link.txt', 'corpus-hard.txt']) {
      expect(await refusal(() => trainCommand.run(['--data', at('corpus.txt'), '--out', at(out), '--steps', '1']))).toMatch(/--out .* is the same file as --data/);
    }
    expect(await refusal(() => trainCommand.run(['--data', at('corpus.txt'), '--plot', at('corpus-link.txt'), '--out', at('m.json')]))).toMatch(/--plot .* same file as --data/);
    expect(await refusal(() => trainCommand.run(['--data', at('corpus.txt'), '--checkpoint', at('m.json'), '--out', at('m.json')]))).toMatch(/two outputs cannot share a file/);
    expect(fs.readFileSync(at('corpus.txt'), 'utf8')).toBe(before);
    expect(fs.existsSync(at('m.json'))).toBe(false);
  });

  it('train refuses a FIFO, a folder and a missing folder as --out', async () => {
    expect(await refusal(() => trainCommand.run(['--data', at('corpus.txt'), '--out', at('fifo')]))).toMatch(/not a regular file \(a FIFO\)/);
    expect(await refusal(() => trainCommand.run(['--data', at('corpus.txt'), '--out', dir]))).toMatch(/is a folder/);
    expect(await refusal(() => trainCommand.run(['--data', at('corpus.txt'), '--out', at('nodir/m.json')]))).toMatch(/folder .*nodir does not exist/);
    expect(fs.statSync(at('fifo')).isFIFO()).toBe(true);
  });

  it('word2vec, glove, seq2seq train, tsne and tree train refuse to overwrite their inputs', async () => {
    expect(await refusal(() => word2vecCommand.run(['--corpus', at('corpus.txt'), '--out', at('corpus-hard.txt')]))).toMatch(/^word2vec: --out .* same file as --corpus/);
    expect(await refusal(() => gloveCommand.run(['--corpus', at('corpus.txt'), '--out', at('corpus-link.txt')]))).toMatch(/^glove: --out .* same file as --corpus/);
    expect(await refusal(() => seq2seqCommand.run(['train', '--pairs', at('pairs.tsv'), '--out', at('pairs.tsv')]))).toMatch(/^seq2seq train: --out .* same file as --pairs/);
    expect(await refusal(() => seq2seqCommand.run(['train', '--pairs', at('pairs.tsv'), '--plot', at('nodir/c.svg')]))).toMatch(/does not exist/);
    expect(await refusal(() => tsneCommand.run([at('corpus.txt'), '--top', '3', '--plot', at('corpus.txt')]))).toMatch(/^tsne: --plot .* same file as VECTORS/);
    expect(await refusal(() => treeCommand.run(['train', '--train', at('corpus.txt'), '--out', at('corpus.txt')]))).toMatch(/same file as --train/);
    expect(fs.readFileSync(at('pairs.tsv'), 'utf8')).toBe('abc\tcba\nxyz\tzyx\n');
  });

  it('exits 2 with one line and no stack trace, before reading the corpus', async () => {
    const r = await runSeqgrad(['train', '--data', at('corpus.txt'), '--out', at('corpus.txt')]);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^seqgrad train: --out .*corpus\.txt is the same file as --data .*corpus\.txt: refusing to overwrite an input$/);
  });
});
