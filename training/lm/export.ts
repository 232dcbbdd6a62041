/**
 * The language model in and out of safetensors (training/io/sequence-net.ts): the model as the
 * shared architecture — embedding (or one-hot) → stacked cells → linear at every step → softmax —
 * under PyTorch's names ('embedding.weight', 'rnn.weight_ih_l0' …, 'linear.weight', 'linear.bias'),
 * with model 'language-model' and app = { config: LanguageModelConfig, vocabulary } in
 * `__metadata__`. The round trip model → file → model is bit-identical.
 */
import { Rng } from '../../engine/rng.js';
import type { OutputHead } from '../../layers/heads.js';
import { InputError } from '../core/errors.js';
import {
  exportable, loadNetFromFile, readModelSafetensors, saveModelSafetensors, type ExportableModel, type ModelDocument, type SequenceNet,
} from '../io/sequence-net.js';
import type { SafeTensor } from '../io/safetensors.js';
import { Vocabulary, type VocabularyJSON } from '../text/vocab.js';
import { createLanguageModel, resolveLanguageModelFileConfig, type LanguageModel, type LanguageModelConfig } from './model.js';

export const LM_MODEL_KIND = 'language-model';

/** The model's parts as the shared net (views: no copy). */
export function lmSequenceNet(model: LanguageModel): SequenceNet {
  const dense = model.output;
  const head: OutputHead = { kind: 'softmax', dense, inputSize: dense.inputSize, outputSize: dense.outputSize, dtype: dense.dtype };
  return { embedding: model.embedding, rnn: model.stack, head, readout: 'every-step' };
}

/** The model with its document (config and vocabulary), ready for any export format. */
export function lmExportable(model: LanguageModel): ExportableModel {
  return exportable(LM_MODEL_KIND, lmSequenceNet(model), { config: { ...model.config }, vocabulary: model.vocab.toJSON() });
}

export function saveLanguageModelSafetensors(path: string, model: LanguageModel): void {
  saveModelSafetensors(path, lmExportable(model));
}

/** Rebuild a language model from a document and tensors; every problem is an InputError naming `source`. */
export function languageModelFromTensors(tensors: Record<string, SafeTensor>, doc: ModelDocument, source: string): LanguageModel {
  const fail = (what: string): never => { throw new InputError(`${source}: ${what}`); };
  if (doc.model !== LM_MODEL_KIND) fail(`expected a '${LM_MODEL_KIND}' model, got '${doc.model}'`);
  let config: LanguageModelConfig;
  try {
    config = resolveLanguageModelFileConfig(doc.app.config as LanguageModelConfig, 'app.config');
  } catch (err) {
    return fail((err as Error).message);
  }
  let vocab: Vocabulary;
  try {
    vocab = Vocabulary.fromJSON(doc.app.vocabulary as VocabularyJSON);
  } catch (err) {
    return fail(`bad app.vocabulary: ${(err as Error).message}`);
  }
  const model = createLanguageModel({ ...config, vocab }, { rng: new Rng(0) });
  loadNetFromFile(lmSequenceNet(model), tensors, doc, source);
  return model;
}

/** Read a language model from safetensors (config from `configPath`, else from the file's metadata). */
export function loadLanguageModelSafetensors(path: string, configPath?: string): LanguageModel {
  const { tensors, document, source } = readModelSafetensors(path, configPath);
  return languageModelFromTensors(tensors, document, source);
}
