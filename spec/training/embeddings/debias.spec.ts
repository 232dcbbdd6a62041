import { describe, expect, it } from 'vitest';
import { Matrix } from '../../../engine/index.js';
import { biasDirection, biasProjection, debiasWordVectors, equalize, neutralize } from '../../../training/embeddings/debias.js';
import { makeWordVectors } from '../../../training/io/vectors.js';

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => Array.from(a).reduce((s, v, i) => s + v * b[i], 0);
const norm = (a: ArrayLike<number>): number => Math.sqrt(dot(a, a));
const distance = (a: ArrayLike<number>, b: ArrayLike<number>): number => norm(Array.from(a, (v, i) => v - b[i]));

describe('debiasing (Bolukbasi et al. 2016)', () => {
  it('bias direction: the mean of the pair differences', () => {
    const g = biasDirection([[[1, 2, 0], [0, 2, 0]], [[3, 1, 1], [2, 0, 1]]], 'mean');
    // differences (1, 0, 0) and (1, 1, 0) → mean (1, 0.5, 0)
    expect(Array.from(g)).toEqual([1, 0.5, 0]);
  });

  it('bias direction: the first principal component of the centred pairs (unit, oriented like the mean)', () => {
    // Differences (2, 0, 0) and (0, 1, 0): C = ½(diag(4, 0, 0) + diag(0, 1, 0)), top eigenvector e₁.
    const g = biasDirection([[[2, 0, 0], [0, 0, 0]], [[0, 1, 5], [0, 0, 5]]], 'pca');
    expect(g[0]).toBeCloseTo(1, 10);
    expect(g[1]).toBeCloseTo(0, 10);
    expect(g[2]).toBeCloseTo(0, 10);
    // the same pairs swapped flip the mean, so the component flips too
    const flipped = biasDirection([[[0, 0, 0], [2, 0, 0]], [[0, 0, 5], [0, 1, 5]]], 'pca');
    expect(flipped[0]).toBeCloseTo(-1, 10);
    // (3, 4, 0)/5 is the only direction of pairs that all differ along it
    const single = biasDirection([[[3, 4, 1], [0, 0, 1]], [[1.5, 2, 0], [0, 0, 0]]], 'pca');
    expect(Array.from(single).map((v) => Number(v.toFixed(12)))).toEqual([0.6, 0.8, 0]);
  });

  it('neutralize removes the projection on g (hand example, and the renormalised variant)', () => {
    expect(Array.from(neutralize([1, 2, 3], [2, 0, 0]))).toEqual([0, 2, 3]);
    const g = [0.3, -1.2, 0.5];
    const e = [0.8, 0.4, -2.0];
    const out = neutralize(e, g);
    expect(Math.abs(biasProjection(out, g))).toBeLessThan(1e-6);
    // only the component along g changed: e − out is parallel to g
    const diff = e.map((v, i) => v - out[i]);
    expect(Math.abs(dot(diff, g)) / (norm(diff) * norm(g))).toBeCloseTo(1, 12);
    const unit = neutralize(e, g, { renormalize: true });
    expect(norm(unit)).toBeCloseTo(1, 12);
    expect(Math.abs(dot(unit, g))).toBeLessThan(1e-6);
  });

  it('equalize: hand-built 3-D example with the paper\'s formula', () => {
    // g = x axis; e1 = (0.6, 0.8, 0), e2 = (−0.8, 0.6, 0) (unit vectors).
    // μ = (−0.1, 0.7, 0), μ_B = (−0.1, 0, 0), ν = (0, 0.7, 0), √(1 − 0.49) = √0.51.
    const [a, b] = equalize([0.6, 0.8, 0], [-0.8, 0.6, 0], [1, 0, 0]);
    expect(a[0]).toBeCloseTo(Math.sqrt(0.51), 12);
    expect(a[1]).toBeCloseTo(0.7, 12);
    expect(b[0]).toBeCloseTo(-Math.sqrt(0.51), 12);
    expect(b[1]).toBeCloseTo(0.7, 12);
    expect(a[2]).toBe(0);
    expect(norm(a)).toBeCloseTo(1, 12);
  });

  it("equalize variant 'course': the notebook's formula on raw vectors, hand-computed", () => {
    // g = (2, 0, 0) (not unit), e1 = (1, 1, 0), e2 = (−2, 0.5, 0), all raw.
    // μ = (−0.5, 0.75, 0); μ_B = (μ·g/‖g‖²) g = (−0.5, 0, 0); ν = (0, 0.75, 0); √|1 − 0.5625| = √0.4375.
    // e1B = (1, 0, 0), e1B − μ_B = (1.5, 0, 0), ‖e1 − ν − μ_B‖ = ‖(1.5, 0.25, 0)‖ = √2.3125;
    // e2B = (−2, 0, 0), e2B − μ_B = (−1.5, 0, 0), ‖e2 − ν − μ_B‖ = ‖(−1.5, −0.25, 0)‖ = √2.3125.
    const [a, b] = equalize([1, 1, 0], [-2, 0.5, 0], [2, 0, 0], { variant: 'course' });
    const x = 1.5 * Math.sqrt(0.4375 / 2.3125);
    expect([...a]).toEqual([expect.closeTo(x, 14), expect.closeTo(0.75, 14), 0]);
    expect([...b]).toEqual([expect.closeTo(-x, 14), expect.closeTo(0.75, 14), 0]);
    // The paper's variant on the same input gives unit vectors, so a different pair.
    const [pa] = equalize([1, 1, 0], [-2, 0.5, 0], [2, 0, 0]);
    expect(norm(pa)).toBeCloseTo(1, 12);
    expect(Math.abs(pa[0] - x)).toBeGreaterThan(0.1);
    expect(() => equalize([1, 0, 0], [2, 0, 0], [0, 1, 0], { variant: 'course' })).toThrow(/equalize: the two words have the same projection/);
  });

  it('after neutralize + equalize: opposite projections and equal distances to every neutral word', () => {
    const g = [1, 0.2, -0.1, 0];
    const [a, b] = equalize([0.9, 0.3, 0.2, 0.1], [-0.2, 0.7, 0.1, 0.5], g);
    expect(biasProjection(a, g)).toBeCloseTo(-biasProjection(b, g), 12);
    for (const word of [[0.3, 0.5, -0.2, 0.9], [2, -1, 0.5, 0.1], [-0.4, 0.1, 0.3, -0.7]]) {
      const w = neutralize(word, g);
      expect(distance(w, a)).toBeCloseTo(distance(w, b), 12);
      const wn = neutralize(word, g, { renormalize: true });
      expect(distance(wn, a)).toBeCloseTo(distance(wn, b), 12);
    }
    expect(() => equalize([1, 0, 0, 0], [1, 0, 0, 0], g)).toThrow(/equalize: the two words have the same projection/);
  });

  it('debiases a small vocabulary and reports the projections before and after', () => {
    const words = ['man', 'woman', 'he', 'she', 'actor', 'actress', 'doctor', 'nurse', 'king', 'queen'];
    const m = Matrix.fromArray([
      [1, 0.1, 0.3], [-1, 0.1, 0.3], [0.9, -0.2, 0.1], [-0.9, -0.2, 0.1], [0.5, 0.8, 0.2], [-0.3, 0.7, 0.4],
      [0.4, 0.2, 0.9], [-0.6, 0.3, 0.8], [0.8, 0.5, -0.5], [-0.7, 0.5, -0.4],
    ], 'float64');
    const wv = makeWordVectors(words, m);
    const result = debiasWordVectors(wv, {
      definitional: [['man', 'woman'], ['he', 'she']], equalize: [['actor', 'actress']], keep: ['king', 'queen'],
    });
    // g = mean((2, 0, 0), (1.8, 0, 0)) = (1.9, 0, 0)
    expect(Array.from(result.direction)).toEqual([1.9, 0, 0]);
    expect(result.neutralized).toBe(2); // doctor, nurse
    const after = (w: string): number[] => result.vectors.vectors.toArray()[words.indexOf(w)];
    expect(after('doctor')).toEqual([0, 0.2, 0.9]);
    expect(after('king')).toEqual([0.8, 0.5, -0.5]); // kept
    expect(after('actor')[0]).toBeCloseTo(-after('actress')[0], 12);
    const rows = Object.fromEntries(result.report.map((r) => [r.word, r]));
    expect(Object.keys(rows).sort()).toEqual(['actor', 'actress']);
    const withReport = debiasWordVectors(wv, { definitional: [['man', 'woman']], neutralize: ['doctor', 'nurse'] });
    expect(withReport.report.map((r) => [r.word, r.before, r.after])).toEqual([['doctor', 0.4, 0], ['nurse', -0.6, 0]]);
    expect(withReport.report[0].cosBefore).toBeCloseTo(0.4 / Math.hypot(0.4, 0.2, 0.9), 12);
    // the input is not modified
    expect(wv.vectors.toArray()[6]).toEqual([0.4, 0.2, 0.9]);
    expect(() => debiasWordVectors(wv, { definitional: [['man', 'girl']] })).toThrow(/'girl' is not in the vocabulary/);
  });
});
