import { describe, expect, it } from 'vitest';
import { Matrix, Rng } from '../../../engine/index.js';
import {
  createOptimizer, learningRateAt, optimizerFromJSON, optimizerStep, optimizerToJSON, scheduleFactor,
  type OptimizerConfig, type OptimizerStateJSON,
} from '../../../training/core/optimizers.js';
import { matrixFromJSON, matrixToJSON } from '../../../training/io/tensors.js';

/** One scalar parameter θ (1×1, float64) updated with the gradients `gs` in turn; returns θ after each step. */
function runScalar(config: OptimizerConfig, theta0: number, gs: number[]): number[] {
  const params = { w: Matrix.fromArray([[theta0]], 'float64') };
  const grads = { w: Matrix.zeros(1, 1, 'float64') };
  const opt = createOptimizer(config, params);
  return gs.map((g) => {
    grads.w.set(0, 0, g);
    optimizerStep(opt, params, grads);
    return params.w.get(0, 0);
  });
}

describe('optimizer update rules against hand-computed steps', () => {
  it('sgd: θ ← θ − η·g', () => {
    // θ = 1, g = 0.5, η = 0.1: 1 − 0.05 = 0.95; then g = −0.2: 0.95 + 0.02 = 0.97
    const [a, b] = runScalar({ kind: 'sgd', lr: 0.1 }, 1, [0.5, -0.2]);
    expect(a).toBeCloseTo(0.95, 15);
    expect(b).toBeCloseTo(0.97, 15);
  });

  it('sgd with L2 weight decay: g ← g + λθ', () => {
    // g' = 0.5 + 0.1·1 = 0.6, θ = 1 − 0.1·0.6 = 0.94
    expect(runScalar({ kind: 'sgd', lr: 0.1, weightDecay: 0.1 }, 1, [0.5])[0]).toBeCloseTo(0.94, 15);
  });

  it('momentum (PyTorch form): v ← g at step 1, then v ← μv + g; θ ← θ − ηv', () => {
    // μ = 0.9, η = 0.1. Step 1: v = 0.5, θ = 1 − 0.05 = 0.95.
    // Step 2: v = 0.9·0.5 + 0.2 = 0.65, θ = 0.95 − 0.065 = 0.885.
    const [a, b] = runScalar({ kind: 'momentum', lr: 0.1, momentum: 0.9 }, 1, [0.5, 0.2]);
    expect(a).toBeCloseTo(0.95, 15);
    expect(b).toBeCloseTo(0.885, 15);
  });

  it('momentum with dampening: no dampening on the first step', () => {
    // dampening 0.1. Step 1: v = 0.5 (not 0.45), θ = 0.95. Step 2: v = 0.45 + 0.9·0.2 = 0.63, θ = 0.95 − 0.063 = 0.887.
    const [a, b] = runScalar({ kind: 'momentum', lr: 0.1, momentum: 0.9, dampening: 0.1 }, 1, [0.5, 0.2]);
    expect(a).toBeCloseTo(0.95, 15);
    expect(b).toBeCloseTo(0.887, 15);
  });

  it('nesterov momentum: θ ← θ − η(g + μv)', () => {
    // Step 1: v = 0.5, step g + μv = 0.5 + 0.45 = 0.95, θ = 1 − 0.095 = 0.905.
    // Step 2: v = 0.45 + 0.2 = 0.65, g + μv = 0.2 + 0.585 = 0.785, θ = 0.905 − 0.0785 = 0.8265.
    const [a, b] = runScalar({ kind: 'momentum', lr: 0.1, momentum: 0.9, nesterov: true }, 1, [0.5, 0.2]);
    expect(a).toBeCloseTo(0.905, 15);
    expect(b).toBeCloseTo(0.8265, 15);
  });

  it('rmsprop: s ← αs + (1−α)g², θ ← θ − ηg/(√s + ε)', () => {
    // α = 0.9, η = 0.01. Step 1: s = 0.1·0.25 = 0.025, √s = 0.15811388…, θ = 1 − 0.01·0.5/0.15811388 = 0.96837722…
    // Step 2 (g = −0.3): s = 0.9·0.025 + 0.1·0.09 = 0.0315, √s = 0.17748239…, θ = 0.96837722 + 0.003/0.17748239 = 0.98528031…
    const [a, b] = runScalar({ kind: 'rmsprop', lr: 0.01, alpha: 0.9, eps: 1e-8 }, 1, [0.5, -0.3]);
    // (ε = 1e−8 shifts the 10th digit: 0.005/(0.15811388 + 1e−8) vs 0.005/0.15811388 differ by 2e−9.)
    expect(a).toBeCloseTo(1 - (0.01 * 0.5) / (Math.sqrt(0.025) + 1e-8), 14);
    expect(a).toBeCloseTo(0.968377223, 8);
    expect(b).toBeCloseTo(a + (0.01 * 0.3) / (Math.sqrt(0.0315) + 1e-8), 14);
    expect(b).toBeCloseTo(0.985280308, 8);
  });

  it('adam with bias correction: the first step moves θ by η·sign(g)', () => {
    // Step 1: m = 0.1·0.5 = 0.05, v = 0.001·0.25 = 0.00025, m̂ = 0.05/0.1 = 0.5, v̂ = 0.00025/0.001 = 0.25,
    //         θ = 1 − 0.1·0.5/(0.5 + 1e−8) ≈ 0.9.
    // Step 2 (g = −0.3): m = 0.045 − 0.03 = 0.015, v = 0.999·0.00025 + 0.001·0.09 = 0.00033975,
    //         m̂ = 0.015/(1 − 0.81) = 0.0789473684, v̂ = 0.00033975/(1 − 0.998001) = 0.16995998,
    //         θ = 0.9 − 0.1·0.0789473684/0.41226203 = 0.88085003…
    const [a, b] = runScalar({ kind: 'adam', lr: 0.1 }, 1, [0.5, -0.3]);
    expect(a).toBeCloseTo(0.9, 7);
    const mHat = 0.015 / 0.19;
    const vHat = 0.00033975 / 0.001999;
    expect(b).toBeCloseTo(0.9 - (0.1 * mHat) / Math.sqrt(vHat), 7);
    expect(b).toBeCloseTo(0.88085, 5);
  });

  it('adam with L2 decay adds λθ to g (it can flip the sign of the step)', () => {
    // g = −0.05, λ = 0.1, θ = 1: g' = −0.05 + 0.1 = 0.05 > 0, so θ = 1 − 0.1 = 0.9 (plain adam would give 1.1).
    expect(runScalar({ kind: 'adam', lr: 0.1, weightDecay: 0.1 }, 1, [-0.05])[0]).toBeCloseTo(0.9, 7);
    expect(runScalar({ kind: 'adam', lr: 0.1 }, 1, [-0.05])[0]).toBeCloseTo(1.1, 7);
  });

  it('AdamW (decoupled): θ ← θ(1 − ηλ) then the adam step on the raw gradient', () => {
    // g = −0.05, λ = 0.1, η = 0.1: θ = 1·(1 − 0.01) = 0.99, then + 0.1 (step of sign −g) → 1.09.
    const [a] = runScalar({ kind: 'adam', lr: 0.1, weightDecay: 0.1, decoupledWeightDecay: true }, 1, [-0.05]);
    expect(a).toBeCloseTo(1.09, 7);
  });

  it('adagrad: s ← s + g², θ ← θ − ηg/(√s + ε)', () => {
    // Step 1: s = 0.25, θ = 1 − 0.1·0.5/0.5 = 0.9. Step 2 (g = −0.3): s = 0.34, θ = 0.9 + 0.03/0.58309519 = 0.95144958…
    const [a, b] = runScalar({ kind: 'adagrad', lr: 0.1 }, 1, [0.5, -0.3]);
    expect(a).toBeCloseTo(0.9, 9);
    expect(b).toBeCloseTo(0.951449575, 8);
  });

  it('updates every entry of strided views and leaves the rest of the buffer alone', () => {
    const full = Matrix.fromArray([[1, 2, 3], [4, 5, 6]], 'float64');
    const view = full.colView(1, 2); // [[2,3],[5,6]]
    const grad = Matrix.fromArray([[1, 1], [1, 1]], 'float64');
    const opt = createOptimizer({ kind: 'sgd', lr: 0.5 }, { w: view });
    optimizerStep(opt, { w: view }, { w: grad });
    expect(full.toArray()).toEqual([[1, 1.5, 2.5], [4, 4.5, 5.5]]);
  });

  it('rejects missing gradients, wrong shapes and bad hyper-parameters with clear messages', () => {
    const params = { w: Matrix.zeros(2, 3, 'float64') };
    const opt = createOptimizer({ kind: 'adam', lr: 0.1 }, params);
    expect(() => optimizerStep(opt, params, {})).toThrow(/optimizerStep: expected a gradient for parameter 'w'/);
    expect(() => optimizerStep(opt, params, { w: Matrix.zeros(3, 2, 'float64') })).toThrow(/\[2, 3\], got \[3, 2\]/);
    expect(() => createOptimizer({ kind: 'adam', lr: -1 }, params)).toThrow(/lr to be a finite number ≥ 0, got -1/);
    expect(() => createOptimizer({ kind: 'adamax' as 'adam', lr: 1 }, params)).toThrow(/expected kind/);
    expect(() => createOptimizer({ kind: 'sgd', lr: 1, nesterov: true }, params)).toThrow(/nesterov/);
    expect(() => createOptimizer({ kind: 'sgd', lr: 1, schedule: { kind: 'step', stepSize: 0, gamma: 0.5 } }, params)).toThrow(
      /schedule.stepSize/,
    );
  });
});

describe('learning-rate schedules', () => {
  it('constant', () => {
    expect([0, 1, 1000].map((s) => learningRateAt(0.1, { kind: 'constant' }, s))).toEqual([0.1, 0.1, 0.1]);
  });

  it('linear decay: 1 → finalFactor over totalSteps, then flat', () => {
    const s = { kind: 'linear' as const, totalSteps: 10 };
    // factor = 1 − step/10
    expect([0, 5, 10, 20].map((t) => scheduleFactor(s, t))).toEqual([1, 0.5, 0, 0]);
    // finalFactor 0.2: factor = 1 − 0.8·step/10
    expect(scheduleFactor({ ...s, finalFactor: 0.2 }, 5)).toBeCloseTo(0.6, 15);
  });

  it('step: γ^⌊step/stepSize⌋', () => {
    const s = { kind: 'step' as const, stepSize: 3, gamma: 0.5 };
    expect([0, 2, 3, 5, 6, 9].map((t) => scheduleFactor(s, t))).toEqual([1, 1, 0.5, 0.5, 0.25, 0.125]);
  });

  it('warm-up then any schedule: (step+1)/W, then the inner schedule from its own step 0', () => {
    const s = { kind: 'warmup' as const, warmupSteps: 4, after: { kind: 'step' as const, stepSize: 2, gamma: 0.1 } };
    const f = [0, 1, 2, 3, 4, 5, 6].map((t) => scheduleFactor(s, t));
    expect(f.slice(0, 6)).toEqual([0.25, 0.5, 0.75, 1, 1, 1]);
    expect(f[6]).toBeCloseTo(0.1, 15);
  });

  it('the optimizer uses the rate of update number `step` and returns it', () => {
    const params = { w: Matrix.fromArray([[0]], 'float64') };
    const grads = { w: Matrix.fromArray([[1]], 'float64') };
    const opt = createOptimizer({ kind: 'sgd', lr: 1, schedule: { kind: 'warmup', warmupSteps: 2, after: { kind: 'constant' } } }, params);
    expect(optimizerStep(opt, params, grads)).toBe(0.5);
    expect(optimizerStep(opt, params, grads)).toBe(1);
    // θ = 0 − 0.5 − 1 = −1.5
    expect(params.w.get(0, 0)).toBe(-1.5);
  });
});

describe('optimizer state serialisation', () => {
  function randomParams(rng: Rng): Record<string, Matrix> {
    const make = (r: number, c: number): Matrix => {
      const m = Matrix.zeros(r, c, 'float32');
      for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal();
      return m;
    };
    return { W: make(3, 4), b: make(1, 4) };
  }
  function randomGrads(rng: Rng, params: Record<string, Matrix>): Record<string, Matrix> {
    const out: Record<string, Matrix> = {};
    for (const [k, p] of Object.entries(params)) {
      out[k] = Matrix.zeros(p.rows, p.cols, p.dtype);
      for (let i = 0; i < out[k].data.length; i++) out[k].data[i] = rng.normal() / 3;
    }
    return out;
  }

  for (const kind of ['sgd', 'momentum', 'rmsprop', 'adam', 'adagrad'] as const) {
    it(`${kind}: save after 3 steps, load, continue — bit-identical to an uninterrupted run`, () => {
      const config: OptimizerConfig = { kind, lr: 0.01, weightDecay: 1e-3, schedule: { kind: 'warmup', warmupSteps: 2, after: { kind: 'linear', totalSteps: 10 } } };
      const gradRng = new Rng(7);
      const gradients = Array.from({ length: 6 }, () => randomGrads(gradRng, randomParams(new Rng(1))));

      const straight = randomParams(new Rng(1));
      const optA = createOptimizer(config, straight);
      for (const g of gradients) optimizerStep(optA, straight, g);

      const resumed = randomParams(new Rng(1));
      const optB = createOptimizer(config, resumed);
      for (const g of gradients.slice(0, 3)) optimizerStep(optB, resumed, g);
      const saved = JSON.stringify({ params: Object.fromEntries(Object.entries(resumed).map(([k, m]) => [k, matrixToJSON(m)])), opt: optimizerToJSON(optB) });
      const loaded = JSON.parse(saved) as { params: Record<string, ReturnType<typeof matrixToJSON>>; opt: OptimizerStateJSON };
      const params2 = Object.fromEntries(Object.entries(loaded.params).map(([k, j]) => [k, matrixFromJSON(j)]));
      const optC = optimizerFromJSON(loaded.opt, params2);
      expect(optC.step).toBe(3);
      for (const g of gradients.slice(3)) optimizerStep(optC, params2, g);

      for (const name of Object.keys(straight)) {
        expect(Array.from(params2[name].data)).toEqual(Array.from(straight[name].data));
        for (const slot of Object.keys(optA.slots[name])) {
          expect(Array.from(optC.slots[name][slot].data)).toEqual(Array.from(optA.slots[name][slot].data));
        }
      }
      // The run actually moved the parameters (the comparison is not between two untouched copies).
      expect(Array.from(straight.W.data)).not.toEqual(Array.from(randomParams(new Rng(1)).W.data));
    });
  }

  it('refuses a saved state of another model', () => {
    const params = { w: Matrix.zeros(2, 2) };
    const json = optimizerToJSON(createOptimizer({ kind: 'adam', lr: 0.1 }, params));
    expect(() => optimizerFromJSON(json, { w: Matrix.zeros(3, 2) })).toThrow(/'w.expAvg' to be float32 \[3, 2\], got float32 \[2, 2\]/);
    expect(() => optimizerFromJSON(json, { v: Matrix.zeros(2, 2) })).toThrow(/no state for parameter 'v'/);
  });
});
