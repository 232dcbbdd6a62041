import { describe, expect, it } from 'vitest';
import { Matrix } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import { createCell } from '../../layers/cells/create-cell.js';
import { DROPOUT_FIXED } from '../../layers/dropout.js';
import {
  createStack, createStackedRnn, createStackedWorkspace, stackedBackward, stackedForward, stackedParameters,
  type StackedRnn,
} from '../../layers/stacked.js';
import type { StackDropout } from '../../layers/stacked-dropout.js';

const T = 5, B = 3, D = 4, H = 6;

function input(seed: number): Matrix {
  const rng = new Rng(seed);
  const x = Matrix.zeros(T * B, D, 'float64');
  for (let i = 0; i < x.data.length; i++) x.data[i] = rng.uniformIn(-1, 1);
  return x;
}

/** Two stacks with the same weights: one without dropout, one with. */
function twins(kind: 'lstm' | 'rnn', layers: number, p: number, mode: 'between' | 'variational'): [StackedRnn, StackedRnn] {
  const plain = createStackedRnn({ kind, inputSize: D, hiddenSize: H, numLayers: layers, rng: new Rng(3), dtype: 'float64' });
  const dropped = createStackedRnn({ kind, inputSize: D, hiddenSize: H, numLayers: layers, rng: new Rng(3), dtype: 'float64', dropout: p, dropoutMode: mode });
  return [plain, dropped];
}

describe('stack dropout', () => {
  it('is off by default (evaluation): outputs bit-identical to the same stack without dropout, forward and backward', () => {
    for (const mode of ['between', 'variational'] as const) {
      const [plain, dropped] = twins('lstm', 3, 0.5, mode);
      const x = input(1);
      const a = stackedForward(plain, createStackedWorkspace(plain, T, B), x).outputs.clone();
      const wsD = createStackedWorkspace(dropped, T, B);
      const b = stackedForward(dropped, wsD, x).outputs;
      expect(Array.from(b.data)).toEqual(Array.from(a.data));
      const dyFull = Matrix.zeros(T * B, H, 'float64');
      dyFull.data.fill(0.25);
      const wsP = createStackedWorkspace(plain, T, B);
      stackedForward(plain, wsP, x);
      const dxA = stackedBackward(plain, wsP, dyFull).dx?.clone();
      const dxB = stackedBackward(dropped, wsD, dyFull).dx;
      expect(dxB).not.toBeNull();
      expect(Array.from(dxB?.data ?? [])).toEqual(Array.from(dxA?.data ?? []));
    }
  });

  it('p = 0 or no dropout builds the same stack as before (no dropout state at all)', () => {
    const rng = new Rng(1);
    const stack = createStack([{ cell: createCell({ kind: 'gru', inputSize: D, hiddenSize: H }, { rng }) }], { dropout: { p: 0, mode: 'between' } });
    expect(stack.dropout).toBeNull();
    expect(createStackedWorkspace(stack, T, B).dropout).toBeNull();
  });

  it("'between' on one layer (where it would drop nothing) is refused in one line naming the option; variational is not", () => {
    const cell = (): ReturnType<typeof createCell> => createCell({ kind: 'gru', inputSize: D, hiddenSize: H });
    expect(() => createStackedRnn({ kind: 'lstm', inputSize: D, hiddenSize: H, dropout: 0.3 })).toThrow(
      "createStackedRnn: dropout mode 'between' acts only between stacked layers, so dropout 0.3 on one layer would do nothing: expected numLayers ≥ 2 or dropout mode 'variational', got numLayers 1",
    );
    expect(() => createStack([{ cell: cell() }], { dropout: { p: 0.3, mode: 'between' } })).toThrow(
      /^createStack: dropout mode 'between' acts only between stacked layers, .* expected layers ≥ 2 or dropout mode 'variational', got layers 1$/,
    );
    expect(createStack([{ cell: cell() }, { cell: createCell({ kind: 'gru', inputSize: H, hiddenSize: H }) }], { dropout: { p: 0.3, mode: 'between' } }).dropout)
      .toEqual({ p: 0.3, mode: 'between' });
    expect(createStackedRnn({ kind: 'lstm', inputSize: D, hiddenSize: H, dropout: 0.3, dropoutMode: 'variational' }).dropout).toEqual({ p: 0.3, mode: 'variational' });
  });

  it("'between' drops each layer's output except the last's, per entry, kept ones scaled by 1/(1 − p); seeded", () => {
    const p = 0.4;
    const [, stack] = twins('rnn', 2, p, 'between');
    const ws = createStackedWorkspace(stack, 20, 30);
    const x = Matrix.zeros(20 * 30, D, 'float64');
    x.data.fill(0.3);
    stackedForward(stack, ws, x, { dropout: { kind: 'sample', rng: new Rng(9) } });
    const d = ws.dropout as StackDropout;
    expect(d.points[0]).toBeNull(); // not on x
    expect(d.points[2]).toBeNull(); // not on the last layer's output
    const m = (d.points[1] as NonNullable<StackDropout['points'][number]>).mask.mask.data;
    let kept = 0;
    for (const v of m) {
      expect(v === 0 || Math.abs(v - 1 / (1 - p)) < 1e-15).toBe(true);
      if (v !== 0) kept++;
    }
    expect(Math.abs(kept / m.length - (1 - p))).toBeLessThan(0.03); // 3600 draws: sd ≈ 0.008
    // The mask differs from step to step (per-entry draws): step 0's and step 1's blocks are not equal.
    const block = 30 * H;
    expect(Array.from(m.subarray(0, block))).not.toEqual(Array.from(m.subarray(block, 2 * block)));
    // The same seed draws the same masks.
    const ws2 = createStackedWorkspace(stack, 20, 30);
    stackedForward(stack, ws2, x, { dropout: { kind: 'sample', rng: new Rng(9) } });
    expect(Array.from(((ws2.dropout as StackDropout).points[1]?.mask.mask.data) ?? [])).toEqual(Array.from(m));
  });

  it("'variational' matches a hand-written RNN with one mask per sequence on x, on a⟨t−1⟩ and on the output", () => {
    const p = 0.5;
    const [, stack] = twins('rnn', 1, p, 'variational');
    const ws = createStackedWorkspace(stack, T, B);
    const x = input(4);
    const y = stackedForward(stack, ws, x, { dropout: { kind: 'sample', rng: new Rng(11) } }).outputs;
    const d = ws.dropout as StackDropout;
    const mx = d.points[0]?.mask.mask as Matrix, my = d.points[1]?.mask.mask as Matrix, ma = d.recurrent[0].forward.mask;
    const { params } = stackedParameters(stack);
    const Wx = params['l0.W_x'], Wa = params['l0.W_a'], bias = params['l0.b'];
    let zeros = 0;
    for (let b = 0; b < B; b++) {
      let a = new Array<number>(H).fill(0);
      for (let t = 0; t < T; t++) {
        const next: number[] = [];
        for (let i = 0; i < H; i++) {
          let z = bias.get(0, i);
          // one mask per sequence: row b of step 0's block, at every step t
          for (let k = 0; k < D; k++) z += Wx.get(i, k) * x.get(t * B + b, k) * mx.get(b, k);
          for (let k = 0; k < H; k++) z += Wa.get(i, k) * a[k] * ma.get(b, k);
          next.push(Math.tanh(z));
        }
        a = next;
        for (let i = 0; i < H; i++) {
          expect(y.get(t * B + b, i)).toBeCloseTo(a[i] * my.get(b, i), 12);
          if (my.get(b, i) === 0) zeros++;
        }
      }
    }
    expect(zeros).toBeGreaterThan(0);
    expect(zeros % T).toBe(0); // a dropped unit is dropped at every step
  });

  it('DROPOUT_FIXED reuses the masks of the previous call; evaluation after training is the identity again', () => {
    const [plain, stack] = twins('lstm', 2, 0.3, 'variational');
    const ws = createStackedWorkspace(stack, T, B);
    const x = input(5);
    const first = stackedForward(stack, ws, x, { dropout: { kind: 'sample', rng: new Rng(2) } }).outputs.clone();
    const again = stackedForward(stack, ws, x, { dropout: DROPOUT_FIXED }).outputs;
    expect(Array.from(again.data)).toEqual(Array.from(first.data));
    const evaluated = stackedForward(stack, ws, x).outputs;
    const reference = stackedForward(plain, createStackedWorkspace(plain, T, B), x).outputs;
    expect(Array.from(evaluated.data)).toEqual(Array.from(reference.data));
  });

  it('variational dropout refuses a GRU (its a⟨t−1⟩ is also carried, not only multiplied by W_a); bad p is named', () => {
    expect(() => createStackedRnn({ kind: 'gru', inputSize: D, hiddenSize: H, rng: new Rng(1), dropout: 0.2, dropoutMode: 'variational' }))
      .toThrow(/variational dropout .* layer 0 is gru/);
    expect(() => createStackedRnn({ kind: 'lstm', inputSize: D, hiddenSize: H, rng: new Rng(1), dropout: 1 }))
      .toThrow(/dropout probability in \[0, 1\), got 1/);
  });
});
