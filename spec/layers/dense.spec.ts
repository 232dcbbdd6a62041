import { describe, expect, it } from 'vitest';
import { Matrix, Rng } from '../../engine/index.js';
import { createDense, denseBackward, denseForward, denseZeroGrad } from '../../layers/dense.js';

// Hand computation: W = [[1, 2], [3, 4], [5, 6]] (out 3, in 2), b = [0.5, −1, 2], X = [[1, 1], [2, −1]]
//   Y = X·Wᵀ + b = [[3.5, 6, 13], [0.5, 1, 6]]
// with dY = [[1, 0, 0], [0, 1, 1]]:
//   dW = dYᵀ·X = [[1, 1], [2, −1], [2, −1]],  db = [1, 1, 1],  dX = dY·W = [[1, 2], [8, 10]]
function handLayer() {
  const layer = createDense({ inputSize: 2, outputSize: 3 }, { rng: new Rng(0), dtype: 'float64' });
  layer.params.W.data.set([1, 2, 3, 4, 5, 6]);
  layer.params.b!.data.set([0.5, -1, 2]);
  return layer;
}
const X = (): Matrix => Matrix.fromArray([[1, 1], [2, -1]], 'float64');
const DY = (): Matrix => Matrix.fromArray([[1, 0, 0], [0, 1, 1]], 'float64');

describe('dense layer Y = X·Wᵀ + b', () => {
  it('forward matches the hand computation', () => {
    const y = denseForward(Matrix.zeros(2, 3, 'float64'), handLayer(), X());
    expect(y.toArray()).toEqual([[3.5, 6, 13], [0.5, 1, 6]]);
  });

  it('backward accumulates dW and db, writes or accumulates dx', () => {
    const layer = handLayer();
    const dx = Matrix.fromArray([[9, 9], [9, 9]], 'float64');
    denseBackward(layer, X(), DY(), dx);
    expect(layer.grads.W.toArray()).toEqual([[1, 1], [2, -1], [2, -1]]);
    expect(layer.grads.b!.toArray()).toEqual([[1, 1, 1]]);
    expect(dx.toArray()).toEqual([[1, 2], [8, 10]]);
    denseBackward(layer, X(), DY(), dx, true);
    expect(layer.grads.W.toArray()).toEqual([[2, 2], [4, -2], [4, -2]]);
    expect(layer.grads.b!.toArray()).toEqual([[2, 2, 2]]);
    expect(dx.toArray()).toEqual([[2, 4], [16, 20]]);
    denseBackward(layer, X(), DY(), null);
    expect(layer.grads.b!.toArray()).toEqual([[3, 3, 3]]);
    denseZeroGrad(layer);
    expect(layer.grads.W.toArray().flat().every((v) => v === 0)).toBe(true);
    expect(layer.grads.b!.toArray()).toEqual([[0, 0, 0]]);
  });

  it('without bias: Y = X·Wᵀ and no b gradient', () => {
    const layer = createDense({ inputSize: 2, outputSize: 3, bias: false }, { rng: new Rng(0), dtype: 'float64' });
    expect(layer.params.b).toBeUndefined();
    expect(layer.grads.b).toBeUndefined();
    layer.params.W.data.set([1, 2, 3, 4, 5, 6]);
    expect(denseForward(Matrix.zeros(2, 3, 'float64'), layer, X()).toArray()).toEqual([[3, 7, 11], [0, 2, 4]]);
  });

  it('initialisation: PyTorch U(±1/√in) by default, Xavier, zeros; same seed, same weights', () => {
    const a = createDense({ inputSize: 16, outputSize: 40 }, { rng: new Rng(3) });
    expect(a.dtype).toBe('float32');
    expect(a.params.W.shape).toEqual([40, 16]);
    expect(a.params.b!.shape).toEqual([1, 40]);
    const bound = 1 / Math.sqrt(16);
    let max = 0;
    for (const v of a.params.W.data) max = Math.max(max, Math.abs(v));
    expect(max).toBeLessThanOrEqual(bound);
    expect(max).toBeGreaterThan(0.9 * bound);
    for (const v of a.params.b!.data) expect(Math.abs(v)).toBeLessThanOrEqual(bound);
    expect(Array.from(createDense({ inputSize: 16, outputSize: 40 }, { rng: new Rng(3) }).params.W.data)).toEqual(Array.from(a.params.W.data));
    const x = createDense({ inputSize: 16, outputSize: 40, init: 'xavier' }, { rng: new Rng(3) });
    const limit = Math.sqrt(6 / 56);
    for (const v of x.params.W.data) expect(Math.abs(v)).toBeLessThanOrEqual(limit);
    expect(Array.from(x.params.b!.data).every((v) => v === 0)).toBe(true);
    const z = createDense({ inputSize: 3, outputSize: 2, init: 'zeros' }, { rng: new Rng(3) });
    expect(Array.from(z.params.W.data).every((v) => v === 0)).toBe(true);
  });

  it('bad sizes and shapes throw errors naming the op, expected and actual', () => {
    expect(() => createDense({ inputSize: 0, outputSize: 3 }, { rng: new Rng(0) })).toThrow(/^createDense: expected a positive integer inputSize, got 0/);
    expect(() => createDense({ inputSize: 2, outputSize: 3, init: 'he' as 'zeros' }, { rng: new Rng(0) })).toThrow(/^createDense: expected init/);
    const layer = handLayer();
    expect(() => denseForward(Matrix.zeros(2, 3, 'float64'), layer, Matrix.zeros(2, 4, 'float64'))).toThrow(/^denseForward: expected x \[N, 2\] .*got \[2, 4\]/);
    expect(() => denseForward(Matrix.zeros(2, 2, 'float64'), layer, X())).toThrow(/^denseForward: expected y to be \[2, 3\], got \[2, 2\]/);
    expect(() => denseBackward(layer, X(), Matrix.zeros(3, 3, 'float64'), null)).toThrow(/^denseBackward: expected dy to be \[2, 3\], got \[3, 3\]/);
    expect(() => denseBackward(layer, X(), DY(), Matrix.zeros(2, 3, 'float64'))).toThrow(/^denseBackward: expected dx to be \[2, 2\], got \[2, 3\]/);
  });
});
