/**
 * The `seqgrad` command. Thin: each sub-command parses its flags and calls the library.
 * Errors print as one line without a stack trace; bad input exits with code 2.
 */
import { readFileSync } from 'node:fs';
import { isInputError } from '../training/core/errors.js';
import { UsageError } from './args.js';
import type { Command } from './command.js';
import { prepareBackends } from './backend.js';
import { COMMAND_NAMES, loadCommand, loadCommands } from './commands/index.js';
import { TRAINING_COMMANDS, reportExitCode, runInWorker, workerArguments } from './interrupt.js';

function usage(list: Command[]): string {
  const lines = ['usage: seqgrad <command> [flags]   (seqgrad <command> --help for its flags; seqgrad --version)', '', 'commands:'];
  for (const c of list) lines.push(`  ${c.name.padEnd(16)}${c.summary}`);
  return lines.join('\n');
}

/** The version in package.json, one folder above this file both as cli/main.ts (tsx) and as the bundled dist/cli.js. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage(await loadCommands()));
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    console.log(packageVersion());
    return 0;
  }
  if (!COMMAND_NAMES.includes(name)) {
    console.error(`seqgrad: unknown command '${name}' (one of: ${COMMAND_NAMES.join(', ')})`);
    return 2;
  }
  try {
    // Only this command's module is loaded (cli/commands/index.ts), while the backends are prepared.
    const [command] = await Promise.all([loadCommand(name), prepareBackends()]);
    return await (command as Command).run(rest);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const text = message.replace(/^seqgrad /, '');
    // Library errors name their operation; a CLI error that already starts with the command name is not prefixed twice.
    console.error(text.startsWith(`${name} `) || text.startsWith(`${name}:`) ? `seqgrad ${text}` : `seqgrad ${name}: ${text}`);
    if (process.env.SEQGRAD_DEBUG && err instanceof Error) console.error(err.stack);
    // Bad flags and bad input exit 2 (by class: UsageError, InputError); anything else, 1.
    return err instanceof UsageError || isInputError(err) ? 2 : 1;
  }
}

/**
 * A training command runs in a worker thread so that Ctrl-C and SIGTERM can stop it between two
 * steps with its work saved (cli/interrupt.ts); the worker runs `main` on the arguments it is given.
 */
function runCli(): Promise<number> {
  const inWorker = workerArguments();
  if (inWorker) return main(inWorker).then((code) => (reportExitCode(code), code));
  const argv = process.argv.slice(2);
  if (TRAINING_COMMANDS.has(argv[0]) && !argv.includes('--help')) return runInWorker(new URL(import.meta.url), argv);
  return main(argv);
}

runCli().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`seqgrad: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
