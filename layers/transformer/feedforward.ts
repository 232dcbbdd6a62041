/**
 * The position-wise feed-forward block of the Transformer (Vaswani et al. 2017, §3.3), as PyTorch's
 * TransformerEncoderLayer._ff_block writes it (without its final dropout, which the residual owns):
 *   FFN(x) = W₂ · drop(f(W₁ x + b₁)) + b₂,  f = ReLU or the exact GELU,
 *   x [N, E] (every row — each position of each sequence — on its own), W₁ [F, E] (`linear1.weight`),
 *   b₁ [1, F], W₂ [E, F] (`linear2.weight`), b₂ [1, E]; out [N, E].
 * Backward, with Z = X W₁ᵀ + b₁, U = f(Z), Ũ = drop(U):
 *   dW₂ += dOutᵀ Ũ, db₂ += Σ dOut, dŨ = dOut W₂, dU = dŨ ∗ m, dZ = dU ∗ f′(Z),
 *   dW₁ += dZᵀ X, db₁ += Σ dZ, dX += dZ W₁ (ACCUMULATES into dX and the grads).
 */
import { relu, reluBackward } from '../../engine/activations.js';
import { gelu, geluBackward } from '../../engine/gelu.js';
import { Matrix, expectShape, zero, type DType } from '../../engine/matrix.js';
import { resolveCreateOptions, type CreateOptions } from '../../engine/create.js';
import type { Rng } from '../../engine/rng.js';
import { createDense, denseBackward, denseForward, denseZeroGrad, type DenseLayer } from '../dense.js';
import { createDropoutWorkspace, dropoutBackward, dropoutForward, type DropoutMode, type DropoutWorkspace } from '../dropout.js';

export type FeedForwardActivation = 'relu' | 'gelu';

export interface FeedForward {
  readonly activation: FeedForwardActivation;
  /** p of the dropout after the activation. */
  readonly dropout: number;
  /** E → F, then F → E; nn.Linear's default initialisation. */
  readonly linear1: DenseLayer;
  readonly linear2: DenseLayer;
}

export function checkFeedForwardActivation(op: string, activation: string): FeedForwardActivation {
  if (activation !== 'relu' && activation !== 'gelu') throw new Error(`${op}: expected activation 'relu' or 'gelu', got '${activation}'`);
  return activation;
}

/** The structure of a position-wise feed-forward block E → F → E. */
export interface FeedForwardConfig {
  dModel: number;
  dimFeedforward: number;
  activation?: FeedForwardActivation;
  dropout?: number;
}

export function createFeedForward(config: FeedForwardConfig, options?: CreateOptions): FeedForward;
/** @deprecated Use `createFeedForward({ dModel, dimFeedforward, activation, dropout }, { rng, dtype })`. */
export function createFeedForward(
  dModel: number, dimFeedforward: number, rng: Rng, options?: { activation?: FeedForwardActivation; dropout?: number; dtype?: DType },
): FeedForward;
export function createFeedForward(
  first: FeedForwardConfig | number, second?: CreateOptions | number, oldRng?: Rng,
  oldOptions: { activation?: FeedForwardActivation; dropout?: number; dtype?: DType } = {},
): FeedForward {
  const config = typeof first === 'number' ? { ...oldOptions, dModel: first, dimFeedforward: second as number } : first;
  const options = resolveCreateOptions('createFeedForward', typeof first === 'number' ? { rng: oldRng, dtype: oldOptions.dtype } : second as CreateOptions | undefined);
  const { dModel, dimFeedforward } = config;
  return {
    activation: checkFeedForwardActivation('createFeedForward', config.activation ?? 'relu'),
    dropout: config.dropout ?? 0,
    linear1: createDense({ inputSize: dModel, outputSize: dimFeedforward }, options),
    linear2: createDense({ inputSize: dimFeedforward, outputSize: dModel }, options),
  };
}

export function zeroFeedForwardGrads(ffn: FeedForward): void {
  denseZeroGrad(ffn.linear1);
  denseZeroGrad(ffn.linear2);
}

export interface FeedForwardWorkspace {
  readonly ffn: FeedForward;
  readonly rows: number;
  /** Z = X W₁ᵀ + b₁, U = f(Z), Ũ = drop(U) and the backward scratch, all [N, F]. */
  readonly hidden: Matrix; readonly activated: Matrix; readonly dropped: Matrix;
  readonly dDropped: Matrix; readonly dActivated: Matrix;
  readonly dropout: DropoutWorkspace;
  input: Matrix | null;
}

export function createFeedForwardWorkspace(ffn: FeedForward, rows: number): FeedForwardWorkspace {
  const F = ffn.linear1.outputSize, dtype = ffn.linear1.dtype;
  const m = (): Matrix => Matrix.zeros(rows, F, dtype);
  return {
    ffn, rows, hidden: m(), activated: m(), dropped: m(), dDropped: m(), dActivated: m(),
    dropout: createDropoutWorkspace({ p: ffn.dropout, rows, cols: F }, { dtype }), input: null,
  };
}

/** out [N, E] = FFN(x [N, E]); out must not overlap x; x must stay unchanged until the backward pass. */
export function feedForwardForward(out: Matrix, ws: FeedForwardWorkspace, x: Matrix, mode: DropoutMode): Matrix {
  const { ffn } = ws;
  expectShape('feedForwardForward', 'x', x, ws.rows, ffn.linear1.inputSize);
  denseForward(ws.hidden, ffn.linear1, x);
  if (ffn.activation === 'relu') relu(ws.activated, ws.hidden);
  else gelu(ws.activated, ws.hidden);
  dropoutForward(ws.dropped, ws.dropout, ws.activated, mode);
  denseForward(out, ffn.linear2, ws.dropped);
  ws.input = x;
  return out;
}

/** Backward of feedForwardForward given dOut [N, E]: accumulates into dx [N, E] (null to skip) and the grads. */
export function feedForwardBackward(dx: Matrix | null, ws: FeedForwardWorkspace, dOut: Matrix): void {
  if (!ws.input) throw new Error('feedForwardBackward: call feedForwardForward first');
  const { ffn } = ws;
  denseBackward(ffn.linear2, ws.dropped, dOut, ws.dDropped);
  zero(ws.dActivated);
  dropoutBackward(ws.dActivated, ws.dropout, ws.dDropped);
  const dHidden = ws.dDropped; // reused: dŨ is consumed
  if (ffn.activation === 'relu') reluBackward(dHidden, ws.dActivated, ws.activated);
  else geluBackward(dHidden, ws.dActivated, ws.hidden);
  denseBackward(ffn.linear1, ws.input, dHidden, dx, true);
}
