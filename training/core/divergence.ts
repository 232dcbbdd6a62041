/**
 * Divergence: a loss that is not finite, or far above where the run started, means the updates
 * are making the model worse (a learning rate far too large). Training then stops with a
 * `NumericalError` instead of going on and saving garbage weights.
 *
 * "Far above": more than 100 × the first loss and more than 100 nats above it. Even a run whose
 * learning rate is merely too large (it climbs to tens of nats and early stopping handles it)
 * stays below that; `train --lr 1e9` reaches 2e9 nats per token.
 */
import { NumericalError } from './errors.js';

/** The first loss of a run, against which later ones are judged. */
export interface DivergenceWatch {
  startLoss: number;
}

export function createDivergenceWatch(): DivergenceWatch {
  return { startLoss: NaN };
}

/**
 * Throws a NumericalError (naming `op`, the step — or epoch: `unit` —, both losses and `advice`) when `loss` is not
 * finite or far above the watch's start; the first finite loss becomes the start. `advice` may be a
 * function, called only on a failure (the loop's update builds its note lazily).
 */
export function checkDivergence(
  watch: DivergenceWatch, op: string, loss: number, step: number, advice: string | (() => string), unit = 'step',
): void {
  const say = (): string => (typeof advice === 'string' ? advice : advice());
  if (!Number.isFinite(loss)) {
    throw new NumericalError(`${op}: the loss is ${loss} at ${unit} ${step}: training diverged (${say()})`, step, 'loss');
  }
  if (Number.isNaN(watch.startLoss)) {
    watch.startLoss = loss;
    return;
  }
  if (loss > Math.max(100 * watch.startLoss, watch.startLoss + 100)) {
    throw new NumericalError(
      `${op}: the loss rose from ${watch.startLoss.toPrecision(4)} to ${loss.toPrecision(4)} at ${unit} ${step}: training diverged (${say()})`,
      step, 'loss',
    );
  }
}
