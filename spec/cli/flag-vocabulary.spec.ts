/**
 * One flag vocabulary (README "One flag vocabulary"): every command's --help (and every sub-command's) is read
 * in-process and held to the table — no former synonym is listed, every boolean shows its --no- form, a picture
 * is `--plot`, a model read is `--model`, a file written is `--out`, `--clip` comes with `--clip-mode`, `--json`
 * takes no file, a `--cell` name has one meaning. The former names still parse, each with one notice on stderr.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Command } from '../../cli/command.js';
import { loadCommands } from '../../cli/commands/index.js';
import { CELL_KINDS } from '../../layers/cells/create-cell.js';
import { repoRoot } from './helpers.js';

const commands = await loadCommands();

interface FlagLine {
  help: string;
  name: string;
  boolean: boolean;
  negatable: boolean;
  arg: string;
  description: string;
}

/** What `run()` prints with console.log (and whether it returned 0). */
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

/** The sub-command names of a dispatcher command (its UsageError lists them), [] for a plain command. */
async function subcommandsOf(command: Command): Promise<string[]> {
  try {
    await printed(() => command.run(['no-such-sub-command', '--help'])); // --help: a plain command runs nothing
  } catch (err) {
    const m = /unknown sub-command 'no-such-sub-command' \(one of: ([^)]*)\)/.exec((err as Error).message);
    if (m) return m[1].split(', ');
  }
  return [];
}

/** Every flag of a help text; a description on the line after a long flag head belongs to it. */
function flagLines(help: string, where: string): FlagLine[] {
  const lines = help.split('\n');
  const flags: FlagLine[] = [];
  lines.forEach((line, i) => {
    const m = /^ {2}--(\[no-\])?([a-z0-9-]+)(?: (\S+))?(?: {2,}(.*))?$/.exec(line);
    if (!m || m[2] === 'help') return;
    const description = m[4] ?? (lines[i + 1] ?? '').trim();
    flags.push({ help: where, name: m[2], negatable: m[1] !== undefined, boolean: m[3] === undefined, arg: m[3] ?? '', description });
  });
  return flags;
}

/** Every help text: `seqgrad NAME --help`, and `seqgrad NAME SUB --help` of every sub-command. */
const helps: { where: string; text: string }[] = [];
const flags: FlagLine[] = [];

beforeAll(async () => {
  for (const command of commands) {
    const subs = await subcommandsOf(command);
    const argvs = subs.length > 0 ? subs.map((s) => [s, '--help']) : [['--help']];
    for (const argv of argvs) {
      const where = `seqgrad ${command.name} ${argv.join(' ')}`;
      const text = await printed(() => command.run(argv));
      helps.push({ where, text });
      flags.push(...flagLines(text, where));
    }
  }
}, 60_000);

/** The README's vocabulary table: its rows' flag and former-name cells. */
function readmeTable(): { flag: string; former: string }[] {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('### One flag vocabulary');
  expect(start).toBeGreaterThan(0);
  // the table's rows: from the heading to the first line after the table (later tables are not it)
  const lines = readme.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const end = lines.findIndex((l, i) => i > first && !l.startsWith('|'));
  const rows = lines.slice(first, end).filter((l) => l.startsWith('| `'));
  return rows.map((row) => {
    const cells = row.split(/(?<!\\)\|/).map((c) => c.trim());
    return { flag: cells[1], former: cells[4] };
  });
}

/** Flag names no help may list: the table's former names (now aliases). */
const FORMER = ['in', 'curve', 'curve-x', 'clip-norm', 'dim', 'model-out', 'no-eos'];

describe('the flag vocabulary', () => {
  afterEach(() => { vi.restoreAllMocks(); });

  it('reads every command and sub-command', () => {
    expect(helps.length).toBeGreaterThan(commands.length + 10);
    expect(helps.some((h) => h.where === 'seqgrad sentiment eval --help')).toBe(true);
    expect(helps.some((h) => h.where === 'seqgrad tagger train --help')).toBe(true);
    expect(flags.length).toBeGreaterThan(200);
  });

  it('the README table names every flag of the vocabulary and the former names are the ones refused here', () => {
    const table = readmeTable();
    const names = table.map((r) => /^`--(\[no-\])?([a-z-]+|FLAG)/.exec(r.flag)?.[2]);
    for (const name of ['model', 'out', 'plot', 'clip', 'clip-mode', 'embedding', 'cell', 'json', 'json-file', 'threads', 'version']) {
      expect(names, `README table row --${name}`).toContain(name);
    }
    const formerInTable = table.flatMap((r) => [...r.former.matchAll(/`--([a-z-]+)/g)].map((m) => m[1]));
    for (const name of FORMER) expect(formerInTable, `README former name --${name}`).toContain(name);
  });

  it('lists no former synonym', () => {
    expect(flags.filter((f) => FORMER.includes(f.name)).map((f) => `${f.help}: --${f.name}`)).toEqual([]);
  });

  it('shows every boolean as --[no-]name (both forms work), and only booleans', () => {
    const wrong = flags.filter((f) => f.boolean !== f.negatable).map((f) => `${f.help}: --${f.name}`);
    expect(wrong).toEqual([]);
    expect(flags.filter((f) => f.boolean).length).toBeGreaterThan(30);
  });

  it('names a picture --plot, a model read --model, a file written --out (or --checkpoint, --json-file)', () => {
    const file = (f: FlagLine) => f.arg === 'STRING' || f.arg === 'a,b,…';
    const pictures = flags.filter((f) => file(f) && /\bSVG\b/.test(f.description) && f.name !== 'plot');
    expect(pictures.map((f) => `${f.help}: --${f.name} (${f.description})`)).toEqual([]);
    const models = flags.filter((f) => file(f) && /\bmodel files?\b|\ba model (file|written)\b/.test(f.description) && !/\b(write|save)\b/.test(f.description));
    expect(models.filter((f) => f.name !== 'model').map((f) => `${f.help}: --${f.name}`)).toEqual([]);
    expect(models.length).toBeGreaterThan(10);
    const written = flags.filter((f) => file(f) && /\b(write|save)\b/.test(f.description) && !/\bSVG\b/.test(f.description));
    expect(written.filter((f) => !['out', 'checkpoint', 'json-file'].includes(f.name)).map((f) => `${f.help}: --${f.name}`)).toEqual([]);
    expect(flags.filter((f) => f.name === 'plot').length).toBeGreaterThanOrEqual(8);
  });

  it('gives --clip a --clip-mode, --json no file, and an embedding size the name --embedding', () => {
    for (const h of helps) {
      const names = flagLines(h.text, h.where).map((f) => f.name);
      if (names.includes('clip')) expect(names, h.where).toContain('clip-mode');
    }
    expect(flags.filter((f) => f.name === 'json' && !f.boolean).map((f) => f.help)).toEqual([]);
    expect(flags.filter((f) => f.name === 'json').length).toBeGreaterThan(20);
    const sizes = flags.filter((f) => /\b(embedding|vector) size\b/.test(f.description) && f.name !== 'embedding');
    expect(sizes.map((f) => `${f.help}: --${f.name}`)).toEqual([]);
  });

  it('gives every --cell name one meaning: the cells of layers/ (bench included)', () => {
    const known = new Set<string>([...CELL_KINDS, 'all']);
    const cellFlags = flags.filter((f) => f.name === 'cell');
    expect(cellFlags.length).toBeGreaterThanOrEqual(5);
    for (const f of cellFlags) {
      // A choice list is the flag's argument; bench's list flag names its cells in the description.
      const names = f.arg.includes('|') ? f.arg.split('|') : (/\(([a-z|-]+)[;)]/.exec(f.description)?.[1] ?? '').split('|');
      expect(names.length, `${f.help}: --cell`).toBeGreaterThan(1);
      expect(names.filter((n) => !known.has(n)), `${f.help}: --cell`).toEqual([]);
    }
    const bench = cellFlags.find((f) => f.help.startsWith('seqgrad bench'));
    expect(bench?.description).toMatch(/gru-reset-after/);
    expect(bench?.description).not.toMatch(/\bgru\b(?!-)/);
  });

  it('lists --threads as an int on the training commands (bench: a list of counts, one row each)', () => {
    const threads = flags.filter((g) => g.name === 'threads');
    for (const where of ['seqgrad train --help', 'seqgrad glove --help']) expect(threads.map((f) => f.help), where).toContain(where);
    for (const f of threads) expect(f.arg, f.help).toBe(f.help.startsWith('seqgrad bench') ? 'a,b,…' : 'INT');
  });
});

describe('former flag names', () => {
  afterEach(() => { vi.restoreAllMocks(); });

  /** Parse `argv` (a --help run, so nothing runs) and return the deprecation notices printed on stderr. */
  async function notices(name: string, argv: string[]): Promise<string[]> {
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: string) => { errors.push(line); });
    const command = commands.find((c) => c.name === name) as Command;
    await printed(() => command.run([...argv, '--help']));
    return errors;
  }

  it.each([
    ['sentiment', ['eval', '--in', 'm.json'], '--in', '--model'],
    ['sentiment', ['train', '--model', 'lstm'], '--model', '--arch'],
    ['sentiment', ['train', '--dim', '8'], '--dim', '--embedding'],
    ['word2vec', ['--dim', '8'], '--dim', '--embedding'],
    ['glove', ['--dim', '8'], '--dim', '--embedding'],
    ['tree', ['train', '--dim', '8'], '--dim', '--embedding'],
    ['tagger', ['train', '--dim', '8'], '--dim', '--embedding'],
    ['train', ['--curve', 'c.svg'], '--curve', '--plot'],
    ['train', ['--curve-x', 'time'], '--curve-x', '--plot-x'],
    ['train', ['--bidirectional', 'no'], '--bidirectional no', '--no-bidirectional'],
    ['seq2seq', ['train', '--curve', 'c.svg'], '--curve', '--plot'],
    ['seq2seq', ['attend', '--out', 'a.svg'], '--out', '--plot'],
    ['seq2seq', ['length-curve', '--out', 'a.svg'], '--out', '--plot'],
    ['gradflow', ['--out', 'g.svg'], '--out', '--plot'],
    ['tsne', ['--out', 't.svg'], '--out', '--plot'],
    ['trigger', ['train', '--clip-norm', '1'], '--clip-norm', '--clip'],
    ['trigger', ['detect', '--out', 'd.svg'], '--out', '--plot'],
    ['start', ['--model-out', 'm.json'], '--model-out', '--out'],
  ])('seqgrad %s %j still parses, with one notice', async (name, argv, old, now) => {
    const lines = await notices(name, argv);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^seqgrad ${name}( [\\w-]+)?: ${old.replace(/[-]/g, '\\-')} is deprecated, use ${now}\\b`));
  });

  it('a former name that is also a new one elsewhere keeps its meaning per command (score --no-eos)', async () => {
    // --no-eos is now the negation of --[no-]eos: no notice, the same effect.
    expect(await notices('score', ['--no-eos'])).toEqual([]);
  });
});
