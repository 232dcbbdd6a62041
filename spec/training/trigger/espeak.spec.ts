import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { triggerCommand } from '../../../cli/commands/trigger.js';
import { ESPEAK_MISSING_MESSAGE, hasEspeak, triggerLabels } from '../../../training/trigger/audio/synth.js';
import { readWav } from '../../../training/trigger/audio/wav.js';
import { logSpectrogram } from '../../../training/trigger/audio/spectrogram.js';
import { loadTriggerSplit, readTriggerManifest, synthesizeTriggerDataset } from '../../../training/trigger/trigger.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-trigger-espeak-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Run `seqgrad trigger …` in this process: exit code, stdout and stderr lines. */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void out.push(args.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void err.push(args.join(' ')));
  const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true); // the progress bar
  try {
    const code = await triggerCommand.run(argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
}

const skipNote = hasEspeak() ? '' : ` — skipped: ${ESPEAK_MISSING_MESSAGE}`;
if (!hasEspeak()) console.warn(`spec/trigger-espeak: ${ESPEAK_MISSING_MESSAGE}`);

describe('trigger-word data set synthesized with espeak-ng', () => {
  it.skipIf(!hasEspeak())(`caches spectrograms and labels, resumes without redoing clips, writes WAVs${skipNote}`, () => {
    const data = path.join(dir, 'data');
    const options = { train: 2, test: 2, seed: 5, seconds: 3, bands: 32, pool: 4, run: 5, variants: 1, wavs: 1 };
    const manifest = synthesizeTriggerDataset(data, options);
    expect(manifest.clips).toEqual({ train: 2, test: 2 });
    expect(readTriggerManifest(data)).toEqual(manifest);
    const train = loadTriggerSplit(data, 'train');
    const test = loadTriggerSplit(data, 'test');
    expect(train.length).toBe(2);
    for (const clip of [...train, ...test]) {
      // 3 s at 16 kHz, 25 ms frames every 10 ms: 1 + ⌊(48000 − 400) / 160⌋ = 298 frames → 74 steps.
      expect([clip.features.rows, clip.features.cols, clip.labels.length]).toEqual([298, 32, 74]);
      expect(Array.from(clip.labels)).toEqual(Array.from(triggerLabels(clip.triggerEnds, 74, 3, 5)));
    }
    // The WAV of held-out clip 0 gives back its cached spectrogram: the cache rounds to 0.01 (error ≤ 0.005);
    // the WAV's 16-bit samples add rounding noise of ~1e−5 RMS, visible only in the quietest bands.
    const wav = readWav(path.join(data, manifest.wavs[0]));
    const again = logSpectrogram(wav.samples, wav.sampleRate, { bands: 32 }).values;
    let worst = 0, sum = 0;
    for (let i = 0; i < again.data.length; i++) {
      const d = Math.abs(again.data[i] - test[0].features.data[i]);
      worst = Math.max(worst, d);
      sum += d;
    }
    // (measured: mean 0.006, worst 0.07; a misaligned or garbled cache differs by ≥ 1)
    expect(sum / again.data.length).toBeLessThan(0.02);
    expect(worst).toBeLessThan(0.5);
    // A second run keeps every cached clip (same files, untouched).
    const file = path.join(data, 'train', '000001.s16');
    const before = fs.statSync(file).mtimeMs;
    fs.rmSync(path.join(data, 'test', '000001.json'));
    synthesizeTriggerDataset(data, options);
    expect(fs.statSync(file).mtimeMs).toBe(before);
    expect(loadTriggerSplit(data, 'test')[1].features.data).toEqual(test[1].features.data); // re-made identically (seeded)
    // Clips made with other options never mix with these.
    expect(() => synthesizeTriggerDataset(data, { ...options, bands: 16 })).toThrow(`synthesizeTriggerDataset: ${data} holds clips made with other options`);
  });

  it('without espeak-ng, synth and train print "espeak-ng not found: …" and exit 2', async () => {
    const saved = process.env.PATH;
    process.env.PATH = path.join(dir, 'empty-bin'); // hasEspeak() probes once per PATH value
    try {
      const synth = await run(['synth', '--out', path.join(dir, 'never')]);
      expect(synth.code).toBe(2);
      expect(synth.err).toContain('espeak-ng not found: install it with apt-get install espeak-ng');
      const train = await run(['train', '--data', path.join(dir, 'never-either')]);
      expect(train.code).toBe(2);
      expect(train.err).toContain(ESPEAK_MISSING_MESSAGE);
      expect(fs.existsSync(path.join(dir, 'never'))).toBe(false);
    } finally {
      process.env.PATH = saved;
    }
  });
});
