/**
 * The browser-safe package entries bundle for the browser: esbuild with platform 'browser' (which resolves no
 * Node built-in: a static `fs` or `node:fs` import fails the build) bundles each, and no input of the bundle
 * imports a `node:` module, statically or dynamically. Every public entry of package.json's exports but the
 * node-only `seqgrad/node` (the optional ndarray and gpu.js left external, as in the build).
 */
import { build, type Metafile } from 'esbuild';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../cli/helpers.js';
import { NODE_ONLY_ENTRY, packageEntries } from './entries.js';

/** Inputs that import a Node built-in, as "file -> module"; esbuild errors (an unresolvable import) are thrown. */
async function nodeImports(entry: string): Promise<string[]> {
  const result = await build({
    entryPoints: [path.join(repoRoot, entry)], bundle: true, platform: 'browser', format: 'esm', write: false,
    metafile: true, logLevel: 'silent', external: ['ndarray', 'gpu.js'],
  });
  const found: string[] = [];
  const inputs: Metafile['inputs'] = result.metafile.inputs;
  for (const [file, info] of Object.entries(inputs)) {
    for (const imp of info.imports) if (imp.path.startsWith('node:')) found.push(`${file} -> ${imp.path}`);
  }
  return found;
}

describe('browser bundles of the package entries', () => {
  it('the check sees a node: import (a dynamic one, which esbuild leaves external)', async () => {
    expect(await nodeImports('spec/package/fixtures/uses-node.ts')).toEqual(['spec/package/fixtures/uses-node.ts -> node:v8']);
  });

  it('the check fails on a static node built-in import (esbuild cannot resolve it for the browser)', async () => {
    await expect(nodeImports('spec/package/fixtures/uses-fs.ts')).rejects.toThrow(/node:fs/);
  });

  const entries = packageEntries().filter((e) => e.specifier !== NODE_ONLY_ENTRY);
  it('covers the root, the folders and one entry per application', () => {
    expect(entries.map((e) => e.specifier)).toEqual(expect.arrayContaining([
      'seqgrad', 'seqgrad/engine', 'seqgrad/layers', 'seqgrad/training', 'seqgrad/lm', 'seqgrad/embeddings', 'seqgrad/sentiment',
      'seqgrad/seq2seq', 'seqgrad/trigger', 'seqgrad/tagger', 'seqgrad/trees', 'seqgrad/ndarray',
    ]));
  });

  for (const { specifier, source } of entries) {
    it(`${specifier} (${source}) bundles with no node: import`, async () => {
      expect(await nodeImports(source)).toEqual([]);
    }, 60_000);
  }
});
