import { describe, expect, it } from 'vitest';
import { Matrix, Rng } from '../../../engine/index.js';
import { conditionalProbabilities, jointProbabilities, squaredDistances, tsne } from '../../../training/embeddings/tsne.js';

function gaussianClusters(rng: Rng, perCluster: number, dims: number, separation: number): Matrix {
  const x = Matrix.zeros(2 * perCluster, dims, 'float64');
  for (let i = 0; i < 2 * perCluster; i++) {
    const centre = i < perCluster ? 0 : separation;
    for (let c = 0; c < dims; c++) x.set(i, c, (c === 0 ? centre : 0) + rng.normal());
  }
  return x;
}

function dist(y: Matrix, i: number, j: number): number {
  return Math.hypot(y.get(i, 0) - y.get(j, 0), y.get(i, 1) - y.get(j, 1));
}

describe('t-SNE', () => {
  it('squared distances match the definition', () => {
    const x = Matrix.fromArray([[0, 0, 0], [1, 2, 2], [3, 0, 4]], 'float64');
    const d = squaredDistances(Matrix.zeros(3, 3, 'float64'), x);
    // (1,2,2)−(0,0,0): 1+4+4 = 9; (3,0,4): 9+16 = 25; (1,2,2)−(3,0,4) = (−2,2,−2): 12
    expect(d.toArray()).toEqual([[0, 9, 25], [9, 0, 12], [25, 12, 0]]);
  });

  it('calibrates every row to the requested perplexity 2^H = e^H(nats)', () => {
    const rng = new Rng(2);
    const x = gaussianClusters(rng, 15, 6, 4);
    const n = x.rows;
    const cond = Matrix.zeros(n, n, 'float64');
    conditionalProbabilities(cond, squaredDistances(Matrix.zeros(n, n, 'float64'), x), 7);
    for (let i = 0; i < n; i++) {
      let sum = 0, entropy = 0;
      for (let j = 0; j < n; j++) {
        const p = cond.get(i, j);
        sum += p;
        if (p > 0) entropy -= p * Math.log(p);
      }
      expect(cond.get(i, i)).toBe(0);
      expect(sum).toBeCloseTo(1, 12);
      expect(Math.exp(entropy)).toBeCloseTo(7, 3);
    }
  });

  it('builds a symmetric joint P that sums to 1', () => {
    const p = jointProbabilities(gaussianClusters(new Rng(3), 10, 4, 3), 5);
    let total = 0;
    for (let i = 0; i < p.rows; i++) {
      for (let j = 0; j < p.cols; j++) {
        total += p.get(i, j);
        expect(p.get(i, j)).toBeCloseTo(p.get(j, i), 15);
      }
    }
    expect(total).toBeCloseTo(1, 12);
  });

  it('keeps two well-separated Gaussian clusters in 10-D apart in 2-D', () => {
    const rng = new Rng(4);
    const per = 30;
    const x = gaussianClusters(rng, per, 10, 20);
    const kls: number[] = [];
    const y = tsne(x, new Rng(1), { perplexity: 10, iterations: 500, onProgress: (_, kl) => kls.push(kl) });
    expect(y.rows).toBe(2 * per);
    expect(y.cols).toBe(2);
    // Every point's nearest neighbour in 2-D is in its own cluster, and the closest pair across
    // clusters is farther apart than the mean distance within a cluster.
    let crossMin = Infinity, withinSum = 0, withinCount = 0;
    for (let i = 0; i < 2 * per; i++) {
      let nearest = -1, nearestD = Infinity;
      for (let j = 0; j < 2 * per; j++) {
        if (i === j) continue;
        const d = dist(y, i, j);
        if (d < nearestD) [nearest, nearestD] = [j, d];
        const same = (i < per) === (j < per);
        if (same) {
          withinSum += d;
          withinCount++;
        } else crossMin = Math.min(crossMin, d);
      }
      expect((nearest < per) === (i < per)).toBe(true);
    }
    expect(crossMin).toBeGreaterThan(withinSum / withinCount);
    // The KL divergence went down after the early-exaggeration phase.
    expect(kls[kls.length - 1]).toBeLessThan(kls[0]);
  });

  it('is reproducible from the seed and refuses a perplexity ≥ n', () => {
    const x = gaussianClusters(new Rng(5), 6, 3, 5);
    const a = tsne(x, new Rng(9), { perplexity: 3, iterations: 60 });
    const b = tsne(x, new Rng(9), { perplexity: 3, iterations: 60 });
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    const c = tsne(x, new Rng(10), { perplexity: 3, iterations: 60 });
    expect(Array.from(c.data)).not.toEqual(Array.from(a.data));
    expect(() => tsne(x, new Rng(1), { perplexity: 12 })).toThrow(/tsne: expected a perplexity in \(0, n\) = \(0, 12\), got 12/);
  });
});
