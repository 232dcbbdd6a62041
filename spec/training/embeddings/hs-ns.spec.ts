import { describe, expect, it } from 'vitest';
import {
  buildHuffmanTree, hierarchicalSoftmaxBackward, hierarchicalSoftmaxLoss, hierarchicalSoftmaxSgdStep,
} from '../../../engine/hierarchical-softmax.js';
import { Matrix } from '../../../engine/matrix.js';
import {
  NegativeSampler, negativeSamplingBackward, negativeSamplingLoss, negativeSamplingSgdStep,
} from '../../../engine/negative-sampling.js';
import { Rng } from '../../../engine/rng.js';
import { fullSoftmaxSgdStep, skipGramSoftmaxBackward } from '../../../training/embeddings/word2vec.js';

const sigma = (x: number): number => 1 / (1 + Math.exp(-x));

function randomMatrix(rng: Rng, rows: number, cols: number, scale = 1): Matrix {
  const m = Matrix.zeros(rows, cols, 'float64');
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.uniformIn(-scale, scale);
  return m;
}

/** Huffman's cost by the textbook rule, independently: repeatedly merge the two smallest weights. */
function huffmanCost(counts: number[]): number {
  const pool = counts.slice();
  let cost = 0;
  while (pool.length > 1) {
    pool.sort((a, b) => a - b);
    const merged = pool[0] + pool[1];
    cost += merged;
    pool.splice(0, 2, merged);
  }
  return cost;
}

describe('buildHuffmanTree', () => {
  it('gives the CLRS codes for f:5 e:9 c:12 b:13 d:16 a:45 (CLRS fig. 16.5)', () => {
    // ids 0…5 = f, e, c, b, d, a
    const tree = buildHuffmanTree([5, 9, 12, 13, 16, 45]);
    expect(tree.innerNodes).toBe(5);
    const codes = [0, 1, 2, 3, 4, 5].map((w) => tree.codeString(w));
    expect(codes).toEqual(['1100', '1101', '100', '101', '111', '0']);
    // root is the last merge (V − 2); 'a' hangs right under it
    expect(Array.from(tree.path(5))).toEqual([4]);
    expect(Array.from(tree.path(0))).toEqual([4, 3, 2, 0]);
    expect(tree.maxDepth).toBe(4);
  });

  it('breaks ties as documented: equal leaves by descending id, leaf vs inner node → inner first', () => {
    // leaves queued 2, 1, 0; merge 0 = {2 (code 0), 1 (code 1)} weighs 2 = leaf 0's count → inner first
    const tree = buildHuffmanTree([2, 1, 1]);
    expect([0, 1, 2].map((w) => tree.codeString(w))).toEqual(['1', '01', '00']);
    const equal = buildHuffmanTree([1, 1, 1, 1]);
    expect([0, 1, 2, 3].map((w) => equal.codeString(w))).toEqual(['11', '10', '01', '00']);
  });

  it('satisfies Kraft equality, is prefix-free, optimal, and puts frequent words no deeper', () => {
    const rng = new Rng(5);
    for (const V of [2, 3, 17, 200]) {
      const counts = Array.from({ length: V }, () => 1 + rng.int(rng.uniform() < 0.5 ? 5 : 1000)); // with ties
      const tree = buildHuffmanTree(counts);
      let kraft = 0, weightedDepth = 0;
      for (let w = 0; w < V; w++) {
        kraft += 2 ** -tree.depth(w);
        weightedDepth += counts[w] * tree.depth(w);
      }
      expect(kraft).toBeCloseTo(1, 12);
      expect(weightedDepth).toBe(huffmanCost(counts));
      const codes = counts.map((_, w) => tree.codeString(w));
      for (let a = 0; a < V; a++) {
        for (let b = 0; b < V; b++) if (a !== b) expect(codes[b].startsWith(codes[a])).toBe(false);
      }
      for (let a = 0; a < V; a++) {
        for (let b = 0; b < V; b++) if (counts[a] > counts[b]) expect(tree.depth(a)).toBeLessThanOrEqual(tree.depth(b));
      }
      // every inner node is used, and the root (V − 2) starts every path
      const used = new Set<number>();
      for (let w = 0; w < V; w++) {
        tree.path(w).forEach((n) => used.add(n));
        expect(tree.path(w)[0]).toBe(V - 2);
      }
      expect(used.size).toBe(V - 1);
    }
  });

  it('handles one word (empty path) and rejects bad counts', () => {
    const one = buildHuffmanTree([7]);
    expect(one.innerNodes).toBe(0);
    expect(one.depth(0)).toBe(0);
    expect(() => buildHuffmanTree([])).toThrow(/buildHuffmanTree/);
    expect(() => buildHuffmanTree([3, -1])).toThrow(/buildHuffmanTree: expected non-negative finite counts, got -1 at word 1/);
    expect(() => one.path(1)).toThrow(/HuffmanTree.path: expected a word id in \[0, 1\), got 1/);
  });
});

describe('hierarchical softmax', () => {
  it('is a distribution: Σ_w p(w|h) = 1', () => {
    const rng = new Rng(2);
    const counts = [30, 2, 9, 9, 14, 1, 5, 60, 3];
    const tree = buildHuffmanTree(counts);
    const h = randomMatrix(rng, 1, 6, 2);
    const theta = randomMatrix(rng, tree.innerNodes, 6);
    let total = 0;
    for (let w = 0; w < counts.length; w++) total += Math.exp(-hierarchicalSoftmaxLoss(tree, h, theta, [w]));
    expect(total).toBeCloseTo(1, 12);
  });

  it('matches a hand computation: p = Π σ(±θᵀh) along the path', () => {
    // counts [2, 1, 1]: word 0 = code "1" at the root (node 1), word 2 = "00" via nodes 1, 0
    const tree = buildHuffmanTree([2, 1, 1]);
    const h = Matrix.fromArray([[0.5, -1]], 'float64');
    const theta = Matrix.fromArray([[2, 1], [-1, 0.25]], 'float64'); // θ_0·h = 0, θ_1·h = −0.75
    expect(hierarchicalSoftmaxLoss(tree, h, theta, [0])).toBeCloseTo(-Math.log(sigma(0.75)), 14);
    expect(hierarchicalSoftmaxLoss(tree, h, theta, [2])).toBeCloseTo(-Math.log(sigma(-0.75) * sigma(0)), 14);
  });

  it('stays finite at scores of ±1000', () => {
    const tree = buildHuffmanTree([2, 1, 1]);
    const h = Matrix.fromArray([[1000, 0]], 'float64');
    const theta = Matrix.fromArray([[1, 0], [1, 0]], 'float64'); // both scores 1000
    // word 0 takes σ(−1000) at the root: loss 1000; word 2 takes σ(+1000) twice: loss ≈ 0
    expect(hierarchicalSoftmaxLoss(tree, h, theta, [0])).toBeCloseTo(1000, 9);
    expect(hierarchicalSoftmaxLoss(tree, h, theta, [2])).toBeLessThan(1e-300);
    const dh = Matrix.zeros(1, 2, 'float64');
    const dTheta = Matrix.zeros(2, 2, 'float64');
    hierarchicalSoftmaxBackward(dh, dTheta, tree, h, theta, [0]);
    expect(dh.toArray()).toEqual([[1, 0]]); // ∂L/∂x = −s·σ(−s·x) = σ(1000) = 1 with s = −1
    expect(dTheta.get(1, 0)).toBe(1000);
    const neg = Matrix.fromArray([[-1000, 0]], 'float64');
    expect(hierarchicalSoftmaxLoss(tree, neg, theta, [2])).toBeCloseTo(2000, 9);
  });

  it('rejects mismatched shapes and bad targets by name', () => {
    const tree = buildHuffmanTree([2, 1, 1]);
    const h = Matrix.zeros(2, 3, 'float64');
    expect(() => hierarchicalSoftmaxLoss(tree, h, Matrix.zeros(3, 3, 'float64'), [0, 1])).toThrow(
      /hierarchicalSoftmaxLoss: expected theta \[V − 1, d\] = \[2, 3\]/,
    );
    expect(() => hierarchicalSoftmaxLoss(tree, h, Matrix.zeros(2, 3, 'float64'), [0, 3])).toThrow(/target word ids in \[0, 3\), got 3/);
    expect(() => hierarchicalSoftmaxLoss(tree, h, Matrix.zeros(2, 3, 'float64'), [0])).toThrow(/one target per row/);
  });
});

describe('negative sampling', () => {
  it('matches log σ(θ_tᵀh) + Σ_k log σ(−θ_kᵀh) (negated), skipping a negative equal to the target', () => {
    const rng = new Rng(3);
    const h = randomMatrix(rng, 2, 4);
    const theta = randomMatrix(rng, 6, 4);
    const dot = (b: number, r: number): number => {
      let s = 0;
      for (let c = 0; c < 4; c++) s += h.get(b, c) * theta.get(r, c);
      return s;
    };
    const expected =
      -(Math.log(sigma(dot(0, 1))) + Math.log(sigma(-dot(0, 3))) + Math.log(sigma(-dot(0, 5)))) -
      (Math.log(sigma(dot(1, 2))) + Math.log(sigma(-dot(1, 0)))); // row 1's draw of 2 is skipped
    expect(negativeSamplingLoss(h, theta, [1, 2], [3, 5, 2, 0], 2)).toBeCloseTo(expected, 13);
  });

  it('stays finite at scores of ±1000', () => {
    const h = Matrix.fromArray([[1000]], 'float64');
    const theta = Matrix.fromArray([[1], [-1]], 'float64');
    // target 0 scores +1000 (loss ≈ 0), negative 1 scores −1000 (loss ≈ 0)
    expect(negativeSamplingLoss(h, theta, [0], [1], 1)).toBeLessThan(1e-300);
    // target 1 scores −1000 (loss 1000), negative 0 scores +1000 (loss 1000)
    expect(negativeSamplingLoss(h, theta, [1], [0], 1)).toBeCloseTo(2000, 9);
    const dh = Matrix.zeros(1, 1, 'float64');
    const dTheta = Matrix.zeros(2, 1, 'float64');
    negativeSamplingBackward(dh, dTheta, h, theta, [1], [0], 1);
    expect(Number.isFinite(dh.get(0, 0)) && Number.isFinite(dTheta.get(0, 0))).toBe(true);
    expect(dh.get(0, 0)).toBeCloseTo(-1 * -1 + 1 * 1, 12); // (σ(−1000) − 1)·θ_1 + σ(1000)·θ_0 = 2
  });

  it('rejects bad negatives and shapes by name', () => {
    const h = Matrix.zeros(2, 3, 'float64');
    const theta = Matrix.zeros(5, 3, 'float64');
    expect(() => negativeSamplingLoss(h, theta, [0, 1], [1, 2, 3], 2)).toThrow(/negativeSamplingLoss: expected B·k = 2·2 = 4 negatives, got 3/);
    expect(() => negativeSamplingLoss(h, theta, [0, 1], [1, 2, 3, 5], 2)).toThrow(/negative ids in \[0, 5\)/);
    expect(() => negativeSamplingLoss(h, Matrix.zeros(5, 2, 'float64'), [0, 1], [], 0)).toThrow(/theta \[V, 3\]/);
  });
});

describe('NegativeSampler', () => {
  it('draws with frequencies ∝ count^0.75 (within 5 standard errors) and never a zero-count word', () => {
    const counts = [1, 10, 100, 1000, 0, 50, 3];
    const sampler = new NegativeSampler(counts);
    const total = counts.reduce((s, c) => s + c ** 0.75, 0);
    const rng = new Rng(11);
    const N = 200_000;
    const hits = new Float64Array(counts.length);
    for (let i = 0; i < N; i++) hits[sampler.sample(rng)]++;
    counts.forEach((c, w) => {
      const p = c ** 0.75 / total;
      expect(sampler.probabilities[w]).toBeCloseTo(p, 14);
      const se = Math.sqrt((p * (1 - p)) / N);
      expect(Math.abs(hits[w] / N - p)).toBeLessThanOrEqual(5 * se + 1e-12);
    });
    expect(hits[4]).toBe(0);
  });

  it('fills ranges from the passed Rng reproducibly and rejects bad counts', () => {
    const sampler = new NegativeSampler([5, 1, 2]);
    const a = sampler.fill(new Int32Array(20), new Rng(4));
    const b = sampler.fill(new Int32Array(20), new Rng(4));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(() => new NegativeSampler([0, 0])).toThrow(/NegativeSampler: expected at least one positive count/);
    expect(() => new NegativeSampler([1, NaN])).toThrow(/non-negative finite counts, got NaN at word 1/);
    expect(() => sampler.fill(new Int32Array(3), new Rng(1), 2, 5)).toThrow(/NegativeSampler.fill/);
  });
});

describe('fused SGD kernels equal −lr × the batch backward', () => {
  const lr = 0.3, d = 5;
  function check(step: (neu1e: Float64Array, theta: Float64Array, h: Float64Array) => void,
    backward: (dh: Matrix, dTheta: Matrix, h: Matrix, theta: Matrix) => void, thetaRows: number): void {
    const rng = new Rng(9);
    const h = randomMatrix(rng, 1, d);
    const theta = randomMatrix(rng, thetaRows, d);
    const dh = Matrix.zeros(1, d, 'float64');
    const dTheta = Matrix.zeros(thetaRows, d, 'float64');
    backward(dh, dTheta, h, theta);
    const neu1e = new Float64Array(d);
    const thetaAfter = theta.clone();
    step(neu1e, thetaAfter.data as Float64Array, h.data as Float64Array);
    for (let c = 0; c < d; c++) expect(neu1e[c]).toBeCloseTo(-lr * dh.get(0, c), 13);
    for (let r = 0; r < thetaRows; r++) {
      for (let c = 0; c < d; c++) expect(thetaAfter.get(r, c)).toBeCloseTo(theta.get(r, c) - lr * dTheta.get(r, c), 13);
    }
  }

  it('hierarchical softmax', () => {
    const tree = buildHuffmanTree([9, 4, 4, 1, 7, 2]);
    check(
      (n, t, h) => hierarchicalSoftmaxSgdStep(n, t, h, 0, d, tree, 3, lr),
      (dh, dT, h, t) => hierarchicalSoftmaxBackward(dh, dT, tree, h, t, [3]),
      tree.innerNodes,
    );
  });

  it('negative sampling (with a negative equal to the target, skipped)', () => {
    // no repeated negative: a repeat would see its row already updated (sequential SGD, as in word2vec.c)
    const negatives = [4, 2, 1, 0];
    check(
      (n, t, h) => negativeSamplingSgdStep(n, t, h, 0, d, 2, negatives, 0, 4, lr),
      (dh, dT, h, t) => negativeSamplingBackward(dh, dT, h, t, [2], negatives, 4),
      6,
    );
  });

  it('full softmax (against the cross-entropy + GEMM path)', () => {
    // h = row 0 of E: the skip-gram backward's dE row 0 is dh
    check(
      (n, t, h) => fullSoftmaxSgdStep(n, t, h, 0, d, 6, 4, lr, new Float64Array(6)),
      (dh, dT, h, t) => skipGramSoftmaxBackward(dh, dT, h, t, [0], [4]),
      6,
    );
  });
});
