/**
 * `seqgrad bench gemm`: C = A·B for square float32 matrices, n = 64 … 1024 (`--sizes`), in
 * GFLOP/s counting 2·n³ flops (a multiply and an add per term). The operands are filled from a
 * seeded generator, once per backend with that backend selected (on wasm they live in its
 * WebAssembly memory, as a model's matrices do); every call overwrites C (β = 0), so all runs do
 * the same work.
 */
import { gemm } from '../../engine/gemm.js';
import { Matrix } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import { gflops, onBackend, seqgradWorkload, type BenchCase, type Suite } from '../harness.js';

export interface GemmOperands {
  n: number;
  a: Matrix;
  b: Matrix;
  c: Matrix;
}

/** A and B uniform in [−1, 1) from seed 42 (the peers fill theirs the same way from their own generators). */
export function gemmOperands(n: number): GemmOperands {
  const rng = new Rng(42);
  const a = Matrix.zeros(n, n), b = Matrix.zeros(n, n);
  for (let i = 0; i < a.data.length; i++) a.data[i] = rng.uniformIn(-1, 1);
  for (let i = 0; i < b.data.length; i++) b.data[i] = rng.uniformIn(-1, 1);
  return { n, a, b, c: Matrix.zeros(n, n) };
}

export const gemmSuite: Suite = {
  name: 'gemm',
  summary: 'float32 C = A·B, square n × n, GFLOP/s (2·n³ flops)',
  sizesHelp: 'matrix sizes n',
  defaultSizes: [64, 128, 256, 512, 1024],
  cases(ctx) {
    return (ctx.sizes ?? this.defaultSizes!).map((n): BenchCase => {
      if (!Number.isInteger(n) || n < 1) throw new Error(`bench gemm: expected sizes to be positive integers, got ${n}`);
      return {
        suite: 'gemm',
        name: `n=${n}`,
        params: { n },
        metric: gflops(2 * n * n * n),
        ours(backend) {
          const { a, b, c } = onBackend(backend, () => gemmOperands(n));
          return seqgradWorkload(backend, () => gemm(c, a, b));
        },
      };
    });
  },
};
