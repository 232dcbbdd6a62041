/**
 * The package as a user gets it: `npm pack` (which runs the build: prepack emits the declarations, prepare
 * bundles), the tarball installed offline into a fresh project, a consumer type-checked with this repo's
 * TypeScript under `moduleResolution` nodenext and bundler (no skipLibCheck: the shipped .d.ts files are checked
 * too), then compiled and run with node. seqgrad has no run-time dependencies; its optional gpu.js is omitted, and
 * the optional peer ndarray (for `seqgrad/ndarray`) is linked from this repo's node_modules.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../cli/helpers.js';

const run = promisify(execFile);
const tsc = path.join(repoRoot, 'node_modules/typescript/bin/tsc');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const consumer = `
import { Matrix, backendName } from 'seqgrad';
import * as engine from 'seqgrad/engine';
import { toNdarray } from 'seqgrad/ndarray';
import type { DType } from 'seqgrad/engine';
const dtype: DType = 'float32';
const a = new Matrix(2, 3, new Float32Array([1, 2, 3, 4, 5, 6]));
const b = new Matrix(3, 1, new Float32Array([1, 1, 1]));
const c = engine.matmul(a, b);
console.log(JSON.stringify({
  c: Array.from(c.data), nd: toNdarray(c).get(1, 0), sameClass: c instanceof Matrix, dtype: c.dtype === dtype, backend: backendName(),
}));
`;

function tsconfig(moduleResolution: 'nodenext' | 'bundler', emit: boolean): string {
  return JSON.stringify({
    compilerOptions: {
      strict: true, target: 'es2022', lib: ['es2022', 'dom'], types: [],
      module: moduleResolution === 'nodenext' ? 'nodenext' : 'esnext', moduleResolution,
      ...(emit ? { outDir: 'out' } : { noEmit: true }),
    },
    files: ['consumer.ts'],
  });
}

describe('the packed package, installed into a fresh project', () => {
  let dir = '';
  let app = '';
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'seqgrad-pack-'));
    await run(npm, ['pack', '--silent', '--pack-destination', dir], { cwd: repoRoot });
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack: expected a .tgz in ${dir}, got ${readdirSync(dir).join(', ')}`);
    app = path.join(dir, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await run(npm, ['install', '--offline', '--no-audit', '--no-fund', '--omit=optional', path.join(dir, tarball)], { cwd: app });
    mkdirSync(path.join(app, 'node_modules/@types'), { recursive: true });
    symlinkSync(path.join(repoRoot, 'node_modules/ndarray'), path.join(app, 'node_modules/ndarray'));
    symlinkSync(path.join(repoRoot, 'node_modules/@types/ndarray'), path.join(app, 'node_modules/@types/ndarray'));
    writeFileSync(path.join(app, 'consumer.ts'), consumer);
    writeFileSync(path.join(app, 'tsconfig.json'), tsconfig('nodenext', true));
    writeFileSync(path.join(app, 'tsconfig.bundler.json'), tsconfig('bundler', false));
  }, 240_000);
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('type-checks a consumer with moduleResolution bundler', async () => {
    await expect(run(process.execPath, [tsc, '-p', 'tsconfig.bundler.json'], { cwd: app })).resolves.toBeDefined();
  }, 120_000);

  it('type-checks, compiles and runs a consumer with moduleResolution nodenext', async () => {
    await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app });
    const { stdout } = await run(process.execPath, ['out/consumer.js'], { cwd: app });
    const result = JSON.parse(stdout);
    // wasm by default, without any call (Node ≥ 16 validates WebAssembly SIMD)
    expect(result).toMatchObject({ c: [6, 15], nd: 15, sameClass: true, dtype: true, backend: 'wasm' });
  }, 120_000);
});
