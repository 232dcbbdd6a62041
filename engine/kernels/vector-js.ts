/**
 * The plain-JS reference of the backend seam's vector kernels (types.ts): bias add, row sums, the
 * softmax and cross-entropy rows, optimizer updates, and the sums, scaling and clamping of gradient
 * clipping. Float32 or float64; the arithmetic is done in float64 (JS numbers) and stored in the
 * buffers' type, in exactly the order engine/ops.ts, softmax.ts, cross-entropy.ts, clip.ts and
 * training/core/optimizers.ts always used, so their results are bit for bit what they were.
 */
import type {
  AddBiasKernel, AddRowsKernel, ClampKernel, CrossEntropyRowsKernel, GatherRowsKernel, ParameterUpdateKernel,
  ScaleKernel, ScatterAddRowsKernel, SoftmaxRowsKernel, SumRowsKernel, SumSquaresKernel,
} from './types.js';

/** max_j x_j over the `cols` entries data[s … s + cols) — a raw-buffer helper shared with the losses. */
export function rowMax(data: ArrayLike<number>, s: number, cols: number): number {
  let m = data[s];
  for (let j = 1; j < cols; j++) if (data[s + j] > m) m = data[s + j];
  return m;
}

/**
 * log Σ_j e^(x_j − m) over the `cols` entries data[s … s + cols), m = rowMax (so it lies in
 * [0, log cols] and never overflows). log Σ_j e^(x_j) = m + this; keeping the two apart makes
 * x_j − log Σ e^x = (x_j − m) − this exact even for logits of 1e30.
 */
export function rowLogSumExpShifted(data: ArrayLike<number>, s: number, cols: number, m: number): number {
  let sum = 0;
  for (let j = 0; j < cols; j++) sum += Math.exp(data[s + j] - m);
  return Math.log(sum);
}

export const addBiasJs: AddBiasKernel = (rows, cols, out, x, bias) => {
  const b = bias.offset;
  // locals, not property reads, in the inner loop: this runs on every step of every layer
  const od = out.data, xd = x.data, bd = bias.data;
  for (let r = 0; r < rows; r++) {
    const o = out.offset + r * out.stride, s = x.offset + r * x.stride;
    for (let c = 0; c < cols; c++) od[o + c] = xd[s + c] + bd[b + c];
  }
};

export const gatherRowsJs: GatherRowsKernel = (rows, cols, out, table, ids, bias) => {
  const od = out.data, td = table.data;
  for (let r = 0; r < rows; r++) {
    const o = out.offset + r * out.stride, s = table.offset + ids[r] * table.stride;
    if (bias === null) {
      for (let c = 0; c < cols; c++) od[o + c] = td[s + c];
    } else {
      const bd = bias.data, b = bias.offset;
      for (let c = 0; c < cols; c++) od[o + c] = td[s + c] + bd[b + c];
    }
  }
};

export const scatterAddRowsJs: ScatterAddRowsKernel = (rows, cols, table, ids, x, skip) => {
  const td = table.data, xd = x.data;
  for (let r = 0; r < rows; r++) {
    const id = ids[r];
    if (id === skip) continue;
    const t = table.offset + id * table.stride, s = x.offset + r * x.stride;
    for (let c = 0; c < cols; c++) td[t + c] += xd[s + c];
  }
};

export const addRowsJs: AddRowsKernel = (rows, cols, out, x) => {
  const od = out.data, xd = x.data;
  for (let r = 0; r < rows; r++) {
    const o = out.offset + r * out.stride, s = x.offset + r * x.stride;
    for (let c = 0; c < cols; c++) od[o + c] += xd[s + c];
  }
};

export const sumRowsJs: SumRowsKernel = (rows, cols, out, x, accumulate) => {
  const o = out.offset;
  const od = out.data, xd = x.data;
  if (!accumulate) od.fill(0, o, o + cols);
  for (let r = 0; r < rows; r++) {
    const s = x.offset + r * x.stride;
    for (let c = 0; c < cols; c++) od[o + c] += xd[s + c];
  }
};

export const softmaxRowsJs: SoftmaxRowsKernel = (rows, cols, out, x, invTemperature) => {
  for (let r = 0; r < rows; r++) {
    const s = x.offset + r * x.stride, o = out.offset + r * out.stride;
    const m = rowMax(x.data, s, cols);
    let sum = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp((x.data[s + j] - m) * invTemperature);
      out.data[o + j] = e;
      sum += e;
    }
    const inv = 1 / sum; // sum ≥ 1: the max entry contributes e^0
    for (let j = 0; j < cols; j++) out.data[o + j] *= inv;
  }
};

export const crossEntropyRowsJs: CrossEntropyRowsKernel = (rows, cols, logits, targets, weights, scale, dlogits, accumulate) => {
  let loss = 0;
  for (let r = 0; r < rows; r++) {
    const w = (weights ? weights[r] : 1) * scale;
    const s = logits.offset + r * logits.stride;
    if (w === 0) {
      if (dlogits && !accumulate) dlogits.data.fill(0, dlogits.offset + r * dlogits.stride, dlogits.offset + r * dlogits.stride + cols);
      continue;
    }
    const y = targets[r];
    // L⟨t⟩_b = −log ŷ_y = log Σ_j e^(x_j − m) − (x_y − m), m = max_j x_j
    const m = rowMax(logits.data, s, cols);
    const logSum = rowLogSumExpShifted(logits.data, s, cols, m);
    loss += w * (logSum - (logits.data[s + y] - m));
    if (!dlogits) continue;
    // ∂L/∂x_j = w·(ŷ_j − [j = y]), ŷ_j = e^((x_j − m) − logSum); read x_j before writing (dlogits may alias logits)
    const o = dlogits.offset + r * dlogits.stride;
    for (let j = 0; j < cols; j++) {
      const d = w * (Math.exp((logits.data[s + j] - m) - logSum) - (j === y ? 1 : 0));
      dlogits.data[o + j] = accumulate ? dlogits.data[o + j] + d : d;
    }
  }
  return loss;
};

export const sumSquaresJs: SumSquaresKernel = (rows, cols, x) => {
  let sum = 0;
  for (let r = 0; r < rows; r++) {
    const s = x.offset + r * x.stride;
    for (let c = 0; c < cols; c++) {
      const v = x.data[s + c];
      sum += v * v;
    }
  }
  return sum;
};

export const scaleJs: ScaleKernel = (rows, cols, x, factor) => {
  for (let r = 0; r < rows; r++) {
    const s = x.offset + r * x.stride;
    for (let c = 0; c < cols; c++) x.data[s + c] *= factor;
  }
};

export const clampJs: ClampKernel = (rows, cols, x, maxValue) => {
  let clipped = 0;
  const low = 0 - maxValue; // +0 rather than −0 when m = 0
  for (let r = 0; r < rows; r++) {
    const s = x.offset + r * x.stride;
    for (let c = 0; c < cols; c++) {
      const v = x.data[s + c];
      if (v > maxValue) {
        x.data[s + c] = maxValue;
        clipped++;
      } else if (v < low) {
        x.data[s + c] = low;
        clipped++;
      }
    }
  }
  return clipped;
};

/** The update rules of training/core/optimizers.ts (kind 0 sgd … 4 adagrad), row by row (θ may be a strided view). */
export const parameterUpdateJs: ParameterUpdateKernel = (rows, cols, param, grad, slotA, slotB, rule) => {
  const { kind, lr, l2, shrink } = rule;
  const p = param.data;
  const g = grad.data;
  const a = slotA!, b = slotB!;
  const { c1, sqrtC2 } = rule;
  for (let r = 0; r < rows; r++) {
    const po = param.offset + r * param.stride;
    const go = grad.offset + r * grad.stride;
    const so = r * cols;
    for (let c = 0; c < cols; c++) {
      const theta = p[po + c] * shrink;
      const gi = g[go + c] + l2 * p[po + c];
      let delta: number;
      switch (kind) {
        case 0: // sgd
          delta = gi;
          break;
        case 1: { // momentum
          const v = rule.t === 1 ? gi : rule.momentum * a[so + c] + (1 - rule.dampening) * gi;
          a[so + c] = v;
          delta = rule.nesterov ? gi + rule.momentum * a[so + c] : a[so + c];
          break;
        }
        case 2: { // rmsprop
          a[so + c] = rule.alpha * a[so + c] + (1 - rule.alpha) * gi * gi;
          delta = gi / (Math.sqrt(a[so + c]) + rule.eps);
          break;
        }
        case 3: { // adam
          a[so + c] = rule.beta1 * a[so + c] + (1 - rule.beta1) * gi;
          b[so + c] = rule.beta2 * b[so + c] + (1 - rule.beta2) * gi * gi;
          delta = a[so + c] / c1 / (Math.sqrt(b[so + c]) / sqrtC2 + rule.eps);
          break;
        }
        default: { // adagrad
          a[so + c] += gi * gi;
          delta = gi / (Math.sqrt(a[so + c]) + rule.eps);
          break;
        }
      }
      p[po + c] = theta - lr * delta;
    }
  }
};
