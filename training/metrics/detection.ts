/**
 * Scores of a detector or a binary tagger: true/false positives and false negatives, precision,
 * recall and F1 (the notes' evaluation metrics for skewed classes), and matching detections to
 * the windows in which they count as correct (trigger-word detection). Pure functions.
 */

export interface DetectionCounts {
  /** Detections inside the window of a trigger not matched before. */
  truePositives: number;
  /** Detections outside every window, or a second detection in an already matched window. */
  falsePositives: number;
  /** Triggers whose window got no detection. */
  falseNegatives: number;
}

/**
 * Match detections (steps) to label windows, each window at most once, in time order. With
 * `early` > 0 a detection up to that many steps before a window's first step also matches it
 * (step k, the one in which the word ends, already holds the word's last frames).
 */
export function scoreDetections(detections: readonly number[], windows: readonly [number, number][], early = 0): DetectionCounts {
  if (!Number.isInteger(early) || early < 0) throw new Error(`scoreDetections: expected early to be an integer ≥ 0, got ${early}`);
  const matched = new Uint8Array(windows.length);
  let truePositives = 0, falsePositives = 0;
  for (const d of detections) {
    const w = windows.findIndex(([first, last], i) => matched[i] === 0 && d >= first - early && d <= last);
    if (w >= 0) {
      matched[w] = 1;
      truePositives++;
    } else {
      falsePositives++;
    }
  }
  return { truePositives, falsePositives, falseNegatives: windows.length - truePositives };
}

export interface PrecisionRecall {
  precision: number;
  recall: number;
  f1: number;
}

/**
 * precision = TP / (TP + FP), recall = TP / (TP + FN), F1 = 2PR / (P + R); each is 0 when its
 * denominator is 0 (scikit-learn's zero_division = 0).
 */
export function precisionRecall(counts: DetectionCounts): PrecisionRecall {
  const { truePositives: tp, falsePositives: fp, falseNegatives: fn } = counts;
  for (const [name, v] of [['truePositives', tp], ['falsePositives', fp], ['falseNegatives', fn]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`precisionRecall: expected ${name} to be an integer ≥ 0, got ${v}`);
  }
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}

/** Σ of several counts (e.g. over clips). */
export function addCounts(a: DetectionCounts, b: DetectionCounts): DetectionCounts {
  return {
    truePositives: a.truePositives + b.truePositives,
    falsePositives: a.falsePositives + b.falsePositives,
    falseNegatives: a.falseNegatives + b.falseNegatives,
  };
}
