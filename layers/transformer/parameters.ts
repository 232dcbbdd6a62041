/**
 * Parameters of the Transformer layers under PyTorch-like dotted names ('layers.0.self_attn.W_q',
 * 'layers.0.linear1.weight', 'norm.bias', …): one flat record of parameters and one of their gradients,
 * the ParamSet the optimizers and the gradient checker take.
 */
import type { Matrix } from '../../engine/matrix.js';
import type { NamedParameters } from '../architectures.js';

export type { NamedParameters };

export type Named = { params: Record<string, Matrix | undefined>; grads: Record<string, Matrix | undefined> };

/** A dense layer under nn.Linear's names (weight, bias). */
export function denseNamed(layer: { params: { W: Matrix; b?: Matrix }; grads: { W: Matrix; b?: Matrix } }): Named {
  return { params: { weight: layer.params.W, bias: layer.params.b }, grads: { weight: layer.grads.W, bias: layer.grads.b } };
}

export function collectParameters(prefix: string, parts: [string, Named][]): NamedParameters {
  const params: Record<string, Matrix> = {};
  const grads: Record<string, Matrix> = {};
  for (const [name, part] of parts) {
    for (const [key, value] of Object.entries(part.params)) {
      const grad = part.grads[key];
      if (!value || !grad) continue;
      params[prefix + name + key] = value;
      grads[prefix + name + key] = grad;
    }
  }
  return { params, grads };
}

