/**
 * Synthesized training audio for the notes' trigger-word detector ("Alexa", "Hey Siri"; here
 * the word "activate"), made with Debian's espeak-ng text-to-speech instead of recordings:
 *
 *   1. a word bank: each word spoken by espeak-ng (`espeak-ng -v VOICE -s SPEED -p PITCH -z -w
 *      file.wav WORD`) in several seeded voices, speeds and pitches, resampled from espeak's
 *      22 050 Hz to 16 kHz by our own windowed-sinc resampler, silence trimmed, peak-normalised;
 *   2. a clip: seeded background noise (white + low-frequency rumble + mains hum), over which
 *      0–4 "activate"s and 0–4 other words are added at random non-overlapping offsets;
 *   3. labels as in the notes: y⟨t⟩ = 1 for the `run` (default 50) output steps right after each
 *      "activate" ends (y[k+1 … k+run], k = ⌊end·T / seconds⌋), 0 elsewhere — a run rather than a
 *      single 1 so the classes are less unbalanced.
 *
 * Clips are 10 seconds by default (the notes' length; `seconds` makes them shorter). Where
 * espeak-ng is missing, `hasEspeak()` is false and synthesis throws ESPEAK_MISSING_MESSAGE.
 */
import { childProcess, fs, os, nodePath } from '../../io/node-builtins.js';
import type { Matrix } from '../../../engine/matrix.js';
import type { Rng } from '../../../engine/rng.js';
import { writeFileAtomic } from '../../io/files.js';
import { logSpectrogram, type SpectrogramOptions } from './spectrogram.js';
import { decodeWav, encodeWav, type WavAudio } from './wav.js';

export const ESPEAK_MISSING_MESSAGE =
  'espeak-ng not found: install it with apt-get install espeak-ng; trigger word synthesis skipped';

export const TRIGGER_WORD = 'activate';

/** Words that are not the trigger, a few of them close to it in sound ("active", "motivate"). */
export const OTHER_WORDS: readonly string[] = [
  'cat', 'window', 'seven', 'banana', 'music', 'yellow', 'morning', 'computer', 'active', 'motivate',
];

/** The sample rate of every clip (Hz). */
export const CLIP_SAMPLE_RATE = 16000;

/** Whether espeak-ng runs, per value of PATH (probed once for each). */
const espeakProbes = new Map<string, boolean>();

/** True when `espeak-ng --version` runs (checked once per process and PATH). */
export function hasEspeak(): boolean {
  const key = process.env.PATH ?? '';
  let available = espeakProbes.get(key);
  if (available === undefined) {
    const probe = childProcess.spawnSync('espeak-ng', ['--version'], { encoding: 'utf8', timeout: 10_000 });
    available = !probe.error && probe.status === 0;
    espeakProbes.set(key, available);
  }
  return available;
}

/** Thrown by synthesis where espeak-ng is missing; its message says how to install it. */
export class EspeakMissingError extends Error {
  constructor() {
    super(ESPEAK_MISSING_MESSAGE);
    this.name = 'EspeakMissingError';
  }
}

export interface VoiceOptions {
  /** An espeak-ng voice, optionally with a variant: 'en', 'en-us', 'en-us+f3' (default 'en-us'). */
  voice?: string;
  /** Words per minute (espeak -s; default 160). */
  speed?: number;
  /** 0 … 99 (espeak -p; default 50). */
  pitch?: number;
}

/** The voices the word bank draws from (espeak-ng's own voices with its bundled variants). */
export const BANK_VOICES: readonly string[] = [
  'en-us', 'en-us+f3', 'en-us+m3', 'en', 'en+f2', 'en+m7', 'en-gb-scotland', 'en-029+f4', 'en-us+f5', 'en+m2',
];

/**
 * Speak `text` with espeak-ng and return it at `sampleRate` (default 16 kHz), silence trimmed.
 * Throws EspeakMissingError where espeak-ng is not installed.
 */
export function synthesizeSpeech(text: string, options: VoiceOptions = {}, sampleRate = CLIP_SAMPLE_RATE): WavAudio {
  const op = 'synthesizeSpeech';
  if (!/^[A-Za-z][A-Za-z' ]*$/.test(text)) {
    throw new Error(`${op}: expected words of letters, spaces and apostrophes, got ${JSON.stringify(text)}`);
  }
  if (!hasEspeak()) throw new EspeakMissingError();
  const voice = options.voice ?? 'en-us';
  const speed = options.speed ?? 160;
  const pitch = options.pitch ?? 50;
  if (!/^[A-Za-z0-9+_-]+$/.test(voice)) throw new Error(`${op}: expected a voice name like 'en-us+f3', got ${JSON.stringify(voice)}`);
  if (!(speed >= 80 && speed <= 450)) throw new Error(`${op}: expected a speed of 80 … 450 words per minute, got ${speed}`);
  if (!(pitch >= 0 && pitch <= 99)) throw new Error(`${op}: expected a pitch of 0 … 99, got ${pitch}`);
  const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'seqgrad-espeak-'));
  const file = nodePath.join(dir, 'speech.wav');
  try {
    const args = ['-v', voice, '-s', String(Math.round(speed)), '-p', String(Math.round(pitch)), '-z', '-w', file, text];
    const run = childProcess.spawnSync('espeak-ng', args, { encoding: 'utf8', timeout: 30_000 });
    if (run.error || run.status !== 0) {
      const why = run.error ? run.error.message : (run.stderr || `exit status ${run.status}`).trim();
      throw new Error(`${op}: espeak-ng ${args.join(' ')} failed: ${why}`);
    }
    const wav = decodeWav(fs.readFileSync(file), `espeak-ng output for ${JSON.stringify(text)}`);
    const resampled = resample(wav.samples, wav.sampleRate, sampleRate);
    return { sampleRate, samples: trimSilence(resampled, sampleRate).samples };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Band-limited resampling by windowed-sinc interpolation:
 *   y[m] = Σ_n x[n]·g(m·from/to − n),  g(u) = f_c·sinc(f_c·u)·blackman(u / (Z / f_c)),
 * f_c = min(1, to/from) (the cutoff, relative to the input's Nyquist frequency, so that
 * downsampling first removes what the new rate cannot represent), Z = 16 zero crossings of the
 * sinc on each side. Output length ⌊N·to/from⌋.
 */
export function resample(samples: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (!(fromRate > 0) || !(toRate > 0)) throw new Error(`resample: expected positive rates, got ${fromRate} → ${toRate}`);
  if (fromRate === toRate) return samples.slice();
  const ratio = fromRate / toRate; // input samples per output sample
  const cutoff = Math.min(1, toRate / fromRate);
  const zeros = 16;
  const halfWidth = zeros / cutoff; // in input samples
  const out = new Float32Array(Math.floor((samples.length * toRate) / fromRate));
  for (let m = 0; m < out.length; m++) {
    const t = m * ratio;
    const first = Math.max(0, Math.ceil(t - halfWidth));
    const last = Math.min(samples.length - 1, Math.floor(t + halfWidth));
    let acc = 0;
    for (let n = first; n <= last; n++) {
      const u = t - n;
      acc += samples[n] * cutoff * sinc(cutoff * u) * blackman(u / halfWidth);
    }
    out[m] = acc;
  }
  return out;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

/** The Blackman window on [−1, 1] (0 outside). */
function blackman(x: number): number {
  if (x <= -1 || x >= 1) return 0;
  return 0.42 + 0.5 * Math.cos(Math.PI * x) + 0.08 * Math.cos(2 * Math.PI * x);
}

/**
 * Cut leading and trailing silence: keep from the first to the last sample whose magnitude
 * exceeds `threshold`·peak, plus `marginMs` on each side. Returns the kept range [start, end).
 */
export function trimSilence(
  samples: Float32Array, sampleRate: number, threshold = 0.02, marginMs = 10,
): { samples: Float32Array; start: number; end: number } {
  let peak = 0;
  for (const x of samples) peak = Math.max(peak, Math.abs(x));
  if (peak === 0) return { samples: samples.slice(0, 0), start: 0, end: 0 };
  const limit = threshold * peak;
  let first = 0, last = samples.length - 1;
  while (Math.abs(samples[first]) <= limit) first++;
  while (Math.abs(samples[last]) <= limit) last--;
  const margin = Math.round((marginMs * sampleRate) / 1000);
  const start = Math.max(0, first - margin), end = Math.min(samples.length, last + 1 + margin);
  return { samples: samples.slice(start, end), start, end };
}

// ───────────────────────── the word bank ─────────────────────────

export interface WordRecording {
  word: string;
  voice: Required<VoiceOptions>;
  /** 16 kHz, trimmed, peak 1. */
  samples: Float32Array;
}

/** Recordings of each word, several voices each. */
export type WordBank = Map<string, WordRecording[]>;

/**
 * Speak every word in `variants` seeded voices (voice from BANK_VOICES, 130–200 words per
 * minute, pitch 30–70). Throws EspeakMissingError where espeak-ng is missing.
 */
export function synthesizeWordBank(words: readonly string[], variants: number, rng: Rng): WordBank {
  if (!Number.isInteger(variants) || variants < 1) throw new Error(`synthesizeWordBank: expected variants ≥ 1, got ${variants}`);
  if (!hasEspeak()) throw new EspeakMissingError();
  const bank: WordBank = new Map();
  for (const word of words) {
    const recordings: WordRecording[] = [];
    for (let v = 0; v < variants; v++) {
      const voice = { voice: BANK_VOICES[rng.int(BANK_VOICES.length)], speed: 130 + rng.int(71), pitch: 30 + rng.int(41) };
      const { samples } = synthesizeSpeech(word, voice);
      recordings.push({ word, voice, samples: normalizePeak(samples) });
    }
    bank.set(word, recordings);
  }
  return bank;
}

function normalizePeak(samples: Float32Array): Float32Array {
  let peak = 0;
  for (const x of samples) peak = Math.max(peak, Math.abs(x));
  if (peak > 0) for (let i = 0; i < samples.length; i++) samples[i] /= peak;
  return samples;
}

// ───────────────────────── clips ─────────────────────────

export interface NoiseOptions {
  /** RMS level of the noise, drawn uniformly from this range (default [0.003, 0.03]). */
  level?: [number, number];
}

/**
 * Seeded background noise: a random mix of white noise, low-frequency rumble (white noise
 * through a one-pole low-pass, r[n] = 0.995·r[n−1] + w[n]) and a 50 or 60 Hz hum with two
 * harmonics, scaled to an RMS level drawn from `level`.
 */
export function backgroundNoise(rng: Rng, length: number, sampleRate: number, options: NoiseOptions = {}): Float32Array {
  const [low, high] = options.level ?? [0.003, 0.03];
  if (!(low >= 0 && high >= low)) throw new Error(`backgroundNoise: expected a level range 0 ≤ low ≤ high, got [${low}, ${high}]`);
  const white = rng.uniform(), rumble = rng.uniform(), hum = 0.3 * rng.uniform();
  const mains = rng.int(2) === 0 ? 50 : 60;
  const phase = 2 * Math.PI * rng.uniform();
  const out = new Float32Array(length);
  let r = 0;
  let sumSquares = 0;
  for (let n = 0; n < length; n++) {
    const w = rng.normal();
    r = 0.995 * r + 0.1 * rng.normal();
    const t = (2 * Math.PI * mains * n) / sampleRate + phase;
    const x = white * w + rumble * r + hum * (Math.sin(t) + 0.5 * Math.sin(2 * t) + 0.25 * Math.sin(3 * t));
    out[n] = x;
    sumSquares += x * x;
  }
  const rms = Math.sqrt(sumSquares / Math.max(1, length));
  const target = rng.uniformIn(low, high);
  if (rms > 0) for (let n = 0; n < length; n++) out[n] *= target / rms;
  return out;
}

/** One spoken word in a clip, times in seconds. */
export interface ClipEvent {
  word: string;
  start: number;
  end: number;
  trigger: boolean;
}

export interface TriggerClip {
  sampleRate: number;
  seconds: number;
  samples: Float32Array;
  /** The words placed, sorted by start time. */
  events: ClipEvent[];
}

export interface ClipOptions {
  /** Clip length (default 10 s, the notes' length). */
  seconds?: number;
  /** Number of trigger words, uniform in [min, max] (default [0, 4]). */
  triggers?: [number, number];
  /** Number of other words, uniform in [min, max] (default [0, 4]). */
  others?: [number, number];
  /** The trigger word (default "activate"); must be in the bank. */
  triggerWord?: string;
  /** Minimum silence between two words (default 0.1 s). */
  gapSeconds?: number;
  /** Gain of a word over the noise, uniform in this range (default [0.3, 0.9]; the bank's peak is 1). */
  gain?: [number, number];
  noise?: NoiseOptions;
}

/**
 * A clip: background noise with words of the bank at random non-overlapping offsets (a word that
 * finds no free place in 100 tries is left out). The same seed and bank give the same clip.
 */
export function composeClip(rng: Rng, bank: WordBank, options: ClipOptions = {}): TriggerClip {
  const op = 'composeClip';
  const seconds = options.seconds ?? 10;
  const triggerWord = options.triggerWord ?? TRIGGER_WORD;
  const [tMin, tMax] = options.triggers ?? [0, 4];
  const [oMin, oMax] = options.others ?? [0, 4];
  const gap = options.gapSeconds ?? 0.1;
  const [gLow, gHigh] = options.gain ?? [0.3, 0.9];
  if (!(seconds > 0)) throw new Error(`${op}: expected seconds > 0, got ${seconds}`);
  for (const [name, lo, hi] of [['triggers', tMin, tMax], ['others', oMin, oMax]] as const) {
    if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 0 && hi >= lo)) {
      throw new Error(`${op}: expected ${name} as integers [min, max] with 0 ≤ min ≤ max, got [${lo}, ${hi}]`);
    }
  }
  const triggerRecordings = bank.get(triggerWord);
  if (!triggerRecordings?.length) throw new Error(`${op}: the word bank has no recording of the trigger word '${triggerWord}'`);
  const otherWords = [...bank.keys()].filter((w) => w !== triggerWord);
  if (oMax > 0 && otherWords.length === 0) throw new Error(`${op}: the word bank has no words other than '${triggerWord}'`);

  const sampleRate = CLIP_SAMPLE_RATE;
  const length = Math.round(seconds * sampleRate);
  const samples = backgroundNoise(rng, length, sampleRate, options.noise);
  const placed: { start: number; end: number }[] = [];
  const events: ClipEvent[] = [];
  const gapSamples = Math.round(gap * sampleRate);

  const insert = (recording: WordRecording, trigger: boolean): void => {
    const n = recording.samples.length;
    if (n + 2 * gapSamples > length) return;
    for (let attempt = 0; attempt < 100; attempt++) {
      const start = rng.int(length - n + 1);
      const end = start + n;
      if (placed.some((p) => start < p.end + gapSamples && p.start < end + gapSamples)) continue;
      const gain = rng.uniformIn(gLow, gHigh);
      for (let i = 0; i < n; i++) samples[start + i] += gain * recording.samples[i];
      placed.push({ start, end });
      events.push({ word: recording.word, start: start / sampleRate, end: end / sampleRate, trigger });
      return;
    }
  };
  const triggerCount = tMin + rng.int(tMax - tMin + 1);
  const otherCount = oMin + rng.int(oMax - oMin + 1);
  for (let i = 0; i < triggerCount; i++) insert(triggerRecordings[rng.int(triggerRecordings.length)], true);
  for (let i = 0; i < otherCount; i++) {
    const recordings = bank.get(otherWords[rng.int(otherWords.length)]) as WordRecording[];
    insert(recordings[rng.int(recordings.length)], false);
  }
  for (let i = 0; i < length; i++) samples[i] = Math.max(-1, Math.min(1, samples[i]));
  events.sort((a, b) => a.start - b.start);
  return { sampleRate, seconds: length / sampleRate, samples, events };
}

/**
 * The notes' labels: steps output steps spread over `seconds`; for each trigger ending at time e,
 * k = ⌊e·steps / seconds⌋ and y[k+1 … k+run] = 1 (cut at the end of the clip).
 */
export function triggerLabels(triggerEnds: readonly number[], steps: number, seconds: number, run = 50): Float32Array {
  if (!Number.isInteger(steps) || steps <= 0) throw new Error(`triggerLabels: expected a positive integer number of steps, got ${steps}`);
  if (!(seconds > 0)) throw new Error(`triggerLabels: expected seconds > 0, got ${seconds}`);
  if (!Number.isInteger(run) || run <= 0) throw new Error(`triggerLabels: expected a positive integer run, got ${run}`);
  const y = new Float32Array(steps);
  for (const end of triggerEnds) {
    if (!(end >= 0 && end <= seconds)) throw new Error(`triggerLabels: expected end times in [0, ${seconds}] s, got ${end}`);
    const k = Math.floor((end * steps) / seconds);
    for (let t = k + 1; t <= Math.min(steps - 1, k + run); t++) y[t] = 1;
  }
  return y;
}

export interface TriggerExample {
  clip: TriggerClip;
  /** Log spectrogram [frames, bands]. */
  features: Matrix;
  /** y⟨t⟩ per frame, [frames]. */
  labels: Float32Array;
}

/** Features and labels of a clip: one output step per spectrogram frame. */
export function triggerExample(clip: TriggerClip, spectrogram: SpectrogramOptions = {}, run = 50): TriggerExample {
  const features = logSpectrogram(clip.samples, clip.sampleRate, spectrogram).values;
  const ends = clip.events.filter((e) => e.trigger).map((e) => e.end);
  return { clip, features, labels: triggerLabels(ends, features.rows, clip.seconds, run) };
}

/** Write a clip as NAME.wav and its words as NAME.json ({ sampleRate, seconds, events }). */
export function writeTriggerClip(pathWithoutExtension: string, clip: TriggerClip): void {
  writeFileAtomic(`${pathWithoutExtension}.wav`, encodeWav({ sampleRate: clip.sampleRate, samples: clip.samples }));
  const meta = { sampleRate: clip.sampleRate, seconds: clip.seconds, events: clip.events };
  writeFileAtomic(`${pathWithoutExtension}.json`, JSON.stringify(meta, null, 2) + '\n');
}
