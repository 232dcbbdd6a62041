/**
 * The language model's file under Node: `saveLanguageModel` writes languageModelToJSON atomically
 * (temp file + rename, training/io/files.ts), `loadLanguageModel` reads it back. Kept apart from
 * model.ts so that the model itself (forward, backward, JSON) imports no node: module and also
 * runs in a browser (the playground).
 */
import { writeFileAtomic } from '../io/files.js';
import { readJsonInput } from '../io/model-file.js';
import { languageModelFromJSON, languageModelToJSON, type LanguageModel } from './model.js';
import { transformerLmFromJSON, transformerLmToJSON, type TransformerLanguageModel } from './transformer-model.js';

/** Write the model file atomically (temp file + rename). */
export function saveLanguageModel(path: string, model: LanguageModel, training?: Record<string, unknown>): void {
  writeFileAtomic(path, JSON.stringify(languageModelToJSON(model, training)));
}

/** Read a model file; a missing, empty, non-JSON or malformed file is an InputError naming it. */
export function loadLanguageModel(path: string): LanguageModel {
  return languageModelFromJSON(readJsonInput(path, 'model file'), `model file ${path}`);
}

export function saveTransformerLm(path: string, model: TransformerLanguageModel, training?: Record<string, unknown>): void {
  writeFileAtomic(path, JSON.stringify(transformerLmToJSON(model, training)));
}

export function loadTransformerLm(path: string): TransformerLanguageModel {
  return transformerLmFromJSON(readJsonInput(path, 'model file'), `model file ${path}`);
}

/** A language model file of either kind: the Transformer's, or the recurrent model's (model.ts). */
export function loadAnyLanguageModel(path: string): LanguageModel | TransformerLanguageModel {
  const json = readJsonInput<{ kind?: unknown }>(path, 'model file');
  if (json !== null && typeof json === 'object' && json.kind === 'seqgrad.transformer-language-model') {
    return transformerLmFromJSON(json, `model file ${path}`);
  }
  return languageModelFromJSON(json, `model file ${path}`);
}
