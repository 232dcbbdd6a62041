/**
 * The recurrent language model's fast path for batch-1 generation (sampling and greedy decoding):
 * one stream fed one token at a time, its state kept in place, each layer advanced by one call of the
 * backend's token-step kernel (engine/kernels/types.ts' TokenStepKernels; one WebAssembly call on
 * wasm) and the head by one more, each bound once when the sampler is made (`bindStep`,
 * `bindDenseRow`: on wasm the operands' addresses are found then, not at every token):
 *
 *   xp⁽¹⁾ = row y⟨t−1⟩ of the input table  T = E·W_xᵀ + b  [V, G·H]   (one-hot input: T = W_xᵀ + b)
 *   xp⁽ˡ⁾ = W_x⁽ˡ⁾·a⁽ˡ⁻¹⁾⟨t⟩ + b⁽ˡ⁾                                     (layers l ≥ 2)
 *   a⁽ˡ⁾⟨t⟩ (and c⁽ˡ⁾⟨t⟩) = cell step from W_a⁽ˡ⁾·a⁽ˡ⁾⟨t−1⟩ + xp⁽ˡ⁾        (in place)
 *   z⟨t⟩ = W_ya·a⁽ᴸ⁾⟨t⟩ + b_y  [V]
 *
 * the numbers lmForward gives for T = B = 1 (float32 sums in the kernels' order). The table's row of a
 * token is made the first time the token is fed (a product with W_x for an embedding, a column of
 * W_x for one-hot input) and kept: a model's first-layer input costs one row copy per token instead
 * of a product with W_x. Tables over MAX_TABLE_FLOATS (a large word vocabulary) are not kept: the row
 * is then formed at every step.
 *
 * Lifetime: a sampler keeps the table rows it made and W_a in the form its kernels read (on wasm a
 * packed copy), and it runs the kernels of the backend current when it was made — so it is for weights
 * that do not change while it lives: make a new one after training steps (sampleText and greedyText make
 * one per call). Cells:
 * the LSTM, the reset-after GRU and the RNN (tanh or ReLU), without layer normalisation; for any
 * other cell `createLmTokenSampler` returns null and the caller steps the generic way (use.ts).
 */
import { tokenStepKernels, type TokenStepKernels } from '../../engine/backend.js';
import { Matrix } from '../../engine/matrix.js';
import type { RecurrentCell } from '../../layers/cells/cell.js';
import { ResetAfterGruCell } from '../../layers/cells/gru-reset-after.js';
import { LstmCell } from '../../layers/cells/lstm.js';
import { RnnCell } from '../../layers/cells/rnn.js';
import type { LanguageModel } from './model.js';

/** The largest input table kept (floats): 16 M, 64 MB — any character model, word models up to V·4H = 16 M. */
export const MAX_TABLE_FLOATS = 1 << 24;

/** The recurrent state of one stream: per layer [a] or [a, c], each [1, H]. */
export type TokenSamplerState = Matrix[][];

export interface LmTokenSampler {
  /** Start a stream from `state` (copied; shapes as `state()` returns) or, without one, from zeros. */
  reset(state?: TokenSamplerState): void;
  /** Feed `token` (an id in [0, V)): the logits z [V] of the next token — a view, overwritten by the next step. */
  step(token: number): Float32Array | Float64Array;
  /** A copy of the stream's state now. */
  state(): TokenSamplerState;
}

type LayerStep = (xp: Matrix) => void;

/** One layer's state in place and its kernel call. */
interface LayerRunner {
  readonly cell: RecurrentCell;
  readonly state: Matrix[];
  readonly step: LayerStep;
}

/** The kind of token step `cell` has, or null (subclasses and other cells step the generic way). */
function stepKind(cell: RecurrentCell): 'lstm' | 'gru' | 'rnn' | null {
  if (cell instanceof LstmCell && cell.constructor === LstmCell) return 'lstm';
  if (cell instanceof ResetAfterGruCell && cell.constructor === ResetAfterGruCell) return 'gru';
  if (cell instanceof RnnCell && cell.constructor === RnnCell) return 'rnn';
  return null;
}

/** The token kernel step of `cell` (kind from stepKind), bound once over its state (in place), W_a as k reads it and a scratch of 8H. */
function layerRunner(k: TokenStepKernels, cell: RecurrentCell, kind: 'lstm' | 'gru' | 'rnn'): LayerRunner {
  const H = cell.hiddenSize, dtype = cell.dtype, p = cell.params;
  const work = Matrix.zeros(1, 8 * H, dtype);
  const vector = () => Matrix.zeros(1, H, dtype);
  const wa = k.recurrentWeights(p.W_a, cell.gateWidth, H);
  if (kind === 'lstm') {
    const state = [vector(), vector()];
    return { cell, state, step: k.bindStep({ kind, H, wa, a: state[0], c: state[1], work }) };
  }
  const state = [vector()];
  if (kind === 'gru') return { cell, state, step: k.bindStep({ kind, H, wa, ba: p.b_a, s: state[0], work }) };
  return { cell, state, step: k.bindStep({ kind, H, wa, a: state[0], work, relu: (cell as RnnCell).activation === 'relu' }) };
}

/** The fast path for `model`, or null when one of its cells has no token kernel (see the header). */
export function createLmTokenSampler(model: LanguageModel): LmTokenSampler | null {
  if (model.cells.some((cell) => cell.ownsBias === true)) return null; // layer-normalised cells
  const kinds = model.cells.map(stepKind);
  if (kinds.includes(null)) return null;
  const k = tokenStepKernels();
  const runners = model.cells.map((cell, l) => layerRunner(k, cell, kinds[l] as 'lstm' | 'gru' | 'rnn'));
  return new TokenSampler(model, k, runners);
}

class TokenSampler implements LmTokenSampler {
  private readonly V: number;
  /** The input table [V, G] of the first layer (rows made on first use), or null when too large. */
  private readonly table: Matrix | null;
  private readonly made: Uint8Array;
  /** The rows of the table, as views (made with it). */
  private readonly tableRows: Matrix[] = [];
  /** xp of each layer when it is formed per step ([1, G]). */
  private readonly inputRows: Matrix[];
  private readonly logits: Matrix;
  /** xp⁽ˡ⁾ = W_x⁽ˡ⁾·a⁽ˡ⁻¹⁾ + b⁽ˡ⁾ into inputRows[l], bound (entry 0 unused: the table's row or inputProjection). */
  private readonly layerInputs: ((x: Matrix) => void)[];
  /** z = W_ya·a⁽ᴸ⁾ + b_y into logits, bound. */
  private readonly head: (x: Matrix) => void;
  private readonly logitsRow: Float32Array | Float64Array;
  /** The embedding row being read (moved over E, no view made per token), or null for one-hot input. */
  private readonly embeddingRow: { data: Matrix['data']; offset: number; stride: number } | null;
  private readonly embeddingOffset: number;

  constructor(private readonly model: LanguageModel, private readonly k: TokenStepKernels, private readonly runners: LayerRunner[]) {
    const V = model.vocab.size, dtype = model.config.dtype;
    const G = model.cells[0].gateWidth;
    this.V = V;
    this.table = V * G <= MAX_TABLE_FLOATS ? Matrix.zeros(V, G, dtype) : null;
    this.made = new Uint8Array(V);
    if (this.table) for (let v = 0; v < V; v++) this.tableRows.push(this.table.rowView(v, 1));
    this.inputRows = model.cells.map((cell) => Matrix.zeros(1, cell.gateWidth, dtype));
    this.logits = Matrix.zeros(1, V, dtype);
    this.layerInputs = model.cells.map((cell, l) => k.bindDenseRow(cell.gateWidth, cell.inputSize, cell.params.W_x, cell.params.b, this.inputRows[l]));
    const head = model.output;
    this.head = k.bindDenseRow(V, head.inputSize, head.params.W, head.params.b ?? null, this.logits);
    this.logitsRow = this.logits.data.subarray(this.logits.offset, this.logits.offset + V);
    const E = model.embedding?.weight ?? null;
    this.embeddingRow = E ? { data: E.data, offset: E.offset, stride: E.stride } : null;
    this.embeddingOffset = E ? E.offset : 0;
  }

  reset(state?: TokenSamplerState): void {
    if (state && state.length !== this.runners.length) {
      throw new Error(`LmTokenSampler.reset: expected the state of ${this.runners.length} layer(s), got ${state.length}`);
    }
    this.runners.forEach((runner, l) => runner.state.forEach((m, i) => {
      const from = state?.[l]?.[i];
      if (!from) m.data.fill(0, m.offset, m.offset + m.cols);
      else if (from.rows !== 1 || from.cols !== m.cols) throw new Error(`LmTokenSampler.reset: expected layer ${l}'s state ${i} to be [1, ${m.cols}], got [${from.rows}, ${from.cols}]`);
      else for (let j = 0; j < m.cols; j++) m.data[m.offset + j] = from.data[from.offset + j];
    }));
  }

  state(): TokenSamplerState {
    return this.runners.map((runner) => runner.state.map((m) => m.clone()));
  }

  step(token: number): Float32Array | Float64Array {
    if (!(token >= 0 && token < this.V) || Math.floor(token) !== token) {
      throw new Error(`LmTokenSampler.step: expected a token id in [0, ${this.V}), got ${token}`);
    }
    const { runners } = this;
    runners[0].step(this.firstInput(this.k, token));
    for (let l = 1; l < runners.length; l++) {
      this.layerInputs[l](runners[l - 1].state[0]);
      runners[l].step(this.inputRows[l]);
    }
    this.head(runners[runners.length - 1].state[0]);
    return this.logitsRow;
  }

  /** xp of the first layer for `token`: its table row (made now if new), or formed into inputRows[0]. */
  private firstInput(k: TokenStepKernels, token: number): Matrix {
    if (!this.table) {
      this.inputProjection(k, token, this.inputRows[0]);
      return this.inputRows[0];
    }
    const row = this.tableRows[token];
    if (this.made[token] === 0) {
      this.inputProjection(k, token, row);
      this.made[token] = 1;
    }
    return row;
  }

  /** out [1, G] = E[token]·W_xᵀ + b, or W_x[:, token] + b for one-hot input (lmForward's xp of one step). */
  private inputProjection(k: TokenStepKernels, token: number, out: Matrix): void {
    const cell = this.model.cells[0], G = cell.gateWidth, W = cell.params.W_x, b = cell.params.b;
    const e = this.embeddingRow;
    if (e) {
      e.offset = this.embeddingOffset + token * e.stride;
      k.denseRow(G, cell.inputSize, W, e, b, out);
      return;
    }
    const wd = W.data, od = out.data, bd = b.data;
    for (let g = 0; g < G; g++) od[out.offset + g] = wd[W.offset + g * W.stride + token] + bd[b.offset + g];
  }
}
