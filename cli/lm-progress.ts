/** Language-model training with a progress bar: shared by `seqgrad train` and `seqgrad start`. */
import { stopFlag } from './interrupt.js';
import { createProgress, type Progress } from './progress.js';
import type { LmEvaluationRecord, LmProgress, LmTrainResult, LmTrainer } from '../training/lm/train.js';

/**
 * What the progress line's columns mean, for the --help of the commands that show it. The loss is in
 * bits per token, the unit of the summary and of the validation column (the trainer's loss is in nats).
 */
export const LM_PROGRESS_NOTE = [
  'progress (stderr): steps done/total, %, time elapsed, eta, then',
  '  train bpc|bpw  smoothed training loss, bits per char|word (the summary\'s unit)',
  '  tok/s          tokens per second',
  '  grad/clip      ‖g‖ (max |g| with --clip-mode value) over --clip: above 1, the step was clipped',
  '  val bpc|bpw    the last validation loss, bits per char|word',
].join('\n');

/** `bpc` for a character model, `bpw` for a word model: bits per token, the summaries' unit. */
export function bitsUnit(level: 'char' | 'word'): string {
  return level === 'char' ? 'bpc' : 'bpw';
}

/**
 * Run a trainer with a progress bar on stderr (LM_PROGRESS_NOTE); the CLI's stop flag (Ctrl-C,
 * SIGTERM: cli/interrupt.ts) ends the run after the step under way.
 */
export function runWithProgress(
  trainer: LmTrainer, label: string, opts: Parameters<LmTrainer['run']>[0] & object,
): LmTrainResult {
  let progress: Progress | null = null;
  let lastVal = '';
  let last: LmProgress | null = null;
  const unit = bitsUnit(trainer.model.config.level);
  const show = (p: LmProgress): void => {
    progress ??= createProgress({ label, total: p.totalSteps, unit: 'steps' });
    progress.update(p.step, {
      [`train ${unit}`]: (p.smoothLoss / Math.LN2).toFixed(3),
      'tok/s': Math.round(p.tokensPerSecond),
      ...(p.clipRatio > 0 ? { 'grad/clip': p.clipRatio.toFixed(2) } : {}),
      ...(lastVal ? { [`val ${unit}`]: lastVal } : {}),
    });
  };
  const result = trainer.run({
    ...opts,
    signal: stopFlag,
    onProgress: (p) => {
      last = p;
      show(p);
    },
    onEvaluation: (e: LmEvaluationRecord) => {
      lastVal = e.bitsPerToken.toFixed(3);
      // A validation after the step's progress: the line (the last one above all) shows it at once.
      if (last) show(last);
    },
  });
  (progress as Progress | null)?.finish(`${result.stopReason}`);
  return result;
}
