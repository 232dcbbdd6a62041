/**
 * The loss curve of a language-model run as an SVG: the smoothed training loss and the validation
 * loss in bits per token (nats / ln 2), by step or by training time.
 */
import { lineChartSvg, type LineSeries } from '../plot/charts.js';
import { smoothedCurve } from '../plot/smoothing.js';
import type { LmTrainResult } from './train.js';

const bits = (nats: number): number => nats / Math.LN2;

/**
 * By step, the training loss is every step's, smoothed (training/plot/smoothing.ts); by time,
 * it is the smoothed loss recorded at each validation. `unit` names the token ("char", "word").
 */
export function lmCurveSvg(
  title: string, result: Pick<LmTrainResult, 'lossHistory' | 'evaluations'> & { lossHistoryFirstStep?: number },
  x: 'step' | 'time', unit: string,
): string {
  // A resumed run's history may start after step 1 (its checkpoint kept only the last losses).
  const offset = (result.lossHistoryFirstStep ?? 1) - 1;
  const series: LineSeries[] = x === 'step'
    ? [
      { name: 'train (smoothed)', points: smoothedCurve(result.lossHistory).map(([i, loss]) => [i + offset, bits(loss)]) },
      { name: 'validation', points: result.evaluations.map((e) => [e.step, bits(e.loss)]) },
    ]
    : [
      { name: 'train (smoothed)', points: result.evaluations.filter((e) => Number.isFinite(e.trainLoss)).map((e) => [e.trainSeconds, bits(e.trainLoss)]) },
      { name: 'validation', points: result.evaluations.map((e) => [e.trainSeconds, bits(e.loss)]) },
    ];
  return lineChartSvg({
    title, xLabel: x === 'step' ? 'step' : 'training time (s)', yLabel: `bits per ${unit}`,
    series: series.filter((s) => s.points.length > 0),
  });
}
