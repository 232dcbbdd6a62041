/**
 * The package's public entries, read from package.json's exports (as scripts/build.mjs reads them):
 * subpath `seqgrad/x` → its source file (the declarations `./dist/types/<source>.d.ts` name it).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../cli/helpers.js';

export interface PackageEntry {
  /** 'seqgrad', 'seqgrad/engine', … */
  specifier: string;
  /** The source file, relative to the repo: 'index.ts', 'engine/index.ts', … */
  source: string;
}

type Exports = Record<string, string | { types: string; import: string }>;

export function packageEntries(): PackageEntry[] {
  const { exports } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { exports: Exports };
  const entries: PackageEntry[] = [];
  for (const [subpath, target] of Object.entries(exports)) {
    if (typeof target === 'string') continue;
    const specifier = subpath === '.' ? 'seqgrad' : `seqgrad/${subpath.slice(2)}`;
    entries.push({ specifier, source: `${target.types.replace(/^\.\/dist\/types\/|\.d\.ts$/g, '')}.ts` });
  }
  return entries;
}

/** The entries a browser program may import: every one but the node-only `seqgrad/node`. */
export const NODE_ONLY_ENTRY = 'seqgrad/node';
