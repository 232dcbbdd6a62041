import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSeqgrad } from './helpers.js';

let dir: string;
beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-transformer-cli-')); });
afterAll(() => { fs.rmSync(dir, { recursive: true, force: true }); });

describe('seqgrad train --arch transformer', () => {
  it('trains a causal Transformer LM end to end with --json and writes its model file', async () => {
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
  });

  it('answers a head count that does not divide d_model with one line and exit code 2', async () => {
    const data = path.join(dir, 'tiny.txt');
    fs.writeFileSync(data, 'abc\n'.repeat(20));
    const run = await runSeqgrad(['train', '--arch', 'transformer', '--data', data, '--hidden', '8', '--heads', '3', '--out', path.join(dir, 'x.json')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('seqgrad train: --heads expects a positive divisor of --hidden 8, got 3');
  });
});
