/**
 * A Model's file under Node: `saveModel` writes the model's JSON (training/model/model.ts
 * ModelJSON: { kind: "seqgrad.model", version: 1, config, weights }) atomically (temp file +
 * rename, training/io/files.ts), `loadModel` reads a model file or a checkpoint back with the
 * checks of every seqgrad model file (one InputError naming the file), `checkpointFile` is the
 * CheckpointSink that `fit` writes its checkpoints through and `loadCheckpoint` reads one back
 * with the training state that `fit(data, { resume })` continues from. Kept apart from model.ts so the
 * model itself imports no node: module.
 */
import { writeFileAtomic } from '../io/files.js';
import { readJsonInput } from '../io/model-file.js';
import { InputError } from '../core/errors.js';
import { modelFromJSON, type CheckpointSink, type FitStateJSON, type Model, type ModelJSON } from './model.js';

/** Write the model file atomically. */
export function saveModel(path: string, model: Model): void {
  writeFileAtomic(path, JSON.stringify(model.toJSON()));
}

/** Read a model file (or a checkpoint of `fit`); every problem is one InputError naming the file. */
export function loadModel(path: string): Model {
  return modelFromJSON(readJsonInput(path, 'model file'), `model file ${path}`);
}

/** fit's checkpoints to `path` (atomically), every `every` steps (default once per epoch) and at the end. */
export function checkpointFile(path: string, opts: { every?: number } = {}): CheckpointSink {
  return { path, every: opts.every, save: (json) => writeFileAtomic(path, JSON.stringify(json)) };
}

/** A checkpoint of `fit`: the model at that step and the training state `fit(data, { resume })` continues from. */
export function loadCheckpoint(path: string): { model: Model; resume: FitStateJSON } {
  const json = readJsonInput<ModelJSON>(path, 'checkpoint file');
  const model = modelFromJSON(json, `checkpoint file ${path}`);
  if (json.training === null || typeof json.training !== 'object') {
    throw new InputError(`checkpoint file ${path}: expected the training state of a checkpoint ("training"), got none (a model file: use loadModel)`);
  }
  return { model, resume: json.training };
}
