/**
 * Dropout on data-parallel threads, with masks that do not depend on N: the calling thread draws the
 * masks of the WHOLE batch from the trainer's generator — the same draws, in the same order and
 * shapes, as one thread's forward pass makes (sampleDropoutMask over each dropout of a workspace of
 * the whole batch, in forward order) — into one shared buffer, and every share (the calling thread's
 * and each worker's) copies its columns b ∈ [a, b) of each time-major mask [T·B, D] (row t·B + b)
 * into its own workspace's masks and runs its forward pass with them held fixed (DROPOUT_FIXED).
 * So N threads apply exactly the masks of one thread, and the generator ends each step where one
 * thread's would (a checkpoint's generator state is the same for every N).
 *
 * The plan of a batch's masks — per dropout, its p, its steps T and its width D — is read from any
 * workspace of the batch's shape: its `dropouts` list (in forward order) with rows T·b for its b rows.
 * Dropouts with p = 0 draw nothing (dropoutForward draws none either) and are left out.
 */
import { Matrix } from '../../engine/matrix.js';
import type { Rng } from '../../engine/rng.js';
import { sampleDropoutMask, type DropoutWorkspace } from '../../layers/dropout.js';
import type { Share } from './pool.js';

/** One dropout of a forward pass: its probability, steps and width. */
export interface MaskPlanEntry {
  p: number;
  steps: number;
  cols: number;
}

/** The plan of a workspace of `rows` batch rows whose dropouts (forward order) are `dropouts`. */
export function maskPlan(dropouts: readonly DropoutWorkspace[], rows: number): MaskPlanEntry[] {
  return dropouts.filter((d) => d.p > 0).map((d) => ({ p: d.p, steps: d.mask.rows / rows, cols: d.mask.cols }));
}

/** Floats of the masks of a whole batch of `batch` rows under `plan`. */
export function maskFloats(plan: readonly MaskPlanEntry[], batch: number): number {
  return plan.reduce((n, e) => n + e.steps * batch * e.cols, 0);
}

/** A buffer for the masks of one batch, shared with the workers (a SharedArrayBuffer: passed, not copied). */
export function sharedMaskBuffer(floats: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(4 * Math.max(1, floats)));
}

/**
 * Draw the masks of a whole batch of `batch` rows into `buffer`, one after the other in plan order:
 * entry i is a [T_i·batch, D_i] matrix drawn as sampleDropoutMask draws a workspace's mask.
 */
export function drawBatchMasks(buffer: Float32Array, plan: readonly MaskPlanEntry[], batch: number, rng: Rng): void {
  const need = maskFloats(plan, batch);
  if (need > buffer.length) throw new Error(`drawBatchMasks: expected a buffer of at least ${need} floats for the batch's masks, got ${buffer.length}`);
  let offset = 0;
  for (const { p, steps, cols } of plan) {
    const rows = steps * batch;
    const mask = new Matrix(rows, cols, buffer.subarray(offset, offset + rows * cols));
    sampleDropoutMask({ p, mask, active: true }, rng);
    offset += rows * cols;
  }
}

/**
 * Copy the rows of `share` out of a whole batch's masks (drawBatchMasks with `batch` rows) into the
 * masks of a workspace of that share's rows (`dropouts`, in the same forward order): row t·b′ + j of
 * dropout i ← row t·batch + (share.start + j) of the batch's entry i.
 */
export function takeShareMasks(dropouts: readonly DropoutWorkspace[], buffer: Float32Array, batch: number, share: Share): void {
  const rows = share.end - share.start;
  let offset = 0;
  for (const d of dropouts) {
    if (!(d.p > 0)) continue;
    const { mask } = d, cols = mask.cols, steps = mask.rows / rows;
    for (let t = 0; t < steps; t++) {
      const from = offset + (t * batch + share.start) * cols; // the share's rows of step t are contiguous in both
      if (mask.stride === cols) {
        mask.data.set(buffer.subarray(from, from + rows * cols), mask.offset + t * rows * cols);
        continue;
      }
      for (let j = 0; j < rows; j++) mask.data.set(buffer.subarray(from + j * cols, from + (j + 1) * cols), mask.offset + (t * rows + j) * mask.stride);
    }
    offset += steps * batch * cols;
  }
}
