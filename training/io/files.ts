/**
 * File input and output with the two properties training needs:
 *
 * - Writes are atomic: data goes to a temporary file `path.tmp-<pid>-<n>` in the same directory,
 *   is fsync'ed, and only then renamed over `path`. A crash or a failing write leaves the old
 *   file intact (rename within one directory is atomic on POSIX file systems), and the temporary
 *   file is removed on failure (and, when a killed save left one, before the next save).
 * - Reads fail with one clear line naming the file and what it was supposed to be ("model file",
 *   "training corpus"), and for JSON the line and column of a syntax error.
 */
import { fs, nodePath, url, type FsStats } from './node-builtins.js';
import { InputError } from '../core/errors.js';
import { resolveOutputTarget } from './outputs.js';

/** What `writeFileAtomic` accepts: a whole string or byte array, or chunks produced one by one. */
export type AtomicWriteData = string | Uint8Array | Iterable<string | Uint8Array>;

let tempCounter = 0;

/** Temporary files this process is writing right now (absolute paths). */
const activeTempFiles = new Set<string>();
/** Told of each temporary file as it is opened (true) and gone (false); see `observeTempFiles`. */
let tempObserver: ((path: string, open: boolean) => void) | null = null;

/**
 * Have `observer` told of every temporary file `writeFileAtomic` opens and removes or renames: a
 * supervisor that may have to stop this thread in the middle of a save (the CLI's second Ctrl-C)
 * removes the ones still open. Pass null to stop.
 */
export function observeTempFiles(observer: ((path: string, open: boolean) => void) | null): void {
  tempObserver = observer;
}

/** Remove the temporary files of saves still under way (on exit; a sync save cannot be, but be safe). */
export function removeActiveTempFiles(): void {
  for (const path of activeTempFiles) fs.rmSync(path, { force: true });
  activeTempFiles.clear();
}
process.on('exit', removeActiveTempFiles);

/**
 * Write `data` to `path` atomically: temp file in the same directory → fsync → rename.
 * `data` may be an iterable of chunks (e.g. a generator serialising a large model piece by piece);
 * if the iterable throws, the old file stays as it was and the temp file is removed.
 *
 * - A symlink is written through: its final target gets the new contents, the link stays.
 * - An existing file keeps its permission bits.
 * - An existing path that is not a regular file (FIFO, device, folder) is refused.
 * - Temporary files of the same target left by killed saves (`<name>.tmp-<pid>-<n>` of a process
 *   that no longer runs) are removed first.
 *
 * A failing system call becomes an `InputError` (exit 2) naming `path` (never the temporary name)
 * with the system error's code kept; any other failure (e.g. of the chunk generator) a plain Error.
 * Both start `writeFileAtomic: could not write <path>: `.
 */
export function writeFileAtomic(path: string, data: AtomicWriteData): void {
  let target: string;
  let existing: FsStats | null;
  try {
    ({ target, existing } = resolveOutputTarget(path));
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`writeFileAtomic: could not write ${err.message}`, { code: err.code });
    throw failure(path, path, err);
  }
  removeStaleTempFiles(target);
  const tempPath = `${target}.tmp-${process.pid}-${tempCounter++}`;
  let fd: number | undefined;
  try {
    fd = fs.openSync(tempPath, 'wx', existing ? existing.mode & 0o7777 : 0o666);
    activeTempFiles.add(tempPath);
    tempObserver?.(tempPath, true);
    if (existing) fs.fchmodSync(fd, existing.mode & 0o7777); // the umask applied at open
    for (const chunk of chunksOf(data)) writeAll(fd, chunk);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tempPath, target);
  } catch (err) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // Already failing; the original error is the one worth reporting.
      }
    }
    try {
      fs.rmSync(tempPath, { force: true });
    } catch {
      // Same: keep the original error.
    }
    throw failure(path, tempPath, err);
  } finally {
    if (activeTempFiles.delete(tempPath)) tempObserver?.(tempPath, false);
  }
  syncDirectory(nodePath.dirname(target));
}

/** The error of a failed write: names the user's path, keeps a system error's code. */
function failure(path: string, tempPath: string, err: unknown): Error {
  const message = `writeFileAtomic: could not write ${path}: ${messageOf(err).split(tempPath).join(path)}`;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? new InputError(message, { code, cause: err }) : new Error(message, { cause: err });
}

/** Remove `<target>.tmp-<pid>-<n>` files whose process is gone (saves killed by SIGKILL or a crash). */
function removeStaleTempFiles(target: string): void {
  const dir = nodePath.dirname(target);
  const prefix = `${nodePath.basename(target)}.tmp-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return; // the write itself will report the folder
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)-\d+$/.exec(name.slice(prefix.length));
    if (!m || processIsAlive(Number(m[1]))) continue;
    try {
      fs.rmSync(nodePath.join(dir, name), { force: true });
    } catch {
      // Not ours to insist on: a stale file we cannot remove does not stop the save.
    }
  }
}

function processIsAlive(pid: number): boolean {
  if (pid === process.pid) return true; // our own saves under way (another thread of this process)
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

function* chunksOf(data: AtomicWriteData): Generator<Uint8Array> {
  if (typeof data === 'string') {
    yield Buffer.from(data, 'utf8');
  } else if (data instanceof Uint8Array) {
    yield data;
  } else {
    for (const chunk of data) yield typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
  }
}

/** fs.writeSync may write fewer bytes than asked; loop until the chunk is out. */
function writeAll(fd: number, chunk: Uint8Array): void {
  let written = 0;
  while (written < chunk.length) {
    written += fs.writeSync(fd, chunk, written, chunk.length - written);
  }
}

/** Persist the rename itself (the directory entry). Not supported everywhere; best effort. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some platforms (Windows, some network file systems) refuse to fsync a directory.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Read a UTF-8 text file. `what` describes it for the error message ("training corpus").
 * Throws `readTextFile: <what> <path> does not exist` / `is a directory` / `is empty` /
 * `is not a text file (…)` (binary: NUL bytes or mostly invalid UTF-8) / `could not be read: <reason>`.
 */
export function readTextFile(path: string, what: string): string {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`readTextFile: ${what} ${path} does not exist`);
    if (code === 'EISDIR') throw new Error(`readTextFile: ${what} ${path} is a directory, expected a file`);
    if (code === 'EACCES') throw new Error(`readTextFile: ${what} ${path} is not readable (permission denied)`);
    throw new Error(`readTextFile: ${what} ${path} could not be read: ${messageOf(err)}`);
  }
  if (text.trim().length === 0) throw new Error(`readTextFile: ${what} ${path} is empty`);
  const binary = binaryEvidence(text);
  if (binary) throw new Error(`readTextFile: ${what} ${path} is not a text file (${binary})`);
  return text;
}

/**
 * Why `text` (decoded as UTF-8) looks like a binary file, or null: a NUL character (text files
 * have none), or more than 1 in 100 characters that were not valid UTF-8 (U+FFFD).
 */
function binaryEvidence(text: string): string | null {
  const nul = text.indexOf('\0');
  if (nul >= 0) return `a NUL byte at character ${nul + 1}`;
  let invalid = 0;
  for (let i = text.indexOf('\uFFFD'); i >= 0; i = text.indexOf('\uFFFD', i + 1)) invalid++;
  if (invalid > 0 && invalid * 100 > text.length) return `${invalid} of ${text.length} characters are not valid UTF-8`;
  return null;
}

/**
 * Read and parse a JSON file. Errors name the file and, for syntax errors, the line and column
 * (`readJsonFile: model file m.json is not valid JSON at line 3, column 7: ...`).
 */
export function readJsonFile<T = unknown>(path: string, what: string): T {
  const text = readTextFile(path, what).replace(/^\uFEFF/, '');
  let value: T;
  try {
    value = JSON.parse(text) as T;
  } catch (err) {
    let where = '';
    try {
      where = jsonErrorLocation(text);
    } catch {
      // The scanner recurses: a file nested deeper than the stack gets no position.
    }
    throw new Error(`readJsonFile: ${what} ${path} is not valid JSON${where}: ${messageOf(err)}`);
  }
  // Every reader after this one (messages that quote a value, too) may recurse: bound the depth here.
  if (jsonDepth(value) > MAX_JSON_DEPTH) throw new Error(`readJsonFile: ${what} ${path} nests deeper than ${MAX_JSON_DEPTH} levels`);
  return value;
}

/** The deepest nesting any seqgrad file may have (they need fewer than 10). */
const MAX_JSON_DEPTH = 1000;

/** The nesting depth of a parsed JSON value (a scalar is 0), without recursion. */
function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > MAX_JSON_DEPTH) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return deepest;
}

/**
 * " at line L, column C" of the first syntax error in `text` (1-based), or "" when the scanner
 * finds none. Node's JSON.parse messages do not always carry a position (Node 20 often only
 * quotes a snippet), so the position comes from a small JSON scanner of our own.
 */
export function jsonErrorLocation(text: string): string {
  const offset = findJsonErrorOffset(text);
  if (offset < 0) return '';
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return ` at line ${line}, column ${offset - lineStart + 1}`;
}

/** Offset of the first JSON syntax error in `text`, or −1 when it is valid JSON (RFC 8259). */
export function findJsonErrorOffset(text: string): number {
  let i = 0;
  class Fail {
    constructor(readonly at: number) {}
  }
  const fail = (at = i): never => {
    throw new Fail(at);
  };
  const space = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const literal = (word: string): void => {
    for (let k = 0; k < word.length; k++, i++) if (text[i] !== word[k]) fail();
  };
  const string = (): void => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail();
      const ch = text.charCodeAt(i);
      if (ch === 34) {
        i++;
        return;
      }
      if (ch < 0x20) fail();
      if (ch === 92) {
        i++;
        const e = text[i];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail(i + 1);
          i += 5;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else fail();
      } else i++;
    }
  };
  const number = (): void => {
    const numberPattern = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
    numberPattern.lastIndex = i;
    const m = numberPattern.exec(text);
    if (!m) fail();
    i += m![0].length;
  };
  const value = (): void => {
    space();
    const ch = text[i];
    if (ch === '{') {
      i++;
      space();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        space();
        if (text[i] !== '"') fail();
        string();
        space();
        if (text[i] !== ':') fail();
        i++;
        value();
        space();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return;
        } else fail();
      }
    } else if (ch === '[') {
      i++;
      space();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        space();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return;
        } else fail();
      }
    } else if (ch === '"') string();
    else if (ch === 't') literal('true');
    else if (ch === 'f') literal('false');
    else if (ch === 'n') literal('null');
    else if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) number();
    else fail();
  };
  try {
    value();
    space();
    if (i < text.length) fail();
    return -1;
  } catch (err) {
    if (err instanceof Fail) return Math.min(err.at, text.length);
    throw err;
  }
}

/** The error's message on one line (Node's JSON messages quote multi-line snippets). */
function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
}

/**
 * A path under the package's own `data/` folder (the copies shipped with seqgrad: data/names,
 * the sentiment sets, …), found upwards from this module, so it resolves the same from any current
 * folder, under tsx (training/io/) and from the build (dist/…). Throws when `relative` is not there.
 */
export function shippedDataPath(relative: string): string {
  const here = nodePath.dirname(url.fileURLToPath(import.meta.url));
  let dir = here;
  for (let i = 0; i < 6; i++) {
    const candidate = nodePath.join(dir, 'data', relative);
    if (fs.existsSync(candidate)) return candidate;
    dir = nodePath.dirname(dir);
  }
  throw new Error(`shippedDataPath: data/${relative} of the seqgrad package was not found above ${here}`);
}
