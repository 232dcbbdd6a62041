/**
 * Negative sampling (Mikolov et al. 2013, arXiv:1310.4546): instead of a softmax over V words,
 * one logistic regression that tells the true target t from k "negative" words drawn from the
 * noise distribution P(w) ∝ count(w)^(3/4).
 *
 * Objective of one example (maximised): log σ(θ_tᵀh) + Σ_k log σ(−θ_{n_k}ᵀh).
 * The loss reported here is its negation, summed over the batch (rows b of h):
 *   L = Σ_b [ softplus(−θ_{t_b}ᵀh_b) + Σ_k softplus(θ_{n_bk}ᵀh_b) ]      (−log σ(x) = softplus(−x))
 * Backward, with x = θᵀh:  ∂L/∂x = σ(x) − label  (label 1 for the target, 0 for a negative)
 *   dh_b += (∂L/∂x)·θ,   dΘ[row] += (∂L/∂x)·h_b     (only the target and negative rows change)
 *
 * A negative equal to the example's target is skipped (contributes nothing), as in word2vec.c
 * (`if (target == word) continue;`); so is a negative of −1. The sampler itself does not look
 * at the target: drawing and skipping is the documented rule, everywhere.
 *
 * Stability: everything is computed from e^(−|x|), so scores of ±1000 give finite losses and
 * gradients (word2vec.c clamps at ±6 instead).
 */
import { type Matrix, expectSameDType, shapeOf, type FloatArray } from './matrix.js';
import type { Rng } from './rng.js';
import { sigmoidScalar as sigmoid } from './activations.js';
import {
  accumulateRowGradients, checkGradientBuffers, dotRows, dotRowsUnrolled, sgdRowUpdate, softplusScalar,
} from './kernels/vector-kernels.js';

function checkNs(
  op: string, h: Matrix, theta: Matrix, targets: ArrayLike<number>, negatives: ArrayLike<number>, k: number,
): void {
  if (theta.cols !== h.cols) {
    throw new Error(`${op}: expected theta [V, ${h.cols}] to match h ${shapeOf(h)}, got ${shapeOf(theta)}`);
  }
  expectSameDType(op, h, theta);
  if (!Number.isInteger(k) || k < 0) throw new Error(`${op}: expected k (negatives per example) to be an integer ≥ 0, got ${k}`);
  if (targets.length !== h.rows) {
    throw new Error(`${op}: expected one target per row of h ${shapeOf(h)}, got ${targets.length} targets`);
  }
  if (negatives.length !== h.rows * k) {
    throw new Error(`${op}: expected B·k = ${h.rows}·${k} = ${h.rows * k} negatives, got ${negatives.length}`);
  }
  const V = theta.rows;
  for (let b = 0; b < targets.length; b++) {
    const t = targets[b];
    if (!Number.isInteger(t) || t < 0 || t >= V) throw new Error(`${op}: expected target ids in [0, ${V}), got ${t} at row ${b}`);
  }
  for (let i = 0; i < negatives.length; i++) {
    const n = negatives[i];
    if (!Number.isInteger(n) || n < -1 || n >= V) {
      throw new Error(`${op}: expected negative ids in [0, ${V}) (or −1 = none), got ${n} at position ${i}`);
    }
  }
}

/**
 * The negated negative-sampling objective, summed over the batch:
 *   L = Σ_b [ −log σ(θ_{t_b}ᵀh_b) − Σ_{j<k, n_bj ≠ t_b} log σ(−θ_{n_bj}ᵀh_b) ]
 * Shapes: h [B, d], theta [V, d] (output vectors θ), targets B ids, negatives B·k ids
 * (row b's negatives at b·k … b·k + k − 1; −1 or the target itself = skipped).
 */
export function negativeSamplingLoss(
  h: Matrix, theta: Matrix, targets: ArrayLike<number>, negatives: ArrayLike<number>, k: number,
): number {
  checkNs('negativeSamplingLoss', h, theta, targets, negatives, k);
  const d = h.cols;
  let loss = 0;
  for (let b = 0; b < h.rows; b++) {
    const hOff = h.offset + b * h.stride;
    const t = targets[b];
    loss += softplusScalar(-dotRows(theta.data, theta.offset + t * theta.stride, h.data, hOff, d));
    for (let j = 0; j < k; j++) {
      const n = negatives[b * k + j];
      if (n === t || n < 0) continue;
      loss += softplusScalar(dotRows(theta.data, theta.offset + n * theta.stride, h.data, hOff, d));
    }
  }
  return loss;
}

/**
 * Backward of negativeSamplingLoss, ACCUMULATING (sparse in theta): for the target (label 1) and
 * each kept negative (label 0), with x = θ_rowᵀh_b and g = σ(x) − label,
 *   dh[b, :] += g·θ_row,   dTheta[row, :] += g·h[b, :]
 * A word drawn twice contributes twice. Shapes: dh like h [B, d], dTheta like theta [V, d].
 */
export function negativeSamplingBackward(
  dh: Matrix, dTheta: Matrix, h: Matrix, theta: Matrix,
  targets: ArrayLike<number>, negatives: ArrayLike<number>, k: number,
): void {
  const op = 'negativeSamplingBackward';
  checkNs(op, h, theta, targets, negatives, k);
  checkGradientBuffers(op, dh, dTheta, h, theta);
  const d = h.cols;
  const accumulate = (b: number, row: number, label: number): void => {
    const hOff = h.offset + b * h.stride;
    const tOff = theta.offset + row * theta.stride;
    const dhOff = dh.offset + b * dh.stride;
    const dtOff = dTheta.offset + row * dTheta.stride;
    const g = sigmoid(dotRows(theta.data, tOff, h.data, hOff, d)) - label;
    accumulateRowGradients(dh.data, dhOff, dTheta.data, dtOff, theta.data, tOff, h.data, hOff, d, g);
  };
  for (let b = 0; b < h.rows; b++) {
    const t = targets[b];
    accumulate(b, t, 1);
    for (let j = 0; j < k; j++) {
      const n = negatives[b * k + j];
      if (n === t || n < 0) continue;
      accumulate(b, n, 0);
    }
  }
}

/**
 * One fused SGD step for one example, word2vec.c style — the training loop's kernel. For the
 * target (label 1) and each negative ≠ target (label 0), with x = θᵀh and
 * g = −lr·∂L/∂x = lr·(label − σ(x)):
 *   neu1e += g·θ   (θ before its update),   θ += g·h
 * Equal to −lr times negativeSamplingBackward for a batch of one when no word repeats among the
 * negatives (a repeat sees its row already updated: sequential SGD, as in word2vec.c). h is read from `h` at
 * `hOffset`; the negatives are negatives[negOffset … negOffset + k); theta is the raw row-major
 * [V, d] buffer. No checks (hot loop). Returns the example's loss (the negated objective).
 */
export function negativeSamplingSgdStep(
  neu1e: FloatArray, theta: FloatArray, h: FloatArray, hOffset: number, dim: number,
  target: number, negatives: ArrayLike<number>, negOffset: number, k: number, lr: number,
): number {
  let loss = 0;
  for (let j = -1; j < k; j++) {
    let row: number;
    let label: number;
    if (j < 0) {
      row = target;
      label = 1;
    } else {
      row = negatives[negOffset + j];
      if (row === target || row < 0) continue;
      label = 0;
    }
    const tOff = row * dim;
    const x = dotRowsUnrolled(theta, tOff, h, hOffset, dim);
    // z = ±x so that the term is −log σ(z) = softplus(−z); σ(x) from e^(−|x|), no overflow.
    const e = Math.exp(-Math.abs(x));
    const sigmaX = x >= 0 ? 1 / (1 + e) : e / (1 + e);
    const z = label === 1 ? x : -x;
    loss += (z < 0 ? -z : 0) + Math.log1p(e);
    const g = lr * (label - sigmaX);
    sgdRowUpdate(neu1e, theta, tOff, h, hOffset, dim, g); // neu1e += g·θ (before its update), θ += g·h
  }
  return loss;
}

/**
 * Draws word ids from P(w) = count(w)^power / Σ_v count(v)^power (power 3/4 by default, the
 * paper's choice) in O(1) per draw with Walker's alias method (Vose's construction, 1991).
 *
 * A draw takes one uniform u ∈ [0, 1) from the passed Rng: i = ⌊u·V⌋, and with the fractional
 * part r = u·V − i it returns i when r < prob[i], else alias[i]. (word2vec.c uses a 10⁸-entry
 * table instead; both sample the same distribution, this one exactly up to rounding.)
 * Words with count 0 are never drawn.
 */
export class NegativeSampler {
  readonly size: number;
  /** P(w) of every word (the normalised count^power). */
  readonly probabilities: Float64Array;
  private readonly prob: Float64Array;
  private readonly alias: Int32Array;

  constructor(counts: ArrayLike<number>, power = 0.75) {
    const V = counts.length;
    if (V === 0) throw new Error('NegativeSampler: expected at least one count, got an empty array');
    if (!Number.isFinite(power) || power < 0) throw new Error(`NegativeSampler: expected a finite power ≥ 0, got ${power}`);
    const p = new Float64Array(V);
    let total = 0;
    for (let i = 0; i < V; i++) {
      const c = counts[i];
      if (!(c >= 0) || !Number.isFinite(c)) throw new Error(`NegativeSampler: expected non-negative finite counts, got ${c} at word ${i}`);
      p[i] = c > 0 ? Math.pow(c, power) : 0;
      total += p[i];
    }
    if (!(total > 0)) throw new Error('NegativeSampler: expected at least one positive count, got all zeros');
    for (let i = 0; i < V; i++) p[i] /= total;
    this.size = V;
    this.probabilities = p;
    this.prob = new Float64Array(V);
    this.alias = new Int32Array(V);
    this.buildAliasTable(p);
  }

  /** Vose: scale to mean 1, pair each "small" column (< 1) with a "large" one that tops it up. */
  private buildAliasTable(p: Float64Array): void {
    const V = this.size;
    const scaled = new Float64Array(V);
    const small = new Int32Array(V);
    const large = new Int32Array(V);
    let ns = 0, nl = 0;
    for (let i = 0; i < V; i++) {
      scaled[i] = p[i] * V;
      if (scaled[i] < 1) small[ns++] = i;
      else large[nl++] = i;
    }
    while (ns > 0 && nl > 0) {
      const s = small[--ns];
      const l = large[--nl];
      this.prob[s] = scaled[s];
      this.alias[s] = l;
      scaled[l] = scaled[l] + scaled[s] - 1;
      if (scaled[l] < 1) small[ns++] = l;
      else large[nl++] = l;
    }
    // What is left is 1 up to rounding: those columns keep their own word.
    while (nl > 0) {
      const l = large[--nl];
      this.prob[l] = 1;
      this.alias[l] = l;
    }
    while (ns > 0) {
      const s = small[--ns];
      this.prob[s] = 1;
      this.alias[s] = s;
    }
  }

  /** One word id drawn from P. */
  sample(rng: Rng): number {
    const u = rng.uniform() * this.size;
    const i = Math.floor(u);
    return u - i < this.prob[i] ? i : this.alias[i];
  }

  /** out[offset … offset + count) = independent draws (default: fill all of out). */
  fill(out: Int32Array, rng: Rng, offset = 0, count = out.length - offset): Int32Array {
    if (offset < 0 || count < 0 || offset + count > out.length) {
      throw new Error(`NegativeSampler.fill: expected a range inside out (${out.length} entries), got [${offset}, ${offset + count})`);
    }
    for (let j = 0; j < count; j++) out[offset + j] = this.sample(rng);
    return out;
  }
}
