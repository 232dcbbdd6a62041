/**
 * seqgrad/trigger — trigger-word detection: spectrograms, the per-step sigmoid model, detection and
 * the audio helpers (FFT, WAV bytes, clip composition).
 */
import '../../engine/wasm/index.js'; // offers the default wasm backend on import
export {
  bandStatistics, clipFeatures, createTriggerModel, detectTriggers, evaluateTrigger, poolAndNormalize, pooledSteps,
  predictTrigger, spectrogramOfAudio, trainTriggerModel, triggerInputs, triggerModelFromJSON, triggerModelToJSON,
  triggerPlotSvg, triggerWindows,
} from './trigger.js';
export type {
  BandStatistics, TriggerClipData, TriggerDataOptions, TriggerEvaluation, TriggerManifest, TriggerModel, TriggerModelConfig,
  TriggerModelJSON, TriggerPlotOptions, TriggerSplit, TriggerTrainOptions, TriggerTrainResult,
} from './trigger.js';
export * from './audio/fft.js';
export { decodeWav, encodeWav } from './audio/wav.js';
export type { WavAudio } from './audio/wav.js';
export * from './audio/spectrogram.js';
export {
  BANK_VOICES, CLIP_SAMPLE_RATE, ESPEAK_MISSING_MESSAGE, EspeakMissingError, OTHER_WORDS, TRIGGER_WORD,
  backgroundNoise, composeClip, resample, triggerExample, triggerLabels, trimSilence,
} from './audio/synth.js';
export type {
  ClipEvent, ClipOptions, NoiseOptions, TriggerClip, TriggerExample, VoiceOptions, WordBank, WordRecording,
} from './audio/synth.js';
