/**
 * The one dispatcher of the commands that have sub-commands (`seqgrad seq2seq train`,
 * `seqgrad tree eval`, …). No sub-command prints the command's overview and exits 2; `--help`,
 * `-h` or `help` print it and exit 0; an unknown name is a UsageError listing the known ones.
 */
import { UsageError } from './args.js';

/** A sub-command: parses its own flags (argv after its name) and returns the exit code. */
export type SubcommandRun = (argv: string[]) => Promise<number> | number;

export function runSubcommand(
  command: string, argv: string[], subcommands: Record<string, SubcommandRun>, overview: string,
): Promise<number> | number {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(overview);
    return name === undefined ? 2 : 0;
  }
  if (!Object.hasOwn(subcommands, name)) {
    throw new UsageError(`${command}: unknown sub-command '${name}' (one of: ${Object.keys(subcommands).join(', ')})`);
  }
  return subcommands[name](rest);
}
