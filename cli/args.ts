/**
 * A small flag parser for the `seqgrad` commands: `--name value`, `--name=value`, boolean
 * `--flag`/`--no-flag`, and positionals. Unknown flags and bad values raise a UsageError,
 * which the CLI prints as one line and exits with code 2. An 'int' flag takes decimal digits
 * only (`--hidden 0x10`, `--hidden 1e3` and `--hidden ""` are refused) and, with `min` in its
 * spec, checks the lower bound — the one place the commands' integer flags are checked.
 *
 * One flag vocabulary for every command (the README's table; spec/cli/flag-vocabulary.spec.ts
 * enforces it): a former name stays as a `deprecated(...)` alias, parsed as its new name after
 * one notice line on stderr, and hidden from --help.
 */

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type FlagType = 'string' | 'number' | 'int' | 'boolean' | 'list';

export interface FlagSpec {
  type: FlagType;
  description: string;
  default?: string | number | boolean | string[];
  /** Allowed values for a string flag. */
  choices?: string[];
  /** Smallest value an 'int' flag accepts (absent: any integer). */
  min?: number;
  /** A deprecated name of the flag `aliasOf` (built by `deprecated`): parsed as that flag, after a notice. */
  aliasOf?: string;
  /** A boolean that once took `yes|no` as a separate argument: `--flag yes` still works, after a notice. */
  formerYesNo?: boolean;
}

/** A former flag name, kept so old command lines still run: parsed as `--${newName}` after one notice on stderr. */
export function deprecated(newName: string): FlagSpec {
  return { type: 'string', description: '', aliasOf: newName };
}

/** Notices already printed in this process: each deprecated spelling is announced once. */
const noticed = new Set<string>();

/** One line on stderr telling that `old` is deprecated in favour of `now` (once per process and spelling). */
export function deprecationNotice(command: string, old: string, now: string): void {
  const line = `seqgrad ${command}: ${old} is deprecated, use ${now}`;
  if (noticed.has(line)) return;
  noticed.add(line);
  console.error(line);
}

export type FlagValues = Record<string, string | number | boolean | string[] | undefined>;

export interface ParsedArgs {
  flags: FlagValues;
  positionals: string[];
}

export function parseArgs(command: string, argv: string[], spec: Record<string, FlagSpec>): ParsedArgs {
  const flags: FlagValues = {};
  const positionals: string[] = [];
  for (const [name, s] of Object.entries(spec)) if (s.default !== undefined) flags[name] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--') || arg === '--') {
      if (arg !== '--') positionals.push(arg);
      else positionals.push(...argv.slice(i + 1)), (i = argv.length);
      continue;
    }
    let name = arg.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const negated = !spec[name] && name.startsWith('no-');
    const alias = spec[negated ? name.slice(3) : name]?.aliasOf;
    if (alias !== undefined) {
      deprecationNotice(command, `--${name}`, `--${negated ? 'no-' : ''}${alias}`);
      name = negated ? `no-${alias}` : alias;
    }
    const s = spec[name];
    if (!s && name.startsWith('no-') && spec[name.slice(3)]?.type === 'boolean' && value === undefined) {
      flags[name.slice(3)] = false;
      continue;
    }
    if (!s) {
      throw new UsageError(`${command}: unknown flag --${name} (see 'seqgrad ${command} --help')`);
    }
    if (s.type === 'boolean') {
      if (value === undefined && s.formerYesNo && /^(yes|no)$/.test(argv[i + 1] ?? '')) {
        value = argv[++i];
        deprecationNotice(command, `--${name} ${value}`, value === 'yes' ? `--${name}` : `--no-${name}`);
      }
      if (value === undefined) flags[name] = true;
      else if (value === 'true' || value === 'yes') flags[name] = true;
      else if (value === 'false' || value === 'no') flags[name] = false;
      else throw new UsageError(`${command}: --${name} expects yes/no, got '${value}'`);
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`${command}: --${name} expects a value`);
    }
    flags[name] = convert(command, name, s, value, flags[name]);
  }
  return { flags, positionals };
}

function convert(command: string, name: string, s: FlagSpec, value: string, previous: unknown): string | number | string[] {
  switch (s.type) {
    case 'number': {
      const v = Number(value);
      if (value.trim() === '' || !Number.isFinite(v)) throw new UsageError(`${command}: --${name} expects a number, got '${value}'`);
      return v;
    }
    case 'int': {
      // Decimal digits only: Number() would also take '0x10', '1e3' and '' (as 0).
      const v = parseDecimalInt(value);
      if (v === null) throw new UsageError(`${command}: --${name} expects an integer, got '${value}'`);
      if (s.min !== undefined && v < s.min) throw new UsageError(`${command}: --${name} expects an integer ≥ ${s.min}, got ${v}`);
      return v;
    }
    case 'list': {
      const items = value.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
      const before = Array.isArray(previous) && previous !== s.default ? previous : [];
      return [...before, ...items];
    }
    default:
      if (s.choices && !s.choices.includes(value)) {
        throw new UsageError(`${command}: --${name} expects one of ${s.choices.join('|')}, got '${value}'`);
      }
      return value;
  }
}

/** `text` as an integer when it is one in decimal digits (an optional minus sign first), else null. */
export function parseDecimalInt(text: string): number | null {
  if (!/^-?\d+$/.test(text)) return null;
  const v = Number(text);
  return Number.isSafeInteger(v) ? v : null;
}

/** Where flag descriptions start in --help (a flag and its argument longer than this get their own line). */
const HELP_COLUMN = 34;

/**
 * The --help text of a command from its flag spec: a boolean shows as `--[no-]name` (both forms
 * work), deprecated aliases are not listed; `notes` (e.g. what the progress columns mean) come last.
 */
export function helpText(usage: string, summary: string, spec: Record<string, FlagSpec>, notes?: string): string {
  const lines = [`usage: ${usage}`, '', summary, ''];
  const entries = Object.entries(spec).filter(([name, s]) => name !== 'help' && s.aliasOf === undefined);
  if (entries.length > 0) lines.push('flags:');
  for (const [name, s] of entries) {
    const arg = s.type === 'boolean' ? '' : s.choices ? ` ${s.choices.join('|')}` : ` ${s.type === 'list' ? 'a,b,…' : s.type.toUpperCase()}`;
    const shown = s.default === true ? 'yes' : Array.isArray(s.default) ? s.default.join(',') : s.default;
    const def = s.default !== undefined && s.default !== false ? ` (default ${shown})` : '';
    const head = `  --${s.type === 'boolean' ? '[no-]' : ''}${name}${arg}`;
    // A long choice list gets a line of its own: a description never runs into it.
    if (head.length > HELP_COLUMN - 2) lines.push(head, ' '.repeat(HELP_COLUMN) + `${s.description}${def}`);
    else lines.push(head.padEnd(HELP_COLUMN) + `${s.description}${def}`);
  }
  lines.push('  --help'.padEnd(HELP_COLUMN) + 'show this help');
  if (notes) lines.push('', notes);
  return lines.join('\n');
}

/** Print a command's --help text; returns the exit code 0. */
export function printHelp(usage: string, summary: string, spec: Record<string, FlagSpec>, notes?: string): number {
  console.log(helpText(usage, summary, spec, notes));
  return 0;
}

/** Throws a UsageError unless the number flag `name`, when given, is > 0 (≥ 0 with allowZero). */
export function positiveNumber(command: string, flags: FlagValues, name: string, allowZero = false): void {
  const v = flags[name] as number | undefined;
  if (v !== undefined && !(allowZero ? v >= 0 : v > 0)) {
    throw new UsageError(`${command}: --${name} expects a number ${allowZero ? '≥' : '>'} 0, got ${v}`);
  }
}

export function str(flags: FlagValues, name: string): string {
  return flags[name] as string;
}
export function num(flags: FlagValues, name: string): number {
  return flags[name] as number;
}
export function bool(flags: FlagValues, name: string): boolean {
  return flags[name] === true;
}

/**
 * A resumed run takes its model and optimisation settings from the checkpoint: a flag given on
 * the command line (not a default) whose value differs from the checkpoint's is an error, not
 * silently ignored. `saved` maps flag names to the checkpoint's values.
 */
export function checkResumeConflicts(command: string, argv: string[], flags: FlagValues, saved: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(saved)) {
    const given = argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`) || a === `--no-${name}`);
    if (!given || value === undefined) continue;
    const mine = flags[name] === undefined ? false : flags[name];
    if (mine !== value) {
      throw new UsageError(
        `${command}: --${name} ${String(mine)} conflicts with the checkpoint's ${String(value)} (a resumed run keeps its model and optimisation settings: drop the flag)`,
      );
    }
  }
}
