/**
 * A small flag parser for the `seqgrad` commands: `--name value`, `--name=value`, boolean
 * `--flag`/`--no-flag`, and positionals. Unknown flags and bad values raise a UsageError,
 * which the CLI prints as one line and exits with code 2.
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
    let s = spec[name];
    if (!s && name.startsWith('no-') && spec[name.slice(3)]?.type === 'boolean' && value === undefined) {
      flags[name.slice(3)] = false;
      continue;
    }
    if (!s) {
      throw new UsageError(`${command}: unknown flag --${name} (see 'seqgrad ${command} --help')`);
    }
    if (s.type === 'boolean') {
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
      const v = Number(value);
      if (!/^[-+]?\d+$/.test(value.trim()) || !Number.isSafeInteger(v)) {
        throw new UsageError(`${command}: --${name} expects a decimal integer, got '${value}'`);
      }
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

/** The --help text of a command from its flag spec. */
export function helpText(usage: string, summary: string, spec: Record<string, FlagSpec>): string {
  const lines = [`usage: ${usage}`, '', summary, ''];
  const entries = Object.entries(spec).filter(([name]) => name !== 'help');
  if (entries.length > 0) lines.push('flags:');
  for (const [name, s] of entries) {
    const arg = s.type === 'boolean' ? '' : s.choices ? ` ${s.choices.join('|')}` : ` ${s.type === 'list' ? 'a,b,…' : s.type.toUpperCase()}`;
    const def = s.default !== undefined && s.default !== false ? ` (default ${Array.isArray(s.default) ? s.default.join(',') : s.default})` : '';
    lines.push(`  --${name}${arg}`.padEnd(34) + `${s.description}${def}`);
  }
  lines.push('  --help'.padEnd(34) + 'show this help');
  return lines.join('\n');
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
