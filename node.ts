/**
 * seqgrad/node — the node-only part: reading and writing files (model files, checkpoints, corpora, data sets,
 * vectors, WAV), output planning, the PyTorch training folder and the espeak-ng synthesis (a child process). The CLI
 * uses it; every other entry bundles for the browser without it.
 */
import './engine/wasm/index.js'; // offers the default wasm backend on import
export * from './training/io/files.js';
export * from './training/io/outputs.js';
export * from './training/io/pytorch-export.js';
export * from './training/model/model-file.js';
export * from './training/lm/model-file.js';
export * from './training/seq2seq/model-file.js';
export { loadLayer, saveLayer } from './training/io/layer-json.js';
export { saveLayerSafetensors } from './training/io/layer-safetensors.js';
export { readJsonInput } from './training/io/model-file.js';
export { readSafetensorsFile, writeSafetensorsFile } from './training/io/safetensors.js';
export {
  loadSequenceNet, readModelDocument, readModelSafetensors, saveModelSafetensors, saveSequenceNet,
} from './training/io/sequence-net.js';
export { readVectors, writeVectors } from './training/io/vectors.js';
export { loadLanguageModelSafetensors, saveLanguageModelSafetensors } from './training/lm/export.js';
export { readLmCheckpoint, resumeLmTrainer } from './training/lm/train.js';
export { loadSentimentSafetensors, saveSentimentSafetensors } from './training/sentiment/export.js';
export { loadSentimentData, loadSentimentFile, sentimentDataFiles } from './training/sentiment/sentiment.js';
export { writeDatePairsTsv } from './training/seq2seq/dates.js';
export { loadSeq2SeqSafetensors, saveSeq2SeqSafetensors } from './training/seq2seq/export.js';
export { readPairsTsv, writePairsTsv } from './training/seq2seq/tasks.js';
export { readSeq2SeqCheckpoint, resumeSeq2SeqRun, resumeSeq2SeqTrainer } from './training/seq2seq/train.js';
export { loadTaggerSafetensors, saveTaggerSafetensors } from './training/tagger/export.js';
export { loadConllFile, loadNameLists, loadTagger, saveTagger, shippedNamesDir } from './training/tagger/tagger.js';
export { readCorpus, readCorpusFile } from './training/text/corpus.js';
export { hasEspeak, synthesizeSpeech, synthesizeWordBank, writeTriggerClip } from './training/trigger/audio/synth.js';
export { readWav, writeWav } from './training/trigger/audio/wav.js';
export {
  loadTriggerModel, loadTriggerSplit, readTriggerManifest, saveTriggerModel, synthesizeTriggerDataset,
} from './training/trigger/trigger.js';
