/**
 * The language model's file under Node: `saveLanguageModel` writes languageModelToJSON atomically
 * (temp file + rename, training/io/files.ts), `loadLanguageModel` reads it back. Kept apart from
 * model.ts so that the model itself (forward, backward, JSON) imports no node: module and also
 * runs in a browser (the playground).
 */
import { writeFileAtomic } from '../io/files.js';
import { readJsonInput } from '../io/model-file.js';
import { languageModelFromJSON, languageModelToJSON, type LanguageModel } from './model.js';

/** Write the model file atomically (temp file + rename). */
export function saveLanguageModel(path: string, model: LanguageModel, training?: Record<string, unknown>): void {
  writeFileAtomic(path, JSON.stringify(languageModelToJSON(model, training)));
}

/** Read a model file; a missing, empty, non-JSON or malformed file is an InputError naming it. */
export function loadLanguageModel(path: string): LanguageModel {
  return languageModelFromJSON(readJsonInput(path, 'model file'), `model file ${path}`);
}
