/**
 * A deliberately broken backward pass, for the page's "break it" switch: the cell's stepBackward
 * runs as written and then forgets the recurrent term — as if the line
 *   ∂L/∂a⟨t−1⟩ = (∂L/∂z⟨t⟩)·W_a        (the RNN's; the gated cells' sum several such terms)
 * had been left out of BPTT. The gradient then stops after one step back in time: the check shows
 * h0 with an analytic gradient of 0 and W_a, W_x, b off, while the forward pass is untouched.
 */
import { zero } from '../engine/matrix.js';
import type { RecurrentCell } from '../layers/cells/cell.js';

export function dropRecurrentTerm(cell: RecurrentCell): RecurrentCell {
  // Same parameters, gradients, workspace and forward: only stepBackward differs.
  const broken = Object.create(cell) as RecurrentCell & { stepBackward: RecurrentCell['stepBackward'] };
  broken.stepBackward = (ws, t, dNext, dxp, dPrev, prev, next) => {
    cell.stepBackward(ws, t, dNext, dxp, dPrev, prev, next);
    zero(dPrev[0]);
  };
  return broken;
}
