/**
 * Output paths checked before any work starts, so that nothing the user owns is lost:
 *
 * - an output is never one of the command's inputs (compared as files: device and inode, so a
 *   symlink or a hard link to the corpus counts as the corpus), and no two outputs are one file;
 * - an existing output must be a regular file (or a symlink to one: the write goes through to its
 *   target, see `resolveOutputTarget`); a FIFO, a device, a socket or a folder is refused;
 * - the folder an output goes into exists (or is created, for commands whose default outputs live
 *   in a folder of their own) and is writable.
 *
 * Every command that writes files calls `planOutputs` with its inputs and outputs first thing, so a
 * bad `--out` fails in a second with exit 2 instead of after an hour of training.
 */
import { fs, nodePath, type FsStats } from './node-builtins.js';
import { InputError } from '../core/errors.js';

/** Paths by the flag that named them ('--out', '--data', …); undefined entries are ignored. */
export type NamedPaths = Record<string, string | undefined>;

export interface OutputPlan {
  /** The command, for messages ("train"). */
  command: string;
  /** Files (or folders) the command reads. Missing ones are left to the command to report. */
  inputs?: NamedPaths;
  /** Files the command writes. */
  outputs: NamedPaths;
  /**
   * Outputs allowed to be one given input, by flag: a checkpoint resumed and written again
   * (`{ '--checkpoint': '--resume' }`; the input is read whole before the first write).
   */
  updates?: Record<string, string>;
  /** Create missing parent folders of the outputs (`mkdir -p`), for defaults like out/model.json. */
  createParents?: boolean;
  /**
   * Folders the command writes files into (a data set directory): each must be a folder, or creatable
   * (no file on its path, a writable folder above it), so such a mistake fails before any work.
   */
  folders?: NamedPaths;
}

/**
 * Check every output of a command against its inputs and the file system; throws an `InputError`
 * (exit 2) naming the flag and the path at the first problem. Creates nothing but parent folders
 * (with `createParents`).
 */
export function planOutputs(plan: OutputPlan): void {
  const inputIds = new Map<string, { flag: string; path: string }>();
  for (const [flag, path] of Object.entries(plan.inputs ?? {})) {
    if (path === undefined || path === '') continue;
    const st = statOrNull(path);
    if (st) inputIds.set(fileId(st), { flag, path });
  }
  const outputIds = new Map<string, string>();
  for (const [flag, path] of Object.entries(plan.outputs)) {
    if (path === undefined) continue;
    const where = `${plan.command}: ${flag} ${path}`;
    const id = checkOutput(`${plan.command}: ${flag}`, path, plan.createParents === true);
    const input = inputIds.get(id);
    if (input !== undefined && plan.updates?.[flag] !== input.flag) {
      throw new InputError(`${where} is the same file as ${input.flag} ${input.path}: refusing to overwrite an input`);
    }
    const other = outputIds.get(id);
    if (other !== undefined) throw new InputError(`${where} is the same file as ${other}: two outputs cannot share a file`);
    outputIds.set(id, `${flag} ${path}`);
  }
  for (const [flag, path] of Object.entries(plan.folders ?? {})) {
    if (path !== undefined) checkOutputFolder(`${plan.command}: ${flag}`, path);
  }
}

/**
 * An output folder exists, or can be created: its nearest existing ancestor is a writable folder.
 * Nothing is created here (the command makes it when it writes). A file, device or FIFO in its place
 * or on its path is refused.
 */
function checkOutputFolder(flag: string, path: string): void {
  const where = `${flag} ${path}`;
  if (path === '') throw new InputError(`${flag}: expected a folder name, got an empty one`);
  let existing = nodePath.resolve(path);
  let st = statOrNull(existing);
  while (!st && nodePath.dirname(existing) !== existing) {
    existing = nodePath.dirname(existing);
    st = statOrNull(existing);
  }
  if (st && !st.isDirectory()) {
    const what = st.isFile() ? 'a file' : kindOf(st);
    if (existing === nodePath.resolve(path)) throw new InputError(`${where} exists and is not a folder (${what})`, { code: 'ENOTDIR' });
    throw new InputError(`${where}: cannot be created, ${existing} is not a folder (${what})`, { code: 'ENOTDIR' });
  }
  try {
    fs.accessSync(existing, fs.constants.W_OK);
  } catch (err) {
    throw new InputError(`${where}: ${existing === nodePath.resolve(path) ? 'the folder' : `its parent ${existing}`} is not writable`, { code: (err as NodeJS.ErrnoException).code });
  }
}

/**
 * The file a write to `path` replaces: `path` itself, or for a symlink its final target (so the
 * link survives and the target gets the new contents). Throws an `InputError` for an existing
 * path that is not a regular file, and for a symlink whose target is missing.
 */
export function resolveOutputTarget(path: string): { target: string; existing: FsStats | null } {
  const where = path;
  if (path.endsWith('/') || path.endsWith(nodePath.sep)) throw new InputError(`${where} names a folder, expected a file`, { code: 'EISDIR' });
  const link = lstatOrNull(path);
  if (!link) return { target: nodePath.resolve(path), existing: null };
  let target = nodePath.resolve(path);
  if (link.isSymbolicLink()) {
    try {
      target = fs.realpathSync(path);
    } catch {
      throw new InputError(`${where} is a symlink to a missing file: refusing to write through it`, { code: 'ENOENT' });
    }
  }
  const st = fs.statSync(target);
  if (st.isDirectory()) throw new InputError(`${where} is a folder, expected a file`, { code: 'EISDIR' });
  if (!st.isFile()) throw new InputError(`${where} exists and is not a regular file (${kindOf(st)}): refusing to replace it`);
  return { target, existing: st };
}

/** Validates one output; returns its identity (device:inode, or the real path of a file to come). */
function checkOutput(flag: string, path: string, createParents: boolean): string {
  const where = `${flag} ${path}`;
  if (path === '') throw new InputError(`${flag}: expected a file name, got an empty one`);
  let resolved: { target: string; existing: FsStats | null };
  try {
    resolved = resolveOutputTarget(path);
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`${flag} ${err.message}`, { code: err.code });
    throw err;
  }
  const parent = nodePath.dirname(resolved.target);
  if (createParents && !resolved.existing) {
    try {
      fs.mkdirSync(parent, { recursive: true });
    } catch (err) {
      throw new InputError(`${where}: could not create its folder ${parent}: ${(err as Error).message}`, { code: (err as NodeJS.ErrnoException).code });
    }
  }
  const dir = fs.statSync(parent, { throwIfNoEntry: false });
  if (!dir) throw new InputError(`${where}: folder ${nodePath.dirname(path)} does not exist`, { code: 'ENOENT' });
  if (!dir.isDirectory()) throw new InputError(`${where}: ${nodePath.dirname(path)} is not a folder`, { code: 'ENOTDIR' });
  try {
    fs.accessSync(parent, fs.constants.W_OK);
  } catch (err) {
    throw new InputError(`${where}: folder ${nodePath.dirname(path)} is not writable`, { code: (err as NodeJS.ErrnoException).code });
  }
  if (resolved.existing) return fileId(resolved.existing);
  return `path:${nodePath.join(fs.realpathSync(parent), nodePath.basename(resolved.target))}`;
}

/** lstat, or null when nothing is there (also when a parent is not a folder: the caller reports that). */
function lstatOrNull(path: string, follow = false): FsStats | null {
  try {
    return (follow ? fs.statSync : fs.lstatSync)(path, { throwIfNoEntry: false }) ?? null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw err;
  }
}

function statOrNull(path: string): FsStats | null {
  return lstatOrNull(path, true);
}

function fileId(st: FsStats): string {
  return `${st.dev}:${st.ino}`;
}

function kindOf(st: FsStats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}
