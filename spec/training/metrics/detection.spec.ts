import { describe, expect, it } from 'vitest';
import { precisionRecall, scoreDetections } from '../../../training/metrics/detection.js';

describe('precision and recall of detections', () => {
  it('matches each window at most once; by hand', () => {
    const windows: [number, number][] = [[26, 30], [50, 55]];
    // 27 hits window 1; 29 is a second hit of the same window (a false alarm); 1 and 60 are outside.
    const counts = scoreDetections([1, 27, 29, 60], windows);
    expect(counts).toEqual({ truePositives: 1, falsePositives: 3, falseNegatives: 1 });
    const pr = precisionRecall(counts);
    expect(pr.precision).toBe(1 / 4);
    expect(pr.recall).toBe(1 / 2);
    expect(pr.f1).toBeCloseTo((2 * (1 / 4) * (1 / 2)) / (1 / 4 + 1 / 2), 15); // = 1/3
    // Window edges count; one detection per window.
    expect(scoreDetections([26, 55], windows)).toEqual({ truePositives: 2, falsePositives: 0, falseNegatives: 0 });
    expect(precisionRecall({ truePositives: 2, falsePositives: 0, falseNegatives: 0 })).toEqual({ precision: 1, recall: 1, f1: 1 });
    // A detection one step before a window (the step in which the word ends) counts only with early ≥ 1.
    expect(scoreDetections([25, 49], windows)).toEqual({ truePositives: 0, falsePositives: 2, falseNegatives: 2 });
    expect(scoreDetections([25, 49], windows, 1)).toEqual({ truePositives: 2, falsePositives: 0, falseNegatives: 0 });
    expect(scoreDetections([24], windows, 1)).toEqual({ truePositives: 0, falsePositives: 1, falseNegatives: 2 });
    expect(() => scoreDetections([1], windows, -1)).toThrow('scoreDetections: expected early to be an integer ≥ 0, got -1');
    // No detections and no triggers: every ratio is 0 (scikit-learn's zero_division = 0).
    expect(precisionRecall({ truePositives: 0, falsePositives: 0, falseNegatives: 0 })).toEqual({ precision: 0, recall: 0, f1: 0 });
    expect(precisionRecall({ truePositives: 0, falsePositives: 0, falseNegatives: 4 })).toEqual({ precision: 0, recall: 0, f1: 0 });
    expect(() => precisionRecall({ truePositives: -1, falsePositives: 0, falseNegatives: 0 })).toThrow('expected truePositives to be an integer ≥ 0');
  });
});
