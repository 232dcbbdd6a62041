/**
 * Losses from logits: categorical cross-entropy (softmax + negative log-likelihood) per time step
 * summed over time, and sigmoid + binary cross-entropy. Both take the *logits* (never
 * probabilities), which is what makes them stable: −log softmax is computed with log-sum-exp and
 * the binary loss with max(z, 0) − z·y + log(1 + e^−|z|). Logits of ±1000 give finite losses and
 * gradients.
 *
 * Sequences are time-major: a [T·B, V] logits matrix holds step t in rows t·B … t·B + B − 1, and
 * the optional mask is [T, B] with mask[t, b] weighting row t·B + b (1 = counts, 0 = padding; any
 * weight ≥ 0 is accepted). Targets of rows with weight 0 are never read, so padding may hold any
 * id (e.g. −1).
 *
 * Reduction: 'sum' (the default, unlike PyTorch's 'mean') returns L = Σ_t L⟨t⟩, the notes' loss;
 * 'mean' divides by the number of counted entries (Σ of the mask), and is 0 with a zero gradient
 * when nothing counts.
 *
 * Backward functions WRITE dlogits (pass `accumulate = true` to add instead). dlogits may alias
 * logits (each row is read before it is written), which saves a [T·B, V] buffer.
 */
import { sigmoidScalar } from './activations.js';
import { crossEntropyRowsKernel } from './backend.js';
import { Matrix, expectSameDType, expectSameShape, shapeOf } from './matrix.js';

export type LossReduction = 'sum' | 'mean';

export interface CrossEntropyOptions {
  /** [T, B] row weights of a [T·B, V] logits matrix (1 counts, 0 padded); default: every row counts. */
  mask?: Matrix | null;
  /** 'sum' (default): Σ over counted rows; 'mean': divided by Σ mask. */
  reduction?: LossReduction;
}

export interface BinaryCrossEntropyOptions {
  /**
   * Either the shape of the logits [N, K] (one weight per entry) or [T, B] with T·B = N (one weight
   * per row, like the categorical mask); default: every entry counts.
   */
  mask?: Matrix | null;
  /** 'sum' (default): Σ over counted entries; 'mean': divided by the number of counted entries. */
  reduction?: LossReduction;
}

function checkReduction(op: string, reduction: LossReduction | undefined): LossReduction {
  const r = reduction ?? 'sum';
  if (r !== 'sum' && r !== 'mean') throw new Error(`${op}: expected reduction 'sum' or 'mean', got '${String(r)}'`);
  return r;
}

/** A mask given as a plain array (or anything else) is named as such, not as "[undefined, undefined]". */
function expectMatrixMask(op: string, mask: unknown): void {
  if (!(mask instanceof Matrix)) {
    const what = Array.isArray(mask) ? `an array of length ${mask.length}` : typeof mask;
    throw new Error(`${op}: expected mask to be a Matrix [T, B] (e.g. Matrix.fromArray(rows)), got ${what}`);
  }
}

/** A [T, B] mask must cover the rows of `logits` exactly (T·B = rows); returns its weights per row. */
function rowWeights(op: string, mask: Matrix, logits: Matrix): Float64Array {
  expectMatrixMask(op, mask);
  if (mask.rows * mask.cols !== logits.rows) {
    throw new Error(
      `${op}: expected mask [T, B] with T·B = ${logits.rows} (the rows of logits ${shapeOf(logits)}), got ${shapeOf(mask)}`,
    );
  }
  const weights = new Float64Array(logits.rows);
  for (let t = 0; t < mask.rows; t++) {
    for (let b = 0; b < mask.cols; b++) weights[t * mask.cols + b] = checkWeight(op, mask.get(t, b), t, b);
  }
  return weights;
}

function checkWeight(op: string, w: number, r: number, c: number): number {
  if (!(w >= 0) || !Number.isFinite(w)) {
    throw new Error(`${op}: expected mask weights ≥ 0 (1 counts, 0 padded), got ${w} at [${r}, ${c}]`);
  }
  return w;
}

/** The shared pass: returns the loss and, when dlogits is given, writes or adds its gradient. */
function crossEntropyPass(
  op: string, dlogits: Matrix | null, logits: Matrix, targets: ArrayLike<number>,
  options: CrossEntropyOptions, accumulate: boolean,
): number {
  const { rows, cols } = logits;
  if (dlogits) {
    expectSameShape(op, 'logits', logits, 'dlogits', dlogits);
    expectSameDType(op, dlogits, logits);
  }
  const reduction = checkReduction(op, options.reduction);
  if (targets.length !== rows) {
    throw new Error(`${op}: expected ${rows} targets (one per row of logits ${shapeOf(logits)}), got ${targets.length}`);
  }
  const weights = options.mask ? rowWeights(op, options.mask, logits) : null;
  // Validate every counted target before touching dlogits, so a bad call leaves it unchanged.
  let counted = 0;
  for (let r = 0; r < rows; r++) {
    const w = weights ? weights[r] : 1;
    if (w === 0) continue;
    const y = targets[r];
    if (!Number.isInteger(y) || y < 0 || y >= cols) {
      throw new Error(`${op}: expected target class ids in [0, ${cols}) for logits ${shapeOf(logits)}, got ${y} at row ${r}`);
    }
    counted += w;
  }
  const scale = reduction === 'mean' ? (counted > 0 ? 1 / counted : 0) : 1;
  // the rows themselves: the seam's kernel (js: float64 Math.exp; wasm: SIMD exp, float32 accuracy)
  return crossEntropyRowsKernel()(rows, cols, logits, targets, weights, scale, dlogits, accumulate);
}

/**
 * Categorical cross-entropy from logits, per time step and summed over time:
 *   L = Σ_t L⟨t⟩,  L⟨t⟩ = −Σ_b m⟨t⟩_b · log ŷ⟨t⟩_b[y⟨t⟩_b],  ŷ⟨t⟩_b = softmax(z⟨t⟩_b)
 * logits [T·B, V] (time-major; or any [N, V] with no mask), targets: N integer class ids in [0, V),
 * mask [T, B] optional. Returns the sum (or the mean over counted rows with reduction 'mean').
 */
export function crossEntropy(logits: Matrix, targets: ArrayLike<number>, options: CrossEntropyOptions = {}): number {
  return crossEntropyPass('crossEntropy', null, logits, targets, options, false);
}

/**
 * dlogits (+)= ∂L/∂z = m ∗ (softmax(z) − onehot(y)) per row (divided by Σ m for 'mean');
 * dlogits [T·B, V] like logits, and may alias it. Masked rows get 0.
 */
export function crossEntropyBackward(
  dlogits: Matrix, logits: Matrix, targets: ArrayLike<number>, options: CrossEntropyOptions = {}, accumulate = false,
): Matrix {
  crossEntropyPass('crossEntropyBackward', dlogits, logits, targets, options, accumulate);
  return dlogits;
}

/**
 * crossEntropy and crossEntropyBackward in one pass over the logits (one log-sum-exp per row
 * instead of two): writes (or adds) the gradient into dlogits and returns the loss. For training
 * loops over large vocabularies.
 */
export function crossEntropyForwardBackward(
  dlogits: Matrix, logits: Matrix, targets: ArrayLike<number>, options: CrossEntropyOptions = {}, accumulate = false,
): number {
  return crossEntropyPass('crossEntropyForwardBackward', dlogits, logits, targets, options, accumulate);
}

/** The per-entry weights of a BCE mask: elementwise [N, K] or per row [T, B] (T·B = N); null = all 1. */
function bceWeightAt(op: string, mask: Matrix | null | undefined, logits: Matrix): ((r: number, c: number) => number) | null {
  if (!mask) return null;
  expectMatrixMask(op, mask);
  if (mask.rows === logits.rows && mask.cols === logits.cols) {
    for (let r = 0; r < mask.rows; r++) for (let c = 0; c < mask.cols; c++) checkWeight(op, mask.get(r, c), r, c);
    return (r, c) => mask.get(r, c);
  }
  if (mask.rows * mask.cols === logits.rows) {
    const weights = rowWeights(op, mask, logits);
    return (r) => weights[r];
  }
  throw new Error(
    `${op}: expected mask ${shapeOf(logits)} (per entry) or [T, B] with T·B = ${logits.rows} (per row) for logits ${shapeOf(logits)}, got ${shapeOf(mask)}`,
  );
}

function bcePass(
  op: string, dlogits: Matrix | null, logits: Matrix, targets: Matrix,
  options: BinaryCrossEntropyOptions, accumulate: boolean,
): number {
  const { rows, cols } = logits;
  expectSameShape(op, 'logits', logits, 'targets', targets);
  if (dlogits) {
    expectSameShape(op, 'logits', logits, 'dlogits', dlogits);
    expectSameDType(op, dlogits, logits);
  }
  const reduction = checkReduction(op, options.reduction);
  const weightAt = bceWeightAt(op, options.mask, logits);
  let counted = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const w = weightAt ? weightAt(r, c) : 1;
      if (w === 0) continue;
      const y = targets.get(r, c);
      if (!(y >= 0 && y <= 1)) {
        throw new Error(`${op}: expected targets in [0, 1], got ${y} at [${r}, ${c}]`);
      }
      counted += w;
    }
  }
  const scale = reduction === 'mean' ? (counted > 0 ? 1 / counted : 0) : 1;

  let loss = 0;
  for (let r = 0; r < rows; r++) {
    const s = logits.offset + r * logits.stride;
    const o = dlogits ? dlogits.offset + r * dlogits.stride : 0;
    for (let c = 0; c < cols; c++) {
      const w = (weightAt ? weightAt(r, c) : 1) * scale;
      let d = 0;
      if (w !== 0) {
        const z = logits.data[s + c];
        const y = targets.get(r, c);
        // −[y log σ(z) + (1 − y) log(1 − σ(z))] = max(z, 0) − z·y + log(1 + e^−|z|)
        loss += w * (Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z))));
        d = w * (sigmoidScalar(z) - y);
      }
      if (dlogits) dlogits.data[o + c] = accumulate ? dlogits.data[o + c] + d : d;
    }
  }
  return loss;
}

/**
 * Sigmoid + binary cross-entropy from logits (PyTorch's binary_cross_entropy_with_logits):
 *   L = Σ_{r,c} m_rc · [max(z, 0) − z·y + log(1 + e^−|z|)],  z = logits[r, c], y = targets[r, c]
 * logits and targets [N, K] (targets in [0, 1]; soft labels allowed), mask optional (see the
 * options). Returns the sum (or the mean over counted entries).
 */
export function binaryCrossEntropyWithLogits(
  logits: Matrix, targets: Matrix, options: BinaryCrossEntropyOptions = {},
): number {
  return bcePass('binaryCrossEntropyWithLogits', null, logits, targets, options, false);
}

/** dlogits (+)= m ∗ (σ(z) − y) (divided by Σ m for 'mean'); dlogits [N, K], may alias logits. */
export function binaryCrossEntropyWithLogitsBackward(
  dlogits: Matrix, logits: Matrix, targets: Matrix, options: BinaryCrossEntropyOptions = {}, accumulate = false,
): Matrix {
  bcePass('binaryCrossEntropyWithLogitsBackward', dlogits, logits, targets, options, accumulate);
  return dlogits;
}
