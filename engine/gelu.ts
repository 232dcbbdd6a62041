/**
 * The exact GELU of Hendrycks & Gimpel (2016), PyTorch's F.gelu with approximate='none':
 *   GELU(x) = x · Φ(x) = ½ x (1 + erf(x/√2)),  GELU′(x) = Φ(x) + x φ(x),  φ(x) = e^{−x²/2}/√(2π).
 * Not the tanh approximation: the fixtures compare with PyTorch to 1e−10.
 */
import { type Matrix, expectSameDType, expectSameShape } from './matrix.js';

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * erf(z) to a few ulps in double precision, from the series with positive terms only (no cancellation):
 *   erf(z) = (2/√π) e^{−z²} Σ_{n≥0} z (2z²)ⁿ / (1·3·5···(2n+1)).
 * |z| ≥ 6 gives ±1 (erfc(6) ≈ 2e−17 is below half an ulp of 1).
 */
export function erf(z: number): number {
  if (Number.isNaN(z)) return NaN;
  if (z >= 6) return 1;
  if (z <= -6) return -1;
  const z2 = z * z;
  let term = z, sum = z;
  for (let n = 1; n < 200; n++) {
    term *= (2 * z2) / (2 * n + 1);
    sum += term;
    if (Math.abs(term) <= 1e-17 * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-z2) * sum;
}

/** Φ(x), the standard normal distribution function. */
function normalCdf(x: number): number {
  return 0.5 * (1 + erf(x * Math.SQRT1_2));
}

function checkSame(op: string, a: Matrix, nameB: string, b: Matrix): void {
  expectSameShape(op, 'out', a, nameB, b);
  expectSameDType(op, a, b);
}

/** out = x Φ(x), elementwise; out may alias x. */
export function gelu(out: Matrix, x: Matrix): Matrix {
  checkSame('gelu', out, 'x', x);
  for (let r = 0; r < x.rows; r++) {
    const o = out.offset + r * out.stride, s = x.offset + r * x.stride;
    for (let c = 0; c < x.cols; c++) {
      const v = x.data[s + c];
      out.data[o + c] = v * normalCdf(v);
    }
  }
  return out;
}

/**
 * dx (+)= dy ∗ (Φ(x) + x φ(x)) through the INPUT x of gelu (GELU is not invertible from its output).
 * dx may alias dy but not x.
 */
export function geluBackward(dx: Matrix, dy: Matrix, x: Matrix, accumulate = false): Matrix {
  checkSame('geluBackward', dx, 'dy', dy);
  checkSame('geluBackward', dx, 'x', x);
  for (let r = 0; r < x.rows; r++) {
    const o = dx.offset + r * dx.stride, g = dy.offset + r * dy.stride, s = x.offset + r * x.stride;
    for (let c = 0; c < x.cols; c++) {
      const v = x.data[s + c];
      const d = dy.data[g + c] * (normalCdf(v) + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v));
      dx.data[o + c] = accumulate ? dx.data[o + c] + d : d;
    }
  }
  return dx;
}
