/**
 * The playground (playground/): `buildPlayground` bundles the page and its Web Worker with esbuild
 * into a static folder (default dist/playground/) that any static host serves; `servePlayground`
 * serves such a folder on 127.0.0.1 with the two headers that make the page cross-origin isolated
 * (COOP/COEP, so SharedArrayBuffer exists). Run as a script (`npm run playground`): build, serve,
 * print the URL.
 */
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_PLAYGROUND_DIR = join(ROOT, 'dist', 'playground');

/** Bundle playground/main.ts and playground/worker.ts and copy the static files into `outdir`. */
export async function buildPlayground(outdir = DEFAULT_PLAYGROUND_DIR): Promise<string> {
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: { main: join(ROOT, 'playground/main.ts'), worker: join(ROOT, 'playground/worker.ts') },
    outdir,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'chrome114',
    sourcemap: true,
    minify: true,
    // The dinosaur names ship inside the worker's bundle (the page works offline, from any host).
    loader: { '.txt': 'text' },
    // engine/wasm tries `import('node:v8')` (inside try/catch) only where relaxed SIMD does not
    // validate yet — Node 20. A browser never reaches it; keep it an import the bundle leaves alone.
    external: ['node:v8'],
    logLevel: 'warning',
  });
  // dates-model.json: the attention model the page ships (scripts/train-playground-dates.ts made it).
  for (const file of ['index.html', 'style.css', 'dates-model.json']) copyFileSync(join(ROOT, 'playground', file), join(outdir, file));
  return outdir;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
};

/**
 * Serve the files of `dir` on 127.0.0.1:`port` (0: any free port); resolves to the server and its
 * URL. GET and HEAD only, no directory listings, nothing outside `dir`.
 */
export function servePlayground(dir = DEFAULT_PLAYGROUND_DIR, port = 0): Promise<{ server: Server; url: string }> {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cache-Control': 'no-store',
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end();
      return;
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      res.writeHead(400, headers).end();
      return;
    }
    const file = normalize(join(root, pathname.endsWith('/') ? `${pathname}index.html` : pathname));
    if (file !== root && !file.startsWith(root + sep)) {
      res.writeHead(403, headers).end();
      return;
    }
    let body: Buffer;
    try {
      if (!statSync(file).isFile()) throw new Error('not a file');
      body = readFileSync(file);
    } catch {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const actual = typeof address === 'object' && address ? address.port : port;
      resolvePromise({ server, url: `http://127.0.0.1:${actual}/` });
    });
  });
}

async function main(): Promise<void> {
  const portArg = process.argv.find((a) => a.startsWith('--port='));
  const port = portArg ? Number(portArg.slice('--port='.length)) : 8173;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`playground: expected --port=<0…65535>, got ${portArg}`);
    process.exit(2);
  }
  const dir = await buildPlayground();
  const { url } = await servePlayground(dir, port);
  console.log(`seqgrad playground (static files in ${dir}): ${url}`);
  console.log('Ctrl-C stops the server.');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`playground: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
