/**
 * The commands' input files and output paths: a missing, unreadable or empty input is the user's
 * error (an InputError: one line, exit 2); an output's folder is created before writing.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { UsageError } from './args.js';
import { InputError } from '../training/core/errors.js';
import { readTextFile } from '../training/io/files.js';
import { readCorpus, type Corpus } from '../training/text/corpus.js';

/** The text of the file given by `--flag`; `what` names it in messages ("training corpus"). */
export function readInputText(command: string, flag: string, path: string | undefined, what: string): string {
  if (!path) throw new UsageError(`expected --${flag} FILE (see 'seqgrad ${command} --help')`);
  try {
    return readTextFile(path, what);
  } catch (err) {
    throw new InputError((err as Error).message.replace(/^readTextFile: /, ''));
  }
}

/** The `--corpus FILE|DIR` of the embedding commands (training/text/corpus.ts). */
export function readCorpusInput(command: string, path: string | undefined): Corpus {
  if (!path) throw new InputError(`${command}: expected --corpus FILE|DIR (see 'seqgrad ${command} --help')`);
  try {
    return readCorpus(path);
  } catch (err) {
    throw new InputError((err as Error).message);
  }
}

/** Create the folder that will hold `file` (and its parents) unless it exists. */
export function ensureParentDir(file: string): void {
  fs.mkdirSync(nodePath.dirname(nodePath.resolve(file)), { recursive: true });
}
