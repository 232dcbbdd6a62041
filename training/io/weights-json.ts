/**
 * Copying named weights (name → MatrixJSON) into a freshly built model, with messages that name the
 * weight, its expected and its actual shape. No file system: model loaders that also run in a
 * browser (training/lm/model.ts) import this; reading the file is `model-file.ts`'s part.
 */
import { copyInto, shapeOf, type Matrix } from '../../engine/matrix.js';
import { matrixFromJSON, type MatrixJSON } from '../core/optimizers.js';

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
