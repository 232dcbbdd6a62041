/**
 * The public entries stay complete: an entry that lists names of a module (because the module's file functions
 * belong to `seqgrad/node`) must not lose the names that module gains later. Every value a listed module exports
 * is exported by some public entry (the same object), and every entry's source exists.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../cli/helpers.js';
import { packageEntries } from './entries.js';

/** The modules an entry re-exports by name (`export { a, b } from './x.js'`), as repo-relative .ts paths. */
export function listedModules(entrySource: string, text: string): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(/^export \{[^}]*\} from '(\.[^']+)\.js';/gm)) {
    found.add(path.posix.join(path.posix.dirname(entrySource), `${m[1]}.ts`));
  }
  return [...found];
}

describe('the public entries', () => {
  const entries = packageEntries();

  it('have sources, and the listed-module reader finds named re-exports only', () => {
    expect(entries.length).toBeGreaterThanOrEqual(14);
    for (const e of entries) expect(existsSync(path.join(repoRoot, e.source)), e.source).toBe(true);
    expect(listedModules('training/lm/index.ts', "export * from './a.js';\nexport { x, y } from './b.js';\nexport type { T } from './c.js';\n"))
      .toEqual(['training/lm/b.ts']);
  });

  it('export every value of every module they list by name', async () => {
    const exported = new Set<unknown>();
    const listed = new Set<string>();
    for (const e of entries) {
      for (const value of Object.values(await import(path.join(repoRoot, e.source)))) exported.add(value);
      for (const m of listedModules(e.source, readFileSync(path.join(repoRoot, e.source), 'utf8'))) listed.add(m);
    }
    expect(listed.size).toBeGreaterThan(10);
    const missing: string[] = [];
    for (const m of listed) {
      for (const [name, value] of Object.entries(await import(path.join(repoRoot, m)))) if (!exported.has(value)) missing.push(`${m}: ${name}`);
    }
    expect(missing).toEqual([]);
  }, 120_000);
});
