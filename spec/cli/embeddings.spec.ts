import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { analogyCommand, debiasCommand, evalAnalogiesCommand, similarCommand, tsneCommand } from '../../cli/commands/embeddings.js';
import { loadCommands } from '../../cli/commands/index.js';
import { sentimentCommand } from '../../cli/commands/sentiment.js';

const commands = await loadCommands();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-emb-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

// Hand-built 3-D vectors (axis 0 male, 1 female, 2 royal) in the word2vec text format.
const vectorsFile = path.join(dir, 'vectors.txt');
fs.writeFileSync(vectorsFile, [
  '8 3', 'man 1 0 0', 'woman 0 1 0', 'king 1 0 1', 'queen 0 1 1', 'apple 0 0 1', 'boy 0.9 0 0.1', 'girl 0.1 0.9 0.1',
  'doctor 0.6 0.2 0.3', '',
].join('\n'));

async function run(command: { run(argv: string[]): Promise<number> | number }, argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
  const code = await command.run(argv);
  return { code, out: lines.join('\n') };
}

describe('embedding commands', () => {
  it('are registered', () => {
    const names = commands.map((c) => c.name);
    for (const n of ['analogy', 'similar', 'eval-analogies', 'eval-similarity', 'tsne', 'debias', 'sentiment']) expect(names).toContain(n);
  });

  it('analogy man woman king → queen', async () => {
    const { code, out } = await run(analogyCommand, [vectorsFile, 'man', 'woman', 'king']);
    expect(code).toBe(0);
    expect(out.split('\n')[0]).toBe('man : woman :: king : queen');
  });

  it('analogy --scoring course --scores: the notebook\'s scoring and every word\'s score', async () => {
    // δ = woman − man = (−1, 1, 0); queen − king = δ: score 1; apple − king = (−1, 0, 0): 1/√2.
    const { code, out } = await run(analogyCommand, [vectorsFile, 'man', 'woman', 'king', '--scoring', 'course', '--scores', '--json']);
    expect(code).toBe(0);
    const json = JSON.parse(out);
    expect(json.answers[0].word).toBe('queen');
    expect(json.answers[0].similarity).toBeCloseTo(1, 6);
    expect(json.scores).toHaveLength(8);
    expect(json.scores.find((s: { word: string }) => s.word === 'apple').score).toBeCloseTo(Math.SQRT1_2, 6);
    const text = await run(analogyCommand, [vectorsFile, 'man', 'woman', 'king', '--scoring', 'course', '--scores']);
    expect(text.out).toMatch(/every word's score \(course\):\n {2}queen +1\.0000/);
  });

  it('similar --json lists neighbours without the word itself', async () => {
    const { out } = await run(similarCommand, [vectorsFile, 'boy', '--k', '2', '--json']);
    const [result] = JSON.parse(out);
    expect(result.word).toBe('boy');
    expect(result.neighbors[0].word).toBe('man');
    expect(result.neighbors.map((n: { word: string }) => n.word)).not.toContain('boy');
  });

  it('eval-analogies reports accuracy and coverage per section', async () => {
    const questions = path.join(dir, 'q.txt');
    fs.writeFileSync(questions, ': family\nman woman king queen\nman woman boy girl\nman woman prince princess\n');
    const { out } = await run(evalAnalogiesCommand, [vectorsFile, questions, '--json']);
    const report = JSON.parse(out);
    expect(report.sections[0]).toMatchObject({ name: 'family', total: 3, answered: 2, correct: 2, accuracy: 1 });
    expect(report.sections[0].coverage).toBeCloseTo(2 / 3, 12);
  });

  it('tsne writes an SVG scatter plot with the word labels', async () => {
    const svg = path.join(dir, 'plot.svg');
    const { code } = await run(tsneCommand, [vectorsFile, '--words', 'man,woman,king,queen,apple,boy,girl', '--iterations', '100', '--plot', svg]);
    expect(code).toBe(0);
    const text = fs.readFileSync(svg, 'utf8');
    expect(text.startsWith('<svg') || text.startsWith('<?xml')).toBe(true);
    for (const w of ['queen', 'apple', 'girl']) expect(text).toContain(`>${w}<`);
  });

  it('debias --json: neutralized words end with projection 0', async () => {
    const out = path.join(dir, 'debiased.txt');
    const r = await run(debiasCommand, [vectorsFile, '--pairs', 'woman:man', '--neutralize', 'doctor', '--equalize', 'girl:boy', '--out', out, '--json']);
    const report = JSON.parse(r.out).report;
    const doctor = report.find((x: { word: string }) => x.word === 'doctor');
    expect(Math.abs(doctor.after)).toBeLessThan(1e-6);
    expect(Math.abs(doctor.before)).toBeGreaterThan(0.1);
    expect(fs.readFileSync(out, 'utf8').split('\n')[0]).toBe('8 3');
  });

  it("debias --equalize-variant course: the notebook's formula on raw vectors (hand-computed projection)", async () => {
    // g = woman − man = (−1, 1, 0); girl (0.1, 0.9, 0.1), boy (0.9, 0, 0.1): μ·g/‖g‖² = −0.025,
    // ν = μ − μ_B = (0.475, 0.475, 0.1), ‖ν‖² = 0.46125; girl: (e·g/‖g‖² − μ·g/‖g‖²) = 0.425, ‖girl − μ‖ = √0.3625;
    // girl' = ν + √0.53875·0.425/√0.3625 · g, so girl'·g/‖g‖ = √2·√0.53875·0.425/√0.3625.
    const r = await run(debiasCommand, [vectorsFile, '--pairs', 'woman:man', '--equalize', 'girl:boy', '--equalize-variant', 'course', '--json']);
    const girl = JSON.parse(r.out).report.find((x: { word: string }) => x.word === 'girl');
    expect(girl.after).toBeCloseTo((Math.SQRT2 * Math.sqrt(0.53875) * 0.425) / Math.sqrt(0.3625), 6); // the file is read as float32
    const paper = await run(debiasCommand, [vectorsFile, '--pairs', 'woman:man', '--equalize', 'girl:boy', '--json']);
    expect(Math.abs(JSON.parse(paper.out).report.find((x: { word: string }) => x.word === 'girl').after - girl.after)).toBeGreaterThan(0.01);
  });

  it('unknown words and missing files are input errors (exit 2), --help is not', async () => {
    await expect(run(analogyCommand, [vectorsFile, 'man', 'woman', 'emperor'])).rejects.toMatchObject({
      name: 'InputError', message: expect.stringMatching(/'emperor' is not in the vocabulary of .*vectors\.txt \(8 words\)/),
    });
    await expect(run(similarCommand, [path.join(dir, 'nope.txt'), 'man'])).rejects.toMatchObject({
      name: 'InputError', message: expect.stringMatching(/vectors file .*nope\.txt does not exist/),
    });
    const bad = path.join(dir, 'bad.txt');
    fs.writeFileSync(bad, 'a 1 2\nb 1\n');
    await expect(run(similarCommand, [bad, 'a'])).rejects.toMatchObject({ name: 'InputError', message: expect.stringMatching(/bad\.txt line 2/) });
    expect((await run(tsneCommand, ['--help'])).code).toBe(0);
    expect((await run(sentimentCommand, ['train', '--help'])).out).toMatch(/--vectors/);
  });

  it('the seqgrad binary prints one line and exits with 2 for an unknown word', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'analogy', vectorsFile, 'man', 'woman', 'emperor'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^seqgrad analogy: 'emperor' is not in the vocabulary/);
  });
});
