/**
 * The two kinds of failure a user can cause, one class each (as tfjs-layers has one class per
 * kind of failure). The CLI maps them by class: an `InputError` prints as one line and exits 2;
 * a `NumericalError` prints as one line and exits 1 (the run went wrong, the input was fine).
 *
 * - InputError: a file, flag, configuration or value the user supplied is wrong. The message
 *   names the operation or file, what was expected and what came. `code` keeps the code of the
 *   system error behind it (ENOENT, EACCES, ENOSPC, …) when there was one.
 * - NumericalError: training produced a non-finite loss or gradient (or diverged); `step` is the
 *   update at which it was seen and `tensor` names the quantity ("loss", "grad of lstm.W_a").
 *
 * Errors from engine/ and layers/ stay plain `Error`s: there a bad shape is a programming error
 * of the caller, and the layers below the shared layer import nothing from it.
 */

export class InputError extends Error {
  override readonly name = 'InputError';
  /** The system error code behind it, when there is one (e.g. 'ENOENT'). */
  readonly code: string | undefined;

  constructor(message: string, options: { code?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
  }
}

export class NumericalError extends Error {
  override readonly name = 'NumericalError';

  constructor(message: string, readonly step: number, readonly tensor: string) {
    super(message);
  }
}

/** True for an InputError, and for a raw file-system error about a path the user gave. */
export function isInputError(err: unknown): boolean {
  if (err instanceof InputError) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR' || code === 'EACCES' || code === 'EPERM';
}
