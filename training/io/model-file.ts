/**
 * The pieces every JSON model file (language model, seq2seq, their checkpoints) loads with:
 * reading the file as an InputError the CLI prints as one line (Node only: node:fs), and copying
 * named weights into a freshly built model (`weights-json.ts`, no file system; re-exported here).
 */
import { readJsonFile } from './files.js';
import { InputError } from '../core/errors.js';

export { copyWeightsFromJSON } from './weights-json.js';

/**
 * Read and parse a JSON file; a missing, empty or non-JSON file is an InputError
 * "<what> <path> …" (io.ts's message without its "readJsonFile: " / "readTextFile: " prefix).
 */
export function readJsonInput<T = unknown>(path: string, what: string): T {
  try {
    return readJsonFile<T>(path, what);
  } catch (err) {
    throw new InputError((err as Error).message.replace(/^read(Json|Text)File: /, ''));
  }
}
