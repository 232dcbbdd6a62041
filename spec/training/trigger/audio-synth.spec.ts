import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../../engine/rng.js';
import {
  ESPEAK_MISSING_MESSAGE, EspeakMissingError, OTHER_WORDS, TRIGGER_WORD, backgroundNoise, composeClip, hasEspeak, resample,
  synthesizeSpeech, synthesizeWordBank, trimSilence, triggerExample, triggerLabels, writeTriggerClip, type WordBank,
} from '../../../training/trigger/audio/synth.js';
import { readWav } from '../../../training/trigger/audio/wav.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-synth-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const sine = (n: number, hz: number, rate: number): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * hz * i) / rate));

function rms(x: ArrayLike<number>, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i] * x[i];
  return Math.sqrt(s / (to - from));
}

describe('resample (windowed sinc)', () => {
  it('keeps a 1 kHz tone a 1 kHz tone, 22 050 → 16 000 and 8 000 → 16 000', () => {
    for (const from of [22050, 8000]) {
      const out = resample(sine(from, 1000, from), from, 16000);
      expect(out.length).toBe(Math.floor((from * 16000) / from));
      let worst = 0;
      for (let m = 200; m < out.length - 200; m++) worst = Math.max(worst, Math.abs(out[m] - Math.sin((2 * Math.PI * 1000 * m) / 16000)));
      expect(worst, `from ${from} Hz`).toBeLessThan(2e-3);
    }
  });

  it('removes what the new rate cannot carry (10 kHz > 8 kHz Nyquist) instead of aliasing it', () => {
    const out = resample(sine(22050, 10000, 22050), 22050, 16000);
    expect(rms(out, 200, out.length - 200)).toBeLessThan(0.01); // the input's RMS is 0.707
  });

  it('same rate is a copy; bad rates throw', () => {
    const x = Float32Array.from([1, 2, 3]);
    const y = resample(x, 16000, 16000);
    expect(Array.from(y)).toEqual([1, 2, 3]);
    expect(y).not.toBe(x);
    expect(() => resample(x, 0, 16000)).toThrow('resample: expected positive rates, got 0 → 16000');
  });
});

describe('labels and clips (no espeak needed: tone bursts stand in for words)', () => {
  it("the notes' labels: y[k+1 … k+50] = 1, k = ⌊end·T/seconds⌋", () => {
    const y = triggerLabels([2.5], 1000, 10);
    expect([y[250], y[251], y[300], y[301]]).toEqual([0, 1, 1, 0]);
    expect(y.reduce((a, b) => a + b, 0)).toBe(50);
    // cut at the end of the clip: k = 990 → 991 … 999
    expect(triggerLabels([9.9], 1000, 10).reduce((a, b) => a + b, 0)).toBe(9);
    // overlapping runs merge: 251 … 310
    expect(triggerLabels([2.5, 2.6], 1000, 10).reduce((a, b) => a + b, 0)).toBe(60);
    expect(triggerLabels([1], 100, 2, 5).indexOf(1)).toBe(51);
    expect(() => triggerLabels([11], 1000, 10)).toThrow('triggerLabels: expected end times in [0, 10] s, got 11');
    expect(() => triggerLabels([1], 0, 10)).toThrow('triggerLabels: expected a positive integer number of steps, got 0');
  });

  it('trimSilence keeps the loud part plus the margin', () => {
    const x = new Float32Array(1000);
    for (let i = 300; i < 500; i++) x[i] = 0.5;
    x[100] = 0.005; // below 2% of the peak: silence
    const t = trimSilence(x, 16000, 0.02, 1); // 1 ms = 16 samples of margin
    expect([t.start, t.end, t.samples.length]).toEqual([284, 516, 232]);
    expect(trimSilence(new Float32Array(10), 16000).samples.length).toBe(0);
  });

  it('background noise has the drawn RMS level and is reproducible', () => {
    const a = backgroundNoise(new Rng(3), 16000, 16000, { level: [0.01, 0.02] });
    const b = backgroundNoise(new Rng(3), 16000, 16000, { level: [0.01, 0.02] });
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(rms(a)).toBeGreaterThanOrEqual(0.01 - 1e-6);
    expect(rms(a)).toBeLessThanOrEqual(0.02 + 1e-6);
  });

  const burst = (hz: number, seconds: number): Float32Array => sine(Math.round(seconds * 16000), hz, 16000);
  const fakeBank: WordBank = new Map([
    [TRIGGER_WORD, [0.7, 0.8].map((s) => ({ word: TRIGGER_WORD, voice: { voice: 'tone', speed: 0, pitch: 0 }, samples: burst(700, s) }))],
    ['cat', [{ word: 'cat', voice: { voice: 'tone', speed: 0, pitch: 0 }, samples: burst(1500, 0.4) }]],
    ['window', [{ word: 'window', voice: { voice: 'tone', speed: 0, pitch: 0 }, samples: burst(2500, 0.5) }]],
  ]);

  it('composeClip: words at random non-overlapping offsets, seeded', () => {
    for (let seed = 0; seed < 12; seed++) {
      const clip = composeClip(new Rng(seed), fakeBank, { triggers: [1, 4], others: [0, 3], gapSeconds: 0.1 });
      expect(clip.samples.length).toBe(160000);
      expect(clip.seconds).toBe(10);
      const triggers = clip.events.filter((e) => e.trigger);
      expect(triggers.length).toBeGreaterThanOrEqual(1);
      expect(triggers.length).toBeLessThanOrEqual(4);
      expect(triggers.every((e) => e.word === TRIGGER_WORD)).toBe(true);
      for (let i = 1; i < clip.events.length; i++) {
        expect(clip.events[i].start).toBeGreaterThanOrEqual(clip.events[i - 1].end + 0.1 - 1e-9);
      }
      for (const e of clip.events) {
        expect(e.start).toBeGreaterThanOrEqual(0);
        expect(e.end).toBeLessThanOrEqual(10);
        // the word is there: louder than the noise (peak level ≤ 0.03 RMS, word gain ≥ 0.3)
        expect(rms(clip.samples, Math.round(e.start * 16000), Math.round(e.end * 16000))).toBeGreaterThan(0.15);
      }
    }
    const a = composeClip(new Rng(5), fakeBank), b = composeClip(new Rng(5), fakeBank);
    expect(a.events).toEqual(b.events);
    expect(Array.from(a.samples.subarray(0, 1000))).toEqual(Array.from(b.samples.subarray(0, 1000)));
  });

  it('triggerExample: one label per spectrogram frame, 1s after each trigger', () => {
    const clip = composeClip(new Rng(8), fakeBank, { triggers: [2, 2], others: [1, 1] });
    const ex = triggerExample(clip);
    expect(ex.features.shape).toEqual([998, 257]);
    expect(ex.labels.length).toBe(998);
    let want = 0;
    for (const e of clip.events.filter((x) => x.trigger)) {
      const k = Math.floor((e.end * 998) / 10);
      want += Math.min(50, 997 - k);
      expect(ex.labels[k + 1]).toBe(1);
      expect(ex.labels[k]).toBe(0);
    }
    expect(ex.labels.reduce((s, v) => s + v, 0)).toBe(want);
    expect(triggerExample(clip, { bands: 64 }).features.shape).toEqual([998, 64]);
    expect(() => composeClip(new Rng(1), new Map([['cat', fakeBank.get('cat')!]]))).toThrow("composeClip: the word bank has no recording of the trigger word 'activate'");
  });

  it('writeTriggerClip writes the WAV and the events', () => {
    const clip = composeClip(new Rng(2), fakeBank, { seconds: 3 });
    writeTriggerClip(path.join(dir, 'clip'), clip);
    const wav = readWav(path.join(dir, 'clip.wav'));
    expect([wav.sampleRate, wav.samples.length]).toEqual([16000, 48000]);
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'clip.json'), 'utf8'));
    expect(meta.events).toEqual(clip.events);
  });
});

describe('espeak-ng', () => {
  it('where espeak-ng is missing, synthesis throws the install message', () => {
    const saved = process.env.PATH;
    process.env.PATH = dir; // a directory without espeak-ng
    try {
      expect(hasEspeak()).toBe(false);
      expect(() => synthesizeSpeech('activate')).toThrow(EspeakMissingError);
      expect(() => synthesizeWordBank(['cat'], 1, new Rng(1))).toThrow(ESPEAK_MISSING_MESSAGE);
    } finally {
      process.env.PATH = saved;
    }
    expect(ESPEAK_MISSING_MESSAGE).toBe('espeak-ng not found: install it with apt-get install espeak-ng; trigger word synthesis skipped');
  });

  // The one skip the team allows (issue 8): synthesis needs the espeak-ng binary.
  const available = hasEspeak();
  if (!available) console.warn(ESPEAK_MISSING_MESSAGE);

  it.skipIf(!available)('speaks "activate" at 16 kHz, trimmed, about half a second long', () => {
    const audio = synthesizeSpeech(TRIGGER_WORD, { voice: 'en-us', speed: 160, pitch: 50 });
    expect(audio.sampleRate).toBe(16000);
    const seconds = audio.samples.length / 16000;
    expect(seconds).toBeGreaterThan(0.3);
    expect(seconds).toBeLessThan(1.5);
    let peak = 0;
    for (const x of audio.samples) peak = Math.max(peak, Math.abs(x));
    expect(peak).toBeGreaterThan(0.05);
    // trimmed: the first and last 5 ms are quiet next to the peak, but the word fills the middle
    expect(rms(audio.samples, 0, 80)).toBeLessThan(0.2 * peak);
    expect(rms(audio.samples, audio.samples.length / 4, (3 * audio.samples.length) / 4)).toBeGreaterThan(0.05 * peak);
    expect(() => synthesizeSpeech('rm -rf')).toThrow('synthesizeSpeech: expected words of letters, spaces and apostrophes, got "rm -rf"');
  });

  it.skipIf(!available)('a word bank and a 10 s clip with spectrogram features and labels', () => {
    const bank = synthesizeWordBank([TRIGGER_WORD, ...OTHER_WORDS.slice(0, 2)], 2, new Rng(4));
    expect([...bank.keys()]).toEqual([TRIGGER_WORD, 'cat', 'window']);
    for (const recordings of bank.values()) {
      expect(recordings.length).toBe(2);
      for (const r of recordings) expect(Math.max(...Array.from(r.samples, Math.abs))).toBeCloseTo(1, 5);
    }
    const ex = triggerExample(composeClip(new Rng(5), bank, { triggers: [1, 3] }));
    expect(ex.features.shape).toEqual([998, 257]);
    expect(ex.clip.events.some((e) => e.trigger)).toBe(true);
    expect(ex.labels.reduce((s, v) => s + v, 0)).toBeGreaterThan(0);
  });
});
