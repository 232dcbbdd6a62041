import { describe, expect, it } from 'vitest';
import { Matrix } from '../../../engine/index.js';
import { matrixFromJSON, matrixToJSON } from '../../../training/io/tensors.js';

describe('matrices as JSON', () => {
  it('matrixToJSON/matrixFromJSON round-trip exactly, including strided views, subnormals and −0', () => {
    const m = Matrix.fromArray([[1 / 3, -0, 5e-324, 1e308], [Math.PI, -2.5, 7, 8]], 'float64');
    const view = m.colView(1, 2);
    const back = matrixFromJSON(JSON.parse(JSON.stringify(matrixToJSON(view))));
    expect(back.shape).toEqual([2, 2]);
    expect(Object.is(back.get(0, 0), -0)).toBe(true);
    expect(back.get(0, 1)).toBe(5e-324);
    expect(back.toArray()[1]).toEqual([-2.5, 7]);
    const f32 = Matrix.fromArray([[0.1, 1 / 3]], 'float32');
    const f32back = matrixFromJSON(matrixToJSON(f32));
    expect(f32back.dtype).toBe('float32');
    expect(Array.from(f32back.data)).toEqual(Array.from(f32.data));
  });

  it('refuses data of the wrong length', () => {
    expect(() => matrixFromJSON({ rows: 2, cols: 2, dtype: 'float32', data: 'AAAA' })).toThrow(/expected 16 bytes/);
  });
});
