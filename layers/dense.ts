/**
 * The dense (fully connected) layer, PyTorch's nn.Linear: Y = X·Wᵀ + b.
 *
 * Shapes (N rows = a batch, or all T·B rows of a time-major sequence at once):
 *   X [N, in], W [out, in], b [1, out], Y [N, out]
 * It is the notes' output layer ŷ⟨t⟩ = softmax(W_ya a⟨t⟩ + b_y) without the softmax (feed Y to
 * `crossEntropy`), applied to every step with a single GEMM.
 *
 * Backward ACCUMULATES into the layer's gradients (zero them explicitly between updates):
 *   dW += dYᵀ·X  [out, in],  db += Σ_rows dY  [1, out],  dX = dY·W  [N, in] (written, or added).
 */
import { gemm, gemmTransAccumulate } from '../engine/gemm.js';
import { initPytorchDefault, initXavierUniform } from '../engine/init.js';
import { Matrix, expectShape, shapeOf, zero, type DType } from '../engine/matrix.js';
import { addBias, sumRows } from '../engine/ops.js';
import { resolveCreateOptions, type CreateOptions } from '../engine/create.js';
import type { Rng } from '../engine/rng.js';

export interface DenseParams {
  /** [out, in] */
  W: Matrix;
  /** [1, out]; absent when the layer was created with `bias: false`. */
  b?: Matrix;
}

export interface DenseLayer {
  readonly inputSize: number;
  readonly outputSize: number;
  readonly dtype: DType;
  readonly params: DenseParams;
  /** Same keys and shapes as params; denseBackward adds into them. */
  readonly grads: DenseParams;
}

export interface DenseOptions {
  /** 'float32' (default) or 'float64' (gradient checks). */
  dtype?: DType;
  /** With a bias b (default true). */
  bias?: boolean;
  /**
   * 'pytorch' (default, nn.Linear): W and b ~ U(−1/√in, 1/√in);
   * 'xavier': W ~ Glorot uniform U(±√(6 / (in + out))), b = 0; 'zeros': all 0.
   */
  init?: 'pytorch' | 'xavier' | 'zeros';
}

/** The structure of a dense layer: in → out and the options above. */
export interface DenseConfig extends DenseOptions {
  inputSize: number;
  outputSize: number;
}

/** A new dense layer inputSize → outputSize, initialised from `options.rng` (default seed, see engine/create.ts). */
export function createDense(config: DenseConfig, options?: CreateOptions): DenseLayer;
/** @deprecated Use `createDense({ inputSize, outputSize, ...opts }, { rng, dtype })`. */
export function createDense(inputSize: number, outputSize: number, rng: Rng, opts?: DenseOptions): DenseLayer;
export function createDense(first: DenseConfig | number, second?: CreateOptions | number, oldRng?: Rng, oldOpts: DenseOptions = {}): DenseLayer {
  const config: DenseConfig = typeof first === 'number' ? { ...oldOpts, inputSize: first, outputSize: second as number } : first;
  const options = typeof first === 'number' ? { rng: oldRng } : second as CreateOptions | undefined;
  const { inputSize, outputSize } = config;
  for (const [name, v] of [['inputSize', inputSize], ['outputSize', outputSize]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`createDense: expected a positive integer ${name}, got ${v}`);
  }
  const { rng, dtype } = resolveCreateOptions('createDense', options, config.dtype);
  const init = config.init ?? 'pytorch';
  const W = Matrix.zeros(outputSize, inputSize, dtype);
  const b = config.bias === false ? undefined : Matrix.zeros(1, outputSize, dtype);
  switch (init) {
    case 'pytorch':
      initPytorchDefault(W, rng, inputSize);
      if (b) initPytorchDefault(b, rng, inputSize);
      break;
    case 'xavier':
      initXavierUniform(W, rng);
      break;
    case 'zeros':
      break;
    default:
      throw new Error(`createDense: expected init 'pytorch', 'xavier' or 'zeros', got '${String(init)}'`);
  }
  const params: DenseParams = b ? { W, b } : { W };
  const grads: DenseParams = { W: Matrix.zeros(outputSize, inputSize, dtype) };
  if (b) grads.b = Matrix.zeros(1, outputSize, dtype);
  return { inputSize, outputSize, dtype, params, grads };
}

function checkInput(op: string, layer: DenseLayer, x: Matrix): void {
  if (x.cols !== layer.inputSize) {
    throw new Error(`${op}: expected x [N, ${layer.inputSize}] for a dense layer ${layer.inputSize} → ${layer.outputSize}, got ${shapeOf(x)}`);
  }
}

/** Y = X·Wᵀ + b: y [N, out] is written; it must not overlap x. Returns y. */
export function denseForward(y: Matrix, layer: DenseLayer, x: Matrix): Matrix {
  checkInput('denseForward', layer, x);
  expectShape('denseForward', 'y', y, x.rows, layer.outputSize);
  gemm(y, x, layer.params.W, false, true);
  if (layer.params.b) addBias(y, y, layer.params.b);
  return y;
}

/**
 * Given X [N, in] of the forward pass and dY = ∂L/∂Y [N, out]:
 *   grads.W += dYᵀ·X,  grads.b += Σ_rows dY,  dx = dY·W  (dx += dY·W with accumulateDx).
 * Pass dx = null when the input needs no gradient (e.g. the first layer fed with data).
 */
export function denseBackward(layer: DenseLayer, x: Matrix, dy: Matrix, dx: Matrix | null, accumulateDx = false): void {
  checkInput('denseBackward', layer, x);
  expectShape('denseBackward', 'dy', dy, x.rows, layer.outputSize);
  if (dx) expectShape('denseBackward', 'dx', dx, x.rows, layer.inputSize);
  gemmTransAccumulate(layer.grads.W, dy, x);
  if (layer.grads.b) sumRows(layer.grads.b, dy, true);
  if (dx) gemm(dx, dy, layer.params.W, false, false, 1, accumulateDx ? 1 : 0);
}

/** Zero the layer's gradient buffers (before accumulating a new batch). */
export function denseZeroGrad(layer: DenseLayer): void {
  zero(layer.grads.W);
  if (layer.grads.b) zero(layer.grads.b);
}
