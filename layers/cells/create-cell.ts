/**
 * `createCell({ kind, inputSize, hiddenSize, … }, { rng?, dtype? })`: any recurrent cell by name —
 * for wrappers, models and loaders that take the cell kind as configuration
 * (`createCell(cell.config, { rng })` rebuilds a cell's structure). Defaults: engine/create.ts.
 */
import type { CreateOptions } from '../../engine/create.js';
import { initOrthogonal, initPytorchBiasPair } from '../../engine/init.js';
import { scale } from '../../engine/ops.js';
import { cellOptionsOf, type CellKind, type CellOptions, type CellSettings, type RecurrentCell } from './cell.js';
import { GruCell } from './gru.js';
import { ResetAfterGruCell } from './gru-reset-after.js';
import { SimpleGruCell } from './gru-simple.js';
import { LayerNormGruCell, LayerNormLstmCell } from './layer-norm-cells.js';
import { LstmCell } from './lstm.js';
import { PeepholeLstmCell } from './lstm-peephole.js';
import { RnnCell, type RnnActivation } from './rnn.js';

/**
 * 'pytorch' (default): U(±1/√H) (see CellOptions); 'xavier'; 'irnn' (the RNN only: W_aa = I,
 * b = 0, small Gaussian W_ax); 'orthogonal': as 'pytorch', then each gate's [H, H] block of W_a
 * an orthogonal matrix (Saxe et al. 2014; QR by Gram–Schmidt of a Gaussian draw, engine/init.ts),
 * so a linear recurrence neither shrinks nor grows ‖a‖ at the start.
 */
export type CellInit = 'pytorch' | 'xavier' | 'irnn' | 'orthogonal';

export const CELL_INITS: readonly CellInit[] = ['pytorch', 'xavier', 'irnn', 'orthogonal'];

export interface CreateCellOptions extends Omit<CellOptions, 'init'> {
  init?: CellInit;
  /**
   * With init 'pytorch': draw a one-bias cell's b, which stands for PyTorch's b_ih + b_hh, as the
   * sum of two U(±1/√H) draws (their distribution), not one. The reset-after GRU has both biases
   * already. Default false.
   */
  pytorchBiasPair?: boolean;
  /** Multiply W_a by this after initialisation (1: unchanged; > 1 makes gradients explode, < 1 vanish). */
  recurrentScale?: number;
  /** RNN: g = 'tanh' (default) or 'relu'. */
  activation?: RnnActivation;
  /** RNN with init 'irnn': std of W_ax (default 0.001). */
  irnnStd?: number;
  /** LSTMs: set b_f to this value after initialisation. */
  forgetBias?: number;
  /** Layer normalisation (Ba et al. 2016; layer-norm-cells.ts) for 'lstm' and 'gru-reset-after'. */
  layerNorm?: boolean;
}

/** The kinds with a layer-normalised variant. */
export const LAYER_NORM_KINDS: readonly CellKind[] = ['lstm', 'gru-reset-after'];

/** The structure of a cell of any kind: `cell.config` is one. */
export type CellSpec = CellSettings<CreateCellOptions> & { kind: CellKind };

export const CELL_KINDS: readonly CellKind[] = ['rnn', 'gru', 'gru-simple', 'gru-reset-after', 'lstm', 'lstm-peephole'];

export function createCell(config: CellSpec, options?: CreateOptions): RecurrentCell;
/** @deprecated Use `createCell({ kind, ...opts }, { rng, dtype })`. */
export function createCell(kind: CellKind, opts: CreateCellOptions): RecurrentCell;
export function createCell(first: CellSpec | CellKind, second?: CreateOptions | CreateCellOptions): RecurrentCell {
  const op = 'createCell';
  const { kind, ...settings }: CellSpec = typeof first === 'string' ? { ...(second as CreateCellOptions), kind: first } : first;
  // the deprecated form carries rng and dtype in its options, which are the settings here
  const opts = cellOptionsOf<CreateCellOptions>(op, settings, typeof first === 'string' ? undefined : second as CreateOptions | undefined);
  const init = opts.init ?? 'pytorch';
  if (!CELL_INITS.includes(init)) throw new Error(`${op}: expected init among ${CELL_INITS.join(', ')}, got '${String(init)}'`);
  if (kind !== 'rnn' && init === 'irnn') throw new Error(`${op}: expected init 'irnn' only for kind 'rnn', got kind '${kind}'`);
  if (kind !== 'rnn' && opts.activation !== undefined) throw new Error(`${op}: expected activation only for kind 'rnn', got kind '${kind}'`);
  if (opts.pytorchBiasPair && init !== 'pytorch') throw new Error(`${op}: expected pytorchBiasPair only with init 'pytorch', got init '${init}'`);
  if (opts.pytorchBiasPair && opts.forgetBias !== undefined) {
    throw new Error(`${op}: expected either pytorchBiasPair (PyTorch's biases) or forgetBias, got both`);
  }
  const scaleBy = opts.recurrentScale ?? 1;
  if (!Number.isFinite(scaleBy)) throw new Error(`${op}: expected a finite recurrentScale, got ${scaleBy}`);
  const cell = constructCell(kind, { ...opts, init: init === 'orthogonal' ? 'pytorch' : init });
  const H = cell.hiddenSize;
  if (init === 'orthogonal') {
    const W = cell.params.W_a;
    for (let g = 0; g < W.rows / H; g++) initOrthogonal(W.rowView(g * H, H), opts.rng);
  }
  if (opts.pytorchBiasPair && kind !== 'gru-reset-after') initPytorchBiasPair(cell.params.b, opts.rng, H);
  if (scaleBy !== 1) scale(cell.params.W_a, cell.params.W_a, scaleBy);
  return cell;
}

function constructCell(kind: CellKind, opts: CreateCellOptions & { init: 'pytorch' | 'xavier' | 'irnn' }): RecurrentCell {
  const base = { ...opts, init: opts.init as 'pytorch' | 'xavier' };
  if (opts.layerNorm === true) {
    if (kind === 'lstm') return new LayerNormLstmCell(base);
    if (kind === 'gru-reset-after') return new LayerNormGruCell(base);
    throw new Error(`createCell: expected layerNorm only for kinds ${LAYER_NORM_KINDS.join(', ')}, got kind '${kind}'`);
  }
  switch (kind) {
    case 'rnn': return new RnnCell(opts);
    case 'gru': return new GruCell(base);
    case 'gru-simple': return new SimpleGruCell(base);
    case 'gru-reset-after': return new ResetAfterGruCell(base);
    case 'lstm': return new LstmCell(base);
    case 'lstm-peephole': return new PeepholeLstmCell(base);
    default: throw new Error(`createCell: expected a kind among ${CELL_KINDS.join(', ')}, got '${kind as string}'`);
  }
}
