/**
 * The pieces every JSON model file (language model, seq2seq, their checkpoints) loads with under Node:
 * reading the file as an InputError the CLI prints as one line (node:fs). Copying named weights into a
 * freshly built model and reading files that wrote a parameter under a former name need no file
 * system: they live in `weights-json.ts` (re-exported here).
 */
import { readJsonFile } from './files.js';
import { InputError } from '../core/errors.js';

export {
  checkConfigAgainstWeights, checkModelSize, copyWeightsFromJSON, MAX_MODEL_WEIGHTS, optimizerWithCurrentNames, withCurrentNames,
} from './weights-json.js';

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
