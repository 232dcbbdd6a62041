import { describe, expect, it, vi } from 'vitest';
import { UsageError, deprecated, parseArgs, parseDecimalInt, positiveNumber, type FlagSpec } from '../../cli/args.js';

const spec: Record<string, FlagSpec> = {
  hidden: { type: 'int', description: 'H', min: 1, default: 8 },
  steps: { type: 'int', description: 'steps', min: 0 },
  seed: { type: 'int', description: 'seed' },
  lr: { type: 'number', description: 'η' },
};

function usageError(argv: string[]): string {
  try {
    parseArgs('train', argv, spec);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`expected a UsageError for ${argv.join(' ')}`);
}

describe('integer flags', () => {
  it('take decimal digits only, with an optional minus sign', () => {
    expect(parseArgs('train', ['--hidden', '16', '--seed=-3', '--steps', '007'], spec).flags).toMatchObject({ hidden: 16, seed: -3, steps: 7 });
    expect(usageError(['--hidden', '0x10'])).toBe("train: --hidden expects an integer, got '0x10'");
    expect(usageError(['--hidden', ''])).toBe("train: --hidden expects an integer, got ''");
    expect(usageError(['--hidden='])).toBe("train: --hidden expects an integer, got ''");
    for (const bad of ['1e3', '2.0', ' 5', '+5', '0b11', 'Infinity', '9007199254740993']) {
      expect(usageError(['--seed', bad])).toBe(`train: --seed expects an integer, got '${bad}'`);
    }
  });

  it('check the lower bound `min` of their spec, and only that of flags that were given', () => {
    expect(usageError(['--hidden', '0'])).toBe('train: --hidden expects an integer ≥ 1, got 0');
    expect(usageError(['--steps', '-1'])).toBe('train: --steps expects an integer ≥ 0, got -1');
    expect(parseArgs('train', ['--steps', '0'], spec).flags).toEqual({ hidden: 8, steps: 0 });
  });
});

describe('parseDecimalInt', () => {
  it('is the number for decimal integers and null for anything else', () => {
    expect([parseDecimalInt('42'), parseDecimalInt('-0'), parseDecimalInt('0012')]).toEqual([42, -0, 12]);
    for (const text of ['', '-', '4 2', '0x1f', '1e2', '3.', '١٢']) expect(parseDecimalInt(text)).toBeNull();
  });
});

describe('positiveNumber', () => {
  it('accepts an absent flag and positive values; zero only with allowZero', () => {
    expect(() => positiveNumber('train', {}, 'lr')).not.toThrow();
    expect(() => positiveNumber('train', { lr: 0.5 }, 'lr')).not.toThrow();
    expect(() => positiveNumber('train', { lr: 0 }, 'lr')).toThrow('train: --lr expects a number > 0, got 0');
    expect(() => positiveNumber('train', { clip: 0 }, 'clip', true)).not.toThrow();
    expect(() => positiveNumber('train', { clip: -1 }, 'clip', true)).toThrow('train: --clip expects a number ≥ 0, got -1');
  });
});

describe('deprecated flag names', () => {
  const withAliases: Record<string, FlagSpec> = {
    plot: { type: 'string', description: 'SVG' },
    curve: deprecated('plot'),
    bidirectional: { type: 'boolean', description: 'both ways', formerYesNo: true },
    reverse: deprecated('bidirectional'),
  };

  it('parse as the new name, with one notice line per spelling on stderr', () => {
    const errors: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((line: string) => { errors.push(line); });
    try {
      expect(parseArgs('aliases', ['--curve', 'a.svg'], withAliases).flags).toEqual({ plot: 'a.svg' });
      expect(parseArgs('aliases', ['--curve=b.svg'], withAliases).flags).toEqual({ plot: 'b.svg' });
      expect(parseArgs('aliases', ['--no-reverse'], withAliases).flags).toEqual({ bidirectional: false });
      const yesNo = parseArgs('aliases', ['--bidirectional', 'no', 'file.txt'], withAliases);
      expect(yesNo).toEqual({ flags: { bidirectional: false }, positionals: ['file.txt'] });
      expect(parseArgs('aliases', ['--bidirectional', 'file.txt'], withAliases).positionals).toEqual(['file.txt']);
      expect(errors).toEqual([
        'seqgrad aliases: --curve is deprecated, use --plot',
        'seqgrad aliases: --no-reverse is deprecated, use --no-bidirectional',
        'seqgrad aliases: --bidirectional no is deprecated, use --no-bidirectional',
      ]);
    } finally {
      spy.mockRestore();
    }
  });
});
