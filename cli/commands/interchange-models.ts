/**
 * Which seqgrad model files `seqgrad export` and `seqgrad import` handle, and the library call
 * for each: the language model (`seqgrad train`), the tagger (`seqgrad tagger train`) and the
 * recurrent sentiment model (`seqgrad sentiment train --model lstm`), and as safetensors the
 * sequence-to-sequence model (`seqgrad seq2seq train`), any recurrent layer saved by the library
 * (`saveLayer`) and any model of the Model API (`saveModel`, training/model/: all three formats when it
 * is a single-stack SequenceNet, else safetensors). Thin: recognise the file, call the application's loader and its export glue
 * (training/<app>/export.ts, training/io/layer-safetensors.ts).
 */
import { InputError } from '../../training/core/errors.js';
import { writeFileAtomic } from '../../training/io/files.js';
import { LAYER_FORMAT, layerFromJSON, saveLayer } from '../../training/io/layer-json.js';
import { LAYER_MODEL_KIND, layerFromTensors, saveLayerSafetensors } from '../../training/io/layer-safetensors.js';
import { readJsonInput } from '../../training/io/model-file.js';
import { netSummary, saveModelSafetensors, type ExportableModel, type ModelDocument } from '../../training/io/sequence-net.js';
import type { SafeTensor } from '../../training/io/safetensors.js';
import { languageModelFromJSON } from '../../training/lm/model.js';
import { saveLanguageModel } from '../../training/lm/model-file.js';
import { languageModelFromTensors, lmExportable, LM_MODEL_KIND } from '../../training/lm/export.js';
import { lstmModelFactory } from '../../training/sentiment/lstm.js';
import { sentimentExportable, sentimentFromTensors, sentimentModelJSON, SENTIMENT_MODEL_KIND } from '../../training/sentiment/export.js';
import type { SentimentModelJSON } from '../../training/classify/sentence-classifier.js';
import { saveTagger, taggerFromJSON, type TaggerJSON } from '../../training/tagger/tagger.js';
import { taggerExportable, taggerFromTensors, TAGGER_MODEL_KIND } from '../../training/tagger/export.js';
import { saveSeq2SeqSafetensors, seq2seqFromTensors, SEQ2SEQ_MODEL_KIND } from '../../training/seq2seq/export.js';
import { seq2seqFromJSON } from '../../training/seq2seq/model.js';
import { saveSeq2Seq } from '../../training/seq2seq/model-file.js';
import { MODEL_API_KIND, modelExportable, modelFromTensors, saveModelApiSafetensors } from '../../training/model/export.js';
import { MODEL_FILE_KIND, modelFromJSON } from '../../training/model/model.js';
import { saveModel } from '../../training/model/model-file.js';

const KNOWN = 'a language model (seqgrad train), a tagger (seqgrad tagger train), an lstm sentiment model (seqgrad sentiment train --model lstm), a seq2seq model (seqgrad seq2seq train), a recurrent layer (saveLayer) or a Model API model (saveModel)';

/** A loaded model: its kind, a one-line description, and what it can be exported as. */
export interface LoadedModel {
  kind: string;
  summary: string;
  saveSafetensors(path: string): void;
  /** The single-stack architecture the PyTorch folder and ONNX exports take (null for seq2seq). */
  exportable: ExportableModel | null;
}

function fromExportable(model: ExportableModel): LoadedModel {
  return {
    kind: model.document.model, summary: netSummary(model.document.net), exportable: model,
    saveSafetensors: (path) => saveModelSafetensors(path, model),
  };
}

/** Load a seqgrad model file of any exportable kind. */
export function loadModelFile(path: string): LoadedModel {
  const source = `model file ${path}`;
  const json = readJsonInput<Record<string, unknown>>(path, 'model file');
  // Model files name themselves by `kind`, the tagger and layer files by `format` (a layer's `kind` is its structure).
  const tag = json && typeof json === 'object' ? (json.format === LAYER_FORMAT ? LAYER_FORMAT : json.kind ?? json.format) : undefined;
  switch (tag) {
    case 'seqgrad.language-model':
      return fromExportable(lmExportable(languageModelFromJSON(json, source)));
    case 'seqgrad.tagger':
      return fromExportable(taggerExportable(taggerFromJSON(json as unknown as TaggerJSON, source)));
    case 'seqgrad.sentiment': {
      if (json.model !== 'lstm') throw new InputError(`${source}: expected an 'lstm' sentiment model, got '${String(json.model)}' (the averaging model has no recurrent net to export)`);
      try {
        const file = json as unknown as SentimentModelJSON;
        return fromExportable(sentimentExportable(lstmModelFactory.fromJSON(file), file.meta));
      } catch (err) {
        throw new InputError(`${source}: ${(err as Error).message}`);
      }
    }
    case 'seqgrad.seq2seq': {
      const model = seq2seqFromJSON(json, source);
      const { cell, attention, bidirectional } = model.config;
      return {
        kind: SEQ2SEQ_MODEL_KIND, summary: `${bidirectional ? 'bidirectional ' : ''}${cell} encoder-decoder, attention ${attention}`, exportable: null,
        saveSafetensors: (path) => saveSeq2SeqSafetensors(path, model),
      };
    }
    case LAYER_FORMAT: {
      const layer = layerFromJSON(json, source);
      return {
        kind: LAYER_MODEL_KIND, summary: `${String(json.kind)} ${layer.dtype} layer (PyTorch nn.RNN/GRU/LSTM names, no prefix)`, exportable: null,
        saveSafetensors: (path) => saveLayerSafetensors(path, layer),
      };
    }
    case MODEL_FILE_KIND: {
      // A tagger's file is a Model API file with its vocabulary beside it: exported as the tagger it is.
      if (json.tagger !== undefined) return fromExportable(taggerExportable(taggerFromJSON(json as unknown as TaggerJSON, source)));
      const model = modelFromJSON(json, source);
      return {
        kind: MODEL_API_KIND, summary: model.summary, exportable: modelExportable(model),
        saveSafetensors: (path) => saveModelApiSafetensors(path, model),
      };
    }
    default:
      throw new InputError(`${source}: expected ${KNOWN}, got a file of kind ${JSON.stringify(tag ?? null)}`);
  }
}

/** Rebuild the model a document describes and write it as a seqgrad model file; returns its kind. */
export function importModel(tensors: Record<string, SafeTensor>, doc: ModelDocument, source: string, out: string): string {
  switch (doc.model) {
    case LM_MODEL_KIND:
      saveLanguageModel(out, languageModelFromTensors(tensors, doc, source));
      break;
    case TAGGER_MODEL_KIND:
      saveTagger(out, taggerFromTensors(tensors, doc, source));
      break;
    case SENTIMENT_MODEL_KIND:
      writeFileAtomic(out, JSON.stringify(sentimentModelJSON(sentimentFromTensors(tensors, doc, source), doc)));
      break;
    case SEQ2SEQ_MODEL_KIND:
      saveSeq2Seq(out, seq2seqFromTensors(tensors, doc, source));
      break;
    case LAYER_MODEL_KIND:
      saveLayer(out, layerFromTensors(tensors, doc, source));
      break;
    case MODEL_API_KIND:
      saveModel(out, modelFromTensors(tensors, doc, source));
      break;
    default:
      throw new InputError(`${source}: expected model ${[LM_MODEL_KIND, TAGGER_MODEL_KIND, SENTIMENT_MODEL_KIND, SEQ2SEQ_MODEL_KIND, LAYER_MODEL_KIND, MODEL_API_KIND].join(', ')}, got '${doc.model}'`);
  }
  return doc.model;
}
