/**
 * The js reference of the additive attention kernels (types in types.ts): float32 and float64, the
 * score's sum and the tanh in float64 (Math.tanh), as the attention layer always computed them.
 */
import type { AdditiveScoresBackwardKernel, AdditiveScoresKernel } from './types.js';

export const additiveScoresJs: AdditiveScoresKernel = (rows, count, n, query, keys, v, hidden, scores) => {
  const q = query.data, k = keys.data, w = v.data, s = scores.data;
  for (let r = 0; r < rows; r++) {
    const qRow = query.offset + r * query.stride;
    for (let i = 0; i < count; i++) {
      const kRow = keys.offset + i * keys.stride;
      let e = 0;
      if (hidden === null) {
        for (let j = 0; j < n; j++) e += Math.tanh(q[qRow + j] + k[kRow + j]) * w[v.offset + j];
      } else {
        const a = hidden.data, aRow = hidden.offset + (r * count + i) * hidden.stride;
        for (let j = 0; j < n; j++) {
          const h = Math.tanh(q[qRow + j] + k[kRow + j]);
          a[aRow + j] = h;
          e += h * w[v.offset + j];
        }
      }
      s[scores.offset + r * scores.stride + i] = e;
    }
  }
};

export const additiveScoresBackwardJs: AdditiveScoresBackwardKernel = (rows, count, n, hidden, dScores, v, dv, dKeys, dQuery) => {
  const a = hidden.data, w = v.data, gv = dv.data, gk = dKeys.data, gq = dQuery.data;
  for (let i = 0; i < count; i++) {
    const k = dKeys.offset + i * dKeys.stride;
    for (let r = 0; r < rows; r++) {
      const d = dScores.data[dScores.offset + r * dScores.stride + i];
      if (d === 0) continue;
      const h0 = hidden.offset + (r * count + i) * hidden.stride, q = dQuery.offset + r * dQuery.stride;
      for (let j = 0; j < n; j++) {
        const h = a[h0 + j];
        gv[dv.offset + j] += d * h;
        const dz = d * w[v.offset + j] * (1 - h * h);
        gk[k + j] += dz;
        gq[q + j] += dz;
      }
    }
  }
};
