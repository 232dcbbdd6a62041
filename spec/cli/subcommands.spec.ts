import { afterEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../cli/args.js';
import { runSubcommand } from '../../cli/subcommands.js';

describe('runSubcommand', () => {
  afterEach(() => vi.restoreAllMocks());
  const calls: string[][] = [];
  const subcommands = {
    train: (argv: string[]) => { calls.push(argv); return 0; },
    eval: async () => 1,
  };

  it('hands the rest of argv to the named sub-command and returns its exit code', async () => {
    expect(runSubcommand('tree', ['train', '--dim', '4'], subcommands, 'overview')).toBe(0);
    expect(calls.at(-1)).toEqual(['--dim', '4']);
    expect(await runSubcommand('tree', ['eval'], subcommands, 'overview')).toBe(1);
  });

  it('prints the overview: exit 2 without a sub-command, 0 when help is asked for', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    expect(runSubcommand('tree', [], subcommands, 'usage: seqgrad tree …')).toBe(2);
    for (const help of ['--help', '-h', 'help']) expect(runSubcommand('tree', [help], subcommands, 'usage: seqgrad tree …')).toBe(0);
    expect(log.mock.calls).toEqual(Array.from({ length: 4 }, () => ['usage: seqgrad tree …']));
  });

  it('refuses an unknown name (inherited object keys included) with a UsageError listing the known ones', () => {
    for (const name of ['trian', 'constructor', 'toString']) {
      expect(() => runSubcommand('tree', [name], subcommands, '')).toThrow(UsageError);
      expect(() => runSubcommand('tree', [name], subcommands, '')).toThrow(`tree: unknown sub-command '${name}' (one of: train, eval)`);
    }
  });
});
