/**
 * Gradient flow through time, made visible (the notes' vanishing/exploding gradients lesson).
 *
 * Set-up: a cell of hidden size H reads T steps of x⟨t⟩ ~ N(0, 1) from a zero state; the loss sits
 * at the last step only,
 *   L = Σ_b w · a_b⟨T⟩        (w a fixed random unit vector, so ‖∂L/∂a_b⟨T⟩‖ = 1)
 * and we measure, for every t = 0 … T,
 *   g⟨t⟩ = mean over the B sequences of ‖∂L/∂a_b⟨t⟩‖
 * — how much of the signal at the end reaches step t. For the plain RNN
 *   ∂L/∂a⟨t−1⟩ = ∂L/∂a⟨t⟩ · diag(g′(z⟨t⟩)) · W_aa
 * is a product of T − t Jacobians, which shrinks (or grows) geometrically; the LSTM's cell state
 * path multiplies by the forget gate Γf instead, and the GRU's by 1 − Γu. (For the LSTM and GRU
 * ∂L/∂a⟨t⟩ is the gradient w.r.t. the hidden state a⟨t⟩ with c⟨t⟩ held separately.)
 *
 * Everything is float64, seeded (PyTorch's default initialisation U(±1/√H) unless `init` says
 * otherwise), so the curves are reproducible and far below float32's range (1e−38) still
 * meaningful. Exploding gradients: scale W_a up (`recurrentScale` > 1), or a ReLU RNN with the
 * IRNN initialisation (W_aa = I) scaled above 1 — each step then multiplies the gradient of the
 * active units by the scale.
 *
 * Two ways to get g⟨t⟩ (they agree to rounding; a test checks it):
 *   `gradientFlow`            one forward and one BPTT pass, the backward driven step by step by the
 *                             runner's step driver, reading ∂L/∂a⟨t⟩ at each step;
 *   `gradientFlowViaRunner`   for each t, the runner's forward over the prefix x⟨1…t⟩ gives
 *                             state⟨t⟩, and its backward over the suffix x⟨t+1…T⟩ from h0 = state⟨t⟩
 *                             returns dh0 = ∂L/∂a⟨t⟩ (O(T²); for checking).
 */
import { Matrix, type DType } from '../../engine/matrix.js';
import { Rng } from '../../engine/rng.js';
import type { CellKind, RecurrentCell } from '../../layers/cells/cell.js';
import { createCell } from '../../layers/cells/create-cell.js';
import {
  backwardStep, beginBackwardSteps, createSequenceWorkspace, sequenceBackward, sequenceForward, stateGradient,
} from '../../layers/sequence.js';
import { lineChartSvg } from '../plot/charts.js';

export interface GradFlowOptions {
  cell: CellKind;
  /** T ≥ 1. */
  steps: number;
  /** H (default 32). */
  hidden?: number;
  /** D (default: H). */
  inputSize?: number;
  /** B sequences averaged (default 8). */
  batch?: number;
  /** Seed of the weights, inputs and w (default 1). */
  seed?: number;
  /** LSTMs: b_f after initialisation (default: PyTorch's init, no change). */
  forgetBias?: number;
  /** Multiply the recurrent weights W_a by this after initialisation (default 1): > 1 pushes toward exploding. */
  recurrentScale?: number;
  /** RNN only: g = 'tanh' (default) or 'relu'. */
  activation?: 'tanh' | 'relu';
  /**
   * 'pytorch' (default) U(±1/√H); 'orthogonal' (each gate's block of W_a orthogonal: no growth or
   * decay from W_a alone); 'irnn' (RNN only, W_aa = I: with ReLU and a scale > 1 the gradient explodes).
   */
  init?: 'pytorch' | 'orthogonal' | 'irnn';
}

export interface GradFlowResult {
  cell: CellKind;
  steps: number;
  hidden: number;
  batch: number;
  seed: number;
  /** norms[t] = mean_b ‖∂L/∂a_b⟨t⟩‖ for t = 0 … T (norms[T] = 1; norms[0] is the initial state's). */
  norms: number[];
}

interface Setup {
  cell: RecurrentCell;
  x: Matrix;
  /** [B, H]: every row is the unit vector w. */
  dLoss: Matrix;
  T: number;
  B: number;
  H: number;
}

function setUp(opts: GradFlowOptions): Setup {
  const op = 'gradientFlow';
  const T = opts.steps, H = opts.hidden ?? 32, B = opts.batch ?? 8;
  const D = opts.inputSize ?? H;
  for (const [name, v] of [['steps', T], ['hidden', H], ['batch', B], ['inputSize', D]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${op}: expected ${name} to be a positive integer, got ${v}`);
  }
  const rng = new Rng(opts.seed ?? 1);
  const dtype: DType = 'float64';
  const cell = createCell({
    kind: opts.cell, inputSize: D, hiddenSize: H, forgetBias: opts.forgetBias, activation: opts.activation, init: opts.init,
    recurrentScale: opts.recurrentScale,
  }, { rng, dtype });
  const x = Matrix.zeros(T * B, D, dtype);
  for (let i = 0; i < x.data.length; i++) x.data[i] = rng.normal(0, 1);
  const w = new Float64Array(H);
  let norm = 0;
  for (let j = 0; j < H; j++) { w[j] = rng.normal(0, 1); norm += w[j] * w[j]; }
  const dLoss = Matrix.zeros(B, H, dtype);
  for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) dLoss.set(b, j, w[j] / Math.sqrt(norm));
  return { cell, x, dLoss, T, B, H };
}

/** mean over rows of the row's Euclidean norm */
function meanRowNorm(m: Matrix): number {
  let total = 0;
  for (let r = 0; r < m.rows; r++) {
    let s = 0;
    for (let c = 0; c < m.cols; c++) s += m.get(r, c) ** 2;
    total += Math.sqrt(s);
  }
  return total / m.rows;
}

/**
 * g⟨t⟩ for t = 0 … T from one forward pass and one BPTT pass: the runner's forward keeps every
 * state; its step driver runs the backward from ∂L/∂a⟨T⟩ = w (∂L/∂c⟨T⟩ = 0), and ‖∂L/∂a⟨t⟩‖ is
 * read before every step.
 */
export function gradientFlow(opts: GradFlowOptions): GradFlowResult {
  const { cell, x, dLoss, T, B, H } = setUp(opts);
  const ws = createSequenceWorkspace(cell, T, B);
  sequenceForward(cell, ws, x);
  const dFinal = cell.stateCount === 2 ? [dLoss, Matrix.zeros(B, H, cell.dtype)] : [dLoss];
  beginBackwardSteps(ws, dFinal);
  const norms = new Array<number>(T + 1).fill(0);
  for (let t = T - 1; t >= 0; t--) {
    norms[t + 1] = meanRowNorm(stateGradient(ws)[0]);
    backwardStep(ws, t);
  }
  norms[0] = meanRowNorm(stateGradient(ws)[0]);
  return result(opts, T, H, B, norms);
}

function result(opts: GradFlowOptions, T: number, H: number, B: number, norms: number[]): GradFlowResult {
  return { cell: opts.cell, steps: T, hidden: H, batch: B, seed: opts.seed ?? 1, norms };
}

/**
 * The same g⟨t⟩ through the BPTT runner only: state⟨t⟩ from a forward over the prefix, then
 * ∂L/∂a⟨t⟩ = dh0[0] of a backward over the suffix with the loss on its final state. O(T²).
 */
export function gradientFlowViaRunner(opts: GradFlowOptions): GradFlowResult {
  const { cell, x, dLoss, T, B, H } = setUp(opts);
  const ws = createSequenceWorkspace(cell, T, B);
  const zeroC = Matrix.zeros(B, H, cell.dtype);
  const dFinal = cell.stateCount === 2 ? [dLoss, zeroC] : [dLoss];
  const norms = new Array<number>(T + 1).fill(0);
  norms[T] = meanRowNorm(dLoss);
  for (let t = 0; t < T; t++) {
    const stateT = t === 0
      ? undefined
      : sequenceForward(cell, ws, x.rowView(0, t * B)).finalState.map((s) => s.clone());
    sequenceForward(cell, ws, x.rowView(t * B, (T - t) * B), { h0: stateT });
    const { dh0 } = sequenceBackward(cell, ws, null, { dFinal, inputGradient: false });
    norms[t] = meanRowNorm(dh0[0]);
  }
  return result(opts, T, H, B, norms);
}

/** The rows of the CLI's table: t = 0, 1, every `every`-th step, and T. */
export function gradFlowTableSteps(steps: number, every = 10): number[] {
  const out = new Set<number>([0, 1]);
  for (let t = every; t < steps; t += every) out.add(t);
  out.add(steps);
  return [...out].filter((t) => t <= steps).sort((a, b) => a - b);
}

/** A fixed-width table: one column of ‖∂L/∂a⟨t⟩‖ per cell. */
export function formatGradFlowTable(results: GradFlowResult[], every = 10): string {
  if (results.length === 0) return '';
  const steps = results[0].steps;
  const header = ['t', ...results.map((r) => `${r.cell} ‖∂L/∂a⟨t⟩‖`)];
  const body = gradFlowTableSteps(steps, every).map((t) => [String(t), ...results.map((r) => r.norms[t].toExponential(3))]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padStart(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** All cells on one log-scale chart (steps whose norm underflowed to 0 are left out). */
export function gradFlowSvg(results: GradFlowResult[]): string {
  const first = results[0];
  return lineChartSvg({
    title: `‖∂L/∂a⟨t⟩‖ with the loss at step T = ${first.steps} (H = ${first.hidden}, float64, seed ${first.seed})`,
    xLabel: 'time step t',
    yLabel: '‖∂L/∂a⟨t⟩‖ (log scale)',
    logY: true,
    series: results.map((r) => ({
      name: r.cell,
      points: r.norms.map((n, t): [number, number] => [t, n]).filter(([, n]) => n > 0 && Number.isFinite(n)),
    })),
  });
}
