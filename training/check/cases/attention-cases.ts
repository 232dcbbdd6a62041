/**
 * Gradient-check cases of the attention layers: Bahdanau (additive), Luong dot and general over
 * several decoder steps with a ragged source mask; scaled dot-product attention with padding and
 * causal masks; multi-head attention (all weights and inputs, cross- and self-attention); learned
 * positional embeddings.
 */
import { tanh, tanhBackward } from '../../../engine/activations.js';
import { Matrix, stepView } from '../../../engine/matrix.js';
import type { Rng } from '../../../engine/rng.js';
import {
  attentionKeysBackward, attentionKeysForward, attentionStepBackward, attentionStepForward,
  createAttention, createAttentionWorkspace, sourceMaskFromLengths, zeroAttentionGrads, type AttentionScore,
} from '../../../layers/attention/attention.js';
import {
  addPositionalBackward, addPositionalForward, causalMask, createLearnedPositionalEmbedding, createMhaWorkspace,
  createMultiheadAttention, createSdpaWorkspace, multiheadAttentionBackward, multiheadAttentionForward,
  scaledDotProductAttentionBackward, scaledDotProductAttentionForward, zeroMultiheadAttentionGrads,
  type AttentionMasks,
} from '../../../layers/attention/multihead.js';
import type { GradCheckCase } from '../gradcheck.js';
import { randomMatrix, weightedSum } from './engine-cases.js';

function randomize(m: Matrix, rng: Rng, scale = 1): void {
  for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) m.set(r, c, rng.uniformIn(-scale, scale));
}

/** Zero the rows of the upstream weights that belong to padded target steps (ragged targets). */
function maskTargetRows(w: Matrix, targetLengths: number[]): void {
  const B = targetLengths.length;
  for (let r = 0; r < w.rows; r++) {
    if (Math.floor(r / B) >= targetLengths[r % B]) for (let c = 0; c < w.cols; c++) w.set(r, c, 0);
  }
}

/**
 * RNN-decoder attention: T_x = 6, T_y = 4, B = 3, source lengths [6, 4, 2], target lengths [4, 3, 2];
 * loss Σ_t Σ w⟨t⟩ ∗ c⟨t⟩ with independent queries s⟨t−1⟩ per step.
 */
function decoderAttentionCase(score: AttentionScore): GradCheckCase {
  return {
    group: 'attention',
    op: `${score === 'additive' ? 'Bahdanau additive' : `Luong ${score}`} attention, ragged source mask`,
    build(rng) {
      const Tx = 6, Ty = 4, B = 3;
      const encoderSize = 4;
      const querySize = score === 'general' ? 3 : 4;
      const layer = createAttention({ score, querySize, encoderSize, attentionSize: 5 }, { rng, dtype: 'float64' });
      for (const p of Object.values(layer.params)) randomize(p, rng, 0.8); // b ≠ 0 too
      const H = randomMatrix(rng, Tx * B, encoderSize);
      const S = randomMatrix(rng, Ty * B, querySize);
      const w = randomMatrix(rng, Ty * B, encoderSize);
      maskTargetRows(w, [4, 3, 2]);
      const mask = sourceMaskFromLengths([6, 4, 2], Tx, 'float64');
      const ws = createAttentionWorkspace(layer, Tx, Ty, B);
      const c = Matrix.zeros(Ty * B, encoderSize, 'float64');
      const dH = Matrix.zeros(Tx * B, encoderSize, 'float64');
      const dS = Matrix.zeros(Ty * B, querySize, 'float64');
      const forward = (): void => {
        attentionKeysForward(ws, H, mask);
        for (let t = 0; t < Ty; t++) attentionStepForward(stepView(c, t, B), ws, t, stepView(S, t, B));
      };
      return {
        params: { ...layer.params, queries: S, encoderOutputs: H },
        loss: () => {
          forward();
          return weightedSum(c, w);
        },
        gradients: () => {
          zeroAttentionGrads(layer);
          dH.data.fill(0);
          dS.data.fill(0);
          forward();
          for (let t = Ty - 1; t >= 0; t--) attentionStepBackward(stepView(dS, t, B), dH, ws, t, stepView(w, t, B));
          attentionKeysBackward(dH, ws);
          return { ...layer.grads, queries: dS, encoderOutputs: dH };
        },
      };
    },
  };
}

/** Scaled dot-product attention, T_q = 5, T_k = 6 (or 5 with causal), B = 3, d_k = 3, d_v = 4. */
function sdpaCase(kind: 'padding' | 'causal'): GradCheckCase {
  return {
    group: 'attention',
    op: `scaled dot-product attention, ${kind === 'padding' ? 'key padding mask' : 'causal mask'}`,
    build(rng) {
      const B = 3, Tq = 5, Tk = kind === 'causal' ? 5 : 6, dk = 3, dv = 4;
      const q = randomMatrix(rng, Tq * B, dk, 1.5);
      const k = randomMatrix(rng, Tk * B, dk, 1.5);
      const v = randomMatrix(rng, Tk * B, dv);
      const w = randomMatrix(rng, Tq * B, dv);
      const masks: AttentionMasks = kind === 'padding'
        ? { keyPaddingMask: sourceMaskFromLengths([6, 4, 2], Tk, 'float64') }
        : { attnMask: causalMask(Tq, { dtype: 'float64' }) };
      const ws = createSdpaWorkspace({ queryLen: Tq, keyLen: Tk, batch: B }, { dtype: 'float64' });
      const out = Matrix.zeros(Tq * B, dv, 'float64');
      const dq = Matrix.zeros(Tq * B, dk, 'float64');
      const dk_ = Matrix.zeros(Tk * B, dk, 'float64');
      const dv_ = Matrix.zeros(Tk * B, dv, 'float64');
      return {
        params: { q, k, v },
        loss: () => weightedSum(scaledDotProductAttentionForward(out, ws, q, k, v, masks), w),
        gradients: () => {
          for (const g of [dq, dk_, dv_]) g.data.fill(0);
          scaledDotProductAttentionForward(out, ws, q, k, v, masks);
          scaledDotProductAttentionBackward(dq, dk_, dv_, ws, w, q, k, v);
          return { q: dq, k: dk_, v: dv_ };
        },
      };
    },
  };
}

/** Multi-head attention E = 6, h = 2: cross-attention with key padding, or causal self-attention. */
function mhaCase(kind: 'cross' | 'self'): GradCheckCase {
  return {
    group: 'attention',
    op: kind === 'cross'
      ? 'multi-head attention (2 heads), key padding mask'
      : 'multi-head self-attention (2 heads), causal + padding masks',
    build(rng) {
      const E = 6, B = 2, Tq = 5, Tk = kind === 'cross' ? 6 : 5;
      const mha = createMultiheadAttention({ embedDim: E, numHeads: 2 }, { rng, dtype: 'float64' });
      for (const p of Object.values(mha.params)) randomize(p, rng, 0.7);
      const query = randomMatrix(rng, Tq * B, E);
      const key = kind === 'cross' ? randomMatrix(rng, Tk * B, E) : query;
      const value = kind === 'cross' ? randomMatrix(rng, Tk * B, E) : query;
      const w = randomMatrix(rng, Tq * B, E);
      const masks: AttentionMasks = kind === 'cross'
        ? { keyPaddingMask: sourceMaskFromLengths([6, 3], Tk, 'float64') }
        : { keyPaddingMask: sourceMaskFromLengths([5, 3], Tk, 'float64'), attnMask: causalMask(Tq, { dtype: 'float64' }) };
      const ws = createMhaWorkspace(mha, Tq, Tk, B);
      const out = Matrix.zeros(Tq * B, E, 'float64');
      const dQuery = Matrix.zeros(Tq * B, E, 'float64');
      const dKey = Matrix.zeros(Tk * B, E, 'float64');
      const dValue = Matrix.zeros(Tk * B, E, 'float64');
      const inputs: Record<string, Matrix> = kind === 'cross' ? { query, key, value } : { x: query };
      // b_k is left out: its true gradient is exactly 0 (q·b_k adds the same number to every score of a
      // query row, and softmax ignores a constant shift), so a central difference is pure round-off and the
      // relative error means nothing. spec/attention-multihead.spec.ts checks that its gradient is ~0.
      const { b_k: _unchecked, ...checked } = mha.params;
      return {
        params: { ...checked, ...inputs },
        loss: () => weightedSum(multiheadAttentionForward(out, ws, query, key, value, masks), w),
        gradients: () => {
          zeroMultiheadAttentionGrads(mha);
          for (const g of [dQuery, dKey, dValue]) g.data.fill(0);
          multiheadAttentionForward(out, ws, query, key, value, masks);
          if (kind === 'cross') {
            multiheadAttentionBackward(dQuery, dKey, dValue, ws, w);
            return { ...mha.grads, query: dQuery, key: dKey, value: dValue };
          }
          multiheadAttentionBackward(dQuery, dQuery, dQuery, ws, w); // self-attention: one input, three paths
          return { ...mha.grads, x: dQuery };
        },
      };
    },
  };
}

/** y = tanh(x + P[t]) with a learned table of 7 positions, T = 5, B = 2, d = 3. */
const learnedPositionalCase: GradCheckCase = {
  group: 'attention',
  op: 'learned positional embedding',
  build(rng) {
    const T = 5, B = 2, d = 3;
    const pe = createLearnedPositionalEmbedding({ maxLength: 7, dim: d, std: 0.5 }, { rng, dtype: 'float64' });
    const x = randomMatrix(rng, T * B, d);
    const w = randomMatrix(rng, T * B, d);
    const z = Matrix.zeros(T * B, d, 'float64');
    const y = Matrix.zeros(T * B, d, 'float64');
    const dz = Matrix.zeros(T * B, d, 'float64');
    const dx = Matrix.zeros(T * B, d, 'float64');
    const forward = (): Matrix => tanh(y, addPositionalForward(z, x, pe.params.weight, B));
    return {
      params: { weight: pe.params.weight, x },
      loss: () => weightedSum(forward(), w),
      gradients: () => {
        pe.grads.weight.data.fill(0);
        dx.data.fill(0);
        forward();
        tanhBackward(dz, w, y);
        addPositionalBackward(pe.grads.weight, dx, dz, B);
        return { weight: pe.grads.weight, x: dx };
      },
    };
  },
};

export const attentionCases: GradCheckCase[] = [
  decoderAttentionCase('additive'),
  decoderAttentionCase('dot'),
  decoderAttentionCase('general'),
  sdpaCase('padding'),
  sdpaCase('causal'),
  mhaCase('cross'),
  mhaCase('self'),
  learnedPositionalCase,
];
