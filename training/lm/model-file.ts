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

/**
 * Read a model file — or a training checkpoint (`seqgrad train --checkpoint`), whose model it takes; a
 * missing, empty, non-JSON or malformed file is an InputError naming it.
 */
export function loadLanguageModel(path: string): LanguageModel {
  const { json, source } = modelJsonOf(readJsonInput(path, 'model file'), path);
  return languageModelFromJSON(json, source);
}

/** A checkpoint's model (the weights of its last step) or the file itself, and how errors name it. */
function modelJsonOf(json: unknown, path: string): { json: unknown; source: string } {
  const kind = json !== null && typeof json === 'object' ? (json as { kind?: unknown }).kind : undefined;
  if (kind === 'seqgrad.lm-checkpoint') return { json: (json as { model?: unknown }).model, source: `checkpoint ${path} (its model)` };
  return { json, source: `model file ${path}` };
}

export function saveTransformerLm(path: string, model: TransformerLanguageModel, training?: Record<string, unknown>): void {
  writeFileAtomic(path, JSON.stringify(transformerLmToJSON(model, training)));
}

export function loadTransformerLm(path: string): TransformerLanguageModel {
  return transformerLmFromJSON(readJsonInput(path, 'model file'), `model file ${path}`);
}

/** A language model file of either kind: the Transformer's, or the recurrent model's (model.ts) or its checkpoint. */
export function loadAnyLanguageModel(path: string): LanguageModel | TransformerLanguageModel {
  const file = readJsonInput<{ kind?: unknown }>(path, 'model file');
  if (file !== null && typeof file === 'object' && file.kind === 'seqgrad.transformer-language-model') {
    return transformerLmFromJSON(file, `model file ${path}`);
  }
  const { json, source } = modelJsonOf(file, path);
  return languageModelFromJSON(json, source);
}
