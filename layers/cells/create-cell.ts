/**
 * `createCell({ kind, inputSize, hiddenSize, … }, { rng?, dtype? })`: any recurrent cell by name —
 * for wrappers, models and loaders that take the cell kind as configuration
 * (`createCell(cell.config, { rng })` rebuilds a cell's structure). Defaults: engine/create.ts.
 */
import type { CreateOptions } from '../../engine/create.js';
import { cellOptionsOf, type CellKind, type CellOptions, type CellSettings, type RecurrentCell } from './cell.js';
import { GruCell } from './gru.js';
import { ResetAfterGruCell } from './gru-reset-after.js';
import { SimpleGruCell } from './gru-simple.js';
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
}

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
  if (kind !== 'rnn' && opts.init === 'irnn') throw new Error(`${op}: expected init 'irnn' only for kind 'rnn', got kind '${kind}'`);
  if (kind !== 'rnn' && opts.activation !== undefined) throw new Error(`${op}: expected activation only for kind 'rnn', got kind '${kind}'`);
  const base = { ...opts, init: opts.init as 'pytorch' | 'xavier' | undefined };
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
