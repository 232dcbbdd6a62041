/**
 * The vector kernels of the backend seam — bias add, row sums, softmax and cross-entropy rows,
 * optimizer updates, the sums, scaling and clamping of clipping — on the wasm backend against the
 * js reference: bit for bit where the wasm module repeats the js arithmetic, to float32 accuracy
 * where it has its own exp or sums in lanes; and plain (non-heap) operands still go to js.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addBias, clipByValue, clipGradNorm, crossEntropy, crossEntropyBackward, crossEntropyForwardBackward, globalNorm,
  Matrix, Rng, setBackend, softmax, softmaxWithTemperature, sumRows,
} from '../../engine/index.js';
import { initWasmBackend, type WasmBackend } from '../../engine/wasm/index.js';
import { createOptimizer, optimizerStep, type OptimizerConfig } from '../../training/core/optimizers.js';

let wasm: WasmBackend;
beforeAll(async () => {
  wasm = (await initWasmBackend()) as WasmBackend;
});

/** Run fn with the wasm backend selected (matrices made inside live in its heap). */
function onWasm<T>(fn: () => T): T {
  setBackend('wasm');
  try {
    return fn();
  } finally {
    setBackend('js');
  }
}

/** A [rows, cols] view (stride cols + pad) in the wasm heap, and the same entries in a plain array. */
function pair(rng: Rng, rows: number, cols: number, pad = 0, scale = 1): [Matrix, Matrix] {
  const parent = onWasm(() => Matrix.zeros(rows, cols + pad));
  for (let i = 0; i < parent.data.length; i++) parent.data[i] = scale * rng.normal();
  const view = parent.colView(0, cols);
  const plain = new Matrix(rows, cols, Float32Array.from(parent.data), 0, cols + pad);
  return [view, plain];
}

function same(a: Matrix, b: Matrix): boolean {
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) if (!Object.is(a.get(i, j), b.get(i, j))) return false;
  return true;
}

function maxDiff(a: Matrix, b: Matrix): number {
  let d = 0;
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) d = Math.max(d, Math.abs(a.get(i, j) - b.get(i, j)));
  return d;
}

const widths = [1, 3, 4, 7, 64, 130];

describe('wasm vector kernels against js', () => {
  it('addBias and sumRows: the js bits (one f32 operation per entry, rows summed in order), strided and odd widths', () => {
    const rng = new Rng(1);
    const calls = wasm.vectors.wasmCalls;
    for (const cols of widths) {
      const [x, xj] = pair(rng, 37, cols, 3), [b, bj] = pair(rng, 1, cols);
      const [out, outj] = pair(rng, 37, cols, 1);
      onWasm(() => addBias(out, x, b));
      addBias(outj, xj, bj);
      expect(same(out, outj)).toBe(true);
      onWasm(() => addBias(x, x, b)); // in place
      addBias(xj, xj, bj);
      expect(same(x, xj)).toBe(true);
      const [s, sj] = pair(rng, 1, cols);
      for (const accumulate of [false, true]) {
        onWasm(() => sumRows(s, x, accumulate));
        sumRows(sj, xj, accumulate);
        expect(same(s, sj)).toBe(true);
      }
    }
    expect(wasm.vectors.wasmCalls - calls).toBe(widths.length * 4);
  });

  it('softmax and softmax with temperature: within 1e−6 of js, rows sum to 1, in place too', () => {
    const rng = new Rng(2);
    for (const cols of widths) {
      const [x, xj] = pair(rng, 9, cols, 2, 5);
      const [y, yj] = pair(rng, 9, cols);
      onWasm(() => softmaxWithTemperature(y, x, 0.7));
      softmaxWithTemperature(yj, xj, 0.7);
      expect(maxDiff(y, yj)).toBeLessThan(1e-6);
      onWasm(() => softmax(x, x));
      softmax(xj, xj);
      expect(maxDiff(x, xj)).toBeLessThan(1e-6);
      for (let r = 0; r < 9; r++) {
        let sum = 0;
        for (let j = 0; j < cols; j++) sum += x.get(r, j);
        expect(Math.abs(sum - 1)).toBeLessThan(1e-5);
      }
    }
  });

  it('cross-entropy: loss within 1e−6 relative and gradients within 1e−6 of js — masks, mean, accumulate, in place, large logits', () => {
    const rng = new Rng(3);
    for (const cols of widths) {
      const T = 6, B = 5;
      const targets = Int32Array.from({ length: T * B }, () => Math.floor(rng.uniform() * cols));
      const mask = Matrix.fromArray(Array.from({ length: T }, (_, t) => Array.from({ length: B }, (_, b) => (t + b) % 4 === 0 ? 0 : 1)), 'float64');
      for (const options of [{}, { mask }, { mask, reduction: 'mean' as const }]) {
        const [x, xj] = pair(rng, T * B, cols, 1, cols === 130 ? 300 : 3);
        const [d, dj] = pair(rng, T * B, cols);
        const loss = onWasm(() => crossEntropyForwardBackward(d, x, targets, options));
        const lossj = crossEntropyForwardBackward(dj, xj, targets, options);
        expect(Math.abs(loss - lossj) / Math.max(1, Math.abs(lossj))).toBeLessThan(1e-6);
        expect(maxDiff(d, dj)).toBeLessThan(1e-6);
        onWasm(() => crossEntropyBackward(d, x, targets, options, true)); // accumulate
        crossEntropyBackward(dj, xj, targets, options, true);
        expect(maxDiff(d, dj)).toBeLessThan(2e-6);
        expect(Math.abs(onWasm(() => crossEntropy(x, targets, options)) - crossEntropy(xj, targets, options))).toBeLessThan(1e-6 * Math.max(1, Math.abs(lossj)));
        onWasm(() => crossEntropyForwardBackward(x, x, targets, options)); // dlogits overwrite the logits
        crossEntropyForwardBackward(xj, xj, targets, options);
        expect(maxDiff(x, xj)).toBeLessThan(1e-6);
      }
    }
  });

  it('clipping: the global norm within 1e−12 relative, scaling and clamping bit for bit (NaN kept, counts equal)', () => {
    const rng = new Rng(4);
    const grads: Matrix[] = [], gradsj: Matrix[] = [];
    for (const cols of widths) {
      const [g, gj] = pair(rng, 7, cols, 2, 3);
      grads.push(g);
      gradsj.push(gj);
    }
    expect(Math.abs(onWasm(() => globalNorm(grads)) / globalNorm(gradsj) - 1)).toBeLessThan(1e-12);
    const norm = onWasm(() => clipGradNorm(grads, 2));
    clipGradNorm(gradsj, 2);
    expect(norm).toBeGreaterThan(2);
    grads.forEach((g, i) => expect(same(g, gradsj[i])).toBe(true));
    grads[1].set(0, 0, NaN);
    gradsj[1].set(0, 0, NaN);
    const clipped = onWasm(() => clipByValue(grads, 0.1));
    expect(clipped).toBe(clipByValue(gradsj, 0.1));
    expect(clipped).toBeGreaterThan(0);
    grads.forEach((g, i) => expect(same(g, gradsj[i])).toBe(true));
  });

  const configs: OptimizerConfig[] = [
    { kind: 'sgd', lr: 0.1 },
    { kind: 'sgd', lr: 0.1, weightDecay: 0.01 },
    { kind: 'momentum', lr: 0.05, dampening: 0.1 },
    { kind: 'momentum', lr: 0.05, nesterov: true },
    { kind: 'rmsprop', lr: 0.01, weightDecay: 0.001 },
    { kind: 'adam', lr: 1e-3 },
    { kind: 'adam', lr: 1e-3, weightDecay: 0.01, decoupledWeightDecay: true },
    { kind: 'adagrad', lr: 0.1 },
  ];
  for (const config of configs) {
    it(`${config.kind}${config.nesterov ? ' (nesterov)' : ''}${config.weightDecay ? ` (weight decay${config.decoupledWeightDecay ? ', decoupled' : ''})` : ''}: every update bit for bit as js`, () => {
      const rng = new Rng(5);
      const params: Record<string, Matrix> = {}, paramsj: Record<string, Matrix> = {};
      const grads: Record<string, Matrix> = {}, gradsj: Record<string, Matrix> = {};
      for (const cols of [1, 5, 64]) {
        [params[`p${cols}`], paramsj[`p${cols}`]] = pair(rng, 3, cols, 1); // strided parameters
        [grads[`p${cols}`], gradsj[`p${cols}`]] = pair(rng, 3, cols);
      }
      const opt = onWasm(() => createOptimizer(config, params));
      const optj = createOptimizer(config, paramsj);
      const calls = wasm.vectors.wasmCalls;
      for (let step = 0; step < 4; step++) {
        onWasm(() => optimizerStep(opt, params, grads));
        optimizerStep(optj, paramsj, gradsj);
        for (const name in params) expect(same(params[name], paramsj[name])).toBe(true);
      }
      expect(wasm.vectors.wasmCalls - calls).toBe(12);
      for (const name in opt.slots) for (const slot in opt.slots[name]) expect(same(opt.slots[name][slot], optj.slots[name][slot])).toBe(true);
    });
  }

  it('operands outside the heap (plain arrays, float64) run the js kernels', () => {
    const rng = new Rng(6);
    const [, xj] = pair(rng, 4, 8), [, bj] = pair(rng, 1, 8);
    const calls = wasm.vectors.jsCalls;
    const out = new Matrix(4, 8, new Float32Array(32));
    onWasm(() => addBias(out, xj, bj));
    const ref = new Matrix(4, 8, new Float32Array(32));
    addBias(ref, xj, bj);
    expect(same(out, ref)).toBe(true);
    const f64 = Matrix.zeros(2, 3, 'float64');
    onWasm(() => sumRows(Matrix.zeros(1, 3, 'float64'), f64));
    expect(wasm.vectors.jsCalls - calls).toBe(2);
  });
});
