/**
 * Weight initialisers. Each fills `out` in place from the seeded generator and returns it.
 * Weights are [out, in] (fan_out = rows, fan_in = cols), as in the notes and PyTorch.
 */
import type { Matrix } from './matrix.js';
import { Rng } from './rng.js';

/** The class of NO_INIT (its instances are the generator that initialisers do not draw from). */
class SkipInitRng extends Rng {}

/**
 * The generator to give a constructor whose weights are copied in right after (a model file, a
 * checkpoint): every initialiser of this file, and createEmbedding, leaves the weights as
 * allocated (zeros) when handed it, so loading a model draws no random numbers that the file's
 * weights then overwrite (an H 256 LSTM language model: ~300k draws). Anything else drawing from
 * it gets the stream of `new Rng(0)`. Never train from it: every weight would start at zero.
 */
export const NO_INIT: Rng = new SkipInitRng(0);

/** True for NO_INIT (or a copy of its class): the weights are about to be loaded, do not draw them. */
export function skipsInit(rng: Rng): boolean {
  return rng instanceof SkipInitRng;
}

function forEach(out: Matrix, f: (r: number, c: number) => number): Matrix {
  for (let r = 0; r < out.rows; r++) for (let c = 0; c < out.cols; c++) out.set(r, c, f(r, c));
  return out;
}

/** U(low, high) */
export function initUniform(out: Matrix, rng: Rng, low: number, high: number): Matrix {
  if (skipsInit(rng)) return out;
  return forEach(out, () => rng.uniformIn(low, high));
}

/** N(mean, std²) */
export function initNormal(out: Matrix, rng: Rng, mean = 0, std = 1): Matrix {
  if (skipsInit(rng)) return out;
  return forEach(out, () => rng.normal(mean, std));
}

/** Xavier/Glorot uniform (Glorot & Bengio 2010): U(±gain·√(6 / (fan_in + fan_out))). */
export function initXavierUniform(out: Matrix, rng: Rng, gain = 1): Matrix {
  const limit = gain * Math.sqrt(6 / (out.rows + out.cols));
  return initUniform(out, rng, -limit, limit);
}

/** Xavier/Glorot normal: N(0, gain²·2 / (fan_in + fan_out)). */
export function initXavierNormal(out: Matrix, rng: Rng, gain = 1): Matrix {
  return initNormal(out, rng, 0, gain * Math.sqrt(2 / (out.rows + out.cols)));
}

/**
 * PyTorch's default for recurrent layers and Linear biases: U(−1/√H, 1/√H), H = hidden size
 * (for nn.Linear, H = fan_in).
 */
export function initPytorchDefault(out: Matrix, rng: Rng, hidden: number): Matrix {
  const k = 1 / Math.sqrt(hidden);
  return initUniform(out, rng, -k, k);
}

/**
 * PyTorch's two recurrent biases b_ih + b_hh (nn.RNN/GRU/LSTM) as the one bias b of a cell that
 * adds them: the sum of two U(−1/√H, 1/√H) draws per entry (a triangular distribution on ±2/√H,
 * variance 2/(3H), twice that of one draw).
 */
export function initPytorchBiasPair(out: Matrix, rng: Rng, hidden: number): Matrix {
  if (skipsInit(rng)) return out;
  const k = 1 / Math.sqrt(hidden);
  return forEach(out, () => rng.uniformIn(-k, k) + rng.uniformIn(-k, k));
}

/**
 * The identity times `scale` (zeros off the diagonal) — the notes' trick for ReLU RNNs
 * (IRNN, Le, Jaitly & Hinton 2015: W_aa = I, b = 0).
 */
export function initIdentity(out: Matrix, scale = 1): Matrix {
  return forEach(out, (r, c) => (r === c ? scale : 0));
}

/**
 * A (semi-)orthogonal matrix times `gain` (Saxe et al. 2014): QR of a Gaussian matrix by
 * modified Gram–Schmidt, with column signs fixed by R's diagonal so the result is uniformly
 * distributed. Rows are orthonormal when rows ≤ cols, columns when rows ≥ cols.
 */
export function initOrthogonal(out: Matrix, rng: Rng, gain = 1): Matrix {
  if (skipsInit(rng)) return out;
  const tall = out.rows >= out.cols;
  const n = tall ? out.rows : out.cols; // length of each vector
  const k = tall ? out.cols : out.rows; // number of orthonormal vectors
  const q: Float64Array[] = [];
  for (let j = 0; j < k; j++) {
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) v[i] = rng.normal();
    for (const u of q) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += u[i] * v[i];
      for (let i = 0; i < n; i++) v[i] -= dot * u[i];
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += v[i] * v[i];
    norm = Math.sqrt(norm);
    if (norm < 1e-12) throw new Error('initOrthogonal: degenerate random draw (retry with another seed)');
    for (let i = 0; i < n; i++) v[i] /= norm;
    q.push(v);
  }
  return forEach(out, (r, c) => gain * (tall ? q[c][r] : q[r][c]));
}
