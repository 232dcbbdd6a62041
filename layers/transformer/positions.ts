/**
 * The positions added to the Transformer's input embeddings ("positional encoding takes over part of the
 * RNN functionality"): the fixed sinusoidal table of the paper or a learned table (BERT, GPT), both from
 * layers/attention/multihead.ts. out[t·B + b] = x[t·B + b] + P[t], time-major, for T ≤ maxLength.
 */
import { Matrix, type DType } from '../../engine/matrix.js';
import { resolveCreateOptions, type CreateOptions } from '../../engine/create.js';
import type { Rng } from '../../engine/rng.js';
import {
  addPositionalBackward, addPositionalForward, createLearnedPositionalEmbedding, sinusoidalPositionalEncoding,
  type LearnedPositionalEmbedding,
} from '../attention/multihead.js';

export type PositionKind = 'sinusoidal' | 'learned';

export type TransformerPositions =
  | { readonly kind: 'sinusoidal'; readonly table: Matrix }
  | { readonly kind: 'learned'; readonly embedding: LearnedPositionalEmbedding };

/** The structure of the positions: their kind and the [maxLength, dim] table. */
export interface TransformerPositionsConfig {
  kind: PositionKind;
  maxLength: number;
  dim: number;
}

/** Positions of `config.kind`; a learned table is drawn from `options.rng` (default seed). */
export function createTransformerPositions(config: TransformerPositionsConfig, options?: CreateOptions): TransformerPositions;
/** @deprecated Use `createTransformerPositions({ kind, maxLength, dim }, { rng, dtype })`. */
export function createTransformerPositions(kind: PositionKind, maxLength: number, dim: number, rng: Rng, dtype?: DType): TransformerPositions;
export function createTransformerPositions(
  first: TransformerPositionsConfig | PositionKind, second?: CreateOptions | number, oldDim?: number, oldRng?: Rng, oldDType?: DType,
): TransformerPositions {
  const { kind, maxLength, dim } = typeof first === 'string' ? { kind: first, maxLength: second as number, dim: oldDim as number } : first;
  const { rng, dtype } = resolveCreateOptions('createTransformerPositions',
    typeof first === 'string' ? { rng: oldRng, dtype: oldDType } : second as CreateOptions | undefined);
  if (kind === 'learned') return { kind, embedding: createLearnedPositionalEmbedding({ maxLength, dim }, { rng, dtype }) };
  if (kind !== 'sinusoidal') throw new Error(`createTransformerPositions: expected 'sinusoidal' or 'learned', got '${kind as string}'`);
  if (!Number.isInteger(maxLength) || maxLength <= 0) throw new Error(`createTransformerPositions: expected maxLength to be a positive integer, got ${maxLength}`);
  return { kind, table: sinusoidalPositionalEncoding(Matrix.zeros(maxLength, dim, dtype)) };
}

/** The [maxLength, d] table P (the learned one is the parameter itself). */
export function positionTable(positions: TransformerPositions): Matrix {
  return positions.kind === 'learned' ? positions.embedding.params.weight : positions.table;
}

/** out = x + P[t] per row; out may alias x. */
export function positionsForward(out: Matrix, positions: TransformerPositions, x: Matrix, batch: number): Matrix {
  return addPositionalForward(out, x, positionTable(positions), batch);
}

/** dx += dOut (null to skip); a learned table also gets dP[t] += Σ_b dOut[t·B + b]. */
export function positionsBackward(dx: Matrix | null, positions: TransformerPositions, dOut: Matrix, batch: number): void {
  addPositionalBackward(positions.kind === 'learned' ? positions.embedding.grads.weight : null, dx, dOut, batch);
}
