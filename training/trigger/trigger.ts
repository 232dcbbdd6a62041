/**
 * Trigger-word detection, the notes' "Alexa / Hey Siri" model, on audio synthesized with espeak-ng
 * (training/audio/synth.ts): a 10-second clip of background noise with the word "activate" and
 * other words at random offsets → a log spectrogram → a GRU that outputs, at every output step,
 * the probability that "activate" has just been said.
 *
 * Data (`synthesizeTriggerDataset`): N clips per split, each stored as its log spectrogram
 * S [frames, bands] (25 ms Hann frames every 10 ms, `bands` groups of FFT bins) and its labels per
 * output step. The labels are the notes': y⟨t⟩ = 1 for the `run` output steps right after each
 * "activate" ends (k = ⌊end·T_y / seconds⌋, y⟨k+1 … k+run⟩ = 1; `triggerLabels`), 0 elsewhere —
 * a run of 1s rather than a single 1 so that the classes are less unbalanced. The default run,
 * 9 steps of 40 ms = 0.36 s, is the notes' 50 of 1375 steps over 10 s.
 * Held-out clips use a word bank of their own (other seeded voices, speeds and pitches).
 *
 * Model (`createTriggerModel`), for a batch of B clips, time-major as everywhere:
 *   front end (no parameters): each band normalised with the training set's mean and standard
 *     deviation, then frames average-pooled by P (default 4):
 *       x⟨t⟩ = (1/P) Σ_{f = tP}^{tP+P−1} (S[f, :] − μ) / σ        t = 0 … T_y − 1,  T_y = ⌊frames / P⌋
 *     This plays the part of the notes' strided Conv1D: it shortens the sequence 998 → 249 steps
 *     (40 ms each), so BPTT runs through 4× fewer steps, at the price of a fixed (not learned)
 *     filter. P = 1 keeps every frame.
 *   a GRU stack (layers/stacked.ts; 1 layer by default, `layers` > 1 stacks them):
 *       a[l]⟨t⟩ = GRU(a[l]⟨t−1⟩, a[l−1]⟨t⟩)                     [B, H]
 *   a sigmoid head per step (layers/heads.ts):
 *       ŷ⟨t⟩ = σ(W_y a[L−1]⟨t⟩ + b_y)                          [B, 1]
 *   loss: L = (1/Σm) Σ_t Σ_b m⟨t⟩_b · BCE(ŷ⟨t⟩_b, y⟨t⟩_b), m the [T_y, B] mask (clips of different
 *   lengths are right-padded; padded steps neither update the state nor count).
 * The head's bias starts at logit(training rate of 1s), so the first updates are not spent on
 * learning the base rate. Trained with Adam and gradient clipping by global norm.
 *
 * Detection (`detectTriggers`): threshold the probabilities (default 0.5) and take each run of
 * consecutive steps above it as one detection, at the run's first step. A detection is correct
 * when it falls inside the label window [k+1, k+run] of a true "activate" not matched before
 * (`scoreDetections`); precision = correct / detections, recall = matched triggers / triggers.
 * Optionally (`early` = 1) a detection at step k counts too: with pooling, step k's frames already
 * reach past the word's end, and a trained model often fires there, 40 ms before the window.
 *
 * Cache format (a directory): options.json (written first; a later synthesis into the same
 * directory must use the same options), manifest.json (written last: its presence means
 * "complete"), and per clip `train/000123.json` (events, shapes, labels) and `train/000123.s16`
 * (the spectrogram as little-endian int16 of round(100·S): 0.01 resolution in log power, half the
 * size of float32). Every file is written atomically, and synthesis skips clips already on disk,
 * so an interrupted synthesis resumes where it stopped.
 */
import { fs, nodePath } from '../io/node-builtins.js';
import { Matrix, copyInto, shapeOf } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import { isRng, resolveCreateOptions, type CreateOptions } from '../../engine/create.js';
import {
  createManyToMany, createManyToManyWorkspace, manyToManyBackward, manyToManyForward, manyToManyLogits,
  modelParameters, modelZeroGrads, type ManyToManyModel, type ManyToManyWorkspace,
} from '../../layers/architectures.js';
import type { CellKind } from '../../layers/cells/cell.js';
import { createOutputHead } from '../../layers/heads.js';
import { isStackedRnn } from '../../layers/interchange.js';
import { createStackedRnn } from '../../layers/stacked.js';
import { logSpectrogram, type SpectrogramOptions } from './audio/spectrogram.js';
import {
  CLIP_SAMPLE_RATE, OTHER_WORDS, TRIGGER_WORD, composeClip, hasEspeak, resample, synthesizeWordBank, triggerLabels,
  writeTriggerClip, EspeakMissingError, type ClipEvent, type ClipOptions, type TriggerClip,
} from './audio/synth.js';
import { readJsonFile, writeFileAtomic } from '../io/files.js';
import { layerFromJSON, layerToJSON, type LayerJSON } from '../io/layer-json.js';
import { createUpdate, runTrainingLoop, type GradientClip, type LoopControls, type StopReason } from '../core/loop.js';
import { createOptimizer } from '../core/optimizers.js';
import { matrixFromJSON, matrixToJSON, type MatrixJSON } from '../io/tensors.js';
import { checkModelSize } from '../io/weights-json.js';
import { addCounts, precisionRecall, scoreDetections, type DetectionCounts, type PrecisionRecall } from '../metrics/detection.js';
import { heatmapSvg } from '../plot/charts.js';
import { sigmoidScalar as sigmoid } from '../../engine/activations.js';
import { InputError } from '../core/errors.js';

// =============================================================================================
// Labels, detection and scoring (pure functions; no audio needed)

/**
 * The label window of each trigger in output steps: k = ⌊end·steps / seconds⌋ → [k+1, min(steps−1, k+run)]
 * (the steps `triggerLabels` sets to 1). A trigger ending in the last step has an empty window and
 * is left out (no step after it can be labelled).
 */
export function triggerWindows(triggerEnds: readonly number[], steps: number, seconds: number, run: number): [number, number][] {
  const op = 'triggerWindows';
  if (!Number.isInteger(steps) || steps <= 0) throw new Error(`${op}: expected a positive integer number of steps, got ${steps}`);
  if (!(seconds > 0)) throw new Error(`${op}: expected seconds > 0, got ${seconds}`);
  if (!Number.isInteger(run) || run <= 0) throw new Error(`${op}: expected a positive integer run, got ${run}`);
  const windows: [number, number][] = [];
  for (const end of [...triggerEnds].sort((a, b) => a - b)) {
    if (!(end >= 0 && end <= seconds)) throw new Error(`${op}: expected end times in [0, ${seconds}] s, got ${end}`);
    const k = Math.floor((end * steps) / seconds);
    const first = k + 1, last = Math.min(steps - 1, k + run);
    if (first <= last) windows.push([first, last]);
  }
  return windows;
}

/**
 * Peak picking: each maximal run of steps with probability > threshold is one detection, reported
 * at the run's first step. Returns the steps in increasing order.
 */
export function detectTriggers(probabilities: ArrayLike<number>, threshold = 0.5): number[] {
  if (!(threshold >= 0 && threshold <= 1)) throw new Error(`detectTriggers: expected a threshold in [0, 1], got ${threshold}`);
  const starts: number[] = [];
  let inside = false;
  for (let t = 0; t < probabilities.length; t++) {
    const p = probabilities[t];
    if (Number.isNaN(p)) throw new Error(`detectTriggers: expected probabilities, got NaN at step ${t}`);
    const above = p > threshold;
    if (above && !inside) starts.push(t);
    inside = above;
  }
  return starts;
}

// =============================================================================================
// The front end: normalise and pool

/** T_y = ⌊frames / pool⌋ output steps. */
export function pooledSteps(frames: number, pool: number): number {
  return Math.floor(frames / pool);
}

/**
 * out[t, :] = (1/P) Σ_{f=tP}^{tP+P−1} (S[f, :] − μ) / σ  for t < ⌊frames / P⌋ (trailing frames that
 * do not fill a group are dropped). μ, σ [bands]; out [⌊frames/P⌋, bands] (float32, allocated).
 */
export function poolAndNormalize(features: Matrix, pool: number, mean: Float32Array, std: Float32Array): Matrix {
  const op = 'poolAndNormalize';
  if (!Number.isInteger(pool) || pool < 1) throw new Error(`${op}: expected a positive integer pool, got ${pool}`);
  const bands = features.cols;
  if (mean.length !== bands || std.length !== bands) {
    throw new Error(`${op}: expected mean and std of ${bands} bands (the features' columns), got ${mean.length} and ${std.length}`);
  }
  const steps = pooledSteps(features.rows, pool);
  if (steps < 1) throw new Error(`${op}: expected at least ${pool} frames to pool by ${pool}, got ${shapeOf(features)}`);
  const out = Matrix.zeros(steps, bands, 'float32');
  const scale = new Float64Array(bands);
  for (let k = 0; k < bands; k++) scale[k] = 1 / (pool * std[k]);
  for (let t = 0; t < steps; t++) {
    const o = t * bands;
    for (let f = t * pool; f < (t + 1) * pool; f++) {
      const s = features.offset + f * features.stride;
      for (let k = 0; k < bands; k++) out.data[o + k] += (features.data[s + k] - mean[k]) * scale[k];
    }
  }
  return out;
}

/** Per-band mean and standard deviation (population; floor 1e−3) over every frame of every clip. */
export function bandStatistics(spectrograms: readonly Matrix[]): BandStatistics {
  if (spectrograms.length === 0) throw new Error('bandStatistics: expected at least one spectrogram, got none');
  const bands = spectrograms[0].cols;
  const sum = new Float64Array(bands), sumSq = new Float64Array(bands);
  let n = 0;
  for (const s of spectrograms) {
    if (s.cols !== bands) throw new Error(`bandStatistics: expected every spectrogram to have ${bands} bands, got ${shapeOf(s)}`);
    for (let f = 0; f < s.rows; f++) {
      const o = s.offset + f * s.stride;
      for (let k = 0; k < bands; k++) {
        const v = s.data[o + k];
        sum[k] += v;
        sumSq[k] += v * v;
      }
    }
    n += s.rows;
  }
  const mean = new Float32Array(bands), std = new Float32Array(bands);
  for (let k = 0; k < bands; k++) {
    mean[k] = sum[k] / n;
    std[k] = Math.max(1e-3, Math.sqrt(Math.max(0, sumSq[k] / n - (sum[k] / n) ** 2)));
  }
  return { mean, std };
}

// =============================================================================================
// The data set: synthesis, cache, loading

export type TriggerSplit = 'train' | 'test';

export interface TriggerDataOptions {
  /** Clips per split (defaults 600 and 100). */
  train?: number;
  test?: number;
  seed?: number;
  /** Clip length (default 10 s). */
  seconds?: number;
  /** Spectrogram bands (default 64: groups of 4 of the 257 FFT bins, 125 Hz each). */
  bands?: number;
  /** Frames per output step for the stored labels (default 4: 40 ms steps). */
  pool?: number;
  /** Label run in output steps (default 9 ≈ 0.36 s at 40 ms steps). */
  run?: number;
  /** Recordings per word in each split's word bank (default 24: more voices generalise better). */
  variants?: number;
  /** Held-out clips also written as WAV + JSON under wav/ (for `seqgrad trigger detect`; default 5). */
  wavs?: number;
  /** Triggers and other words per clip (synth defaults [0, 4] each). */
  clip?: Pick<ClipOptions, 'triggers' | 'others'>;
}

export interface TriggerManifest {
  format: 'seqgrad.trigger-dataset';
  version: 1;
  seed: number;
  seconds: number;
  sampleRate: number;
  spectrogram: { frameMs: number; hopMs: number; bands: number };
  pool: number;
  run: number;
  variants: number;
  triggerWord: string;
  otherWords: string[];
  /** Triggers and other words per clip (null: the synth defaults). */
  clip: TriggerDataOptions['clip'] | null;
  clips: { train: number; test: number };
  /** The held-out clips written as WAV (paths relative to the directory). */
  wavs: string[];
}

/** One cached clip: its spectrogram, its trigger events and its labels per output step. */
export interface TriggerClipData {
  split: TriggerSplit;
  index: number;
  seconds: number;
  /** Log spectrogram S [frames, bands]. */
  features: Matrix;
  /** End times (s) of the "activate"s in the clip. */
  triggerEnds: number[];
  /** y⟨t⟩ at the manifest's pool (T_y = ⌊frames / pool⌋ steps). */
  labels: Float32Array;
  events: ClipEvent[];
}

interface ClipMeta {
  index: number;
  seconds: number;
  frames: number;
  bands: number;
  steps: number;
  events: ClipEvent[];
  /** y⟨t⟩ as a string of 0s and 1s. */
  labels: string;
}

const MANIFEST = 'manifest.json';
/** The options of a synthesis, written before its first clip. */
const OPTIONS = 'options.json';
const QUANT = 100;


/** The seed of clip i of a split (independent of the order clips are made in, so resuming is exact). */
function clipSeed(seed: number, split: TriggerSplit, index: number): number {
  const h = Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b) ^ (split === 'test' ? 0xc2b2ae35 : 0);
  return h >>> 0;
}

function clipPath(dir: string, split: TriggerSplit, index: number, ext: string): string {
  return nodePath.join(dir, split, `${String(index).padStart(6, '0')}.${ext}`);
}

function resolveDataOptions(opts: TriggerDataOptions): Required<Omit<TriggerDataOptions, 'clip'>> & { clip: TriggerDataOptions['clip'] } {
  const r = {
    train: opts.train ?? 600, test: opts.test ?? 100, seed: opts.seed ?? 1, seconds: opts.seconds ?? 10,
    bands: opts.bands ?? 64, pool: opts.pool ?? 4, run: opts.run ?? 9, variants: opts.variants ?? 24, wavs: opts.wavs ?? 5,
    clip: opts.clip,
  };
  const op = 'synthesizeTriggerDataset';
  for (const name of ['train', 'test', 'wavs'] as const) {
    if (!Number.isInteger(r[name]) || r[name] < 0) throw new Error(`${op}: expected ${name} to be an integer ≥ 0, got ${r[name]}`);
  }
  for (const name of ['bands', 'pool', 'run', 'variants'] as const) {
    if (!Number.isInteger(r[name]) || r[name] < 1) throw new Error(`${op}: expected ${name} to be a positive integer, got ${r[name]}`);
  }
  if (r.train + r.test === 0) throw new Error(`${op}: expected at least one clip, got train = 0 and test = 0`);
  if (!(r.seconds >= 1 && r.seconds <= 60)) throw new Error(`${op}: expected seconds in [1, 60], got ${r.seconds}`);
  if (!Number.isInteger(r.seed)) throw new Error(`${op}: expected an integer seed, got ${r.seed}`);
  return r;
}

/**
 * Synthesize the clips of both splits into `dir` (created if needed), or finish a synthesis that
 * was interrupted: clips already cached are kept. Needs espeak-ng (EspeakMissingError otherwise).
 * `onClip(done, total)` reports progress. Returns the manifest (also written to dir/manifest.json).
 */
export function synthesizeTriggerDataset(
  dir: string, options: TriggerDataOptions = {}, onClip?: (done: number, total: number) => void,
): TriggerManifest {
  const o = resolveDataOptions(options);
  if (!hasEspeak()) throw new EspeakMissingError();
  const wavCount = Math.min(o.wavs, o.test);
  const manifest: TriggerManifest = {
    format: 'seqgrad.trigger-dataset', version: 1, seed: o.seed, seconds: o.seconds, sampleRate: CLIP_SAMPLE_RATE,
    spectrogram: { frameMs: 25, hopMs: 10, bands: o.bands }, pool: o.pool, run: o.run, variants: o.variants,
    triggerWord: TRIGGER_WORD, otherWords: [...OTHER_WORDS], clip: o.clip ?? null, clips: { train: o.train, test: o.test },
    wavs: Array.from({ length: wavCount }, (_, i) => nodePath.join('wav', `test-${String(i).padStart(6, '0')}.wav`)),
  };
  checkCacheOptions(dir, manifest);
  const words = [TRIGGER_WORD, ...OTHER_WORDS];
  const total = o.train + o.test;
  let done = 0;
  for (const split of ['train', 'test'] as const) {
    const count = split === 'train' ? o.train : o.test;
    if (count === 0) continue;
    fs.mkdirSync(nodePath.join(dir, split), { recursive: true });
    // Each split has a word bank of its own: held-out clips are spoken by other voices.
    let bank: ReturnType<typeof synthesizeWordBank> | null = null;
    for (let i = 0; i < count; i++) {
      const wavBase = split === 'test' && i < wavCount ? nodePath.join(dir, 'wav', `test-${String(i).padStart(6, '0')}`) : null;
      const cached = fs.existsSync(clipPath(dir, split, i, 'json')) && (wavBase === null || fs.existsSync(`${wavBase}.json`));
      if (!cached) {
        bank ??= synthesizeWordBank(words, o.variants, new Rng(clipSeed(o.seed, split, -1)));
        const clip = composeClip(new Rng(clipSeed(o.seed, split, i)), bank, { seconds: o.seconds, ...o.clip });
        writeClip(dir, split, i, clip, manifest.spectrogram, o.pool, o.run);
        if (wavBase !== null) {
          fs.mkdirSync(nodePath.dirname(wavBase), { recursive: true });
          writeTriggerClip(wavBase, clip);
        }
      }
      onClip?.(++done, total);
    }
  }
  writeFileAtomic(nodePath.join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

/** What makes a cached clip what it is (everything but the clip counts): clip i is the same for equal keys. */
function cacheKey(m: TriggerManifest): string {
  const { clips: _clips, wavs: _wavs, ...key } = m;
  return JSON.stringify(key);
}

/**
 * Refuse to mix clips made with other options in one directory; record the options before the
 * first clip is written (so an interrupted synthesis is checked too). More or fewer clips with the
 * same options are fine: clip i depends only on the seed and i.
 */
function checkCacheOptions(dir: string, manifest: TriggerManifest): void {
  const path = nodePath.join(dir, OPTIONS);
  if (fs.existsSync(path)) {
    const previous = readJsonFile<TriggerManifest>(path, 'trigger data set options');
    if (cacheKey(previous) !== cacheKey(manifest)) {
      throw new InputError(`synthesizeTriggerDataset: ${dir} holds clips made with other options (${cacheKey(previous)}); use another directory or delete it`);
    }
  }
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomic(path, JSON.stringify(manifest, null, 2) + '\n');
}

/** The spectrogram and labels of one clip (what the cache stores). */
export function clipFeatures(
  clip: TriggerClip, spectrogram: SpectrogramOptions, pool: number, run: number,
): { features: Matrix; labels: Float32Array; triggerEnds: number[] } {
  const features = logSpectrogram(clip.samples, clip.sampleRate, spectrogram).values;
  const triggerEnds = clip.events.filter((e) => e.trigger).map((e) => e.end);
  const labels = triggerLabels(triggerEnds, pooledSteps(features.rows, pool), clip.seconds, run);
  return { features, labels, triggerEnds };
}

function writeClip(
  dir: string, split: TriggerSplit, index: number, clip: TriggerClip, spectrogram: SpectrogramOptions, pool: number, run: number,
): void {
  const { features, labels } = clipFeatures(clip, spectrogram, pool, run);
  const q = new Int16Array(features.rows * features.cols);
  for (let i = 0; i < q.length; i++) q[i] = Math.max(-32768, Math.min(32767, Math.round(features.data[i] * QUANT)));
  const bytes = new Uint8Array(q.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < q.length; i++) view.setInt16(2 * i, q[i], true);
  // Features first, metadata second: a clip counts as cached once its .json exists.
  writeFileAtomic(clipPath(dir, split, index, 's16'), bytes);
  const meta: ClipMeta = {
    index, seconds: clip.seconds, frames: features.rows, bands: features.cols, steps: labels.length,
    events: clip.events, labels: Array.from(labels, (y) => (y > 0 ? '1' : '0')).join(''),
  };
  writeFileAtomic(clipPath(dir, split, index, 'json'), JSON.stringify(meta) + '\n');
}

/** The manifest of a cached data set, or null when `dir` holds none (not synthesized, or interrupted). */
export function readTriggerManifest(dir: string): TriggerManifest | null {
  const path = nodePath.join(dir, MANIFEST);
  if (!fs.existsSync(path)) return null;
  let json: TriggerManifest;
  try {
    json = readJsonFile<TriggerManifest>(path, 'trigger data set manifest');
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  if (json?.format !== 'seqgrad.trigger-dataset' || json.version !== 1) {
    throw new InputError(`readTriggerManifest: ${path} is not a seqgrad trigger data set (format ${JSON.stringify(json?.format)}, version ${JSON.stringify(json?.version)})`);
  }
  return json;
}

/** Load every clip of a split from the cache (throws an InputError naming the file when one is missing or damaged). */
export function loadTriggerSplit(dir: string, split: TriggerSplit, manifest?: TriggerManifest): TriggerClipData[] {
  const m = manifest ?? readTriggerManifest(dir);
  if (m === null) throw new InputError(`loadTriggerSplit: ${dir} holds no trigger data set (no ${MANIFEST}; run 'seqgrad trigger synth --out ${dir}')`);
  const out: TriggerClipData[] = [];
  for (let i = 0; i < m.clips[split]; i++) out.push(readClip(dir, split, i));
  return out;
}

function readClip(dir: string, split: TriggerSplit, index: number): TriggerClipData {
  const metaPath = clipPath(dir, split, index, 'json');
  const dataPath = clipPath(dir, split, index, 's16');
  let meta: ClipMeta;
  let bytes: Buffer;
  try {
    meta = readJsonFile<ClipMeta>(metaPath, 'cached clip');
    bytes = fs.readFileSync(dataPath);
  } catch (err) {
    throw new InputError(`loadTriggerSplit: ${(err as Error).message}`);
  }
  const n = meta.frames * meta.bands;
  if (!Number.isInteger(n) || n <= 0 || bytes.length !== 2 * n) {
    throw new InputError(`loadTriggerSplit: ${dataPath} holds ${bytes.length} bytes, expected ${2 * n} for a [${meta.frames}, ${meta.bands}] int16 spectrogram`);
  }
  if (typeof meta.labels !== 'string' || meta.labels.length !== meta.steps || /[^01]/.test(meta.labels)) {
    throw new InputError(`loadTriggerSplit: ${metaPath}: expected labels to be a string of ${meta.steps} 0s and 1s`);
  }
  const features = Matrix.zeros(meta.frames, meta.bands, 'float32');
  for (let i = 0; i < n; i++) features.data[i] = bytes.readInt16LE(2 * i) / QUANT;
  const labels = Float32Array.from(meta.labels, (c) => (c === '1' ? 1 : 0));
  const triggerEnds = meta.events.filter((e) => e.trigger).map((e) => e.end);
  return { split, index, seconds: meta.seconds, features, triggerEnds, labels, events: meta.events };
}

// =============================================================================================
// The model

export interface TriggerModelConfig {
  /** Spectrogram bands D (input width). */
  bands: number;
  /** Frames per output step P (1: no pooling). */
  pool: number;
  /** GRU hidden size H. */
  hidden: number;
  /** Stacked recurrent layers (default 1). */
  layers: number;
  cell: CellKind;
  /** How the spectrogram was computed (detect recomputes it from a WAV the same way). */
  spectrogram: { frameMs: number; hopMs: number; bands: number };
  /** Label run (output steps), for scoring. */
  run: number;
}

export interface TriggerModel {
  readonly config: TriggerModelConfig;
  readonly net: ManyToManyModel;
  /** The front end's per-band normalisation. */
  readonly mean: Float32Array;
  readonly std: Float32Array;
}

/** The front end's per-band normalisation (bandStatistics of the training clips). */
export interface BandStatistics {
  mean: Float32Array;
  std: Float32Array;
}

/**
 * A new model: defaults pool 4, hidden 64, 1 layer, GRU, run 9; `config.stats` the band statistics
 * (default mean 0, std 1). Weights from `options.rng` (default `new Rng(DEFAULT_SEED)`), in `options.dtype`.
 */
export function createTriggerModel(
  config: Partial<TriggerModelConfig> & { bands: number; stats?: BandStatistics }, options?: CreateOptions,
): TriggerModel;
/** @deprecated Use `createTriggerModel({ ...config, stats }, { rng })`. */
export function createTriggerModel(config: Partial<TriggerModelConfig> & { bands: number }, rng: Rng, stats?: BandStatistics): TriggerModel;
export function createTriggerModel(
  first: Partial<TriggerModelConfig> & { bands: number; stats?: BandStatistics }, second?: CreateOptions | Rng, oldStats?: BandStatistics,
): TriggerModel {
  const op = 'createTriggerModel';
  const legacy = isRng(second);
  const { stats: configStats, ...config } = first;
  const stats = legacy ? oldStats : configStats;
  const { rng, dtype } = resolveCreateOptions(op, legacy ? { rng: second } : second);
  const c: TriggerModelConfig = {
    bands: config.bands, pool: config.pool ?? 4, hidden: config.hidden ?? 64, layers: config.layers ?? 1,
    cell: config.cell ?? 'gru', run: config.run ?? 9,
    spectrogram: config.spectrogram ?? { frameMs: 25, hopMs: 10, bands: config.bands },
  };
  for (const name of ['bands', 'pool', 'hidden', 'layers', 'run'] as const) {
    if (!Number.isInteger(c[name]) || c[name] < 1) throw new Error(`${op}: expected ${name} to be a positive integer, got ${c[name]}`);
  }
  if (c.spectrogram.bands !== c.bands) throw new Error(`${op}: expected spectrogram.bands = bands = ${c.bands}, got ${c.spectrogram.bands}`);
  // At least W_a [H, H] and W_x [H, in] per layer: checked before allocating.
  checkModelSize(op, c.layers * c.hidden * (c.hidden + c.bands), `a ${c.cell} of hidden ${c.hidden} × ${c.layers} layer(s) over ${c.bands} bands`);
  const rnn = createStackedRnn({ kind: c.cell, inputSize: c.bands, hiddenSize: c.hidden, numLayers: c.layers }, { rng, dtype });
  const head = createOutputHead({ kind: 'sigmoid', inputSize: c.hidden, outputSize: 1 }, { rng, dtype });
  const mean = stats?.mean ?? new Float32Array(c.bands);
  const std = stats?.std ?? new Float32Array(c.bands).fill(1);
  if (mean.length !== c.bands || std.length !== c.bands) throw new Error(`${op}: expected band statistics of ${c.bands} entries, got ${mean.length} and ${std.length}`);
  return { config: c, net: createManyToMany({ rnn, head }), mean, std };
}

/** The front end of one clip: pooled, normalised features [T_y, bands]. */
export function triggerInputs(model: TriggerModel, features: Matrix): Matrix {
  if (features.cols !== model.config.bands) {
    throw new Error(`triggerInputs: expected a spectrogram of ${model.config.bands} bands, got ${shapeOf(features)}`);
  }
  return poolAndNormalize(features, model.config.pool, model.mean, model.std);
}

/**
 * Fill a time-major batch from per-clip inputs [T_b, D] (and labels [T_b]): x [T·B, D], y [T·B, 1],
 * mask [T, B] (1 on each clip's steps, 0 on the padding after it). T = the longest clip.
 */
function fillBatch(
  x: Matrix, y: Matrix | null, mask: Matrix, inputs: readonly Matrix[], labels: readonly Float32Array[] | null, steps: number,
): void {
  const B = inputs.length;
  const D = x.cols;
  x.data.fill(0, 0, steps * B * D);
  if (y) y.data.fill(0, 0, steps * B);
  mask.data.fill(0, 0, steps * B);
  for (let b = 0; b < B; b++) {
    const input = inputs[b];
    for (let t = 0; t < input.rows; t++) {
      const row = t * B + b;
      x.data.set(input.data.subarray(t * D, (t + 1) * D), row * D);
      if (y && labels) y.data[row] = labels[b][t];
      mask.data[row] = 1;
    }
  }
}

/** The shared loop's controls (time limit, stop signal, progress) and the trigger model's training. */
export interface TriggerTrainOptions extends LoopControls {
  epochs?: number;
  /** Clips per update (default 16). */
  batchSize?: number;
  /** Adam's learning rate (default 3e−3). */
  lr?: number;
  /** Gradient clipping (default: the global norm to 5; null: none). */
  clip?: GradientClip | null;
}

export interface TriggerTrainResult {
  steps: number;
  /** Mean loss of each epoch (the epochs finished, and the partial one a stop request ended). */
  epochLosses: number[];
  seconds: number;
  stopReason: StopReason;
}

/**
 * Train on the clips (labels at the model's pool: T_y = ⌊frames / pool⌋, else recomputed from the
 * trigger end times). Shuffles with `rng` every epoch; a last batch smaller than batchSize is
 * skipped that epoch (the next shuffle puts its clips elsewhere). Adam with gradient clipping (global
 * norm by default), through the shared training loop (training/core/loop.ts).
 */
export function trainTriggerModel(model: TriggerModel, clips: readonly TriggerClipData[], opts: TriggerTrainOptions, rng: Rng): TriggerTrainResult {
  const op = 'trainTriggerModel';
  const epochs = opts.epochs ?? 10;
  const lr = opts.lr ?? 3e-3;
  const clip = opts.clip === undefined ? { mode: 'norm' as const, max: 5 } : opts.clip;
  if (clips.length === 0) throw new Error(`${op}: expected at least one training clip, got none`);
  const B = Math.min(opts.batchSize ?? 16, clips.length);
  if (!Number.isInteger(B) || B < 1) throw new Error(`${op}: expected a positive integer batch size, got ${opts.batchSize}`);
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`${op}: expected a positive integer number of epochs, got ${epochs}`);
  const inputs = clips.map((c) => triggerInputs(model, c.features));
  const labels = clips.map((c, i) => labelsAtSteps(c, inputs[i].rows, model.config.run));
  const T = Math.max(...inputs.map((m) => m.rows));
  const D = model.config.bands;

  setHeadBiasToBaseRate(model, labels);
  const ws = createManyToManyWorkspace(model.net, T, B);
  const x = Matrix.zeros(T * B, D, 'float32');
  const y = Matrix.zeros(T * B, 1, 'float32');
  const mask = Matrix.zeros(T, B, 'float32');
  const { params, grads } = modelParameters(model.net);
  const optimizer = createOptimizer({ kind: 'adam', lr }, params);
  const update = createUpdate(params, grads, optimizer, { clip });
  const perEpoch = Math.floor(clips.length / B);
  const epochLosses: number[] = [];
  let order: number[] = [];
  let epoch = -1, k = perEpoch, lossSum = 0, done = 0;
  const result = runTrainingLoop({
    startStep: 0, totalSteps: perEpoch * epochs, budgetReason: 'epochs',
    timeLimitSeconds: opts.timeLimitSeconds, signal: opts.signal, now: opts.now, onProgress: opts.onProgress,
    step: () => {
      if (k === perEpoch) {
        order = rng.permutation(clips.length);
        epoch++;
        k = 0;
        lossSum = 0;
      }
      const pick = order.slice(k * B, (k + 1) * B);
      const steps = Math.max(...pick.map((i) => inputs[i].rows));
      fillBatch(x, y, mask, pick.map((i) => inputs[i]), pick.map((i) => labels[i]), steps);
      const rows = steps * B;
      modelZeroGrads(model.net);
      const r = manyToManyForward(model.net, ws, x.rowView(0, rows), y.rowView(0, rows), {
        mask: steps === T ? mask : mask.rowView(0, steps), reduction: 'mean',
      });
      manyToManyBackward(model.net, ws, { inputGradient: false });
      update(done + 1, r.loss);
      done++;
      lossSum += r.loss;
      k++;
      if (k === perEpoch) epochLosses.push(lossSum / perEpoch);
      return { loss: r.loss, epoch: epoch + k / perEpoch, units: B };
    },
  });
  // Interrupted within an epoch: the mean of its updates so far is the last entry.
  if (result.stopReason === 'interrupted' && k > 0 && k < perEpoch) epochLosses.push(lossSum / k);
  return { steps: result.steps, epochLosses, seconds: result.seconds, stopReason: result.stopReason };
}

/** The clip's labels at T_y steps: the stored ones when they match, else recomputed from the trigger ends. */
function labelsAtSteps(clip: TriggerClipData, steps: number, run: number): Float32Array {
  if (clip.labels.length === steps) return clip.labels;
  return triggerLabels(clip.triggerEnds, steps, clip.seconds, run);
}

/** b_y = logit(rate of 1s in the labels): the head starts at the base rate. */
function setHeadBiasToBaseRate(model: TriggerModel, labels: readonly Float32Array[]): void {
  let ones = 0, n = 0;
  for (const l of labels) for (const v of l) { ones += v; n++; }
  const rate = Math.min(0.99, Math.max(0.01, ones / Math.max(1, n)));
  const b = model.net.head.dense.params.b;
  if (b) b.set(0, 0, Math.log(rate / (1 - rate)));
}

/** ŷ⟨t⟩ for every output step of each spectrogram (batches of `batchSize`). */
export function predictTrigger(model: TriggerModel, spectrograms: readonly Matrix[], batchSize = 16): Float32Array[] {
  const inputs = spectrograms.map((s) => triggerInputs(model, s));
  const out: Float32Array[] = [];
  const workspaces = new Map<string, ManyToManyWorkspace>();
  for (let start = 0; start < inputs.length; start += batchSize) {
    const batch = inputs.slice(start, start + batchSize);
    const B = batch.length;
    const T = Math.max(...batch.map((m) => m.rows));
    const key = `${T}x${B}`;
    let ws = workspaces.get(key);
    if (!ws) {
      ws = createManyToManyWorkspace(model.net, T, B);
      workspaces.set(key, ws);
    }
    const x = Matrix.zeros(T * B, model.config.bands, 'float32');
    const mask = Matrix.zeros(T, B, 'float32');
    fillBatch(x, null, mask, batch, null, T);
    const { logits } = manyToManyLogits(model.net, ws, x, { mask });
    for (let b = 0; b < B; b++) {
      const p = new Float32Array(batch[b].rows);
      for (let t = 0; t < p.length; t++) p[t] = sigmoid(logits.get(t * B + b, 0));
      out.push(p);
    }
  }
  return out;
}

export interface TriggerEvaluation extends PrecisionRecall, DetectionCounts {
  clips: number;
  triggers: number;
  threshold: number;
  /** Steps before a label window that still count as a correct detection (scoreDetections). */
  early: number;
  /** Per-step accuracy of ŷ > threshold against y. */
  stepAccuracy: number;
}

/** Detections and per-step accuracy on held-out clips. */
export function evaluateTrigger(
  model: TriggerModel, clips: readonly TriggerClipData[], threshold = 0.5, early = 0,
  probabilities: readonly Float32Array[] = predictTrigger(model, clips.map((c) => c.features)),
): TriggerEvaluation {
  let counts: DetectionCounts = { truePositives: 0, falsePositives: 0, falseNegatives: 0 };
  let correctSteps = 0, steps = 0, triggers = 0;
  clips.forEach((clip, i) => {
    const p = probabilities[i];
    const windows = triggerWindows(clip.triggerEnds, p.length, clip.seconds, model.config.run);
    triggers += windows.length;
    counts = addCounts(counts, scoreDetections(detectTriggers(p, threshold), windows, early));
    const y = labelsAtSteps(clip, p.length, model.config.run);
    for (let t = 0; t < p.length; t++) if ((p[t] > threshold ? 1 : 0) === y[t]) correctSteps++;
    steps += p.length;
  });
  return { ...counts, ...precisionRecall(counts), clips: clips.length, triggers, threshold, early, stepAccuracy: steps ? correctSteps / steps : 0 };
}

/** The model's features of a WAV clip (resampled to the data's 16 kHz when needed). */
export function spectrogramOfAudio(model: TriggerModel, samples: Float32Array, sampleRate: number): Matrix {
  const audio = sampleRate === CLIP_SAMPLE_RATE ? samples : resample(samples, sampleRate, CLIP_SAMPLE_RATE);
  return logSpectrogram(audio, CLIP_SAMPLE_RATE, model.config.spectrogram).values;
}

// =============================================================================================
// The plot

export interface TriggerPlotOptions {
  title: string;
  /** Log spectrogram [frames, bands]. */
  spectrogram: Matrix;
  /** ŷ⟨t⟩ per output step (T_y = ⌊frames / pool⌋). */
  probabilities: ArrayLike<number>;
  pool: number;
  /** Seconds per frame (default 0.01). */
  frameSeconds?: number;
  /** Label windows of true triggers (output steps), marked in the column labels. */
  windows?: readonly [number, number][];
  /** Highest frequency of the spectrogram, for the row labels (default 8000 Hz). */
  maxHz?: number;
}

/**
 * The clip's spectrogram as a heatmap (time left to right, high frequencies on top; downsampled to
 * at most 125 columns × 32 rows by averaging) with ŷ⟨t⟩ as the bar strip above it (the largest ŷ
 * of the steps a column covers; heatmapSvg scales the bars to their maximum, which the label states).
 */
export function triggerPlotSvg(opts: TriggerPlotOptions): string {
  const { spectrogram: s, probabilities: p, pool } = opts;
  const steps = p.length;
  if (steps !== pooledSteps(s.rows, pool)) {
    throw new Error(`triggerPlotSvg: expected ⌊${s.rows} frames / ${pool}⌋ = ${pooledSteps(s.rows, pool)} probabilities, got ${steps}`);
  }
  const stepsPerColumn = Math.ceil(steps / 125);
  const columns = Math.ceil(steps / stepsPerColumn);
  const bandsPerRow = Math.ceil(s.cols / 32);
  const rows = Math.ceil(s.cols / bandsPerRow);
  const values: number[][] = [];
  for (let r = 0; r < rows; r++) {
    const bandLo = s.cols - (r + 1) * bandsPerRow < 0 ? 0 : s.cols - (r + 1) * bandsPerRow;
    const bandHi = s.cols - r * bandsPerRow;
    const row: number[] = [];
    for (let c = 0; c < columns; c++) {
      const frameLo = c * stepsPerColumn * pool, frameHi = Math.min(steps * pool, (c + 1) * stepsPerColumn * pool);
      let sum = 0;
      for (let f = frameLo; f < frameHi; f++) for (let k = bandLo; k < bandHi; k++) sum += s.get(f, k);
      row.push(sum / ((frameHi - frameLo) * (bandHi - bandLo)));
    }
    values.push(row);
  }
  const overlay: number[] = [];
  for (let c = 0; c < columns; c++) {
    let m = 0;
    for (let t = c * stepsPerColumn; t < Math.min(steps, (c + 1) * stepsPerColumn); t++) m = Math.max(m, p[t]);
    overlay.push(m);
  }
  const frameSeconds = opts.frameSeconds ?? 0.01;
  const columnSeconds = stepsPerColumn * pool * frameSeconds;
  const colLabels = overlay.map((_, c) => {
    const marks = (opts.windows ?? []).some(([first]) => Math.floor(first / stepsPerColumn) === c);
    if (marks) return '▼ activate';
    // Label the first column of each whole second.
    const second = Math.floor(c * columnSeconds);
    return c === 0 || second > Math.floor((c - 1) * columnSeconds) ? `${second} s` : '';
  });
  const maxHz = opts.maxHz ?? 8000;
  const rowLabels = values.map((_, r) => (r % 4 === 0 ? `${Math.round((maxHz * (rows - r)) / rows)} Hz` : ''));
  const peak = Math.max(...overlay);
  return heatmapSvg({
    title: opts.title, values, rowLabels, colLabels,
    overlay: { name: `ŷ, max ${peak.toFixed(2)}`, values: overlay },
    xLabel: 'time', yLabel: 'frequency', valueLabel: 'log power',
  });
}

// =============================================================================================
// Saving and loading

export interface TriggerModelJSON {
  format: 'seqgrad.trigger-model';
  version: 1;
  config: TriggerModelConfig;
  mean: number[];
  std: number[];
  rnn: LayerJSON;
  head: { W: MatrixJSON; b: MatrixJSON };
}

export function triggerModelToJSON(model: TriggerModel): TriggerModelJSON {
  const { W, b } = model.net.head.dense.params;
  return {
    format: 'seqgrad.trigger-model', version: 1, config: { ...model.config, spectrogram: { ...model.config.spectrogram } },
    mean: Array.from(model.mean), std: Array.from(model.std), rnn: layerToJSON(model.net.rnn),
    head: { W: matrixToJSON(W), b: matrixToJSON(b as Matrix) },
  };
}

export function saveTriggerModel(path: string, model: TriggerModel): void {
  writeFileAtomic(path, JSON.stringify(triggerModelToJSON(model)) + '\n');
}

/** Rebuild a model from its JSON; every problem is an InputError naming `source` and the field. */
export function triggerModelFromJSON(json: TriggerModelJSON, source = 'trigger model'): TriggerModel {
  const fail = (what: string): never => { throw new InputError(`${source}: ${what}`); };
  if (json?.format !== 'seqgrad.trigger-model' || json.version !== 1) {
    return fail(`expected format "seqgrad.trigger-model" version 1, got ${JSON.stringify(json?.format)} version ${JSON.stringify(json?.version)}`);
  }
  const rnn = layerFromJSON(json.rnn, `${source} (rnn)`);
  if (!isStackedRnn(rnn)) return fail('expected rnn to be a stacked layer');
  // The config builds a network of its own before the weights are compared: its sizes must be the rnn's from the file.
  const c = json.config as Partial<TriggerModelConfig> | undefined;
  if (c?.hidden !== rnn.outputSize || c?.bands !== rnn.inputSize || (c.layers ?? 1) !== rnn.layers.length) {
    return fail(`expected config hidden ${rnn.outputSize}, bands ${rnn.inputSize}, layers ${rnn.layers.length} (the rnn's), got ${c?.hidden}, ${c?.bands}, ${c?.layers}`);
  }
  let model: TriggerModel;
  try {
    model = createTriggerModel({ ...json.config, stats: { mean: Float32Array.from(json.mean), std: Float32Array.from(json.std) } }, { rng: new Rng(0) });
  } catch (err) {
    return fail((err as Error).message);
  }
  if (rnn.inputSize !== model.config.bands || rnn.outputSize !== model.config.hidden) {
    return fail(`expected an rnn reading ${model.config.bands} bands with ${model.config.hidden} outputs, got ${rnn.inputSize} → ${rnn.outputSize}`);
  }
  const head = model.net.head;
  for (const name of ['W', 'b'] as const) {
    let m: Matrix;
    try {
      m = matrixFromJSON(json.head?.[name]);
    } catch (err) {
      return fail(`head.${name}: ${(err as Error).message}`);
    }
    const p = head.dense.params[name] as Matrix;
    if (m.rows !== p.rows || m.cols !== p.cols) return fail(`expected head.${name} ${shapeOf(p)}, got ${shapeOf(m)}`);
    copyInto(p, m);
  }
  return { ...model, net: createManyToMany({ rnn, head }) };
}

export function loadTriggerModel(path: string): TriggerModel {
  let json: TriggerModelJSON;
  try {
    json = readJsonFile<TriggerModelJSON>(path, 'trigger model file');
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  return triggerModelFromJSON(json, `trigger model file ${path}`);
}
