import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSeqgrad, runSeqgradSignalled } from './helpers.js';

let dir: string;
beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-transformer-cli-')); });
afterAll(() => { fs.rmSync(dir, { recursive: true, force: true }); });

describe('seqgrad train --arch transformer', () => {
  it('trains a causal Transformer LM end to end with --json, writes its model file, and samples from it', async () => {
    const data = path.join(dir, 'names.txt');
    fs.writeFileSync(data, Array.from({ length: 40 }, (_, i) => ['abba', 'baab', 'abab'][i % 3]).join('\n') + '\n');
    const model = path.join(dir, 't.json');
    const run = await runSeqgrad(['train', '--arch', 'transformer', '--data', data, '--steps', '3', '--seq-len', '6', '--batch', '4',
      '--hidden', '8', '--heads', '2', '--layers', '2', '--norm-first', '--positions', 'learned', '--backend', 'js', '--out', model, '--json']);
    expect(run.stderr.split('\n').filter((l) => /error/i.test(l))).toEqual([]);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.arch).toBe('transformer');
    expect(summary.steps).toBe(3);
    expect(summary.vocabularySize).toBe(4); // <EOS>, <UNK>, a, b
    expect(summary.config).toMatchObject({ dModel: 8, numHeads: 2, layers: 2, normFirst: true, positions: 'learned', maxLength: 6 });
    expect(summary.validation.bitsPerToken).toBeCloseTo(summary.validation.loss / Math.LN2, 12);
    const file = JSON.parse(fs.readFileSync(model, 'utf8'));
    expect(file.kind).toBe('seqgrad.transformer-language-model');
    expect(Object.keys(file.weights)).toContain('encoder.layers.1.self_attn.W_q');
    const sample = await runSeqgrad(['sample', '--model', model, '--n', '3', '--seed', '2', '--json']);
    expect(sample.code).toBe(0);
    const sequences = JSON.parse(sample.stdout).sequences;
    expect(sequences).toHaveLength(3);
    for (const seq of sequences) expect(seq.text).toMatch(/^[ab]*$/);
  });

  it('answers a head count that does not divide d_model with one line and exit code 2', async () => {
    const data = path.join(dir, 'tiny.txt');
    fs.writeFileSync(data, 'abc\n'.repeat(20));
    const run = await runSeqgrad(['train', '--arch', 'transformer', '--data', data, '--hidden', '8', '--heads', '3', '--out', path.join(dir, 'x.json')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('seqgrad train: --heads expects a positive divisor of --hidden 8, got 3');
  });

  it('seq2seq train --arch transformer, then translate, eval and attend (one heatmap per decoder layer and head)', async () => {
    const pairs = path.join(dir, 'rev.tsv');
    fs.writeFileSync(pairs, Array.from({ length: 60 }, (_, i) => {
      const src = ['a', 'b', 'c', 'd'].slice(0, 2 + (i % 3)).map((_, k) => 'abcd'[(i + k) % 4]);
      return `${src.join(' ')}\t${[...src].reverse().join(' ')}`;
    }).join('\n') + '\n');
    const model = path.join(dir, 's2s.json');
    const train = await runSeqgrad(['seq2seq', 'train', '--arch', 'transformer', '--pairs', pairs, '--level', 'word', '--hidden', '8', '--heads', '2',
      '--layers', '2', '--steps', '3', '--batch', '8', '--max-eval', '5', '--backend', 'js', '--out', model, '--json']);
    expect(train.code).toBe(0);
    const summary = JSON.parse(train.stdout);
    expect(summary.arch).toBe('transformer');
    expect(summary.steps).toBe(3);
    expect(summary.config).toMatchObject({ dModel: 8, numHeads: 2, encoderLayers: 2, decoderLayers: 2 });
    expect(summary.validation.decoded).toBe(5);
    const out = path.join(dir, 'att.svg');
    const curve = path.join(dir, 'curve.svg');
    const [translate, evaluation, attend, lengthCurve] = await Promise.all([
      runSeqgrad(['seq2seq', 'translate', '--model', model, '--beam', '2', '--nbest', '2', '--json'], 'a b c\n\nd a\n'),
      runSeqgrad(['seq2seq', 'eval', '--model', model, '--pairs', pairs, '--beam', '1', '--max', '4', '--json']),
      runSeqgrad(['seq2seq', 'attend', '--model', model, 'a b c', '--plot', out]),
      runSeqgrad(['seq2seq', 'length-curve', '--model', model, '--pairs', pairs, '--max', '4', '--bucket', '2', '--plot', curve, '--json']),
    ]);
    expect(translate.code).toBe(0);
    const lines = translate.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.source)).toEqual(['a b c', 'd a']);
    for (const l of lines) expect(l.outputs).toHaveLength(2);
    expect(evaluation.code).toBe(0);
    expect(JSON.parse(evaluation.stdout).examples).toBe(4);
    // length-curve reads a Transformer file too: its buckets cover the 4 pairs (sources of 2–4 words)
    expect(lengthCurve.code).toBe(0);
    const [tc] = JSON.parse(lengthCurve.stdout).curves;
    expect(tc.label).toBe('transformer (s2s)');
    expect(tc.buckets.reduce((s: number, b: { examples: number }) => s + b.examples, 0)).toBe(4);
    expect(tc.overall.exactMatch).toBe(JSON.parse(evaluation.stdout).results[0].exactMatch);
    expect(fs.readFileSync(curve, 'utf8')).toMatch(/^<svg/);
    expect(attend.code).toBe(0);
    for (const l of [0, 1]) for (const h of [0, 1]) expect(fs.readFileSync(path.join(dir, `att-layer${l}-head${h}.svg`), 'utf8')).toMatch(/^<svg/);
  });

  it('seq2seq train --arch transformer: Ctrl-C saves the model and the checkpoint (exit 130), --resume continues it, conflicting flags are refused', async () => {
    const pairs = path.join(dir, 'rev-long.tsv');
    fs.writeFileSync(pairs, Array.from({ length: 200 }, (_, i) => `${i}abc${i % 7}\t${i % 7}cba${i}`).join('\n') + '\n');
    const model = path.join(dir, 'ctrl-c.json'), checkpoint = path.join(dir, 'ctrl-c-ck.json');
    const run = await runSeqgradSignalled(['seq2seq', 'train', '--arch', 'transformer', '--pairs', pairs, '--hidden', '8', '--heads', '2', '--layers', '1',
      '--steps', '1000000', '--max-eval', '2', '--out', model, '--checkpoint', checkpoint], /steps/);
    expect(run.code).toBe(130);
    expect(run.stderr).toMatch(/seqgrad seq2seq train: interrupted by SIGINT after step \d+; saved .*ctrl-c\.json, .*ctrl-c-ck\.json/);
    expect(JSON.parse(fs.readFileSync(model, 'utf8')).kind).toBe('seqgrad.transformer-seq2seq');
    const saved = JSON.parse(fs.readFileSync(checkpoint, 'utf8'));
    expect(saved.kind).toBe('seqgrad.transformer-seq2seq-checkpoint');
    const step = saved.trainer.step as number;
    expect(step).toBeGreaterThan(0);
    expect(step).toBeLessThan(1000000);
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const [resumed, conflict] = await Promise.all([
      runSeqgrad(['seq2seq', 'train', '--resume', checkpoint, '--steps', String(step + 2), '--max-eval', '2', '--out', path.join(dir, 'resumed.json'), '--json']),
      runSeqgrad(['seq2seq', 'train', '--resume', checkpoint, '--heads', '4', '--out', path.join(dir, 'no.json')]),
    ]);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ arch: 'transformer', steps: step + 2, data: { file: pairs } });
    expect(conflict.code).toBe(2);
    expect(conflict.stderr).toBe("seqgrad seq2seq train: --heads 4 conflicts with the checkpoint's 2 (a resumed run keeps its model and optimisation settings: drop the flag)");
  }, 120_000);
});
