/**
 * The name tagger in and out of safetensors (training/io/sequence-net.ts): embedding → stacked
 * cells (uni- or bidirectional) → linear [1, W] at every step → sigmoid, under PyTorch's names,
 * with model 'tagger' and app = { config: TaggerConfig, vocabulary } in `__metadata__`.
 */
import { NO_INIT } from '../../engine/init.js';
import { InputError } from '../core/errors.js';
import {
  exportable, loadNetFromFile, readModelSafetensors, saveModelSafetensors, type ExportableModel, type ModelDocument, type SequenceNet,
} from '../io/sequence-net.js';
import type { SafeTensor } from '../io/safetensors.js';
import { Vocabulary, type VocabularyJSON } from '../text/vocab.js';
import { createTagger, type Tagger, type TaggerConfig } from './tagger.js';

export const TAGGER_MODEL_KIND = 'tagger';

export function taggerSequenceNet(tagger: Tagger): SequenceNet {
  const { embedding, rnn, head } = tagger.net;
  return { embedding, rnn, head, readout: 'every-step' };
}

export function taggerExportable(tagger: Tagger): ExportableModel {
  return exportable(TAGGER_MODEL_KIND, taggerSequenceNet(tagger), { config: { ...tagger.config }, vocabulary: tagger.vocab.toJSON() });
}

export function saveTaggerSafetensors(path: string, tagger: Tagger): void {
  saveModelSafetensors(path, taggerExportable(tagger));
}

/** Rebuild a tagger from a document and tensors; every problem is an InputError naming `source`. */
export function taggerFromTensors(tensors: Record<string, SafeTensor>, doc: ModelDocument, source: string): Tagger {
  if (doc.model !== TAGGER_MODEL_KIND) throw new InputError(`${source}: expected a '${TAGGER_MODEL_KIND}' model, got '${doc.model}'`);
  let tagger: Tagger;
  try {
    tagger = createTagger({
      vocab: Vocabulary.fromJSON(doc.app.vocabulary as VocabularyJSON), ...doc.app.config as Partial<TaggerConfig>,
    }, { rng: NO_INIT }); // the weights come from the tensors
  } catch (err) {
    throw new InputError(`${source}: bad tagger config or vocabulary: ${(err as Error).message}`);
  }
  loadNetFromFile(taggerSequenceNet(tagger), tensors, doc, source);
  return tagger;
}

export function loadTaggerSafetensors(path: string, configPath?: string): Tagger {
  const { tensors, document, source } = readModelSafetensors(path, configPath);
  return taggerFromTensors(tensors, document, source);
}
