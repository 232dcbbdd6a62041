/**
 * User errors are InputErrors or UsageErrors (exit 2, one line), never plain Errors (exit 1):
 * integers are decimal, out-of-range counts are named, and a resumed run refuses model flags that
 * contradict its checkpoint instead of ignoring them.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UsageError, parseArgs } from '../../cli/args.js';
import { similarCommand } from '../../cli/commands/embeddings.js';
import { trainCommand } from '../../cli/commands/train.js';
import { word2vecCommand } from '../../cli/commands/word2vec.js';
import { gloveCommand } from '../../cli/commands/glove.js';
import { InputError } from '../../training/core/errors.js';
import { runSeqgrad } from './helpers.js';

let dir: string;
const at = (name: string): string => path.join(dir, name);
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-exit-'));
  fs.writeFileSync(at('words.txt'), 'the cat sat\nthe dog sat\n');
  fs.writeFileSync(at('vectors.txt'), 'king 1 0\nqueen 0.9 0.1\nman 0 1\n');
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The error `run` throws, with console output silenced. */
async function errorOf(run: () => Promise<number> | number): Promise<Error> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await run();
  } catch (e) {
    return e as Error;
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
  throw new Error('expected the command to fail');
}

describe('integer flags are decimal', () => {
  const spec = { hidden: { type: 'int' as const, description: '' } };
  it('accepts decimal integers and rejects hex, exponents, fractions and empty values', () => {
    expect(parseArgs('x', ['--hidden', '16'], spec).flags.hidden).toBe(16);
    expect(parseArgs('x', ['--hidden', '-3'], spec).flags.hidden).toBe(-3);
    for (const bad of ['0x10', '1e3', '1.5', '', ' ', '0b1', '99999999999999999999']) {
      expect(() => parseArgs('x', [`--hidden=${bad}`], spec)).toThrow(UsageError);
      expect(() => parseArgs('x', [`--hidden=${bad}`], spec)).toThrow(`x: --hidden expects an integer, got '${bad}'`);
    }
  });

  it('exits 2 with one line from the command line', async () => {
    const r = await runSeqgrad(['train', '--data', 'data/dinos.txt', '--hidden', '0x10']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("seqgrad train: --hidden expects an integer, got '0x10'");
  });
});

describe('user errors are input errors (exit 2)', () => {
  it('train --max-vocab 1 and an oversized --min-count', async () => {
    const small = await errorOf(() => trainCommand.run(['--data', 'data/dinos.txt', '--max-vocab', '1', '--out', at('m.json')]));
    expect(small).toBeInstanceOf(InputError);
    expect(small.message).toMatch(/maxSize to be an integer ≥ the 2 specials, got 1/);
    const big = await errorOf(() => trainCommand.run(['--data', 'data/dinos.txt', '--min-count', '100000', '--out', at('m.json')]));
    expect(big).toBeInstanceOf(InputError);
    expect(big.message).toMatch(/no token is left besides <EOS> and <UNK> \(minCount 100000/);
    expect(fs.existsSync(at('m.json'))).toBe(false);
  });

  it('similar --k 0, word2vec and glove with a --min-count no word reaches', async () => {
    const k = await errorOf(() => similarCommand.run([at('vectors.txt'), 'king', '--k', '0']));
    expect(k).toBeInstanceOf(InputError);
    expect(k.message).toBe('similar: --k expects an integer ≥ 1, got 0');
    for (const command of [word2vecCommand, gloveCommand]) {
      const e = await errorOf(() => command.run(['--corpus', at('words.txt'), '--min-count', '100', '--out', at('v.txt')]));
      expect(e).toBeInstanceOf(InputError);
      expect(e.message).toMatch(/expected at least 2 words seen ≥ minCount = 100 times, got 0/);
    }
  });
});

describe('--resume', () => {
  it('refuses model and optimisation flags that contradict the checkpoint, accepts the same values', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await trainCommand.run(['--data', 'data/dinos.txt', '--hidden', '8', '--steps', '2', '--backend', 'js', '--checkpoint', at('ck.json'), '--out', at('a.json')])).toBe(0);
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
    const conflict = await errorOf(() => trainCommand.run(['--resume', at('ck.json'), '--hidden', '16', '--steps', '3', '--out', at('b.json')]));
    expect(conflict).toBeInstanceOf(UsageError);
    expect(conflict.message).toBe("train: --hidden 16 conflicts with the checkpoint's 8 (a resumed run keeps its model and optimisation settings: drop the flag)");
    const lr = await errorOf(() => trainCommand.run(['--resume', at('ck.json'), '--lr=0.5', '--steps', '3', '--out', at('b.json')]));
    expect(lr.message).toMatch(/--lr 0\.5 conflicts with the checkpoint's 0\.002/);
    const silent = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const silentErr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await trainCommand.run(['--resume', at('ck.json'), '--hidden', '8', '--steps', '3', '--backend', 'js', '--out', at('b.json')])).toBe(0);
    } finally {
      silent.mockRestore();
      silentErr.mockRestore();
    }
  }, 60_000);
});
