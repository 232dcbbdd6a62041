import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { treeCommand } from '../../cli/commands/tree.js';
import { parseTrees, treeLeaves } from '../../training/trees/trees.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-tree-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Run `seqgrad tree …` in this process; returns the exit code and what went to stdout. */
async function run(argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true); // the progress bar
  try {
    const code = await treeCommand.run(argv);
    return { code, out: lines.join('\n') };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

describe('seqgrad tree', () => {
  it('generate writes parseable trees, one per line, and a JSON summary', async () => {
    const file = path.join(dir, 'trees.txt');
    const { code, out } = await run(['generate', '--count', '30', '--seed', '4', '--out', file, '--json']);
    expect(code).toBe(0);
    const summary = JSON.parse(out);
    const trees = parseTrees(fs.readFileSync(file, 'utf8'));
    expect(trees.length).toBe(30);
    expect(fs.readFileSync(file, 'utf8').trim().split('\n').length).toBe(30);
    const counts = [0, 0, 0, 0, 0];
    for (const t of trees) counts[Number(t.label)]++;
    expect(summary.rootClassCounts).toEqual(counts);
  });

  it('train on a file, save, eval the saved models on another file (--json)', async () => {
    const trainFile = path.join(dir, 'train.txt'), testFile = path.join(dir, 'test.txt'), model = path.join(dir, 'model.json');
    await run(['generate', '--count', '200', '--seed', '1', '--out', trainFile]);
    await run(['generate', '--count', '60', '--seed', '2', '--out', testFile, '--classes', '5']);
    const trained = await run(['train', '--train', trainFile, '--test', testFile, '--embedding', '8', '--epochs', '2', '--out', model, '--json']);
    expect(trained.code).toBe(0);
    const result = JSON.parse(trained.out);
    expect(result.classes).toBe(5);
    expect(result.test.trees).toBe(60);
    const evaluated = await run(['eval', '--model', model, '--trees', testFile, '--json']);
    expect(evaluated.code).toBe(0);
    const again = JSON.parse(evaluated.out);
    // The saved models give the same accuracies as right after training.
    expect(again.tree.rootAccuracy).toBe(result.tree.rootAccuracy);
    expect(again.bag.nodeAccuracy).toBe(result.bag.nodeAccuracy);
    const negated = parseTrees(fs.readFileSync(testFile, 'utf8')).filter((t) => treeLeaves(t).includes('not')).length;
    expect(again.tree.negated.trees).toBe(negated);
  });

  it('--help prints the flags', async () => {
    const { code, out } = await run(['train', '--help']);
    expect(code).toBe(0);
    expect(out).toContain('--loss-at all|root');
  });

  it('bad input exits with 2 and one line naming the problem', () => {
    const badFile = path.join(dir, 'bad.txt');
    fs.writeFileSync(badFile, '(3 (2 it) (4 (3 works) (2 .))\n');
    const tsx = path.resolve('node_modules/tsx/dist/cli.mjs');
    const cases: [string[], string][] = [
      [['tree', 'nonsense'], "unknown sub-command 'nonsense'"],
      [['tree', 'train', '--train', badFile], `parseTrees: ${badFile}:2:1: unbalanced parentheses: '(' at 1:1 is never closed`],
    ];
    for (const [argv, message] of cases) {
      const child = spawnSync(process.execPath, [tsx, 'cli/main.ts', ...argv], { encoding: 'utf8' });
      expect(child.status, argv.join(' ')).toBe(2);
      expect(child.stderr).toContain(message);
      expect(child.stderr).not.toContain('    at '); // no stack trace
    }
  });

  it('a missing model file is an input error (exit 2) naming the file', async () => {
    const missing = path.join(dir, 'missing.json');
    const err = await run(['eval', '--model', missing]).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('InputError');
    expect((err as Error).message).toBe(`readTextFile: model file ${missing} does not exist`);
  });
});
