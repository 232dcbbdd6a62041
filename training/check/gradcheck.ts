/**
 * The gradient checker: central differences in float64 against a hand-written backward.
 *
 * For each named parameter or input θ and each checked entry i:
 *   n_i = (L(θ + ε·e_i) − L(θ − ε·e_i)) / 2ε
 * and the report gives the relative error ‖g − n‖ / (‖g‖ + ‖n‖) over the checked entries
 * (0 when both are zero), the shape and the worst entries. seqgrad's promise: ≤ 1e−7 for every
 * backward pass, on several time steps, batch > 1, with masks.
 */
import { type Matrix, shapeOf } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';

export interface GradCheckProblem {
  /** The tensors to check (float64); the checker perturbs them in place and restores them. */
  params: Record<string, Matrix>;
  /** The scalar loss at the current values of params. */
  loss(): number;
  /** The analytic gradients at the current values, keyed like params (same shapes). */
  gradients(): Record<string, Matrix>;
}

export interface GradCheckEntry {
  index: [number, number];
  analytic: number;
  numeric: number;
  absError: number;
}

export interface GradCheckResult {
  name: string;
  shape: [number, number];
  /** Entries compared (all, or a seeded sample of maxEntries). */
  checked: number;
  relError: number;
  /** ‖g‖ and ‖n‖ over the checked entries (the analytic and the numeric gradient). */
  analyticNorm: number;
  numericNorm: number;
  pass: boolean;
  worst: GradCheckEntry[];
}

export interface GradCheckOptions {
  /** Finite-difference step (default 1e−5). */
  eps?: number;
  /** Pass threshold on the relative error (default 1e−7). */
  tolerance?: number;
  /** How many worst entries to report (default 3). */
  worst?: number;
  /** Check at most this many entries per tensor, drawn with a seeded generator (default all). */
  maxEntries?: number;
  /** Seed of that sample (default 0). */
  seed?: number;
}

export const DEFAULT_TOLERANCE = 1e-7;

export function gradCheck(problem: GradCheckProblem, options: GradCheckOptions = {}): GradCheckResult[] {
  const eps = options.eps ?? 1e-5;
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  const worstCount = options.worst ?? 3;
  const rng = new Rng(options.seed ?? 0);
  const analytic = snapshot(problem.gradients());
  const results: GradCheckResult[] = [];
  for (const [name, param] of Object.entries(problem.params)) {
    if (param.dtype !== 'float64') {
      throw new Error(`gradCheck: expected '${name}' to be float64, got ${param.dtype}`);
    }
    const grad = analytic[name];
    if (!grad) throw new Error(`gradCheck: gradients() returned no entry for '${name}'`);
    if (grad.rows !== param.rows || grad.cols !== param.cols) {
      throw new Error(`gradCheck: expected the gradient of '${name}' to be ${shapeOf(param)}, got ${shapeOf(grad)}`);
    }
    const indices = pickEntries(param, options.maxEntries, rng);
    let diff2 = 0, g2 = 0, n2 = 0;
    const entries: GradCheckEntry[] = [];
    for (const [r, c] of indices) {
      const saved = param.get(r, c);
      param.set(r, c, saved + eps);
      const plus = problem.loss();
      param.set(r, c, saved - eps);
      const minus = problem.loss();
      param.set(r, c, saved);
      const numeric = (plus - minus) / (2 * eps);
      const g = grad.get(r, c);
      diff2 += (g - numeric) ** 2;
      g2 += g * g;
      n2 += numeric * numeric;
      entries.push({ index: [r, c], analytic: g, numeric, absError: Math.abs(g - numeric) });
    }
    const denominator = Math.sqrt(g2) + Math.sqrt(n2);
    const relError = denominator === 0 ? 0 : Math.sqrt(diff2) / denominator;
    entries.sort((a, b) => b.absError - a.absError);
    results.push({
      name,
      shape: [param.rows, param.cols],
      checked: indices.length,
      relError: Number.isFinite(relError) ? relError : Infinity,
      analyticNorm: Math.sqrt(g2),
      numericNorm: Math.sqrt(n2),
      pass: Number.isFinite(relError) && relError <= tolerance,
      worst: entries.slice(0, worstCount),
    });
  }
  return results;
}

function snapshot(grads: Record<string, Matrix>): Record<string, Matrix> {
  const out: Record<string, Matrix> = {};
  for (const [k, v] of Object.entries(grads)) out[k] = v.clone('float64');
  return out;
}

function pickEntries(param: Matrix, maxEntries: number | undefined, rng: Rng): [number, number][] {
  const all: [number, number][] = [];
  for (let r = 0; r < param.rows; r++) for (let c = 0; c < param.cols; c++) all.push([r, c]);
  if (maxEntries === undefined || all.length <= maxEntries) return all;
  rng.shuffle(all);
  return all.slice(0, maxEntries);
}

/** One row of the `seqgrad gradcheck` table: a problem with a group and an op name. */
export interface GradCheckCase {
  /** 'engine', 'cells', 'wrappers', 'embeddings', 'attention', … */
  group: string;
  /** e.g. 'softmax + cross-entropy', 'LSTM (peephole), masked'. */
  op: string;
  /** Build the problem from a seeded generator (float64 tensors). */
  build(rng: Rng): GradCheckProblem;
  /** Sample this many entries per tensor instead of all (large parameter sets). */
  maxEntries?: number;
}

export interface GradCheckRow extends GradCheckResult {
  group: string;
  op: string;
}

/** Run cases and flatten to table rows (one per op × parameter). */
export function runGradCheckCases(cases: GradCheckCase[], seed = 1234, options: GradCheckOptions = {}): GradCheckRow[] {
  const rows: GradCheckRow[] = [];
  for (const testCase of cases) {
    const problem = testCase.build(new Rng(seed));
    const maxEntries = options.maxEntries ?? testCase.maxEntries;
    for (const result of gradCheck(problem, { ...options, maxEntries })) {
      rows.push({ group: testCase.group, op: testCase.op, ...result });
    }
  }
  return rows;
}

/** A fixed-width table of rows: op, parameter, shape, relative error, pass/fail. */
export function formatGradCheckTable(rows: GradCheckRow[], verbose = false, tolerance = DEFAULT_TOLERANCE): string {
  const header = ['op', 'parameter', 'shape', 'rel. error', `≤ ${tolerance.toExponential(0)}`];
  const body = rows.map((r) => [
    r.op, r.name, `[${r.shape.join(', ')}]`, r.relError.toExponential(2), r.pass ? 'pass' : 'FAIL',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  ')];
  rows.forEach((r, i) => {
    out.push(line(body[i]));
    if (verbose) {
      for (const w of r.worst) {
        out.push(`    at [${w.index.join(', ')}]: analytic ${w.analytic.toExponential(6)}, numeric ${w.numeric.toExponential(6)}, |Δ| ${w.absError.toExponential(2)}`);
      }
    }
  });
  return out.join('\n');
}
