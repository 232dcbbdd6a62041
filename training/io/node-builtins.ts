/**
 * The Node built-ins of seqgrad's file and process code, reached at call time through
 * `process.getBuiltinModule` (Node ≥ 20.16) instead of static `node:` imports. A module with a file
 * function beside browser-safe code (the corpus reader beside the tokenizer, the checkpoint writer
 * beside the trainer) then bundles for the browser, where only calling the file function fails, with
 * one line. The file and process functions themselves are exported by `seqgrad/node` only
 * (node.ts); the browser entries never list them. Types come from `import type` (erased).
 */
import type * as FS from 'node:fs';
import type * as OS from 'node:os';
import type * as Path from 'node:path';
import type * as ChildProcess from 'node:child_process';
import type * as Url from 'node:url';

type GetBuiltin = (id: string) => unknown;

function load(id: string): Record<string | symbol, unknown> {
  const get = (globalThis as { process?: { getBuiltinModule?: GetBuiltin } }).process?.getBuiltinModule;
  if (typeof get !== 'function') {
    throw new Error(`seqgrad: file and process access needs node:${id}, expected Node ≥ 20.16, got a runtime without process.getBuiltinModule (a browser?)`);
  }
  return get(`node:${id}`) as Record<string | symbol, unknown>;
}

/** A stand-in for the module that loads it on the first property read. */
function lazy<T extends object>(id: string): T {
  let module: Record<string | symbol, unknown> | undefined;
  return new Proxy({} as T, {
    get(_, key) {
      module ??= load(id);
      return module[key];
    },
  });
}

export const fs = lazy<typeof FS>('fs');
export const nodePath = lazy<typeof Path>('path');
export const os = lazy<typeof OS>('os');
export const childProcess = lazy<typeof ChildProcess>('child_process');
export const url = lazy<typeof Url>('url');

/** node:fs's Stats (a type only). */
export type FsStats = FS.Stats;
