/**
 * Copying named weights (name → MatrixJSON) into a freshly built model, with messages that name the
 * weight, its expected and its actual shape. No file system: model loaders that also run in a
 * browser (training/lm/model.ts) import this; reading the file is `model-file.ts`'s part.
 */
import { copyInto, shapeOf, type Matrix } from '../../engine/matrix.js';
import { InputError } from '../core/errors.js';
import type { OptimizerStateJSON } from '../core/optimizers.js';
import { matrixFromJSON, type MatrixJSON } from './tensors.js';

/**
 * Copy `weights` (name → MatrixJSON) into the model's parameters `params` (name → Matrix) of
 * the same names, shapes and dtypes. Every parameter must have a weight and every weight a
 * parameter; `fail` throws the caller's error ("model file m.json: lacks weight 'W_x' …") and
 * `owner` names the model in the message about an unknown weight ("this lstm model").
 */
export function copyWeightsFromJSON(
  params: Record<string, Matrix>, weights: Record<string, MatrixJSON>, fail: (what: string) => never, owner: string,
): void {
  for (const [name, p] of Object.entries(params)) {
    if (!(name in weights)) fail(`lacks weight '${name}' (expected ${p.dtype} ${shapeOf(p)})`);
    let m: Matrix;
    try {
      m = matrixFromJSON(weights[name]);
    } catch (err) {
      return fail(`weight '${name}': ${(err as Error).message}`);
    }
    if (m.rows !== p.rows || m.cols !== p.cols || m.dtype !== p.dtype) {
      fail(`expected weight '${name}' to be ${p.dtype} ${shapeOf(p)}, got ${m.dtype} ${shapeOf(m)}`);
    }
    copyInto(p, m);
  }
  for (const name of Object.keys(weights)) {
    if (!(name in params)) fail(`has weight '${name}', which ${owner} does not have`);
  }
}

/**
 * `byName` (weights, or an optimizer's state, by parameter name) under the current names:
 * an entry stored under a parameter's former name (`formerNames`: current → former) moves to the
 * current one, unless the current name is there too. Other entries are kept as they are, so
 * copyWeightsFromJSON still reports what is missing or unknown. Returns a new record.
 */
export function withCurrentNames<T>(byName: Record<string, T>, formerNames: Record<string, string>): Record<string, T> {
  const out: Record<string, T> = { ...byName };
  for (const [current, former] of Object.entries(formerNames)) {
    if (!Object.hasOwn(out, current) && Object.hasOwn(out, former)) {
      out[current] = out[former];
      delete out[former];
    }
  }
  return out;
}

/** A checkpoint's optimizer state with its per-parameter slots under the current names (anything else as it came). */
export function optimizerWithCurrentNames(json: OptimizerStateJSON, formerNames: Record<string, string>): OptimizerStateJSON {
  if (json === null || typeof json !== 'object' || json.slots === null || typeof json.slots !== 'object') return json;
  return { ...json, slots: withCurrentNames(json.slots, formerNames) };
}

/** The most weights a model may have (2²⁸ ≈ 268 M: 1 GB in float32, before gradients and optimizer state). */
export const MAX_MODEL_WEIGHTS = 2 ** 28;

/**
 * Before allocating a model: refuse one that needs more than MAX_MODEL_WEIGHTS weights (`needed`
 * is a lower bound from its configuration), as an InputError naming `op` and `what` it is.
 */
export function checkModelSize(op: string, needed: number, what: string): void {
  if (!(needed <= MAX_MODEL_WEIGHTS)) {
    throw new InputError(`${op}: ${what} needs at least ${needed.toExponential(2)} weights, more than the ${MAX_MODEL_WEIGHTS} a model may have`);
  }
}

/**
 * Before building a model from a file's configuration: a model that would need at least
 * `needed` weights (a lower bound from the configuration) cannot be filled from a file holding
 * fewer, so refuse it at once instead of allocating it first (`"layers": 100000` in a 14 KB file).
 * `what` describes the configuration ("lstm, hidden 100000, 1 layer(s)").
 */
export function checkConfigAgainstWeights(needed: number, weights: Record<string, MatrixJSON>, fail: (what: string) => never, what: string): void {
  const stored = storedWeightCount(weights);
  if (!(needed <= stored)) fail(`its config (${what}) needs at least ${needed} weights, the file holds ${stored}`);
}

/**
 * How many weights a file's matrices (name → MatrixJSON) can fill: per matrix rows·cols, but no
 * more than its base64 data holds (a file claiming `rows: 1e9` with no data fills nothing).
 */
export function storedWeightCount(weights: unknown): number {
  let stored = 0;
  if (weights === null || typeof weights !== 'object') return 0;
  for (const w of Object.values(weights as Record<string, Partial<MatrixJSON> | null>)) {
    if (!w || !Number.isInteger(w.rows) || !Number.isInteger(w.cols) || (w.rows as number) < 0 || (w.cols as number) < 0) continue;
    const held = typeof w.data === 'string' ? Math.floor((w.data.length * 3) / 4 / (w.dtype === 'float64' ? 8 : 4)) : 0;
    stored += Math.min((w.rows as number) * (w.cols as number), held);
  }
  return stored;
}
