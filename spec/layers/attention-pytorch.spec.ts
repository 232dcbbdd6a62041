import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Matrix, Rng } from '../../engine/index.js';
import {
  createMhaWorkspace, createMultiheadAttention, headAttentionWeights, loadMultiheadAttentionStateDict,
  multiheadAttentionBackward, multiheadAttentionForward, multiheadAttentionStateDict, type AttentionMasks,
  type MhaStateDict,
} from '../../layers/attention/multihead.js';

// Reference values from PyTorch 1.13's nn.MultiheadAttention in float64, written by
// spec/fixtures/gen_mha.py (layout described there). Tolerance 1e−10.

interface MhaCase {
  name: string;
  config: { embed_dim: number; num_heads: number; L: number; S: number; N: number; self_attention: boolean };
  state_dict: MhaStateDict;
  query: number[][]; key: number[][]; value: number[][];
  key_padding_mask: boolean[][];
  attn_mask: boolean[][] | null;
  output: number[][];
  attn_weights: number[][][][];
  upstream: number[][];
  grads: Record<string, number[][] | number[]>;
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/mha.json', import.meta.url), 'utf8')) as {
  dtype: string; cases: MhaCase[];
};

function maxDiff(actual: number[][], expected: number[][]): number {
  expect(actual.length).toBe(expected.length);
  let d = 0;
  actual.forEach((row, r) => {
    expect(row.length).toBe(expected[r].length);
    row.forEach((x, c) => { d = Math.max(d, Math.abs(x - expected[r][c])); });
  });
  return d;
}

/** PyTorch's masks (True = forbidden) → seqgrad's 0/1 masks (1 = allowed). */
function masksOf(c: MhaCase): AttentionMasks {
  const { L, S, N } = c.config;
  const keyPaddingMask = Matrix.zeros(S, N, 'float64');
  for (let b = 0; b < N; b++) for (let s = 0; s < S; s++) keyPaddingMask.set(s, b, c.key_padding_mask[b][s] ? 0 : 1);
  if (!c.attn_mask) return { keyPaddingMask };
  const attnMask = Matrix.zeros(L, S, 'float64');
  for (let q = 0; q < L; q++) for (let s = 0; s < S; s++) attnMask.set(q, s, c.attn_mask[q][s] ? 0 : 1);
  return { keyPaddingMask, attnMask };
}

describe('multi-head attention matches PyTorch nn.MultiheadAttention (float64 fixture)', () => {
  it('the fixture is float64 and has the cases', () => {
    expect(fixture.dtype).toBe('float64');
    expect(fixture.cases.length).toBe(2);
  });

  for (const c of fixture.cases) {
    const { embed_dim: E, num_heads: heads, L, S, N } = c.config;
    const build = () => {
      const mha = createMultiheadAttention({ embedDim: E, numHeads: heads }, { rng: new Rng(0), dtype: 'float64' });
      loadMultiheadAttentionStateDict(mha, c.state_dict);
      const ws = createMhaWorkspace(mha, L, S, N);
      const query = Matrix.fromArray(c.query, 'float64');
      const key = c.config.self_attention ? query : Matrix.fromArray(c.key, 'float64');
      const value = c.config.self_attention ? query : Matrix.fromArray(c.value, 'float64');
      const out = Matrix.zeros(L * N, E, 'float64');
      multiheadAttentionForward(out, ws, query, key, value, masksOf(c));
      return { mha, ws, query, key, value, out };
    };

    it(`${c.name}: output and per-head attention weights`, () => {
      const { ws, out } = build();
      expect(maxDiff(out.toArray(), c.output)).toBeLessThan(1e-10);
      for (let b = 0; b < N; b++) {
        for (let h = 0; h < heads; h++) {
          expect(maxDiff(headAttentionWeights(ws, h, b).toArray(), c.attn_weights[b][h])).toBeLessThan(1e-10);
        }
      }
    });

    it(`${c.name}: gradients of the inputs and of every state_dict entry`, () => {
      const { mha, ws, query } = build();
      const dQuery = Matrix.zeros(L * N, E, 'float64');
      const dKey = Matrix.zeros(S * N, E, 'float64');
      const dValue = Matrix.zeros(S * N, E, 'float64');
      const upstream = Matrix.fromArray(c.upstream, 'float64');
      if (c.config.self_attention) multiheadAttentionBackward(dQuery, dQuery, dQuery, ws, upstream);
      else multiheadAttentionBackward(dQuery, dKey, dValue, ws, upstream);
      expect(query.rows).toBe(L * N);
      expect(maxDiff(dQuery.toArray(), c.grads.query as number[][])).toBeLessThan(1e-10);
      if (!c.config.self_attention) {
        expect(maxDiff(dKey.toArray(), c.grads.key as number[][])).toBeLessThan(1e-10);
        expect(maxDiff(dValue.toArray(), c.grads.value as number[][])).toBeLessThan(1e-10);
      }
      // the gradients in PyTorch's packed layout: reuse the state-dict writer on a layer holding the grads
      const gradLayer = createMultiheadAttention({ embedDim: E, numHeads: heads }, { rng: new Rng(0), dtype: 'float64' });
      for (const name of Object.keys(mha.grads) as (keyof typeof mha.grads)[]) {
        gradLayer.params[name].data.set(mha.grads[name].data);
      }
      const g = multiheadAttentionStateDict(gradLayer);
      expect(maxDiff(g.in_proj_weight, c.grads.in_proj_weight as number[][])).toBeLessThan(1e-10);
      expect(maxDiff([g.in_proj_bias], [c.grads.in_proj_bias as number[]])).toBeLessThan(1e-10);
      expect(maxDiff(g['out_proj.weight'], c.grads['out_proj.weight'] as number[][])).toBeLessThan(1e-10);
      expect(maxDiff([g['out_proj.bias']], [c.grads['out_proj.bias'] as number[]])).toBeLessThan(1e-10);
    });
  }

  it('the state dict round-trips and rejects wrong shapes naming the op', () => {
    const c = fixture.cases[0];
    const E = c.config.embed_dim;
    const mha = createMultiheadAttention({ embedDim: E, numHeads: c.config.num_heads }, { rng: new Rng(3), dtype: 'float64' });
    loadMultiheadAttentionStateDict(mha, c.state_dict);
    expect(multiheadAttentionStateDict(mha)).toEqual(c.state_dict);
    expect(mha.params.W_k.toArray()).toEqual(c.state_dict.in_proj_weight.slice(E, 2 * E)); // [W_q; W_k; W_v]
    const bad = { ...c.state_dict, in_proj_weight: c.state_dict.in_proj_weight.slice(0, 2 * E) };
    expect(() => loadMultiheadAttentionStateDict(mha, bad)).toThrow(
      `loadMultiheadAttentionStateDict: expected 'in_proj_weight' to be a (${3 * E}, ${E}) array of numbers, got ${2 * E} rows of ${E}`,
    );
  });
});
