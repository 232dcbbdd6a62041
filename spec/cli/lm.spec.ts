import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sampleCommand } from '../../cli/commands/sample.js';
import { scoreCommand } from '../../cli/commands/score.js';
import { startCommand } from '../../cli/commands/start.js';
import { trainCommand } from '../../cli/commands/train.js';
import { runSeqgrad, type CliRun } from './helpers.js';

let dir: string;
/** `seqgrad start --quick` runs while the other cases do (it is the slowest spawn). */
let startRun: Promise<CliRun>;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-lm-cli-'));
  startRun = seqgrad('start', '--quick', '--time-limit', '20', '--plot', path.join(dir, 'curve', 'dinos-loss.svg'), '--out', path.join(dir, 'curve', 'dinos.json'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function seqgrad(...args: string[]): Promise<CliRun> {
  return runSeqgrad(args);
}

describe('seqgrad train / sample / score', () => {
  it('answers bad input with one clear line and exit code 2', async () => {
    const empty = path.join(dir, 'empty.txt');
    fs.writeFileSync(empty, '\n\n');
    const broken = path.join(dir, 'broken.json');
    fs.writeFileSync(broken, '{"kind": ');
    const missing = path.join(dir, 'missing.txt');
    const [bidi, noFile, emptyFile, badModel, streamOfWords] = await Promise.all([
      seqgrad('train', '--data', 'data/dinos.txt', '--bidirectional'),
      seqgrad('train', '--data', missing),
      seqgrad('train', '--data', empty),
      seqgrad('score', '--model', broken, 'some text'),
      seqgrad('train', '--data', 'data/dinos.txt', '--format', 'stream', '--level', 'word'),
    ]);
    const cases: [CliRun, RegExp][] = [
      [bidi, /^seqgrad train: --bidirectional is not possible for a language model: .*must not see the future/],
      [noFile, new RegExp(`^seqgrad train: training corpus ${missing} does not exist$`)],
      [emptyFile, new RegExp(`^seqgrad train: training corpus ${empty} is empty$`)],
      [badModel, new RegExp(`^seqgrad score: model file ${broken} is not valid JSON`)],
      [streamOfWords, /^seqgrad train: corpus: format 'stream' reads characters; expected level 'char', got 'word'$/],
    ];
    for (const [run, pattern] of cases) {
      expect(run.stderr).toMatch(pattern);
      expect(run.stderr.split('\n')).toHaveLength(1);
      expect(run.code).toBe(2);
    }
  });

  it('has --help on every command, and rejects unknown flags', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      for (const command of [trainCommand, sampleCommand, scoreCommand, startCommand]) {
        log.mockClear();
        expect(await command.run(['--help'])).toBe(0);
        expect(String(log.mock.calls[0][0])).toMatch(new RegExp(`^usage: seqgrad ${command.name} `));
        await expect(async () => command.run(['--frobnicate'])).rejects.toThrow(/unknown flag --frobnicate/);
      }
      await expect(async () => trainCommand.run(['--data', 'data/dinos.txt', '--init', 'irnn'])).rejects.toThrow(/^train: --init irnn is for --cell rnn, got --cell lstm$/);
      await expect(async () => trainCommand.run(['--data', 'data/dinos.txt', '--activation', 'relu', '--cell', 'gru'])).rejects.toThrow(/^train: --activation is for --cell rnn, got --cell gru$/);
      await expect(async () => trainCommand.run(['--data', 'data/dinos.txt', '--arch', 'transformer', '--batches', 'random'])).rejects.toThrow(/^--init, --activation and --batches random are for the recurrent model, not --arch transformer$/);
    } finally {
      log.mockRestore();
    }
  });

  it('--threads: 2 threads on wasm (the summary says so; the Transformer too), a one-line refusal on js (exit 2)', async () => {
    const data = path.join(dir, 'threads.txt');
    fs.writeFileSync(data, Array.from({ length: 60 }, (_, i) => ['abba', 'baab', 'abab'][i % 3]).join('\n') + '\n');
    const common = ['train', '--data', data, '--steps', '2', '--seq-len', '4', '--batch', '4', '--hidden', '8', '--threads', '2'];
    const [wasm, js, transformer] = await Promise.all([
      seqgrad(...common, '--out', path.join(dir, 't2.json'), '--json'),
      seqgrad(...common, '--backend', 'js', '--out', path.join(dir, 'tjs.json')),
      seqgrad(...common, '--arch', 'transformer', '--heads', '2', '--out', path.join(dir, 't2t.json'), '--json'),
    ]);
    expect(wasm.code).toBe(0);
    expect(JSON.parse(wasm.stdout).threads).toBe(2);
    expect(transformer.code, transformer.stderr).toBe(0);
    expect(JSON.parse(transformer.stdout)).toMatchObject({ arch: 'transformer', threads: 2, steps: 2 });
    expect(js.code).toBe(2);
    expect(js.stderr).toMatch(/^seqgrad train: --threads > 1 needs the wasm backend .*use --threads 1$/);
  });

  it('trains, samples and scores end to end with --json', async () => {
    const data = path.join(dir, 'names.txt');
    fs.writeFileSync(data, Array.from({ length: 40 }, (_, i) => ['abba', 'baab', 'abab'][i % 3]).join('\n') + '\n');
    const model = path.join(dir, 'm.json');
    const train = await seqgrad('train', '--data', data, '--steps', '3', '--seq-len', '5', '--batch', '4', '--hidden', '8', '--backend', 'js', '--out', model, '--json');
    expect(train.code).toBe(0);
    const summary = JSON.parse(train.stdout);
    expect(summary.steps).toBe(3);
    expect(summary.vocabularySize).toBe(4); // <EOS>, <UNK>, a, b
    expect(summary.validation.bitsPerToken).toBeCloseTo(summary.validation.loss / Math.LN2, 12);
    // The same file as a character stream: newline, a, b (no <UNK>); 40 lines × 5 characters, 10 % held out.
    const stream = await seqgrad('train', '--data', data, '--format', 'stream', '--batches', 'random', '--steps', '2', '--seq-len', '5', '--batch', '4', '--hidden', '8', '--backend', 'js', '--out', path.join(dir, 's.json'), '--json');
    expect(stream.code).toBe(0);
    const streamed = JSON.parse(stream.stdout);
    expect(streamed.vocabularySize).toBe(3);
    expect(streamed.validation.tokens).toBe(16); // 20 held-out characters in 4 streams of 5: 4 × 4 predictions
    expect(streamed.train.batches).toBe('random');
    expect(streamed.config.init).toBe('pytorch'); // a character stream defaults to PyTorch's initialisation and biases

    const [sample, score] = await Promise.all([
      seqgrad('sample', '--model', model, '--n', '3', '--seed', '2', '--json'),
      seqgrad('score', '--model', model, 'abba', 'bbbb', '--json'),
    ]);
    expect(sample.code).toBe(0);
    const sequences = JSON.parse(sample.stdout).sequences;
    expect(sequences).toHaveLength(3);
    for (const s of sequences) expect(s.text).toMatch(/^[ab]*$/);
    expect(score.code).toBe(0);
    const scores = JSON.parse(score.stdout);
    expect(scores.map((s: { tokens: string[] }) => s.tokens.length)).toEqual([5, 5]);
    for (const s of scores) expect(s.logProb).toBeCloseTo(s.tokenLogProbs.reduce((a: number, b: number) => a + b, 0), 12);
  });

  it('start --quick: one gradient-check line per cell, a trained model, ten sampled names and the SVG curve', async () => {
    const run = await startRun;
    expect(run.code).toBe(0);
    const out = run.stdout;
    const cellLines = out.split('\n').filter((l) => /^ {3}pass {2}(RNN|GRU|LSTM)/.test(l));
    expect(cellLines).toHaveLength(9); // the 6 kinds (the RNN twice: tanh and ReLU) and the layer-normalised LSTM and GRU
    // 1,536 names, shuffled; about 90% of the characters (so of the names) are for training
    const trainNames = Number(/2\. character-level LSTM language model on dinos\.txt: (\d+) training names/.exec(out)?.[1]);
    expect(trainNames).toBeGreaterThan(0.85 * 1536);
    expect(trainNames).toBeLessThan(0.95 * 1536);
    expect(out).toMatch(/^ {3}trained in \d+(\.\d)?s: \d+ steps/m); // the time once, not "8.5s (8.5 s)"
    const names = out.slice(out.indexOf('3. ten names')).split('\n').slice(1, 11);
    expect(names).toHaveLength(10);
    for (const n of names) expect(n).toMatch(/^ {3}\S*.*\((novel|in the training list|empty)\)$/);
    const svg = path.join(dir, 'curve', 'dinos-loss.svg');
    expect(out).toContain(`4. loss curve (bits/char, train and validation, by step): ${svg}`);
    expect(fs.readFileSync(svg, 'utf8')).toMatch(/<svg[^>]*>[\s\S]*validation[\s\S]*<\/svg>\s*$/);
    // the model is saved beside the curve, and the run ends with the next three commands, which work on it
    const model = path.join(dir, 'curve', 'dinos.json');
    expect(out).toContain(`5. the model: ${model}`);
    const next = out.trimEnd().split('\n').slice(-3).map((l) => l.trim());
    expect(next.map((l) => l.split(' ')[2])).toEqual(['sample', 'score', 'gradflow']);
    const sampled = await seqgrad('sample', '--model', model, '--n', '3', '--json');
    expect(sampled.code).toBe(0);
    expect(JSON.parse(sampled.stdout).sequences).toHaveLength(3);
  });

  it('sample and score read a training checkpoint as the model it holds', async () => {
    const data = path.join(dir, 'ck-names.txt');
    fs.writeFileSync(data, Array.from({ length: 40 }, (_, i) => ['abba', 'baab', 'abab'][i % 3]).join('\n') + '\n');
    const [model, checkpoint] = [path.join(dir, 'ck-model.json'), path.join(dir, 'ck.json')];
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => { lines.push(args.join(' ')); });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      // The checkpoint of the last step (3) holds the same weights as the model file.
      expect(await trainCommand.run(['--data', data, '--steps', '3', '--seq-len', '5', '--batch', '4', '--hidden', '8', '--backend', 'js',
        '--checkpoint', checkpoint, '--checkpoint-every', '3', '--out', model, '--json'])).toBe(0);
      expect(JSON.parse(fs.readFileSync(checkpoint, 'utf8')).kind).toBe('seqgrad.lm-checkpoint');
      const outputs: string[][] = [];
      for (const file of [model, checkpoint]) {
        lines.length = 0;
        expect(await sampleCommand.run(['--model', file, '--n', '3', '--seed', '5', '--backend', 'js'])).toBe(0);
        expect(await scoreCommand.run(['--model', file, 'abba', 'bbbb', '--backend', 'js'])).toBe(0);
        outputs.push([...lines]);
      }
      expect(outputs[1]).toEqual(outputs[0]);
      expect(outputs[0].filter((l) => l.startsWith('log P ='))).toHaveLength(2);
    } finally {
      vi.restoreAllMocks();
    }
  });
});
