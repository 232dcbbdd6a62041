import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { triggerCommand } from '../../cli/commands/trigger.js';
import { Rng } from '../../engine/rng.js';
import { composeClip, writeTriggerClip, type WordBank } from '../../training/trigger/audio/synth.js';
import { readWav } from '../../training/trigger/audio/wav.js';
import {
  bandStatistics, clipFeatures, createTriggerModel, detectTriggers, predictTrigger, saveTriggerModel,
  spectrogramOfAudio, trainTriggerModel, triggerWindows, type TriggerClipData,
} from '../../training/trigger/trigger.js';
import { scoreDetections } from '../../training/metrics/detection.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-trigger-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await triggerCommand.run(argv);
    return { code, out: lines.join('\n') };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

// A tiny model on tone bursts (1 kHz = "activate", 3 kHz = another word), saved like `trigger train` does.
const burst = (hz: number): Float32Array => Float32Array.from({ length: 6400 }, (_, i) => Math.sin((2 * Math.PI * hz * i) / 16000) * Math.sin((Math.PI * i) / 6400));
const voice = { voice: 'tone', speed: 1, pitch: 1 };
const bank: WordBank = new Map([
  ['activate', [{ word: 'activate', voice, samples: burst(1000) }]],
  ['other', [{ word: 'other', voice, samples: burst(3000) }]],
]);
const rng = new Rng(7);
const clips: TriggerClipData[] = Array.from({ length: 16 }, (_, index) => {
  const clip = composeClip(rng, bank, { seconds: 2, triggers: [1, 2], others: [0, 1] });
  return { split: 'train', index, seconds: clip.seconds, events: clip.events, ...clipFeatures(clip, { bands: 16 }, 4, 4) };
});
const model = createTriggerModel({ bands: 16, hidden: 8, pool: 4, run: 4, stats: bandStatistics(clips.map((c) => c.features)) }, { rng: new Rng(1) });
trainTriggerModel(model, clips, { epochs: 3, batchSize: 8 }, new Rng(2));
const modelFile = path.join(dir, 'model.json');
saveTriggerModel(modelFile, model);
const testClip = composeClip(new Rng(99), bank, { seconds: 2, triggers: [2, 2], others: [1, 1] });
const wavBase = path.join(dir, 'clip');
writeTriggerClip(wavBase, testClip);

describe('seqgrad trigger', () => {
  it('detect reads a WAV, reports detections scored against the CLIP.json beside it, writes the plot', async () => {
    const plot = path.join(dir, 'plots', 'clip.svg');
    const { code, out } = await run(['detect', '--model', modelFile, `${wavBase}.wav`, '--plot', plot, '--json']);
    expect(code).toBe(0);
    const r = JSON.parse(out);
    expect(r.steps).toBe(49);
    // The same numbers as the library on the same audio.
    const wav = readWav(`${wavBase}.wav`);
    const [p] = predictTrigger(model, [spectrogramOfAudio(model, wav.samples, wav.sampleRate)]);
    const detections = detectTriggers(p);
    expect(r.detections).toEqual(detections.map((d) => Number(((d * 2) / 49).toFixed(2))));
    expect(r.maxProbability).toBe(Math.max(...p));
    const features = clipFeatures(testClip, { bands: 16 }, 4, 4);
    const windows = triggerWindows(features.triggerEnds, 49, testClip.seconds, 4);
    expect(r.truth.triggerEnds).toEqual(features.triggerEnds);
    expect(r.truth.truePositives + r.truth.falseNegatives).toBe(windows.length);
    expect(scoreDetections(detections, windows).truePositives).toBe(r.truth.truePositives);
    expect(fs.readFileSync(plot, 'utf8')).toContain('P(activate)');
  });

  it('--help, and usage errors', async () => {
    expect((await run(['--help'])).out).toContain('seqgrad trigger synth --out DIR');
    expect((await run(['train', '--help'])).out).toContain('--hidden INT');
    expect((await run(['detect', '--help'])).out).toContain('--threshold NUMBER');
    expect((await run([])).code).toBe(2);
    await expect(run(['detect', `${wavBase}.wav`])).rejects.toThrow("trigger detect: --model is required");
    await expect(run(['detect', '--model', modelFile])).rejects.toThrow('trigger detect: expected one WAV file, got none');
    await expect(run(['detect', '--model', modelFile, `${wavBase}.wav`, '--threshold', '2'])).rejects.toThrow('--threshold expects a number in (0, 1), got 2');
    await expect(run(['synth'])).rejects.toThrow('trigger synth: --out DIR is required');
    await expect(run(['train', '--data', dir, '--epochs', '0'])).rejects.toThrow('trigger train: --epochs expects an integer ≥ 1, got 0');
    await expect(run(['fly'])).rejects.toThrow("unknown sub-command 'fly'");
  });

  it('bad files exit with 2 and one line naming the file, no stack trace', () => {
    const tsx = path.resolve('node_modules/tsx/dist/cli.mjs');
    const missing = path.join(dir, 'missing.json');
    const notWav = path.join(dir, 'not.wav');
    fs.writeFileSync(notWav, 'hello');
    const cases: [string[], string][] = [
      [['trigger', 'detect', '--model', missing, `${wavBase}.wav`], `trigger model file ${missing} does not exist`],
      [['trigger', 'detect', '--model', modelFile, notWav], `decodeWav: ${notWav}: too short for a WAV file`],
    ];
    for (const [argv, message] of cases) {
      const child = spawnSync(process.execPath, [tsx, 'cli/main.ts', ...argv], { encoding: 'utf8' });
      expect(child.status, argv.join(' ')).toBe(2);
      expect(child.stderr).toContain(message);
      expect(child.stderr).not.toContain('    at ');
    }
  });
});
