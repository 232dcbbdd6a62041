/**
 * Every command's --help (and every sub-command's), read in-process: each flag line has its flag (and its
 * argument or choice list) apart from the description by at least two spaces, or alone on its line — a choice
 * list never runs into the description (`…|lstm-peepholerecurrent cell`). And `seqgrad --version` prints the
 * package's version.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { helpText } from '../../cli/args.js';
import type { Command } from '../../cli/command.js';
import { COMMAND_NAMES, loadCommand, loadCommands } from '../../cli/commands/index.js';
import { repoRoot, runSeqgrad } from './helpers.js';

const commands = await loadCommands();

/** What `run(argv)` prints with console.log. */
async function printed(run: () => Promise<number> | number): Promise<string> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => { lines.push(args.join(' ')); });
  try {
    expect(await run()).toBe(0);
  } finally {
    log.mockRestore();
  }
  return lines.join('\n');
}

/** The sub-command names of a dispatcher command (its UsageError lists them). */
async function subcommandsOf(run: (argv: string[]) => Promise<number> | number): Promise<string[]> {
  try {
    await run(['no-such-sub-command', '--help']); // --help: a plain command prints its help and runs nothing
  } catch (err) {
    const m = /unknown sub-command 'no-such-sub-command' \(one of: ([^)]*)\)/.exec((err as Error).message);
    if (m) return m[1].split(', ');
  }
  return [];
}

/** Flag lines whose flag column runs into the description (one space or none between them). */
function runOnFlagLines(help: string): string[] {
  return help.split('\n').filter((line) => line.startsWith('  --') && !/^ {2}--\S+( \S+)?( {2,}\S|$)/.test(line));
}

describe('--help of every command', () => {
  afterEach(() => { vi.restoreAllMocks(); });

  it('the command index names every command (known before any is loaded) in the order of the loaded ones; one loads alone', async () => {
    expect(commands.map((c) => c.name)).toEqual(COMMAND_NAMES);
    expect(COMMAND_NAMES).toContain('sample');
    expect((await loadCommand('tsne'))?.name).toBe('tsne');
    expect(await loadCommand('no-such-command')).toBeNull();
  });

  it('the formatter puts a long choice list on its own line', () => {
    const help = helpText('x', 'y', { cell: { type: 'string', description: 'recurrent cell', choices: ['rnn', 'gru', 'gru-simple', 'lstm-peephole'], default: 'lstm' } });
    expect(help).toContain('  --cell rnn|gru|gru-simple|lstm-peephole\n');
    expect(help).toMatch(/\n {34}recurrent cell \(default lstm\)/);
    expect(runOnFlagLines('  --cell rnn|lstm-peepholerecurrent cell')).toHaveLength(1); // the check can fail
  });

  it('never runs a flag into its description, in any command or sub-command', async () => {
    let read = 0;
    for (const command of commands) {
      const overview = await printed(() => command.run(['--help']));
      // Every dispatcher (seq2seq, sentiment, tree, trigger, tagger) names its sub-commands on an unknown one.
      const subs = await subcommandsOf((argv) => command.run(argv));
      if (overview.includes('<sub-command>')) expect(subs.length, `seqgrad ${command.name}`).toBeGreaterThan(1);
      const argvs = subs.length > 0 ? subs.map((s) => [s, '--help']) : [['--help']];
      for (const argv of argvs) {
        const help = await printed(() => command.run(argv));
        expect(help, `seqgrad ${command.name} ${argv.join(' ')}`).toMatch(/^usage: /);
        expect(runOnFlagLines(help), `seqgrad ${command.name} ${argv.join(' ')}`).toEqual([]);
        read++;
      }
    }
    expect(read).toBeGreaterThan(commands.length + 10);
  });
});

describe('defaults a newcomer meets', () => {
  it('word2vec runs 5 epochs (as word2vec.c and gensim); word2vec and glove write different files', async () => {
    const help = async (name: string) => printed(() => (commands.find((c) => c.name === name) as Command).run(['--help']));
    const defaultOf = (text: string, flag: string) => new RegExp(`^ {2}--${flag} .*\\(default ([^)]+)\\)$`, 'm').exec(text)?.[1];
    const [word2vec, glove] = [await help('word2vec'), await help('glove')];
    expect(defaultOf(word2vec, 'epochs')).toBe('5');
    const outs = [defaultOf(word2vec, 'out'), defaultOf(glove, 'out')];
    expect(outs[0]).toBeDefined();
    expect(outs[1]).toBeDefined();
    expect(outs[0]).not.toBe(outs[1]);
  });
});

describe('seqgrad --version', () => {
  it("prints package.json's version", async () => {
    const { version } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const run = await runSeqgrad(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(version);
  });
});
