import { describe, expect, it } from 'vitest';
import { gemm, Matrix, Rng } from '../../engine/index.js';
import {
  createEmbedding, embeddingBackward, embeddingForward, embeddingSgdStep, embeddingZeroGrad, loadPretrained,
  touchedRows, wrapEmbedding,
} from '../../layers/embedding.js';

/** The one-hot matrix O [N, V] with O[i, ids[i]] = 1. */
function oneHot(ids: ArrayLike<number>, V: number): Matrix {
  const o = Matrix.zeros(ids.length, V, 'float64');
  for (let i = 0; i < ids.length; i++) o.set(i, ids[i], 1);
  return o;
}

describe('embedding lookup', () => {
  it('row j of the lookup equals o_jᵀ·E (one-hot product by GEMM), for a time-major T·B id list', () => {
    const rng = new Rng(3);
    const V = 9, d = 5, T = 4, B = 3;
    const emb = createEmbedding({ vocabSize: V, dim: d }, { rng, dtype: 'float64' });
    const ids = Int32Array.from({ length: T * B }, (_, i) => (i * 7) % V);
    const lookup = embeddingForward(Matrix.zeros(T * B, d, 'float64'), emb, ids);
    const viaOneHot = gemm(Matrix.zeros(T * B, d, 'float64'), oneHot(ids, V), emb.weight);
    expect(lookup.toArray()).toEqual(viaOneHot.toArray());
    // and, directly, word j's vector is row j of E
    expect(lookup.toArray()[1]).toEqual(emb.weight.toArray()[7]);
  });

  it('backward with repeated ids equals Oᵀ·dOut (the one-hot product\'s gradient) and accumulates', () => {
    const rng = new Rng(4);
    const V = 6, d = 3;
    const emb = createEmbedding({ vocabSize: V, dim: d }, { rng, dtype: 'float64' });
    const ids = [2, 4, 2, 2, 0, 4];
    const dOut = Matrix.zeros(ids.length, d, 'float64');
    for (let i = 0; i < dOut.data.length; i++) dOut.data[i] = rng.uniformIn(-1, 1);
    embeddingBackward(emb, ids, dOut);
    const expected = gemm(Matrix.zeros(V, d, 'float64'), oneHot(ids, V), dOut, true, false);
    expect(emb.grad.toArray()).toEqual(expected.toArray());
    embeddingBackward(emb, ids, dOut);
    const twice = expected.toArray().map((row) => row.map((v) => 2 * v));
    emb.grad.toArray().forEach((row, r) => row.forEach((v, c) => expect(v).toBeCloseTo(twice[r][c], 14)));
  });

  it('tracks exactly the distinct touched rows, and zeroGrad clears just those', () => {
    const emb = createEmbedding({ vocabSize: 10, dim: 2 }, { rng: new Rng(1), dtype: 'float64' });
    const ids = [7, 3, 7, 1, 3];
    embeddingBackward(emb, ids, Matrix.fromArray(ids.map(() => [1, 1]), 'float64'));
    expect([...touchedRows(emb)].sort()).toEqual([1, 3, 7]);
    expect(emb.grad.get(7, 0)).toBe(2);
    expect(emb.grad.get(1, 1)).toBe(1);
    embeddingZeroGrad(emb);
    expect(touchedRows(emb).length).toBe(0);
    expect(emb.grad.data.every((v) => v === 0)).toBe(true);
  });

  it('sparse SGD changes only the touched rows and matches the dense rule E − η·dE', () => {
    const emb = createEmbedding({ vocabSize: 8, dim: 3 }, { rng: new Rng(2), dtype: 'float64' });
    const before = emb.weight.clone();
    const ids = [5, 2, 5];
    const dOut = Matrix.fromArray([[1, 2, 3], [4, 5, 6], [-1, 0, 1]], 'float64');
    embeddingBackward(emb, ids, dOut);
    embeddingSgdStep(emb, 0.1);
    for (let r = 0; r < 8; r++) {
      for (let c = 0; c < 3; c++) {
        expect(emb.weight.get(r, c)).toBeCloseTo(before.get(r, c) - 0.1 * emb.grad.get(r, c), 14);
        if (r !== 5 && r !== 2) expect(emb.weight.get(r, c)).toBe(before.get(r, c));
      }
    }
    // row 5: gradient (1 − 1, 2 + 0, 3 + 1) = (0, 2, 4)
    expect(emb.grad.toArray()[5]).toEqual([0, 2, 4]);
  });

  it('a frozen embedding ignores backward and SGD (the notes\' transfer learning without fine-tuning)', () => {
    const emb = createEmbedding({ vocabSize: 4, dim: 2, frozen: true }, { rng: new Rng(5), dtype: 'float64' });
    const before = emb.weight.toArray();
    embeddingBackward(emb, [1, 2], Matrix.fromArray([[1, 1], [1, 1]], 'float64'));
    embeddingSgdStep(emb, 1);
    expect(emb.grad.data.every((v) => v === 0)).toBe(true);
    expect(emb.weight.toArray()).toEqual(before);
    emb.frozen = false; // fine-tune
    embeddingBackward(emb, [1, 2], Matrix.fromArray([[1, 1], [1, 1]], 'float64'));
    expect(emb.grad.get(1, 0)).toBe(1);
  });

  it('the padding row starts at 0 and never receives a gradient', () => {
    const emb = createEmbedding({ vocabSize: 5, dim: 3, paddingIdx: 0 }, { rng: new Rng(6), dtype: 'float64' });
    expect(emb.weight.toArray()[0]).toEqual([0, 0, 0]);
    embeddingBackward(emb, [0, 3, 0], Matrix.fromArray([[1, 2, 3], [1, 1, 1], [4, 5, 6]], 'float64'));
    expect(emb.grad.toArray()[0]).toEqual([0, 0, 0]);
    expect(emb.grad.toArray()[3]).toEqual([1, 1, 1]);
    expect([...touchedRows(emb)]).toEqual([3]);
  });

  it('loads pretrained vectors into the mapped rows and leaves the others', () => {
    const emb = createEmbedding({ vocabSize: 4, dim: 2 }, { rng: new Rng(7), dtype: 'float32' });
    const untouched = emb.weight.toArray()[1];
    const n = loadPretrained(emb, Matrix.fromArray([[1, 2], [3, 4]]), [3, 0]);
    expect(n).toBe(2);
    expect(emb.weight.toArray()[3]).toEqual([1, 2]);
    expect(emb.weight.toArray()[0]).toEqual([3, 4]);
    expect(emb.weight.toArray()[1]).toEqual(untouched);
    const whole = wrapEmbedding(Matrix.fromArray([[0, 0], [0, 0]]));
    loadPretrained(whole, Matrix.fromArray([[5, 6], [7, 8]]));
    expect(whole.weight.toArray()).toEqual([[5, 6], [7, 8]]);
  });

  it('rejects bad ids, shapes and dimensions with the operation named', () => {
    const emb = createEmbedding({ vocabSize: 4, dim: 2 }, { rng: new Rng(8) });
    expect(() => embeddingForward(Matrix.zeros(2, 2), emb, [0, 4])).toThrow(/embeddingForward: expected token ids in \[0, 4\), got 4 at position 1/);
    expect(() => embeddingForward(Matrix.zeros(2, 2), emb, [0, 1.5])).toThrow(/embeddingForward/);
    expect(() => embeddingForward(Matrix.zeros(3, 2), emb, [0, 1])).toThrow(/expected out to be \[2, 2\]/);
    expect(() => embeddingBackward(emb, [0, -1], Matrix.zeros(2, 2))).toThrow(/embeddingBackward: expected token ids/);
    expect(() => loadPretrained(emb, Matrix.zeros(4, 3))).toThrow(/loadPretrained: expected vectors of dimension d=2/);
    expect(() => createEmbedding({ vocabSize: 0, dim: 2 }, { rng: new Rng(1) })).toThrow(/createEmbedding/);
  });

  it('initialises from the seeded generator only (same seed, same bits)', () => {
    const a = createEmbedding({ vocabSize: 20, dim: 4, init: 'uniform' }, { rng: new Rng(42) });
    const b = createEmbedding({ vocabSize: 20, dim: 4, init: 'uniform' }, { rng: new Rng(42) });
    expect(Array.from(a.weight.data)).toEqual(Array.from(b.weight.data));
    expect(Math.max(...Array.from(a.weight.data, Math.abs))).toBeLessThanOrEqual(0.5 / 4);
  });
});
