import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Matrix } from '../../../engine/matrix.js';
import { Rng } from '../../../engine/rng.js';
import { composeClip, triggerLabels, type WordBank } from '../../../training/trigger/audio/synth.js';
import {
  bandStatistics, clipFeatures, createTriggerModel, detectTriggers, evaluateTrigger, loadTriggerModel,
  poolAndNormalize, predictTrigger, saveTriggerModel, trainTriggerModel, triggerPlotSvg, triggerWindows,
  type TriggerClipData,
} from '../../../training/trigger/trigger.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-trigger-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('label windows (the notes: a run of 1s right after the trigger ends)', () => {
  it('k = ⌊end·T/seconds⌋, window [k+1, k+run]: by hand, and exactly the 1s of triggerLabels', () => {
    // 2.5 s of 10 s over 100 steps: k = 25 → steps 26 … 30.
    expect(triggerWindows([2.5], 100, 10, 5)).toEqual([[26, 30]]);
    // Cut at the clip's end: k = 95 → 96 … 99; a trigger ending in the last step has no window.
    expect(triggerWindows([9.5], 100, 10, 5)).toEqual([[96, 99]]);
    expect(triggerWindows([9.95], 100, 10, 5)).toEqual([]);
    // Sorted by time whatever the input order.
    expect(triggerWindows([7.0, 1.23], 100, 10, 5)).toEqual([[13, 17], [71, 75]]);
    const ends = [1.23, 4.0, 7.77];
    const y = triggerLabels(ends, 249, 10, 9);
    const fromWindows = new Array<number>(249).fill(0);
    for (const [first, last] of triggerWindows(ends, 249, 10, 9)) for (let t = first; t <= last; t++) fromWindows[t] = 1;
    expect(Array.from(y)).toEqual(fromWindows);
    expect(() => triggerWindows([11], 100, 10, 5)).toThrow('triggerWindows: expected end times in [0, 10] s, got 11');
  });
});

describe('peak picking', () => {
  it('each run above the threshold is one detection, at its first step', () => {
    const p = [0.1, 0.6, 0.7, 0.2, 0.9, 0.9, 0.5, 0.51];
    // 0.5 is not above 0.5: runs are {1, 2}, {4, 5}, {7}.
    expect(detectTriggers(p)).toEqual([1, 4, 7]);
    expect(detectTriggers(p, 0.65)).toEqual([2, 4]);
    expect(detectTriggers([0.9, 0.9, 0.9])).toEqual([0]);
    expect(detectTriggers([0, 0.2])).toEqual([]);
    expect(detectTriggers([])).toEqual([]);
    expect(() => detectTriggers([0.1, NaN])).toThrow('detectTriggers: expected probabilities, got NaN at step 1');
    expect(() => detectTriggers([0.1], 1.5)).toThrow('detectTriggers: expected a threshold in [0, 1], got 1.5');
  });
});

describe('the front end', () => {
  it('normalises each band and average-pools frames; trailing frames that do not fill a group are dropped', () => {
    const s = Matrix.fromArray([[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]]);
    const x = poolAndNormalize(s, 2, Float32Array.from([1, 0]), Float32Array.from([2, 1]));
    // step 0: ((1−1)/2 + (3−1)/2)/2 = 0.5, (2 + 4)/2 = 3; step 1: ((5−1)/2 + (7−1)/2)/2 = 2.5, (6 + 8)/2 = 7.
    expect(x.toArray()).toEqual([[0.5, 3], [2.5, 7]]);
    expect(poolAndNormalize(s, 1, Float32Array.from([0, 0]), Float32Array.from([1, 1])).toArray()).toEqual(s.toArray());
    expect(() => poolAndNormalize(s, 6, Float32Array.from([0, 0]), Float32Array.from([1, 1]))).toThrow('expected at least 6 frames to pool by 6');
  });

  it('band statistics are over every frame of every clip', () => {
    const { mean, std } = bandStatistics([Matrix.fromArray([[1, 0], [3, 0]]), Matrix.fromArray([[5, 0]])]);
    expect(mean[0]).toBeCloseTo(3, 6);
    expect(std[0]).toBeCloseTo(Math.sqrt(8 / 3), 6);
    expect(std[1]).toBeCloseTo(1e-3, 9); // a constant band gets the floor, not 0
  });
});

// Tone bursts stand in for the spoken words (no espeak-ng needed): "activate" is a 1 kHz burst,
// the other word a 3 kHz burst of the same length — detecting every burst gives precision ≈ 0.5.
const burst = (hz: number, seconds: number): Float32Array => {
  const n = Math.round(seconds * 16000);
  return Float32Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * hz * i) / 16000) * Math.sin((Math.PI * i) / n));
};
const voice = { voice: 'tone', speed: 1, pitch: 1 };
const bank: WordBank = new Map([
  ['activate', [{ word: 'activate', voice, samples: burst(1000, 0.4) }]],
  ['other', [{ word: 'other', voice, samples: burst(3000, 0.4) }]],
]);

function toneClips(seed: number, count: number): TriggerClipData[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, (_, index) => {
    const clip = composeClip(rng, bank, { seconds: 2, triggers: [0, 2], others: [0, 2] });
    const { features, labels, triggerEnds } = clipFeatures(clip, { bands: 16 }, 4, 4);
    return { split: 'train', index, seconds: clip.seconds, features, labels, triggerEnds, events: clip.events };
  });
}

describe('a tiny GRU detector learns to tell the trigger burst from the other burst', () => {
  const train = toneClips(1, 48);
  const test = toneClips(2, 24);
  const model = createTriggerModel({ bands: 16, hidden: 8, pool: 4, run: 4, stats: bandStatistics(train.map((c) => c.features)) }, { rng: new Rng(3) });

  it('labels come one per output step (⌊198 frames / 4⌋ = 49)', () => {
    expect(train[0].features.rows).toBe(198); // 1 + ⌊(32000 − 400) / 160⌋
    expect(train[0].labels.length).toBe(49);
  });

  it('precision and recall on held-out clips ≥ 0.8 after training; firing on every burst would give precision < 0.65', () => {
    const bursts = test.flatMap((c) => c.events);
    const triggers = bursts.filter((e) => e.trigger).length;
    expect(triggers / bursts.length).toBeLessThan(0.65);
    const result = trainTriggerModel(model, train, { epochs: 20, batchSize: 8, lr: 0.01 }, new Rng(4));
    expect(result.steps).toBe(20 * 6);
    expect(result.epochLosses.at(-1)!).toBeLessThan(result.epochLosses[0] / 3);
    const after = evaluateTrigger(model, test);
    expect(after.triggers).toBeGreaterThan(15);
    expect(after.recall).toBeGreaterThanOrEqual(0.8);
    expect(after.precision).toBeGreaterThanOrEqual(0.8);
  });

  it('a saved model predicts exactly what the trained one does; a damaged file is an input error naming it', () => {
    const file = path.join(dir, 'model.json');
    saveTriggerModel(file, model);
    const loaded = loadTriggerModel(file);
    const clip = test.slice(0, 3).map((c) => c.features);
    expect(predictTrigger(loaded, clip)).toEqual(predictTrigger(model, clip));
    expect(loaded.config).toEqual(model.config);
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ format: 'seqgrad.trigger-model', version: 7 }));
    const err = (() => { try { loadTriggerModel(bad); } catch (e) { return e as Error; } return null; })();
    expect(err?.name).toBe('InputError');
    expect(err?.message).toContain(`trigger model file ${bad}: expected format "seqgrad.trigger-model" version 1`);
  });

  it('the plot: spectrogram heatmap with ŷ as the overlay strip and the true triggers marked', () => {
    const clip = test.find((c) => c.triggerEnds.length > 0)!;
    const [p] = predictTrigger(model, [clip.features]);
    const svg = triggerPlotSvg({
      title: 'tone clip', spectrogram: clip.features, probabilities: p, pool: 4,
      windows: triggerWindows(clip.triggerEnds, p.length, clip.seconds, 4),
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('ŷ, max ');
    expect(svg).toContain('▼ activate');
    // 49 steps → 49 columns, 16 bands → 16 rows: one overlay bar per column.
    expect((svg.match(/<title>ŷ, max /g) ?? []).length).toBe(49);
    expect(() => triggerPlotSvg({ title: 'x', spectrogram: clip.features, probabilities: p.slice(1), pool: 4 })).toThrow('expected ⌊198 frames / 4⌋ = 49 probabilities, got 48');
  });
});
