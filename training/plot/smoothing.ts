/**
 * A training curve from a loss recorded at every step: the exponential moving average
 *   s⟨1⟩ = L⟨1⟩,   s⟨i⟩ = (1 − w)·s⟨i−1⟩ + w·L⟨i⟩       (w = 0.05 by default: 0.95 on the past, as the trainers' progress line)
 * thinned to about `maxPoints` points — every ⌊n / maxPoints⌋-th step and always the last — so the
 * SVG of a long run stays small. Points are [step, s⟨step⟩] with steps counted from 1. A NaN loss
 * restarts the average at the next loss.
 */
export interface SmoothingOptions {
  /** w, the weight of the newest loss (default 0.05). */
  weight?: number;
  /** About this many points at most (default 400). */
  maxPoints?: number;
}

export function smoothedCurve(losses: readonly number[], opts: SmoothingOptions = {}): [number, number][] {
  const weight = opts.weight ?? 0.05;
  const maxPoints = opts.maxPoints ?? 400;
  if (!(weight > 0 && weight <= 1)) throw new Error(`smoothedCurve: expected weight in (0, 1], got ${weight}`);
  if (!Number.isInteger(maxPoints) || maxPoints < 1) throw new Error(`smoothedCurve: expected maxPoints to be an integer ≥ 1, got ${maxPoints}`);
  const past = 1 - weight;
  const every = Math.max(1, Math.floor(losses.length / maxPoints));
  const points: [number, number][] = [];
  let s = NaN;
  losses.forEach((loss, i) => {
    s = Number.isNaN(s) ? loss : past * s + weight * loss;
    if ((i + 1) % every === 0 || i === losses.length - 1) points.push([i + 1, s]);
  });
  return points;
}
