/**
 * Layer normalisation (Ba, Kiros & Hinton 2016), PyTorch's nn.LayerNorm(D) over the last axis.
 *
 * Each row x of X [N, D] (a batch, or all T·B rows of a time-major sequence) is normalised on its own:
 *   μ = (1/D) Σ_j x_j,  σ² = (1/D) Σ_j (x_j − μ)²  (the biased variance, as PyTorch),
 *   x̂ = (x − μ) / √(σ² + ε),  y = γ ∗ x̂ + β
 * with γ (`weight`, initialised to 1) and β (`bias`, initialised to 0) of shape [1, D] — PyTorch's
 * state_dict names; ε = 1e−5 by default, as PyTorch.
 *
 * Backward, per row, with g = dy ∗ γ:
 *   dγ += Σ_rows dy ∗ x̂,  dβ += Σ_rows dy,
 *   dx += (1/√(σ² + ε)) · (g − mean(g) − x̂ ∗ mean(g ∗ x̂))
 * It ACCUMULATES into dx and the layer's grads; zero them explicitly.
 *
 * The workspace caches x̂ [N, D] and 1/√(σ² + ε) [N] of the last forward call (allocated once per N).
 */
import { Matrix, expectSameDType, expectShape, shapeOf, zero, type DType } from '../engine/matrix.js';
import { sumRows } from '../engine/ops.js';

export interface LayerNorm {
  readonly dim: number;
  readonly eps: number;
  readonly dtype: DType;
  /** weight γ [1, D], bias β [1, D]. */
  readonly params: { weight: Matrix; bias: Matrix };
  readonly grads: { weight: Matrix; bias: Matrix };
}

export interface LayerNormOptions {
  /** ε added to the variance (default 1e−5, PyTorch's). */
  eps?: number;
  dtype?: DType;
}

/** The structure of a layer norm: D features and ε. */
export interface LayerNormConfig extends LayerNormOptions {
  dim: number;
}

/** A layer norm over D features, γ = 1 and β = 0 as nn.LayerNorm initialises them. */
export function createLayerNorm(config: LayerNormConfig, options?: { dtype?: DType }): LayerNorm;
/** @deprecated Use `createLayerNorm({ dim, eps }, { dtype })`. */
export function createLayerNorm(dim: number, options?: LayerNormOptions): LayerNorm;
export function createLayerNorm(first: LayerNormConfig | number, second: LayerNormOptions = {}): LayerNorm {
  const op = 'createLayerNorm';
  const config: LayerNormConfig = typeof first === 'number' ? { ...second, dim: first } : first;
  const { dim } = config;
  const options = { eps: config.eps, dtype: second.dtype ?? config.dtype };
  if (!Number.isInteger(dim) || dim <= 0) throw new Error(`${op}: expected dim to be a positive integer, got ${dim}`);
  const eps = options.eps ?? 1e-5;
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new Error(`${op}: expected eps to be a finite number ≥ 0, got ${eps}`);
  const dtype = options.dtype ?? 'float32';
  const weight = Matrix.zeros(1, dim, dtype);
  weight.data.fill(1);
  return {
    dim, eps, dtype,
    params: { weight, bias: Matrix.zeros(1, dim, dtype) },
    grads: { weight: Matrix.zeros(1, dim, dtype), bias: Matrix.zeros(1, dim, dtype) },
  };
}

export function zeroLayerNormGrads(norm: LayerNorm): void {
  zero(norm.grads.weight);
  zero(norm.grads.bias);
}

export interface LayerNormWorkspace {
  readonly norm: LayerNorm;
  readonly rows: number;
  /** x̂ of the last forward call [N, D]. */
  readonly normalized: Matrix;
  /** 1/√(σ² + ε) per row [N]. */
  readonly invStd: Float64Array;
}

export function createLayerNormWorkspace(norm: LayerNorm, rows: number): LayerNormWorkspace {
  if (!Number.isInteger(rows) || rows <= 0) throw new Error(`createLayerNormWorkspace: expected rows to be a positive integer, got ${rows}`);
  return { norm, rows, normalized: Matrix.zeros(rows, norm.dim, norm.dtype), invStd: new Float64Array(rows) };
}

function checkRows(op: string, ws: LayerNormWorkspace, name: string, m: Matrix): void {
  expectShape(op, name, m, ws.rows, ws.norm.dim);
  expectSameDType(op, ws.normalized, m);
}

/**
 * y = γ ∗ (x − μ)/√(σ² + ε) + β row by row: x, y [N, D]. y is written and may alias x.
 * Returns y.
 */
export function layerNormForward(y: Matrix, ws: LayerNormWorkspace, x: Matrix): Matrix {
  const op = 'layerNormForward';
  checkRows(op, ws, 'x', x);
  checkRows(op, ws, 'y', y);
  const { dim: D, eps, params } = ws.norm;
  const g = params.weight, be = params.bias, xh = ws.normalized;
  for (let r = 0; r < x.rows; r++) {
    const xi = x.offset + r * x.stride, hi = xh.offset + r * xh.stride, yi = y.offset + r * y.stride;
    let mean = 0;
    for (let c = 0; c < D; c++) mean += x.data[xi + c];
    mean /= D;
    let variance = 0;
    for (let c = 0; c < D; c++) {
      const d = x.data[xi + c] - mean;
      variance += d * d;
    }
    const invStd = 1 / Math.sqrt(variance / D + eps);
    ws.invStd[r] = invStd;
    for (let c = 0; c < D; c++) {
      const h = (x.data[xi + c] - mean) * invStd;
      xh.data[hi + c] = h;
      y.data[yi + c] = g.data[g.offset + c] * h + be.data[be.offset + c];
    }
  }
  return y;
}

/**
 * Backward of layerNormForward given dy [N, D]: accumulates dγ, dβ into the layer's grads and the input
 * gradient into dx [N, D] (null to skip). dx must not overlap dy.
 */
export function layerNormBackward(dx: Matrix | null, ws: LayerNormWorkspace, dy: Matrix): void {
  const op = 'layerNormBackward';
  checkRows(op, ws, 'dy', dy);
  const { dim: D, params, grads } = ws.norm;
  const xh = ws.normalized;
  accumulateWeightGrad(grads.weight, dy, xh);
  sumRows(grads.bias, dy, true);
  if (!dx) return;
  checkRows(op, ws, 'dx', dx);
  const g = params.weight;
  for (let r = 0; r < dy.rows; r++) {
    const di = dy.offset + r * dy.stride, hi = xh.offset + r * xh.stride, oi = dx.offset + r * dx.stride;
    let meanG = 0, meanGx = 0;
    for (let c = 0; c < D; c++) {
      const gc = dy.data[di + c] * g.data[g.offset + c];
      meanG += gc;
      meanGx += gc * xh.data[hi + c];
    }
    meanG /= D;
    meanGx /= D;
    const invStd = ws.invStd[r];
    for (let c = 0; c < D; c++) {
      const gc = dy.data[di + c] * g.data[g.offset + c];
      dx.data[oi + c] += invStd * (gc - meanG - xh.data[hi + c] * meanGx);
    }
  }
}

/** dγ[c] += Σ_r dy[r, c] ∗ x̂[r, c] */
function accumulateWeightGrad(dWeight: Matrix, dy: Matrix, xh: Matrix): void {
  if (dWeight.cols !== dy.cols) throw new Error(`layerNormBackward: expected a weight gradient of ${dy.cols} columns, got ${shapeOf(dWeight)}`);
  for (let r = 0; r < dy.rows; r++) {
    const di = dy.offset + r * dy.stride, hi = xh.offset + r * xh.stride;
    for (let c = 0; c < dy.cols; c++) dWeight.data[dWeight.offset + c] += dy.data[di + c] * xh.data[hi + c];
  }
}

/** nn.LayerNorm's state_dict entries. */
export interface LayerNormStateDict {
  weight: number[];
  bias: number[];
}

/** Copy nn.LayerNorm's weight and bias into `norm` (lengths are checked). */
export function loadLayerNormStateDict(norm: LayerNorm, state: LayerNormStateDict, prefix = ''): void {
  const op = 'loadLayerNormStateDict';
  for (const name of ['weight', 'bias'] as const) {
    const values: unknown = state[name];
    if (!Array.isArray(values) || values.length !== norm.dim || !values.every((v) => typeof v === 'number')) {
      const got = Array.isArray(values) ? `${values.length} entries` : typeof values;
      throw new Error(`${op}: expected '${prefix}${name}' to be ${norm.dim} numbers, got ${got}`);
    }
    for (let c = 0; c < norm.dim; c++) norm.params[name].set(0, c, values[c] as number);
  }
}

/** `norm`'s weights (or, with 'grads', their gradients) in nn.LayerNorm's state_dict layout. */
export function layerNormStateDict(norm: LayerNorm, which: 'params' | 'grads' = 'params'): LayerNormStateDict {
  const source = norm[which];
  return { weight: source.weight.toArray()[0], bias: source.bias.toArray()[0] };
}
