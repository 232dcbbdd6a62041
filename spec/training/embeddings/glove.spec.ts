import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gloveCommand } from '../../../cli/commands/glove.js';
import { Matrix } from '../../../engine/matrix.js';
import { Rng } from '../../../engine/rng.js';
import { countCooccurrences, gloveLoss, gloveWeight, trainGlove, type Cooccurrences } from '../../../training/embeddings/glove.js';
import { readVectors } from '../../../training/io/vectors.js';
import { groupSeparation, syntheticSentences } from './synthetic.js';
import { NumericalError } from '../../../training/core/errors.js';
import { runningWorkerThreads } from '../../../training/parallel/pool.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seqgrad-glove-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function asMap(X: Cooccurrences): Map<string, number> {
  const m = new Map<string, number>();
  for (let k = 0; k < X.size; k++) m.set(`${X.rows[k]},${X.cols[k]}`, X.values[k]);
  return m;
}

describe('countCooccurrences', () => {
  it('adds 1/d to X_ij and X_ji for pairs at distance d ≤ window (hand example)', () => {
    // doc 0 1 2 0, window 2: (1,0) d=1; (2,1) d=1, (2,0) d=2; (0,2) d=1, (0,1) d=2
    const X = asMap(countCooccurrences([[0, 1, 2, 0]], 3, 2));
    expect(Object.fromEntries(X)).toEqual({ '0,1': 1.5, '1,0': 1.5, '1,2': 1, '2,1': 1, '0,2': 1.5, '2,0': 1.5 });
    // window 3 adds the two 0s at distance 3 to X_00, from both directions
    expect(asMap(countCooccurrences([[0, 1, 2, 0]], 3, 3)).get('0,0')).toBeCloseTo(2 / 3, 15);
    // documents are separate windows
    expect(countCooccurrences([[0], [1]], 2, 5).size).toBe(0);
  });

  it('agrees with a plain Map count on a larger corpus (the hash table grows past its first size)', () => {
    const rng = new Rng(8);
    const V = 700;
    const docs = [Array.from({ length: 15000 }, () => rng.int(V)), Array.from({ length: 300 }, () => rng.int(V))];
    const X = countCooccurrences(docs, V, 4);
    const expected = new Map<string, number>();
    for (const doc of docs) {
      for (let p = 0; p < doc.length; p++) {
        for (let d = 1; d <= 4 && p - d >= 0; d++) {
          for (const key of [`${doc[p]},${doc[p - d]}`, `${doc[p - d]},${doc[p]}`]) expected.set(key, (expected.get(key) ?? 0) + 1 / d);
        }
      }
    }
    expect(X.size).toBe(expected.size);
    expect(X.size).toBeGreaterThan(1 << 16);
    const got = asMap(X);
    let worst = 0;
    for (const [key, value] of expected) worst = Math.max(worst, Math.abs((got.get(key) ?? Infinity) - value));
    expect(worst).toBeLessThan(1e-9);
  });

  it('rejects ids outside the vocabulary', () => {
    expect(() => countCooccurrences([[0, 5]], 3, 2)).toThrow(/countCooccurrences: expected word ids in \[0, 3\), got 5 at position 1/);
  });
});

describe('GloVe objective', () => {
  it('f(x) = (x/x_max)^α below x_max, 1 above', () => {
    expect(gloveWeight(50)).toBeCloseTo(0.5 ** 0.75, 15);
    expect(gloveWeight(100)).toBe(1);
    expect(gloveWeight(1e6)).toBe(1);
    expect(gloveWeight(1, 10, 0.5)).toBeCloseTo(Math.sqrt(0.1), 15);
  });

  it('J = Σ f(X_ij)(θ_iᵀe_j + b_i + b′_j − log X_ij)² (hand example)', () => {
    const X: Cooccurrences = { vocabSize: 2, rows: Int32Array.from([0, 1]), cols: Int32Array.from([1, 0]), values: Float64Array.from([200, 25]), size: 2 };
    const p = {
      theta: Matrix.fromArray([[1, 2], [0.5, -1]], 'float64'),
      e: Matrix.fromArray([[3, 0], [1, 1]], 'float64'),
      b: Matrix.fromArray([[0.1], [0.2]], 'float64'),
      bPrime: Matrix.fromArray([[-0.3], [0.4]], 'float64'),
    };
    const r01 = 1 * 1 + 2 * 1 + 0.1 + 0.4 - Math.log(200); // f = 1 (200 > 100)
    const r10 = 0.5 * 3 + -1 * 0 + 0.2 - 0.3 - Math.log(25); // f = 0.25^0.75
    expect(gloveLoss(p, X)).toBeCloseTo(r01 ** 2 + 0.25 ** 0.75 * r10 ** 2, 12);
  });
});

describe('trainGlove', () => {
  const docs = syntheticSentences(4, 500);

  it('lowers the cost and separates words that share contexts', () => {
    const r = trainGlove(docs, { dim: 5, window: 3, minCount: 1, epochs: 100, xMax: 10, seed: 4 });
    expect(r.epochCosts[r.epochCosts.length - 1]).toBeLessThan(0.2 * r.epochCosts[0]);
    const { gap, nearestInGroup } = groupSeparation(r.words, r.vectors);
    expect(nearestInGroup).toBe(8);
    expect(gap).toBeGreaterThan(0.3);
  });

  it('final vectors are (e + θ)/2, or e + θ with combine "sum"; same seed, same bits', () => {
    const a = trainGlove(docs, { dim: 4, window: 3, minCount: 1, epochs: 3, seed: 9 });
    const b = trainGlove(docs, { dim: 4, window: 3, minCount: 1, epochs: 3, seed: 9, combine: 'sum' });
    const { theta, e } = a.params;
    for (let i = 0; i < a.vectors.rows; i++) {
      for (let c = 0; c < 4; c++) {
        expect(a.vectors.get(i, c)).toBeCloseTo((theta.get(i, c) + e.get(i, c)) / 2, 6);
        expect(b.vectors.get(i, c)).toBeCloseTo(2 * a.vectors.get(i, c), 6);
      }
    }
    expect(Buffer.from(b.params.theta.data.buffer).equals(Buffer.from(theta.data.buffer))).toBe(true);
    const c = trainGlove(docs, { dim: 4, window: 3, minCount: 1, epochs: 3, seed: 10 });
    expect(Buffer.from(c.params.theta.data.buffer).equals(Buffer.from(theta.data.buffer))).toBe(false);
  });

  it('Hogwild threads (2 and 3): the cost falls as with one thread, the groups separate, no worker thread is left', () => {
    const one = trainGlove(docs, { dim: 5, window: 3, minCount: 1, epochs: 40, xMax: 10, seed: 4 });
    for (const threads of [2, 3]) {
      const r = trainGlove(docs, { dim: 5, window: 3, minCount: 1, epochs: 40, xMax: 10, seed: 4, threads });
      expect(r.epochCosts[0]).toBeCloseTo(one.epochCosts[0], 1); // same init and order: the first epoch costs about the same
      expect(r.epochCosts.at(-1)!).toBeLessThan(1.5 * one.epochCosts.at(-1)!);
      expect(r.epochCosts.at(-1)!).toBeLessThan(0.2 * r.epochCosts[0]);
      expect(groupSeparation(r.words, r.vectors).nearestInGroup).toBe(8);
    }
    expect(runningWorkerThreads()).toBe(0);
    expect(() => trainGlove(docs, { threads: 0 })).toThrow(/^trainGlove: expected threads to be an integer ≥ 1, got 0$/);
  });

  it('rejects bad options by name', () => {
    expect(() => trainGlove(docs, { eta: 0 })).toThrow(/trainGlove: expected eta to be a positive number, got 0/);
    expect(() => trainGlove(docs, { combine: 'max' as 'sum' })).toThrow(/expected combine 'average' or 'sum'/);
  });
});

describe('seqgrad glove', () => {
  it('writes the GloVe text format (no header)', () => {
    const corpus = path.join(tmp, 'c.txt');
    fs.writeFileSync(corpus, syntheticSentences(5, 200).map((s) => s.join(' ')).join('\n'));
    const out = path.join(tmp, 'g.txt');
    const log = console.log;
    console.log = () => {};
    const err = console.error;
    console.error = () => {};
    try {
      expect(gloveCommand.run(['--corpus', corpus, '--embedding', '3', '--min-count', '1', '--epochs', '2', '--out', out])).toBe(0);
    } finally {
      console.log = log;
      console.error = err;
    }
    const first = fs.readFileSync(out, 'utf8').split('\n')[0].split(' ');
    expect(first.length).toBe(4); // word + 3 values: no 'V d' header
    const wv = readVectors(out);
    expect(wv.format).toBe('glove');
    expect(wv.words.length).toBe(22);
  });
});

describe('GloVe divergence', () => {
  it('stops with a NumericalError when the cost climbs far above its start (eta 1e9), and trains normally at the default eta', () => {
    const corpus = syntheticSentences(3, 200);
    let error: unknown = null;
    try {
      trainGlove(corpus, { dim: 8, window: 3, minCount: 1, epochs: 2, eta: 1e9, seed: 1 });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(NumericalError);
    expect((error as Error).message).toMatch(/^trainGlove: the (loss rose from [\d.]+ to [\d.e+]+|loss is (NaN|Infinity)) at epoch 1: training diverged \(lower --eta; no vectors were written\)$/);
    expect(() => trainGlove(corpus, { dim: 8, window: 3, minCount: 1, epochs: 2, seed: 1 })).not.toThrow();
  });
});
