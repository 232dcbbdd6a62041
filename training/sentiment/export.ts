/**
 * The recurrent sentiment model (b) in and out of safetensors (training/io/sequence-net.ts):
 * embedding → stacked LSTM → linear on the last step → softmax, under PyTorch's names, with model
 * 'sentiment' and app = { classes, vocabulary, frozen, config: { hidden, layers, bidirectional } }
 * in `__metadata__`. The exported net reads whole sentences (no padding): its 'last-step' readout
 * is the last valid step of a sentence fed alone. The averaging model (a) has no recurrent part
 * and is not exported.
 */
import { NO_INIT } from '../../engine/init.js';
import { InputError } from '../core/errors.js';
import {
  exportable, loadNetFromFile, readModelSafetensors, saveModelSafetensors, type ExportableModel, type ModelDocument, type SequenceNet,
} from '../io/sequence-net.js';
import type { SafeTensor } from '../io/safetensors.js';
import { Vocabulary, type VocabularyJSON } from '../text/vocab.js';
import { createLstmSentimentModel, LstmSentimentModel, type LstmSentimentConfig } from './lstm.js';
import type { SentimentModel, SentimentModelJSON } from '../classify/sentence-classifier.js';

export const SENTIMENT_MODEL_KIND = 'sentiment';

function asLstm(model: SentimentModel): LstmSentimentModel {
  if (!(model instanceof LstmSentimentModel)) {
    throw new InputError(`sentiment export: expected a recurrent ('lstm') sentiment model, got '${model.kind}' (the averaging model has no recurrent net to export)`);
  }
  return model;
}

export function sentimentSequenceNet(model: SentimentModel): SequenceNet {
  const { embedding, rnn, head } = asLstm(model).net;
  return { embedding, rnn, head, readout: 'last-step' };
}

/** `meta`: the model file's record of its data and seed (what `sentiment eval` reads), kept in app.meta. */
export function sentimentExportable(model: SentimentModel, meta?: Record<string, unknown>): ExportableModel {
  const lstm = asLstm(model);
  return exportable(SENTIMENT_MODEL_KIND, sentimentSequenceNet(lstm), {
    classes: lstm.classes.slice(), vocabulary: lstm.vocab.toJSON(), frozen: lstm.embedding.frozen, config: { ...lstm.config },
    ...(meta ? { meta } : {}),
  });
}

/** The model file of an imported model: the model's JSON with app.meta restored. */
export function sentimentModelJSON(model: LstmSentimentModel, doc: ModelDocument): SentimentModelJSON {
  const json = model.toJSON();
  const { meta } = doc.app;
  if (meta !== null && typeof meta === 'object' && !Array.isArray(meta)) json.meta = meta as Record<string, unknown>;
  return json;
}

export function saveSentimentSafetensors(path: string, model: SentimentModel): void {
  saveModelSafetensors(path, sentimentExportable(model));
}

/** Rebuild the model from a document and tensors; every problem is an InputError naming `source`. */
export function sentimentFromTensors(tensors: Record<string, SafeTensor>, doc: ModelDocument, source: string): LstmSentimentModel {
  if (doc.model !== SENTIMENT_MODEL_KIND) throw new InputError(`${source}: expected a '${SENTIMENT_MODEL_KIND}' model, got '${doc.model}'`);
  const { classes, vocabulary, frozen } = doc.app;
  const config = doc.app.config as Partial<LstmSentimentConfig> | undefined;
  let model: LstmSentimentModel;
  try {
    if (!Array.isArray(classes) || !classes.every((c) => typeof c === 'string')) throw new Error(`expected app.classes to be a list of names, got ${JSON.stringify(classes)}`);
    const tensor = tensors['embedding.weight'];
    if (tensor?.shape.length !== 2) throw new Error("expected the tensor 'embedding.weight' (V, d)");
    model = createLstmSentimentModel({
      vocab: Vocabulary.fromJSON(vocabulary as VocabularyJSON), classes: classes as string[], dim: tensor.shape[1],
      hidden: config?.hidden, layers: config?.layers, bidirectional: config?.bidirectional, freeze: frozen === true,
    }, { rng: NO_INIT }); // every weight comes from the tensors
  } catch (err) {
    throw new InputError(`${source}: bad sentiment config: ${(err as Error).message}`);
  }
  loadNetFromFile(sentimentSequenceNet(model), tensors, doc, source);
  return model;
}

export function loadSentimentSafetensors(path: string, configPath?: string): LstmSentimentModel {
  const { tensors, document, source } = readModelSafetensors(path, configPath);
  return sentimentFromTensors(tensors, document, source);
}
