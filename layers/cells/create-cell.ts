/**
 * `createCell(kind, opts)`: any recurrent cell by name — for wrappers, models and loaders that
 * take the cell kind as configuration (`createCell(cell.config.kind, { ...cell.config, rng })`
 * rebuilds a cell's structure).
 */
import type { CellKind, CellOptions, RecurrentCell } from './cell.js';
import { GruCell } from './gru.js';
import { ResetAfterGruCell } from './gru-reset-after.js';
import { SimpleGruCell } from './gru-simple.js';
import { LayerNormGruCell, LayerNormLstmCell } from './layer-norm-cells.js';
import { LstmCell } from './lstm.js';
import { PeepholeLstmCell } from './lstm-peephole.js';
import { RnnCell, type RnnActivation } from './rnn.js';

export interface CreateCellOptions extends Omit<CellOptions, 'init'> {
  /** 'pytorch' (default) or 'xavier'; 'irnn' for the RNN only. */
  init?: 'pytorch' | 'xavier' | 'irnn';
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

export const CELL_KINDS: readonly CellKind[] = ['rnn', 'gru', 'gru-simple', 'gru-reset-after', 'lstm', 'lstm-peephole'];

export function createCell(kind: CellKind, opts: CreateCellOptions): RecurrentCell {
  const op = 'createCell';
  if (kind !== 'rnn' && opts.init === 'irnn') throw new Error(`${op}: expected init 'irnn' only for kind 'rnn', got kind '${kind}'`);
  if (kind !== 'rnn' && opts.activation !== undefined) throw new Error(`${op}: expected activation only for kind 'rnn', got kind '${kind}'`);
  const base = { ...opts, init: opts.init as 'pytorch' | 'xavier' | undefined };
  if (opts.layerNorm === true) {
    if (kind === 'lstm') return new LayerNormLstmCell(base);
    if (kind === 'gru-reset-after') return new LayerNormGruCell(base);
    throw new Error(`${op}: expected layerNorm only for kinds ${LAYER_NORM_KINDS.join(', ')}, got kind '${kind}'`);
  }
  switch (kind) {
    case 'rnn': return new RnnCell(opts);
    case 'gru': return new GruCell(base);
    case 'gru-simple': return new SimpleGruCell(base);
    case 'gru-reset-after': return new ResetAfterGruCell(base);
    case 'lstm': return new LstmCell(base);
    case 'lstm-peephole': return new PeepholeLstmCell(base);
    default: throw new Error(`${op}: expected a kind among ${CELL_KINDS.join(', ')}, got '${kind as string}'`);
  }
}
