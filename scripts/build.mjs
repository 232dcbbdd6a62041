// Bundles the library entries and the CLI into dist/ with esbuild (type declarations come from tsc).
import { build } from 'esbuild';

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

await build({
  ...common,
  entryPoints: { index: 'index.ts', engine: 'engine/index.ts', ndarray: 'interop/ndarray.ts' },
  outdir: 'dist',
});
await build({
  ...common,
  entryPoints: { cli: 'cli/main.ts' },
  outdir: 'dist',
  banner: { js: '#!/usr/bin/env node' },
});
