/**
 * The seq2seq model's file under Node: `saveSeq2Seq` writes seq2seqToJSON atomically (temp file +
 * rename, training/io/files.ts), `loadSeq2Seq` reads it back. Kept apart from model.ts so that the
 * model itself imports no node: module and also runs in a browser (the playground).
 */
import { readJsonFile, writeFileAtomic } from '../io/files.js';
import { readJsonInput } from '../io/model-file.js';
import { seq2seqFromJSON, seq2seqToJSON, type Seq2SeqModel, type Seq2SeqModelJSON } from './model.js';
import { transformerSeq2SeqFromJSON, transformerSeq2SeqToJSON, type TransformerSeq2SeqModel } from './transformer-model.js';

/** Write the model file atomically (temp file + rename). */
export function saveSeq2Seq(path: string, model: Seq2SeqModel, training?: Record<string, unknown>): void {
  writeFileAtomic(path, JSON.stringify(seq2seqToJSON(model, training)));
}

/** Read a model file; a missing, empty, non-JSON or malformed file is an InputError naming it. */
export function loadSeq2Seq(path: string): Seq2SeqModel {
  return seq2seqFromJSON(readJsonInput(path, 'model file'), `model file ${path}`);
}

/** The `training` record stored in a model file (or null). */
export function readSeq2SeqTrainingInfo(path: string): Record<string, unknown> | null {
  const json = readJsonFile<Seq2SeqModelJSON>(path, 'model file');
  return json.training ?? null;
}

export function saveTransformerSeq2Seq(path: string, model: TransformerSeq2SeqModel, training?: Record<string, unknown>): void {
  writeFileAtomic(path, JSON.stringify(transformerSeq2SeqToJSON(model, training)));
}

export function loadTransformerSeq2Seq(path: string): TransformerSeq2SeqModel {
  return transformerSeq2SeqFromJSON(readJsonInput(path, 'model file'), `model file ${path}`);
}
