/**
 * Gradient-check cases of the embedding lookup's scatter-add backward (repeated ids, ragged mask
 * with a padding row). The t-SNE objective's case lives in training/embeddings/gradcheck-cases.ts,
 * sentiment model (a)'s in training/sentiment/gradcheck-cases.ts (training/gradcheck-suite.ts
 * lists them right after these, in this order).
 */
import { Matrix } from '../../../engine/matrix.js';
import type { Rng } from '../../../engine/rng.js';
import { createEmbedding, embeddingBackward, embeddingForward, embeddingZeroGrad } from '../../../layers/embedding.js';
import type { GradCheckCase } from '../gradcheck.js';
import { randomMatrix } from './engine-cases.js';

const T = 5, B = 3, V = 6, D = 4;

/** Time-major ids [T·B] in which several words repeat (ids 1 and 2 appear many times). */
function repeatedIds(rng: Rng, padding: number[][] = []): Int32Array {
  const ids = new Int32Array(T * B);
  for (let i = 0; i < ids.length; i++) ids[i] = i % 4 === 0 ? 1 : i % 3 === 0 ? 2 : 1 + rng.int(V - 1);
  for (const [t, b] of padding) ids[t * B + b] = 0;
  return ids;
}

/** L = Σ_{t,b} m⟨t⟩_b Σ_c w_ic tanh(X_ic), X = E[ids]: a non-linear loss so dL/dE depends on E. */
function lookupCase(op: string, masked: boolean): GradCheckCase {
  return {
    group: 'embeddings',
    op,
    build(rng) {
      const lengths = masked ? [5, 3, 1] : [T, T, T];
      const padding: number[][] = [];
      for (let b = 0; b < B; b++) for (let t = lengths[b]; t < T; t++) padding.push([t, b]);
      const emb = createEmbedding({ vocabSize: V, dim: D, paddingIdx: masked ? 0 : undefined }, { rng, dtype: 'float64' });
      const ids = repeatedIds(rng, padding);
      const w = randomMatrix(rng, T * B, D);
      const x = Matrix.zeros(T * B, D, 'float64');
      const dx = Matrix.zeros(T * B, D, 'float64');
      const maskOf = (i: number): number => (Math.floor(i / B) < lengths[i % B] ? 1 : 0);
      const loss = (): number => {
        embeddingForward(x, emb, ids);
        let s = 0;
        for (let i = 0; i < T * B; i++) for (let c = 0; c < D; c++) s += maskOf(i) * w.get(i, c) * Math.tanh(x.get(i, c));
        return s;
      };
      return {
        params: { E: emb.weight },
        loss,
        gradients: () => {
          embeddingZeroGrad(emb);
          embeddingForward(x, emb, ids);
          for (let i = 0; i < T * B; i++) {
            for (let c = 0; c < D; c++) dx.set(i, c, maskOf(i) * w.get(i, c) * (1 - Math.tanh(x.get(i, c)) ** 2));
          }
          embeddingBackward(emb, ids, dx);
          return { E: emb.grad };
        },
      };
    },
  };
}

export const embeddingCases: GradCheckCase[] = [
  lookupCase('embedding lookup, repeated ids', false),
  lookupCase('embedding lookup, ragged mask + padding row', true),
];
