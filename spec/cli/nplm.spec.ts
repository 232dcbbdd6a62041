import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { loadCommands } from '../../cli/commands/index.js';
import { nplmCommand } from '../../cli/commands/nplm.js';

const commands = await loadCommands();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-nplm-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

describe('seqgrad nplm', () => {
  // A 13-word cycle, 3000 words: the previous two words determine the next.
  const words = 'the cat sat on a mat and dog ran to big red house'.split(' ');
  const corpus = path.join(dir, 'cycle.txt');
  fs.writeFileSync(corpus, `${Array.from({ length: 3000 }, (_, i) => words[i % 13]).join(' ')}\n`);

  it('trains, reports the validation perplexity after every epoch and writes E', async () => {
    expect(commands.map((c) => c.name)).toContain('nplm');
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
    const out = path.join(dir, 'e.txt');
    const code = await nplmCommand.run(['--corpus', corpus, '--context', '2', '--epochs', '3', '--lr', '0.5', '--out', out, '--json']);
    expect(code).toBe(0);
    const summary = JSON.parse(lines.join('\n'));
    expect(summary.validationWords).toBe(300); // the last 10 % of the one document
    expect(summary.trainWords).toBe(2700);
    expect(summary.epochs).toHaveLength(3);
    expect(summary.validation.words).toBe(298); // its first 2 words are context only
    expect(summary.validation.perplexity).toBeLessThan(1.1);
    expect(summary.epochs[0].validation.perplexity).toBeGreaterThan(summary.validation.perplexity);
    expect(fs.readFileSync(out, 'utf8').split('\n')[0]).toBe('14 30'); // 13 words + <UNK>, m = 30
  });

  it('scores a run stopped inside an epoch where it stopped, and refuses a bad --val-fraction in one line', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
    expect(await nplmCommand.run(['--corpus', corpus, '--context', '2', '--time-limit', '1e-9', '--out', path.join(dir, 'f.txt'), '--json'])).toBe(0);
    const summary = JSON.parse(lines.join('\n'));
    expect(summary.stopReason).toBe('time-limit');
    expect(summary.epochs).toEqual([]);
    expect(summary.validation.words).toBe(298);
    await expect(async () => nplmCommand.run(['--corpus', corpus, '--val-fraction', '1'])).rejects.toThrow(/^nplm: --val-fraction expects a number in \[0, 1\), got 1$/);
  });
});
