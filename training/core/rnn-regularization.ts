/**
 * The recurrent models' regularisation options, shared by the trainers (lm, seq2seq, sentiment,
 * tagger) and saved in their model configs: dropout (layers/stacked-dropout.ts: 'between' stacked
 * layers as PyTorch's nn.LSTM, or 'variational' after Gal & Ghahramani) and layer normalisation
 * (layers/cells/layer-norm-cells.ts). Every field is optional and written only when set, so a model
 * without them has the same config — and the same bits — as before they existed.
 */
import type { CellKind } from '../../layers/cells/cell.js';
import { LAYER_NORM_KINDS } from '../../layers/cells/create-cell.js';
import { DROPOUT_OFF, type DropoutMode } from '../../layers/dropout.js';
import { RNN_DROPOUT_MODES, inertDropoutProblem, type RnnDropout, type RnnDropoutMode } from '../../layers/stacked-dropout.js';
import type { Rng } from '../../engine/rng.js';
import { InputError } from './errors.js';

export interface RnnRegularization {
  /** Dropout probability p ∈ [0, 1) in training (absent or 0: none). */
  dropout?: number;
  /** 'between' (default) or 'variational'. */
  dropoutMode?: RnnDropoutMode;
  /** Layer-normalised cells (lstm, gru-reset-after). */
  layerNorm?: boolean;
}

/** The cells whose a⟨t−1⟩ enters only through W_a: variational dropout can mask it (layers/sequence.ts). */
const VARIATIONAL_KINDS: readonly CellKind[] = ['rnn', 'lstm', 'lstm-peephole'];

/**
 * Check the options for a stack of `layers` layers of `cell` (`layersField`: the config's name for that count)
 * and return only what is set (p > 0; layerNorm true), for a config. Throws an InputError naming `op` and the
 * field — also for dropout that could not act: mode 'between' on one layer (inertDropoutProblem,
 * layers/stacked-dropout.ts, says why this is refused rather than warned about, as PyTorch does). Model file
 * readers pass the file's options through withoutInertDropout first, so files saved before the refusal load.
 */
export function resolveRnnRegularization(
  op: string, opts: RnnRegularization, cell: CellKind, layers: number, layersField = 'layers',
): RnnRegularization {
  const out: RnnRegularization = {};
  const p = opts.dropout ?? 0;
  if (typeof p !== 'number' || !(p >= 0 && p < 1)) throw new InputError(`${op}: expected dropout to be a number in [0, 1), got ${JSON.stringify(opts.dropout)}`);
  const mode = opts.dropoutMode ?? 'between';
  if (!RNN_DROPOUT_MODES.includes(mode)) throw new InputError(`${op}: expected dropoutMode among ${RNN_DROPOUT_MODES.join(', ')}, got ${JSON.stringify(opts.dropoutMode)}`);
  if (p > 0) {
    if (mode === 'variational' && !VARIATIONAL_KINDS.includes(cell)) {
      throw new InputError(`${op}: variational dropout masks a⟨t−1⟩ where W_a reads it, which needs cell ${VARIATIONAL_KINDS.join(', ')}; got ${cell} (use dropout mode between)`);
    }
    const inert = inertDropoutProblem({ p, mode }, layers, layersField);
    if (inert) throw new InputError(`${op}: ${inert}`);
    out.dropout = p;
    out.dropoutMode = mode;
  }
  if (opts.layerNorm !== undefined && typeof opts.layerNorm !== 'boolean') throw new InputError(`${op}: expected layerNorm to be true or false, got ${JSON.stringify(opts.layerNorm)}`);
  if (opts.layerNorm === true) {
    if (!LAYER_NORM_KINDS.includes(cell)) throw new InputError(`${op}: expected layer normalisation only for cell ${LAYER_NORM_KINDS.join(', ')}, got ${cell}`);
    out.layerNorm = true;
  }
  return out;
}

/**
 * A model FILE's options before they are resolved: `config` without its dropout when that dropout never acted —
 * mode 'between' (or absent) on a stack of `layers` = 1 layer, or any mode on no stack (`layers` = 0, seq2seq's
 * captioning form); otherwise `config` itself. Files saved before resolveRnnRegularization refused such a
 * setting hold it (it was accepted, and did nothing: no mask was ever drawn, so no generator draw either). The
 * loaded model is therefore the same model, the file keeps loading, and a run resumed from a checkpoint trains
 * exactly as before (no dropout); the setting is gone from what the loaded model saves. New models — flags,
 * library configs — still get the refusal: only file readers call this. An invalid p, mode or layer count is
 * left in place for resolveRnnRegularization (or the layer check) to refuse.
 */
export function withoutInertDropout<T extends RnnRegularization>(config: T, layers: number): T {
  if (config === null || typeof config !== 'object' || !Number.isInteger(layers) || layers < 0) return config;
  const p = config.dropout, mode = config.dropoutMode ?? 'between';
  if (typeof p !== 'number' || !(p > 0 && p < 1) || !RNN_DROPOUT_MODES.includes(mode)) return config;
  if (inertDropoutProblem({ p, mode }, layers) === null) return config;
  const { dropout: _p, dropoutMode: _mode, ...rest } = config;
  return rest as T;
}

/** The stack's dropout from a resolved config (null: none). */
export function stackDropoutOf(config: RnnRegularization): RnnDropout | null {
  return config.dropout ? { p: config.dropout, mode: config.dropoutMode ?? 'between' } : null;
}

/** The cell options of a resolved config ({} without layer normalisation: the cells as before). */
export function cellRegularizationOf(config: RnnRegularization): { layerNorm?: true } {
  return config.layerNorm ? { layerNorm: true } : {};
}

/** The createStackedRnn options of a resolved config ({} when nothing is set). */
export function stackRegularizationOf(config: RnnRegularization): { dropout?: number; dropoutMode?: RnnDropoutMode; layerNorm?: true } {
  return { ...(config.dropout ? { dropout: config.dropout, dropoutMode: config.dropoutMode } : {}), ...cellRegularizationOf(config) };
}

/** A training step's dropout mode: masks drawn from `rng` when the model has dropout; off otherwise (no draw). */
export function trainingDropout(config: RnnRegularization, rng: Rng): DropoutMode {
  return config.dropout ? { kind: 'sample', rng } : DROPOUT_OFF;
}
