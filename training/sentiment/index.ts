/**
 * seqgrad/sentiment — sentiment classification: the averaged-embedding model and the LSTM model.
 */
import '../../engine/wasm/index.js'; // offers the default wasm backend on import
export {
  BINARY_CLASSES, EMOJI_CLASSES, EMOJI_SYMBOLS, LABEL_COLUMNS, SENTIMENT_DATA_NAMES, TEXT_COLUMNS, indexLabels, isSentimentDataName,
  labelClasses, parseLabelledFile, countCorrect, sentimentParallelUnsupported, buildSentimentVocabulary, confusionReport,
  encodeExamples, encodeSentence, evaluateSentiment, fixCp1252Controls, formatConfusion, parseEmojiCsv,
  parseLabelledSentences, predictSentiment, splitExamples, tokenizeSentence, trainSentiment,
} from './sentiment.js';
export type {
  EpochInfo, SentimentDataName, SentimentDataset, SentimentEvaluation, SentimentExample, TrainSentimentOptions,
} from './sentiment.js';
export * from './lstm.js';
export {
  SENTIMENT_MODEL_KIND, sentimentExportable, sentimentFromTensors, sentimentModelJSON, sentimentSequenceNet,
} from './export.js';
