/**
 * The log power spectrogram: the features of the notes' trigger-word detector.
 *
 * The clip is cut into overlapping frames — frame t covers samples [t·hop, t·hop + L) — each
 * frame is multiplied by a Hann window, zero-padded to the FFT size N (the next power of two
 * ≥ L), and transformed; the feature is the log of the power in each frequency bin:
 *   S[t, k] = ln(|Σ_n w_n·x_{t·hop+n}·e^(−2πi·kn/N)|² + floor),  k = 0 … N/2
 *   frames T = 1 + ⌊(samples − L) / hop⌋,  bins = N/2 + 1,  bin k is at k·sampleRate/N Hz.
 * Defaults: 25 ms frames every 10 ms; at 16 kHz L = 400, hop = 160, N = 512 → 257 bins, and a
 * 10-second clip gives 998 frames. Optionally the power is averaged over `bands` equal groups of
 * adjacent bins before the log (fewer inputs for the recurrent net).
 *
 * Window: the periodic Hann window w_n = 0.5 − 0.5·cos(2πn/L), n = 0 … L−1 (torch.hann_window's
 * and librosa's default; its overlap-added copies at hop L/2 sum to a constant).
 */
import { Matrix } from '../../../engine/matrix.js';
import { fftPlan, nextPowerOfTwo } from './fft.js';

export interface SpectrogramOptions {
  /** Frame length in milliseconds (default 25). */
  frameMs?: number;
  /** Hop between frame starts in milliseconds (default 10). */
  hopMs?: number;
  /** FFT size, a power of two ≥ the frame length (default: the next power of two). */
  fftSize?: number;
  /** Added to the power before the log, so silence gives ln(floor) instead of −∞ (default 1e−10). */
  floor?: number;
  /** Average the power over this many equal groups of adjacent bins (default: keep every bin). */
  bands?: number;
}

export interface Spectrogram {
  /** S [frames, bins] (float32). */
  values: Matrix;
  sampleRate: number;
  frameLength: number;
  hop: number;
  fftSize: number;
  /** Seconds between frames (hop / sampleRate). */
  frameSeconds: number;
  /** Lowest and highest frequency (Hz) of each column. */
  bandEdges: [number, number][];
}

/** The periodic Hann window of length L: 0.5 − 0.5·cos(2πn/L). */
export function hannWindow(length: number): Float64Array {
  if (!Number.isInteger(length) || length <= 0) throw new Error(`hannWindow: expected a positive integer length, got ${length}`);
  const w = new Float64Array(length);
  for (let n = 0; n < length; n++) w[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / length);
  return w;
}

/** Number of frames of a signal: 1 + ⌊(samples − L) / hop⌋, or 0 when it is shorter than a frame. */
export function frameCount(samples: number, frameLength: number, hop: number): number {
  return samples < frameLength ? 0 : 1 + Math.floor((samples - frameLength) / hop);
}

export function logSpectrogram(
  samples: ArrayLike<number>, sampleRate: number, options: SpectrogramOptions = {},
): Spectrogram {
  const op = 'logSpectrogram';
  if (!(sampleRate > 0)) throw new Error(`${op}: expected a positive sample rate, got ${sampleRate}`);
  const frameMs = options.frameMs ?? 25;
  const hopMs = options.hopMs ?? 10;
  const frameLength = Math.round((frameMs * sampleRate) / 1000);
  const hop = Math.round((hopMs * sampleRate) / 1000);
  if (frameLength < 2 || hop < 1) {
    throw new Error(`${op}: expected frames of ≥ 2 samples and a hop of ≥ 1, got ${frameLength} and ${hop} (${frameMs} ms / ${hopMs} ms at ${sampleRate} Hz)`);
  }
  const fftSize = options.fftSize ?? nextPowerOfTwo(frameLength);
  if (!(fftSize >= frameLength) || (fftSize & (fftSize - 1)) !== 0) {
    throw new Error(`${op}: expected fftSize to be a power of two ≥ the frame length ${frameLength}, got ${fftSize}`);
  }
  const floor = options.floor ?? 1e-10;
  if (!(floor > 0)) throw new Error(`${op}: expected floor > 0, got ${floor}`);
  const frames = frameCount(samples.length, frameLength, hop);
  if (frames === 0) {
    throw new Error(`${op}: expected at least one frame of ${frameLength} samples (${frameMs} ms), got a signal of ${samples.length} samples`);
  }
  const bins = fftSize / 2 + 1;
  const bands = options.bands ?? bins;
  if (!Number.isInteger(bands) || bands < 1 || bands > bins) {
    throw new Error(`${op}: expected bands to be an integer in [1, ${bins}], got ${bands}`);
  }
  // Band b averages bins [bandStart[b], bandStart[b + 1]).
  const bandStart = Int32Array.from({ length: bands + 1 }, (_, b) => Math.round((b * bins) / bands));

  const window = hannWindow(frameLength);
  const plan = fftPlan(fftSize);
  const re = new Float64Array(fftSize), im = new Float64Array(fftSize);
  const values = Matrix.zeros(frames, bands, 'float32');
  for (let t = 0; t < frames; t++) {
    const start = t * hop;
    for (let n = 0; n < frameLength; n++) re[n] = window[n] * samples[start + n];
    re.fill(0, frameLength);
    im.fill(0);
    plan.transform(re, im);
    const row = t * bands;
    for (let b = 0; b < bands; b++) {
      let power = 0;
      for (let k = bandStart[b]; k < bandStart[b + 1]; k++) power += re[k] * re[k] + im[k] * im[k];
      power /= bandStart[b + 1] - bandStart[b];
      values.data[row + b] = Math.log(power + floor);
    }
  }
  const binHz = sampleRate / fftSize;
  const bandEdges = Array.from({ length: bands }, (_, b): [number, number] => [bandStart[b] * binHz, (bandStart[b + 1] - 1) * binHz]);
  return { values, sampleRate, frameLength, hop, fftSize, frameSeconds: hop / sampleRate, bandEdges };
}
