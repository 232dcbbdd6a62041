/**
 * Output folders (`planOutputs({ folders })`, issue 12): a data set directory such as
 * `trigger synth --out DIR` exists or can be created, checked before any work (nothing is created
 * by the check); a file in its place, or a path through a file, fails at once with one line.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { triggerCommand } from '../../../cli/commands/trigger.js';
import { InputError } from '../../../training/core/errors.js';
import { planOutputs } from '../../../training/io/outputs.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-out-folders-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const at = (name: string): string => path.join(dir, name);
const plan = (folder: string): void => planOutputs({ command: 'trigger synth', outputs: {}, folders: { '--out': folder } });

describe('output folders', () => {
  it('an existing folder is fine, and so is a missing one under a folder (the check creates nothing)', () => {
    fs.mkdirSync(at('there'));
    plan(at('there'));
    plan(at('new/deeper/data'));
    expect(fs.existsSync(at('new'))).toBe(false);
  });

  it('a file in its place, a path through a file, an empty name: one InputError each, nothing created', () => {
    fs.writeFileSync(at('file.txt'), 'mine');
    expect(() => plan(at('file.txt'))).toThrow(InputError);
    expect(() => plan(at('file.txt'))).toThrow(/^trigger synth: --out .*file\.txt exists and is not a folder \(a file\)$/);
    expect(() => plan(at('file.txt/sub/deeper'))).toThrow(/^trigger synth: --out .*file\.txt\/sub\/deeper: cannot be created, .*file\.txt is not a folder \(a file\)$/);
    expect(() => plan('')).toThrow(/expected a folder name, got an empty one/);
    expect(fs.readFileSync(at('file.txt'), 'utf8')).toBe('mine');
  });

  it('`trigger synth --out FILE` fails before synthesizing anything', async () => {
    fs.writeFileSync(at('clips'), 'not a folder');
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await expect((async () => triggerCommand.run(['synth', '--out', at('clips'), '--train', '1', '--test', '0']))()).rejects.toThrow(/--out .*clips exists and is not a folder/);
    } finally {
      err.mockRestore();
    }
    expect(fs.readFileSync(at('clips'), 'utf8')).toBe('not a folder');
  });
});
