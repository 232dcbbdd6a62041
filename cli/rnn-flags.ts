/**
 * The recurrent trainers' regularisation flags (train, seq2seq train, sentiment train, tagger train):
 * `--dropout P`, `--dropout-mode between|variational`, `--layer-norm`; read into the model config by
 * training/core/rnn-regularization.ts. `--dropout` is shared with the Transformer, whose default differs.
 */
import type { FlagSpec, FlagValues } from './args.js';
import type { RnnRegularization } from '../training/core/rnn-regularization.js';
import type { RnnDropoutMode } from '../layers/stacked-dropout.js';

/** `--dropout`: no default in the spec, so each architecture applies its own (RNN 0, Transformer 0.1). */
export const DROPOUT_FLAG: FlagSpec = { type: 'number', description: 'dropout p during training (RNN default 0; transformer default 0.1)' };

export const rnnRegularizationFlags: Record<string, FlagSpec> = {
  dropout: DROPOUT_FLAG,
  'dropout-mode': {
    type: 'string', description: 'RNN dropout: between stacked layers (PyTorch; needs 2 layers or more) or variational (one mask per sequence on inputs, outputs and a⟨t−1⟩)',
    choices: ['between', 'variational'], default: 'between',
  },
  'layer-norm': { type: 'boolean', description: 'layer-normalised cells (lstm, gru-reset-after; Ba et al. 2016)' },
};

/** The flags as model options (absent flags add nothing, so the model is as without them). */
export function rnnRegularizationFromFlags(flags: FlagValues): RnnRegularization {
  const out: RnnRegularization = {};
  if (flags.dropout !== undefined) out.dropout = flags.dropout as number;
  if (out.dropout) out.dropoutMode = flags['dropout-mode'] as RnnDropoutMode;
  if (flags['layer-norm'] === true) out.layerNorm = true;
  return out;
}
