import { describe, expect, it } from 'vitest';
import { frameCount, hannWindow, logSpectrogram } from '../../../training/trigger/audio/spectrogram.js';

const sine = (n: number, hz: number, rate: number, amplitude = 1): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / rate));

describe('log power spectrogram', () => {
  it('the periodic Hann window: 0.5 − 0.5·cos(2πn/L)', () => {
    expect(Array.from(hannWindow(4)).map((v) => +v.toFixed(15))).toEqual([0, 0.5, 1, 0.5]);
    const w = hannWindow(400);
    expect(w[0]).toBe(0);
    expect(w[200]).toBeCloseTo(1, 15);
    // copies at hop L/2 sum to 1 (periodic window, constant overlap-add)
    for (const n of [0, 37, 199]) expect(w[n] + w[n + 200]).toBeCloseTo(1, 14);
  });

  it('25 ms / 10 ms at 16 kHz: L = 400, hop = 160, N = 512 → [1 + ⌊(S − 400)/160⌋, 257]', () => {
    const s = logSpectrogram(new Float32Array(16000), 16000);
    expect([s.frameLength, s.hop, s.fftSize, s.frameSeconds]).toEqual([400, 160, 512, 0.01]);
    expect(s.values.shape).toEqual([98, 257]); // 1 + ⌊15600 / 160⌋ = 98
    expect(logSpectrogram(new Float32Array(160000), 16000).values.rows).toBe(998); // a 10 s clip
    expect([frameCount(399, 400, 160), frameCount(400, 400, 160), frameCount(559, 400, 160), frameCount(560, 400, 160)]).toEqual([0, 1, 1, 2]);
    // silence gives ln(floor)
    expect(s.values.get(10, 100)).toBeCloseTo(Math.log(1e-10), 5);
  });

  it('a sine at the centre of bin k: |X_k| = A·N/4 under a Hann window of length N', () => {
    // 32 ms frames at 16 kHz = 512 samples = N; bin 20 is at 20·16000/512 = 625 Hz.
    const a = 0.5;
    const s = logSpectrogram(sine(16000, 625, 16000, a), 16000, { frameMs: 32, hopMs: 16 });
    expect(s.fftSize).toBe(512);
    for (const t of [0, 10, 50]) {
      expect(s.values.get(t, 20)).toBeCloseTo(Math.log((a * 512 / 4) ** 2), 3); // ln 1024
      // the Hann window's neighbours have half the amplitude, a quarter of the power
      expect(s.values.get(t, 21)).toBeCloseTo(Math.log((a * 512 / 8) ** 2), 3);
      expect(s.values.get(t, 40)).toBeLessThan(Math.log(1e-6));
    }
  });

  it('the loudest bin follows the frequency (1 kHz → bin 32 at N = 512)', () => {
    const s = logSpectrogram(sine(8000, 1000, 16000), 16000);
    for (let t = 0; t < s.values.rows; t += 7) {
      let best = 0;
      for (let k = 1; k < s.values.cols; k++) if (s.values.get(t, k) > s.values.get(t, best)) best = k;
      expect(best).toBe(32);
    }
  });

  it('bands average the power over groups of bins', () => {
    const x = sine(4000, 1000, 16000);
    const full = logSpectrogram(x, 16000);
    const banded = logSpectrogram(x, 16000, { bands: 4 });
    expect(banded.values.cols).toBe(4);
    // band 0 = bins 0 … 63 (round(257/4) = 64): mean of their powers
    let mean = 0;
    for (let k = 0; k < 64; k++) mean += Math.exp(full.values.get(3, k)) - 1e-10;
    mean /= 64;
    expect(banded.values.get(3, 0)).toBeCloseTo(Math.log(mean + 1e-10), 3);
    expect(banded.bandEdges[0]).toEqual([0, 63 * 31.25]);
    expect(banded.bandEdges[3][1]).toBe(8000);
  });

  it('checks its input', () => {
    expect(() => logSpectrogram(new Float32Array(100), 16000)).toThrow('logSpectrogram: expected at least one frame of 400 samples (25 ms), got a signal of 100 samples');
    expect(() => logSpectrogram(new Float32Array(1000), 16000, { fftSize: 256 })).toThrow('expected fftSize to be a power of two ≥ the frame length 400, got 256');
    expect(() => logSpectrogram(new Float32Array(1000), 0)).toThrow('logSpectrogram: expected a positive sample rate, got 0');
    expect(() => logSpectrogram(new Float32Array(1000), 16000, { bands: 300 })).toThrow('expected bands to be an integer in [1, 257], got 300');
  });
});
