/**
 * The one constructor convention of seqgrad: `createX(config, { rng?, dtype? })`.
 *
 * `config` is the structure (sizes, kinds, options: plain data, what a model file stores); the second
 * argument says where the initial weights come from and in which precision they are kept:
 *   rng    the generator every random initial weight is drawn from; default `new Rng(DEFAULT_SEED)`,
 *          a fresh generator per call (so two calls without an rng build the same weights — pass one
 *          Rng to several constructors to draw them from one stream);
 *   dtype  'float32' (default) or 'float64' (gradient checks); a `dtype` in the config (a rebuilt
 *          structure such as `cell.config`) is used when the options give none.
 * A constructor whose weights are loaded right after can omit both, or pass `rng: NO_INIT`
 * (engine/init.ts) so that no random weight is drawn only to be overwritten.
 */
import type { DType } from './matrix.js';
import { Rng } from './rng.js';

/** The seed of the generator a constructor uses when it is given none (the CLI's `--seed` default too). */
export const DEFAULT_SEED = 1;

/** The second argument of every constructor. */
export interface CreateOptions {
  /** Generator of the initial weights (default `new Rng(DEFAULT_SEED)`). */
  rng?: Rng;
  /** 'float32' (default) or 'float64'. */
  dtype?: DType;
}

/** What a constructor works with: the options with their defaults filled in. */
export interface ResolvedCreateOptions {
  rng: Rng;
  dtype: DType;
}

/**
 * Fill in the defaults of `options`; `configDType` is a dtype given in the config (used when the
 * options have none). Throws, naming `op`, on an rng that is not an Rng or a dtype that is not one.
 */
export function resolveCreateOptions(op: string, options: CreateOptions | undefined, configDType?: DType): ResolvedCreateOptions {
  const rng = options?.rng ?? new Rng(DEFAULT_SEED);
  if (!isRng(rng)) throw new Error(`${op}: expected options.rng to be an Rng, got ${typeof rng}`);
  const dtype = options?.dtype ?? configDType ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float64') throw new Error(`${op}: expected dtype float32 or float64, got '${String(dtype)}'`);
  return { rng, dtype };
}

/** True for a generator (to tell a deprecated positional `rng` argument from an options object). */
export function isRng(value: unknown): value is Rng {
  return typeof value === 'object' && value !== null && typeof (value as Rng).uniform === 'function';
}
