/**
 * seqgrad/tagger — the name tagger (uni- and bidirectional many-to-many models over generated sentences).
 */
import '../../engine/wasm/index.js'; // offers the default wasm backend on import
export {
  AMBIGUOUS_STARTS, buildTaggerVocabulary, createBatchBuffers, createTagger, fillBatch, taggerParallelUnsupported, evaluateTagSet, evaluateTagger, predictTags, generateTaggedSentences,
  hasAmbiguousFirstWord, predictTagger, sentenceText, taggerFromJSON, taggerModelConfig, taggerToJSON, tokenScores, trainTagger,
} from './tagger.js';
export type {
  GeneratorOptions, LegacyTaggerJSON, NameLists, TaggedSentence, Tagger, TaggerConfig, TaggerEvaluation, TaggerJSON,
  TaggerTrainOptions, TaggerTrainResult, TokenScores,
} from './tagger.js';
export { TAGGER_MODEL_KIND, taggerExportable, taggerFromTensors, taggerSequenceNet } from './export.js';
