/**
 * Exact t-SNE (van der Maaten & Hinton 2008, "Visualizing Data using t-SNE", JMLR 9), for up to
 * a few thousand points (O(n²) memory and time per iteration).
 *
 * High-dimensional affinities. For each point i a Gaussian with precision β_i = 1/(2σ_i²):
 *   p_{j|i} = exp(−β_i‖x_i − x_j‖²) / Σ_{k≠i} exp(−β_i‖x_i − x_k‖²),
 * with β_i found by binary search so that the perplexity 2^{H(P_i)} (= e^{H} with H in nats)
 * equals the requested one. Then the symmetric joint p_ij = (p_{j|i} + p_{i|j}) / 2n (Σ p = 1).
 *
 * Low-dimensional affinities: a Student t with one degree of freedom,
 *   w_ij = (1 + ‖y_i − y_j‖²)⁻¹,  q_ij = w_ij / Σ_{k≠l} w_kl,
 * the cost C = KL(P‖Q) = Σ_{i≠j} p_ij log(p_ij / q_ij) and its gradient (eq. 5 of the paper)
 *   ∂C/∂y_i = 4 Σ_j (p_ij − q_ij) w_ij (y_i − y_j).
 *
 * Optimisation as in the paper and van der Maaten's tsne.m: Y⁰ ~ N(0, 10⁻⁴ I) from the seeded
 * generator, gradient descent with momentum 0.5 for the first 250 iterations then 0.8, per-entry
 * adaptive gains (+0.2 when the gradient's sign flips against the last step, ×0.8 otherwise,
 * floor 0.01), early exaggeration (P multiplied by 12 for the first 250 iterations), and the
 * mean of Y removed after every step.
 */
import { gemm } from '../../engine/gemm.js';
import { Matrix, shapeOf } from '../../engine/matrix.js';
import type { Rng } from '../../engine/rng.js';

/** out[i, j] = ‖x_i − x_j‖² for the rows of X [n, D]; out is [n, n] float64 (from one GEMM X·Xᵀ). */
export function squaredDistances(out: Matrix, x: Matrix): Matrix {
  const n = x.rows;
  if (out.rows !== n || out.cols !== n || out.dtype !== 'float64') {
    throw new Error(`squaredDistances: expected out to be a float64 [${n}, ${n}] matrix, got ${out.dtype} ${shapeOf(out)}`);
  }
  const x64 = x.dtype === 'float64' ? x : x.clone('float64');
  gemm(out, x64, x64, false, true);
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) norms[i] = out.get(i, i);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const d = i === j ? 0 : norms[i] + norms[j] - 2 * out.get(i, j);
      out.set(i, j, d > 0 ? d : 0);
    }
  }
  return out;
}

/**
 * Row i of out: p_{j|i} for the squared distances D [n, n], with β_i from a binary search on
 * the entropy (tolerance 1e−5 nats, at most 200 steps). Returns the β_i.
 */
export function conditionalProbabilities(out: Matrix, dist: Matrix, perplexity: number): Float64Array {
  const n = dist.rows;
  if (!(perplexity > 0) || perplexity >= n) {
    throw new Error(`tsne: expected a perplexity in (0, n) = (0, ${n}), got ${perplexity} (use fewer than n/3 for good results)`);
  }
  const targetEntropy = Math.log(perplexity);
  const betas = new Float64Array(n);
  const row = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // Shift by the nearest distance: the probabilities do not change and exp cannot underflow to all zeros.
    let minD = Infinity;
    for (let j = 0; j < n; j++) if (j !== i && dist.get(i, j) < minD) minD = dist.get(i, j);
    let beta = 1, lo = -Infinity, hi = Infinity;
    for (let step = 0; step < 200; step++) {
      let sum = 0, weighted = 0;
      for (let j = 0; j < n; j++) {
        if (j === i) {
          row[j] = 0;
          continue;
        }
        const shifted = dist.get(i, j) - minD;
        const p = Math.exp(-beta * shifted);
        row[j] = p;
        sum += p;
        weighted += p * shifted;
      }
      // H = log Σ + β·Σ p d / Σ (the entropy of the normalised row, in nats).
      const entropy = Math.log(sum) + (beta * weighted) / sum;
      for (let j = 0; j < n; j++) row[j] /= sum;
      const diff = entropy - targetEntropy;
      if (Math.abs(diff) < 1e-5) break;
      if (diff > 0) {
        lo = beta; // too flat: sharpen
        beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = lo === -Infinity ? beta / 2 : (beta + lo) / 2;
      }
    }
    betas[i] = beta;
    for (let j = 0; j < n; j++) out.set(i, j, row[j]);
  }
  return betas;
}

/** The symmetric joint P [n, n] (float64, Σ = 1, zero diagonal, entries floored at 1e−12) of X [n, D]. */
export function jointProbabilities(x: Matrix, perplexity: number): Matrix {
  const n = x.rows;
  const dist = squaredDistances(Matrix.zeros(n, n, 'float64'), x);
  const cond = Matrix.zeros(n, n, 'float64');
  conditionalProbabilities(cond, dist, perplexity);
  const p = dist; // reuse the buffer
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = i === j ? 0 : Math.max((cond.get(i, j) + cond.get(j, i)) / (2 * n), 1e-12);
      p.set(i, j, v);
      total += v;
    }
  }
  for (let k = 0; k < p.data.length; k++) p.data[k] /= total;
  return p;
}

/** The Student-t kernel w_ij [n, n] and its sum Z, filled by tsneKlForward for the backward. */
export interface TsneWorkspace {
  readonly n: number;
  readonly w: Float64Array;
  z: number;
}

export function createTsneWorkspace(n: number): TsneWorkspace {
  return { n, w: new Float64Array(n * n), z: 0 };
}

function checkTsneShapes(op: string, p: Matrix, y: Matrix, ws: TsneWorkspace): void {
  const n = y.rows;
  if (p.rows !== n || p.cols !== n) throw new Error(`${op}: expected P to be [${n}, ${n}] for Y ${shapeOf(y)}, got ${shapeOf(p)}`);
  if (ws.n !== n) throw new Error(`${op}: expected a workspace for ${n} points, got one for ${ws.n}`);
}

/** Fill ws with w_ij = (1 + ‖y_i − y_j‖²)⁻¹ (w_ii = 0) and Z = Σ w_ij. */
function studentKernel(y: Matrix, ws: TsneWorkspace): void {
  const n = y.rows, dims = y.cols, yd = y.data, w = ws.w;
  let z = 0;
  for (let i = 0; i < n; i++) {
    w[i * n + i] = 0;
    const yi = y.offset + i * y.stride;
    for (let j = i + 1; j < n; j++) {
      const yj = y.offset + j * y.stride;
      let d2 = 0;
      for (let c = 0; c < dims; c++) {
        const diff = yd[yi + c] - yd[yj + c];
        d2 += diff * diff;
      }
      const wij = 1 / (1 + d2);
      w[i * n + j] = wij;
      w[j * n + i] = wij;
      z += 2 * wij;
    }
  }
  ws.z = z;
}

/**
 * C = KL(P‖Q) = Σ_{i≠j} p_ij log(p_ij / q_ij), q_ij = w_ij / Z. Shapes: P [n, n], Y [n, k].
 * Keeps w and Z in ws for tsneKlBackward.
 */
export function tsneKlForward(p: Matrix, y: Matrix, ws: TsneWorkspace): number {
  checkTsneShapes('tsneKlForward', p, y, ws);
  studentKernel(y, ws);
  const n = y.rows;
  let kl = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const pij = p.get(i, j);
      if (i === j || pij <= 0) continue;
      kl += pij * Math.log((pij * ws.z) / ws.w[i * n + j]);
    }
  }
  return kl;
}

/**
 * dY += ∂C/∂Y: dY[i, :] += 4 Σ_j (p_ij − q_ij) w_ij (y_i − y_j) (needs the ws of the forward
 * at the same Y). Exact for a symmetric P with Σ P = 1; with the exaggerated P (Σ P = α) it is
 * the paper's early-exaggeration update.
 */
export function tsneKlBackward(dY: Matrix, p: Matrix, y: Matrix, ws: TsneWorkspace): Matrix {
  checkTsneShapes('tsneKlBackward', p, y, ws);
  if (dY.rows !== y.rows || dY.cols !== y.cols) {
    throw new Error(`tsneKlBackward: expected dY to have the shape of Y ${shapeOf(y)}, got ${shapeOf(dY)}`);
  }
  const n = y.rows, dims = y.cols, yd = y.data, pd = p.data, w = ws.w;
  const invZ = 1 / ws.z;
  for (let i = 0; i < n; i++) {
    const yi = y.offset + i * y.stride, pi = p.offset + i * p.stride, gi = dY.offset + i * dY.stride;
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const wij = w[i * n + j];
      const mult = 4 * (pd[pi + j] - wij * invZ) * wij;
      const yj = y.offset + j * y.stride;
      for (let c = 0; c < dims; c++) dY.data[gi + c] += mult * (yd[yi + c] - yd[yj + c]);
    }
  }
  return dY;
}

export interface TsneOptions {
  /** Effective number of neighbours (default 30; must be < n, best < n/3). */
  perplexity?: number;
  /** Output dimension (default 2). */
  dims?: number;
  /** Gradient steps (default 1000). */
  iterations?: number;
  /** η (default 200). */
  learningRate?: number;
  /** α multiplying P in the first iterations (default 12). */
  earlyExaggeration?: number;
  /** How many iterations use α·P (default 250). */
  exaggerationIterations?: number;
  /** Momentum before / after `momentumSwitch` (defaults 0.5, 0.8, 250). */
  initialMomentum?: number;
  finalMomentum?: number;
  momentumSwitch?: number;
  /** Floor of the adaptive gains (default 0.01). */
  minGain?: number;
  /** Called every `reportEvery` iterations (default 50) and after the last one with KL(P‖Q). */
  onProgress?: (iteration: number, kl: number) => void;
  reportEvery?: number;
}

/** Embed the rows of X [n, D] in `dims` (2) dimensions; returns Y [n, dims] (float64). */
export function tsne(x: Matrix, rng: Rng, opts: TsneOptions = {}): Matrix {
  const n = x.rows;
  if (n < 2) throw new Error(`tsne: expected at least 2 points, got ${shapeOf(x)}`);
  const dims = opts.dims ?? 2;
  const iterations = opts.iterations ?? 1000;
  const eta = opts.learningRate ?? 200;
  const exaggeration = opts.earlyExaggeration ?? 12;
  const exaggerationIterations = opts.exaggerationIterations ?? 250;
  const momentumSwitch = opts.momentumSwitch ?? 250;
  const minGain = opts.minGain ?? 0.01;
  const reportEvery = opts.reportEvery ?? 50;

  const p = jointProbabilities(x, opts.perplexity ?? 30);
  const y = Matrix.zeros(n, dims, 'float64');
  for (let k = 0; k < y.data.length; k++) y.data[k] = rng.normal(0, 1e-2); // N(0, 10⁻⁴)
  const grad = Matrix.zeros(n, dims, 'float64');
  const update = new Float64Array(n * dims);
  const gains = new Float64Array(n * dims).fill(1);
  const ws = createTsneWorkspace(n);

  if (exaggerationIterations > 0) scaleInPlace(p, exaggeration);
  for (let iter = 0; iter < iterations; iter++) {
    if (iter === exaggerationIterations && exaggerationIterations > 0) scaleInPlace(p, 1 / exaggeration);
    const momentum = iter < momentumSwitch ? (opts.initialMomentum ?? 0.5) : (opts.finalMomentum ?? 0.8);
    const report = opts.onProgress !== undefined && (iter + 1) % reportEvery === 0 && iter + 1 < iterations;
    // The KL itself (n² logarithms) is only needed for the report; the gradient needs just w and Z.
    let kl = NaN;
    if (report) kl = tsneKlForward(p, y, ws);
    else studentKernel(y, ws);
    grad.data.fill(0);
    tsneKlBackward(grad, p, y, ws);
    for (let k = 0; k < y.data.length; k++) {
      const g = grad.data[k];
      // Same sign of gradient and last step means we keep going downhill the wrong way round: shrink.
      gains[k] = Math.sign(g) !== Math.sign(update[k]) ? gains[k] + 0.2 : gains[k] * 0.8;
      if (gains[k] < minGain) gains[k] = minGain;
      update[k] = momentum * update[k] - eta * gains[k] * g;
      y.data[k] += update[k];
    }
    centreColumns(y);
    if (report) {
      // The true KL(P‖Q) before this step: KL(αP‖Q) = α·KL(P‖Q) + α·log α.
      opts.onProgress!(iter + 1, iter < exaggerationIterations ? kl / exaggeration - Math.log(exaggeration) : kl);
    }
  }
  if (exaggerationIterations > 0 && iterations <= exaggerationIterations) scaleInPlace(p, 1 / exaggeration);
  opts.onProgress?.(iterations, tsneKlForward(p, y, ws));
  return y;
}

function scaleInPlace(m: Matrix, alpha: number): void {
  for (let k = 0; k < m.data.length; k++) m.data[k] *= alpha;
}

function centreColumns(y: Matrix): void {
  for (let c = 0; c < y.cols; c++) {
    let mean = 0;
    for (let r = 0; r < y.rows; r++) mean += y.get(r, c);
    mean /= y.rows;
    for (let r = 0; r < y.rows; r++) y.set(r, c, y.get(r, c) - mean);
  }
}
