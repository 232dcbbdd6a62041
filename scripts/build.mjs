// Bundles the library entries and the CLI into dist/ with esbuild (type declarations come from tsc).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  // gpu.js and ndarray stay external: gpu.js must be loaded lazily and unbundled (bundling breaks its
  // WebGL path), ndarray belongs to the user of the adapter.
  external: ['gpu.js', 'ndarray'],
  logLevel: 'warning',
};

/**
 * The package entries, read from package.json's exports: `./dist/<name>.js` is bundled from the source whose
 * declarations are `./dist/types/<source>.d.ts` (one list for the build, the types and
 * the package tests, spec/package/entries.ts).
 */
function packageEntries() {
  const { exports } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const entries = {};
  for (const target of Object.values(exports)) {
    if (typeof target === 'string') continue;
    entries[target.import.replace(/^\.\/dist\/|\.js$/g, '')] = target.types.replace(/^\.\/dist\/types\/|\.d\.ts$/g, '') + '.ts';
  }
  return entries;
}

await build({
  ...common,
  entryPoints: packageEntries(),
  // shared chunks: one Matrix class for every entry (instanceof works across entries)
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  outdir: 'dist',
});
await build({
  ...common,
  // the data-parallel worker threads' entry (training/parallel/pool.ts finds it next to the bundle that starts it)
  entryPoints: { cli: 'cli/main.ts', 'parallel-worker': 'training/parallel-worker.ts' },
  outdir: 'dist',
  // Each command in its own chunk (cli/commands/index.ts imports them on demand): a command reads only its code.
  splitting: true,
  chunkNames: 'cli-chunks/[name]-[hash]',
  banner: { js: '#!/usr/bin/env node' },
});

// `npx seqgrad …` inside this checkout: npm links the bins of dependencies, not the package's own, so link it
// here (the same file npm would link for a user who installs seqgrad).
import { chmodSync, existsSync, lstatSync, mkdirSync, symlinkSync, unlinkSync } from 'node:fs';
if (existsSync('node_modules')) {
  mkdirSync('node_modules/.bin', { recursive: true });
  const link = 'node_modules/.bin/seqgrad';
  try {
    if (lstatSync(link, { throwIfNoEntry: false })) unlinkSync(link);
    symlinkSync('../../dist/cli.js', link);
  } catch (err) {
    console.warn(`build: could not link ${link}: ${err.message}`);
  }
  chmodSync('dist/cli.js', 0o755);
}
