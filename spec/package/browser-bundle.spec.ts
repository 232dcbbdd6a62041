/**
 * The browser-safe package entries bundle for the browser: esbuild with platform 'browser' (which resolves no
 * Node built-in) bundles each, and no input of the bundle imports a `node:` module, statically or dynamically.
 * `seqgrad/engine` and `seqgrad/ndarray` (its optional peer ndarray left external, as in the build).
 */
import { build, type Metafile } from 'esbuild';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../cli/helpers.js';

/** Inputs that import a Node built-in, as "file -> module"; esbuild errors (an unresolvable import) are thrown. */
async function nodeImports(entry: string): Promise<string[]> {
  const result = await build({
    entryPoints: [path.join(repoRoot, entry)], bundle: true, platform: 'browser', format: 'esm', write: false,
    metafile: true, logLevel: 'silent', external: ['ndarray'],
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

  for (const [subpath, entry] of [['seqgrad/engine', 'engine/index.ts'], ['seqgrad/ndarray', 'interop/ndarray.ts']]) {
    it(`${subpath} (${entry}) bundles with no node: import`, async () => {
      expect(await nodeImports(entry)).toEqual([]);
    }, 60_000);
  }
});
