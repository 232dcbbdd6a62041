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
 * call from the step's inputs and caches (a new matrix; the forward pass does not keep it) — for token-id input,
 * before the backward pass (which reuses the input table the steps gathered from).
 */
import { gemm } from '../engine/gemm.js';
import { Matrix, copyInto } from '../engine/matrix.js';
import { addBias } from '../engine/ops.js';
import { isBidirectional, type BidirectionalWorkspace } from './bidirectional.js';
import type { GruWorkspace } from './cells/gru.js';
import type { ResetAfterGruWorkspace } from './cells/gru-reset-after.js';
import type { SimpleGruWorkspace } from './cells/gru-simple.js';
import type { LstmWorkspace } from './cells/lstm.js';
import { stateAt, stepInputProjection, type SequenceWorkspace } from './sequence.js';
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
 * The pre-activations of step t: what the cell's σ and tanh received, [B, G] (G = gateWidth) in its fused gate
 * order, with xp⟨t⟩ = x⟨t⟩·W_xᵀ + b and a⟨t−1⟩ the state the cell read (ã⟨t−1⟩ = a⟨t−1⟩ ∗ m under a
 * variational recurrent-dropout mask):
 *   rnn             [z]               z = xp + a⟨t−1⟩·W_aᵀ   (a⟨t⟩ = g(z))
 *   lstm            [Γu Γf c̃ Γo]     xp + a⟨t−1⟩·W_aᵀ   (before σ, tanh, σ, σ)
 *   lstm-peephole   [Γu Γf c̃ Γo]     the LSTM's, plus p_u ∗ c⟨t−1⟩ in the Γu block, p_f ∗ c⟨t−1⟩ in Γf and
 *                                     p_o ∗ c⟨t⟩ in Γo (c⟨t⟩ = Γu ∗ c̃ + Γf ∗ c⟨t−1⟩ from the cached gates)
 *   gru-simple      [Γu c̃]           xp + a⟨t−1⟩·W_aᵀ
 *   gru             [Γr Γu c̃]        Γr, Γu: xp + c⟨t−1⟩·W_aᵀ;  c̃: W_c[Γr ∗ c⟨t−1⟩, x⟨t⟩] + b_c
 *   gru-reset-after [r z n]           r, z: W_i x + b_i + W_h h + b_h (b = bias_ih, b_a = bias_hh);
 *                                     n: W_in x + b_in + r ∗ (W_hn h + b_hn)   (PyTorch's nn.GRU)
 * At a masked step (a row past its sequence's length) the row is what the cell computed, as the gates of
 * stepInternals. A new matrix per call. Layer-normalised cells throw (their sums are normalised per path).
 */
export function preactivation(ws: SequenceWorkspace, t: number): Matrix {
  const { cell } = ws;
  if (cell.ownsBias === true) {
    throw new Error(`preactivation: expected a cell without layer normalisation, got a layer-normalised '${cell.kind}' (its gates: stepInternals)`);
  }
  const states = stateAt(ws, t);
  const prev = ws.recurrentMask === null ? states[0] : (ws.maskedPrevStates as Matrix[][])[t][0];
  const z = Matrix.zeros(ws.batch, cell.gateWidth, cell.dtype);
  copyInto(z, stepInputProjection('preactivation', ws, t));
  const H = cell.hiddenSize;
  const { W_a } = cell.params;
  switch (cell.kind) {
    case 'gru':
      // Γr, Γu read c⟨t−1⟩; c̃ reads Γr ∗ c⟨t−1⟩ (cached by the forward pass)
      gemm(z.colView(0, 2 * H), prev, W_a.rowView(0, 2 * H), false, true, 1, 1);
      gemm(z.colView(2 * H, H), (ws.cellWorkspace as GruWorkspace).resetState[t], W_a.rowView(2 * H, H), false, true, 1, 1);
      return z;
    case 'gru-reset-after':
      resetAfterRecurrentTerms(z, ws.cellWorkspace as ResetAfterGruWorkspace, t, prev, cell.params);
      return z;
    case 'lstm-peephole':
      gemm(z, prev, W_a, false, true, 1, 1);
      addPeepholeTerms(z, (ws.cellWorkspace as LstmWorkspace).gates[t], states[1], cell.params);
      return z;
    default:
      gemm(z, prev, W_a, false, true, 1, 1);
      return z;
  }
}

/** z_r, z_z += h·W_aᵀ + b_a (their blocks); z_n += r ∗ (W_hn h + b_hn), both cached by the forward pass. */
function resetAfterRecurrentTerms(z: Matrix, cached: ResetAfterGruWorkspace, t: number, h: Matrix, params: Record<string, Matrix>): void {
  const H = h.cols;
  const rz = z.colView(0, 2 * H);
  gemm(rz, h, params.W_a.rowView(0, 2 * H), false, true, 1, 1);
  addBias(rz, rz, params.b_a.colView(0, 2 * H));
  const gates = cached.gates[t], hpn = cached.hpn[t];
  for (let b = 0; b < z.rows; b++) {
    for (let j = 0; j < H; j++) z.set(b, 2 * H + j, z.get(b, 2 * H + j) + gates.get(b, j) * hpn.get(b, j));
  }
}

/** z_u += p_u ∗ c⟨t−1⟩, z_f += p_f ∗ c⟨t−1⟩, z_o += p_o ∗ c⟨t⟩ with c⟨t⟩ = Γu ∗ c̃ + Γf ∗ c⟨t−1⟩ (the cached gates). */
function addPeepholeTerms(z: Matrix, gates: Matrix, cPrev: Matrix, params: Record<string, Matrix>): void {
  const H = cPrev.cols;
  const { p_u, p_f, p_o } = params;
  for (let b = 0; b < z.rows; b++) {
    for (let j = 0; j < H; j++) {
      const c0 = cPrev.get(b, j);
      const c1 = gates.get(b, j) * gates.get(b, 2 * H + j) + gates.get(b, H + j) * c0;
      z.set(b, j, z.get(b, j) + p_u.get(0, j) * c0);
      z.set(b, H + j, z.get(b, H + j) + p_f.get(0, j) * c0);
      z.set(b, 3 * H + j, z.get(b, 3 * H + j) + p_o.get(0, j) * c1);
    }
  }
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
