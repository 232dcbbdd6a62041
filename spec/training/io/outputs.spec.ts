import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InputError } from '../../../training/core/errors.js';
import { writeFileAtomic } from '../../../training/io/files.js';
import { planOutputs } from '../../../training/io/outputs.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-out-'));
});
afterEach(() => {
  fs.chmodSync(dir, 0o755);
  fs.rmSync(dir, { recursive: true, force: true });
});

const at = (name: string): string => path.join(dir, name);
function thrown(fn: () => void): InputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error('expected an InputError');
}

describe('planOutputs', () => {
  it('refuses an output that is an input: same path, a symlink to it, a hard link to it', () => {
    fs.writeFileSync(at('corpus.txt'), 'the corpus');
    fs.symlinkSync(at('corpus.txt'), at('link.txt'));
    fs.linkSync(at('corpus.txt'), at('hard.txt'));
    for (const out of ['corpus.txt', 'link.txt', 'hard.txt', './corpus.txt']) {
      const err = thrown(() => planOutputs({ command: 'train', inputs: { '--data': at('corpus.txt') }, outputs: { '--out': path.join(dir, out) } }));
      expect(err.message).toMatch(/^train: --out .* is the same file as --data .*corpus\.txt: refusing to overwrite an input$/);
    }
    // the input is reached through a symlink too
    const err = thrown(() => planOutputs({ command: 'train', inputs: { '--data': at('link.txt') }, outputs: { '--out': at('hard.txt') } }));
    expect(err.message).toMatch(/same file as --data/);
    expect(fs.readFileSync(at('corpus.txt'), 'utf8')).toBe('the corpus');
  });

  it('refuses two outputs that are one file, also when neither exists yet', () => {
    const err = thrown(() => planOutputs({ command: 'train', outputs: { '--out': at('m.json'), '--checkpoint': path.join(dir, '.', 'm.json') } }));
    expect(err.message).toMatch(/--checkpoint .* is the same file as --out .*m\.json: two outputs cannot share a file/);
    fs.writeFileSync(at('m.json'), 'old');
    fs.symlinkSync(at('m.json'), at('ck.json'));
    expect(thrown(() => planOutputs({ command: 'train', outputs: { '--out': at('m.json'), '--checkpoint': at('ck.json') } })).message).toMatch(/two outputs/);
  });

  it('refuses an existing output that is not a regular file (a FIFO, a folder) and a dangling symlink', () => {
    execFileSync('mkfifo', [at('fifo')]);
    expect(thrown(() => planOutputs({ command: 'x', outputs: { '--out': at('fifo') } })).message).toMatch(/--out .*fifo exists and is not a regular file \(a FIFO\)/);
    fs.mkdirSync(at('sub'));
    expect(thrown(() => planOutputs({ command: 'x', outputs: { '--out': at('sub') } })).message).toMatch(/--out .*sub is a folder, expected a file/);
    expect(thrown(() => planOutputs({ command: 'x', outputs: { '--out': '.' } })).message).toMatch(/is a folder/);
    expect(thrown(() => planOutputs({ command: 'x', outputs: { '--out': `${at('sub')}/` } })).message).toMatch(/names a folder/);
    fs.symlinkSync(at('nowhere.json'), at('dangling.json'));
    expect(thrown(() => planOutputs({ command: 'x', outputs: { '--out': at('dangling.json') } })).message).toMatch(/symlink to a missing file/);
    expect(fs.statSync(at('fifo')).isFIFO()).toBe(true);
  });

  it('refuses an output whose folder does not exist or is not a folder, and creates it when asked', () => {
    const err = thrown(() => planOutputs({ command: 'train', outputs: { '--out': at('nodir/m.json') } }));
    expect(err.message).toMatch(/^train: --out .*nodir\/m\.json: folder .*nodir does not exist$/);
    expect(err.code).toBe('ENOENT');
    fs.writeFileSync(at('file'), '');
    expect(thrown(() => planOutputs({ command: 'x', outputs: { '--out': at('file/m.json') } })).message).toMatch(/is not a folder/);
    planOutputs({ command: 'x', outputs: { '--out': at('made/deep/m.json') }, createParents: true });
    expect(fs.statSync(at('made/deep')).isDirectory()).toBe(true);
    expect(fs.existsSync(at('made/deep/m.json'))).toBe(false);
  });

  it('refuses an output in a folder it cannot write (unless root, who can)', () => {
    fs.mkdirSync(at('ro'));
    fs.chmodSync(at('ro'), 0o555);
    const isRoot = process.getuid?.() === 0;
    if (isRoot) planOutputs({ command: 'x', outputs: { '--out': at('ro/m.json') } });
    else expect(thrown(() => planOutputs({ command: 'x', outputs: { '--out': at('ro/m.json') } })).message).toMatch(/folder .*ro is not writable/);
    fs.chmodSync(at('ro'), 0o755);
  });

  it('accepts distinct new and existing regular outputs, and ignores missing inputs', () => {
    fs.writeFileSync(at('old.json'), 'old');
    planOutputs({ command: 'x', inputs: { '--data': at('missing.txt'), '--model': undefined }, outputs: { '--out': at('old.json'), '--curve': at('c.svg'), '--plot': undefined } });
    expect(fs.readFileSync(at('old.json'), 'utf8')).toBe('old');
  });
});

describe('writeFileAtomic on hostile targets', () => {
  it('writes through a symlink to its target and keeps the target mode', () => {
    fs.writeFileSync(at('real.json'), 'old');
    fs.chmodSync(at('real.json'), 0o640);
    fs.symlinkSync('real.json', at('link.json'));
    writeFileAtomic(at('link.json'), 'new');
    expect(fs.lstatSync(at('link.json')).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(at('real.json'), 'utf8')).toBe('new');
    expect(fs.statSync(at('real.json')).mode & 0o777).toBe(0o640);
  });

  it('refuses to replace a FIFO', () => {
    execFileSync('mkfifo', [at('fifo')]);
    const err = thrown(() => writeFileAtomic(at('fifo'), 'x'));
    expect(err.message).toMatch(/writeFileAtomic: could not write .*fifo exists and is not a regular file/);
    expect(fs.statSync(at('fifo')).isFIFO()).toBe(true);
  });

  it('names the user path (not the temporary one) and keeps the error code', () => {
    const err = thrown(() => writeFileAtomic(at('missing/x.json'), 'x'));
    expect(err.code).toBe('ENOENT');
    expect(err.message).toMatch(/could not write .*missing\/x\.json/);
    expect(err.message).not.toMatch(/\.tmp-/);
  });

  it('removes stale temporary files of the same target whose process is dead, and no others', () => {
    // a pid that is surely dead: a child that has exited
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const stale = `m.json.tmp-${dead}-3`;
    const live = `m.json.tmp-${process.ppid}-0`; // our parent runs
    for (const name of [stale, live, `other.json.tmp-${dead}-0`]) fs.writeFileSync(at(name), 'partial');
    writeFileAtomic(at('m.json'), 'ok');
    expect(fs.readdirSync(dir).sort()).toEqual([live, 'm.json', `other.json.tmp-${dead}-0`].sort());
  });
});
