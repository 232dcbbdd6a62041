/**
 * The package as a user gets it: `npm pack` (which runs the build: prepack emits the declarations, prepare
 * bundles), the tarball installed offline into a fresh project, type-checked with this repo's TypeScript (no
 * skipLibCheck: the shipped .d.ts files are checked too): a node program using every subpath under `moduleResolution`
 * nodenext, then compiled and run with node, and a browser program importing every entry but seqgrad/node under
 * bundler, without Node's types. seqgrad has no run-time dependencies; its optional gpu.js is omitted, and
 * the optional peer ndarray (for `seqgrad/ndarray`) is linked from this repo's node_modules.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../cli/helpers.js';
import { NODE_ONLY_ENTRY, packageEntries } from './entries.js';

const run = promisify(execFile);
const tsc = path.join(repoRoot, 'node_modules/typescript/bin/tsc');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const consumer = `
import { Matrix, backendName, createCell, DEFAULT_SEED } from 'seqgrad';
import * as engine from 'seqgrad/engine';
import { toNdarray } from 'seqgrad/ndarray';
import type { DType } from 'seqgrad/engine';
import { createDense, denseForward } from 'seqgrad/layers';
import { Vocabulary } from 'seqgrad/training';
import { createLanguageModel } from 'seqgrad/lm';
import { cosineSimilarity } from 'seqgrad/embeddings';
import { tokenizeSentence } from 'seqgrad/sentiment';
import { reversalPairs } from 'seqgrad/seq2seq';
import { decodeWav, encodeWav } from 'seqgrad/trigger';
import { buildTaggerVocabulary } from 'seqgrad/tagger';
import { parseTree } from 'seqgrad/trees';
import { readTextFile, writeFileAtomic } from 'seqgrad/node';
import type { GpuBackendOptions } from 'seqgrad/gpu';
const gpuOptions: GpuBackendOptions = {};
const dtype: DType = 'float32';
const a = new Matrix(2, 3, new Float32Array([1, 2, 3, 4, 5, 6]));
const b = new Matrix(3, 1, new Float32Array([1, 1, 1]));
const c = engine.matmul(a, b);
// createX(config, { rng?, dtype? }): no rng given, the default seed's generator
const dense = createDense({ inputSize: 3, outputSize: 1, init: 'zeros' });
dense.params.b!.data[0] = 0.5;
const y = denseForward(Matrix.zeros(2, 1), dense, a);
const cellA = createCell({ kind: 'gru', inputSize: 2, hiddenSize: 3 });
const cellB = createCell({ kind: 'gru', inputSize: 2, hiddenSize: 3 }, { rng: new engine.Rng(DEFAULT_SEED) });
const vocab = Vocabulary.build('a b c a'.split(' '));
const lm = createLanguageModel({ cell: 'gru', hidden: 4, vocab });
const wav = decodeWav(encodeWav({ sampleRate: 8000, samples: new Float32Array([0, 0.5]) }));
writeFileAtomic('out.txt', 'seqgrad');
console.log(JSON.stringify({
  c: Array.from(c.data), nd: toNdarray(c).get(1, 0), sameClass: c instanceof Matrix, dtype: c.dtype === dtype, backend: backendName(),
  y: Array.from(y.data), sameSeed: Array.from(cellA.params.W_x.data).join() === Array.from(cellB.params.W_x.data).join(),
  lmVocab: lm.vocab.size === vocab.size, cos: cosineSimilarity([1, 0], [1, 0]), words: tokenizeSentence('Good Food'),
  pairs: reversalPairs(2, new engine.Rng(1)).length, rate: wav.sampleRate, tags: buildTaggerVocabulary([]).size > 0,
  tree: parseTree('(1 (1 good) (1 food))').children.length, file: readTextFile('out.txt', 'the written file'), gpu: typeof gpuOptions,
}));
`;

/** A browser program: every entry but seqgrad/node, type-checked without Node's types (none may leak into them). */
const browserConsumer = `
${packageEntries().filter((e) => e.specifier !== NODE_ONLY_ENTRY).map((e, i) => `import * as entry${i} from '${e.specifier}';`).join('\n')}
console.log([${packageEntries().filter((e) => e.specifier !== NODE_ONLY_ENTRY).map((_, i) => `entry${i}`).join(', ')}].length);
`;

function tsconfig(moduleResolution: 'nodenext' | 'bundler', emit: boolean): string {
  return JSON.stringify({
    compilerOptions: {
      strict: true, target: 'es2022', lib: ['es2022', 'dom'],
      // the node program (it imports seqgrad/node) has Node's types; the browser program none
      types: emit ? ['node'] : [],
      module: moduleResolution === 'nodenext' ? 'nodenext' : 'esnext', moduleResolution,
      ...(emit ? { outDir: 'out' } : { noEmit: true }),
    },
    files: [emit ? 'consumer.ts' : 'browser.ts'],
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
    symlinkSync(path.join(repoRoot, 'node_modules/@types/node'), path.join(app, 'node_modules/@types/node'));
    writeFileSync(path.join(app, 'consumer.ts'), consumer);
    writeFileSync(path.join(app, 'browser.ts'), browserConsumer);
    writeFileSync(path.join(app, 'tsconfig.json'), tsconfig('nodenext', true));
    writeFileSync(path.join(app, 'tsconfig.bundler.json'), tsconfig('bundler', false));
  }, 240_000);
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('type-checks a browser consumer of every browser entry with moduleResolution bundler (no Node types)', async () => {
    await expect(run(process.execPath, [tsc, '-p', 'tsconfig.bundler.json'], { cwd: app })).resolves.toBeDefined();
  }, 120_000);

  it('type-checks, compiles and runs a consumer with moduleResolution nodenext', async () => {
    await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app });
    const { stdout } = await run(process.execPath, ['out/consumer.js'], { cwd: app });
    const result = JSON.parse(stdout);
    // wasm by default, without any call (Node ≥ 16 validates WebAssembly SIMD)
    expect(result).toMatchObject({
      c: [6, 15], nd: 15, sameClass: true, dtype: true, backend: 'wasm',
      y: [0.5, 0.5], sameSeed: true, lmVocab: true, cos: 1, words: ['good', 'food'], pairs: 2, rate: 8000, tags: true,
      tree: 2, file: 'seqgrad', gpu: 'object',
    });
  }, 120_000);

  it('runs the installed seqgrad command: its entry and the command chunks it loads on demand are shipped', async () => {
    const bin = path.join(app, 'node_modules/seqgrad/dist/cli.js');
    const help = await run(process.execPath, [bin, 'sample', '--help'], { cwd: app });
    expect(help.stdout).toContain('--temperature');
    const unknown = await run(process.execPath, [bin, 'no-such-command'], { cwd: app }).catch((err: { code: number; stderr: string }) => err);
    expect(unknown).toMatchObject({ code: 2 });
    expect((unknown as { stderr: string }).stderr).toContain("unknown command 'no-such-command' (one of: start, gradcheck,");
  }, 120_000);
});
