/**
 * `sentiment train --data FILE`: the user's own TSV/CSV files (any classes, string labels kept in
 * the model file), and the shipped named sets from any current folder. The CLI runs are spawned in
 * a temporary folder (not the repository), with the tsx loader given by its absolute path.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../training/core/errors.js';
import { labelClasses, loadSentimentFile, parseLabelledFile } from '../../../training/sentiment/sentiment.js';
import { repoRoot } from '../../cli/helpers.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-sent-own-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const at = (name: string): string => path.join(dir, name);

const rows = (text: string, name: string): [string, string][] => parseLabelledFile(text, name).map((r) => [r.label, r.text]);

describe('the user\'s labelled files', () => {
  it('TSV label<TAB>text without a header; a text may hold tabs', () => {
    expect(rows('pos\tgreat food\nneg\tcold\tand late\n\nneu\tok\n', 'a.tsv')).toEqual([['pos', 'great food'], ['neg', 'cold\tand late'], ['neu', 'ok']]);
  });

  it('TSV with a header uses its column order (the UCI files: sentence<TAB>label)', () => {
    expect(rows('reviews\tsentiment\nGreat food!\t1\nSlow.\t0\n', 'u.txt')).toEqual([['1', 'Great food!'], ['0', 'Slow.']]);
  });

  it('CSV: the header names the columns (any order, extra columns ignored); quoted commas and quotes', () => {
    const text = 'id,Text,extra,Label\n1,"loved it, really",x,joy\n2,"the ""best""",y,joy\n3,"meh,\nreally",z,boredom\n';
    expect(rows(text, 'c.csv')).toEqual([['joy', 'loved it, really'], ['joy', 'the "best"'], ['boredom', 'meh,\nreally']]);
  });

  it('bad files: one InputError naming the file and the line', () => {
    const fails = (text: string, name: string, message: RegExp): void => {
      expect(() => parseLabelledFile(text, name)).toThrow(InputError);
      expect(() => parseLabelledFile(text, name)).toThrow(message);
    };
    fails('pos\tfine\nno tab here\n', 'b.tsv', /b\.tsv line 2: expected 'label<TAB>text', got 'no tab here'/);
    fails('pos,fine\nneg,bad\n', 'b.csv', /b\.csv line 1: expected a CSV header naming a label column .* got 'pos,fine'/);
    fails('label,text\npos,fine\nneg,"open\n', 'q.csv', /q\.csv line 3: a quoted field is never closed/);
    fails('label,text\npos,fine\n,nothing\n', 'e.csv', /e\.csv line 3: expected a label, got an empty one/);
    fails('label,text,x\npos\n', 's.csv', /s\.csv line 2: expected 2 comma-separated fields/);
    fails('no separators at all\n', 'n.txt', /n\.txt line 1: expected a TSV line/);
  });

  it('classes: numbers in numeric order, else by code point', () => {
    const of = (labels: string[]): string[] => labelClasses(labels.map((label) => ({ label, text: '', source: '' })));
    expect(of(['10', '2', '1', '2'])).toEqual(['1', '2', '10']);
    expect(of(['pos', 'neg', 'Neutral', 'neg'])).toEqual(['Neutral', 'neg', 'pos']);
  });

  it('loadSentimentFile: its classes, a seeded 80/20 split, the model\'s classes enforced', () => {
    fs.writeFileSync(at('three.tsv'), Array.from({ length: 30 }, (_, i) => `${['a', 'b', 'c'][i % 3]}\tsentence ${i}`).join('\n'));
    const data = loadSentimentFile(at('three.tsv'), { seed: 3 });
    expect(data.classes).toEqual(['a', 'b', 'c']);
    expect([data.train.length, data.test.length]).toEqual([24, 6]);
    expect(loadSentimentFile(at('three.tsv'), { seed: 3 }).test).toEqual(data.test);
    expect(() => loadSentimentFile(at('three.tsv'), { classes: ['a', 'b'] })).toThrow(/three\.tsv:3: label 'c' is not one of the model's classes \(a, b\)/);
    fs.writeFileSync(at('one.tsv'), 'x\thello\nx\tworld\nx\tagain\n');
    expect(() => loadSentimentFile(at('one.tsv'))).toThrow(/expected at least 2 classes, got 1/);
  });
});

/** `seqgrad args` run with `cwd` as the current folder. */
function seqgradIn(cwd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const loader = pathToFileURL(path.join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', loader, path.join(repoRoot, 'cli/main.ts'), ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('sentiment train --data, from a folder outside the repository', () => {
  // Three classes, each with its own words: a model that learns anything separates them.
  const words = { fruit: ['apple', 'pear', 'plum', 'mango'], sport: ['goal', 'match', 'team', 'score'], weather: ['rain', 'snow', 'wind', 'storm'] };
  const sentences = Object.entries(words).flatMap(([label, w]) => Array.from({ length: 20 }, (_, i) => [label, `the ${w[i % 4]} and ${w[(i + 1) % 4]}, "today"`]));

  it('a CSV with string labels: trained, saved with its label list; eval and predict print the labels', async () => {
    fs.writeFileSync(at('topics.csv'), 'text,label\n' + sentences.map(([l, t]) => `"${t.replace(/"/g, '""')}",${l}`).join('\n') + '\n');
    const train = await seqgradIn(dir, ['sentiment', 'train', '--data', 'topics.csv', '--epochs', '40', '--out', 'topics.json', '--json']);
    expect(train.stderr).not.toMatch(/Error/);
    expect(train.code).toBe(0);
    const result = JSON.parse(train.stdout);
    expect(result.classes).toEqual(['fruit', 'sport', 'weather']);
    expect([result.train, result.test]).toEqual([48, 12]);
    expect(result.testAccuracy).toBe(1);
    expect(JSON.parse(fs.readFileSync(at('topics.json'), 'utf8')).classes).toEqual(['fruit', 'sport', 'weather']);

    // eval finds the file from the model (an absolute path) from another folder too.
    const [predict, evaluated] = await Promise.all([
      seqgradIn(dir, ['sentiment', 'predict', '--in', 'topics.json', 'a storm with rain', 'my apple']),
      seqgradIn(os.tmpdir(), ['sentiment', 'eval', '--in', at('topics.json'), '--json']),
    ]);
    expect(predict.stdout.trim().split('\n')).toEqual(['weather\ta storm with rain', 'fruit\tmy apple']);
    expect(JSON.parse(evaluated.stdout)).toMatchObject({ accuracy: 1, total: 12, classes: ['fruit', 'sport', 'weather'] });
  }, 60_000);

  it('named sets from the package; a bad file; an output that is an input (data file or a named set\'s file): spawned together', async () => {
    fs.writeFileSync(at('bad.tsv'), 'pos\tfine\nneg\tbad\nthird line without a tab\n');
    const before = fs.readFileSync(at('bad.tsv'), 'utf8');
    const shared = at('shared');
    fs.mkdirSync(path.join(shared, 'emojify'), { recursive: true });
    for (const f of ['train_emoji.csv', 'tesss.csv']) fs.copyFileSync(path.join(repoRoot, 'data/emojify', f), path.join(shared, 'emojify', f));
    const target = path.join(shared, 'emojify', 'tesss.csv');
    const [named, bad, same, sharedOut] = await Promise.all([
      seqgradIn(dir, ['sentiment', 'train', '--data', 'emojify', '--epochs', '1', '--json']),
      seqgradIn(dir, ['sentiment', 'train', '--data', 'bad.tsv', '--epochs', '1']),
      seqgradIn(dir, ['sentiment', 'train', '--data', 'bad.tsv', '--out', 'bad.tsv']),
      seqgradIn(dir, ['sentiment', 'train', '--data', 'emojify', '--data-dir', shared, '--out', target]),
    ]);
    // The named set resolves from the package, not the current folder.
    expect(named.code).toBe(0);
    expect(JSON.parse(named.stdout)).toMatchObject({ data: 'emojify', train: 132, test: 56, classes: ['heart', 'baseball', 'smile', 'disappointed', 'fork_and_knife'] });
    // A bad file: exit 2 and one line naming the file and the line.
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/bad\.tsv line 3: expected 'label<TAB>text'/);
    // No output may be an input, refused before any work.
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(/--out bad\.tsv is the same file as --data bad\.tsv/);
    expect(fs.readFileSync(at('bad.tsv'), 'utf8')).toBe(before);
    expect(sharedOut.code).toBe(2);
    expect(sharedOut.stderr).toMatch(/is the same file as --data emojify/);
    expect(fs.readFileSync(target)).toEqual(fs.readFileSync(path.join(repoRoot, 'data/emojify/tesss.csv')));
  }, 120_000);
});
