import { describe, expect, it } from 'vitest';
import {
  Matrix, Rng, activate, activateBackward, binaryCrossEntropyWithLogits, binaryCrossEntropyWithLogitsBackward,
  crossEntropy, crossEntropyBackward, crossEntropyForwardBackward, firstNonFinite, logSoftmax, logSoftmaxBackward,
  logSoftmaxRow, softmax, softmaxBackward, softmaxWithTemperature, softmaxWithTemperatureBackward, type Activation, type DType,
} from '../../engine/index.js';

const dtypes: DType[] = ['float32', 'float64'];
const LOG3 = Math.log(3);

function expectClose(m: Matrix, expected: number[][], tol: number): void {
  expect(m.rows).toBe(expected.length);
  for (let r = 0; r < m.rows; r++) {
    expect(m.cols).toBe(expected[r].length);
    for (let c = 0; c < m.cols; c++) {
      expect(Math.abs(m.get(r, c) - expected[r][c]), `entry [${r}, ${c}]: ${m.get(r, c)} vs ${expected[r][c]}`).toBeLessThanOrEqual(tol);
    }
  }
}

const tolOf = (dtype: DType): number => (dtype === 'float32' ? 2e-6 : 1e-14);

describe('softmax, log-softmax and softmax with temperature: values', () => {
  for (const dtype of dtypes) {
    const tol = tolOf(dtype);
    it(`${dtype}: softmax of hand-computed rows`, () => {
      const x = Matrix.fromArray([[0, LOG3], [1, 2, 3].slice(0, 2)], dtype);
      // row 0: e^0 : e^log3 = 1 : 3; row 1: 1 : e
      const e = Math.E;
      expectClose(softmax(Matrix.zeros(2, 2, dtype), x), [[0.25, 0.75], [1 / (1 + e), e / (1 + e)]], tol);
      const x3 = Matrix.fromArray([[1, 2, 3]], dtype);
      // the classic example: softmax([1, 2, 3]) = [0.0900306, 0.2447285, 0.6652410]
      expectClose(softmax(Matrix.zeros(1, 3, dtype), x3), [[0.09003057317038046, 0.24472847105479764, 0.6652409557748219]], tol);
    });

    it(`${dtype}: log-softmax of hand-computed rows`, () => {
      const x = Matrix.fromArray([[0, LOG3], [1, 1]], dtype);
      expectClose(logSoftmax(Matrix.zeros(2, 2, dtype), x), [[Math.log(0.25), Math.log(0.75)], [-Math.LN2, -Math.LN2]], tol);
      // log(e + e² + e³) = 3.40760596444438
      const x3 = Matrix.fromArray([[1, 2, 3]], dtype);
      expectClose(logSoftmax(Matrix.zeros(1, 3, dtype), x3), [[1 - 3.40760596444438, 2 - 3.40760596444438, 3 - 3.40760596444438]], 4 * tol);
    });

    it(`${dtype}: softmax with temperature: x/T by hand`, () => {
      const x = Matrix.fromArray([[0, LOG3]], dtype);
      // T = 0.5: softmax([0, 2 log 3]) = [1/10, 9/10]; T = 2: softmax([0, log √3]) = [1, √3]/(1 + √3)
      expectClose(softmaxWithTemperature(Matrix.zeros(1, 2, dtype), x, 0.5), [[0.1, 0.9]], tol);
      const s3 = Math.sqrt(3);
      expectClose(softmaxWithTemperature(Matrix.zeros(1, 2, dtype), x, 2), [[1 / (1 + s3), s3 / (1 + s3)]], tol);
      // T = 1 is plain softmax
      expectClose(softmaxWithTemperature(Matrix.zeros(1, 2, dtype), x, 1), [[0.25, 0.75]], tol);
    });

    it(`${dtype}: every row of softmax sums to 1 and exp(logSoftmax) = softmax (random logits up to ±50)`, () => {
      const rng = new Rng(3);
      const x = Matrix.zeros(20, 33, dtype);
      for (let i = 0; i < x.data.length; i++) x.data[i] = rng.uniformIn(-50, 50);
      const p = softmax(Matrix.zeros(20, 33, dtype), x);
      const lp = logSoftmax(Matrix.zeros(20, 33, dtype), x);
      for (let r = 0; r < 20; r++) {
        let sum = 0;
        for (let c = 0; c < 33; c++) {
          sum += p.get(r, c);
          expect(p.get(r, c)).toBeGreaterThanOrEqual(0);
          expect(Math.abs(Math.exp(lp.get(r, c)) - p.get(r, c))).toBeLessThan(dtype === 'float32' ? 1e-5 : 1e-12);
        }
        expect(Math.abs(sum - 1)).toBeLessThan(dtype === 'float32' ? 1e-5 : 1e-12);
      }
    });

    it(`${dtype}: out may alias x, and strided column views work`, () => {
      const big = Matrix.fromArray([[9, 0, LOG3, 9], [9, 1, 1, 9]], dtype);
      const view = big.colView(1, 2);
      softmax(view, view);
      expectClose(big, [[9, 0.25, 0.75, 9], [9, 0.5, 0.5, 9]], tol);
      const big2 = Matrix.fromArray([[7, 0, LOG3], [7, 1, 1]], dtype);
      logSoftmax(big2.colView(1, 2), big2.colView(1, 2));
      expectClose(big2, [[7, Math.log(0.25), Math.log(0.75)], [7, -Math.LN2, -Math.LN2]], tol);
    });
  }
});

describe('logSoftmaxRow: one row on raw buffers', () => {
  it('float32 logits at an offset into a float64 row; a plain array; in place', () => {
    const logits = new Float32Array([9, 0, Math.log(3), 9]);
    const out = new Float64Array(3).fill(NaN);
    logSoftmaxRow(out, 1, logits, 1, 2);
    expect(out[0]).toBeNaN(); // only [o, o + cols) is written
    expect(out[1]).toBeCloseTo(Math.log(0.25), 7); // log 3 rounded to float32: 1e−7
    expect(out[2]).toBeCloseTo(Math.log(0.75), 7);
    const plain = new Float64Array(2);
    logSoftmaxRow(plain, 0, [1000, 1000 + LOG3], 0, 2);
    expect(plain[0]).toBeCloseTo(Math.log(0.25), 12); // no overflow at 1000
    expect(plain[1]).toBeCloseTo(Math.log(0.75), 12);
    const scores = new Float64Array([2, 2, 2, 2]);
    logSoftmaxRow(scores, 0, scores, 0, 4);
    expect(Array.from(scores)).toEqual([-Math.log(4), -Math.log(4), -Math.log(4), -Math.log(4)]);
  });

  it('an entry of −∞ gets log P = −∞ and takes no mass', () => {
    const out = new Float64Array(3);
    logSoftmaxRow(out, 0, [-Infinity, 0, LOG3], 0, 3);
    expect(out[0]).toBe(-Infinity);
    expect(out[1]).toBeCloseTo(Math.log(0.25), 14);
    expect(out[2]).toBeCloseTo(Math.log(0.75), 14);
  });

  it('is the row form of logSoftmax: the same bits, row by row of a strided view', () => {
    const rng = new Rng(4);
    const big = Matrix.zeros(5, 9, 'float64');
    for (let i = 0; i < big.data.length; i++) big.data[i] = 20 * rng.normal();
    const x = big.rowView(1, 3).colView(2, 6);
    const whole = logSoftmax(Matrix.zeros(3, 6, 'float64'), x);
    for (let r = 0; r < 3; r++) {
      const row = new Float64Array(6);
      logSoftmaxRow(row, 0, x.data, x.offset + r * x.stride, 6);
      expect(Array.from(row)).toEqual(whole.toArray()[r]);
    }
  });
});

describe('softmax family: extreme logits stay finite', () => {
  for (const dtype of dtypes) {
    for (const big of [1000, 1e4, 1e30]) {
      it(`${dtype}: logits of ±${big}`, () => {
        const x = Matrix.fromArray([[big, -big, 0], [big, big, -big], [-big, -big, -big]], dtype);
        const p = softmax(Matrix.zeros(3, 3, dtype), x);
        expect(firstNonFinite(p)).toBeNull();
        expectClose(p, [[1, 0, 0], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3]], 1e-6);
        const lp = logSoftmax(Matrix.zeros(3, 3, dtype), x);
        expect(firstNonFinite(lp)).toBeNull();
        // log-probabilities stay exact: [0, −2·big, −big], [−log 2, −log 2, −2·big − log 2]
        expect(lp.get(0, 0)).toBe(0);
        expect(lp.get(0, 1) / (-2 * big)).toBeCloseTo(1, 6);
        expect(lp.get(1, 0)).toBeCloseTo(-Math.LN2, 6);
        for (const T of [1e-3, 0.5, 7]) expect(firstNonFinite(softmaxWithTemperature(Matrix.zeros(3, 3, dtype), x, T))).toBeNull();
        // backward through saturated outputs is finite too
        const dy = Matrix.fromArray([[1, -2, 3], [0.5, 0.5, 0.5], [1, 0, 0]], dtype);
        expect(firstNonFinite(softmaxBackward(Matrix.zeros(3, 3, dtype), dy, p))).toBeNull();
        expect(firstNonFinite(logSoftmaxBackward(Matrix.zeros(3, 3, dtype), dy, lp))).toBeNull();
      });
    }
  }

  for (const kind of ['sigmoid', 'tanh', 'relu'] as Activation[]) {
    it(`activation ${kind} and its backward are finite at ±1e4 (float32 and float64)`, () => {
      for (const dtype of dtypes) {
        const x = Matrix.fromArray([[1e4, -1e4, 1000, -1000]], dtype);
        const y = activate(kind, Matrix.zeros(1, 4, dtype), x);
        expect(firstNonFinite(y)).toBeNull();
        const limits: Record<string, number[]> = {
          sigmoid: [1, 0, 1, 0], tanh: [1, -1, 1, -1], relu: [1e4, 0, 1000, 0],
        };
        expectClose(y, [limits[kind]], 0);
        const dx = activateBackward(kind, Matrix.zeros(1, 4, dtype), Matrix.fromArray([[1, 1, 1, 1]], dtype), y);
        expect(firstNonFinite(dx)).toBeNull();
      }
    });
  }
});

describe('softmax with temperature: limits', () => {
  it('T → 0 gives the one-hot of the argmax (ties shared), without overflow', () => {
    const x = Matrix.fromArray([[1, 3, 2, -5], [3, 3, 1, 0]], 'float64');
    for (const T of [1e-3, 1e-8, 1e-300]) {
      const p = softmaxWithTemperature(Matrix.zeros(2, 4, 'float64'), x, T);
      expectClose(p, [[0, 1, 0, 0], [0.5, 0.5, 0, 0]], 1e-12);
    }
  });

  it('T → ∞ gives the uniform distribution', () => {
    const x = Matrix.fromArray([[1, 3, 2, -5], [1000, -1000, 0, 1]], 'float64');
    const p = softmaxWithTemperature(Matrix.zeros(2, 4, 'float64'), x, 1e15);
    expectClose(p, [[0.25, 0.25, 0.25, 0.25], [0.25, 0.25, 0.25, 0.25]], 1e-10);
    // and the entropy grows with T
    const entropy = (T: number): number => {
      const q = softmaxWithTemperature(Matrix.zeros(2, 4, 'float64'), x, T);
      let h = 0;
      for (let c = 0; c < 4; c++) if (q.get(0, c) > 0) h -= q.get(0, c) * Math.log(q.get(0, c));
      return h;
    };
    expect(entropy(0.5)).toBeLessThan(entropy(1));
    expect(entropy(1)).toBeLessThan(entropy(3));
  });

  it('rejects a temperature that is not positive and finite', () => {
    const x = Matrix.zeros(1, 3, 'float64');
    for (const T of [0, -1, NaN, Infinity]) {
      expect(() => softmaxWithTemperature(Matrix.zeros(1, 3, 'float64'), x, T)).toThrow(/softmaxWithTemperature: expected a positive finite temperature/);
    }
  });
});

describe('softmax family: backward by hand', () => {
  it('softmaxBackward: y ∗ (dy − ⟨dy, y⟩), written or accumulated, dx may alias dy', () => {
    const y = Matrix.fromArray([[0.25, 0.75]], 'float64');
    const dy = Matrix.fromArray([[1, 0]], 'float64');
    // ⟨dy, y⟩ = 0.25 → [0.25·0.75, 0.75·(−0.25)]
    expectClose(softmaxBackward(Matrix.zeros(1, 2, 'float64'), dy, y), [[0.1875, -0.1875]], 1e-15);
    const acc = Matrix.fromArray([[1, 1]], 'float64');
    expectClose(softmaxBackward(acc, dy, y, true), [[1.1875, 0.8125]], 1e-15);
    softmaxBackward(dy, dy, y);
    expectClose(dy, [[0.1875, -0.1875]], 1e-15);
  });

  it('softmaxWithTemperatureBackward is softmaxBackward divided by T', () => {
    const y = Matrix.fromArray([[0.1, 0.9]], 'float64');
    const dy = Matrix.fromArray([[2, -1]], 'float64');
    // ⟨dy, y⟩ = 0.2 − 0.9 = −0.7 → y ∗ (dy + 0.7) = [0.27, −0.27]; / T = 0.5 → [0.54, −0.54]
    expectClose(softmaxWithTemperatureBackward(Matrix.zeros(1, 2, 'float64'), dy, y, 0.5), [[0.54, -0.54]], 1e-15);
  });

  it('softmaxWithTemperatureBackward accumulates ∂L/∂T (hand computation)', () => {
    // x = [0, ln 9 / 2], T = 0.5: z = x/T = [0, ln 9], y = [0.1, 0.9]; dy = [2, −1].
    // g = y ∗ (dy − ⟨dy, y⟩) = [0.27, −0.27]; ∂L/∂T = −(1/T) Σ_j g_j z_j = −2·(−0.27·ln 9) = 0.54·ln 9.
    const y = softmaxWithTemperature(Matrix.zeros(1, 2, 'float64'), Matrix.fromArray([[0, Math.log(9) / 2]], 'float64'), 0.5);
    const dy = Matrix.fromArray([[2, -1]], 'float64');
    const dT = new Float64Array([1]);
    softmaxWithTemperatureBackward(Matrix.zeros(1, 2, 'float64'), dy, y, 0.5, false, dT);
    expect(dT[0]).toBeCloseTo(1 + 0.54 * Math.log(9), 12); // accumulated onto the 1 already there
    // Two rows share one T: the contributions add (a second, uniform row gives 0: z_j all equal).
    const y2 = softmaxWithTemperature(Matrix.zeros(2, 2, 'float64'), Matrix.fromArray([[0, Math.log(9) / 2], [3, 3]], 'float64'), 0.5);
    const dT2 = new Float64Array(1);
    softmaxWithTemperatureBackward(Matrix.zeros(2, 2, 'float64'), Matrix.fromArray([[2, -1], [5, 1]], 'float64'), y2, 0.5, false, dT2);
    expect(dT2[0]).toBeCloseTo(0.54 * Math.log(9), 12);
  });

  it('logSoftmaxBackward: dy − softmax ∗ Σ dy', () => {
    const y = Matrix.fromArray([[Math.log(0.25), Math.log(0.75)]], 'float64');
    const dy = Matrix.fromArray([[1, 2]], 'float64');
    // Σ dy = 3 → [1 − 0.75, 2 − 2.25]
    expectClose(logSoftmaxBackward(Matrix.zeros(1, 2, 'float64'), dy, y), [[0.25, -0.25]], 1e-15);
    const acc = Matrix.fromArray([[10, 10]], 'float64');
    expectClose(logSoftmaxBackward(acc, dy, y, true), [[10.25, 9.75]], 1e-14);
  });

  it('shape and dtype mismatches throw errors naming the op and both shapes', () => {
    const x = Matrix.zeros(2, 4);
    expect(() => softmax(Matrix.zeros(2, 3), x)).toThrow(/softmax: .*\[2, 4\].*\[2, 3\]/);
    expect(() => logSoftmax(Matrix.zeros(3, 4), x)).toThrow(/logSoftmax: .*\[2, 4\].*\[3, 4\]/);
    expect(() => softmaxWithTemperature(Matrix.zeros(4, 2), x, 1)).toThrow(/softmaxWithTemperature: .*\[2, 4\].*\[4, 2\]/);
    expect(() => softmax(Matrix.zeros(2, 4, 'float64'), x)).toThrow(/softmax: expected matching dtypes/);
    expect(() => softmaxBackward(Matrix.zeros(2, 4), Matrix.zeros(2, 5), x)).toThrow(/softmaxBackward: .*\[2, 4\].*\[2, 5\]/);
    expect(() => logSoftmaxBackward(Matrix.zeros(1, 4), Matrix.zeros(2, 4), x)).toThrow(/logSoftmaxBackward: .*\[2, 4\].*\[1, 4\]/);
    expect(() => softmaxWithTemperatureBackward(Matrix.zeros(2, 4), Matrix.zeros(2, 4), Matrix.zeros(2, 3), 1)).toThrow(/softmaxWithTemperatureBackward: /);
  });
});

describe('cross-entropy per time step, summed over time', () => {
  // T = 2, B = 2: rows t·B + b. Hand values: softmax([0, log 3]) = [1/4, 3/4].
  const logitsRows = [[0, LOG3], [0, LOG3], [LOG3, 0], [0, 0]];
  const targets = [1, 0, 0, 1];
  const rowLoss = [-Math.log(0.75), Math.log(4), -Math.log(0.75), Math.LN2];
  const rowGrad = [[0.25, -0.25], [-0.75, 0.75], [-0.25, 0.25], [0.5, -0.5]];

  for (const dtype of dtypes) {
    const tol = tolOf(dtype);
    it(`${dtype}: no mask: L = Σ_t Σ_b −log ŷ_y, dlogits = softmax − onehot`, () => {
      const logits = Matrix.fromArray(logitsRows, dtype);
      const sum = rowLoss.reduce((a, b) => a + b, 0);
      expect(crossEntropy(logits, targets)).toBeCloseTo(sum, 6);
      expect(crossEntropy(logits, targets, { reduction: 'mean' })).toBeCloseTo(sum / 4, 6);
      expectClose(crossEntropyBackward(Matrix.zeros(4, 2, dtype), logits, targets), rowGrad, tol);
    });

    it(`${dtype}: a [T, B] mask drops padded rows; mean divides by counted tokens`, () => {
      const logits = Matrix.fromArray(logitsRows, dtype);
      const mask = Matrix.fromArray([[1, 1], [1, 0]], dtype);
      const padded = [1, 0, 0, -1]; // the padded target is never read
      const sum = rowLoss[0] + rowLoss[1] + rowLoss[2];
      expect(crossEntropy(logits, padded, { mask })).toBeCloseTo(sum, 6);
      expect(crossEntropy(logits, padded, { mask, reduction: 'mean' })).toBeCloseTo(sum / 3, 6);
      const expected = [...rowGrad.slice(0, 3), [0, 0]];
      expectClose(crossEntropyBackward(Matrix.fromArray([[5, 5], [5, 5], [5, 5], [5, 5]], dtype), logits, padded, { mask }), expected, tol);
      const mean = crossEntropyBackward(Matrix.zeros(4, 2, dtype), logits, padded, { mask, reduction: 'mean' });
      expectClose(mean, expected.map((row) => row.map((v) => v / 3)), tol);
    });

    it(`${dtype}: accumulate adds; dlogits may alias logits; forward-backward agrees`, () => {
      const logits = Matrix.fromArray(logitsRows, dtype);
      const acc = Matrix.fromArray([[1, 1], [1, 1], [1, 1], [1, 1]], dtype);
      expectClose(crossEntropyBackward(acc, logits, targets, {}, true), rowGrad.map((row) => row.map((v) => v + 1)), tol);
      const both = Matrix.zeros(4, 2, dtype);
      expect(crossEntropyForwardBackward(both, logits, targets)).toBeCloseTo(rowLoss.reduce((a, b) => a + b, 0), 6);
      expectClose(both, rowGrad, tol);
      const inPlace = Matrix.fromArray(logitsRows, dtype);
      crossEntropyBackward(inPlace, inPlace, targets);
      expectClose(inPlace, rowGrad, tol);
    });

    it(`${dtype}: logits of ±1000 and ±1e4 give finite loss and gradient`, () => {
      for (const big of [1000, 1e4]) {
        const logits = Matrix.fromArray([[big, -big], [big, -big], [-big, -big]], dtype);
        const loss = crossEntropy(logits, [1, 0, 1]);
        // −log ŷ_1 = 2·big for row 0, 0 for row 1, log 2 for row 2
        expect(loss / (2 * big + Math.LN2)).toBeCloseTo(1, 6);
        const d = crossEntropyBackward(Matrix.zeros(3, 2, dtype), logits, [1, 0, 1]);
        expectClose(d, [[1, -1], [0, 0], [0.5, -0.5]], 1e-7);
      }
    });
  }

  it('bad targets and shapes throw named errors', () => {
    const logits = Matrix.zeros(4, 3);
    expect(() => crossEntropy(logits, [0, 1, 3, 0])).toThrow(/crossEntropy: expected target class ids in \[0, 3\).*got 3 at row 2/);
    expect(() => crossEntropy(logits, [0, 1, -1, 0])).toThrow(/crossEntropy: .*got -1 at row 2/);
    expect(() => crossEntropy(logits, [0, 1.5, 1, 0])).toThrow(/crossEntropy: .*got 1.5 at row 1/);
    expect(() => crossEntropy(logits, [0, 1, 2])).toThrow(/crossEntropy: expected 4 targets \(one per row of logits \[4, 3\]\), got 3/);
    expect(() => crossEntropy(logits, [0, 1, 2, 0], { mask: Matrix.zeros(3, 2) })).toThrow(/crossEntropy: expected mask \[T, B\] with T·B = 4 .*\[4, 3\].*got \[3, 2\]/);
    expect(() => crossEntropy(logits, [0, 1, 2, 0], { mask: Matrix.fromArray([[1, -1], [1, 1]]) })).toThrow(/crossEntropy: expected mask weights ≥ 0/);
    expect(() => crossEntropy(logits, [0, 1, 2, 0], { reduction: 'avg' as 'mean' })).toThrow(/crossEntropy: expected reduction/);
    expect(() => crossEntropyBackward(Matrix.zeros(4, 2), logits, [0, 1, 2, 0])).toThrow(/crossEntropyBackward: .*\[4, 3\].*\[4, 2\]/);
    // a failed call leaves dlogits untouched
    const d = Matrix.fromArray([[7, 7, 7], [7, 7, 7], [7, 7, 7], [7, 7, 7]]);
    expect(() => crossEntropyBackward(d, logits, [0, 0, 0, 9])).toThrow(/crossEntropyBackward: .*got 9 at row 3/);
    expect(d.toArray().flat().every((v) => v === 7)).toBe(true);
  });

  it('mean over zero counted tokens is 0 with a zero gradient', () => {
    const logits = Matrix.fromArray([[1, 2], [3, 4]], 'float64');
    const mask = Matrix.zeros(1, 2, 'float64');
    expect(crossEntropy(logits, [-1, -1], { mask, reduction: 'mean' })).toBe(0);
    expectClose(crossEntropyBackward(Matrix.fromArray([[1, 1], [1, 1]], 'float64'), logits, [-1, -1], { mask, reduction: 'mean' }), [[0, 0], [0, 0]], 0);
  });
});

describe('sigmoid + binary cross-entropy from logits', () => {
  // z = log 3 → σ(z) = 3/4; z = 0 → 1/2
  const z = [[LOG3, LOG3], [0, LOG3]];
  const y = [[1, 0], [1, 0.5]];
  const entryLoss = [[-Math.log(0.75), Math.log(4)], [Math.LN2, -(0.5 * Math.log(0.75) + 0.5 * Math.log(0.25))]];
  const entryGrad = [[-0.25, 0.75], [-0.5, 0.25]];

  for (const dtype of dtypes) {
    const tol = tolOf(dtype);
    it(`${dtype}: hand values, with and without masks, sum and mean`, () => {
      const logits = Matrix.fromArray(z, dtype), targets = Matrix.fromArray(y, dtype);
      const all = entryLoss.flat().reduce((a, b) => a + b, 0);
      expect(binaryCrossEntropyWithLogits(logits, targets)).toBeCloseTo(all, 6);
      expect(binaryCrossEntropyWithLogits(logits, targets, { reduction: 'mean' })).toBeCloseTo(all / 4, 6);
      expectClose(binaryCrossEntropyWithLogitsBackward(Matrix.zeros(2, 2, dtype), logits, targets), entryGrad, tol);
      // per-entry mask
      const entryMask = Matrix.fromArray([[1, 0], [0, 1]], dtype);
      const masked = entryLoss[0][0] + entryLoss[1][1];
      expect(binaryCrossEntropyWithLogits(logits, targets, { mask: entryMask })).toBeCloseTo(masked, 6);
      expectClose(
        binaryCrossEntropyWithLogitsBackward(Matrix.zeros(2, 2, dtype), logits, targets, { mask: entryMask, reduction: 'mean' }),
        [[-0.25 / 2, 0], [0, 0.25 / 2]], tol,
      );
      // per-row [T, B] mask (T = 1, B = 2): row 1 padded, its targets not read
      const rowMask = Matrix.fromArray([[1, 0]], dtype);
      const badTargets = Matrix.fromArray([[1, 0], [-3, 9]], dtype);
      expect(binaryCrossEntropyWithLogits(logits, badTargets, { mask: rowMask })).toBeCloseTo(entryLoss[0][0] + entryLoss[0][1], 6);
      expectClose(binaryCrossEntropyWithLogitsBackward(Matrix.fromArray([[1, 1], [1, 1]], dtype), logits, badTargets, { mask: rowMask }, true),
        [[0.75, 1.75], [1, 1]], tol);
    });

    it(`${dtype}: logits of ±1000 and ±1e4 give finite loss and gradient`, () => {
      for (const big of [1000, 1e4]) {
        const logits = Matrix.fromArray([[big, -big, big, -big]], dtype);
        const targets = Matrix.fromArray([[0, 0, 1, 1]], dtype);
        // losses: big, 0, 0, big; gradients σ(z) − y: 1, 0, 0, −1
        expect(binaryCrossEntropyWithLogits(logits, targets)).toBeCloseTo(2 * big, 6);
        expectClose(binaryCrossEntropyWithLogitsBackward(Matrix.zeros(1, 4, dtype), logits, targets), [[1, 0, 0, -1]], 0);
      }
    });
  }

  it('bad targets and shapes throw named errors', () => {
    const logits = Matrix.zeros(2, 3);
    expect(() => binaryCrossEntropyWithLogits(logits, Matrix.zeros(3, 2))).toThrow(/binaryCrossEntropyWithLogits: .*\[2, 3\].*\[3, 2\]/);
    expect(() => binaryCrossEntropyWithLogits(logits, Matrix.fromArray([[0, 1, 2], [0, 0, 0]]))).toThrow(/binaryCrossEntropyWithLogits: expected targets in \[0, 1\], got 2 at \[0, 2\]/);
    expect(() => binaryCrossEntropyWithLogits(logits, Matrix.zeros(2, 3), { mask: Matrix.zeros(3, 3) })).toThrow(/binaryCrossEntropyWithLogits: expected mask \[2, 3\] .*got \[3, 3\]/);
    expect(() => binaryCrossEntropyWithLogitsBackward(Matrix.zeros(2, 2), logits, Matrix.zeros(2, 3))).toThrow(/binaryCrossEntropyWithLogitsBackward: .*\[2, 3\].*\[2, 2\]/);
  });
});
