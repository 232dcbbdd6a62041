/**
 * The layout's arrows, read from the source: every relative import specifier of every .ts file of
 * the source tree (spec/ left out: tests import what they test) is an edge, and these must hold:
 *
 *   engine/      imports nothing outside engine/
 *   layers/      imports only layers/ and engine/
 *   training/    a shared folder (SHARED) never imports an application folder (APPLICATIONS), nor
 *                the aggregators at the root of training/ (they import the applications);
 *                an application never imports another application, nor those aggregators
 *   benchmarks/  never imports cli/
 *   cli/         is imported by nothing outside cli/
 *
 * Every folder of training/ must be listed as shared or as an application, so a new folder is
 * classified on purpose.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const SOURCE = ['index.ts', 'node.ts', 'engine', 'layers', 'training', 'cli', 'benchmarks', 'interop', 'scripts'];
/** Not part of the package's import graph: the peers' own package. */
const SKIP = new Set(['benchmarks/peers']);

const SHARED = ['core', 'check', 'io', 'text', 'decode', 'metrics', 'plot', 'classify', 'model', 'parallel'];
const APPLICATIONS = ['lm', 'embeddings', 'sentiment', 'seq2seq', 'trigger', 'tagger', 'trees'];

interface Edge {
  from: string;
  to: string;
}

function sourceFiles(): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    if (SKIP.has(rel)) return;
    const abs = path.join(ROOT, rel);
    if (!fs.existsSync(abs)) return;
    if (fs.statSync(abs).isDirectory()) {
      for (const name of fs.readdirSync(abs).sort()) walk(path.posix.join(rel, name));
    } else if (rel.endsWith('.ts') && !rel.endsWith('.d.ts')) {
      out.push(rel);
    }
  };
  SOURCE.forEach(walk);
  return out;
}

/** The relative specifiers of a module: static imports and re-exports, side-effect imports, dynamic import(). */
export function relativeSpecifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) if (m[1].startsWith('.')) found.push(m[1]);
  return found;
}

/** The file a specifier names (`./x.js` is ./x.ts in the source), relative to ROOT. */
function resolve(from: string, specifier: string): string {
  const target = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  return target.endsWith('.js') ? `${target.slice(0, -3)}.ts` : target;
}

/** engine | layers | training:<folder> | training:<root file> | cli | benchmarks | … */
function area(file: string): string {
  const parts = file.split('/');
  if (parts[0] !== 'training') return parts.length === 1 ? 'root' : parts[0];
  return parts.length === 2 ? 'training/' : `training/${parts[1]}`;
}

const folderOf = (a: string): string => a.slice('training/'.length);
const isShared = (a: string): boolean => a.startsWith('training/') && SHARED.includes(folderOf(a));
const isApplication = (a: string): boolean => a.startsWith('training/') && APPLICATIONS.includes(folderOf(a));

/** The rule an edge breaks, or null. */
export function brokenRule({ from, to }: Edge): string | null {
  const a = area(from), b = area(to);
  if (a === b) return null;
  if (a === 'engine') return 'engine/ imports only engine/';
  if (a === 'layers' && b !== 'engine') return 'layers/ imports only layers/ and engine/';
  if (isShared(a) && (isApplication(b) || b === 'training/')) return 'the shared layer of training/ never imports an application';
  if (isApplication(a) && (isApplication(b) || b === 'training/')) return 'an application never imports another application';
  if (b === 'cli') return a === 'benchmarks' ? 'benchmarks/ never imports cli/' : 'nothing outside cli/ imports cli/';
  return null;
}

function importGraph(): Edge[] {
  const edges: Edge[] = [];
  for (const from of sourceFiles()) {
    for (const spec of relativeSpecifiers(fs.readFileSync(path.join(ROOT, from), 'utf8'))) edges.push({ from, to: resolve(from, spec) });
  }
  return edges;
}

describe('the layout', () => {
  const edges = importGraph();

  it('reads a real graph: every relative import names a source file, and known edges are there', () => {
    expect(edges.length).toBeGreaterThan(300);
    const missing = edges.filter((e) => !fs.existsSync(path.join(ROOT, e.to))).map((e) => `${e.from} -> ${e.to}`);
    expect(missing).toEqual([]);
    const has = (from: string, to: string): boolean => edges.some((e) => e.from === from && e.to === to);
    expect(has('layers/dense.ts', 'engine/matrix.ts')).toBe(true);
    expect(has('training/gradcheck-suite.ts', 'training/lm/gradcheck-cases.ts')).toBe(true);
  });

  it('classifies every folder of training/ as shared or as an application', () => {
    const folders = fs.readdirSync(path.join(ROOT, 'training'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    expect(folders.filter((f) => !SHARED.includes(f) && !APPLICATIONS.includes(f))).toEqual([]);
  });

  it('has no import against the arrows', () => {
    const broken = edges
      .map((e) => ({ edge: `${e.from} -> ${e.to}`, rule: brokenRule(e) }))
      .filter((x) => x.rule !== null)
      .map((x) => `${x.edge}: ${x.rule}`);
    expect(broken).toEqual([]);
  });

  it('the rules catch each kind of wrong arrow', () => {
    const cases: [string, string, string][] = [
      ['engine/ops.ts', 'layers/dense.ts', 'engine/ imports only engine/'],
      ['layers/dense.ts', 'training/core/errors.ts', 'layers/ imports only layers/ and engine/'],
      ['training/io/files.ts', 'training/lm/model.ts', 'the shared layer of training/ never imports an application'],
      ['training/check/gradcheck.ts', 'training/gradcheck-suite.ts', 'the shared layer of training/ never imports an application'],
      ['training/tagger/tagger.ts', 'training/trigger/trigger.ts', 'an application never imports another application'],
      ['benchmarks/harness.ts', 'cli/args.ts', 'benchmarks/ never imports cli/'],
      ['training/lm/train.ts', 'cli/progress.ts', 'nothing outside cli/ imports cli/'],
    ];
    for (const [from, to, rule] of cases) expect(brokenRule({ from, to }), `${from} -> ${to}`).toBe(rule);
    for (const [from, to] of [['training/lm/train.ts', 'training/core/optimizers.ts'], ['cli/main.ts', 'training/lm/train.ts'], ['training/gradcheck-suite.ts', 'training/lm/gradcheck-cases.ts']]) {
      expect(brokenRule({ from, to }), `${from} -> ${to}`).toBeNull();
    }
    expect(relativeSpecifiers("import type { A } from './a.js';\nexport * from '../b.js';\nimport './c.js';\nconst d = await import('./d.js');\nimport x from 'pkg';"))
      .toEqual(['./a.js', '../b.js', './c.js', './d.js']);
  });
});
