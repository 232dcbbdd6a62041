/**
 * The curve of an encoder-decoder run as an SVG on a log axis: the smoothed training loss, the
 * validation loss (nats per token) and 1 − greedy exact match at each validation.
 */
import { lineChartSvg } from '../plot/charts.js';
import { smoothedCurve } from '../plot/smoothing.js';
import type { Seq2SeqTrainResult } from './train.js';

export function seq2seqCurveSvg(
  title: string, result: Pick<Seq2SeqTrainResult, 'lossHistory' | 'evaluations'> & { lossHistoryFirstStep?: number },
): string {
  // A resumed run's history may start after step 1 (its checkpoint kept only the last losses).
  const offset = (result.lossHistoryFirstStep ?? 1) - 1;
  const val = result.evaluations.filter((e) => Number.isFinite(e.loss)).map((e): [number, number] => [e.step, e.loss]);
  const exact = result.evaluations.filter((e) => Number.isFinite(e.exactMatch)).map((e): [number, number] => [e.step, 1 - e.exactMatch]);
  return lineChartSvg({
    title, xLabel: 'step', yLabel: 'loss per token (nats) / 1 − exact match', logY: true,
    series: [
      { name: 'train loss (smoothed)', points: smoothedCurve(result.lossHistory).map(([i, loss]): [number, number] => [i + offset, loss]) },
      { name: 'validation loss', points: val },
      // A perfect exact match (1 − 1 = 0) has no place on a log axis: a hollow mark on the bottom edge, not a value.
      { name: '1 − greedy exact match', points: exact, zerosOffScale: true },
    ].filter((s) => s.points.length > 0),
  });
}
