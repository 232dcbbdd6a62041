import { describe, expect, it } from 'vitest';
import { Matrix } from '../../engine/matrix.js';
import { erf, gelu, geluBackward } from '../../engine/gelu.js';

describe('exact GELU', () => {
  it('erf matches tabulated values (Abramowitz & Stegun 7.1, 16 digits) and is odd', () => {
    const table: [number, number][] = [
      [0, 0], [0.1, 0.1124629160182849], [0.5, 0.5204998778130465], [1, 0.8427007929497149],
      [1.5, 0.9661051464753108], [2, 0.9953222650189527], [3, 0.9999779095030014], [4, 0.9999999845827421],
    ];
    for (const [x, v] of table) {
      expect(Math.abs(erf(x) - v)).toBeLessThan(4e-16);
      expect(erf(-x)).toBe(-erf(x));
    }
    expect(erf(7)).toBe(1);
    expect(erf(-Infinity)).toBe(-1);
    expect(Number.isNaN(erf(NaN))).toBe(true);
  });

  it('GELU(x) = x Φ(x): Φ(1) = 0.8413447460685429, Φ(−2) = 0.02275013194817921; the derivative Φ(x) + x φ(x)', () => {
    const x = Matrix.fromArray([[1, -2, 0]], 'float64');
    const y = gelu(Matrix.zeros(1, 3, 'float64'), x).toArray()[0];
    expect(y[0]).toBeCloseTo(0.8413447460685429, 15);
    expect(y[1]).toBeCloseTo(-2 * 0.02275013194817921, 15);
    expect(y[2]).toBe(0);
    const dx = geluBackward(Matrix.fromArray([[5, 5, 5]], 'float64'), Matrix.fromArray([[1, 1, 2]], 'float64'), x, true).toArray()[0];
    const phi = (v: number): number => Math.exp(-v * v / 2) / Math.sqrt(2 * Math.PI);
    expect(dx[0]).toBeCloseTo(5 + 0.8413447460685429 + phi(1), 14);
    expect(dx[1]).toBeCloseTo(5 + 0.02275013194817921 - 2 * phi(2), 14);
    expect(dx[2]).toBeCloseTo(5 + 2 * 0.5, 14);
  });
});
