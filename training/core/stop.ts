/**
 * A request to stop training early, checked by the training loops between two steps (never inside
 * one), so that a stopped run ends with consistent weights that can be saved. The CLI sets it on
 * Ctrl-C (SIGINT) and SIGTERM; a library user can pass an `AbortController`'s signal instead.
 *
 * A trainer given it as its `signal` (LoopControls, training/core/loop.ts) finishes the step under
 * way, leaves its loop and returns normally with the stop reason 'interrupted'; the trainer's end of
 * run (last evaluation, checkpoint) follows as after any stop, saving the model is the caller's.
 */
export type StopFlag = { readonly stopRequested: boolean } | { readonly aborted: boolean };

/** True once `flag` asks to stop (false without a flag). Cheap: read it every step. */
export function stopRequested(flag: StopFlag | undefined): boolean {
  if (flag === undefined) return false;
  return 'stopRequested' in flag ? flag.stopRequested : flag.aborted;
}
