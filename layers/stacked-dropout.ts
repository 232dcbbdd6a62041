/**
 * Dropout in a recurrent stack (layers/stacked.ts), two schemes, both inverted (kept entries scaled by
 * 1/(1 − p), so evaluation is the identity) and drawn from the Rng passed in (layers/dropout.ts):
 *
 *   'between'      PyTorch's nn.LSTM(dropout = p): each layer's output except the last's is dropped
 *                  before the next layer reads it, one Bernoulli draw per entry and step:
 *                    u[l]⟨t⟩ = y[l−1]⟨t⟩ ∗ m[l]⟨t⟩      l = 1 … L−1
 *   'variational'  Gal & Ghahramani 2016 ("A Theoretically Grounded Application of Dropout in Recurrent
 *                  Neural Networks"): one mask per sequence, the same at every step, on every layer's
 *                  input, on the stack's output and on every cell's recurrent state a⟨t−1⟩:
 *                    u[l]⟨t⟩ = y[l−1]⟨t⟩ ∗ m_x[l]      l = 0 … L−1   (y[−1] = x; skipped for token ids)
 *                    output⟨t⟩ = y[L−1]⟨t⟩ ∗ m_y
 *                    the cell of layer l reads a[l]⟨t−1⟩ ∗ m_a[l]   (layers/sequence.ts `recurrentMask`)
 *                  m_x[l] [B, W_{l−1}], m_y [B, W_{L−1}], m_a[l] [B, H_l] (one per direction).
 * Layer l reads u[l] (its residual connection, if any, adds u[l] too). Backward: ∂L/∂y = ∂L/∂u ∗ m.
 *
 * The masks live in the workspace: each forward call samples them (`{ kind: 'sample', rng }`), holds
 * them (`DROPOUT_FIXED`, gradient checks) or turns dropout off (`DROPOUT_OFF`, evaluation; no copy is
 * made). Masked (padded) rows are 0 before and after: dropout keeps them so.
 */
import { Matrix, zero, type DType } from '../engine/matrix.js';
import type { Rng } from '../engine/rng.js';
import {
  checkDropoutProbability, dropoutBackward, dropoutForward, sampleDropoutMask, DROPOUT_FIXED,
  type DropoutMode, type DropoutWorkspace,
} from './dropout.js';

export type RnnDropoutMode = 'between' | 'variational';
export const RNN_DROPOUT_MODES: readonly RnnDropoutMode[] = ['between', 'variational'];

/** A stack's dropout: probability p ∈ [0, 1) and scheme. */
export interface RnnDropout {
  readonly p: number;
  readonly mode: RnnDropoutMode;
}

export function checkRnnDropout(op: string, d: RnnDropout): RnnDropout {
  checkDropoutProbability(op, d.p);
  if (!RNN_DROPOUT_MODES.includes(d.mode)) {
    throw new Error(`${op}: expected a dropout mode among ${RNN_DROPOUT_MODES.join(', ')}, got '${d.mode as string}'`);
  }
  return { p: d.p, mode: d.mode };
}

/**
 * The one-line problem with dropout `d` on a stack of `layers` layers, or null: 'between' drops only between
 * stacked layers, so on one layer it would do nothing (and no stack at all, 0 layers, takes no dropout).
 * `field` names the layer count in the message (`layers`, `numLayers`, `encoderLayers`).
 *
 * Refused, not warned about: PyTorch's nn.LSTM(num_layers=1, dropout=p) emits a UserWarning and trains without
 * dropout; seqgrad treats it as the bad input it is (one line, before any work), because a warning scrolls by
 * at the start of the very run the user did not ask for, and the model's config would save a dropout p its
 * weights never had. Every other option that cannot act is refused the same way (variational dropout on a
 * GRU, layer norm on an rnn). The fix is one option either way: two layers or more, or mode 'variational'.
 */
export function inertDropoutProblem(d: RnnDropout, layers: number, field = 'layers'): string | null {
  if (!(d.p > 0)) return null;
  if (layers < 1) return `expected a recurrent stack for dropout ${d.p} to act in, got ${field} ${layers}`;
  if (d.mode !== 'between' || layers >= 2) return null;
  return `dropout mode 'between' acts only between stacked layers, so dropout ${d.p} on one layer would do nothing: expected ${field} ≥ 2 or dropout mode 'variational', got ${field} ${layers}`;
}

/** One dropout point of a stack: the mask [capacity·B, W], the dropped values and the gradient buffer. */
interface DropoutPoint {
  readonly mask: DropoutWorkspace;
  readonly out: Matrix;
  readonly dIn: Matrix;
  /** views[T]: the same three over the first T·B rows (made once per T). */
  readonly views: (PointView | undefined)[];
}

interface PointView {
  readonly ws: DropoutWorkspace;
  readonly out: Matrix;
  readonly dIn: Matrix;
}

/** The dropout buffers of a stack workspace. Fields are internal. */
export class StackDropout {
  readonly config: RnnDropout;
  readonly batch: number;
  /** points[l]: before layer l (l < L), points[L]: the stack's output; null where nothing is dropped. */
  readonly points: (DropoutPoint | null)[];
  /** Variational: per layer, the recurrent masks m_a [B, H] of its forward (and backward) cell. */
  readonly recurrent: { forward: DropoutWorkspace; backward: DropoutWorkspace | null }[];
  /** The same masks as the matrices the runner takes (made once). */
  readonly recurrentMatrices: { forward: Matrix; backward: Matrix | null }[];
  /** Whether the last forward applied dropout (false: DROPOUT_OFF, backward is the identity). */
  active = false;

  /** widths[l] = the input width of layer l (l < L) and widths[L] = the stack's output width. */
  constructor(config: RnnDropout, widths: readonly number[], hidden: readonly { forward: number; backward: number | null }[],
    steps: number, batch: number, dtype: DType) {
    this.config = config;
    this.batch = batch;
    const L = hidden.length;
    const variational = config.mode === 'variational';
    this.points = widths.map((w, l) => ((variational || (l > 0 && l < L)) ? createPoint(config.p, steps * batch, w, dtype) : null));
    this.recurrent = variational
      ? hidden.map((h) => ({
        forward: createMask(config.p, batch, h.forward, dtype),
        backward: h.backward === null ? null : createMask(config.p, batch, h.backward, dtype),
      }))
      : [];
    this.recurrentMatrices = this.recurrent.map((r) => ({ forward: r.forward.mask, backward: r.backward ? r.backward.mask : null }));
  }
}

function createMask(p: number, rows: number, cols: number, dtype: DType): DropoutWorkspace {
  const mask = Matrix.zeros(rows, cols, dtype);
  mask.data.fill(1);
  return { p, mask, active: false };
}

function createPoint(p: number, rows: number, cols: number, dtype: DType): DropoutPoint {
  return { mask: createMask(p, rows, cols, dtype), out: Matrix.zeros(rows, cols, dtype), dIn: Matrix.zeros(rows, cols, dtype), views: [] };
}

/** The point's buffers over the first `rows` = T·B rows (keyed by rows: a workspace has one B). */
function pointView(point: DropoutPoint, rows: number): PointView {
  const cached = point.views[rows];
  if (cached) return cached;
  const whole = rows === point.out.rows;
  const view: PointView = {
    ws: whole ? point.mask : { p: point.mask.p, mask: point.mask.mask.rowView(0, rows), active: false },
    out: whole ? point.out : point.out.rowView(0, rows),
    dIn: whole ? point.dIn : point.dIn.rowView(0, rows),
  };
  point.views[rows] = view;
  return view;
}

/**
 * Start a forward pass: with a 'sample' mode draw the recurrent masks (variational), and remember
 * whether dropout is on. Returns whether it is.
 */
export function beginStackDropout(d: StackDropout, mode: DropoutMode): boolean {
  d.active = mode.kind !== 'off' && d.config.p > 0;
  if (d.active && mode.kind === 'sample') {
    for (const r of d.recurrent) {
      sampleDropoutMask(r.forward, mode.rng);
      if (r.backward) sampleDropoutMask(r.backward, mode.rng);
    }
  }
  return d.active;
}

/** The recurrent masks m_a of layer l for its cells (null: none, or dropout off). */
export function recurrentMasks(d: StackDropout | null, l: number): { forward: Matrix | null; backward: Matrix | null } | null {
  if (d === null || !d.active || d.recurrent.length === 0) return null;
  return d.recurrentMatrices[l];
}

/**
 * u = x ∗ m at point `index` over x's T·B rows (a fresh mask when sampling: per entry for
 * 'between', per sequence — rows 0 … B−1 drawn, then repeated at every step — for 'variational').
 * Returns x itself where nothing is dropped.
 */
export function dropAt(d: StackDropout | null, index: number, x: Matrix, mode: DropoutMode): Matrix {
  const point = d?.points[index];
  if (!d || !point || !d.active) return x;
  const view = pointView(point, x.rows);
  if (mode.kind === 'sample') {
    if (d.config.mode === 'between') sampleDropoutMask(view.ws, mode.rng);
    else samplePerSequence(view.ws, mode.rng, d.batch);
  }
  return dropoutForward(view.out, view.ws, x, DROPOUT_FIXED);
}

/** ∂L/∂x = ∂L/∂u ∗ m at point `index` (a buffer of the workspace), or dU itself where nothing was dropped. */
export function dropBackwardAt(d: StackDropout | null, index: number, dU: Matrix): Matrix {
  const point = d?.points[index];
  if (!d || !point || !d.active) return dU;
  const view = pointView(point, dU.rows);
  zero(view.dIn);
  dropoutBackward(view.dIn, view.ws, dU);
  return view.dIn;
}

/** One mask row block [B, W] drawn, then copied to every step: the same mask along each sequence. */
function samplePerSequence(ws: DropoutWorkspace, rng: Rng, batch: number): void {
  const m = ws.mask; // contiguous: a row prefix of a whole matrix
  sampleDropoutMask({ p: ws.p, mask: m.rowView(0, batch), active: true }, rng);
  const block = batch * m.stride;
  const src = m.data.subarray(m.offset, m.offset + block);
  for (let t = 1; t < m.rows / batch; t++) m.data.set(src, m.offset + t * block);
}
