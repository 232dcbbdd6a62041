/**
 * seqgrad/seq2seq — encoder-decoder models with attention (RNN and Transformer), their training,
 * beam-search translation and the toy tasks (reversal, transliteration, dates).
 */
import '../../engine/wasm/index.js'; // offers the default wasm backend on import
export * from './model.js';
export {
  SEQ2SEQ_CHECKPOINT_LOSSES, Seq2SeqBatchOrder, Seq2SeqTrainer, checkCheckpointData, checkpointPairsFile, evaluateSeq2Seq, lengthBucketedBatches,
  prepareCheckpointPairs, prepareSeq2SeqData, restoreSeq2SeqRun, scoresByLength, seq2seqCheckpointFromJSON, seq2seqRunJSON, validationLoss,
} from './train.js';
export type {
  ErrorAnalysisSummary, LengthBucket, PreparedSeq2SeqData, Seq2SeqCheckpointJSON, Seq2SeqDataInfo,
  Seq2SeqDataOptions, Seq2SeqEvalItem, Seq2SeqEvalOptions, Seq2SeqEvalResult, Seq2SeqEvaluationRecord,
  Seq2SeqProgress, Seq2SeqRun, Seq2SeqRunOptions, Seq2SeqStepInfo, Seq2SeqTrainConfig, Seq2SeqTrainResult,
} from './train.js';
export {
  createTransliteration, pairsToTsv, parsePairsTsv, reversalPairs, transliterate, transliterationPairs,
} from './tasks.js';
export type { SeqPair, SeqTaskOptions, TransliterationTable } from './tasks.js';
export {
  DATE_FORMATS, MONTHS, WEEKDAYS, dayOfWeek, daysInMonth, formatDate, generateDatePair, generateDatePairs,
  isLeapYear, ordinal, randomDate, toIsoDate,
} from './dates.js';
export type { CalendarDate, DateOptions, DatePair } from './dates.js';
export { SEQ2SEQ_MODEL_KIND, seq2seqDocument, seq2seqFromTensors, seq2seqTensors } from './export.js';
export * from './transformer-model.js';
export * from './transformer-train.js';
export * from './curve.js';
