/**
 * `seqgrad trigger synth|train|detect`: the notes' trigger-word detector ("activate") on speech
 * synthesized with espeak-ng. Thin: parses flags, calls training/trigger.ts.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { deprecated, num, parseArgs, positiveNumber, printHelp, str, UsageError, type FlagSpec, type FlagValues } from '../args.js';
import type { Command } from '../command.js';
import { createProgress } from '../progress.js';
import { runSubcommand } from '../subcommands.js';
import { Rng } from '../../engine/rng.js';
import type { CellKind } from '../../layers/cells/cell.js';
import { ESPEAK_MISSING_MESSAGE, hasEspeak, type ClipEvent } from '../../training/trigger/audio/synth.js';
import { readWav } from '../../training/trigger/audio/wav.js';
import { readJsonFile, writeFileAtomic } from '../../training/io/files.js';
import { planOutputs } from '../../training/io/outputs.js';
import {
  bandStatistics, createTriggerModel, detectTriggers, evaluateTrigger, loadTriggerModel, loadTriggerSplit,
  predictTrigger, readTriggerManifest, saveTriggerModel, spectrogramOfAudio, synthesizeTriggerDataset,
  trainTriggerModel, triggerPlotSvg, triggerWindows, type TriggerDataOptions, type TriggerManifest,
} from '../../training/trigger/trigger.js';
import { precisionRecall, scoreDetections } from '../../training/metrics/detection.js';
import { InputError } from '../../training/core/errors.js';
import { interrupted, stopFlag } from '../interrupt.js';

const SUMMARY = 'trigger-word detection ("activate") on espeak-ng speech: synth | train | detect';

const USAGE = [
  'seqgrad trigger synth --out DIR [--train N] [--test M] [--seed S] [--json]',
  '       seqgrad trigger train --data DIR [--out model.json] [--epochs E] [--hidden H] [--layers L] [--plot plot.svg] [--json]',
  '       seqgrad trigger detect --model model.json clip.wav [--plot plot.svg] [--threshold 0.5] [--json]',
].join('\n');

const SYNTH: Record<string, FlagSpec> = {
  out: { type: 'string', description: 'directory of the data set (created; clips already there are kept)' },
  train: { type: 'int', description: 'training clips', min: 0, default: 600 },
  test: { type: 'int', description: 'held-out clips (spoken by a word bank of their own)', min: 0, default: 100 },
  seed: { type: 'int', description: 'seed of the clips and word banks', default: 1 },
  seconds: { type: 'number', description: 'clip length in seconds', default: 10 },
  bands: { type: 'int', description: 'spectrogram bands (groups of FFT bins)', min: 1, default: 64 },
  pool: { type: 'int', description: 'frames per output step of the stored labels', min: 1, default: 4 },
  run: { type: 'int', description: 'label run: output steps set to 1 after each "activate"', min: 1, default: 9 },
  variants: { type: 'int', description: 'recordings per word in each word bank (seeded voice, speed, pitch)', min: 1, default: 24 },
  wavs: { type: 'int', description: 'held-out clips also written as WAV + JSON under DIR/wav/', min: 0, default: 5 },
  json: { type: 'boolean', description: 'print the manifest as JSON' },
  help: { type: 'boolean', description: '' },
};

const TRAIN: Record<string, FlagSpec> = {
  data: { type: 'string', description: 'data set directory (synthesized there first when it holds none)', default: 'out/trigger-data' },
  'train-clips': { type: 'int', description: 'when synthesizing: training clips', min: 1, default: 600 },
  'test-clips': { type: 'int', description: 'when synthesizing: held-out clips', min: 1, default: 100 },
  'data-seed': { type: 'int', description: 'when synthesizing: seed of the clips', default: 1 },
  epochs: { type: 'int', description: 'passes over the training clips', min: 1, default: 12 },
  batch: { type: 'int', description: 'clips per update', min: 1, default: 16 },
  hidden: { type: 'int', description: 'GRU hidden size H', min: 1, default: 64 },
  layers: { type: 'int', description: 'stacked GRU layers', min: 1, default: 1 },
  cell: { type: 'string', description: 'recurrent cell', default: 'gru', choices: ['gru', 'gru-reset-after', 'gru-simple', 'lstm', 'rnn'] },
  pool: { type: 'int', description: 'front end: average-pool frames by P (1 = none; default: the data set\'s)', min: 1 },
  lr: { type: 'number', description: 'Adam learning rate', default: 3e-3 },
  clip: { type: 'number', description: 'clip threshold (0 = no clipping)', default: 5 },
  'clip-mode': { type: 'string', description: 'clip the global norm or each value', choices: ['norm', 'value'], default: 'norm' },
  'clip-norm': deprecated('clip'),
  threshold: { type: 'number', description: 'detection threshold on ŷ', default: 0.5 },
  early: { type: 'int', description: 'also report scores where a detection this many steps before the label window counts', min: 0, default: 1 },
  seed: { type: 'int', description: 'seed of the initial weights and shuffling', default: 1 },
  out: { type: 'string', description: 'save the model here', default: 'out/trigger-model.json' },
  plot: { type: 'string', description: 'SVG of the first held-out clip with ŷ over time', default: 'out/trigger-clip.svg' },
  json: { type: 'boolean', description: 'print the results as JSON' },
  help: { type: 'boolean', description: '' },
};

const DETECT: Record<string, FlagSpec> = {
  model: { type: 'string', description: 'a model written by `seqgrad trigger train`' },
  plot: { type: 'string', description: 'SVG of the spectrogram with ŷ over time' },
  out: deprecated('plot'),
  threshold: { type: 'number', description: 'detection threshold on ŷ', default: 0.5 },
  truth: { type: 'string', description: 'the clip\'s words (JSON written by synth; default: CLIP.json beside CLIP.wav when it exists)' },
  json: { type: 'boolean', description: 'print the detections as JSON' },
  help: { type: 'boolean', description: '' },
};

/** espeak-ng missing: the one-line message, exit 2. */
function espeakMissing(): number {
  console.error(`seqgrad trigger: ${ESPEAK_MISSING_MESSAGE}`);
  return 2;
}

function probability(command: string, flags: FlagValues, name: string): number {
  const v = num(flags, name);
  if (!(v > 0 && v < 1)) throw new UsageError(`${command}: --${name} expects a number in (0, 1), got ${v}`);
  return v;
}

function synthesize(dir: string, options: TriggerDataOptions): TriggerManifest {
  let progress: ReturnType<typeof createProgress> | null = null;
  const manifest = synthesizeTriggerDataset(dir, options, (done, total) => {
    progress ??= createProgress({ label: 'synthesizing clips', total, unit: 'clips' });
    progress.update(done);
  });
  (progress as ReturnType<typeof createProgress> | null)?.finish();
  return manifest;
}

function runSynth(argv: string[]): number {
  const command = 'trigger synth';
  const { flags } = parseArgs(command, argv, SYNTH);
  if (flags.help) return printHelp('seqgrad trigger synth --out DIR [flags]', 'synthesize clips with espeak-ng over noise; cache their log spectrograms and labels in DIR', SYNTH);
  const out = flags.out as string | undefined;
  if (!out) throw new UsageError(`${command}: --out DIR is required (the data set directory)`);
  const options: TriggerDataOptions = {
    train: num(flags, 'train'), test: num(flags, 'test'), seed: num(flags, 'seed'),
    seconds: num(flags, 'seconds'), bands: num(flags, 'bands'), pool: num(flags, 'pool'),
    run: num(flags, 'run'), variants: num(flags, 'variants'), wavs: num(flags, 'wavs'),
  };
  if (!(options.seconds! >= 1 && options.seconds! <= 60)) throw new UsageError(`${command}: --seconds expects a number in [1, 60], got ${options.seconds}`);
  if (options.train! + options.test! === 0) throw new UsageError(`${command}: expected at least one clip, got --train 0 --test 0`);
  planOutputs({ command, outputs: {}, folders: { '--out': out } });
  if (!hasEspeak()) return espeakMissing();
  const manifest = synthesize(out, options);
  if (flags.json) console.log(JSON.stringify({ dir: out, ...manifest }, null, 2));
  else {
    console.log(`wrote ${manifest.clips.train} training and ${manifest.clips.test} held-out clips of ${manifest.seconds} s to ${out}`);
    if (manifest.wavs.length) console.log(`held-out WAVs for 'seqgrad trigger detect': ${manifest.wavs.map((w) => nodePath.join(out, w)).join(', ')}`);
  }
  return 0;
}

async function runTrain(argv: string[]): Promise<number> {
  const command = 'trigger train';
  const { flags } = parseArgs(command, argv, TRAIN);
  if (flags.help) return printHelp('seqgrad trigger train [flags]', 'train the GRU detector on a synthesized data set; report precision/recall of detections on the held-out clips', TRAIN);
  const dir = str(flags, 'data');
  const epochs = num(flags, 'epochs');
  const batchSize = num(flags, 'batch');
  const hidden = num(flags, 'hidden');
  const layers = num(flags, 'layers');
  const threshold = probability(command, flags, 'threshold');
  const lr = num(flags, 'lr');
  if (!(lr > 0)) throw new UsageError(`${command}: --lr expects a positive number, got ${lr}`);
  positiveNumber(command, flags, 'clip', true);
  const clipping = num(flags, 'clip') > 0 ? { mode: str(flags, 'clip-mode') as 'norm' | 'value', max: num(flags, 'clip') } : null;
  const seed = num(flags, 'seed');
  const plotPath = flags.plot ? str(flags, 'plot') : undefined;
  planOutputs({ command, inputs: { '--data': dir }, outputs: { '--out': str(flags, 'out'), '--plot': plotPath }, createParents: true });

  let manifest = readTriggerManifest(dir);
  if (manifest === null) {
    if (!hasEspeak()) return espeakMissing();
    console.error(`no data set in ${dir}: synthesizing one`);
    manifest = synthesize(dir, {
      train: num(flags, 'train-clips'), test: num(flags, 'test-clips'), seed: num(flags, 'data-seed'),
    });
  }
  const pool = flags.pool === undefined ? manifest.pool : num(flags, 'pool');
  const train = loadTriggerSplit(dir, 'train', manifest);
  const test = loadTriggerSplit(dir, 'test', manifest);
  if (train.length === 0) throw new UsageError(`${command}: the data set in ${dir} has no training clips`);

  // The label run lasts the same time whatever the pool: run·pool frames.
  const run = Math.max(1, Math.round((manifest.run * manifest.pool) / pool));
  const model = createTriggerModel({
    bands: manifest.spectrogram.bands, pool, hidden, layers, cell: str(flags, 'cell') as CellKind, run,
    spectrogram: manifest.spectrogram, stats: bandStatistics(train.map((c) => c.features)),
  }, { rng: new Rng(seed) });
  let progress: ReturnType<typeof createProgress> | null = null;
  const result = trainTriggerModel(model, train, {
    epochs, batchSize, lr, clip: clipping, signal: stopFlag,
    onProgress: (p) => {
      progress ??= createProgress({ label: 'training', total: p.totalSteps, unit: 'batches' });
      progress.update(p.step, { loss: p.smoothLoss.toFixed(4) });
    },
  }, new Rng(seed + 1));
  (progress as ReturnType<typeof createProgress> | null)?.finish();

  const early = num(flags, 'early');
  const testProbabilities = predictTrigger(model, test.map((c) => c.features));
  const heldOut = test.length > 0 ? evaluateTrigger(model, test, threshold, 0, testProbabilities) : null;
  const heldOutEarly = test.length > 0 && early > 0 ? evaluateTrigger(model, test, threshold, early, testProbabilities) : null;
  const trainEval = evaluateTrigger(model, train.slice(0, Math.min(train.length, 100)), threshold);
  const out = str(flags, 'out');
  saveTriggerModel(out, model);
  let plot: string | null = null;
  if (test.length > 0 && flags.plot) {
    plot = str(flags, 'plot');
    const clip = test[0];
    const p = testProbabilities[0];
    writeFileAtomic(plot, triggerPlotSvg({
      title: `held-out clip 0: log spectrogram and P(activate) — ${clip.events.map((e) => e.word).join(', ') || 'no words'}`,
      spectrogram: clip.features, probabilities: p, pool, frameSeconds: manifest.spectrogram.hopMs / 1000,
      windows: triggerWindows(clip.triggerEnds, p.length, clip.seconds, model.config.run),
    }));
  }
  const report = {
    data: dir, trainClips: train.length, testClips: test.length,
    model: { ...model.config }, epochs, batchSize, lr, steps: result.steps, seconds: result.seconds,
    epochLosses: result.epochLosses, heldOut, heldOutEarly, trainSubset: trainEval, out, plot,
  };
  if (flags.json) console.log(JSON.stringify(report, null, 2));
  else {
    console.log(`trained a ${layers}-layer ${model.config.cell} (H = ${hidden}, pool ${pool}) on ${train.length} clips: ${result.steps} updates in ${result.seconds.toFixed(0)} s, final epoch loss ${result.epochLosses.at(-1)!.toFixed(4)}`);
    if (heldOut) console.log(describeEvaluation('held-out', heldOut));
    if (heldOutEarly) console.log(describeEvaluation(`held-out, detections up to ${early} step(s) before the window counted`, heldOutEarly));
    console.log(describeEvaluation(`training (first ${trainEval.clips})`, trainEval));
    console.log(`model saved to ${out}${plot ? `; plot of held-out clip 0 in ${plot}` : ''}`);
  }
  return interrupted(command, result.steps, [out, plot ?? undefined]);
}

function describeEvaluation(name: string, e: ReturnType<typeof evaluateTrigger>): string {
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  return `${name} clips: ${e.clips}, triggers ${e.triggers}, detections ${e.truePositives + e.falsePositives} → precision ${pct(e.precision)}, recall ${pct(e.recall)}, F1 ${pct(e.f1)} (per-step accuracy ${pct(e.stepAccuracy)}, threshold ${e.threshold})`;
}

/** The clip's words: from --truth, or CLIP.json beside CLIP.wav (as written by synth), or none. */
function readTruth(wavPath: string, truthPath: string | undefined): { seconds: number; events: ClipEvent[] } | null {
  const path = truthPath ?? wavPath.replace(/\.wav$/i, '.json');
  if (truthPath === undefined && (path === wavPath || !fs.existsSync(path))) return null;
  const json = readJsonFile<{ seconds?: number; events?: ClipEvent[] }>(path, 'clip description');
  if (!Array.isArray(json.events) || typeof json.seconds !== 'number') {
    throw new InputError(`trigger detect: ${path}: expected { seconds, events: [{ word, start, end, trigger }] } (as written by synth)`);
  }
  return { seconds: json.seconds, events: json.events };
}

function runDetect(argv: string[]): number {
  const command = 'trigger detect';
  const { flags, positionals } = parseArgs(command, argv, DETECT);
  if (flags.help) return printHelp('seqgrad trigger detect --model model.json clip.wav [flags]', 'run the detector on a WAV clip: detections (time of each), and an SVG of ŷ over the spectrogram', DETECT);
  const modelPath = flags.model as string | undefined;
  if (!modelPath) throw new UsageError(`${command}: --model is required (a file written by 'seqgrad trigger train')`);
  if (positionals.length !== 1) throw new UsageError(`${command}: expected one WAV file, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`);
  const wavPath = positionals[0];
  const threshold = probability(command, flags, 'threshold');
  planOutputs({
    command, inputs: { '--model': modelPath, WAV: wavPath, '--truth': flags.truth as string | undefined },
    outputs: { '--plot': flags.plot as string | undefined }, createParents: true,
  });
  const model = loadTriggerModel(modelPath);
  const audio = readWav(wavPath);
  const spectrogram = spectrogramOfAudio(model, audio.samples, audio.sampleRate);
  if (spectrogram.rows < model.config.pool) throw new UsageError(`${command}: ${wavPath} is too short (${spectrogram.rows} frames, the model pools ${model.config.pool})`);
  const [p] = predictTrigger(model, [spectrogram]);
  const seconds = audio.samples.length / audio.sampleRate;
  const stepSeconds = seconds / p.length;
  const detections = detectTriggers(p, threshold);
  const truth = readTruth(wavPath, flags.truth as string | undefined);
  const ends = truth ? truth.events.filter((e) => e.trigger).map((e) => e.end) : [];
  const windows = truth ? triggerWindows(ends, p.length, truth.seconds, model.config.run) : undefined;
  const counts = windows ? scoreDetections(detections, windows) : null;
  const out = flags.plot as string | undefined;
  if (out) {
    writeFileAtomic(out, triggerPlotSvg({
      title: `${nodePath.basename(wavPath)}: log spectrogram and P(activate)`, spectrogram, probabilities: p, pool: model.config.pool,
      frameSeconds: model.config.spectrogram.hopMs / 1000, windows,
    }));
  }
  const times = detections.map((d) => Number((d * stepSeconds).toFixed(2)));
  if (flags.json) {
    console.log(JSON.stringify({
      clip: wavPath, seconds, steps: p.length, threshold, detections: times, maxProbability: Math.max(...p),
      truth: truth ? { triggerEnds: ends, ...counts, ...precisionRecall(counts!) } : null, plot: out ?? null,
    }, null, 2));
  } else {
    console.log(`${wavPath}: ${detections.length} detection(s)${times.length ? ` at ${times.map((t) => `${t.toFixed(2)} s`).join(', ')}` : ''} (threshold ${threshold}, max ŷ ${Math.max(...p).toFixed(3)})`);
    if (truth && counts) {
      console.log(`truth: ${ends.length} "activate"(s) ending at ${ends.map((e) => `${e.toFixed(2)} s`).join(', ') || '—'}; ${counts.truePositives} correct, ${counts.falsePositives} false alarm(s), ${counts.falseNegatives} missed`);
    }
    if (out) console.log(`plot written to ${out}`);
  }
  return 0;
}

export const triggerCommand: Command = {
  name: 'trigger',
  summary: SUMMARY,
  run(argv) {
    return runSubcommand('trigger', argv, { synth: runSynth, train: runTrain, detect: runDetect },
      `usage: ${USAGE}\n\n${SUMMARY}\n(seqgrad trigger <synth|train|detect> --help for the flags)`);
  },
};
