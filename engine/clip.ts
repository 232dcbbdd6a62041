/**
 * Gradient clipping as plain functions over a set of gradient buffers (in place), against the
 * exploding gradients of BPTT.
 *
 * - clipByValue: the notes' clipping, each entry clamped to [−m, m] (recurrentjs and brain.js use 5).
 * - clipGradNorm: PyTorch's clip_grad_norm_: with ‖g‖ = √(Σ over all buffers of Σ g²), scale every
 *   buffer by maxNorm / (‖g‖ + 1e−6) when ‖g‖ > maxNorm. Returns ‖g‖ before clipping.
 * The sums, the scaling and the clamping run through the backend seam (wasm SIMD on 'wasm'; the
 * scaling and clamping there in float64 lanes, so bit-identical to js; the sum of squares in lanes,
 * so its last bits may differ).
 */
import { clampKernel, scaleKernel } from './backend.js';
import type { Matrix } from './matrix.js';
import { sumSquares } from './ops.js';

/** Added to the norm in the scale factor, as in PyTorch (avoids dividing by ~0). */
export const CLIP_NORM_EPS = 1e-6;

/** ‖g‖₂ over all entries of all buffers: √(Σ_i Σ_rc g_i[r, c]²). NaN or Infinity if an entry is. */
export function globalNorm(grads: readonly Matrix[]): number {
  let sum = 0;
  for (const g of grads) sum += sumSquares(g);
  return Math.sqrt(sum);
}

/**
 * g ← clamp(g, −m, m) for every entry of every buffer; returns how many entries were changed
 * (|g| > m). NaN entries are left as they are (and not counted). m must be finite and ≥ 0.
 */
export function clipByValue(grads: readonly Matrix[], maxValue: number): number {
  if (!(maxValue >= 0) || !Number.isFinite(maxValue)) {
    throw new Error(`clipByValue: expected a finite clip value m ≥ 0, got ${maxValue}`);
  }
  let clipped = 0;
  const clamp = clampKernel();
  for (const g of grads) clipped += clamp(g.rows, g.cols, g, maxValue);
  return clipped;
}

/**
 * PyTorch's rule: norm = globalNorm(grads); when norm > maxNorm, every entry is multiplied by
 * maxNorm / (norm + 1e−6). Returns the norm *before* clipping (log it: it shows explosions).
 *
 * (PyTorch multiplies by min(1, maxNorm / (norm + 1e−6)) unconditionally, which differs from this
 * only for norms within 1e−6 below maxNorm.) Unlike PyTorch, a non-finite norm (NaN or Infinity in some gradient) leaves the buffers
 * untouched — PyTorch would turn them into NaN/0 — and is returned so the caller can skip the
 * update. maxNorm must be > 0. A caller that already has globalNorm(grads) passes it as `norm`
 * (one pass over the gradients fewer).
 */
export function clipGradNorm(grads: readonly Matrix[], maxNorm: number, norm = globalNorm(grads)): number {
  if (!(maxNorm > 0)) throw new Error(`clipGradNorm: expected maxNorm > 0, got ${maxNorm}`);
  if (!Number.isFinite(norm) || norm <= maxNorm) return norm;
  const factor = maxNorm / (norm + CLIP_NORM_EPS);
  const scale = scaleKernel();
  for (const g of grads) scale(g.rows, g.cols, g, factor);
  return norm;
}

/** Another name for clipGradNorm (clipping "by global norm", as TensorFlow calls it). */
export const clipByGlobalNorm = clipGradNorm;
