/**
 * Start a worker thread on a module, also when running from TypeScript source (`tsx`, vitest): a
 * worker does not inherit the TypeScript loader, so for a `.ts` entry it first registers tsx there.
 * Node only (through process.getBuiltinModule, so importing this module stays browser-safe).
 */
// Node's worker types, declared here (not imported from node:worker_threads) so that the package's
// type declarations need no @types/node in a consumer.
/** The part of node:worker_threads' MessagePort the pool uses. */
export interface WorkerPort {
  postMessage(value: unknown): void;
  close(): void;
}

/** The part of node:worker_threads' Worker the pool and the CLI use. */
export interface WorkerThread {
  unref(): void;
  terminate(): Promise<number>;
  on(event: string, listener: (...args: never[]) => void): unknown;
}

/** The options of node:worker_threads' Worker that are used here. */
export interface WorkerStartOptions {
  workerData?: unknown;
  transferList?: unknown[];
  eval?: boolean;
}

interface NodeHost {
  process?: { getBuiltinModule?: (id: string) => unknown };
}

function builtin<T>(id: string): T {
  const mod = (globalThis as NodeHost).process?.getBuiltinModule?.(id) as T | undefined;
  if (!mod) throw new Error(`starting a worker thread needs Node's ${id} (Node ≥ 20.16)`);
  return mod;
}

/** A worker running `entry` with `options` (a `.ts` entry runs through tsx). */
export function startModuleWorker(entry: URL, options: WorkerStartOptions = {}): WorkerThread {
  const { Worker: WorkerCtor } = builtin<{ Worker: new (file: URL | string, options?: WorkerStartOptions) => WorkerThread }>('node:worker_threads');
  if (!entry.pathname.endsWith('.ts')) return new WorkerCtor(entry, options);
  // Resolved here, where the project's node_modules is known: the worker's eval code resolves from the working folder.
  const { createRequire } = builtin<{ createRequire(from: string | URL): { resolve(id: string): string } }>('node:module');
  const { pathToFileURL } = builtin<{ pathToFileURL(path: string): URL }>('node:url');
  const tsxApi = tsxEsmApi(createRequire, pathToFileURL);
  const boot = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new WorkerCtor(boot, { ...options, eval: true });
}

/** The URL of tsx's ESM API (import.meta.resolve where the host has it; vitest's module runner may not). */
function tsxEsmApi(
  createRequire: (from: string | URL) => { resolve(id: string): string }, pathToFileURL: (path: string) => URL,
): string {
  const meta = import.meta as { resolve?: (id: string) => string };
  if (typeof meta.resolve === 'function') return meta.resolve('tsx/esm/api');
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  return new URL('dist/esm/api/index.mjs', pathToFileURL(manifest)).href;
}
