/**
 * The README runs: every ```ts / ```js block (typescript, javascript too) is written to a temporary file, its
 * `seqgrad…` imports pointed at the sources of the package entries (the subpaths of package.json's exports), and
 * run with node + tsx; a block passes when it exits 0 and prints no FAIL.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../cli/helpers.js';
import { packageEntries } from './entries.js';

const run = promisify(execFile);

/** Package subpath → its source entry (scripts/build.mjs bundles the same files). */
const sources: Record<string, string> = Object.fromEntries(packageEntries().map((e) => [e.specifier, e.source]));

/** The code blocks of a markdown text in the given languages, with the line each starts on. */
function codeBlocks(markdown: string, languages: string[]): { line: number; code: string }[] {
  const blocks: { line: number; code: string }[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s*$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.indexOf('```', i + 1);
    if (end < 0) throw new Error(`README.md:${i + 1}: a code block that never closes`);
    if (languages.includes(open[1])) blocks.push({ line: i + 1, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

/** The block with `from 'seqgrad…'` pointed at the source files; throws on a subpath the package does not export. */
function againstSources(code: string): string {
  return code.replace(/from '(seqgrad(?:\/[\w-]+)?)'/g, (_, spec: string) => {
    if (!sources[spec]) throw new Error(`README imports '${spec}', which the package does not export`);
    return `from '${path.join(repoRoot, sources[spec])}'`;
  });
}

const dir = mkdtempSync(path.join(tmpdir(), 'seqgrad-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the README code blocks', () => {
  const blocks = codeBlocks(readFileSync(path.join(repoRoot, 'README.md'), 'utf8'), ['ts', 'typescript', 'js', 'javascript']);

  it('has library examples to run, and the extractor finds blocks', () => {
    expect(blocks.length).toBeGreaterThan(0);
    expect(codeBlocks('a\n```ts\nx\n```\n```sh\ny\n```\n', ['ts'])).toEqual([{ line: 2, code: 'x' }]);
  });

  for (const block of blocks) {
    it(`README.md:${block.line} runs`, async () => {
      const file = path.join(dir, `block-${block.line}.ts`);
      writeFileSync(file, againstSources(block.code));
      const { stdout } = await run(process.execPath, ['--import', 'tsx', file], { cwd: repoRoot });
      expect(stdout).not.toMatch(/FAIL/);
    }, 60_000);
  }
});
