/** Language-model training with a progress bar: shared by `seqgrad train` and `seqgrad start`. */
import { stopFlag } from './interrupt.js';
import { createProgress, type Progress } from './progress.js';
import type { LmEvaluationRecord, LmTrainResult, LmTrainer } from '../training/lm/train.js';

/**
 * Run a trainer with a progress bar on stderr (loss, tokens/s, clip ratio, last validation); the
 * CLI's stop flag (Ctrl-C, SIGTERM: cli/interrupt.ts) ends the run after the step under way.
 */
export function runWithProgress(
  trainer: LmTrainer, label: string, opts: Parameters<LmTrainer['run']>[0] & object,
): LmTrainResult {
  let progress: Progress | null = null;
  let lastVal = '';
  const unit = trainer.model.config.level === 'char' ? 'bpc' : 'bpw';
  const result = trainer.run({
    ...opts,
    signal: stopFlag,
    onProgress: (p) => {
      progress ??= createProgress({ label, total: p.totalSteps, unit: 'steps' });
      progress.update(p.step, {
        loss: p.smoothLoss.toFixed(3),
        'tok/s': Math.round(p.tokensPerSecond),
        clip: p.clipRatio.toFixed(2),
        ...(lastVal ? { [`val ${unit}`]: lastVal } : {}),
      });
    },
    onEvaluation: (e: LmEvaluationRecord) => {
      lastVal = e.bitsPerToken.toFixed(3);
    },
  });
  (progress as Progress | null)?.finish(`${result.stopReason}`);
  return result;
}
