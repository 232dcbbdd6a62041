/**
 * seqgrad/lm — language models: the RNN LM (model, training, sampling and scoring) and the Transformer LM.
 */
import '../../engine/wasm/index.js'; // offers the default wasm backend on import
export * from './model.js';
export {
  DEFAULT_MAX_EVAL_TOKENS, LM_CHECKPOINT_LOSSES, LmTrainer, buildLmVocabulary, corpusTokens, createLmTrainer, dataFingerprint,
  evaluateLanguageModel, lmCheckpointFromJSON, prepareLmCorpus, splitLmData, tokenizeCorpus,
} from './train.js';
export type {
  LmCheckpoint, LmCheckpointJSON, LmCorpusOptions, LmData, LmDataFingerprint, LmEvaluation, LmEvaluationRecord,
  LmProgress, LmRunOptions, LmStepInfo, LmTrainConfig, LmTrainResult, LmTrainerState, LmVocabularyOptions,
  PreparedLmCorpus,
} from './train.js';
export * from './use.js';
export * from './token-sampler.js';
export * from './transformer-model.js';
export * from './transformer-train.js';
export { LM_MODEL_KIND, languageModelFromTensors, lmExportable, lmSequenceNet } from './export.js';
export * from './curve.js';
