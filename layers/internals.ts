/**
 * Read-only views of what a forward pass computed at each step, so a student can print them: the gates
 * (Γu, Γf, Γo, Γr), the candidate c̃⟨t⟩, the cell state c⟨t⟩, the output a⟨t⟩, the pre-activations, a stacked
 * layer's per-layer outputs (the attention weights α⟨t,t'⟩: `attentionWeights` of attention/attention.ts; a
 * multi-head layer's: the `attn` of its workspace).
 *
 * Steps are numbered as the runner numbers them: step t = 0 … T−1 reads x at row block t and writes the state
 * the notes call a⟨t+1⟩ (their time is 1-based). B = batch, H = hidden size; every view is [B, H] unless said.
 * The gate, candidate and state views alias the workspace's caches (no copy: valid until the next forward on
 * that workspace; writing into one changes what backward reads — don't). `preactivation` is computed on each
 * call (a new matrix; it is not cached by the forward pass).
 */
import { gemm } from '../engine/gemm.js';
import { Matrix, copyInto, stepView } from '../engine/matrix.js';
import { isBidirectional, type BidirectionalWorkspace } from './bidirectional.js';
import type { GruWorkspace } from './cells/gru.js';
import type { ResetAfterGruWorkspace } from './cells/gru-reset-after.js';
import type { SimpleGruWorkspace } from './cells/gru-simple.js';
import type { LstmWorkspace } from './cells/lstm.js';
import { stateAt, type SequenceWorkspace } from './sequence.js';
import type { StackedWorkspace } from './stacked.js';

/** What one step of a cell computed; which fields are present depends on the cell kind (see stepInternals). */
export interface StepInternals {
  /** a⟨t⟩ [B, H]: the output (for GRUs also the state c⟨t⟩). */
  readonly a: Matrix;
  /** c⟨t⟩ [B, H]: the LSTM cell state; for the notes' GRUs c⟨t⟩ = a⟨t⟩. */
  readonly c?: Matrix;
  /** Γu [B, H]: the update gate (LSTM's input gate i; for 'gru-reset-after' PyTorch's z, where Γu = 1 − z). */
  readonly update?: Matrix;
  /** Γf [B, H]: the LSTM forget gate. */
  readonly forget?: Matrix;
  /** Γo [B, H]: the LSTM output gate. */
  readonly output?: Matrix;
  /** Γr [B, H]: the GRU reset gate (PyTorch's r for 'gru-reset-after'). */
  readonly reset?: Matrix;
  /** c̃⟨t⟩ [B, H]: the candidate (PyTorch's n for 'gru-reset-after'). */
  readonly candidate?: Matrix;
}

/** Column block k (width H) of a [B, G] matrix, as a [B, H] view. */
function block(m: Matrix, k: number, H: number): Matrix {
  return m.colView(k * H, H);
}

/**
 * The internals of step t of the last forward pass run on `ws` (sequenceForward or the step driver):
 *   rnn                 { a }                                          a = g(z)
 *   lstm, lstm-peephole { update: Γu, forget: Γf, candidate: c̃, output: Γo, c, a }
 *   gru                 { reset: Γr, update: Γu, candidate: c̃, c, a }   c = a
 *   gru-simple          { update: Γu, candidate: c̃, c, a }              c = a
 *   gru-reset-after     { reset: r, update: z, candidate: n, a }        PyTorch's names: Γu = 1 − z
 * Each view is [B, H]. At a masked step (a row past its sequence's length) the gate rows hold what the cell
 * computed and a, c hold the carried state.
 */
export function stepInternals(ws: SequenceWorkspace, t: number): StepInternals {
  const [a, c] = stateAt(ws, t + 1);
  const H = ws.cell.hiddenSize;
  const cached = ws.cellWorkspace;
  switch (ws.cell.kind) {
    case 'rnn':
      return { a };
    case 'lstm':
    case 'lstm-peephole': {
      const g = (cached as LstmWorkspace).gates[t];
      return { update: block(g, 0, H), forget: block(g, 1, H), candidate: block(g, 2, H), output: block(g, 3, H), c, a };
    }
    case 'gru': {
      const g = (cached as GruWorkspace).gates[t];
      return { reset: block(g, 0, H), update: block(g, 1, H), candidate: block(g, 2, H), c: a, a };
    }
    case 'gru-simple': {
      const g = (cached as SimpleGruWorkspace).gates[t];
      return { update: block(g, 0, H), candidate: block(g, 1, H), c: a, a };
    }
    case 'gru-reset-after': {
      const g = (cached as ResetAfterGruWorkspace).gates[t];
      return { reset: block(g, 0, H), update: block(g, 1, H), candidate: block(g, 2, H), a };
    }
    default:
      throw new Error(`stepInternals: expected a cell of kind rnn, lstm, lstm-peephole, gru, gru-simple or gru-reset-after, got '${ws.cell.kind as string}'`);
  }
}

/**
 * The pre-activations of step t, z⟨t⟩ = x⟨t⟩·W_xᵀ + b + a⟨t−1⟩·W_aᵀ  [B, G] (G = gateWidth), in the cell's fused
 * gate order: rnn [z] (a = g(z)); lstm [Γu Γf c̃ Γo] before σ/tanh; gru-simple [Γu c̃]; gru [Γr Γu c̃], whose c̃
 * block is W_c[Γr ∗ c⟨t−1⟩, x⟨t⟩] + b_c. A new matrix per call. Not for 'lstm-peephole' (its gates also read
 * c through the peepholes) nor 'gru-reset-after' (two biases around r): those throw.
 */
export function preactivation(ws: SequenceWorkspace, t: number): Matrix {
  const { cell } = ws;
  if (cell.kind === 'lstm-peephole' || cell.kind === 'gru-reset-after') {
    throw new Error(`preactivation: expected a cell of kind rnn, lstm, gru or gru-simple, got '${cell.kind}'`);
  }
  const [prev] = stateAt(ws, t);
  const z = Matrix.zeros(ws.batch, cell.gateWidth, cell.dtype);
  copyInto(z, stepView(ws.xp, t, ws.batch));
  const H = cell.hiddenSize;
  const W_a = cell.params.W_a;
  if (cell.kind !== 'gru') {
    gemm(z, prev, W_a, false, true, 1, 1);
    return z;
  }
  // the full GRU: Γr, Γu read c⟨t−1⟩; c̃ reads Γr ∗ c⟨t−1⟩ (cached by the forward pass)
  gemm(z.colView(0, 2 * H), prev, W_a.rowView(0, 2 * H), false, true, 1, 1);
  gemm(z.colView(2 * H, H), (ws.cellWorkspace as GruWorkspace).resetState[t], W_a.rowView(2 * H, H), false, true, 1, 1);
  return z;
}

/**
 * The output of every layer of a stack after its last forward: y[l] [T·B, W_l] (W_l = H, or 2H for a
 * bidirectional layer: [a→⟨t⟩, a←⟨t⟩]; a residual layer's y[l] includes the skip). Views, read-only.
 */
export function stackedLayerOutputs(ws: StackedWorkspace): Matrix[] {
  return ws.units.map((unit, l) => {
    const sum = ws.sums[l];
    if (sum) return sum.rowView(0, ws.lastSteps * ws.batch);
    return unit.outputs.rowView(0, ws.lastSteps * ws.batch);
  });
}

/**
 * The sequence workspace(s) of layer l of a stack, for stepInternals: one for a unidirectional layer, the
 * forward and the backward direction for a bidirectional one (the backward direction's step t reads the
 * sequence reversed in time: step t is position T_b − 1 − t of a row of length T_b).
 */
export function stackedLayerWorkspaces(ws: StackedWorkspace, l: number): SequenceWorkspace[] {
  if (!Number.isInteger(l) || l < 0 || l >= ws.units.length) {
    throw new Error(`stackedLayerWorkspaces: expected a layer in [0, ${ws.units.length - 1}], got ${l}`);
  }
  const unit = ws.units[l];
  if (isBidirectional(ws.stack.layers[l].unit)) {
    const bi = unit as BidirectionalWorkspace;
    return [bi.forwardWs, bi.backwardWs];
  }
  return [unit as SequenceWorkspace];
}
